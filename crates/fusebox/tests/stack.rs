//! The breaker in tower stacks: inside and outside `timeout`, `Buffer`, `LoadShed`,
//! `ConcurrencyLimit` and `retry`, with no `map_err`. Its error is a `BoxError` like every tower
//! middleware's; a rejection comes back out with `downcast_ref::<Rejected>()` and the inner
//! service's error keeps its own type inside the box.
// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use fusebox::classify::Outcome;
use fusebox::trip::failure_streak;
use fusebox::{
    BoxError, Circuit, CircuitBreakerLayer, ManualClock, Policy, Rejected, Retry, State,
};
use tower::buffer::BufferLayer;
use tower::limit::ConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::load_shed::error::Overloaded;
use tower::retry::RetryLayer;
use tower::timeout::error::Elapsed;
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn};

const COOLDOWN: Duration = Duration::from_secs(30);

/// Trips on the `streak`th failure in a row, probes after [`COOLDOWN`].
fn circuit(streak: u64) -> Circuit {
    let policy = Policy::builder()
        .trip(failure_streak(streak))
        .retry(Retry::cooldown(COOLDOWN))
        .build()
        .unwrap();
    Circuit::builder("backend")
        .policy(policy)
        .clock(ManualClock::new())
        .build()
}

/// What a request asks the inner service to do.
#[derive(Clone, Copy, Debug)]
enum Do {
    Answer(u16),
    Fail,
    Hang,
}

/// A service doing what each request says, counting the calls that reach it. Its error is an
/// `io::Error`, a concrete type the tests find again inside the box.
#[allow(clippy::type_complexity)]
fn backend(
    calls: &Arc<AtomicUsize>,
) -> impl Service<Do, Response = u16, Error = std::io::Error, Future: Send> + Clone + Send + use<> {
    let calls = calls.clone();
    service_fn(move |request: Do| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            match request {
                Do::Answer(status) => Ok(status),
                Do::Fail => Err(std::io::Error::other("backend down")),
                Do::Hang => std::future::pending().await,
            }
        }
    })
}

/// `ready`, then `call` on the same handle.
async fn call<S: Service<Do>>(service: &mut S, request: Do) -> Result<S::Response, S::Error> {
    service.ready().await?.call(request).await
}

fn rejection(error: &BoxError) -> Option<(State, Option<Duration>)> {
    error
        .downcast_ref::<Rejected>()
        .map(|rejected| (rejected.state(), rejected.retry_after()))
}

fn io_error(error: &BoxError) -> Option<String> {
    error
        .downcast_ref::<std::io::Error>()
        .map(ToString::to_string)
}

#[tokio::test(start_paused = true)]
async fn timeout_around_breaker_around_timeout_compiles_and_recovers_each_error() {
    // The stack of the issue: `Timeout<CircuitBreaker<Timeout<_>>>`.
    let circuit = circuit(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = ServiceBuilder::new()
        .timeout(Duration::from_secs(10))
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .timeout(Duration::from_millis(100))
        .service(backend(&calls));

    assert_eq!(call(&mut service, Do::Answer(200)).await.unwrap(), 200);
    let error = call(&mut service, Do::Fail).await.unwrap_err();
    assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    let error = call(&mut service, Do::Hang).await.unwrap_err();
    assert!(error.is::<Elapsed>(), "the inner timeout: {error}");
    assert_eq!(circuit.state(), State::Open);

    let error = service.oneshot(Do::Answer(200)).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn breaker_outside_timeout_counts_each_timeout_as_a_failure() {
    let circuit = circuit(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .timeout(Duration::from_millis(100))
        .service(backend(&calls));

    for _ in 0..2 {
        let error = service.clone().oneshot(Do::Hang).await.unwrap_err();
        assert!(error.is::<Elapsed>(), "{error}");
    }
    let snapshot = circuit.snapshot();
    assert_eq!((snapshot.state, snapshot.calls.failure), (State::Open, 2));
    let error = service.oneshot(Do::Answer(200)).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn breaker_inside_timeout_rejects_at_once_without_waiting_for_it() {
    let circuit = circuit(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .timeout(Duration::from_millis(100))
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(backend(&calls));

    let error = service.clone().oneshot(Do::Hang).await.unwrap_err();
    assert!(error.is::<Elapsed>(), "{error}");
    let snapshot = circuit.snapshot();
    assert_eq!(
        (
            snapshot.state,
            snapshot.calls.failure,
            snapshot.metrics.total()
        ),
        (State::Closed, 0, 0),
        "a call the outer timeout cancels is not a failure"
    );

    circuit.force_open();
    let started = tokio::time::Instant::now();
    let error = service.oneshot(Do::Hang).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::ForcedOpen, None)));
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn breaker_inside_buffer_rejection_crosses_the_worker_task() {
    let circuit = circuit(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(BufferLayer::new(8))
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(backend(&calls));

    let error = service.clone().oneshot(Do::Fail).await.unwrap_err();
    assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    let error = service.oneshot(Do::Answer(200)).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn breaker_outside_buffer_counts_inner_errors_and_rejects() {
    let circuit = circuit(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .buffer(8)
        .service(backend(&calls));

    assert_eq!(service.clone().oneshot(Do::Answer(204)).await.unwrap(), 204);
    let error = service.clone().oneshot(Do::Fail).await.unwrap_err();
    assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    let error = service.oneshot(Do::Answer(200)).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    let calls_seen = circuit.snapshot().calls;
    assert_eq!(
        (calls_seen.success, calls_seen.failure, calls_seen.rejected),
        (1, 1, 1)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A service that is never ready: `LoadShed` sheds every call to it.
#[derive(Clone, Debug)]
struct NeverReady;

impl Service<Do> for NeverReady {
    type Response = u16;
    type Error = std::io::Error;
    type Future = Ready<Result<u16, std::io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Pending
    }

    fn call(&mut self, _: Do) -> Self::Future {
        unreachable!("LoadShed never calls a service that is not ready")
    }
}

#[tokio::test]
async fn breaker_inside_load_shed_sheds_before_the_circuit_and_rejects_through_it() {
    let circuit = circuit(1);
    let shed = ServiceBuilder::new()
        .layer(LoadShedLayer::new())
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(NeverReady);
    let error = shed.oneshot(Do::Answer(200)).await.unwrap_err();
    assert!(error.is::<Overloaded>(), "{error}");
    assert_eq!(
        circuit.snapshot().calls,
        fusebox::CallCounts::default(),
        "a shed call never reached the circuit"
    );

    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .load_shed()
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(backend(&calls));
    circuit.force_open();
    let error = service.oneshot(Do::Answer(200)).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::ForcedOpen, None)));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn breaker_outside_load_shed_sees_the_typed_overload_before_boxing() {
    let circuit = circuit(1);
    // Shedding is this process's own doing, not the backend's: it does not count.
    let classifier = |result: &Result<u16, BoxError>| match result {
        Ok(_) => Outcome::Success,
        Err(error) if error.is::<Overloaded>() => Outcome::Ignored,
        Err(_) => Outcome::Failure,
    };
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(circuit.clone()).classify(classifier))
        .load_shed()
        .service(NeverReady);

    for _ in 0..3 {
        let error = service.clone().oneshot(Do::Answer(200)).await.unwrap_err();
        assert!(error.is::<Overloaded>(), "not boxed twice: {error}");
    }
    let snapshot = circuit.snapshot();
    assert_eq!(
        (
            snapshot.state,
            snapshot.calls.ignored,
            snapshot.calls.failure
        ),
        (State::Closed, 3, 0)
    );
}

#[tokio::test]
async fn breaker_inside_concurrency_limit_rejects_and_frees_the_slot() {
    let circuit = circuit(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(1))
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(backend(&calls));

    let error = call(&mut service, Do::Fail).await.unwrap_err();
    assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    for _ in 0..3 {
        // With one slot, a rejection that kept it would leave the next `ready` pending forever.
        let error = call(&mut service, Do::Answer(200)).await.unwrap_err();
        assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn breaker_outside_concurrency_limit_counts_and_rejects() {
    let circuit = circuit(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .concurrency_limit(1)
        .service(backend(&calls));

    for _ in 0..2 {
        let error = call(&mut service, Do::Fail).await.unwrap_err();
        assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    }
    let error = call(&mut service, Do::Answer(200)).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// Retries failed calls up to `attempts` more times, but never a rejection: an open circuit
/// answers at once, and retrying it only burns the attempts.
#[derive(Clone, Debug)]
struct RetryFailures {
    attempts: usize,
}

impl RetryFailures {
    fn again(&mut self, rejected: bool) -> Option<Ready<()>> {
        if rejected || self.attempts == 0 {
            return None;
        }
        self.attempts -= 1;
        Some(ready(()))
    }
}

/// Above the breaker: the policy sees its boxed error.
impl<Req: Clone, Res> tower::retry::Policy<Req, Res, BoxError> for RetryFailures {
    type Future = Ready<()>;

    fn retry(&mut self, _: &mut Req, result: &mut Result<Res, BoxError>) -> Option<Ready<()>> {
        let error = result.as_ref().err()?;
        self.again(error.is::<Rejected>())
    }

    fn clone_request(&mut self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }
}

/// Below the breaker: the policy sees the backend's own error.
impl<Req: Clone, Res> tower::retry::Policy<Req, Res, std::io::Error> for RetryFailures {
    type Future = Ready<()>;

    fn retry(
        &mut self,
        _: &mut Req,
        result: &mut Result<Res, std::io::Error>,
    ) -> Option<Ready<()>> {
        result.as_ref().err()?;
        self.again(false)
    }

    fn clone_request(&mut self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }
}

#[tokio::test]
async fn breaker_inside_retry_counts_each_attempt_and_stops_retrying_when_rejected() {
    let circuit = circuit(5);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(RetryLayer::new(RetryFailures { attempts: 2 }))
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .service(backend(&calls));

    // One call, three attempts, three failures.
    let error = service.clone().oneshot(Do::Fail).await.unwrap_err();
    assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    assert_eq!(circuit.snapshot().calls.failure, 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // The fifth failure trips the circuit; the third attempt is rejected and not retried.
    let error = service.oneshot(Do::Fail).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    let snapshot = circuit.snapshot();
    assert_eq!((snapshot.calls.failure, snapshot.calls.rejected), (5, 1));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn breaker_outside_retry_counts_one_outcome_per_call() {
    let circuit = circuit(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .layer(RetryLayer::new(RetryFailures { attempts: 2 }))
        .service(backend(&calls));

    let error = service.clone().oneshot(Do::Fail).await.unwrap_err();
    assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    let snapshot = circuit.snapshot();
    assert_eq!((snapshot.state, snapshot.calls.failure), (State::Closed, 1));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the retries ran under one call"
    );

    let _ = service.clone().oneshot(Do::Fail).await;
    let error = service.oneshot(Do::Fail).await.unwrap_err();
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

/// What an application does with the breaker's error: `?` into the usual boxed error.
async fn fetch<S>(service: S, request: Do) -> Result<u16, Box<dyn std::error::Error + Send + Sync>>
where
    S: Service<Do, Response = u16, Error = BoxError>,
{
    let status = service.oneshot(request).await?;
    Ok(status)
}

#[tokio::test]
async fn question_mark_boxes_rejections_and_inner_errors() {
    let circuit = circuit(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = CircuitBreakerLayer::new(circuit.clone()).layer(backend(&calls));

    assert_eq!(fetch(service.clone(), Do::Answer(201)).await.unwrap(), 201);
    let error = fetch(service.clone(), Do::Fail).await.unwrap_err();
    assert_eq!(io_error(&error).as_deref(), Some("backend down"));
    let error = fetch(service, Do::Answer(201)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "circuit 'backend' is open and rejected the call; retry after 30.000s"
    );
    assert_eq!(rejection(&error), Some((State::Open, Some(COOLDOWN))));
}
