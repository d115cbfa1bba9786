//! [`Tagged`]: an atomic word that belongs to one period of a circuit.
//!
//! A circuit clears its window in place on every transition instead of allocating a new one.
//! A call admitted in the period that just ended may still be recording into the window at
//! that moment; its writes must not land in the next period. So every shared word of a window
//! carries the low [`TAG_BITS`] bits of the generation it belongs to, and every write is a
//! compare-and-swap that checks the tag: the clear stores the next generation's tag, after which
//! a late writer's swap fails and its outcome is discarded, exactly like an outcome finishing
//! after the transition.
//!
//! A writer would have to stall for 2^24 transitions of its circuit for its tag to match again.

use crate::sync::{AtomicU64, Ordering};

/// Bits of the generation kept in a word.
pub(crate) const TAG_BITS: u32 = 24;
/// Bits left for the value.
pub(crate) const VALUE_BITS: u32 = 64 - TAG_BITS;
/// The largest value a word holds.
pub(crate) const VALUE_MAX: u64 = (1 << VALUE_BITS) - 1;

/// The tag of a generation.
pub(crate) fn tag(generation: u64) -> u64 {
    generation & ((1 << TAG_BITS) - 1)
}

/// The word belongs to another period: the writer's call is stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stale;

#[derive(Debug)]
pub(crate) struct Tagged(AtomicU64);

impl Tagged {
    pub(crate) fn new(tag: u64, value: u64) -> Tagged {
        Tagged(AtomicU64::new(pack(tag, value)))
    }

    /// Starts a new period: only the circuit's transition does this.
    ///
    /// A swap rather than a store: as a read-modify-write it is ordered after every
    /// compare-and-swap of the ending period, so no writer's swap can land after it having
    /// read the word from before it (which loom, whose plain stores are only partially
    /// ordered, would otherwise allow).
    /// Returns the value it replaced, whatever its period.
    pub(crate) fn reset(&self, tag: u64, value: u64) -> u64 {
        self.0.swap(pack(tag, value), Ordering::AcqRel) & VALUE_MAX
    }

    /// The value, if the word belongs to the period tagged `tag`.
    #[inline]
    pub(crate) fn load(&self, tag: u64) -> Result<u64, Stale> {
        unpack(tag, self.0.load(Ordering::Acquire))
    }

    /// The value whatever its period (for readers that only report).
    #[inline]
    pub(crate) fn peek(&self) -> u64 {
        self.0.load(Ordering::Acquire) & VALUE_MAX
    }

    /// Replaces the value with `next(value)` if the word belongs to period `tag`; `next`
    /// returning `None` leaves the word as it is (and costs no write). Returns the value
    /// before.
    #[inline]
    pub(crate) fn update(
        &self,
        tag: u64,
        mut next: impl FnMut(u64) -> Option<u64>,
    ) -> Result<u64, Stale> {
        let mut word = self.0.load(Ordering::Acquire);
        loop {
            let value = unpack(tag, word)?;
            let Some(new) = next(value) else {
                return Ok(value);
            };
            match self.0.compare_exchange_weak(
                word,
                pack(tag, new & VALUE_MAX),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(value),
                Err(actual) => word = actual,
            }
        }
    }

    /// Adds `delta`, saturating at [`VALUE_MAX`].
    pub(crate) fn add(&self, tag: u64, delta: u64) -> Result<u64, Stale> {
        self.update(tag, |value| {
            (delta != 0).then(|| value.saturating_add(delta).min(VALUE_MAX))
        })
    }

    /// Subtracts `delta`, stopping at zero; a saturated value stays saturated, so a sum that
    /// once overflowed reads as "at least this much" rather than wrapping.
    pub(crate) fn sub(&self, tag: u64, delta: u64) -> Result<u64, Stale> {
        self.update(tag, |value| {
            (delta != 0 && value != VALUE_MAX).then(|| value.saturating_sub(delta))
        })
    }
}

fn pack(tag: u64, value: u64) -> u64 {
    tag << VALUE_BITS | (value & VALUE_MAX)
}

fn unpack(tag: u64, word: u64) -> Result<u64, Stale> {
    if word >> VALUE_BITS == tag {
        Ok(word & VALUE_MAX)
    } else {
        Err(Stale)
    }
}

#[cfg(all(test, not(fusebox_loom)))]
mod tests {
    use super::*;

    #[test]
    fn writes_of_another_period_fail_and_change_nothing() {
        let word = Tagged::new(tag(7), 3);
        assert_eq!(word.add(tag(7), 2), Ok(3));
        assert_eq!(word.load(tag(7)), Ok(5));
        word.reset(tag(8), 0);
        assert_eq!(word.add(tag(7), 1), Err(Stale));
        assert_eq!(word.load(tag(8)), Ok(0));
    }

    #[test]
    fn sums_saturate_and_stay_saturated() {
        let word = Tagged::new(tag(1), VALUE_MAX - 1);
        word.add(tag(1), 5).expect("same period");
        assert_eq!(word.load(tag(1)), Ok(VALUE_MAX));
        word.sub(tag(1), 5).expect("same period");
        assert_eq!(word.load(tag(1)), Ok(VALUE_MAX));
        let small = Tagged::new(tag(1), 2);
        small.sub(tag(1), 5).expect("same period");
        assert_eq!(small.load(tag(1)), Ok(0));
    }

    #[test]
    fn generations_wrap_into_the_tag_bits() {
        assert_eq!(tag(1 << TAG_BITS), 0);
        assert_eq!(tag((1 << TAG_BITS) + 5), 5);
    }
}
