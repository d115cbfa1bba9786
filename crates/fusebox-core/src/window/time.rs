//! The `time(d)` recorder: calls of the last `d` seconds, in one-second buckets.
//!
//! Running sums over all live buckets make reads O(1). Recording into the current second's
//! bucket is lock-free; the first record of a new second into a bucket that still holds an
//! older second rotates it (subtracts it from the sums) under a small mutex, at most once per
//! bucket per second. Reads first expire every bucket older than `d` (beyond fluxgate, which
//! only dropped a bucket when overwriting it), visiting only the seconds elapsed since the last
//! expiry, so a read costs O(1) amortised per elapsed second.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::sums::Sums;

const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Marks a bucket that holds no second.
const EMPTY: u64 = u64::MAX;

#[derive(Debug)]
struct Bucket {
    second: AtomicU64,
    sums: Sums,
}

#[derive(Debug)]
pub(crate) struct TimeRecorder {
    buckets: Box<[Bucket]>,
    sums: Sums,
    /// Calls recorded since this recorder was made, expired or not.
    recorded: AtomicU64,
    /// Every bucket of a second `< expired_before` has been removed from `sums`.
    expired_before: AtomicU64,
    rotation: Mutex<()>,
}

impl TimeRecorder {
    pub(crate) fn new(seconds: u64, thresholds: &[u64], now: u64) -> TimeRecorder {
        let len = seconds.max(1);
        TimeRecorder {
            buckets: (0..len)
                .map(|_| Bucket {
                    second: AtomicU64::new(EMPTY),
                    sums: Sums::new(thresholds),
                })
                .collect(),
            sums: Sums::new(thresholds),
            recorded: AtomicU64::new(0),
            expired_before: AtomicU64::new((now / NANOS_PER_SECOND).saturating_sub(len - 1)),
            rotation: Mutex::new(()),
        }
    }

    fn span(&self) -> u64 {
        self.buckets.len() as u64
    }

    fn bucket(&self, second: u64) -> &Bucket {
        #[allow(clippy::cast_possible_truncation)] // the remainder is below the bucket count
        &self.buckets[(second % self.span()) as usize]
    }

    pub(crate) fn record(&self, now: u64, failure: bool, duration: u64) {
        let second = now / NANOS_PER_SECOND;
        let bucket = self.bucket(second);
        if bucket.second.load(Ordering::Acquire) != second {
            self.rotate(bucket, second);
        }
        bucket.sums.add(true, failure, duration);
        self.sums.add(true, failure, duration);
        self.recorded.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Acquire)
    }

    /// Makes `bucket` hold `second`, removing whatever older second it held from the sums.
    fn rotate(&self, bucket: &Bucket, second: u64) {
        let _guard = self
            .rotation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = bucket.second.load(Ordering::Acquire);
        if held == second {
            return;
        }
        // A recorder more than `d` seconds late could find its bucket already on a newer
        // second; its call then counts in that newer second rather than being lost.
        if held != EMPTY && held > second {
            return;
        }
        let taken = bucket.sums.take();
        self.sums.remove(&taken);
        bucket.second.store(second, Ordering::Release);
    }

    /// Removes every bucket older than the window from the sums, then returns them.
    pub(crate) fn sums(&self, now: u64) -> &Sums {
        let second = now / NANOS_PER_SECOND;
        let oldest_live = (second + 1).saturating_sub(self.span());
        if self.expired_before.load(Ordering::Acquire) < oldest_live {
            self.expire(oldest_live);
        }
        &self.sums
    }

    fn expire(&self, oldest_live: u64) {
        let _guard = self
            .rotation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let from = self.expired_before.load(Ordering::Acquire);
        if from >= oldest_live {
            return;
        }
        // Only buckets of seconds in [from, oldest_live) can be newly expired: visit those
        // positions, at most one lap. After a silence longer than a lap a position may hold
        // an older second than the one visited, hence `<` rather than `==`.
        let first = from.max(oldest_live.saturating_sub(self.span()));
        for second in first..oldest_live {
            let bucket = self.bucket(second);
            let held = bucket.second.load(Ordering::Acquire);
            if held != EMPTY && held < oldest_live {
                let taken = bucket.sums.take();
                self.sums.remove(&taken);
                bucket.second.store(EMPTY, Ordering::Release);
            }
        }
        self.expired_before.store(oldest_live, Ordering::Release);
    }
}
