//! The six states of a circuit.
//!
//! Machines read states in lowercase snake case ([`State::as_str`], `FromStr`); humans read them
//! in upper case ([`State`]'s `Display`). What a circuit does in each state lives in
//! [`crate::circuit`], not here.

use std::fmt;
use std::str::FromStr;

/// Where a circuit is in its life cycle.
///
/// ```
/// use fusebox_core::State;
///
/// assert_eq!(State::HalfOpen.as_str(), "half_open");
/// assert_eq!(State::HalfOpen.to_string(), "HALF_OPEN");
/// assert_eq!("forced_open".parse::<State>(), Ok(State::ForcedOpen));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Every call is admitted and recorded; the trip rule may open the circuit.
    Closed,
    /// Calls are rejected until the retry policy allows a probe.
    Open,
    /// A limited number of probe calls test whether the protected service recovered.
    HalfOpen,
    /// Every call is admitted and recorded, but the trip rule is never evaluated.
    MetricsOnly,
    /// Every call is admitted and nothing is recorded.
    Disabled,
    /// Every call is rejected until an operator changes the state.
    ForcedOpen,
}

impl State {
    /// All six states, in declaration order.
    pub const ALL: [State; 6] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::MetricsOnly,
        State::Disabled,
        State::ForcedOpen,
    ];

    /// The lowercase snake-case name machines read (metric labels, JSON, config files).
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::MetricsOnly => "metrics_only",
            State::Disabled => "disabled",
            State::ForcedOpen => "forced_open",
        }
    }

    /// The upper-case name humans read in log lines.
    pub const fn as_upper_str(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Open => "OPEN",
            State::HalfOpen => "HALF_OPEN",
            State::MetricsOnly => "METRICS_ONLY",
            State::Disabled => "DISABLED",
            State::ForcedOpen => "FORCED_OPEN",
        }
    }

    /// Whether every call is admitted in this state (`closed`, `metrics_only`, `disabled`).
    pub const fn admits_all(self) -> bool {
        matches!(self, State::Closed | State::MetricsOnly | State::Disabled)
    }

    /// Whether finished calls are recorded in this state (`closed`, `metrics_only`, `half_open`).
    pub const fn records(self) -> bool {
        matches!(self, State::Closed | State::MetricsOnly | State::HalfOpen)
    }

    pub(crate) const fn index(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::MetricsOnly => 3,
            State::Disabled => 4,
            State::ForcedOpen => 5,
        }
    }

    pub(crate) const fn from_index(index: u64) -> State {
        match index {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::MetricsOnly,
            4 => State::Disabled,
            _ => State::ForcedOpen,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_upper_str())
    }
}

/// The error returned when text does not name a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseStateError {
    text: String,
}

impl fmt::Display for ParseStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown circuit state {:?}; expected one of closed, open, half_open, metrics_only, disabled, forced_open",
            self.text
        )
    }
}

impl std::error::Error for ParseStateError {}

impl FromStr for State {
    type Err = ParseStateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| ParseStateError {
                text: text.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_are_lowercase_snake_case() {
        let names: Vec<_> = State::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "closed",
                "open",
                "half_open",
                "metrics_only",
                "disabled",
                "forced_open"
            ]
        );
    }

    #[test]
    fn human_names_are_upper_case() {
        let names: Vec<_> = State::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "CLOSED",
                "OPEN",
                "HALF_OPEN",
                "METRICS_ONLY",
                "DISABLED",
                "FORCED_OPEN"
            ]
        );
    }

    #[test]
    fn parse_round_trips_and_rejects_unknown_names() {
        for state in State::ALL {
            assert_eq!(state.as_str().parse::<State>(), Ok(state));
            assert_eq!(State::from_index(state.index()), state);
        }
        let err = "OPEN".parse::<State>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown circuit state \"OPEN\"; expected one of closed, open, half_open, metrics_only, disabled, forced_open"
        );
    }

    #[test]
    fn admission_and_recording_per_state_follow_the_spec_table() {
        let admits: Vec<_> = State::ALL.iter().map(|s| s.admits_all()).collect();
        assert_eq!(admits, [true, false, false, true, true, false]);
        let records: Vec<_> = State::ALL.iter().map(|s| s.records()).collect();
        assert_eq!(records, [true, false, true, true, false, false]);
    }
}
