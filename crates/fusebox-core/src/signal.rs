//! [`Signal`]: the news of one transition (or of a registration), for listeners, with its
//! [`Cause`].

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::{Metrics, State};

/// Why a circuit changed state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// The circuit was just created; `from == to` is its initial state.
    Registered,
    /// The trip rule (its text) became true in `closed`.
    Tripped {
        /// The trip rule, in its text form.
        rule: Arc<str>,
    },
    /// The retry policy allowed a probe: `open → half_open`.
    Probe,
    /// Enough probes succeeded: `half_open → closed`.
    Recovered,
    /// The trip rule (its text) became true in `half_open`.
    Reopened {
        /// The trip rule, in its text form.
        rule: Arc<str>,
    },
    /// Probes were in flight but none finished within `max_wait`: `half_open → open`.
    ProbeTimeout,
    /// An operator command (`reset`, `force_open`, `disable`, `metrics_only`), for this
    /// process or for every replica of a fleet.
    Manual {
        /// Where the command applies.
        scope: Scope,
    },
    /// Another replica's transition of a circuit the fleet shares (its trip, recovery or
    /// reopening); [`Signal::origin`] names the replica.
    Fleet,
}

/// Where a manual command applies: this process, or every replica of a fleet sharing state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// This process only.
    #[default]
    Local,
    /// Every replica of the fleet.
    Fleet,
}

impl Scope {
    /// `local` or `fleet`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Local => "local",
            Scope::Fleet => "fleet",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = ParseScopeError;

    /// Reads `local` or `fleet`.
    ///
    /// ```
    /// use fusebox_core::Scope;
    ///
    /// assert_eq!("fleet".parse(), Ok(Scope::Fleet));
    /// assert_eq!(
    ///     "global".parse::<Scope>().unwrap_err().to_string(),
    ///     "unknown scope \"global\"; expected local or fleet"
    /// );
    /// ```
    fn from_str(text: &str) -> Result<Scope, ParseScopeError> {
        match text {
            "local" => Ok(Scope::Local),
            "fleet" => Ok(Scope::Fleet),
            _ => Err(ParseScopeError(text.to_owned())),
        }
    }
}

/// A scope that is neither `local` nor `fleet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseScopeError(String);

impl fmt::Display for ParseScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown scope {:?}; expected local or fleet", self.0)
    }
}

impl std::error::Error for ParseScopeError {}

impl Cause {
    /// A local operator command.
    pub const MANUAL: Cause = Cause::Manual {
        scope: Scope::Local,
    };

    /// The lowercase name machines read: `registered`, `tripped`, `probe`, `recovered`,
    /// `reopened`, `probe_timeout`, `manual` or `fleet`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Cause::Registered => "registered",
            Cause::Tripped { .. } => "tripped",
            Cause::Probe => "probe",
            Cause::Recovered => "recovered",
            Cause::Reopened { .. } => "reopened",
            Cause::ProbeTimeout => "probe_timeout",
            Cause::Manual { .. } => "manual",
            Cause::Fleet => "fleet",
        }
    }

    /// The trip rule's text for `tripped` and `reopened`.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Cause::Tripped { rule } | Cause::Reopened { rule } => Some(rule),
            _ => None,
        }
    }

    /// The scope of a manual command.
    pub fn scope(&self) -> Option<Scope> {
        match self {
            Cause::Manual { scope } => Some(*scope),
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    /// `tripped: min_requests(100) & failure_rate(0.5)`, `manual (fleet)` for a fleet-wide
    /// command, or the bare name for other causes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Tripped { rule } | Cause::Reopened { rule } => {
                write!(f, "{}: {rule}", self.as_str())
            }
            Cause::Manual {
                scope: Scope::Fleet,
            } => f.write_str("manual (fleet)"),
            _ => f.write_str(self.as_str()),
        }
    }
}

/// What a circuit's signals say about it besides its name: pairs of a label and a value,
/// which listeners show (for a circuit counting a burst of logged errors: its fingerprint and
/// a sample message). Set with [`Circuit::set_details`](crate::Circuit::set_details).
pub type Details = Arc<[(String, String)]>;

/// One transition of one circuit, as listeners receive it.
///
/// Build one with [`Signal::new`] (listener tests do); circuits build their own.
///
/// ```
/// use fusebox_core::{Cause, Signal, State};
///
/// let signal = Signal::new("payments", State::Closed, State::ForcedOpen, Cause::MANUAL)
///     .with_origin("replica-b");
/// assert_eq!(signal.to, State::ForcedOpen);
/// assert_eq!(signal.origin.as_deref(), Some("replica-b"));
/// assert!(signal.details.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Signal {
    /// The circuit's name.
    pub circuit: Arc<str>,
    /// The state the circuit left.
    pub from: State,
    /// The state the circuit entered.
    pub to: State,
    /// Wall-clock time of the transition.
    pub at: SystemTime,
    /// Why it happened.
    pub cause: Cause,
    /// The window's metrics at that moment (before it was cleared).
    pub metrics: Metrics,
    /// The replica whose action caused the transition, when it came from another replica of
    /// the fleet (a fleet-wide command or a shared trip); `None` for this process's own.
    pub origin: Option<Arc<str>>,
    /// What the circuit says about itself (see [`Details`]); empty for most circuits.
    pub details: Details,
}

impl Signal {
    /// A signal of `circuit` from `from` to `to`, at the current wall-clock time, with empty
    /// metrics, no origin and no details.
    pub fn new(circuit: impl Into<Arc<str>>, from: State, to: State, cause: Cause) -> Signal {
        Signal {
            circuit: circuit.into(),
            from,
            to,
            at: SystemTime::now(),
            cause,
            metrics: Metrics::default(),
            origin: None,
            details: no_details(),
        }
    }

    /// The same signal at `at`.
    #[must_use]
    pub fn with_at(mut self, at: SystemTime) -> Signal {
        self.at = at;
        self
    }

    /// The same signal with the window's `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Signal {
        self.metrics = metrics;
        self
    }

    /// The same signal, caused by the replica `origin`.
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<Arc<str>>) -> Signal {
        self.origin = Some(origin.into());
        self
    }

    /// The same signal with `details`.
    #[must_use]
    pub fn with_details(mut self, details: Details) -> Signal {
        self.details = details;
        self
    }

    /// Whether this is a registration rather than a transition.
    pub fn is_registration(&self) -> bool {
        self.cause == Cause::Registered
    }
}

/// Empty [`Details`].
pub(crate) fn no_details() -> Details {
    Arc::from(Vec::new())
}
