//! fusebox next to its Rust peers, each group measured in one run, on the same policy shape:
//! a window of the last 100 calls tripping at a 50% failure rate once 100 calls are in (fusebox
//! `count(100)` and `min_requests(100) & failure_rate(0.5)`; recloser's ring of 100 at 0.5;
//! tower-resilience count-based, 100 calls, 0.5, minimum 100), and for time windows, the last 60
//! seconds (fusebox `time(60s)`; failsafe's success rate over a 60 s window with 100 requests
//! at least).
//!
//! Groups:
//! - `closed_call`: one thread, every call succeeds, every circuit stays closed.
//! - `closed_call_2_threads`: two threads started together on one circuit (each thread its own
//!   clone of the service); the time is per call on each thread while both run, so a perfect
//!   scaling shows the one-thread figure.
//! - `open_rejection`: the circuit is open with a long cooldown; every call is rejected.
//! - `floor`: what this machine can do at all: an atomic add on a line of one's own, and two
//!   threads adding to one shared line.
//!
//! Tower entries: a trivial `service_fn` echoing its `u64`, `poll_ready` then `call`, the future
//! pinned on the stack and polled once with [`Waker::noop`]; no runtime. tower-resilience's
//! future is boxed and takes an uncontended `tokio::sync::Mutex`, which resolves on the first
//! poll without a runtime. Every future is checked to resolve on its first poll before
//! anything is measured.

#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark whose setup fails has nothing to measure"
)]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use failsafe::CircuitBreaker as _;
use fusebox::trip::{failure_rate, failure_streak, min_requests};
use fusebox::{Circuit, CircuitBreakerLayer, Outcome, Policy, Retry, State, Window};
use recloser::Recloser;
use tower::{Layer, Service, service_fn};
use tower_resilience_circuitbreaker::{CircuitBreakerLayer as ResilienceLayer, SlidingWindowType};

const MINUTE: Duration = Duration::from_secs(60);

fn echo(x: u64) -> Ready<Result<u64, Infallible>> {
    ready(Ok(x))
}

fn fail(_: u64) -> Ready<Result<u64, std::io::Error>> {
    ready(Err(std::io::Error::other("down")))
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

/// Panics unless `service` resolves calls on the first poll to `expect_ok`.
fn check<S: Service<u64>>(name: &str, service: &mut S, expect_ok: bool) {
    for x in 0..1_000 {
        assert_eq!(
            call(service, x),
            expect_ok,
            "{name}: call {x} did not resolve as expected on its first poll"
        );
    }
}

fn fusebox_policy(window: Window) -> Policy {
    Policy::builder()
        .window(window)
        .trip(min_requests(100) & failure_rate(0.5))
        .retry(Retry::cooldown(MINUTE))
        .build()
        .expect("a valid bench policy")
}

fn fusebox_circuit(window: Window) -> Circuit {
    Circuit::new("bench", fusebox_policy(window))
}

fn recloser() -> Recloser {
    Recloser::custom()
        .error_rate(0.5)
        .closed_len(100)
        .open_wait(MINUTE)
        .build()
}

type Failsafe = failsafe::StateMachine<
    failsafe::failure_policy::SuccessRateOverTimeWindow<failsafe::backoff::Constant>,
    (),
>;

fn failsafe() -> Failsafe {
    failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::success_rate_over_time_window(
            0.5,
            100,
            MINUTE,
            failsafe::backoff::constant(MINUTE),
        ))
        .build()
}

/// A tower-resilience layer whose services all share one circuit (`build_with_handle`; with
/// `build`, every service it makes would have a circuit of its own).
fn resilience() -> ResilienceLayer {
    ResilienceLayer::builder()
        .sliding_window_type(SlidingWindowType::CountBased)
        .sliding_window_size(100)
        .failure_rate_threshold(0.5)
        .minimum_number_of_calls(100)
        .wait_duration_in_open(MINUTE)
        .build_with_handle()
        .expect("a valid tower-resilience config")
        .0
}

/// Runs `work(iters)` on two threads released together; the time of the first thread.
fn two_threads(iters: u64, work: impl Fn(u64) + Sync) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            barrier.wait();
            work(iters);
        });
        barrier.wait();
        let start = Instant::now();
        work(iters);
        start.elapsed()
    })
}

fn sync_call_fusebox(circuit: &Circuit) -> bool {
    match circuit.try_acquire() {
        Ok(admission) => {
            admission.finish(black_box(Outcome::Success));
            true
        }
        Err(_) => false,
    }
}

fn closed_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("closed_call");
    group.bench_function("bare_sync", |b| b.iter(|| black_box(7_u64)));

    let count = fusebox_circuit(Window::count(100));
    group.bench_function("fusebox_sync_count_100", |b| {
        b.iter(|| sync_call_fusebox(&count))
    });
    let time = fusebox_circuit(Window::time(MINUTE));
    group.bench_function("fusebox_sync_time_60s", |b| {
        b.iter(|| sync_call_fusebox(&time))
    });
    let recloser = recloser();
    group.bench_function("recloser_sync", |b| {
        b.iter(|| black_box(recloser.call(|| Ok::<_, ()>(black_box(7_u64))).is_ok()))
    });
    let failsafe = failsafe();
    group.bench_function("failsafe_sync", |b| {
        b.iter(|| black_box(failsafe.call(|| Ok::<_, ()>(black_box(7_u64))).is_ok()))
    });

    let mut bare = service_fn(echo);
    check("bare", &mut bare, true);
    group.bench_function("bare_layer", |b| b.iter(|| call(&mut bare, 7)));
    let mut layered =
        CircuitBreakerLayer::new(fusebox_circuit(Window::count(100))).layer(service_fn(echo));
    check("fusebox_layer", &mut layered, true);
    group.bench_function("fusebox_layer", |b| b.iter(|| call(&mut layered, 7)));
    let mut resilient = resilience().layer(service_fn(echo));
    check("tower_resilience_layer", &mut resilient, true);
    group.bench_function("tower_resilience_layer", |b| {
        b.iter(|| call(&mut resilient, 7))
    });
    group.finish();

    assert_eq!(count.state(), State::Closed);
    assert_eq!(time.state(), State::Closed);
    assert!(failsafe.is_call_permitted());
}

fn closed_call_2_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("closed_call_2_threads");
    for (label, window) in [
        ("fusebox_sync_count_100", Window::count(100)),
        ("fusebox_sync_time_60s", Window::time(MINUTE)),
    ] {
        let circuit = fusebox_circuit(window);
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                two_threads(iters, |n| {
                    for _ in 0..n {
                        sync_call_fusebox(&circuit);
                    }
                })
            })
        });
    }
    let recloser = recloser();
    group.bench_function("recloser_sync", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, |n| {
                for _ in 0..n {
                    black_box(recloser.call(|| Ok::<_, ()>(black_box(7_u64))).is_ok());
                }
            })
        })
    });
    let failsafe = failsafe();
    group.bench_function("failsafe_sync", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, |n| {
                for _ in 0..n {
                    black_box(failsafe.call(|| Ok::<_, ()>(black_box(7_u64))).is_ok());
                }
            })
        })
    });
    let layer = CircuitBreakerLayer::new(fusebox_circuit(Window::count(100)));
    group.bench_function("fusebox_layer", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, |n| {
                let mut service = layer.layer(service_fn(echo));
                for _ in 0..n {
                    call(&mut service, 7);
                }
            })
        })
    });
    let resilience = resilience();
    group.bench_function("tower_resilience_layer", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, |n| {
                let mut service = resilience.layer(service_fn(echo));
                for _ in 0..n {
                    call(&mut service, 7);
                }
            })
        })
    });
    group.finish();
}

fn open_rejection(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_rejection");
    let open = Circuit::new(
        "bench",
        Policy::builder()
            .trip(failure_streak(1))
            .retry(Retry::cooldown(Duration::from_secs(3600)))
            .build()
            .expect("a valid bench policy"),
    );
    open.try_acquire().expect("closed").finish(Outcome::Failure);
    assert_eq!(open.state(), State::Open);
    group.bench_function("fusebox_sync", |b| {
        b.iter(|| black_box(open.try_acquire().is_err()))
    });
    group.bench_function("fusebox_sync_2_threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, |n| {
                for _ in 0..n {
                    black_box(open.try_acquire().is_err());
                }
            })
        })
    });
    let recloser = recloser();
    for _ in 0..100 {
        let _ = recloser.call(|| Err::<u64, ()>(()));
    }
    group.bench_function("recloser_sync", |b| {
        b.iter(|| black_box(recloser.call(|| Ok::<_, ()>(black_box(7_u64))).is_err()))
    });

    let mut layered = CircuitBreakerLayer::new(open.clone()).layer(service_fn(echo));
    check("fusebox_layer", &mut layered, false);
    group.bench_function("fusebox_layer", |b| b.iter(|| call(&mut layered, 7)));
    let mut resilient = resilience().layer(service_fn(fail));
    for x in 0..100 {
        call(&mut resilient, x);
    }
    check("tower_resilience_layer", &mut resilient, false);
    group.bench_function("tower_resilience_layer", |b| {
        b.iter(|| call(&mut resilient, 7))
    });
    group.finish();
}

fn floor(c: &mut Criterion) {
    let mut group: BenchmarkGroup<'_, WallTime> = c.benchmark_group("floor");
    let own = AtomicU64::new(0);
    group.bench_function("atomic_add_own_line", |b| {
        b.iter(|| own.fetch_add(1, Ordering::Relaxed))
    });
    let shared = AtomicU64::new(0);
    group.bench_function("atomic_add_shared_line_2_threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, |n| {
                for _ in 0..n {
                    shared.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
    });
    let clock = std::time::Instant::now();
    group.bench_function("instant_now", |b| b.iter(|| black_box(clock.elapsed())));
    let system = fusebox::SystemClock::new();
    group.bench_function("fusebox_system_clock_now", |b| {
        b.iter(|| black_box(fusebox::Clock::now(&system)))
    });
    group.finish();
}

criterion_group!(
    benches,
    closed_call,
    closed_call_2_threads,
    open_rejection,
    floor
);
criterion_main!(benches);
