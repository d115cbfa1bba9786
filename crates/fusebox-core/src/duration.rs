//! Durations as text: `30s`, `250ms`, `1.5s`, `2m`, `1h`.
//!
//! One syntax for every duration a user writes: in trip rules (`slow_rate(0.3, 1s)`), in retry
//! and permit policies, and in config files. [`parse`] reads it and [`display`] writes the
//! shortest exact form, so anything written can be read back unchanged. Whether a duration is
//! acceptable where it is used (zero, for instance) is for the caller to decide, not this module.
//!
//! Machines get whole seconds instead: [`retry_after_secs`] is the `Retry-After` of a wait, in
//! HTTP headers and JSON alike.

use std::fmt;
use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The units, largest first, with their length in nanoseconds.
const UNITS: [(&str, u128); 6] = [
    ("h", 3_600 * NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("s", NANOS_PER_SEC),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// No unit can hold a fraction with more significant decimal places exactly: the longest unit,
/// an hour, is 2^13 · 3^2 · 5^11 ns, so a fraction whose last digit is not zero and that has
/// more than 13 places is always finer than 1ns. Checking this first keeps the arithmetic in
/// range however many digits the input has.
const MAX_FRACTION_DIGITS: usize = 13;

/// Reads a duration: an unsigned decimal number, optionally with a fractional part, followed
/// immediately by one of the units `ns`, `us`, `ms`, `s`, `m` (minutes) or `h`.
///
/// Whitespace around the duration is ignored. Zero (`0s`) is a valid duration.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::duration;
///
/// assert_eq!(duration::parse("30s"), Ok(Duration::from_secs(30)));
/// assert_eq!(duration::parse(" 1.5s "), Ok(Duration::from_millis(1500)));
/// assert_eq!(duration::parse("2m"), Ok(Duration::from_secs(120)));
/// assert_eq!(
///     duration::parse("3x").unwrap_err().to_string(),
///     r#"invalid duration "3x": unknown unit "x"; use a number followed by ns, us, ms, s, m or h, like "30s" or "250ms""#,
/// );
/// ```
pub fn parse(text: &str) -> Result<Duration, ParseDurationError> {
    let start = text.len().saturating_sub(text.trim_start().len());
    let text = text.trim();
    // `offset` is where in `text` the problem is.
    let error = |offset: usize, reason| ParseDurationError {
        text: text.to_owned(),
        position: start.saturating_add(offset),
        reason,
    };
    if text.is_empty() {
        return Err(error(0, Reason::Empty));
    }
    let unit_start = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_start);
    if number.is_empty() {
        return Err(error(0, Reason::MissingNumber));
    }
    let Some(&(_, unit_nanos)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(error(
            unit_start,
            if unit.is_empty() {
                Reason::MissingUnit
            } else {
                Reason::UnknownUnit(unit.to_owned())
            },
        ));
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    if !is_digits(whole) || fraction.is_some_and(|fraction| !is_digits(fraction)) {
        return Err(error(0, Reason::BadNumber(number.to_owned())));
    }

    let fraction = fraction.unwrap_or("").trim_end_matches('0');
    if fraction.len() > MAX_FRACTION_DIGITS {
        return Err(error(0, Reason::TooPrecise));
    }
    // Neither overflows: the fraction has at most 13 digits, and 10^13 · 3.6e12 < 2^128.
    let scale = fraction
        .bytes()
        .fold(1_u128, |scale, _| scale.saturating_mul(10));
    let fraction_nanos = digits_value(fraction).map_or(0, |value| value.saturating_mul(unit_nanos));
    if fraction_nanos.checked_rem(scale) != Some(0) {
        return Err(error(0, Reason::TooPrecise));
    }
    let overflow = || error(0, Reason::Overflow);
    let nanos = digits_value(whole)
        .and_then(|value| value.checked_mul(unit_nanos))
        .and_then(|nanos| nanos.checked_add(fraction_nanos.checked_div(scale)?))
        .ok_or_else(overflow)?;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| overflow())?;
    let subsec_nanos = u32::try_from(nanos % NANOS_PER_SEC).map_err(|_| overflow())?;
    Ok(Duration::new(secs, subsec_nanos))
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// The value of a run of ASCII digits, or `None` if it does not fit in a `u128`.
fn digits_value(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0_u128, |value, digit| {
        value
            .checked_mul(10)?
            .checked_add(u128::from(digit.checked_sub(b'0')?))
    })
}

/// Writes a duration as text that [`parse`] reads back to the same duration: whole seconds in
/// `s` (`60s`, `3600s`: how policies are usually written, so a policy reads back the way it was
/// configured), otherwise a whole number in the largest unit that divides it exactly (`ms`, `us`
/// or `ns`).
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::duration;
///
/// assert_eq!(duration::display(Duration::from_secs(60)).to_string(), "60s");
/// assert_eq!(duration::display(Duration::from_secs(90)).to_string(), "90s");
/// assert_eq!(duration::display(Duration::from_millis(1500)).to_string(), "1500ms");
/// assert_eq!(duration::display(Duration::ZERO).to_string(), "0s");
/// ```
pub fn display(duration: Duration) -> DisplayDuration {
    DisplayDuration(duration)
}

/// A duration written as text; see [`display`].
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::duration::{self, DisplayDuration};
///
/// let text: DisplayDuration = duration::display(Duration::from_secs(3600));
/// assert_eq!(format!("cooldown {text}"), "cooldown 3600s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisplayDuration(Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        // Minutes and hours are read but never written: `60s` reads better in a policy.
        let (unit, unit_nanos) = UNITS
            .iter()
            .copied()
            .filter(|(unit, _)| !matches!(*unit, "h" | "m"))
            .find(|(_, unit_nanos)| nanos.checked_rem(*unit_nanos) == Some(0))
            .unwrap_or(("ns", 1));
        write!(f, "{}{unit}", nanos.checked_div(unit_nanos).unwrap_or(0))
    }
}

/// The `Retry-After` value for a wait: whole seconds, rounded up, at least 1.
///
/// A client told `0` would retry at once and be rejected again, so the floor is one second.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::duration::retry_after_secs;
///
/// assert_eq!(retry_after_secs(Duration::ZERO), 1);
/// assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
/// assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
/// ```
pub fn retry_after_secs(wait: Duration) -> u64 {
    let partial = u64::from(wait.subsec_nanos() > 0);
    wait.as_secs().saturating_add(partial).max(1)
}

/// The error returned when text is not a duration; its message says what a duration looks like.
///
/// ```
/// use fusebox_core::duration;
///
/// let err = duration::parse("30").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid duration "30": missing unit; use a number followed by ns, us, ms, s, m or h, like "30s" or "250ms""#,
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDurationError {
    text: String,
    position: usize,
    reason: Reason,
}

impl ParseDurationError {
    /// Byte offset, in the text given to [`parse`], of what is wrong: the unit when it is
    /// unknown, the end of the number when the unit is missing, otherwise the number.
    ///
    /// Text that embeds a duration (a policy such as `cooldown(5x)`) adds the offset of the
    /// duration to point at the problem.
    ///
    /// ```
    /// use fusebox_core::duration;
    ///
    /// assert_eq!(duration::parse("250x").unwrap_err().position(), 3);
    /// assert_eq!(duration::parse(" 250").unwrap_err().position(), 4);
    /// assert_eq!(duration::parse("-1s").unwrap_err().position(), 0);
    /// ```
    pub fn position(&self) -> usize {
        self.position
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Reason {
    Empty,
    MissingNumber,
    BadNumber(String),
    MissingUnit,
    UnknownUnit(String),
    Overflow,
    TooPrecise,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid duration {:?}: ", self.text)?;
        match &self.reason {
            Reason::Empty => f.write_str("it is empty")?,
            Reason::MissingNumber => f.write_str("missing number before the unit")?,
            Reason::BadNumber(number) => write!(f, "bad number {number:?}")?,
            Reason::MissingUnit => f.write_str("missing unit")?,
            Reason::UnknownUnit(unit) => write!(f, "unknown unit {unit:?}")?,
            Reason::Overflow => f.write_str("too large")?,
            Reason::TooPrecise => f.write_str("finer than 1ns")?,
        }
        f.write_str(r#"; use a number followed by ns, us, ms, s, m or h, like "30s" or "250ms""#)
    }
}

impl std::error::Error for ParseDurationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_with_a_floor_of_one() {
        let cases = [
            (Duration::ZERO, 1),
            (Duration::from_millis(1), 1),
            (Duration::from_millis(999), 1),
            (Duration::from_millis(1000), 1),
            (Duration::from_millis(1001), 2),
            (Duration::from_nanos(2_000_000_001), 3),
            (Duration::from_secs(60), 60),
            (Duration::MAX, u64::MAX),
        ];
        for (wait, secs) in cases {
            assert_eq!(retry_after_secs(wait), secs, "{wait:?}");
        }
    }

    fn parse_err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse("7us"), Ok(Duration::from_micros(7)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn parses_zero_fractions_and_surrounding_whitespace() {
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0.25h"), Ok(Duration::from_secs(900)));
        assert_eq!(parse("1.000000001s"), Ok(Duration::new(1, 1)));
        assert_eq!(
            parse("2.50000000000000000000000000000ms"),
            Ok(Duration::from_micros(2500))
        );
        assert_eq!(parse("007ms"), Ok(Duration::from_millis(7)));
        assert_eq!(parse(" \t30s\n"), Ok(Duration::from_secs(30)));
    }

    #[test]
    fn parses_the_largest_duration_and_rejects_one_more_nanosecond() {
        assert_eq!(parse("18446744073709551615999999999ns"), Ok(Duration::MAX));
        assert_eq!(
            parse_err("18446744073709551616000000000ns"),
            r#"invalid duration "18446744073709551616000000000ns": too large; use a number followed by ns, us, ms, s, m or h, like "30s" or "250ms""#
        );
    }

    #[test]
    fn errors_say_what_is_wrong_and_what_a_duration_looks_like() {
        let hint = r#"; use a number followed by ns, us, ms, s, m or h, like "30s" or "250ms""#;
        let cases = [
            ("", r#"invalid duration "": it is empty"#),
            ("   ", r#"invalid duration "": it is empty"#),
            ("30", r#"invalid duration "30": missing unit"#),
            ("1.5", r#"invalid duration "1.5": missing unit"#),
            (
                "s",
                r#"invalid duration "s": missing number before the unit"#,
            ),
            ("3x", r#"invalid duration "3x": unknown unit "x""#),
            ("3sec", r#"invalid duration "3sec": unknown unit "sec""#),
            ("3S", r#"invalid duration "3S": unknown unit "S""#),
            ("1e3s", r#"invalid duration "1e3s": unknown unit "e3s""#),
            ("-1s", r#"invalid duration "-1s": bad number "-1""#),
            ("+1s", r#"invalid duration "+1s": bad number "+1""#),
            ("1.s", r#"invalid duration "1.s": bad number "1.""#),
            (".5s", r#"invalid duration ".5s": bad number ".5""#),
            ("1.2.3s", r#"invalid duration "1.2.3s": bad number "1.2.3""#),
            ("5 s", r#"invalid duration "5 s": bad number "5 ""#),
            (
                "1_000ms",
                r#"invalid duration "1_000ms": bad number "1_000""#,
            ),
            (
                "99999999999999999999999999999999999999999h",
                r#"invalid duration "99999999999999999999999999999999999999999h": too large"#,
            ),
            (
                "5124095576030432h",
                r#"invalid duration "5124095576030432h": too large"#,
            ),
            ("1.5ns", r#"invalid duration "1.5ns": finer than 1ns"#),
            (
                "0.0000000001s",
                r#"invalid duration "0.0000000001s": finer than 1ns"#,
            ),
            (
                "0.00000000000001h",
                r#"invalid duration "0.00000000000001h": finer than 1ns"#,
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse_err(text),
                format!("{message}{hint}"),
                "input {text:?}"
            );
        }
    }

    #[test]
    fn errors_point_at_the_unit_the_missing_unit_or_the_number() {
        let position = |text| parse(text).unwrap_err().position();
        let cases = [
            ("3x", 1),
            ("1e3s", 1),
            ("250", 3),
            ("  250 ", 5),
            ("s", 0),
            (" -1s", 1),
            ("1.5ns", 0),
            ("99999999999999999999999999999999999999999h", 0),
            ("", 0),
            ("   ", 3),
        ];
        for (text, expected) in cases {
            assert_eq!(position(text), expected, "input {text:?}");
        }
    }

    #[test]
    fn display_uses_seconds_or_the_largest_sub_second_unit_that_divides_exactly() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(1500), "1500ns"),
            (Duration::from_micros(7), "7us"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_secs(60), "60s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(3600), "3600s"),
            (Duration::from_secs(5400), "5400s"),
            (Duration::new(1, 1), "1000000001ns"),
            (Duration::MAX, "18446744073709551615999999999ns"),
        ];
        for (duration, text) in cases {
            assert_eq!(display(duration).to_string(), text);
        }
    }

    fn any_duration() -> impl Strategy<Value = Duration> {
        let unit = prop::sample::select(vec![
            Duration::from_nanos(1),
            Duration::from_micros(1),
            Duration::from_millis(1),
            Duration::from_secs(1),
            Duration::from_secs(60),
            Duration::from_secs(3600),
        ]);
        prop_oneof![
            (any::<u64>(), 0..1_000_000_000_u32)
                .prop_map(|(secs, nanos)| Duration::new(secs, nanos)),
            (0..100_000_u32, unit).prop_map(|(count, unit)| unit * count),
        ]
    }

    proptest! {
        #[test]
        fn display_then_parse_gives_back_the_same_duration(duration in any_duration()) {
            prop_assert_eq!(parse(&display(duration).to_string()), Ok(duration));
        }
    }
}
