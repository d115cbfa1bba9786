//! Many threads on one circuit: probe limits hold, counts add up, one signal per transition.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly"
)]
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use fusebox_core::trip::{closed, failure_streak, min_requests};
use fusebox_core::{Cause, Circuit, Outcome, Permit, Policy, Retry, Signal, State, Window};

const THREADS: usize = 4;

#[test]
fn half_open_never_has_more_than_max_concurrent_probes_live() {
    let policy = Policy::builder()
        .trip(closed() & min_requests(1))
        .permit(Permit::all())
        .max_concurrent_probes(3)
        .close_after(u32::MAX)
        .build()
        .unwrap();
    let circuit = Circuit::builder("probes")
        .policy(policy)
        .initial_state(State::HalfOpen)
        .build();
    let live = AtomicU32::new(0);
    let most = AtomicU32::new(0);
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (circuit, live, most) = (&circuit, &live, &most);
            scope.spawn(move || {
                for i in 0..20_000usize {
                    if let Ok(admission) = circuit.try_acquire() {
                        let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::hint::spin_loop();
                        live.fetch_sub(1, Ordering::SeqCst);
                        // Half finish, half are cancelled: both must free the slot.
                        if (i + t) % 2 == 0 {
                            admission.finish(Outcome::Success);
                        } else {
                            drop(admission);
                        }
                    }
                }
            });
        }
    });
    assert_eq!(circuit.state(), State::HalfOpen);
    assert!(most.load(Ordering::SeqCst) <= 3, "{most:?}");
    assert!(most.load(Ordering::SeqCst) >= 1);
    assert_eq!(circuit.snapshot().probes_in_flight, 0);
}

#[test]
fn in_closed_the_window_total_equals_the_finished_calls() {
    let policy = Policy::builder()
        .window(Window::count(1_000_000))
        .trip(min_requests(u64::MAX))
        .build()
        .unwrap();
    let circuit = Circuit::new("totals", policy);
    thread::scope(|scope| {
        for t in 0..THREADS {
            let circuit = &circuit;
            scope.spawn(move || {
                for i in 0..25_000usize {
                    let outcome = if (i + t) % 5 == 0 {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    };
                    circuit.try_acquire().unwrap().finish(outcome);
                }
            });
        }
    });
    let snapshot = circuit.snapshot();
    assert_eq!(snapshot.metrics.total(), 100_000);
    assert_eq!(snapshot.metrics.failures(), 20_000);
    assert_eq!(
        (snapshot.calls.success, snapshot.calls.failure),
        (80_000, 20_000)
    );
}

#[test]
fn every_transition_yields_exactly_one_signal_in_order() {
    let policy = Policy::builder()
        .trip(failure_streak(1))
        .retry(Retry::always())
        .permit(Permit::all())
        .build()
        .unwrap();
    let signals: Arc<Mutex<Vec<Signal>>> = Arc::default();
    let sink = signals.clone();
    let circuit = Circuit::builder("flapping")
        .policy(policy)
        .on_signal(move |s| sink.lock().unwrap().push(s))
        .build();
    let workers_done = AtomicU32::new(0);
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (circuit, workers_done) = (&circuit, &workers_done);
            scope.spawn(move || {
                for i in 0..20_000usize {
                    if let Ok(admission) = circuit.try_acquire() {
                        let outcome = if (i * 7 + t) % 3 == 0 {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        };
                        admission.finish(outcome);
                    }
                }
                workers_done.fetch_add(1, Ordering::SeqCst);
            });
        }
        let (circuit, workers_done) = (&circuit, &workers_done);
        scope.spawn(move || {
            // Operators flip the circuit too, while the workers run: disabled for an instant,
            // then back to closed, so the workers keep tripping it in between.
            while workers_done.load(Ordering::SeqCst) < THREADS as u32 {
                circuit.disable();
                circuit.reset();
                thread::sleep(std::time::Duration::from_micros(200));
            }
        });
    });
    let signals = signals.lock().unwrap();
    assert_eq!(signals[0].cause, Cause::Registered);
    let transitions = &signals[1..];
    assert!(transitions.len() > 10, "{}", transitions.len());
    for pair in signals.windows(2) {
        assert_eq!(pair[1].from, pair[0].to, "signals chain without gaps");
        assert_ne!(pair[1].from, pair[1].to);
    }
    let snapshot = circuit.snapshot();
    assert_eq!(signals.last().unwrap().to, snapshot.state);
    // Every period change was a real transition here, so generations count signals exactly.
    assert_eq!(snapshot.generation, transitions.len() as u64);
}

/// What the callers of the storm saw, by outcome.
#[derive(Default)]
struct Seen {
    success: u64,
    failure: u64,
    ignored: u64,
    rejected: u64,
}

/// A small random source per thread (xorshift), so the storm needs no dependency.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

/// SPEC §2: every admitted or rejected call is counted exactly once, also when it races a
/// transition or a manual command, in every state.
fn storm(window: Window, calls_per_thread: u64) {
    let policy = Policy::builder()
        .window(window)
        .trip(min_requests(20) & fusebox_core::trip::failure_rate(0.5))
        .retry(Retry::always())
        .permit(Permit::random(0.5))
        .max_concurrent_probes(4)
        .close_after(2)
        .build()
        .unwrap();
    let circuit = Circuit::builder("storm").policy(policy).build();
    let done = std::sync::atomic::AtomicBool::new(false);
    let totals = Mutex::new(Seen::default());
    let commands = AtomicU32::new(0);
    thread::scope(|scope| {
        // An operator clicking through every command while the calls run.
        scope.spawn(|| {
            let mut dice = Dice(0x5eed);
            while !done.load(Ordering::Relaxed) {
                match dice.roll(5) {
                    0 => circuit.force_open(),
                    1 => circuit.disable(),
                    2 => circuit.metrics_only(),
                    3 => circuit.transition_to(State::Open),
                    _ => circuit.reset(),
                };
                commands.fetch_add(1, Ordering::Relaxed);
                thread::yield_now();
            }
        });
        let callers: Vec<_> = (0..2u64)
            .map(|t| {
                let (circuit, totals) = (&circuit, &totals);
                scope.spawn(move || {
                    let mut seen = Seen::default();
                    let mut dice = Dice(0x9e37_79b9 + t);
                    for _ in 0..calls_per_thread {
                        let roll = dice.roll(10);
                        // Owned and borrowed admissions alike.
                        let admitted = if roll % 2 == 0 {
                            circuit.try_acquire_owned().map(|a| (Some(a), None))
                        } else {
                            circuit.try_acquire().map(|a| (None, Some(a)))
                        };
                        let Ok((owned, borrowed)) = admitted else {
                            seen.rejected += 1;
                            continue;
                        };
                        let outcome = match roll {
                            0..=4 => Some(Outcome::Success),
                            5..=7 => Some(Outcome::Failure),
                            8 => Some(Outcome::Ignored),
                            _ => None, // cancelled: dropped unfinished
                        };
                        match outcome {
                            Some(Outcome::Success) => seen.success += 1,
                            Some(Outcome::Failure) => seen.failure += 1,
                            _ => seen.ignored += 1,
                        }
                        match (owned, borrowed, outcome) {
                            (Some(a), _, Some(o)) => a.finish(o),
                            (_, Some(a), Some(o)) => a.finish(o),
                            _ => {}
                        }
                    }
                    let mut totals = totals.lock().unwrap();
                    totals.success += seen.success;
                    totals.failure += seen.failure;
                    totals.ignored += seen.ignored;
                    totals.rejected += seen.rejected;
                })
            })
            .collect();
        for caller in callers {
            caller.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    let seen = totals.into_inner().unwrap();
    let calls = circuit.snapshot().calls;
    eprintln!(
        "{window}: {} commands; success {} failure {} ignored {} rejected {}",
        commands.load(Ordering::Relaxed),
        seen.success,
        seen.failure,
        seen.ignored,
        seen.rejected
    );
    assert!(
        commands.load(Ordering::Relaxed) > 10,
        "the operator kept busy"
    );
    assert!(
        seen.rejected > 0 && seen.success > 0,
        "every path was taken"
    );
    assert_eq!(
        (calls.success, calls.failure, calls.ignored, calls.rejected),
        (seen.success, seen.failure, seen.ignored, seen.rejected),
        "{window}: what callers saw must equal what the circuit counted"
    );
    assert_eq!(calls.total(), 2 * calls_per_thread);
}

#[test]
fn a_storm_of_calls_cancellations_and_commands_is_counted_exactly_per_outcome() {
    // At least a million calls in all, on two threads, plus a third issuing commands.
    storm(Window::count(100), 500_000);
    storm(Window::time(std::time::Duration::from_secs(10)), 500_000);
}
