//! The `count(n)` window of a policy that measures latency: the last `n` calls with their
//! durations, lock-free.
//!
//! Each call occupies one slot of a ring, packed in one `u64` (occupied bit, failure bit,
//! duration). Aggregates are running sums: a recorder first adds the new call's contribution,
//! then swaps it into its slot, then subtracts what the slot held, so the sums never underflow
//! and equal the ring's contents whenever no record is in progress. The call count is the ring
//! cursor, capped at the ring's size.
//!
//! Durations need whole words, so this ring cannot tag each word with its period like the bit
//! ring does; a [`Gate`] keeps a transition's clear apart from recorders instead.

use super::Tally;
use super::gate::Gate;
use super::sums::Layout;
use crate::sync::{AtomicU64, CachePadded, Ordering};

const OCCUPIED: u64 = 1 << 63;
const FAILURE: u64 = 1 << 62;
const DURATION_MASK: u64 = FAILURE - 1;
/// Slots per 128 bytes: the smallest stride that puts consecutive calls on different lines.
const MIN_STRIDE: u64 = 16;

#[derive(Debug)]
pub(crate) struct SlotRing {
    gate: CachePadded<Gate>,
    next: CachePadded<AtomicU64>,
    slots: Box<[AtomicU64]>,
    /// Consecutive calls go `stride` slots apart, so that concurrent recorders write different
    /// cache lines; `stride` is coprime with the ring size, so each lap still visits every slot
    /// exactly once and the ring keeps exactly the last `n` calls.
    stride: u64,
    layout: Layout,
    sums: Box<[AtomicU64]>,
}

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
        (a, b) = (b, a.checked_rem(b).unwrap_or(0));
    }
    a
}

impl SlotRing {
    pub(crate) fn new(size: usize, layout: Layout, tag: u64) -> SlotRing {
        let size = size.max(1);
        SlotRing {
            gate: CachePadded::new(Gate::new(tag)),
            next: CachePadded::new(AtomicU64::new(0)),
            slots: (0..size).map(|_| AtomicU64::new(0)).collect(),
            stride: stride_for(size as u64),
            sums: layout.cells(1),
            layout,
        }
    }

    fn len(&self) -> u64 {
        self.slots.len() as u64
    }

    /// Records one call of the period `tag` that took `nanos`; returns the window after it
    /// (without the streak, which the window keeps apart).
    pub(crate) fn record(
        &self,
        tag: u64,
        failure: bool,
        nanos: u64,
    ) -> Result<Tally, super::Stale> {
        let _inside = self.gate.enter(tag)?;
        let nanos = nanos.min(DURATION_MASK);
        let packed = OCCUPIED | if failure { FAILURE } else { 0 } | nanos;
        self.layout.add(&self.sums, false, failure, nanos);
        let index = self
            .next
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(self.stride)
            .checked_rem(self.len())
            .unwrap_or(0);
        #[allow(clippy::cast_possible_truncation)] // index < len, which came from a usize
        let old = self.slots[index as usize].swap(packed, Ordering::AcqRel);
        if old & OCCUPIED != 0 {
            self.layout
                .sub(&self.sums, false, old & FAILURE != 0, old & DURATION_MASK);
        }
        Ok(self.tally())
    }

    pub(crate) fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        let total = self.next.load(Ordering::Acquire).min(self.len());
        self.layout.read_into(&self.sums, Some(total), &mut tally);
        tally
    }

    /// Empties the ring for the period `tag`. Runs under the circuit's transition lock.
    pub(crate) fn clear(&self, tag: u64) {
        self.gate.reset(tag, || {
            self.next.store(0, Ordering::Relaxed);
            Layout::clear(&self.slots);
            Layout::clear(&self.sums);
        });
    }

    /// Heap and inline bytes of a ring of `n` calls.
    pub(crate) fn bytes(n: usize, layout_width: usize) -> usize {
        let words = n
            .saturating_add(layout_width)
            .saturating_mul(std::mem::size_of::<AtomicU64>());
        std::mem::size_of::<SlotRing>().saturating_add(words)
    }

    #[cfg(all(test, not(fusebox_loom)))]
    pub(crate) fn stride(&self) -> u64 {
        self.stride
    }

    /// Failures and total duration recomputed from the ring itself.
    #[cfg(all(test, not(fusebox_loom)))]
    pub(crate) fn recount(&self) -> (u64, u64) {
        let slots: Vec<u64> = self
            .slots
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .collect();
        let failures = slots.iter().filter(|s| *s & FAILURE != 0).count() as u64;
        let nanos = slots.iter().map(|s| s & DURATION_MASK).sum();
        (failures, nanos)
    }
}
