//! Many threads on one circuit: probe limits hold, counts add up, one signal per transition.

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
