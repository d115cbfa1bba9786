//! How a finished call counts: [`Outcome`].
//!
//! Deciding the outcome of a call (classification) is the caller's business; in tower that is
//! `fusebox::classify`. This module only names the three answers.

use std::fmt;

/// How a finished call counts for its circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call succeeded; it is recorded and resets the failure streak.
    Success,
    /// The call failed; it is recorded and extends the failure streak.
    Failure,
    /// The call does not count: nothing is recorded and the streak is untouched.
    Ignored,
}

impl Outcome {
    /// The lowercase name used in metric labels: `success`, `failure` or `ignored`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Ignored => "ignored",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
