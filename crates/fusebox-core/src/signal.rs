//! [`Signal`]: the news of one transition (or of a registration), for listeners.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::{Metrics, State};

/// Why a circuit changed state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
    /// An operator command (`reset`, `force_open`, `disable`, `metrics_only`).
    Manual,
}

impl Cause {
    /// The lowercase name machines read: `registered`, `tripped`, `probe`, `recovered`,
    /// `reopened`, `probe_timeout` or `manual`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Cause::Registered => "registered",
            Cause::Tripped { .. } => "tripped",
            Cause::Probe => "probe",
            Cause::Recovered => "recovered",
            Cause::Reopened { .. } => "reopened",
            Cause::ProbeTimeout => "probe_timeout",
            Cause::Manual => "manual",
        }
    }

    /// The trip rule's text for `tripped` and `reopened`.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Cause::Tripped { rule } | Cause::Reopened { rule } => Some(rule),
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    /// `tripped: min_requests(100) & failure_rate(0.5)`, or the bare name for other causes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule() {
            Some(rule) => write!(f, "{}: {rule}", self.as_str()),
            None => f.write_str(self.as_str()),
        }
    }
}

/// One transition of one circuit, as listeners receive it.
#[derive(Clone, Debug, PartialEq)]
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
}

impl Signal {
    /// Whether this is a registration rather than a transition.
    pub fn is_registration(&self) -> bool {
        self.cause == Cause::Registered
    }
}
