//! Properties of fusebox's engine that have no peer to compare with.
//!
//! `time_window_fill`: a `time(60s)` window's cost per call does not depend on how many calls
//! it holds. The window is filled with `n` successes within its minute first (on a manual
//! clock, so the fill stays in the window), then each measured call is one more success; the
//! default rule stays far from tripping, so evaluations are skipped by the stripe's budget.

#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark whose setup fails has nothing to measure"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fusebox::trip::{failure_rate, min_requests};
use fusebox::{Circuit, ManualClock, Outcome, Policy, State, Window};

fn time_window_fill(c: &mut Criterion) {
    let mut group = c.benchmark_group("time_window_fill");
    for filled in [1_000u64, 100_000, 1_000_000] {
        let clock = ManualClock::new();
        let circuit = Circuit::builder("bench")
            .policy(
                Policy::builder()
                    .window(Window::time(Duration::from_secs(60)))
                    .trip(min_requests(100) & failure_rate(0.5))
                    .build()
                    .expect("a valid bench policy"),
            )
            .clock(clock.clone())
            .build();
        for _ in 0..filled {
            circuit
                .try_acquire()
                .expect("closed")
                .finish(Outcome::Success);
        }
        group.bench_with_input(
            BenchmarkId::from_parameter(filled),
            &circuit,
            |b, circuit| {
                b.iter(|| {
                    if let Ok(admission) = circuit.try_acquire() {
                        admission.finish(black_box(Outcome::Success));
                    }
                })
            },
        );
        assert_eq!(circuit.state(), State::Closed);
        assert!(circuit.snapshot().metrics.total() >= filled);
    }
    group.finish();
}

criterion_group!(benches, time_window_fill);
criterion_main!(benches);
