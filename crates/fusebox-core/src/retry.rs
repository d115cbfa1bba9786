//! Retry policies: when an `open` circuit lets a probe through ([`Retry`]).
//!
//! The policy only computes the base wait; the circuit draws the jitter factor once when it
//! enters `open` (a factor redrawn on every call would shorten the wait under load) and stores
//! the resulting deadline.

use std::fmt;
use std::time::Duration;

use crate::duration::display;
use crate::text::{Chain, Invalid};

/// When an `open` circuit allows the next probe.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::Retry;
///
/// let retry = Retry::backoff(Duration::from_secs(1), 2.0, Duration::from_secs(30)).jitter(0.1);
/// assert_eq!(retry.base_wait(0), Some(Duration::from_secs(1)));
/// assert_eq!(retry.base_wait(3), Some(Duration::from_secs(8)));
/// assert_eq!(retry.base_wait(10), Some(Duration::from_secs(30)));
/// assert_eq!(retry.to_string(), "backoff(1s, 2, 30s).jitter(0.1)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retry {
    kind: Kind,
    jitter: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Never,
    Always,
    Cooldown(Duration),
    Backoff {
        initial: Duration,
        multiplier: f64,
        max: Duration,
    },
}

impl Retry {
    /// Never allows a probe: only a manual reset closes the circuit.
    pub const fn never() -> Retry {
        Retry {
            kind: Kind::Never,
            jitter: 0.0,
        }
    }

    /// Allows a probe at once, on the next call.
    pub const fn always() -> Retry {
        Retry {
            kind: Kind::Always,
            jitter: 0.0,
        }
    }

    /// Allows a probe once `wait` has passed since the circuit opened (`wait > 0`).
    pub const fn cooldown(wait: Duration) -> Retry {
        Retry {
            kind: Kind::Cooldown(wait),
            jitter: 0.0,
        }
    }

    /// Allows a probe once `min(initial · multiplier^reopens, max)` has passed since the circuit
    /// opened, where `reopens` counts half_open → open since the circuit was last closed
    /// (`initial > 0`, `multiplier > 1`, `max >= initial`).
    pub const fn backoff(initial: Duration, multiplier: f64, max: Duration) -> Retry {
        Retry {
            kind: Kind::Backoff {
                initial,
                multiplier,
                max,
            },
            jitter: 0.0,
        }
    }

    /// Scales each wait by a factor drawn uniformly from `[1 - ratio, 1 + ratio]`, once per open
    /// period (`0 <= ratio < 1`; timed policies only).
    #[must_use]
    pub const fn jitter(mut self, ratio: f64) -> Retry {
        self.jitter = ratio;
        self
    }

    /// The jitter ratio (0 when none was set).
    pub const fn jitter_ratio(&self) -> f64 {
        self.jitter
    }

    /// The wait before a probe after `reopens` re-openings, before jitter; `None` for
    /// [`Retry::never`].
    pub fn base_wait(&self, reopens: u32) -> Option<Duration> {
        match self.kind {
            Kind::Never => None,
            Kind::Always => Some(Duration::ZERO),
            Kind::Cooldown(wait) => Some(wait),
            Kind::Backoff {
                initial,
                multiplier,
                max,
            } => {
                let exponent = i32::try_from(reopens).unwrap_or(i32::MAX);
                let scaled = initial.as_secs_f64() * multiplier.powi(exponent);
                let max_secs = max.as_secs_f64();
                // `try_from_secs_f64` fails on overflow; anything that large is capped anyway.
                Some(if scaled >= max_secs {
                    max
                } else {
                    Duration::try_from_secs_f64(scaled).unwrap_or(max)
                })
            }
        }
    }

    /// The wait for this open period: the base wait scaled by `factor` (see [`Retry::jitter`]).
    pub(crate) fn wait(&self, reopens: u32, unit_draw: f64) -> Option<Duration> {
        let base = self.base_wait(reopens)?;
        if self.jitter == 0.0 || base.is_zero() {
            return Some(base);
        }
        let factor = 1.0 - self.jitter + 2.0 * self.jitter * unit_draw;
        Some(Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(base))
    }

    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        self.check().map_err(|invalid| invalid.allowed)
    }

    /// Like [`validate`](Retry::validate), also saying which argument of the text form is
    /// invalid.
    fn check(&self) -> Result<(), Invalid> {
        let invalid = |argument, allowed| Err(Invalid { allowed, argument });
        match self.kind {
            Kind::Cooldown(wait) if wait.is_zero() => invalid(0, "cooldown(d) needs d > 0"),
            Kind::Backoff { initial, .. } if initial.is_zero() => {
                invalid(0, "backoff(initial, multiplier, max) needs initial > 0")
            }
            Kind::Backoff { multiplier, .. } if multiplier.is_nan() || multiplier <= 1.0 => {
                invalid(1, "backoff(initial, multiplier, max) needs multiplier > 1")
            }
            Kind::Backoff { initial, max, .. } if max < initial => {
                invalid(2, "backoff(initial, multiplier, max) needs max >= initial")
            }
            // The ratio is the argument after those of the policy.
            _ if !(0.0..1.0).contains(&self.jitter) => {
                invalid(self.kind.arity(), "jitter(ratio) needs 0 <= ratio < 1")
            }
            Kind::Never | Kind::Always | Kind::Cooldown(_) | Kind::Backoff { .. } => Ok(()),
        }
    }
}

impl Kind {
    /// How many arguments the policy is written with.
    fn arity(&self) -> usize {
        match self {
            Kind::Never | Kind::Always => 0,
            Kind::Cooldown(_) => 1,
            Kind::Backoff { .. } => 3,
        }
    }
}

impl Default for Retry {
    /// `cooldown(60s)`.
    fn default() -> Self {
        Retry::cooldown(Duration::from_secs(60))
    }
}

impl fmt::Display for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Never => f.write_str("never()")?,
            Kind::Always => f.write_str("always()")?,
            Kind::Cooldown(wait) => write!(f, "cooldown({})", display(wait))?,
            Kind::Backoff {
                initial,
                multiplier,
                max,
            } => write!(
                f,
                "backoff({}, {multiplier}, {})",
                display(initial),
                display(max)
            )?,
        }
        if self.jitter != 0.0 {
            write!(f, ".jitter({})", self.jitter)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Retry {
    type Err = crate::ParsePolicyError;

    /// Reads `never()`, `always()`, `cooldown(d)` or `backoff(initial, multiplier, max)`,
    /// optionally followed by `.jitter(ratio)`, validated.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_core::Retry;
    ///
    /// let retry: Retry = "backoff(1s, 2, 1m).jitter(0.1)".parse()?;
    /// assert_eq!(retry, Retry::backoff(Duration::from_secs(1), 2.0, Duration::from_secs(60)).jitter(0.1));
    /// # Ok::<(), fusebox_core::ParsePolicyError>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "expected never(), always(), cooldown(d) or backoff(initial, multiplier, max), optionally followed by .jitter(ratio)";
        let chain = Chain::parse("retry", text)?;
        let first = chain.first();
        let mut retry = match first.name {
            "never" => chain.args::<0>(first, "never()").map(|[]| Retry::never())?,
            "always" => chain
                .args::<0>(first, "always()")
                .map(|[]| Retry::always())?,
            "cooldown" => {
                let [d] = chain.args(first, "cooldown(d)")?;
                Retry::cooldown(chain.duration(d)?)
            }
            "backoff" => {
                let [initial, multiplier, max] =
                    chain.args(first, "backoff(initial, multiplier, max)")?;
                Retry::backoff(
                    chain.duration(initial)?,
                    chain.number(multiplier)?,
                    chain.duration(max)?,
                )
            }
            _ => return Err(chain.unknown("retry policy", EXPECTED)),
        };
        let mut rest = chain.rest().iter();
        if let Some(jitter) = rest.next() {
            if jitter.name != "jitter" {
                return Err(chain.error(jitter.at, EXPECTED));
            }
            let [ratio] = chain.args(jitter, "jitter(ratio)")?;
            retry = retry.jitter(chain.number(ratio)?);
        }
        if let Some(extra) = rest.next() {
            return Err(chain.error(extra.at, EXPECTED));
        }
        retry.check().map_err(|invalid| chain.invalid(invalid))?;
        Ok(retry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn base_waits_follow_the_spec_table() {
        assert_eq!(Retry::never().base_wait(0), None);
        assert_eq!(Retry::always().base_wait(5), Some(Duration::ZERO));
        assert_eq!(Retry::cooldown(S * 30).base_wait(4), Some(S * 30));
        let backoff = Retry::backoff(S, 3.0, S * 20);
        let waits: Vec<_> = (0..5).map(|r| backoff.base_wait(r)).collect();
        assert_eq!(
            waits,
            [
                Some(S),
                Some(S * 3),
                Some(S * 9),
                Some(S * 20),
                Some(S * 20)
            ]
        );
        assert_eq!(backoff.base_wait(u32::MAX), Some(S * 20));
    }

    #[test]
    fn jitter_scales_the_wait_within_the_ratio() {
        let retry = Retry::cooldown(S * 10).jitter(0.2);
        assert_eq!(retry.wait(0, 0.0), Some(S * 8));
        assert_eq!(retry.wait(0, 0.5), Some(S * 10));
        assert_eq!(retry.wait(0, 1.0), Some(S * 12));
        assert_eq!(Retry::cooldown(S * 10).wait(0, 0.9), Some(S * 10));
        assert_eq!(Retry::never().jitter(0.5).wait(0, 0.9), None);
    }

    #[test]
    fn validation_rejects_every_invalid_value_of_the_spec_table() {
        assert_eq!(Retry::never().validate(), Ok(()));
        assert_eq!(Retry::always().validate(), Ok(()));
        assert_eq!(
            Retry::cooldown(Duration::ZERO).validate(),
            Err("cooldown(d) needs d > 0")
        );
        assert_eq!(Retry::cooldown(Duration::from_nanos(1)).validate(), Ok(()));
        assert_eq!(
            Retry::backoff(Duration::ZERO, 2.0, S).validate(),
            Err("backoff(initial, multiplier, max) needs initial > 0")
        );
        for multiplier in [1.0, 0.5, f64::NAN] {
            assert_eq!(
                Retry::backoff(S, multiplier, S * 2).validate(),
                Err("backoff(initial, multiplier, max) needs multiplier > 1")
            );
        }
        assert_eq!(
            Retry::backoff(S * 2, 2.0, S).validate(),
            Err("backoff(initial, multiplier, max) needs max >= initial")
        );
        assert_eq!(Retry::backoff(S, 1.0001, S).validate(), Ok(()));
        assert_eq!(Retry::cooldown(S).jitter(0.0).validate(), Ok(()));
        assert_eq!(Retry::cooldown(S).jitter(0.999).validate(), Ok(()));
        for ratio in [1.0, -0.1, f64::NAN] {
            assert_eq!(
                Retry::cooldown(S).jitter(ratio).validate(),
                Err("jitter(ratio) needs 0 <= ratio < 1")
            );
        }
    }

    #[test]
    fn text_round_trips_and_errors_say_what_is_expected() {
        for retry in [
            Retry::never(),
            Retry::always(),
            Retry::cooldown(S * 30),
            Retry::backoff(Duration::from_millis(500), 1.5, S * 90).jitter(0.25),
        ] {
            assert_eq!(retry.to_string().parse::<Retry>(), Ok(retry));
        }
        let err = |text: &str| text.parse::<Retry>().unwrap_err().to_string();
        assert_eq!(
            err("cooldwn(30s)"),
            "invalid retry \"cooldwn(30s)\": at position 0: unknown retry policy \"cooldwn\"; \
             expected never(), always(), cooldown(d) or backoff(initial, multiplier, max), \
             optionally followed by .jitter(ratio)\n  cooldwn(30s)\n  ^"
        );
        assert_eq!(
            err("backoff(1s, 1, 2s)"),
            "invalid retry \"backoff(1s, 1, 2s)\": at position 12: backoff(initial, multiplier, \
             max) needs multiplier > 1\n  backoff(1s, 1, 2s)\n              ^"
        );
    }

    /// The position and message of the error parsing `text`.
    fn error(text: &str) -> (usize, String) {
        let err = text.parse::<Retry>().unwrap_err();
        assert_eq!(err.what(), "retry");
        (err.position(), err.message().to_owned())
    }

    #[test]
    fn parse_errors_point_at_the_call_or_argument_to_fix() {
        let expected = "expected never(), always(), cooldown(d) or backoff(initial, multiplier, \
                        max), optionally followed by .jitter(ratio)";
        let cases = [
            (
                "cooldown(30s, 2)",
                14,
                "cooldown takes 1 argument: cooldown(d)",
            ),
            ("cooldown()", 9, "cooldown takes 1 argument: cooldown(d)"),
            ("never(1)", 6, "never takes 0 arguments: never()"),
            (
                "backoff(1s, 2)",
                13,
                "backoff takes 3 arguments: backoff(initial, multiplier, max)",
            ),
            ("backoff(1s, x, 2s)", 12, "expected a number, found \"x\""),
            (
                "cooldown(5s).jitter(x)",
                20,
                "expected a number, found \"x\"",
            ),
            (
                "cooldown(5s).jitter()",
                20,
                "jitter takes 1 argument: jitter(ratio)",
            ),
            ("cooldown(5s).jiter(0.1)", 13, expected),
            ("cooldown(5s).jitter(0.1).jitter(0.2)", 25, expected),
        ];
        for (text, position, message) in cases {
            assert_eq!(error(text), (position, message.to_owned()), "{text}");
        }
        let (position, message) = error("cooldown(5x)");
        assert_eq!(position, 10);
        assert!(
            message.starts_with("invalid duration \"5x\": unknown unit \"x\""),
            "{message}"
        );
    }

    #[test]
    fn invalid_values_point_at_their_argument() {
        let cases = [
            ("cooldown(0s)", 9, "cooldown(d) needs d > 0"),
            (
                "backoff(0s, 2, 1s)",
                8,
                "backoff(initial, multiplier, max) needs initial > 0",
            ),
            (
                "backoff(1s, 0.5, 2s)",
                12,
                "backoff(initial, multiplier, max) needs multiplier > 1",
            ),
            (
                "backoff(2s, 2, 1s)",
                15,
                "backoff(initial, multiplier, max) needs max >= initial",
            ),
            (
                "backoff(1s, 2, 2s).jitter(1)",
                26,
                "jitter(ratio) needs 0 <= ratio < 1",
            ),
            (
                "cooldown(1s).jitter(-0.1)",
                20,
                "jitter(ratio) needs 0 <= ratio < 1",
            ),
            (
                "never().jitter(2)",
                15,
                "jitter(ratio) needs 0 <= ratio < 1",
            ),
        ];
        for (text, position, message) in cases {
            assert_eq!(error(text), (position, message.to_owned()), "{text}");
        }
    }

    #[test]
    fn validation_reports_the_first_invalid_value_in_text_order() {
        assert_eq!(
            Retry::cooldown(Duration::ZERO).jitter(1.0).validate(),
            Err("cooldown(d) needs d > 0")
        );
        assert_eq!(error("cooldown(0s).jitter(1)").0, 9);
    }

    #[test]
    fn renders_in_the_syntax_it_is_written_in() {
        assert_eq!(Retry::default().to_string(), "cooldown(60s)");
        assert_eq!(Retry::never().to_string(), "never()");
        assert_eq!(Retry::always().to_string(), "always()");
        assert_eq!(
            Retry::backoff(Duration::from_millis(500), 1.5, S * 90)
                .jitter(0.25)
                .to_string(),
            "backoff(500ms, 1.5, 90s).jitter(0.25)"
        );
    }
}
