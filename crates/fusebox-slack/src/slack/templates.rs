//! [`Templates`]: the words and colours of Slack messages, one [`Template`] per kind of
//! transition, plus the [`Labels`] of the message fields.
//!
//! Which template a transition uses, and what a message does to the incident thread, is fixed
//! by the listener (see [`SlackListener`](crate::SlackListener)); only the words and colours
//! live here.

use fusebox_core::State;

/// The title, colour and description of one kind of message.
///
/// `title` is plain text of at most 150 characters (Slack shows it as the message header, which
/// it limits to that, and in notifications); `description`
/// is Slack `mrkdwn`, so `*bold*` and links work and `&`, `<`, `>` must be escaped as
/// `&amp;`, `&lt;`, `&gt;`; `color` is the attachment's bar colour as `#RRGGBB`.
///
/// ```
/// use fusebox_slack::Template;
///
/// let paged = Template {
///     title: "🚨 Payments are failing".into(),
///     color: "#FF4C4C".into(),
///     description: "Calls are blocked. Runbook: <https://runbooks.example/payments|payments>".into(),
/// };
/// assert_eq!(paged.color, "#FF4C4C");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The message title, plain text.
    pub title: String,
    /// The attachment colour, `#RRGGBB`.
    pub color: String,
    /// What happened and what it means, Slack `mrkdwn`.
    pub description: String,
}

/// The names of the fields every message shows, and the word for a value that is unknown.
///
/// ```
/// use fusebox_slack::Labels;
///
/// assert_eq!(Labels::default().failure_rate, "Failure rate");
/// assert_eq!(Labels::default().not_available, "n/a");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    /// The circuit's name: `Circuit`.
    pub circuit: String,
    /// `<from> → <to>`: `Transition`.
    pub transition: String,
    /// Why the circuit changed state: `Cause`.
    pub cause: String,
    /// The share of failed calls in the window at that moment: `Failure rate`.
    pub failure_rate: String,
    /// When it happened, RFC 3339 UTC: `Time`.
    pub time: String,
    /// Shown for a failure rate of an empty window: `n/a`.
    pub not_available: String,
}

impl Default for Labels {
    fn default() -> Self {
        Labels {
            circuit: "Circuit".into(),
            transition: "Transition".into(),
            cause: "Cause".into(),
            failure_rate: "Failure rate".into(),
            time: "Time".into(),
            not_available: "n/a".into(),
        }
    }
}

/// Every message the Slack listener can post, by transition.
///
/// | field | transition | default title | colour |
/// |---|---|---|---|
/// | `triggered` | `closed → open` | 🚨 Circuit Breaker Triggered | `#FF4C4C` |
/// | `recovering` | `open → half_open` | 🔄 Attempting Circuit Breaker Recovery | `#FFA500` |
/// | `retriggered` | `half_open → open` | ⚠️ Circuit Breaker Re-triggered | `#FF4C4C` |
/// | `recovered` | `half_open → closed` | ✅ Circuit Breaker Recovered | `#36a64f` |
/// | `changed` | any other | ℹ️ Circuit Breaker State Changed | `#808080` |
///
/// Replace them to change the wording, for example to post in another language. A Korean set:
///
/// ```
/// use fusebox_slack::{Labels, SlackListener, Template, Templates};
///
/// let korean = Templates {
///     triggered: Template {
///         title: "🚨 서킷 브레이커 발동".into(),
///         color: "#FF4C4C".into(),
///         description: "실패율이 임계값을 넘어 서킷이 열렸습니다. 보호를 위해 이 서비스로 가는 호출을 차단합니다.".into(),
///     },
///     recovering: Template {
///         title: "🔄 서킷 브레이커 복구 시도".into(),
///         color: "#FFA500".into(),
///         description: "대기 시간이 지나 서킷이 반열림 상태가 되었습니다. 일부 호출만 보내 서비스가 회복되었는지 확인합니다.".into(),
///     },
///     retriggered: Template {
///         title: "⚠️ 서킷 브레이커 재발동".into(),
///         color: "#FF4C4C".into(),
///         description: "복구 시도 중 호출이 다시 실패하여 서킷이 다시 열렸습니다. 다음 대기 시간 후에 다시 복구를 시도합니다.".into(),
///     },
///     recovered: Template {
///         title: "✅ 서킷 브레이커 복구 완료".into(),
///         color: "#36a64f".into(),
///         description: "시험 호출이 성공하여 서킷이 닫혔습니다. 호출이 정상적으로 처리되고 있습니다.".into(),
///     },
///     changed: Template {
///         title: "ℹ️ 서킷 브레이커 상태 변경".into(),
///         color: "#808080".into(),
///         description: "서킷 브레이커의 상태가 변경되었습니다. 대부분 운영자의 수동 조작에 의한 변경입니다.".into(),
///     },
///     labels: Labels {
///         circuit: "서킷".into(),
///         transition: "상태 전환".into(),
///         cause: "원인".into(),
///         failure_rate: "실패율".into(),
///         time: "시각".into(),
///         not_available: "없음".into(),
///     },
/// };
/// let listener = SlackListener::builder("xoxb-your-token", "C0123456789")
///     .templates(korean)
///     .build()?;
/// # let _ = listener;
/// # Ok::<(), fusebox_slack::ConfigError>(())
/// ```
///
/// To change a single message, start from the defaults:
///
/// ```
/// use fusebox_core::State;
/// use fusebox_slack::Templates;
///
/// let mut templates = Templates::default();
/// templates.triggered.description.push_str(" On call: <!subteam^S0123ABCD>.");
/// assert_eq!(templates.for_transition(State::Closed, State::Open).title, "🚨 Circuit Breaker Triggered");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates {
    /// `closed → open`: an incident starts.
    pub triggered: Template,
    /// `open → half_open`: the circuit lets probes through.
    pub recovering: Template,
    /// `half_open → open`: the probes failed.
    pub retriggered: Template,
    /// `half_open → closed`: the probes succeeded and the incident is over.
    pub recovered: Template,
    /// Every other transition, such as operator commands.
    pub changed: Template,
    /// The field names every message shows.
    pub labels: Labels,
}

impl Templates {
    /// The template the listener uses for a transition from `from` to `to`.
    ///
    /// ```
    /// use fusebox_core::State;
    /// use fusebox_slack::Templates;
    ///
    /// let templates = Templates::default();
    /// assert_eq!(templates.for_transition(State::HalfOpen, State::Closed).color, "#36a64f");
    /// assert_eq!(templates.for_transition(State::Closed, State::ForcedOpen).color, "#808080");
    /// ```
    pub fn for_transition(&self, from: State, to: State) -> &Template {
        match (from, to) {
            (State::Closed, State::Open) => &self.triggered,
            (State::Open, State::HalfOpen) => &self.recovering,
            (State::HalfOpen, State::Open) => &self.retriggered,
            (State::HalfOpen, State::Closed) => &self.recovered,
            _ => &self.changed,
        }
    }
}

impl Default for Templates {
    /// The English templates: the titles and colours of the table above.
    fn default() -> Self {
        Templates {
            triggered: Template {
                title: "🚨 Circuit Breaker Triggered".into(),
                color: "#FF4C4C".into(),
                description: "The failure threshold was exceeded, so the circuit opened: calls \
                              to this service are blocked to protect it and its callers. It \
                              will let trial calls through once its wait is over."
                    .into(),
            },
            recovering: Template {
                title: "🔄 Attempting Circuit Breaker Recovery".into(),
                color: "#FFA500".into(),
                description: "The wait is over and the circuit is half-open: a limited number \
                              of trial calls go through to check whether the service has \
                              recovered."
                    .into(),
            },
            retriggered: Template {
                title: "⚠️ Circuit Breaker Re-triggered".into(),
                color: "#FF4C4C".into(),
                description: "Trial calls failed during recovery, so the circuit opened again \
                              and calls are blocked. It will try again after its next wait."
                    .into(),
            },
            recovered: Template {
                title: "✅ Circuit Breaker Recovered".into(),
                color: "#36a64f".into(),
                description: "Trial calls succeeded and the circuit closed: calls flow \
                              normally again. This incident is over."
                    .into(),
            },
            changed: Template {
                title: "ℹ️ Circuit Breaker State Changed".into(),
                color: "#808080".into(),
                description: "The circuit changed state outside the usual failure cycle, \
                              usually by an operator's command."
                    .into(),
            },
            labels: Labels::default(),
        }
    }
}
