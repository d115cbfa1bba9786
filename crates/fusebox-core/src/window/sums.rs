//! Running sums of recorded calls, laid out as plain atomics: calls, failures, and when the
//! policy measures latency, the total duration and the slow calls per threshold. The windows
//! decide when to add and subtract; a [`Gate`](super::gate::Gate) keeps a transition's clear
//! apart from concurrent writers.

use super::Tally;
use crate::sync::{AtomicU64, Ordering};

/// Which sums a window keeps, shared by all the sums of one window.
#[derive(Debug)]
pub(crate) struct Layout {
    latency: bool,
    /// Slow thresholds in nanoseconds, ascending.
    thresholds: Box<[u64]>,
}

const TOTAL: usize = 0;
const FAILURES: usize = 1;
const DURATION: usize = 2;

impl Layout {
    pub(crate) fn new(latency: bool, thresholds: Box<[u64]>) -> Layout {
        Layout {
            latency,
            thresholds,
        }
    }

    /// Cells per set of sums.
    pub(crate) fn width(&self) -> usize {
        if self.latency {
            self.thresholds.len().saturating_add(DURATION + 1)
        } else {
            DURATION
        }
    }

    pub(crate) fn cells(&self, sets: usize) -> Box<[AtomicU64]> {
        (0..self.width().saturating_mul(sets))
            .map(|_| AtomicU64::new(0))
            .collect()
    }

    /// Adds one call. `counted`: also count it in the total (a count window derives its total
    /// from its cursor instead). Returns the total after it (zero when not `counted`).
    ///
    /// The total is added last, releasing the rest: a reader that sees a call in the total
    /// sees it in every other sum too, so that the total less the failures never counts a
    /// failure as a success (see [`Layout::successes`]).
    #[inline]
    pub(crate) fn add(&self, cells: &[AtomicU64], counted: bool, failure: bool, nanos: u64) -> u64 {
        if failure {
            cells[FAILURES].fetch_add(1, Ordering::Relaxed);
        }
        if self.latency {
            if nanos != 0 {
                cells[DURATION].fetch_add(nanos, Ordering::Relaxed);
            }
            for (threshold, slow) in self.thresholds.iter().zip(&cells[DURATION + 1..]) {
                if nanos >= *threshold {
                    slow.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if counted {
            cells[TOTAL].fetch_add(1, Ordering::Release).wrapping_add(1)
        } else {
            0
        }
    }

    /// The total of `cells`.
    pub(crate) fn total(cells: &[AtomicU64]) -> u64 {
        cells[TOTAL].load(Ordering::Acquire)
    }

    /// Removes one call added with [`Layout::add`].
    pub(crate) fn sub(&self, cells: &[AtomicU64], counted: bool, failure: bool, nanos: u64) {
        if counted {
            cells[TOTAL].fetch_sub(1, Ordering::Relaxed);
        }
        if failure {
            cells[FAILURES].fetch_sub(1, Ordering::Relaxed);
        }
        if self.latency {
            if nanos != 0 {
                cells[DURATION].fetch_sub(nanos, Ordering::Relaxed);
            }
            for (threshold, slow) in self.thresholds.iter().zip(&cells[DURATION + 1..]) {
                if nanos >= *threshold {
                    slow.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Moves every sum of `from` into `to` (`to += from`) and zeroes `from`: a bucket
    /// leaving the window, added to what has left it.
    pub(crate) fn drain(from: &[AtomicU64], to: &[AtomicU64]) {
        for (bucket, left) in from.iter().zip(to) {
            let taken = bucket.swap(0, Ordering::AcqRel);
            if taken != 0 {
                left.fetch_add(taken, Ordering::Release);
            }
        }
    }

    /// Makes `to` equal to `from`: everything recorded has left the window. Only with no
    /// writer inside (a closed gate).
    pub(crate) fn settle(from: &[AtomicU64], to: &[AtomicU64]) {
        for (recorded, left) in from.iter().zip(to) {
            left.store(recorded.load(Ordering::Acquire), Ordering::Release);
        }
    }

    /// The successes among the calls `cells` ever counted: the total less the failures, read
    /// in that order so that it may read low while calls write, never high (and never below
    /// zero, when a failure is seen before its total).
    pub(crate) fn successes(cells: &[AtomicU64]) -> u64 {
        let total = cells[TOTAL].load(Ordering::Acquire);
        total.saturating_sub(cells[FAILURES].load(Ordering::Acquire))
    }

    pub(crate) fn clear(cells: &[AtomicU64]) {
        for cell in cells {
            cell.store(0, Ordering::Relaxed);
        }
    }

    /// Adds these sums to `tally`. Concurrent writers may be half-way; every value is
    /// clamped so that a reader never sees more failures or slow calls than calls, and a
    /// transiently wrapped counter reads as zero rather than as billions.
    pub(crate) fn read_into(&self, cells: &[AtomicU64], total: Option<u64>, tally: &mut Tally) {
        self.read_with(|cell| cells[cell].load(Ordering::Acquire), total, tally);
    }

    /// Adds to `tally` what is in `recorded` and has not left it for `left` (both only
    /// grow), reading what left first: a bucket leaves after its calls were recorded.
    pub(crate) fn read_difference(
        &self,
        recorded: &[AtomicU64],
        left: &[AtomicU64],
        tally: &mut Tally,
    ) {
        self.read_with(
            |cell| {
                let gone = left[cell].load(Ordering::Acquire);
                recorded[cell].load(Ordering::Acquire).wrapping_sub(gone)
            },
            None,
            tally,
        );
    }

    fn read_with(&self, cell: impl Fn(usize) -> u64, total: Option<u64>, tally: &mut Tally) {
        let sane = |value: u64| if value > u64::MAX / 2 { 0 } else { value };
        let total = total.unwrap_or_else(|| sane(cell(TOTAL)));
        tally.total = tally.total.saturating_add(total);
        tally.failures = tally
            .failures
            .saturating_add(sane(cell(FAILURES)).min(total));
        if self.latency {
            tally.nanos = tally.nanos.saturating_add(sane(cell(DURATION)));
            for (index, sum) in tally
                .slow
                .iter_mut()
                .enumerate()
                .take(self.thresholds.len())
            {
                let slow = sane(cell(DURATION.saturating_add(1).saturating_add(index)));
                *sum = sum.saturating_add(slow.min(total));
            }
        }
    }
}
