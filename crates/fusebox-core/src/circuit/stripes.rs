//! [`Stripe`]: the part of a circuit one core writes.
//!
//! Counting every call (`Snapshot::calls`) on shared counters would make every call on every
//! core write one cache line, so the counts are striped, like Java's `LongAdder`: each thread
//! counts on its stripe (threads are spread over stripes by a thread-local hint) and a snapshot
//! adds the stripes up. A thread that finds its stripe contended moves to the next one.
//! Successes a window records are not counted here but by the window: a bit ring's claim of a
//! position on the closed fast path (see `window/bits.rs`), so that such a call writes one
//! shared line and nothing else, and a time window's own sums (see `window/time.rs`).
//!
//! A stripe is also what a tower response future holds to reach its circuit: an `Arc` of its
//! own, so that taking and dropping it per call writes the stripe's own reference count, not
//! a count shared by every core. A reference count cannot tell that another thread shares it,
//! so a stripe also remembers the thread that takes admissions from it (`owner`): a thread
//! that finds another one there frees the stripe and moves on, and the two stop sharing.

use crate::sync::{Arc, AtomicU32, AtomicU64, Ordering};
use crate::{Outcome, circuit::Core};

/// Counter positions in [`Stripe::counts`].
pub(crate) const SUCCESS: usize = 0;
pub(crate) const FAILURE: usize = 1;
pub(crate) const IGNORED: usize = 2;
pub(crate) const REJECTED: usize = 3;

/// One core's share of a circuit. Sized and aligned to one cache line.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Stripe {
    pub(crate) core: Arc<Core>,
    /// The circuit's name in an allocation of this stripe's own, so that a rejection's copy of
    /// it writes no reference count shared with other cores.
    pub(crate) name: std::sync::Arc<str>,
    /// Which stripe of its circuit this is (fewer than 2^32: at most 64).
    index: u32,
    /// The thread taking owned admissions from this stripe, or 0 (see the module's docs).
    owner: AtomicU32,
    counts: [AtomicU64; 4],
}

impl Stripe {
    pub(crate) fn new(core: Arc<Core>, name: &str, index: usize) -> Stripe {
        Stripe {
            core,
            name: std::sync::Arc::from(name),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            owner: AtomicU32::new(0),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Counts one call.
    #[inline]
    pub(crate) fn count(&self, which: usize) {
        let counter = &self.counts[which];
        let current = counter.load(Ordering::Relaxed);
        if counter
            .compare_exchange(
                current,
                current.wrapping_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // Another thread shares this stripe: move this thread on for its next calls.
            crate::sync::move_stripe_hint();
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Which stripe of its circuit this is.
    pub(crate) fn index(&self) -> usize {
        self.index as usize
    }

    /// Before this thread takes an owned admission here: claims a free stripe, and leaves (and
    /// frees) one another thread has claimed. A load when the stripe is this thread's.
    #[inline]
    pub(crate) fn claim(&self) {
        let me = crate::sync::thread_number();
        let owner = self.owner.load(Ordering::Relaxed);
        if owner != me {
            self.reclaim(owner, me);
        }
    }

    #[cold]
    fn reclaim(&self, owner: u32, me: u32) {
        if owner == 0 {
            self.owner.store(me, Ordering::Relaxed);
        } else {
            // Freed rather than kept, so that a thread that has ended holds no stripe forever.
            self.owner.store(0, Ordering::Relaxed);
            crate::sync::move_stripe_hint();
        }
    }

    #[inline]
    pub(crate) fn count_outcome(&self, outcome: Outcome) {
        self.count(match outcome {
            Outcome::Success => SUCCESS,
            Outcome::Failure => FAILURE,
            Outcome::Ignored => IGNORED,
        });
    }

    pub(crate) fn counted(&self, which: usize) -> u64 {
        self.counts[which].load(Ordering::Acquire)
    }
}

/// How many stripes a circuit has: the machine's parallelism, rounded up to a power of two
/// (so that picking one is a mask), at most 64.
pub(crate) fn stripe_count() -> usize {
    #[cfg(fusebox_loom)]
    {
        2
    }
    #[cfg(not(fusebox_loom))]
    {
        static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *COUNT.get_or_init(|| {
            std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .clamp(1, 64)
                .next_power_of_two()
        })
    }
}

#[cfg(all(test, not(fusebox_loom)))]
mod tests {
    use crate::sync::{stripe_hint, thread_number};
    use crate::{Circuit, Policy};

    use super::*;

    #[test]
    fn a_thread_keeps_its_stripe_and_leaves_one_another_thread_claimed() {
        let circuit = Circuit::new("shared", Policy::default());
        let stripe = Arc::clone(&circuit.handle.stripes[0]);
        stripe.claim();
        assert_eq!(stripe.owner.load(Ordering::Relaxed), thread_number());
        let hint = stripe_hint();
        stripe.claim();
        assert_eq!(stripe_hint(), hint, "its own stripe: it stays");

        let other = Arc::clone(&stripe);
        let (before, after) = std::thread::spawn(move || {
            let before = stripe_hint();
            other.claim();
            (before, stripe_hint())
        })
        .join()
        .expect("no panic");
        assert_eq!(after, before.wrapping_add(1), "the newcomer moves on");
        assert_eq!(
            stripe.owner.load(Ordering::Relaxed),
            0,
            "and frees the stripe, in case its owner has ended"
        );
        stripe.claim();
        assert_eq!(stripe.owner.load(Ordering::Relaxed), thread_number());
    }
}
