//! The closed-circuit overhead of fusebox next to its Rust peers, in one criterion group
//! (`peers_closed_call`) so every entry is measured in the same run. Every call succeeds and
//! every circuit stays closed; one thread.
//!
//! Tower entries (same driving code for each): a trivial `service_fn` echoing its `u64`,
//! `poll_ready` then `call`, the future pinned on the stack and polled once with
//! [`Waker::noop`]; no runtime.
//!
//! - `bare`: the `service_fn` alone.
//! - `fusebox_layer`: behind `fusebox::CircuitBreakerLayer` with `Policy::default()`
//!   (count window of 100, trips at ≥ 50% failures once 100 calls are in).
//! - `tower_resilience_layer`: behind `tower_resilience_circuitbreaker::CircuitBreakerLayer`
//!   set to match: count-based window of 100, failure rate 0.5, minimum 100 calls. Its future
//!   is boxed and takes a `tokio::sync::Mutex` twice, but an uncontended tokio mutex resolves
//!   on the first poll without a runtime, and nothing on its closed path touches tokio time;
//!   so it is driven like the others, no runtime and no `bare_tokio` baseline needed. Every
//!   future here is checked to resolve on its first poll before anything is measured.
//!
//! Sync entries: a closure returning `black_box(x)`, called directly or through a breaker.
//!
//! - `bare_sync`: the closure alone.
//! - `fusebox_core_sync`: `Circuit::try_acquire` + `Admission::finish(Outcome::Success)` around
//!   it, `Policy::default()`.
//! - `failsafe_sync`: `failsafe::Config::new().build()` (its default policy: success rate over
//!   a time window, or else consecutive failures), `CircuitBreaker::call`.
//! - `recloser_sync`: `Recloser::default()` (ring buffer of 100, 50% error rate), `call`.

#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use fusebox::CircuitBreakerLayer;
use fusebox_core::{Circuit, Outcome, Policy};
use recloser::Recloser;
use tower::{Layer, Service, service_fn};
use tower_resilience_circuitbreaker::{CircuitBreakerLayer as ResilienceLayer, SlidingWindowType};

fn echo(x: u64) -> Ready<Result<u64, Infallible>> {
    ready(Ok(x))
}

/// Drives one call; `true` when it resolved to `Ok` on the first poll.
fn call<S: Service<u64>>(service: &mut S, x: u64) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    if let Poll::Ready(Ok(())) = service.poll_ready(&mut cx) {
        let future = pin!(service.call(black_box(x)));
        if let Poll::Ready(result) = future.poll(&mut cx) {
            return black_box(result.is_ok());
        }
    }
    false
}

/// Panics unless `service` completes calls on the first poll, so no entry is timing a
/// `Pending` path.
fn check<S: Service<u64>>(name: &str, service: &mut S) {
    for x in 0..1_000 {
        assert!(
            call(service, x),
            "{name}: call {x} did not resolve to Ok on its first poll"
        );
    }
}

fn one_sync_call(f: impl FnOnce() -> u64) -> u64 {
    f()
}

fn peers(c: &mut Criterion) {
    let mut group = c.benchmark_group("peers_closed_call");

    // Tower layers.
    let mut bare = service_fn(echo);
    check("bare", &mut bare);
    group.bench_function("bare", |b| b.iter(|| call(&mut bare, 7)));

    let mut fusebox_layer =
        CircuitBreakerLayer::new(Circuit::new("bench", Policy::default())).layer(service_fn(echo));
    check("fusebox_layer", &mut fusebox_layer);
    group.bench_function("fusebox_layer", |b| b.iter(|| call(&mut fusebox_layer, 7)));

    let resilience = ResilienceLayer::builder()
        .sliding_window_type(SlidingWindowType::CountBased)
        .sliding_window_size(100)
        .failure_rate_threshold(0.5)
        .minimum_number_of_calls(100)
        .build()
        .expect("valid tower-resilience config");
    let mut resilience_layer = resilience.layer(service_fn(echo));
    check("tower_resilience_layer", &mut resilience_layer);
    group.bench_function("tower_resilience_layer", |b| {
        b.iter(|| call(&mut resilience_layer, 7))
    });

    // Sync breakers.
    group.bench_function("bare_sync", |b| {
        b.iter(|| black_box(one_sync_call(|| black_box(7_u64))))
    });

    let circuit = Circuit::new("bench", Policy::default());
    group.bench_function("fusebox_core_sync", |b| {
        b.iter(|| {
            let admission = circuit.try_acquire().expect("closed circuit admits");
            let value = one_sync_call(|| black_box(7_u64));
            admission.finish(black_box(Outcome::Success));
            black_box(value)
        })
    });

    let failsafe = failsafe::Config::new().build();
    group.bench_function("failsafe_sync", |b| {
        b.iter(|| black_box(failsafe.call(|| Ok::<_, ()>(black_box(7_u64))).is_ok()))
    });

    let recloser = Recloser::default();
    group.bench_function("recloser_sync", |b| {
        b.iter(|| black_box(recloser.call(|| Ok::<_, ()>(black_box(7_u64))).is_ok()))
    });

    group.finish();

    assert!(
        failsafe.is_call_permitted(),
        "failsafe stayed closed throughout"
    );
    assert_eq!(
        circuit.state(),
        fusebox_core::State::Closed,
        "fusebox stayed closed throughout"
    );
}

criterion_group!(benches, peers);
criterion_main!(benches);
