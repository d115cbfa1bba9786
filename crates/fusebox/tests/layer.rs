//! The circuit breaker as a tower service: admission, classification, readiness, cancelled
//! and stale calls, and probe limits under load.
// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use fusebox::classify::{ClassifyExt, DefaultClassifier, Outcome, failure_when};
use fusebox::trip::{closed, failure_streak};
use fusebox::{
    BoxError, Circuit, CircuitBreaker, CircuitBreakerLayer, ManualClock, Permit, Policy, Rejected,
    Retry, State, Window,
};
use tower::{Layer, Service, ServiceExt, service_fn};

const COOLDOWN: Duration = Duration::from_secs(30);

fn circuit(clock: &ManualClock, policy: Policy) -> Circuit {
    Circuit::builder("backend")
        .policy(policy)
        .clock(clock.clone())
        .build()
}

/// Trips after `streak` failures in a row, probes after [`COOLDOWN`] with every call admitted,
/// closes after one successful probe.
fn streak_policy(streak: u64) -> Policy {
    Policy::builder()
        .trip(failure_streak(streak))
        .retry(Retry::cooldown(COOLDOWN))
        .permit(Permit::all())
        .build()
        .expect("valid policy")
}

/// A service answering each request with itself, counting the calls that reach it.
#[allow(clippy::type_complexity)]
fn echo(
    calls: &Arc<AtomicUsize>,
) -> impl Service<
    Result<u16, &'static str>,
    Response = u16,
    Error = &'static str,
    Future = std::future::Ready<Result<u16, &'static str>>,
> + Clone {
    let calls = calls.clone();
    service_fn(move |request: Result<u16, &'static str>| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(request)
    })
}

#[tokio::test]
async fn rejected_calls_never_reach_the_inner_service() {
    let clock = ManualClock::new();
    let circuit = circuit(&clock, streak_policy(3));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = CircuitBreakerLayer::new(circuit.clone()).layer(echo(&calls));

    for _ in 0..3 {
        let error = service.ready().await.unwrap().call(Err("down")).await;
        assert_eq!(error.unwrap_err().to_string(), "down");
    }
    assert_eq!(circuit.state(), State::Open);

    clock.advance(Duration::from_secs(10));
    for _ in 0..5 {
        let error = service
            .ready()
            .await
            .unwrap()
            .call(Ok(200))
            .await
            .unwrap_err();
        let rejected = error.downcast_ref::<Rejected>().expect("a rejection");
        assert_eq!(rejected.circuit(), "backend");
        assert_eq!(rejected.state(), State::Open);
        assert_eq!(rejected.retry_after(), Some(Duration::from_secs(20)));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn errors_are_failures_and_a_streak_trips_the_circuit() {
    let clock = ManualClock::new();
    let circuit = circuit(&clock, streak_policy(2));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = CircuitBreaker::new(echo(&calls), circuit.clone());

    let script = [Ok(200), Err("a"), Ok(200), Err("b")];
    for request in script {
        let _ = service.ready().await.unwrap().call(request).await;
        assert_eq!(circuit.state(), State::Closed);
    }
    let metrics = circuit.snapshot().metrics;
    assert_eq!((metrics.total(), metrics.failures()), (4, 2));
    assert_eq!(metrics.consecutive_failures(), 1);

    let _ = service.ready().await.unwrap().call(Err("c")).await;
    assert_eq!(circuit.state(), State::Open);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn closure_classifier_decides_what_counts() {
    let clock = ManualClock::new();
    let circuit = circuit(&clock, streak_policy(2));
    let calls = Arc::new(AtomicUsize::new(0));
    // Statuses from 500 fail, 404 does not count, errors do not count either.
    let classifier = |result: &Result<u16, &'static str>| match result {
        Ok(500..) => Outcome::Failure,
        Ok(404) | Err(_) => Outcome::Ignored,
        Ok(_) => Outcome::Success,
    };
    let mut service = CircuitBreakerLayer::new(circuit.clone())
        .classify(classifier)
        .layer(echo(&calls));

    for request in [
        Ok(200),
        Ok(404),
        Err("x"),
        Ok(503),
        Ok(404),
        Err("y"),
        Ok(201),
    ] {
        let _ = service.ready().await.unwrap().call(request).await;
    }
    let metrics = circuit.snapshot().metrics;
    assert_eq!(metrics.total(), 3);
    assert_eq!(metrics.failures(), 1);
    assert_eq!(metrics.successes(), 2);
    assert_eq!(circuit.state(), State::Closed);

    // Ignored calls between two failures leave the streak whole: the second 5xx trips.
    for request in [Ok(500), Ok(404), Err("z"), Ok(502)] {
        let _ = service.ready().await.unwrap().call(request).await;
    }
    assert_eq!(circuit.state(), State::Open);
    assert_eq!(calls.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn combined_classifiers_record_exact_outcomes() {
    let clock = ManualClock::new();
    let circuit = circuit(&clock, streak_policy(100));
    let calls = Arc::new(AtomicUsize::new(0));
    // Errors fail, and so do 5xx answers, except 503 which does not count.
    let server_error =
        failure_when(|result: &Result<u16, &'static str>| matches!(result, Ok(500..)));
    let unavailable = |result: &Result<u16, &'static str>| match result {
        Ok(503) => Outcome::Ignored,
        _ => Outcome::Success,
    };
    let mut service = CircuitBreakerLayer::new(circuit.clone())
        .classify(DefaultClassifier.or(server_error).or(unavailable))
        .layer(echo(&calls));

    let script = [Ok(200), Ok(500), Ok(503), Err("refused"), Ok(302), Ok(503)];
    for request in script {
        let _ = service.ready().await.unwrap().call(request).await;
    }
    let metrics = circuit.snapshot().metrics;
    assert_eq!((metrics.total(), metrics.failures()), (4, 2));

    // `not` and `and`: errors do not count; answers fail unless they are 2xx.
    circuit.reset();
    let two_xx = failure_when(|result: &Result<u16, &'static str>| matches!(result, Ok(200..300)));
    let errors_ignored = |result: &Result<u16, &'static str>| match result {
        Err(_) => Outcome::Ignored,
        Ok(_) => Outcome::Failure,
    };
    let mut service = CircuitBreakerLayer::new(circuit.clone())
        .classify(two_xx.not().and(errors_ignored))
        .layer(echo(&calls));
    for request in [Ok(200), Ok(404), Err("refused"), Ok(301), Ok(204)] {
        let _ = service.ready().await.unwrap().call(request).await;
    }
    let metrics = circuit.snapshot().metrics;
    assert_eq!((metrics.total(), metrics.failures()), (4, 2));
    assert_eq!(calls.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn poll_ready_stays_ready_while_the_circuit_is_open() {
    let clock = ManualClock::new();
    let circuit = circuit(&clock, streak_policy(1));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = CircuitBreakerLayer::new(circuit.clone()).layer(echo(&calls));
    let mut cx = Context::from_waker(Waker::noop());

    let _ = service.ready().await.unwrap().call(Err("down")).await;
    assert_eq!(circuit.state(), State::Open);
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    assert!(service.call(Ok(200)).await.unwrap_err().is::<Rejected>());

    circuit.force_open();
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    let error = service.call(Ok(200)).await.unwrap_err();
    let rejected = error.downcast_ref::<Rejected>();
    assert_eq!(rejected.map(Rejected::state), Some(State::ForcedOpen));
    assert_eq!(rejected.and_then(Rejected::retry_after), None);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn half_open_probe_dropped_releases_slot() {
    let clock = ManualClock::new();
    let policy = Policy::builder()
        .permit(Permit::all())
        .max_concurrent_probes(1)
        .build()
        .unwrap();
    let circuit = Circuit::builder("backend")
        .policy(policy)
        .clock(clock)
        .initial_state(State::HalfOpen)
        .build();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let mut service = CircuitBreaker::new(
        service_fn(move |()| {
            counted.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<Result<(), Infallible>>()
        }),
        circuit.clone(),
    );
    let mut cx = Context::from_waker(Waker::noop());

    let mut probe = Box::pin(service.call(()));
    assert!(
        probe.as_mut().poll(&mut cx).is_pending(),
        "the probe is mid-flight"
    );
    assert_eq!(circuit.snapshot().probes_in_flight, 1);

    let error = service.call(()).await.unwrap_err();
    assert_eq!(
        error.downcast_ref::<Rejected>().map(Rejected::state),
        Some(State::HalfOpen)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    drop(probe);
    let snapshot = circuit.snapshot();
    assert_eq!(snapshot.probes_in_flight, 0);
    assert_eq!(
        snapshot.metrics.total(),
        0,
        "a cancelled call records nothing"
    );
    assert_eq!(snapshot.state, State::HalfOpen);

    let next = pin!(service.call(()));
    assert!(next.poll(&mut cx).is_pending(), "the next call is admitted");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn stale_outcome_does_not_change_the_half_open_window() {
    let clock = ManualClock::new();
    let circuit = circuit(&clock, streak_policy(1));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = CircuitBreaker::new(echo(&calls), circuit.clone());

    // Admitted while closed; its result is only looked at below, after the circuit moved on.
    let slow = service.ready().await.unwrap().call(Err("slow failure"));
    let _ = service
        .ready()
        .await
        .unwrap()
        .call(Err("fast failure"))
        .await;
    assert_eq!(circuit.state(), State::Open);

    clock.advance(COOLDOWN);
    let probe = service.ready().await.unwrap().call(Ok(200));
    assert_eq!(circuit.state(), State::HalfOpen);

    assert_eq!(slow.await.unwrap_err().to_string(), "slow failure");
    let snapshot = circuit.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.metrics.total(), 0);
    assert_eq!(snapshot.probes_in_flight, 1);

    assert_eq!(probe.await.unwrap(), 200);
    assert_eq!(circuit.state(), State::Closed);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn call_duration_is_measured_from_call_to_completion() {
    let clock = ManualClock::new();
    let policy = Policy::builder().record_latency(true).build().unwrap();
    let circuit = circuit(&clock, policy);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = CircuitBreaker::new(echo(&calls), circuit.clone());

    let first = service.ready().await.unwrap().call(Ok(200));
    clock.advance(Duration::from_millis(250));
    let second = service.ready().await.unwrap().call(Err("late failure"));
    clock.advance(Duration::from_millis(100));
    assert_eq!(first.await.unwrap(), 200);
    assert!(second.await.is_err());

    let metrics = circuit.snapshot().metrics;
    assert_eq!((metrics.total(), metrics.failures()), (2, 1));
    assert_eq!(metrics.total_duration(), Duration::from_millis(450));
}

#[tokio::test]
async fn clones_share_one_circuit() {
    let clock = ManualClock::new();
    let circuit = circuit(&clock, streak_policy(2));
    let calls = Arc::new(AtomicUsize::new(0));
    let service = CircuitBreakerLayer::new(circuit.clone()).layer(echo(&calls));

    let _ = service.clone().oneshot(Err("a")).await;
    let _ = service.clone().oneshot(Err("b")).await;
    assert!(service.circuit().ptr_eq(&circuit));
    assert!(service.oneshot(Ok(200)).await.unwrap_err().is::<Rejected>());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// In-flight bookkeeping of the service under load.
#[derive(Default)]
struct Load {
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Until set, admitted calls wait.
    open: AtomicBool,
}

async fn run_calls<S>(service: &S, count: usize, rejected: &Arc<AtomicUsize>) -> (usize, usize)
where
    S: Service<(), Response = (), Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let service = service.clone();
            let rejected = rejected.clone();
            tokio::spawn(async move {
                let result = service.oneshot(()).await;
                if result.as_ref().is_err_and(|error| error.is::<Rejected>()) {
                    rejected.fetch_add(1, Ordering::SeqCst);
                }
                result.is_ok()
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap());
    }
    (admitted, count - admitted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_probes_never_exceed_the_limit_under_load() {
    const CALLS: usize = 4000;
    const PROBES: usize = 5;
    let policy = Policy::builder()
        .window(Window::count(2 * CALLS))
        .trip(closed() & failure_streak(1))
        .permit(Permit::all())
        .max_concurrent_probes(PROBES as u32)
        .close_after(u32::MAX)
        .build()
        .unwrap();
    let circuit = Circuit::builder("backend")
        .policy(policy)
        .clock(ManualClock::new())
        .initial_state(State::HalfOpen)
        .build();
    let load = Arc::new(Load::default());
    let inner = {
        let load = load.clone();
        service_fn(move |()| {
            let load = load.clone();
            async move {
                load.calls.fetch_add(1, Ordering::SeqCst);
                let now = load.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                load.max_in_flight.fetch_max(now, Ordering::SeqCst);
                while !load.open.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                load.in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Infallible>(())
            }
        })
    };
    let service = CircuitBreakerLayer::new(circuit.clone()).layer(inner);

    // Held calls: exactly PROBES get in, every other call is turned away at once.
    let rejected = Arc::new(AtomicUsize::new(0));
    let held = {
        let service = service.clone();
        let rejected = rejected.clone();
        tokio::spawn(async move { run_calls(&service, CALLS, &rejected).await })
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        while rejected.load(Ordering::SeqCst) < CALLS - PROBES {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("rejections arrive without waiting for the probes");
    assert_eq!(load.calls.load(Ordering::SeqCst), PROBES);
    assert_eq!(circuit.snapshot().probes_in_flight, PROBES as u32);
    load.open.store(true, Ordering::SeqCst);
    assert_eq!(held.await.unwrap(), (PROBES, CALLS - PROBES));
    assert_eq!(load.max_in_flight.load(Ordering::SeqCst), PROBES);

    // Free-running calls: slots are reused as probes finish, never more than PROBES at once.
    load.calls.store(0, Ordering::SeqCst);
    load.max_in_flight.store(0, Ordering::SeqCst);
    let rejected = Arc::new(AtomicUsize::new(0));
    let (admitted, turned_away) = run_calls(&service, CALLS, &rejected).await;
    assert_eq!(admitted + turned_away, CALLS);
    assert_eq!(rejected.load(Ordering::SeqCst), turned_away);
    assert_eq!(load.calls.load(Ordering::SeqCst), admitted);
    assert!(admitted >= 1, "some probes ran");
    let max = load.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=PROBES).contains(&max), "max in flight {max}");

    let snapshot = circuit.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.probes_in_flight, 0);
    assert_eq!(snapshot.metrics.total(), (PROBES + admitted) as u64);
    assert_eq!(snapshot.metrics.failures(), 0);
}
