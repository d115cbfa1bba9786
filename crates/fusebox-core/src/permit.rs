//! Half-open admission: which calls a `half_open` circuit lets through as probes ([`Permit`]).
//!
//! The permit is only one of two gates: the circuit also caps probes in flight with
//! `max_concurrent_probes` (see [`Policy`](crate::Policy)).

use std::fmt;
use std::time::Duration;

use crate::duration::display;
use crate::text::{Chain, Invalid};

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
        self.check().map_err(|invalid| invalid.allowed)
    }

    /// Like [`validate`](Permit::validate), also saying which argument of the text form is
    /// invalid.
    fn check(&self) -> Result<(), Invalid> {
        let invalid = |argument, allowed| Err(Invalid { allowed, argument });
        match self.kind {
            Kind::All => Ok(()),
            Kind::Random(p) if !(0.0..=1.0).contains(&p) => {
                invalid(0, "random(p) needs 0 <= p <= 1")
            }
            Kind::Random(_) => Ok(()),
            Kind::RampUp { from, .. } if from.is_nan() || from <= 0.0 => {
                invalid(0, "ramp_up(from, to, over) needs from > 0")
            }
            Kind::RampUp { from, to, .. } if to.is_nan() || from > to => {
                invalid(1, "ramp_up(from, to, over) needs from <= to")
            }
            Kind::RampUp { to, .. } if to > 1.0 => {
                invalid(1, "ramp_up(from, to, over) needs to <= 1")
            }
            Kind::RampUp { over, .. } if over.is_zero() => {
                invalid(2, "ramp_up(from, to, over) needs over > 0")
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
        const EXPECTED: &str = "expected all(), random(p) or ramp_up(from, to, over)";
        let chain = Chain::parse("permit", text)?;
        let first = chain.first();
        let permit = match first.name {
            "all" => chain.args::<0>(first, "all()").map(|[]| Permit::all())?,
            "random" => {
                let [p] = chain.args(first, "random(p)")?;
                Permit::random(chain.number(p)?)
            }
            "ramp_up" => {
                let [from, to, over] = chain.args(first, "ramp_up(from, to, over)")?;
                Permit::ramp_up(
                    chain.number(from)?,
                    chain.number(to)?,
                    chain.duration(over)?,
                )
            }
            _ => return Err(chain.unknown("permit policy", EXPECTED)),
        };
        chain.only_first(EXPECTED)?;
        permit.check().map_err(|invalid| chain.invalid(invalid))?;
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
            "invalid permit \"random(2)\": at position 7: random(p) needs 0 <= p <= 1\n  \
             random(2)\n         ^"
        );
        assert_eq!(
            err("rampup(0.1, 1, 5s)"),
            "invalid permit \"rampup(0.1, 1, 5s)\": at position 0: unknown permit policy \
             \"rampup\"; expected all(), random(p) or ramp_up(from, to, over)\n  \
             rampup(0.1, 1, 5s)\n  ^"
        );
    }

    /// The position and message of the error parsing `text`.
    fn error(text: &str) -> (usize, String) {
        let err = text.parse::<Permit>().unwrap_err();
        assert_eq!(err.what(), "permit");
        (err.position(), err.message().to_owned())
    }

    #[test]
    fn errors_point_at_the_call_or_argument_to_fix() {
        let cases = [
            ("all(1)", 4, "all takes 0 arguments: all()"),
            ("random()", 7, "random takes 1 argument: random(p)"),
            ("random(half)", 7, "expected a number, found \"half\""),
            (
                "ramp_up(0.1, 1)",
                14,
                "ramp_up takes 3 arguments: ramp_up(from, to, over)",
            ),
            (
                "all().jitter(0.1)",
                6,
                "expected all(), random(p) or ramp_up(from, to, over)",
            ),
            ("random(-0.1)", 7, "random(p) needs 0 <= p <= 1"),
            (
                "ramp_up(0, 1, 5s)",
                8,
                "ramp_up(from, to, over) needs from > 0",
            ),
            (
                "ramp_up(0.5, 0.4, 5s)",
                13,
                "ramp_up(from, to, over) needs from <= to",
            ),
            (
                "ramp_up(0.5, 2, 5s)",
                13,
                "ramp_up(from, to, over) needs to <= 1",
            ),
            (
                "ramp_up(0.5, 1, 0s)",
                16,
                "ramp_up(from, to, over) needs over > 0",
            ),
        ];
        for (text, position, message) in cases {
            assert_eq!(error(text), (position, message.to_owned()), "{text}");
        }
    }

    #[test]
    fn renders_in_the_syntax_it_is_written_in() {
        assert_eq!(Permit::default().to_string(), "ramp_up(0.1, 1, 60s)");
        assert_eq!(Permit::all().to_string(), "all()");
        assert_eq!(Permit::random(0.5).to_string(), "random(0.5)");
    }
}
