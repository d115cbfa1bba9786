//! What a circuit costs in memory and in allocations, counted by a global allocator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of tests, where a failed unwrap is a failed test"
)]

use std::time::Duration;

use fusebox_core::trip::failure_streak;
use fusebox_core::{Circuit, ManualClock, Outcome, Policy, Retry, State, Window};

/// Bytes still allocated, when it returns, of what `make` allocated on this thread.
fn retained<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let mut made = None;
    let info = allocation_counter::measure(|| made = Some(make()));
    let bytes = usize::try_from(info.bytes_current).unwrap_or(0);
    (made.expect("measure runs the closure"), bytes)
}

/// Allocations made on this thread while `run` runs.
fn allocations(run: impl FnOnce()) -> u64 {
    allocation_counter::measure(run).count_total
}

#[test]
fn circuits_are_small_and_calls_allocate_nothing() {
    // Warm up what is created once per process or thread (stripe count, hints).
    drop(Circuit::new("warm", Policy::default()).try_acquire());

    let policy = Policy::default();
    let (circuit, bytes) = retained(|| Circuit::builder("c").policy(policy.clone()).build());
    assert!(bytes <= 1024, "a count(100) circuit takes {bytes} bytes");
    // The name "c" is kept once per core and once more, in allocations of 24 bytes or less.
    let names = 24
        * (std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .next_power_of_two()
            + 1);
    let estimate = policy.memory_per_circuit() + names;
    assert!(
        estimate.abs_diff(bytes) <= 64,
        "memory_per_circuit says {estimate}, the allocator saw {bytes}"
    );

    let large = Policy::builder()
        .window(Window::count(1_000_000))
        .build()
        .expect("valid");
    let (big, bytes) = retained(|| Circuit::new("big", large.clone()));
    // 40 outcome bits per word: 200 kB, where a word per call took 8 MB.
    assert!(bytes < 256_000, "count(1000000) takes {bytes} bytes");
    assert!((large.memory_per_circuit() + names).abs_diff(bytes) <= 64);
    // Transitions clear the window in place: no new window per transition.
    let made = allocations(|| {
        for _ in 0..10 {
            big.force_open();
            big.reset();
        }
    });
    assert_eq!(made, 0, "transitions allocated");

    // Calls on the closed path, rejections on the open path: no allocation.
    let made = allocations(|| {
        for _ in 0..1_000 {
            circuit
                .try_acquire()
                .expect("closed")
                .finish(Outcome::Success);
            circuit
                .try_acquire_owned()
                .expect("closed")
                .finish(Outcome::Failure);
            circuit
                .try_acquire()
                .expect("closed")
                .finish(Outcome::Success);
        }
    });
    assert_eq!(made, 0, "the closed path allocated");

    let clock = ManualClock::new();
    let open = Circuit::builder("open")
        .policy(
            Policy::builder()
                .trip(failure_streak(1))
                .retry(Retry::cooldown(Duration::from_secs(60)))
                .build()
                .expect("valid"),
        )
        .clock(clock)
        .build();
    open.try_acquire().expect("closed").finish(Outcome::Failure);
    assert_eq!(open.state(), State::Open);
    let made = allocations(|| {
        for _ in 0..1_000 {
            let rejected = open.try_acquire().expect_err("open");
            assert_eq!(rejected.retry_after(), Some(Duration::from_secs(60)));
        }
    });
    assert_eq!(made, 0, "the open path allocated");
}
