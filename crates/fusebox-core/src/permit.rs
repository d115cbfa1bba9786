//! Half-open admission: which calls a `half_open` circuit lets through as probes ([`Permit`]).
//!
//! The permit is only one of two gates: the circuit also caps probes in flight with
//! `max_concurrent_probes` (see [`Policy`](crate::Policy)).

use std::fmt;
use std::time::Duration;

use crate::duration::display;

/// Which calls a `half_open` circuit admits as probes.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::Permit;
///
/// let ramp = Permit::ramp_up(0.1, 1.0, Duration::from_secs(60));
/// assert_eq!(ramp.probability(Duration::ZERO), 0.1);
/// assert_eq!(ramp.probability(Duration::from_secs(120)), 1.0);
/// assert_eq!(ramp.to_string(), "ramp_up(0.1, 1, 60s)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Permit {
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    All,
    Random(f64),
    RampUp { from: f64, to: f64, over: Duration },
}

impl Permit {
    /// Admits every call.
    pub const fn all() -> Permit {
        Permit { kind: Kind::All }
    }

    /// Admits each call with probability `p` (`0 <= p <= 1`).
    pub const fn random(p: f64) -> Permit {
        Permit {
            kind: Kind::Random(p),
        }
    }

    /// Admits each call with a probability rising linearly from `from` to `to` over `over` since
    /// the circuit entered `half_open`, then `to` (`0 < from <= to <= 1`, `over > 0`).
    pub const fn ramp_up(from: f64, to: f64, over: Duration) -> Permit {
        Permit {
            kind: Kind::RampUp { from, to, over },
        }
    }

    /// The probability of admitting a call `elapsed` after the circuit entered `half_open`.
    pub fn probability(&self, elapsed: Duration) -> f64 {
        match self.kind {
            Kind::All => 1.0,
            Kind::Random(p) => p,
            Kind::RampUp { from, to, over } => {
                if elapsed >= over {
                    to
                } else {
                    from + (to - from) * (elapsed.as_secs_f64() / over.as_secs_f64())
                }
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        match self.kind {
            Kind::All => Ok(()),
            Kind::Random(p) if !(0.0..=1.0).contains(&p) => Err("random(p) needs 0 <= p <= 1"),
            Kind::Random(_) => Ok(()),
            Kind::RampUp { from, .. } if from.is_nan() || from <= 0.0 => {
                Err("ramp_up(from, to, over) needs from > 0")
            }
            Kind::RampUp { from, to, .. } if to.is_nan() || from > to => {
                Err("ramp_up(from, to, over) needs from <= to")
            }
            Kind::RampUp { to, .. } if to > 1.0 => Err("ramp_up(from, to, over) needs to <= 1"),
            Kind::RampUp { over, .. } if over.is_zero() => {
                Err("ramp_up(from, to, over) needs over > 0")
            }
            Kind::RampUp { .. } => Ok(()),
        }
    }
}

impl Default for Permit {
    /// `ramp_up(0.1, 1.0, 60s)`.
    fn default() -> Self {
        Permit::ramp_up(0.1, 1.0, Duration::from_secs(60))
    }
}

impl fmt::Display for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::All => f.write_str("all()"),
            Kind::Random(p) => write!(f, "random({p})"),
            Kind::RampUp { from, to, over } => {
                write!(f, "ramp_up({from}, {to}, {})", display(over))
            }
        }
    }
}

impl std::str::FromStr for Permit {
    type Err = crate::ParsePolicyError;

    /// Reads `all()`, `random(p)` or `ramp_up(from, to, over)`, validated.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_core::Permit;
    ///
    /// assert_eq!("ramp_up(0.1, 1, 30s)".parse(), Ok(Permit::ramp_up(0.1, 1.0, Duration::from_secs(30))));
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        use crate::text::{calls, number, span};
        let fail = |message: String| crate::ParsePolicyError::new("permit", text, message);
        let calls = calls(text).map_err(fail)?;
        let permit = match calls.as_slice() {
            [call] => match call.name {
                "all" => call.args::<0>("all()").map(|[]| Permit::all()),
                "random" => call
                    .args("random(p)")
                    .and_then(|[p]| Ok(Permit::random(number(p)?))),
                "ramp_up" => call
                    .args("ramp_up(from, to, over)")
                    .and_then(|[from, to, over]| {
                        Ok(Permit::ramp_up(number(from)?, number(to)?, span(over)?))
                    }),
                other => Err(format!(
                    "unknown permit policy {other:?}; expected all(), random(p) or ramp_up(from, to, over)"
                )),
            },
            _ => Err("expected all(), random(p) or ramp_up(from, to, over)".to_owned()),
        }
        .map_err(fail)?;
        permit
            .validate()
            .map_err(|allowed| fail(allowed.to_owned()))?;
        Ok(permit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn probabilities_follow_the_spec_table() {
        assert_eq!(Permit::all().probability(Duration::ZERO), 1.0);
        assert_eq!(Permit::random(0.25).probability(S * 100), 0.25);
        let ramp = Permit::ramp_up(0.2, 0.6, S * 10);
        assert_eq!(ramp.probability(Duration::ZERO), 0.2);
        assert!((ramp.probability(S * 5) - 0.4).abs() < 1e-12);
        assert_eq!(ramp.probability(S * 10), 0.6);
        assert_eq!(ramp.probability(S * 1000), 0.6);
    }

    #[test]
    fn validation_rejects_every_invalid_value_of_the_spec_table() {
        assert_eq!(Permit::all().validate(), Ok(()));
        assert_eq!(Permit::random(0.0).validate(), Ok(()));
        assert_eq!(Permit::random(1.0).validate(), Ok(()));
        for p in [-0.01, 1.01, f64::NAN] {
            assert_eq!(
                Permit::random(p).validate(),
                Err("random(p) needs 0 <= p <= 1")
            );
        }
        let from_err = Err("ramp_up(from, to, over) needs from > 0");
        assert_eq!(Permit::ramp_up(0.0, 1.0, S).validate(), from_err);
        assert_eq!(Permit::ramp_up(-0.5, 1.0, S).validate(), from_err);
        assert_eq!(
            Permit::ramp_up(0.6, 0.5, S).validate(),
            Err("ramp_up(from, to, over) needs from <= to")
        );
        assert_eq!(
            Permit::ramp_up(0.5, 1.5, S).validate(),
            Err("ramp_up(from, to, over) needs to <= 1")
        );
        assert_eq!(
            Permit::ramp_up(0.5, 1.0, Duration::ZERO).validate(),
            Err("ramp_up(from, to, over) needs over > 0")
        );
        assert_eq!(Permit::ramp_up(1.0, 1.0, S).validate(), Ok(()));
        assert_eq!(Permit::ramp_up(0.5, 0.5, S).validate(), Ok(()));
    }

    #[test]
    fn text_round_trips_and_errors_say_what_is_expected() {
        for permit in [
            Permit::all(),
            Permit::random(0.25),
            Permit::ramp_up(0.2, 0.6, S * 10),
        ] {
            assert_eq!(permit.to_string().parse::<Permit>(), Ok(permit));
        }
        let err = |text: &str| text.parse::<Permit>().unwrap_err().to_string();
        assert_eq!(
            err("random(2)"),
            "invalid permit \"random(2)\": random(p) needs 0 <= p <= 1"
        );
        assert_eq!(
            err("rampup(0.1, 1, 5s)"),
            "invalid permit \"rampup(0.1, 1, 5s)\": unknown permit policy \"rampup\"; expected all(), \
             random(p) or ramp_up(from, to, over)"
        );
    }

    #[test]
    fn renders_in_the_syntax_it_is_written_in() {
        assert_eq!(Permit::default().to_string(), "ramp_up(0.1, 1, 60s)");
        assert_eq!(Permit::all().to_string(), "all()");
        assert_eq!(Permit::random(0.5).to_string(), "random(0.5)");
    }
}
