//! [`Metrics`]: what a window says about the calls it holds.

use std::fmt;
use std::time::Duration;

/// The most distinct slow-call thresholds one policy can track.
pub const MAX_SLOW_THRESHOLDS: usize = 8;

/// Slow-call counts per tracked threshold, kept inline so that reading metrics never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SlowCounts {
    len: u8,
    thresholds: [Duration; MAX_SLOW_THRESHOLDS],
    calls: [u64; MAX_SLOW_THRESHOLDS],
}

impl SlowCounts {
    pub(crate) fn push(&mut self, threshold: Duration, calls: u64) {
        let index = usize::from(self.len);
        if index < MAX_SLOW_THRESHOLDS {
            self.thresholds[index] = threshold;
            self.calls[index] = calls;
            self.len = self.len.saturating_add(1);
        }
    }

    fn iter(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        let len = usize::from(self.len);
        self.thresholds[..len]
            .iter()
            .copied()
            .zip(self.calls[..len].iter().copied())
    }
}

impl fmt::Debug for SlowCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A snapshot of a window: how many calls it holds, how many failed, how many were slow and
/// how long they took, plus the current failure streak.
///
/// Derived values ([`failure_rate`](Metrics::failure_rate), [`slow_rate`](Metrics::slow_rate),
/// [`avg_latency`](Metrics::avg_latency)) are `None` on an empty window.
///
/// ```
/// use fusebox_core::Metrics;
///
/// let empty = Metrics::default();
/// assert_eq!(empty.total(), 0);
/// assert_eq!(empty.failure_rate(), None);
/// assert_eq!(empty.avg_latency(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Metrics {
    pub(crate) total: u64,
    pub(crate) failures: u64,
    pub(crate) total_duration: Duration,
    pub(crate) consecutive_failures: u64,
    pub(crate) slow: SlowCounts,
    pub(crate) latency: bool,
}

impl Metrics {
    /// Recorded calls in the window.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Recorded failures in the window.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Recorded successes in the window.
    pub fn successes(&self) -> u64 {
        self.total.saturating_sub(self.failures)
    }

    /// Whether call durations are measured: the trip rule reads latency, or the policy asks
    /// for it with [`record_latency`](crate::PolicyBuilder::record_latency). Without it,
    /// durations read as zero and [`avg_latency`](Metrics::avg_latency) is `None`.
    pub fn measures_latency(&self) -> bool {
        self.latency
    }

    /// Sum of the durations of the recorded calls (zero when latency is not measured).
    pub fn total_duration(&self) -> Duration {
        self.total_duration
    }

    /// Consecutive failures since the last success (or since the circuit last entered
    /// `closed` or `half_open`).
    pub fn consecutive_failures(&self) -> u64 {
        self.consecutive_failures
    }

    /// `failures / total`, or `None` on an empty window.
    pub fn failure_rate(&self) -> Option<f64> {
        ratio(self.failures, self.total)
    }

    /// Calls whose duration was at least `threshold`, or `None` if the policy does not track
    /// that threshold (only thresholds named by the trip rule are tracked).
    pub fn slow_calls(&self, threshold: Duration) -> Option<u64> {
        self.slow
            .iter()
            .find(|(tracked, _)| *tracked == threshold)
            .map(|(_, calls)| calls)
    }

    /// `slow_calls(threshold) / total`, or `None` on an empty window or an untracked threshold.
    pub fn slow_rate(&self, threshold: Duration) -> Option<f64> {
        ratio(self.slow_calls(threshold)?, self.total)
    }

    /// Every tracked threshold with its slow-call count, in ascending threshold order.
    pub fn slow(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        self.slow.iter()
    }

    /// Mean duration of the recorded calls, or `None` on an empty window or when latency is
    /// not measured.
    pub fn avg_latency(&self) -> Option<Duration> {
        if self.total == 0 || !self.latency {
            return None;
        }
        let mean = self
            .total_duration
            .as_nanos()
            .checked_div(u128::from(self.total))
            .unwrap_or(0);
        Some(Duration::from_nanos(
            u64::try_from(mean).unwrap_or(u64::MAX),
        ))
    }
}

#[allow(clippy::cast_precision_loss)] // counts stay far below 2^52 in any real window
fn ratio(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| part as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(total: u64, failures: u64, duration_ms: u64) -> Metrics {
        let mut slow = SlowCounts::default();
        slow.push(Duration::from_millis(100), 2);
        Metrics {
            total,
            failures,
            total_duration: Duration::from_millis(duration_ms),
            consecutive_failures: 0,
            slow,
            latency: true,
        }
    }

    #[test]
    fn derived_values_are_exact() {
        let m = metrics(4, 1, 1000);
        assert_eq!(m.successes(), 3);
        assert_eq!(m.failure_rate(), Some(0.25));
        assert_eq!(m.slow_calls(Duration::from_millis(100)), Some(2));
        assert_eq!(m.slow_rate(Duration::from_millis(100)), Some(0.5));
        assert_eq!(m.avg_latency(), Some(Duration::from_millis(250)));
    }

    #[test]
    fn derived_values_are_none_on_an_empty_window_or_untracked_threshold() {
        let m = metrics(0, 0, 0);
        assert_eq!(m.failure_rate(), None);
        assert_eq!(m.slow_rate(Duration::from_millis(100)), None);
        assert_eq!(m.avg_latency(), None);
        assert_eq!(metrics(4, 1, 0).slow_rate(Duration::from_secs(1)), None);
        assert_eq!(metrics(4, 1, 0).slow_calls(Duration::from_secs(1)), None);
        let unmeasured = Metrics {
            latency: false,
            ..metrics(4, 1, 0)
        };
        assert_eq!(unmeasured.avg_latency(), None);
    }
}
