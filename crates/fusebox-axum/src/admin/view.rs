//! The JSON shape of a circuit in the admin API: the core's snapshot JSON (the shape webhook
//! signals share, see `fusebox_core`'s feature `serde`) plus the circuit's policy.

use fusebox::fleet::Override;
use fusebox::{FailureRates, Fusebox, RatePoint, Transition};
use fusebox_core::{Policy, Snapshot};
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct CircuitView<'a> {
    #[serde(flatten)]
    snapshot: &'a Snapshot,
    policy: String,
    history: Vec<TransitionView>,
    failure_rates: RatesView,
    #[serde(rename = "override")]
    standing: Option<OverrideView>,
}

/// A fleet-wide override standing on the circuit.
#[derive(Serialize)]
struct OverrideView {
    command: &'static str,
    scope: &'static str,
    origin: String,
    since: String,
}

/// One of [`Fusebox::history`], newest first.
#[derive(Serialize)]
struct TransitionView {
    at: String,
    from: &'static str,
    to: &'static str,
    cause: &'static str,
    rule: Option<String>,
    origin: Option<String>,
    failure_rate: Option<f64>,
    /// The line the dashboard shows: `tripped: <rule>, failure rate 50%`.
    summary: String,
}

/// [`Fusebox::failure_rates`]: the points oldest first, `null` where nothing was sampled.
#[derive(Serialize)]
struct RatesView {
    interval_secs: u64,
    points: Vec<Option<PointView>>,
}

#[derive(Serialize)]
struct PointView {
    failure_rate: Option<f64>,
    state: &'static str,
}

impl<'a> CircuitView<'a> {
    /// The circuit `snapshot` shows, with its policy and what `fusebox` remembers of it.
    pub(super) fn new(fusebox: &Fusebox, snapshot: &'a Snapshot, policy: &Policy) -> Self {
        CircuitView {
            snapshot,
            policy: policy.to_string(),
            history: fusebox
                .history(&snapshot.name)
                .iter()
                .map(TransitionView::new)
                .collect(),
            failure_rates: RatesView::new(&fusebox.failure_rates(&snapshot.name)),
            standing: None,
        }
    }

    /// The view with the fleet-wide override standing on the circuit, if any.
    pub(super) fn with_override(mut self, standing: Option<Override>) -> Self {
        self.standing = standing.map(|standing| OverrideView {
            command: standing.command(),
            scope: standing.scope().as_str(),
            origin: standing.origin.to_string(),
            since: fusebox_core::wall::rfc3339_millis(standing.since),
        });
        self
    }
}

impl TransitionView {
    fn new(transition: &Transition) -> Self {
        TransitionView {
            at: fusebox_core::wall::rfc3339_millis(transition.at),
            from: transition.from.as_str(),
            to: transition.to.as_str(),
            cause: transition.cause.as_str(),
            rule: transition.cause.rule().map(str::to_owned),
            origin: transition.origin.as_deref().map(str::to_owned),
            failure_rate: transition.failure_rate(),
            summary: transition.to_string(),
        }
    }
}

impl RatesView {
    fn new(rates: &FailureRates) -> Self {
        let point = |point: &RatePoint| PointView {
            failure_rate: point.failure_rate,
            state: point.state.as_str(),
        };
        RatesView {
            interval_secs: rates.interval.as_secs(),
            points: rates.points.iter().map(|p| p.as_ref().map(point)).collect(),
        }
    }
}
