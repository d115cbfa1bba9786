//! The closed-circuit hot path of `fusebox-core`: `try_acquire` + `finish(Success)`.
//!
//! "two threads" runs the same loop on a second thread at the same time, on the same circuit;
//! the time reported is per call on each thread while both hammer it.

#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use fusebox_core::{Circuit, Outcome, Policy, Window};

fn circuit(window: Window) -> Circuit {
    let policy = Policy::builder()
        .window(window)
        .build()
        .expect("valid bench policy");
    Circuit::new("bench", policy)
}

fn one_call(circuit: &Circuit) {
    if let Ok(admission) = circuit.try_acquire() {
        admission.finish(black_box(Outcome::Success));
    }
}

fn closed_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("core_closed_acquire_finish");
    for (label, window) in [
        ("count_100", Window::count(100)),
        ("time_60s", Window::time(Duration::from_secs(60))),
    ] {
        let one = circuit(window);
        group.bench_function(format!("{label}/1_thread"), |b| b.iter(|| one_call(&one)));

        let shared = circuit(window);
        group.bench_function(format!("{label}/2_threads"), |b| {
            b.iter_custom(|iters| {
                let barrier = Barrier::new(2);
                std::thread::scope(|scope| {
                    scope.spawn(|| {
                        barrier.wait();
                        for _ in 0..iters {
                            one_call(&shared);
                        }
                    });
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        one_call(&shared);
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, closed_path);
criterion_main!(benches);
