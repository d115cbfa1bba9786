//! The `time(d)` window: calls of the last `d` seconds in one-second buckets, striped.
//!
//! Each stripe (one per core, see `circuit/stripes.rs`) has its own ring of `d` buckets and its
//! own sums over them, so concurrent calls on different cores write different cache lines: a
//! call touches only its stripe. Reading the window merges the stripes: O(stripes), plus the
//! expiry of buckets older than `d` (amortised O(1) per elapsed second and stripe).
//!
//! A stripe's sums only grow: `recorded` holds every call it recorded, `left` what has left
//! the window (expired buckets, earlier periods), and the window is the difference. So
//! `recorded` also counts the circuit's successes (total less failures): a success recorded
//! here is counted nowhere else, and costs no write beyond the window's own.
//!
//! A closed circuit evaluates its trip rule after every recorded outcome, which would read
//! every stripe on every call and bring back the sharing that striping removed. So evaluations
//! are skipped while they cannot be true: after an evaluation finds the rule false, the rule
//! tells how many more recorded calls it needs at the least before it can be true
//! (`TripRule::calls_needed`); that many calls are handed out as budgets to the stripes, and a
//! stripe skips evaluations while its budget lasts. Within one second the window only grows (no
//! bucket expires), so a budget is valid until its second ends; the sum of all stripes'
//! outstanding budgets never exceeds the bound, so no call that makes the rule true is ever
//! skipped. Budgets are granted under a small lock, taken only on those evaluations.
//!
//! A budget costs a call no write: it is the total the stripe's bucket of that second may reach
//! while evaluations are skipped. Adding the call to the bucket returns the bucket's new total,
//! unique to the call, and the call skips if that total is within the budget.

use super::Tally;
use super::gate::Gate;
use super::sums::Layout;
use super::tagged::Stale;
use crate::sync::{AtomicU64, CachePadded, Mutex, Ordering};

const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Marks a bucket that holds no second.
const EMPTY: u64 = u64::MAX;
/// Budget words: `(second + 1) << UNTIL_BITS | until`, where `until` is the total the
/// stripe's bucket of `second` may reach with evaluations skipped; zero is "no budget".
const UNTIL_BITS: u32 = 40;
const UNTIL_MAX: u64 = (1 << UNTIL_BITS) - 1;
const SECOND_MASK: u64 = (1 << (64 - UNTIL_BITS)) - 1;

/// The second part of a budget word granted in `second`.
fn budget_second(second: u64) -> u64 {
    second.wrapping_add(1) & SECOND_MASK
}

#[derive(Debug)]
pub(crate) struct TimeWindow {
    span: u64,
    /// Buckets per stripe less one: their number is `span` rounded up to a power of two, so
    /// that a second's bucket is a mask away rather than a division (which costs more than the
    /// rest of a call here).
    mask: u64,
    layout: Layout,
    /// Where a stripe's bucket sums start in its cells, and where `recorded` starts.
    sums_at: usize,
    totals_at: usize,
    stripes: Box<[CachePadded<Stripe>]>,
    grants: Mutex<()>,
}

#[derive(Debug)]
struct Stripe {
    gate: Gate,
    budget: AtomicU64,
    /// Every bucket of a second `< expired_before` has left the window.
    expired_before: AtomicU64,
    rotation: Mutex<()>,
    /// One allocation, padded at both ends so that no other stripe's words share its cache
    /// lines: the second each bucket holds, one set of sums per bucket, then two sets: every
    /// call the stripe ever recorded over all periods (`recorded`, sums only grow), and what
    /// of those has left the window (`left`: expired buckets, earlier periods). The window is
    /// `recorded - left`.
    cells: Box<[AtomicU64]>,
}

/// Words of padding at each end of a stripe's cells: a `CachePadded`'s alignment.
const PAD: usize = std::mem::align_of::<CachePadded<u8>>() / std::mem::size_of::<u64>();

/// What a record asks of its caller.
#[derive(Debug)]
pub(crate) enum Recorded {
    /// The stripe's budget covers this call: the rule cannot be true, skip the evaluation.
    Skip,
    /// Evaluate the rule on the merged window.
    Evaluate(Tally),
}

impl TimeWindow {
    pub(crate) fn new(
        seconds: u64,
        layout: Layout,
        stripes: usize,
        tag: u64,
        now: u64,
    ) -> TimeWindow {
        let span = seconds.max(1);
        let first_live = (now / NANOS_PER_SECOND).saturating_sub(span.saturating_sub(1));
        let buckets = Self::buckets(span);
        TimeWindow {
            // A power of two, as the circuit's stripes are, so that a stripe is a mask away.
            stripes: (0..stripes.max(1).next_power_of_two())
                .map(|_| {
                    CachePadded::new(Stripe {
                        gate: Gate::new(tag),
                        budget: AtomicU64::new(0),
                        expired_before: AtomicU64::new(first_live),
                        rotation: Mutex::new(()),
                        cells: (0..Self::cells(buckets, layout.width()))
                            .map(|cell| {
                                let second = (PAD..PAD.saturating_add(buckets)).contains(&cell);
                                AtomicU64::new(if second { EMPTY } else { 0 })
                            })
                            .collect(),
                    })
                })
                .collect(),
            span,
            mask: (buckets as u64).saturating_sub(1),
            sums_at: PAD.saturating_add(buckets),
            totals_at: PAD
                .saturating_add(buckets)
                .saturating_add(buckets.saturating_mul(layout.width())),
            layout,
            grants: Mutex::new(()),
        }
    }

    /// Words of a stripe's cells with `buckets` buckets of `width` sums each.
    fn cells(buckets: usize, width: usize) -> usize {
        buckets
            .saturating_mul(width.saturating_add(1))
            .saturating_add(width.saturating_mul(2))
            .saturating_add(PAD.saturating_mul(2))
    }

    /// The second each bucket of `stripe` holds.
    fn seconds<'s>(&self, stripe: &'s Stripe) -> &'s [AtomicU64] {
        &stripe.cells[PAD..self.sums_at]
    }

    /// The sums of every bucket of `stripe`, bucket by bucket.
    fn sums<'s>(&self, stripe: &'s Stripe) -> &'s [AtomicU64] {
        &stripe.cells[self.sums_at..self.totals_at]
    }

    /// `recorded` and `left` of `stripe` (see [`Stripe::cells`]).
    fn totals<'s>(&self, stripe: &'s Stripe) -> (&'s [AtomicU64], &'s [AtomicU64]) {
        let width = self.layout.width();
        let (recorded, rest) = stripe.cells[self.totals_at..].split_at(width);
        (recorded, &rest[..width])
    }

    /// Buckets per stripe for a window of `span` seconds.
    fn buckets(span: u64) -> usize {
        usize::try_from(span.max(1).next_power_of_two()).unwrap_or(usize::MAX)
    }

    fn stripe(&self, index: usize) -> &Stripe {
        &self.stripes[index & self.stripes.len().saturating_sub(1)]
    }

    fn bucket<'s>(&self, stripe: &'s Stripe, second: u64) -> (&'s AtomicU64, &'s [AtomicU64]) {
        #[allow(clippy::cast_possible_truncation)] // masked below the bucket count
        let index = (second & self.mask) as usize;
        let width = self.layout.width();
        let sums = self.sums_at.saturating_add(index.saturating_mul(width));
        (
            &stripe.cells[PAD.saturating_add(index)],
            &stripe.cells[sums..sums.saturating_add(width)],
        )
    }

    /// Records one call of the period `tag` on stripe `index`, finished at `now` (nanos)
    /// after `nanos`. `budgeted`: the caller evaluates a rule that budgets may skip (closed).
    pub(crate) fn record(
        &self,
        index: usize,
        tag: u64,
        now: u64,
        failure: bool,
        nanos: u64,
        budgeted: bool,
    ) -> Result<Recorded, Stale> {
        let stripe = self.stripe(index);
        let second = now / NANOS_PER_SECOND;
        {
            let _inside = stripe.gate.enter_stripe(tag)?;
            let (held, sums) = self.bucket(stripe, second);
            if held.load(Ordering::Acquire) != second {
                self.rotate(stripe, held, sums, second);
            }
            let total = self.layout.add(sums, true, failure, nanos);
            self.layout.add(self.totals(stripe).0, true, failure, nanos);
            if budgeted {
                let budget = stripe.budget.load(Ordering::Acquire);
                if budget >> UNTIL_BITS == budget_second(second) && total <= budget & UNTIL_MAX {
                    return Ok(Recorded::Skip);
                }
            }
        }
        Ok(Recorded::Evaluate(self.tally(now)))
    }

    /// Makes the bucket hold `second`, moving whatever older second it held out of the
    /// window.
    fn rotate(&self, stripe: &Stripe, held: &AtomicU64, sums: &[AtomicU64], second: u64) {
        let _guard = crate::sync::lock(&stripe.rotation);
        let current = held.load(Ordering::Acquire);
        // A recorder more than `d` seconds late can find its bucket already on a newer
        // second; its call then counts in that newer second rather than being lost.
        if current == second || (current != EMPTY && current > second) {
            return;
        }
        Layout::drain(sums, self.totals(stripe).1);
        held.store(second, Ordering::Release);
        // A budget of another second is spent: drop it, so that its second's bits coming round
        // again (after 2^24 s) cannot revive it.
        let budget = stripe.budget.load(Ordering::Acquire);
        if budget >> UNTIL_BITS != budget_second(second) {
            stripe.budget.store(0, Ordering::Release);
        }
    }

    /// Removes the buckets of `stripe` older than the window at `second`.
    fn expire(&self, stripe: &Stripe, second: u64) {
        let oldest_live = second.saturating_add(1).saturating_sub(self.span);
        if stripe.expired_before.load(Ordering::Acquire) >= oldest_live {
            return;
        }
        let _guard = crate::sync::lock(&stripe.rotation);
        let from = stripe.expired_before.load(Ordering::Acquire);
        if from >= oldest_live {
            return;
        }
        // Only buckets of seconds in [from, oldest_live) can be newly expired: visit those
        // positions, at most one lap. After a silence longer than a lap a position may hold
        // an older second than the one visited, hence `<` rather than `==`.
        let first = from.max(oldest_live.saturating_sub(self.mask.saturating_add(1)));
        for visited in first..oldest_live {
            let (held, sums) = self.bucket(stripe, visited);
            let current = held.load(Ordering::Acquire);
            if current != EMPTY && current < oldest_live {
                Layout::drain(sums, self.totals(stripe).1);
                held.store(EMPTY, Ordering::Release);
            }
        }
        stripe.expired_before.store(oldest_live, Ordering::Release);
    }

    /// The merged window at `now` (the streak is kept apart, by the caller).
    pub(crate) fn tally(&self, now: u64) -> Tally {
        let second = now / NANOS_PER_SECOND;
        let mut tally = Tally::default();
        for stripe in &*self.stripes {
            self.expire(stripe, second);
            let (recorded, left) = self.totals(stripe);
            self.layout.read_difference(recorded, left, &mut tally);
        }
        tally
    }

    /// The successes recorded on every stripe in every period so far: exact at rest, possibly
    /// low while calls are recorded.
    pub(crate) fn successes(&self) -> u64 {
        self.stripes.iter().fold(0, |sum: u64, stripe| {
            sum.wrapping_add(Layout::successes(self.totals(stripe).0))
        })
    }

    /// After an evaluation on stripe `index` found the rule false at `now`, with `needed`
    /// more calls at the least before it can be true: gives the stripe what the other
    /// stripes' outstanding budgets leave of it. Another grant in progress means no budget
    /// this time (the next call evaluates again).
    pub(crate) fn grant(&self, index: usize, tag: u64, now: u64, needed: u64) {
        let second = now / NANOS_PER_SECOND;
        let Ok(_granting) = self.grants.try_lock() else {
            return;
        };
        let stripe = self.stripe(index);
        let Ok(_inside) = stripe.gate.enter(tag) else {
            return;
        };
        // A stripe's bucket total in this second, and what its budget still allows: `until`
        // less that total (each later call takes one total past it, skipping while within).
        let total = |of: &Stripe| {
            let (held, sums) = self.bucket(of, second);
            if held.load(Ordering::Acquire) == second {
                Layout::total(sums)
            } else {
                0
            }
        };
        let left = |other: &Stripe| {
            let budget = other.budget.load(Ordering::Acquire);
            if budget >> UNTIL_BITS == budget_second(second) {
                (budget & UNTIL_MAX).saturating_sub(total(other))
            } else {
                0
            }
        };
        let mine: *const Stripe = stripe;
        let outstanding: u64 = self
            .stripes
            .iter()
            .filter(|other| !std::ptr::eq(&***other, mine))
            .map(|other| left(other))
            .sum();
        // Skipped calls must stay below `needed`: the call that could make the rule true
        // is always evaluated. A stripe takes its part of what is left, not all of it, so
        // that the other cores do not evaluate on every call until its budget runs out.
        let available = needed.saturating_sub(1).saturating_sub(outstanding);
        let stripes = u64::try_from(self.stripes.len()).unwrap_or(u64::MAX);
        let share = available.div_ceil(stripes.max(1));
        let until = total(stripe).saturating_add(share);
        stripe.budget.store(
            if share == 0 || until > UNTIL_MAX {
                0
            } else {
                budget_second(second) << UNTIL_BITS | until
            },
            Ordering::Release,
        );
    }

    /// Empties every stripe for the period `tag`. Runs under the circuit's transition lock.
    pub(crate) fn clear(&self, tag: u64, now: u64) {
        let first_live = (now / NANOS_PER_SECOND).saturating_sub(self.span.saturating_sub(1));
        for stripe in &*self.stripes {
            stripe.gate.reset(tag, || {
                let _guard = crate::sync::lock(&stripe.rotation);
                stripe.budget.store(0, Ordering::Relaxed);
                for second in self.seconds(stripe) {
                    second.store(EMPTY, Ordering::Relaxed);
                }
                Layout::clear(self.sums(stripe));
                let (recorded, left) = self.totals(stripe);
                Layout::settle(recorded, left);
                stripe.expired_before.store(first_live, Ordering::Release);
            });
        }
    }

    /// Heap and inline bytes of a `time(seconds)` window with `stripes` stripes.
    pub(crate) fn bytes(seconds: u64, width: usize, stripes: usize) -> usize {
        let buckets = Self::buckets(seconds);
        let per_stripe = std::mem::size_of::<CachePadded<Stripe>>().saturating_add(
            Self::cells(buckets, width).saturating_mul(std::mem::size_of::<AtomicU64>()),
        );
        std::mem::size_of::<TimeWindow>().saturating_add(per_stripe.saturating_mul(stripes))
    }
}
