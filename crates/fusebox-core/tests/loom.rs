//! Model checks of the lock-free paths, run by loom over every interleaving (with a bound on
//! preemptions): `RUSTFLAGS="--cfg fusebox_loom" cargo test -p fusebox-core --test loom --release`.
//!
//! Each model races a call against a transition and checks what must hold whatever the order:
//! every call is counted exactly once, no probe slot leaks, and a window never holds a call of a
//! period that ended before it was recorded.
#![cfg(fusebox_loom)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusebox_core::trip::{failure_streak, min_requests};
use fusebox_core::{
    Circuit, ManualClock, Outcome, Permit, Policy, Retry, Signal, State, TripRule, Window,
};
use loom::thread;

fn circuit(window: Window, trip: TripRule, record_latency: bool, initial: State) -> Circuit {
    let policy = Policy::builder()
        .window(window)
        .trip(trip)
        .retry(Retry::cooldown(Duration::from_secs(60)))
        .permit(Permit::all())
        .max_concurrent_probes(1)
        .record_latency(record_latency)
        .build()
        .expect("a valid policy");
    Circuit::builder("model")
        .policy(policy)
        .clock(ManualClock::new())
        .initial_state(initial)
        .build()
}

/// The three window kinds: tagged bits, gated slots, gated time buckets per core.
fn windows() -> [(Window, bool); 3] {
    [
        (Window::count(2), false),
        (Window::count(2), true),
        (Window::time(Duration::from_secs(1)), false),
    ]
}

#[test]
fn an_admission_racing_a_window_clear_is_recorded_in_one_period_or_none() {
    for (window, latency) in windows() {
        loom::model(move || {
            let circuit = circuit(window, min_requests(u64::MAX), latency, State::Closed);
            let caller = {
                let circuit = circuit.clone();
                thread::spawn(move || {
                    circuit
                        .try_acquire()
                        .expect("closed admits")
                        .finish(Outcome::Failure);
                })
            };
            // A manual reset of a closed circuit clears the window in place.
            circuit.reset();
            caller.join().expect("no panic");
            let snapshot = circuit.snapshot();
            let metrics = snapshot.metrics;
            // Recorded after the clear (counted in the window) or stale (discarded): never
            // half of it.
            assert!(metrics.total() <= 1, "{window}: {metrics:?}");
            assert_eq!(metrics.failures(), metrics.total(), "{window}: {metrics:?}");
            assert_eq!(
                metrics.consecutive_failures(),
                metrics.failures(),
                "{window}: {metrics:?} generation {}",
                snapshot.generation
            );
            assert_eq!(snapshot.calls.failure, 1, "{window}: counted exactly once");
        });
    }
}

#[test]
fn a_trip_racing_a_manual_command_yields_one_signal_per_transition_and_exact_counts() {
    loom::model(|| {
        let signals: Arc<Mutex<Vec<Signal>>> = Arc::new(Mutex::new(Vec::new()));
        let sink = signals.clone();
        let policy = Policy::builder()
            .window(Window::count(2))
            .trip(failure_streak(1))
            .build()
            .expect("a valid policy");
        let circuit = Circuit::builder("model")
            .policy(policy)
            .clock(ManualClock::new())
            .on_signal(move |signal| sink.lock().expect("not poisoned").push(signal))
            .build();
        let caller = {
            let circuit = circuit.clone();
            thread::spawn(move || match circuit.try_acquire() {
                Ok(admission) => {
                    admission.finish(Outcome::Failure);
                    true
                }
                Err(_) => false,
            })
        };
        circuit.force_open();
        let admitted = caller.join().expect("no panic");
        let calls = circuit.snapshot().calls;
        if admitted {
            assert_eq!((calls.failure, calls.rejected), (1, 0));
        } else {
            assert_eq!((calls.failure, calls.rejected), (0, 1));
        }
        // The command always wins in the end: it was issued, and nothing but a command
        // leaves forced_open.
        assert_eq!(circuit.state(), State::ForcedOpen);
        let signals = signals.lock().expect("not poisoned");
        // Each signal continues where the previous one ended.
        for pair in signals.windows(2) {
            assert_eq!(pair[0].to, pair[1].from, "{signals:?}");
        }
    });
}

#[test]
fn a_probe_released_while_a_transition_ends_its_period_never_leaks_a_slot() {
    loom::model(|| {
        let circuit = circuit(Window::count(2), failure_streak(1), false, State::HalfOpen);
        let prober = {
            let circuit = circuit.clone();
            thread::spawn(move || {
                if let Ok(probe) = circuit.try_acquire_owned() {
                    drop(probe); // cancelled: releases its slot
                }
            })
        };
        // The operator moves the circuit back to half_open: a new period with free slots.
        circuit.transition_to(State::Open);
        circuit.transition_to(State::HalfOpen);
        prober.join().expect("no panic");
        assert_eq!(circuit.snapshot().probes_in_flight, 0);
        let probe = circuit.try_acquire().expect("the only slot is free");
        assert!(probe.is_probe());
        probe.finish(Outcome::Success);
        assert_eq!(circuit.state(), State::Closed);
    });
}

#[test]
fn a_probe_outcome_racing_a_probe_timeout_lands_in_one_period() {
    loom::model(|| {
        let circuit = circuit(Window::count(2), failure_streak(1), false, State::HalfOpen);
        let probe = circuit.try_acquire_owned().expect("a free slot");
        let prober = thread::spawn(move || probe.finish(Outcome::Failure));
        // Meanwhile an operator opens it.
        circuit.transition_to(State::Open);
        prober.join().expect("no panic");
        let snapshot = circuit.snapshot();
        // Either the probe reopened the circuit first, or it finished stale: open both ways,
        // with no probe in flight and the failure counted once.
        assert_eq!(snapshot.state, State::Open);
        assert_eq!(snapshot.probes_in_flight, 0);
        assert_eq!(snapshot.calls.failure, 1);
    });
}

#[test]
fn successes_counted_by_their_window_are_exact_and_never_read_going_back() {
    // count(1): every claim completes a lap, so both ways a claim reaches the count race here.
    // A time window counts the successes it records by its sums; with one caller at a time
    // its model stays small enough to finish (a success racing the clear, a failure racing
    // the readers, which must not take it for a success while it is half-written).
    let time = Window::time(Duration::from_secs(1));
    let both: &[Outcome] = &[Outcome::Success, Outcome::Failure];
    let cases = [
        (Window::count(1), both),
        (Window::count(2), both),
        (time, &[Outcome::Success]),
        (time, &[Outcome::Failure]),
    ];
    for (window, outcomes) in cases {
        loom::model(move || {
            let circuit = circuit(window, min_requests(u64::MAX), false, State::Closed);
            let callers: Vec<_> = outcomes
                .iter()
                .map(|&outcome| {
                    let circuit = circuit.clone();
                    thread::spawn(move || {
                        circuit
                            .try_acquire()
                            .expect("closed admits")
                            .finish(outcome);
                    })
                })
                .collect();
            let before = circuit.snapshot().calls;
            circuit.reset();
            let during = circuit.snapshot().calls;
            for caller in callers {
                caller.join().expect("no panic");
            }
            let after = circuit.snapshot().calls;
            assert!(
                before.success <= during.success && during.success <= after.success,
                "{window}: {before:?} then {during:?} then {after:?}"
            );
            let expected = |which: Outcome| {
                outcomes.iter().filter(|&&outcome| outcome == which).count() as u64
            };
            assert_eq!(
                (after.success, after.failure),
                (expected(Outcome::Success), expected(Outcome::Failure)),
                "{window}: {after:?}"
            );
        });
    }
}
