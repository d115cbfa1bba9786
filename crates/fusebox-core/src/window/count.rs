//! The `count(n)` recorder: the last `n` recorded calls, lock-free.
//!
//! Each call occupies one slot of a ring, packed in one `u64` (occupied bit, failure bit,
//! duration). Aggregates are kept as running sums: a recorder first adds the new call's
//! contribution, then swaps it into its slot, then subtracts what the slot held. Adding before
//! publishing means whoever later swaps the call out subtracts only what was already added, so
//! the sums never underflow and equal the ring's contents whenever no record is in progress.
//! The call count needs no sum of its own: it is the ring cursor, capped at the ring's size.

use std::sync::atomic::{AtomicU64, Ordering};

use super::sums::Sums;
use crate::padded::CachePadded;

const OCCUPIED: u64 = 1 << 63;
const FAILURE: u64 = 1 << 62;
const DURATION_MASK: u64 = FAILURE - 1;

#[derive(Debug)]
pub(crate) struct CountRecorder {
    slots: Box<[AtomicU64]>,
    /// Consecutive calls go `stride` slots apart, so that concurrent recorders write different
    /// cache lines; `stride` is coprime with the ring size, so each lap still visits every slot
    /// exactly once and the ring keeps exactly the last `n` calls.
    stride: u64,
    next: CachePadded<AtomicU64>,
    sums: Sums,
}

/// Slots per 128 bytes: the smallest stride that puts consecutive calls on different lines.
const MIN_STRIDE: u64 = 16;

fn stride_for(size: u64) -> u64 {
    if size <= MIN_STRIDE {
        return 1;
    }
    (MIN_STRIDE..size)
        .find(|candidate| gcd(*candidate, size) == 1)
        .unwrap_or(1)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl CountRecorder {
    pub(crate) fn new(size: usize, thresholds: &[u64]) -> CountRecorder {
        let size = size.max(1);
        CountRecorder {
            slots: (0..size).map(|_| AtomicU64::new(0)).collect(),
            stride: stride_for(size as u64),
            next: CachePadded(AtomicU64::new(0)),
            sums: Sums::new(thresholds),
        }
    }

    pub(crate) fn record(&self, failure: bool, duration: u64) {
        let duration = duration.min(DURATION_MASK);
        let packed = OCCUPIED | if failure { FAILURE } else { 0 } | duration;
        self.sums.add(false, failure, duration);
        let len = self.slots.len() as u64;
        let index = self
            .next
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(self.stride)
            % len;
        #[allow(clippy::cast_possible_truncation)] // index < len, which came from a usize
        let old = self.slots[index as usize].swap(packed, Ordering::AcqRel);
        if old & OCCUPIED != 0 {
            self.sums
                .sub(false, old & FAILURE != 0, old & DURATION_MASK);
        }
    }

    pub(crate) fn sums(&self) -> &Sums {
        &self.sums
    }

    /// Calls recorded since this recorder was made.
    pub(crate) fn recorded(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Calls in the window: every slot written so far, at most the ring's size.
    pub(crate) fn total(&self) -> u64 {
        self.next
            .load(Ordering::Acquire)
            .min(self.slots.len() as u64)
    }

    /// The stride chosen for this ring.
    #[cfg(test)]
    pub(crate) fn stride(&self) -> u64 {
        self.stride
    }

    /// Failures and total duration recomputed from the ring itself.
    #[cfg(test)]
    pub(crate) fn recount(&self) -> (u64, std::time::Duration) {
        let slots: Vec<u64> = self
            .slots
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .collect();
        let failures = slots.iter().filter(|s| *s & FAILURE != 0).count() as u64;
        let nanos = slots.iter().map(|s| s & DURATION_MASK).sum();
        (failures, std::time::Duration::from_nanos(nanos))
    }
}
