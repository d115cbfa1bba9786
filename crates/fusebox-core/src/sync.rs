//! The synchronisation primitives of the engine, in one place: `std`'s (and `crossbeam`'s
//! cache padding) normally, loom's under `--cfg fusebox_loom`, so that the model checker
//! explores every interleaving of the lock-free paths (`tests/loom.rs`). The cfg has a name of
//! its own rather than the usual `loom`, which would also switch tokio (a dev-dependency) into
//! its own loom mode.
//!
//! Nothing else in the crate names `std::sync` or `std::thread_local!` directly.

pub(crate) use crossbeam_utils::CachePadded;

#[cfg(not(fusebox_loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(fusebox_loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(fusebox_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(fusebox_loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning: every critical section of the engine leaves its data
/// consistent at each step, and a panicking signal sink is caught before it could poison.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One step of a wait for other threads to leave a short lock-free section.
pub(crate) fn spin(round: u32) {
    #[cfg(fusebox_loom)]
    {
        let _ = round;
        loom::thread::yield_now();
    }
    #[cfg(not(fusebox_loom))]
    {
        if round < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// This thread's stripe hint: threads are numbered in the order they first use any circuit,
/// and a circuit with `n` stripes serves thread `k` from stripe `k mod n`. A thread whose stripe
/// turns out to be contended moves to the next one (see `Stripes::add`).
#[inline]
pub(crate) fn stripe_hint() -> usize {
    HINT.with(|hint| {
        let current = hint.get();
        if current != usize::MAX {
            return current;
        }
        let assigned = next_hint();
        hint.set(assigned);
        assigned
    })
}

/// This thread's number for telling stripe owners apart: never zero, distinct for the first
/// 2^32 - 1 threads that use a circuit (it wraps after that, which only costs a stripe move).
#[inline]
pub(crate) fn thread_number() -> u32 {
    OWNER.with(|number| {
        let current = number.get();
        if current != 0 {
            return current;
        }
        #[allow(clippy::cast_possible_truncation)] // wrapping is fine, see above
        let assigned = (next_hint() as u32).max(1);
        number.set(assigned);
        assigned
    })
}

/// Moves this thread to another stripe after contention on its own.
pub(crate) fn move_stripe_hint() {
    HINT.with(|hint| hint.set(hint.get().wrapping_add(1)));
}

#[cfg(not(fusebox_loom))]
fn next_hint() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(fusebox_loom)]
fn next_hint() -> usize {
    // Loom forbids statics holding its atomics; a thread id is enough to spread the model's
    // threads over stripes deterministically.
    let id = format!("{:?}", loom::thread::current().id());
    id.bytes().map(usize::from).sum()
}

#[cfg(not(fusebox_loom))]
std::thread_local! {
    static HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    static OWNER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

#[cfg(fusebox_loom)]
loom::thread_local! {
    static HINT: std::cell::Cell<usize> = std::cell::Cell::new(usize::MAX);
    static OWNER: std::cell::Cell<u32> = std::cell::Cell::new(0);
}
