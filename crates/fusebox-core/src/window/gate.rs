//! [`Gate`]: lets many recorders into a window at once and keeps them out while a transition
//! clears it.
//!
//! Windows whose data cannot be tagged word by word (sums of durations, time buckets) are
//! guarded by a gate instead: one word packing the period's tag, a "closing" bit and the number
//! of recorders inside. A recorder enters only while the tag is its own and the gate is open,
//! with one compare-and-swap, and leaves with one subtraction; inside, it updates plain
//! atomics. A transition closes the gate, waits until the recorders inside have left (a few
//! atomic operations each), clears the data and opens the gate for the next period. Recorders
//! never wait; only transitions, which are rare, do.

use super::tagged::{Stale, VALUE_BITS};
use crate::sync::{AtomicU64, Ordering};

const CLOSING: u64 = 1 << (VALUE_BITS - 1);
const INSIDE: u64 = CLOSING - 1;

#[derive(Debug)]
pub(crate) struct Gate(AtomicU64);

/// A recorder inside a [`Gate`]; dropping it leaves.
#[derive(Debug)]
pub(crate) struct Inside<'a>(&'a Gate);

impl Gate {
    pub(crate) fn new(tag: u64) -> Gate {
        Gate(AtomicU64::new(tag << VALUE_BITS))
    }

    /// Enters for the period `tag`; `Stale` if the gate belongs to another period or is
    /// closing for a transition (which ends the recorder's period).
    pub(crate) fn enter(&self, tag: u64) -> Result<Inside<'_>, Stale> {
        self.enter_as(tag, false)
    }

    /// [`Gate::enter`] for the gate of one stripe: finding the word changed by another
    /// recorder means another thread shares the stripe, and this thread moves on to another
    /// stripe for its next calls.
    pub(crate) fn enter_stripe(&self, tag: u64) -> Result<Inside<'_>, Stale> {
        self.enter_as(tag, true)
    }

    #[inline]
    fn enter_as(&self, tag: u64, striped: bool) -> Result<Inside<'_>, Stale> {
        let mut word = self.0.load(Ordering::Acquire);
        loop {
            if word >> VALUE_BITS != tag || word & CLOSING != 0 {
                return Err(Stale);
            }
            match self.0.compare_exchange(
                word,
                word.wrapping_add(1),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(Inside(self)),
                Err(actual) => {
                    if striped {
                        crate::sync::move_stripe_hint();
                    }
                    word = actual;
                }
            }
        }
    }

    /// Closes the gate, waits for the recorders inside to leave, runs `clear`, and opens the
    /// gate for the period `tag`. Runs under the circuit's transition lock.
    pub(crate) fn reset(&self, tag: u64, clear: impl FnOnce()) {
        self.0.fetch_or(CLOSING, Ordering::AcqRel);
        let mut round = 0;
        while self.0.load(Ordering::Acquire) & INSIDE != 0 {
            crate::sync::spin(round);
            round = round.saturating_add(1);
        }
        clear();
        self.0.swap(tag << VALUE_BITS, Ordering::AcqRel);
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::Release);
    }
}
