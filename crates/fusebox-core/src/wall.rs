//! Wall-clock times as text, for listeners and operator pages: RFC 3339 in UTC, and Unix
//! milliseconds.
//!
//! Circuits only read wall time for the `at` of a [`Signal`](crate::Signal) and the `since` of
//! a [`Snapshot`](crate::Snapshot); every crate that shows those to people formats them here,
//! with `humantime`'s RFC 3339 formatter.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last instant RFC 3339's four-digit years can write: 9999-12-31T23:59:59.999999999Z.
const LAST: Duration = Duration::new(253_402_300_799, 999_999_999);

/// `at` as RFC 3339 in UTC to the second, e.g. `2023-11-14T22:13:20Z`.
///
/// Sub-second digits are truncated. Times outside the years 1970 to 9999 (a wall clock set
/// far wrong) are shown as the nearest end of that range rather than failing;
/// [`unix_millis`] still tells the true value.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use fusebox_core::wall;
///
/// let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_120);
/// assert_eq!(wall::rfc3339(at), "2023-11-14T22:13:20Z");
/// assert_eq!(wall::rfc3339_millis(at), "2023-11-14T22:13:20.120Z");
/// assert_eq!(wall::unix_millis(at), 1_700_000_000_120);
/// ```
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(clamped(at)).to_string()
}

/// `at` as RFC 3339 in UTC with milliseconds, e.g. `2023-11-14T22:13:20.120Z` (truncated;
/// clamped like [`rfc3339`]).
pub fn rfc3339_millis(at: SystemTime) -> String {
    Rfc3339Millis(at).to_string()
}

/// [`rfc3339_millis`] written straight into a formatter, for serializers that take
/// `Display`.
pub(crate) struct Rfc3339Millis(pub(crate) SystemTime);

impl fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_rfc3339_millis(clamped(self.0)).fmt(f)
    }
}

/// `at` within what `humantime` formats (it panics before 1970 and fails after 9999).
fn clamped(at: SystemTime) -> SystemTime {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) if after <= LAST => at,
        Ok(_) => UNIX_EPOCH + LAST,
        Err(_) => UNIX_EPOCH,
    }
}

/// Milliseconds since the Unix epoch (negative before it), rounded down, saturating.
pub fn unix_millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let partial = u128::from(before.as_nanos() % 1_000_000 != 0);
            i64::try_from(before.as_millis() + partial).map_or(i64::MIN, |millis| -millis)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn formats_known_instants_in_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(1_700_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(1_795_262_400)), "2026-11-21T12:00:00Z");
        assert_eq!(rfc3339(at(4_102_444_799)), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(at(253_402_300_799)), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn truncates_sub_second_digits() {
        let at = at(1_700_000_000) + Duration::from_millis(999);
        assert_eq!(rfc3339(at), "2023-11-14T22:13:20Z");
        assert_eq!(unix_millis(at), 1_700_000_000_999);
    }

    #[test]
    fn millisecond_precision_truncates() {
        let at = |secs: u64, nanos: u32| UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(rfc3339_millis(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(at(951_868_799, 999_999_999)),
            "2000-02-29T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339_millis(at(4_107_542_400, 5_000_000)),
            "2100-03-01T00:00:00.005Z"
        );
    }

    #[test]
    fn times_outside_the_years_1970_to_9999_are_clamped_instead_of_panicking() {
        let just_before = UNIX_EPOCH - Duration::from_millis(1);
        assert_eq!(rfc3339(just_before), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_millis(just_before), "1970-01-01T00:00:00.000Z");
        let year_10000 = at(253_402_300_800);
        assert_eq!(rfc3339(year_10000), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339_millis(year_10000), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn unix_millis_round_down_before_the_epoch() {
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_millis(1)), -1);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_micros(1)), -1);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(1)), -1000);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_micros(1_500)), -2);
    }
}
