//! The `count(n)` window of a policy that does not measure latency: the last `n` outcomes as
//! bits, lock-free, with everything a call reads or writes on one cache line for windows of up
//! to 400 calls (the default is 100).
//!
//! `control` packs the ring's length (capped at `n`) and its next position; claiming a position
//! is one compare-and-swap. The outcome goes into its bit; `failures` counts the set bits and
//! `streak` the failures since the last success. In steady success a call performs that one
//! compare-and-swap and two loads: the bit and the streak are already zero.
//!
//! Every word is [`Tagged`] with the period it belongs to, so a transition clears the window in
//! place and a stale writer's swap fails (see `tagged.rs`).
//!
//! Concurrent calls a whole lap apart may write the same bit in either order; the ring then
//! holds one of the two outcomes, and `failures` stays equal to the set bits because every
//! adjustment is made from the old bit the writer's own swap saw. A failure is added to
//! `failures` before its bit is set, so `failures` never drops below the set bits while writes
//! are in progress and never underflows.

use super::Tally;
use super::tagged::{Stale, Tagged};

/// Outcome bits per word (the rest of the word is the tag).
const BITS_PER_WORD: usize = super::tagged::VALUE_BITS as usize;
/// Bit words that share the control line: 3 control words, 10 bit words, the size and the
/// spill pointer fill 128 bytes.
const INLINE_WORDS: usize = 10;
/// Bits of the position and of the length in `control`.
const FIELD_BITS: u32 = 20;
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;

/// What a bit ring counts: all a rule can read of a window without durations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) total: u64,
    pub(crate) failures: u64,
    pub(crate) streak: u64,
}

#[derive(Debug)]
pub(crate) struct BitRing {
    hot: crate::sync::CachePadded<Hot>,
}

#[derive(Debug)]
struct Hot {
    control: Tagged,
    failures: Tagged,
    streak: Tagged,
    inline: [Tagged; INLINE_WORDS],
    n: u64,
    /// The bit words beyond the inline ones, for windows over `INLINE_WORDS * 40` calls.
    spill: Box<[Tagged]>,
}

impl BitRing {
    /// A ring of `n` calls (1 ≤ n < 2^20), tagged for the period `tag`.
    pub(crate) fn new(n: usize, tag: u64) -> BitRing {
        let words = n.div_ceil(BITS_PER_WORD);
        BitRing {
            hot: crate::sync::CachePadded::new(Hot {
                control: Tagged::new(tag, 0),
                failures: Tagged::new(tag, 0),
                streak: Tagged::new(tag, 0),
                inline: std::array::from_fn(|_| Tagged::new(tag, 0)),
                n: n as u64,
                spill: (INLINE_WORDS..words.max(INLINE_WORDS))
                    .map(|_| Tagged::new(tag, 0))
                    .collect(),
            }),
        }
    }

    fn word(&self, index: usize) -> &Tagged {
        match self.hot.inline.get(index) {
            Some(word) => word,
            None => &self.hot.spill[index.saturating_sub(INLINE_WORDS)],
        }
    }

    /// Records one outcome in the period `tag` and returns the window after it.
    pub(crate) fn record(&self, tag: u64, failure: bool) -> Result<Tally, Stale> {
        let counts = self.record_counts(tag, failure)?;
        Ok(Tally {
            total: counts.total,
            failures: counts.failures,
            streak: counts.streak,
            ..Tally::default()
        })
    }

    /// Records one outcome in the period `tag` and returns what the window counts after it.
    #[inline]
    pub(crate) fn record_counts(&self, tag: u64, failure: bool) -> Result<Counts, Stale> {
        let n = self.hot.n;
        let before = self.hot.control.update(tag, |control| {
            let (len, position) = (control >> FIELD_BITS, control & FIELD_MASK);
            let next = position.saturating_add(1);
            let next = if next == n { 0 } else { next };
            Some(len.saturating_add(1).min(n) << FIELD_BITS | next)
        })?;
        let total = (before >> FIELD_BITS).saturating_add(1).min(n);
        #[allow(clippy::cast_possible_truncation)] // position < n < 2^20
        let position = (before & FIELD_MASK) as usize;
        let word = self.word(position.checked_div(BITS_PER_WORD).unwrap_or(0));
        let bit = 1u64 << position.checked_rem(BITS_PER_WORD).unwrap_or(0);

        let failures = if failure {
            let counted = self.hot.failures.add(tag, 1)?.saturating_add(1);
            let old = word.update(tag, |bits| (bits & bit == 0).then_some(bits | bit))?;
            if old & bit != 0 {
                // The bit was already a failure's: undo the add made before publishing.
                self.hot.failures.sub(tag, 1)?;
                counted.saturating_sub(1)
            } else {
                counted
            }
        } else {
            let old = word.update(tag, |bits| (bits & bit != 0).then_some(bits & !bit))?;
            if old & bit != 0 {
                self.hot.failures.sub(tag, 1)?.saturating_sub(1)
            } else {
                self.hot.failures.load(tag)?
            }
        };
        let streak = if failure {
            self.hot.streak.add(tag, 1)?.saturating_add(1)
        } else {
            self.hot
                .streak
                .update(tag, |streak| (streak != 0).then_some(0))?;
            0
        };
        Ok(Counts {
            total,
            failures: failures.min(total),
            streak,
        })
    }

    /// The window as it is, whatever period it belongs to (for snapshots and signals).
    pub(crate) fn tally(&self) -> Tally {
        let total = (self.hot.control.peek() >> FIELD_BITS).min(self.hot.n);
        Tally {
            total,
            failures: self.hot.failures.peek().min(total),
            streak: self.hot.streak.peek(),
            ..Tally::default()
        }
    }

    /// Empties the window for the period `tag`. Runs under the circuit's transition lock.
    pub(crate) fn clear(&self, tag: u64) {
        // Control first: from here on no call of the old period can claim a position, and
        // the writes of calls that already did fail on the words below.
        self.hot.control.reset(tag, 0);
        self.hot.failures.reset(tag, 0);
        self.hot.streak.reset(tag, 0);
        for word in self.hot.inline.iter().chain(self.hot.spill.iter()) {
            word.reset(tag, 0);
        }
    }

    /// Heap and inline bytes of a ring of `n` calls.
    pub(crate) fn bytes(n: usize) -> usize {
        let spill = n
            .div_ceil(BITS_PER_WORD)
            .saturating_sub(INLINE_WORDS)
            .saturating_mul(std::mem::size_of::<Tagged>());
        std::mem::size_of::<BitRing>().saturating_add(spill)
    }

    /// Failures recounted from the bits themselves.
    #[cfg(all(test, not(fusebox_loom)))]
    pub(crate) fn recount(&self) -> u64 {
        let words = usize::try_from(self.hot.n)
            .unwrap_or(usize::MAX)
            .div_ceil(BITS_PER_WORD);
        (0..words)
            .map(|index| u64::from(self.word(index).peek().count_ones()))
            .sum()
    }
}
