//! Running sums shared by both recorders: calls, failures, total duration, slow calls per
//! threshold. Plain atomics; the recorders decide when to add and subtract.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{MAX_SLOW_THRESHOLDS, SlowCounts};

#[derive(Debug)]
pub(crate) struct Sums {
    total: AtomicU64,
    failures: AtomicU64,
    duration: AtomicU64,
    thresholds: Box<[u64]>,
    slow: Box<[AtomicU64]>,
}

/// A plain copy of [`Sums`], taken out of a bucket or to be subtracted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Taken {
    pub(crate) total: u64,
    pub(crate) failures: u64,
    pub(crate) duration: u64,
    pub(crate) slow: [u64; MAX_SLOW_THRESHOLDS],
}

impl Sums {
    pub(crate) fn new(thresholds: &[u64]) -> Sums {
        Sums {
            total: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            duration: AtomicU64::new(0),
            thresholds: thresholds.into(),
            slow: thresholds.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Adds one call. `counted`: also count it in `total` (time windows; a count window
    /// derives its total from its ring cursor instead and saves the two atomic operations).
    pub(crate) fn add(&self, counted: bool, failure: bool, duration: u64) {
        if counted {
            self.total.fetch_add(1, Ordering::Relaxed);
        }
        if failure {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        // Zero when latency is not measured: skip the atomic work entirely.
        if duration != 0 {
            self.duration.fetch_add(duration, Ordering::Relaxed);
        }
        for (threshold, slow) in self.thresholds.iter().zip(self.slow.iter()) {
            if duration >= *threshold {
                slow.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Removes one call added with [`Sums::add`].
    pub(crate) fn sub(&self, counted: bool, failure: bool, duration: u64) {
        if counted {
            self.total.fetch_sub(1, Ordering::Relaxed);
        }
        if failure {
            self.failures.fetch_sub(1, Ordering::Relaxed);
        }
        if duration != 0 {
            self.duration.fetch_sub(duration, Ordering::Relaxed);
        }
        for (threshold, slow) in self.thresholds.iter().zip(self.slow.iter()) {
            if duration >= *threshold {
                slow.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Empties these sums and returns what they held.
    pub(crate) fn take(&self) -> Taken {
        let mut slow = [0; MAX_SLOW_THRESHOLDS];
        for (taken, calls) in slow.iter_mut().zip(self.slow.iter()) {
            *taken = calls.swap(0, Ordering::AcqRel);
        }
        Taken {
            total: self.total.swap(0, Ordering::AcqRel),
            failures: self.failures.swap(0, Ordering::AcqRel),
            duration: self.duration.swap(0, Ordering::AcqRel),
            slow,
        }
    }

    /// Subtracts a bucket's contents taken with [`Sums::take`].
    pub(crate) fn remove(&self, taken: &Taken) {
        self.total.fetch_sub(taken.total, Ordering::Relaxed);
        self.failures.fetch_sub(taken.failures, Ordering::Relaxed);
        self.duration.fetch_sub(taken.duration, Ordering::Relaxed);
        for (slow, calls) in self.slow.iter().zip(taken.slow.iter()) {
            slow.fetch_sub(*calls, Ordering::Relaxed);
        }
    }

    /// Reads the sums into `metrics`. Concurrent records may be half-applied; values are
    /// clamped so that a reader never sees more failures or slow calls than calls.
    /// `total`: the count window's own call count; `None` reads the `total` sum.
    pub(crate) fn read_into(&self, total: Option<u64>, metrics: &mut super::Metrics) {
        let total = total.unwrap_or_else(|| self.total.load(Ordering::Acquire));
        // A transiently wrapped counter (impossible by construction, but cheap to guard)
        // must not read as billions of calls.
        let total = if total > u64::MAX / 2 { 0 } else { total };
        metrics.total = total;
        metrics.failures = self.failures.load(Ordering::Acquire).min(total);
        metrics.total_duration = Duration::from_nanos(self.duration.load(Ordering::Acquire));
        let mut slow = SlowCounts::default();
        for (threshold, calls) in self.thresholds.iter().zip(self.slow.iter()) {
            slow.push(
                Duration::from_nanos(*threshold),
                calls.load(Ordering::Acquire).min(total),
            );
        }
        metrics.slow = slow;
    }
}
