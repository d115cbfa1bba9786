//! The `count(n)` window of a policy that does not measure latency: the last `n` outcomes as
//! bits, lock-free, with everything a call reads or writes on one cache line for windows of up
//! to 256 calls (the default is 100).
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
//!
//! # Counting successes without a write of their own
//!
//! A circuit counts every call since it was made (`Snapshot::calls`). A successful call of the
//! closed fast path would pay a second locked instruction to count itself on its stripe, so it
//! does not: its claim of a position is its count. The ring keeps every claim ever made in
//! `claims` (the call that completes a lap adds `n`, a clear adds the position it interrupts;
//! claims of the lap in progress are the position itself) and, in `excluded`, the claims of
//! calls that count themselves elsewhere (failures, and calls recorded off the fast path).
//! Claims minus excluded claims are the successes only the ring counted.
//!
//! That difference is exact once writers are done, and while they write it can only read low:
//! `excluded` grows before its claim and shrinks only after a claim that failed, and readers
//! read the claims before `excluded`; a lap's `n` is added after the claim that completes it.
//! The recorder keeps the most [`BitRing::successes`] reported, so the count a reader sees
//! never goes back (a Prometheus counter must not).

use super::Tally;
use super::tagged::{Stale, Tagged};
use crate::sync::{AtomicU64, Ordering};

/// Outcome bits per word: a power of two no larger than a word's value bits (the rest is the
/// tag), so that finding a position's bit is a shift and a mask.
const BITS_PER_WORD: usize = 32;
const _: () = assert!(BITS_PER_WORD <= super::tagged::VALUE_BITS as usize);
/// Bit words that share the control line: 3 control words, 2 claim counts, 8 bit words, the
/// size and the spill pointer fill 128 bytes.
const INLINE_WORDS: usize = 8;
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

/// Why an outcome is not in the window: its period ended before the call claimed a position
/// (`claimed` false) or while it recorded (`claimed` true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    pub(crate) claimed: bool,
}

impl From<Stale> for Ended {
    fn from(Stale: Stale) -> Ended {
        Ended { claimed: true }
    }
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
    /// Claims of every period and lap before the lap in progress (see the module's docs).
    claims: AtomicU64,
    /// Claims of calls counted elsewhere.
    excluded: AtomicU64,
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
                claims: AtomicU64::new(0),
                excluded: AtomicU64::new(0),
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

    /// Records one outcome, counted elsewhere, in the period `tag` and returns the window after
    /// it.
    pub(crate) fn record(&self, tag: u64, failure: bool) -> Result<Tally, Stale> {
        let counts = self
            .record_counts(tag, failure, true)
            .map_err(|_: Ended| Stale)?;
        Ok(Tally {
            total: counts.total,
            failures: counts.failures,
            streak: counts.streak,
            ..Tally::default()
        })
    }

    /// Records one outcome in the period `tag` and returns what the window counts after it.
    /// `counted`: the call is counted elsewhere; a success that is not is counted by its claim.
    #[inline]
    pub(crate) fn record_counts(
        &self,
        tag: u64,
        failure: bool,
        counted: bool,
    ) -> Result<Counts, Ended> {
        let n = self.hot.n;
        let excluded = failure || counted;
        if excluded {
            // Before the claim, so that a reader never takes this call for a success.
            self.hot.excluded.fetch_add(1, Ordering::Release);
        }
        let claim = self.hot.control.update(tag, |control| {
            let (len, position) = (control >> FIELD_BITS, control & FIELD_MASK);
            let next = position.saturating_add(1);
            let next = if next == n { 0 } else { next };
            Some(len.saturating_add(1).min(n) << FIELD_BITS | next)
        });
        let Ok(before) = claim else {
            if excluded {
                self.hot.excluded.fetch_sub(1, Ordering::Release);
            }
            return Err(Ended { claimed: false });
        };
        if (before & FIELD_MASK).saturating_add(1) == n {
            // This claim completed a lap: its claims leave the position for the count.
            self.hot.claims.fetch_add(n, Ordering::Release);
        }
        let total = (before >> FIELD_BITS).saturating_add(1).min(n);
        #[allow(clippy::cast_possible_truncation)] // position < n < 2^20
        let position = (before & FIELD_MASK) as usize;
        let word = self.word(position / BITS_PER_WORD);
        let bit = 1u64 << (position % BITS_PER_WORD);

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

    /// Successes counted by their claims alone (see the module's docs): exact once writers are
    /// done, and while they write possibly less than before.
    pub(crate) fn successes(&self) -> u64 {
        let claims = self
            .hot
            .claims
            .load(Ordering::Acquire)
            .wrapping_add(self.hot.control.peek() & FIELD_MASK);
        claims.saturating_sub(self.hot.excluded.load(Ordering::Acquire))
    }

    /// Empties the window for the period `tag`. Runs under the circuit's transition lock.
    pub(crate) fn clear(&self, tag: u64) {
        // Control first: from here on no call of the old period can claim a position, and
        // the writes of calls that already did fail on the words below.
        let interrupted = self.hot.control.reset(tag, 0) & FIELD_MASK;
        self.hot.claims.fetch_add(interrupted, Ordering::Release);
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

#[cfg(all(test, not(fusebox_loom)))]
mod tests {
    use super::*;

    #[test]
    fn claims_count_the_successes_not_counted_elsewhere_across_laps_and_clears() {
        let ring = BitRing::new(3, 1);
        // Seven fast-path successes: two whole laps and one claim into the third.
        for _ in 0..7 {
            ring.record_counts(1, false, false).expect("period 1");
        }
        // Failures and calls counted on a stripe claim positions without counting here.
        ring.record_counts(1, true, false).expect("period 1");
        ring.record(1, false).expect("period 1");
        assert_eq!(ring.successes(), 7);
        // A clear in the middle of a lap keeps its claims; stale calls claim nothing.
        ring.clear(2);
        assert_eq!(
            ring.record_counts(1, false, false),
            Err(Ended { claimed: false })
        );
        assert_eq!(
            ring.record_counts(1, true, false),
            Err(Ended { claimed: false })
        );
        assert_eq!(ring.successes(), 7);
        ring.record_counts(2, false, false).expect("period 2");
        assert_eq!(ring.successes(), 8);
        assert_eq!(ring.tally().total, 1, "the window itself starts empty");
    }
}
