//! The JSON shape of a circuit in the admin API, and the RFC 3339 time it uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fusebox::retry_after_secs;
use fusebox_core::{Policy, Snapshot};
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct CircuitView<'a> {
    name: &'a str,
    state: &'static str,
    since: String,
    time_in_state_secs: f64,
    generation: u64,
    reopens: u32,
    retry_after_secs: Option<u64>,
    probes_in_flight: u32,
    metrics: MetricsView,
    calls: CallsView,
    policy: String,
}

#[derive(Serialize)]
struct MetricsView {
    total: u64,
    failures: u64,
    failure_rate: Option<f64>,
    avg_latency_ms: Option<f64>,
    consecutive_failures: u64,
}

#[derive(Serialize)]
struct CallsView {
    success: u64,
    failure: u64,
    ignored: u64,
    rejected: u64,
}

impl<'a> CircuitView<'a> {
    pub(super) fn new(snapshot: &'a Snapshot, policy: &Policy) -> Self {
        let metrics = &snapshot.metrics;
        let calls = &snapshot.calls;
        CircuitView {
            name: &snapshot.name,
            state: snapshot.state.as_str(),
            since: rfc3339(snapshot.since),
            time_in_state_secs: millis(snapshot.time_in_state) / 1000.0,
            generation: snapshot.generation,
            reopens: snapshot.reopens,
            retry_after_secs: snapshot.retry_after.map(retry_after_secs),
            probes_in_flight: snapshot.probes_in_flight,
            metrics: MetricsView {
                total: metrics.total(),
                failures: metrics.failures(),
                failure_rate: metrics.failure_rate(),
                avg_latency_ms: metrics.avg_latency().map(millis),
                consecutive_failures: metrics.consecutive_failures(),
            },
            calls: CallsView {
                success: calls.success,
                failure: calls.failure,
                ignored: calls.ignored,
                rejected: calls.rejected,
            },
            policy: policy.to_string(),
        }
    }
}

/// Whole milliseconds, as a float: JSON readers want numbers, not `Duration`s, and
/// sub-millisecond digits are noise on a dashboard. Exact below 2^53 ms (285,000 years).
fn millis(duration: Duration) -> f64 {
    duration.as_millis() as f64
}

/// `time` as RFC 3339 in UTC with milliseconds: `2024-05-06T07:08:09.010Z`. Times before
/// 1970 (a clock set very wrong) read as the epoch.
pub(super) fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since_epoch.subsec_millis(),
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn rfc3339_renders_utc_with_milliseconds() {
        let cases = [
            (at(0, 0), "1970-01-01T00:00:00.000Z"),
            (at(951_782_400, 5), "2000-02-29T00:00:00.005Z"),
            (at(951_868_799, 999), "2000-02-29T23:59:59.999Z"),
            (at(1_700_000_000, 120), "2023-11-14T22:13:20.120Z"),
            (at(1_709_251_199, 0), "2024-02-29T23:59:59.000Z"),
            (at(1_735_689_600, 0), "2025-01-01T00:00:00.000Z"),
            (at(4_102_444_800, 0), "2100-01-01T00:00:00.000Z"),
            (at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z"),
            (
                UNIX_EPOCH - Duration::from_secs(1),
                "1970-01-01T00:00:00.000Z",
            ),
        ];
        for (time, text) in cases {
            assert_eq!(rfc3339(time), text);
        }
    }

    #[test]
    fn every_day_of_eight_centuries_follows_the_previous_one() {
        let days_in_month = |year: u64, month: u64| match month {
            2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut previous = civil_from_days(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..146_097 * 2 {
            let (year, month, day) = previous;
            let expected = if day < days_in_month(year, month) {
                (year, month, day + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
            let date = civil_from_days(days);
            assert_eq!(date, expected, "day {days}");
            previous = date;
        }
        assert_eq!(civil_from_days(146_097 * 2), (2770, 1, 1));
    }
}
