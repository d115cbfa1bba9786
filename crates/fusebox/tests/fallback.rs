//! `Fallback` answers a breaker's rejections, and failed calls when asked, through whatever
//! tower middleware sits between them; what the circuit counts does not change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use fusebox::trip::failure_streak;
use fusebox::{
    BoxError, CallCounts, Circuit, CircuitBreakerLayer, Fallback, FallbackLayer, ManualClock,
    Policy, Rejected, Retry, State,
};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// Trips on the second failure in a row; probes after 30 s.
fn circuit() -> Circuit {
    let policy = Policy::builder()
        .trip(failure_streak(2))
        .retry(Retry::cooldown(Duration::from_secs(30)))
        .build()
        .unwrap();
    Circuit::builder("pricing")
        .policy(policy)
        .clock(ManualClock::new())
        .build()
}

/// Prices: 0 fails, anything else costs ten times its number. Counts the calls it gets.
fn pricing(
    calls: &Arc<AtomicUsize>,
) -> impl Service<u32, Response = u32, Error = std::io::Error, Future: Send> + Clone + use<> {
    let calls = calls.clone();
    service_fn(move |item: u32| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if item == 0 {
                Err(std::io::Error::other("price list unavailable"))
            } else {
                Ok(item * 10)
            }
        }
    })
}

/// `(success, failure, rejected)` counted by the circuit.
fn counted(circuit: &Circuit) -> (u64, u64, u64) {
    let CallCounts {
        success,
        failure,
        rejected,
        ..
    } = circuit.snapshot().calls;
    (success, failure, rejected)
}

#[tokio::test]
async fn rejected_calls_get_the_fallback_answer_and_never_reach_the_inner_service() {
    let circuit = circuit();
    let reached = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(FallbackLayer::new(|rejected: Rejected| {
            u32::try_from(rejected.retry_after().unwrap().as_secs()).unwrap()
        }))
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(pricing(&reached));

    assert_eq!(service.clone().oneshot(4).await.unwrap(), 40);
    for _ in 0..2 {
        let error = service.clone().oneshot(0).await.unwrap_err();
        assert_eq!(error.to_string(), "price list unavailable");
        assert!(error.is::<std::io::Error>(), "failed calls pass through");
    }
    assert_eq!(circuit.state(), State::Open);

    // The fallback answers with what the rejection says: 30 s until a probe.
    assert_eq!(service.oneshot(4).await.unwrap(), 30);
    assert_eq!(reached.load(Ordering::SeqCst), 3);
    assert_eq!(counted(&circuit), (1, 2, 1));
}

#[tokio::test]
async fn on_error_answers_failed_calls_which_the_circuit_still_counts_as_failures() {
    let circuit = circuit();
    let reached = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(
            FallbackLayer::new(|_: Rejected| 1).on_error(|error: BoxError| {
                assert_eq!(error.to_string(), "price list unavailable");
                2
            }),
        )
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(pricing(&reached));

    let answers = [
        service.clone().oneshot(3).await.unwrap(),
        service.clone().oneshot(0).await.unwrap(),
        service.clone().oneshot(0).await.unwrap(),
        service.clone().oneshot(3).await.unwrap(),
    ];
    assert_eq!(answers, [30, 2, 2, 1]);
    assert_eq!(circuit.state(), State::Open);
    assert_eq!(reached.load(Ordering::SeqCst), 3);
    assert_eq!(counted(&circuit), (1, 2, 1));
}

#[tokio::test]
async fn a_rejection_reaches_the_fallback_through_timeout_and_buffer() {
    let circuit = circuit();
    circuit.force_open();
    let reached = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(FallbackLayer::new(|rejected: Rejected| {
            assert_eq!(rejected.state(), State::ForcedOpen);
            7
        }))
        .buffer(4)
        .timeout(Duration::from_secs(1))
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(pricing(&reached));

    assert_eq!(service.oneshot(3).await.unwrap(), 7);
    assert_eq!(reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn errors_of_other_middleware_go_to_on_error_not_to_the_rejection_fallback() {
    tokio::time::pause();
    let circuit = circuit();
    let hangs = service_fn(|_: u32| std::future::pending::<Result<u32, std::io::Error>>());
    let service = ServiceBuilder::new()
        .layer(
            FallbackLayer::new(|_: Rejected| 1).on_error(|error: BoxError| {
                assert!(error.is::<tower::timeout::error::Elapsed>());
                2
            }),
        )
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .timeout(Duration::from_millis(100))
        .service(hangs);

    assert_eq!(service.oneshot(3).await.unwrap(), 2);
    assert_eq!(
        counted(&circuit),
        (0, 1, 0),
        "the timeout is the circuit's failure"
    );
}

/// An inner service that fails readiness.
#[derive(Clone, Debug)]
struct Broken;

impl Service<u32> for Broken {
    type Response = u32;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<u32, std::io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Err(std::io::Error::other("worker gone")))
    }

    fn call(&mut self, item: u32) -> Self::Future {
        std::future::ready(Ok(item))
    }
}

#[tokio::test]
async fn readiness_errors_are_not_answered() {
    let mut service = Fallback::new(Broken, |_: Rejected| 1).on_error(|_: BoxError| 2);
    let error = service.ready().await.unwrap_err();
    assert_eq!(error.to_string(), "worker gone");
}

#[test]
fn debug_names_the_inner_service_and_the_answers() {
    let service = Fallback::new(Broken, fusebox::fallback::PassThrough);
    assert_eq!(
        format!("{service:?}"),
        "Fallback { inner: Broken, on_rejected: \"fusebox::fallback::PassThrough\", \
         on_error: \"fusebox::fallback::PassThrough\" }"
    );
    let layer = FallbackLayer::new(0u8);
    assert_eq!(
        format!("{layer:?}"),
        "FallbackLayer { on_rejected: \"u8\", on_error: \"fusebox::fallback::PassThrough\" }"
    );
}

#[tokio::test]
async fn the_fallback_future_shows_whether_it_answered() {
    let mut service = Fallback::new(
        service_fn(|_: u32| async { Err::<u32, _>(std::io::Error::other("boom")) }),
        |_: Rejected| 1,
    )
    .on_error(|_: BoxError| 2);
    let future = service.ready().await.unwrap().call(0);
    assert_eq!(
        format!("{future:?}"),
        "FallbackFuture { answered: false, .. }"
    );
    assert_eq!(future.await.unwrap(), 2);
}
