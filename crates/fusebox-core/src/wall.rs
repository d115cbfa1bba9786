//! Wall-clock times as text, for listeners and operator pages: RFC 3339 in UTC, and Unix
//! milliseconds.
//!
//! Circuits only read wall time for the `at` of a [`Signal`](crate::Signal) and the `since` of
//! a [`Snapshot`](crate::Snapshot); every crate that shows those to people formats them here.
//! One conversion from days to a civil date is all it takes, so no date crate is needed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;

/// `at` as RFC 3339 in UTC to the second, e.g. `2023-11-14T22:13:20Z`.
///
/// Sub-second digits are truncated; times before 1970 are supported.
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
    let seconds = unix_seconds(at);
    format!("{}Z", date_time(seconds))
}

/// `at` as RFC 3339 in UTC with milliseconds, e.g. `2023-11-14T22:13:20.120Z` (truncated).
pub fn rfc3339_millis(at: SystemTime) -> String {
    let millis = unix_millis(at);
    format!(
        "{}.{:03}Z",
        date_time(millis.div_euclid(1000)),
        millis.rem_euclid(1000)
    )
}

/// `YYYY-MM-DDTHH:MM:SS` of Unix `seconds`.
fn date_time(seconds: i64) -> String {
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Milliseconds since the Unix epoch (negative before it), rounded down, saturating.
pub fn unix_millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => negative_floor(before.duration(), Duration::as_millis, 1_000_000),
    }
}

/// Whole seconds since the Unix epoch, rounded down, saturating.
fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => negative_floor(
            before.duration(),
            |d| u128::from(d.as_secs()),
            1_000_000_000,
        ),
    }
}

/// `-before` in the unit `whole` counts, rounded towards negative infinity, where
/// `nanos_per_unit` is that unit in nanoseconds.
fn negative_floor(before: Duration, whole: fn(&Duration) -> u128, nanos_per_unit: u128) -> i64 {
    let mut units = whole(&before);
    if before.as_nanos() % nanos_per_unit != 0 {
        units += 1;
    }
    i64::try_from(units).map_or(i64::MIN, |units| -units)
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn millisecond_precision_truncates_and_handles_times_before_the_epoch() {
        let at = |secs: u64, millis: u64| {
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
        };
        assert_eq!(rfc3339_millis(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(at(951_868_799, 999)),
            "2000-02-29T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339_millis(at(4_107_542_400, 5)),
            "2100-03-01T00:00:00.005Z"
        );
        assert_eq!(
            rfc3339_millis(UNIX_EPOCH - Duration::from_millis(1)),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn times_before_the_epoch_round_down() {
        let just_before = UNIX_EPOCH - Duration::from_millis(1);
        assert_eq!(rfc3339(just_before), "1969-12-31T23:59:59Z");
        assert_eq!(unix_millis(just_before), -1);
        let one_second_before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(rfc3339(one_second_before), "1969-12-31T23:59:59Z");
        assert_eq!(unix_millis(one_second_before), -1000);
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(86_400 * 365)),
            "1969-01-01T00:00:00Z"
        );
    }

    #[test]
    fn every_day_of_four_centuries_round_trips_through_the_calendar() {
        // Walk day by day from 1900-01-01 and check the date advances like a calendar does.
        let (mut year, mut month, mut day) = (1900, 1, 1);
        for days in -25_567..(-25_567 + 146_097) {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let month_length = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > month_length {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }
}
