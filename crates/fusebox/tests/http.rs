//! The circuit breaker over real sockets on 127.0.0.1: an axum server answering 503 itself, and
//! hyper and reqwest clients tripping on 5xx answers and transport errors.
#![cfg(feature = "http")]
// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::header::RETRY_AFTER;
use axum::http::{Request, Response, StatusCode, Uri};
use axum::routing::{MethodRouter, get};
use fusebox::classify::HttpClassifier;
use fusebox::trip::failure_streak;
use fusebox::{
    CallCounts, Circuit, CircuitBreakerLayer, ManualClock, Permit, Policy, Rejected,
    Respond503Layer, Retry, State,
};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, Service, ServiceExt, service_fn};

const COOLDOWN: Duration = Duration::from_secs(30);

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn streak_circuit(clock: &ManualClock, streak: u64) -> Circuit {
    named_streak_circuit("upstream", clock, streak)
}

fn named_streak_circuit(name: &str, clock: &ManualClock, streak: u64) -> Circuit {
    let policy = Policy::builder()
        .trip(failure_streak(streak))
        .retry(Retry::cooldown(COOLDOWN))
        .permit(Permit::all())
        .build()
        .unwrap();
    Circuit::builder(name)
        .policy(policy)
        .clock(clock.clone())
        .build()
}

/// A handler that answers 500 while `failing`, 200 otherwise.
#[derive(Default)]
struct Flaky {
    failing: AtomicBool,
    hits: AtomicUsize,
    /// Whether a request arrived while the circuit was half-open (a probe).
    saw_half_open: AtomicBool,
}

impl Flaky {
    fn route(self: &Arc<Self>, circuit: &Circuit) -> MethodRouter {
        let (flaky, circuit) = (self.clone(), circuit.clone());
        get(move || {
            let (flaky, circuit) = (flaky.clone(), circuit.clone());
            async move {
                flaky.hits.fetch_add(1, Ordering::SeqCst);
                if circuit.state() == State::HalfOpen {
                    flaky.saw_half_open.store(true, Ordering::SeqCst);
                }
                if flaky.failing.load(Ordering::SeqCst) {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        })
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

fn uri(addr: SocketAddr, path: &str) -> Uri {
    format!("http://{addr}{path}").parse().unwrap()
}

/// Status and `Retry-After` of a GET.
async fn get_status(client: &HttpClient, addr: SocketAddr, path: &str) -> (u16, Option<String>) {
    let response = client.get(uri(addr, path)).await.unwrap();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .map(|value| value.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

fn breaker_503(circuit: &Circuit) -> Respond503Layer<HttpClassifier> {
    CircuitBreakerLayer::new(circuit.clone())
        .classify(HttpClassifier::server_errors())
        .respond_503()
}

/// Drives `/flaky` closed → open → half_open → closed; `/health` answers 200 and is guarded
/// only when `health_guarded`.
async fn closed_open_half_open_closed(
    app: Router,
    clock: ManualClock,
    circuit: Circuit,
    flaky: Arc<Flaky>,
    health_guarded: bool,
) {
    let addr = serve(app).await;
    let client = http_client();

    flaky.failing.store(true, Ordering::SeqCst);
    assert_eq!(get_status(&client, addr, "/flaky").await, (500, None));
    assert_eq!(circuit.state(), State::Closed);
    assert_eq!(get_status(&client, addr, "/flaky").await, (500, None));
    assert_eq!(circuit.state(), State::Open);

    assert_eq!(
        get_status(&client, addr, "/flaky").await,
        (503, Some("30".to_owned()))
    );
    let health = if health_guarded { 503 } else { 200 };
    assert_eq!(get_status(&client, addr, "/health").await.0, health);
    clock.advance(Duration::from_millis(12_500));
    assert_eq!(
        get_status(&client, addr, "/flaky").await,
        (503, Some("18".to_owned()))
    );
    assert_eq!(flaky.hits(), 2, "rejected requests never reach the handler");
    assert_eq!(circuit.state(), State::Open);

    clock.advance(Duration::from_millis(17_500));
    flaky.failing.store(false, Ordering::SeqCst);
    assert_eq!(get_status(&client, addr, "/flaky").await, (200, None));
    assert!(
        flaky.saw_half_open.load(Ordering::SeqCst),
        "the probe ran half-open"
    );
    assert_eq!(circuit.state(), State::Closed);
    assert_eq!(flaky.hits(), 3);

    circuit.force_open();
    let response = client.get(uri(addr, "/flaky")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers().get(RETRY_AFTER).is_none(),
        "forced open: no retry time known"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty());
    assert_eq!(flaky.hits(), 3);
}

#[tokio::test]
async fn router_layer_answers_503_with_retry_after_until_a_probe_recovers() {
    let clock = ManualClock::new();
    let circuit = streak_circuit(&clock, 2);
    let flaky = Arc::new(Flaky::default());
    let app = Router::new()
        .route("/flaky", flaky.route(&circuit))
        .route("/health", get(|| async { "ok" }))
        .layer(breaker_503(&circuit));
    closed_open_half_open_closed(app, clock, circuit, flaky, true).await;
}

#[tokio::test]
async fn route_layer_guards_only_the_routes_before_it() {
    let clock = ManualClock::new();
    let circuit = streak_circuit(&clock, 2);
    let flaky = Arc::new(Flaky::default());
    let app = Router::new()
        .route("/flaky", flaky.route(&circuit))
        .route_layer(breaker_503(&circuit))
        .route("/health", get(|| async { "ok" }));
    closed_open_half_open_closed(app, clock, circuit, flaky, false).await;
}

#[tokio::test]
async fn respond_503_keeps_the_inner_error_type() {
    let clock = ManualClock::new();
    let circuit = streak_circuit(&clock, 1);
    let inner = service_fn(|request: Request<()>| async move {
        match request.uri().path() {
            "/refused" => Err(std::io::Error::other("connection refused")),
            _ => Ok(Response::new(String::from("hello"))),
        }
    });
    let mut service = breaker_503(&circuit).layer(inner);

    let response = service.ready().await.unwrap().call(Request::new(())).await;
    assert_eq!(response.unwrap().body(), "hello");
    let refused = Request::builder().uri("/refused").body(()).unwrap();
    let error = service
        .ready()
        .await
        .unwrap()
        .call(refused)
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "connection refused");
    assert_eq!(circuit.state(), State::Open, "an inner error is a failure");

    clock.advance(Duration::from_millis(29_001));
    let response = service
        .ready()
        .await
        .unwrap()
        .call(Request::new(()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(response.body(), "");
    assert!(service.circuit().ptr_eq(&circuit));
}

/// A server whose every answer is `status`, counting requests.
async fn fixed_status_server(hits: &Arc<AtomicUsize>) -> SocketAddr {
    let hits = hits.clone();
    let app = Router::new().route(
        "/{status}",
        get(
            move |axum::extract::Path(status): axum::extract::Path<u16>| {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    StatusCode::from_u16(status).unwrap()
                }
            },
        ),
    );
    serve(app).await
}

/// A 127.0.0.1 address nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn hyper_client_trips_on_server_errors() {
    let clock = ManualClock::new();
    let circuit = streak_circuit(&clock, 3);
    let hits = Arc::new(AtomicUsize::new(0));
    let addr = fixed_status_server(&hits).await;
    let mut client = CircuitBreakerLayer::new(circuit.clone())
        .classify(HttpClassifier::server_errors())
        .layer(http_client());

    for status in [500, 404, 500, 502] {
        let request = Request::get(uri(addr, &format!("/{status}")))
            .body(Empty::new())
            .unwrap();
        let response = client.ready().await.unwrap().call(request).await.unwrap();
        assert_eq!(response.status().as_u16(), status);
    }
    assert_eq!(
        circuit.state(),
        State::Closed,
        "404 is a success and broke the streak"
    );
    assert_eq!(circuit.snapshot().metrics.consecutive_failures(), 2);

    let request = Request::get(uri(addr, "/503")).body(Empty::new()).unwrap();
    let response = client.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(circuit.state(), State::Open);

    let request = Request::get(uri(addr, "/200")).body(Empty::new()).unwrap();
    let error = client
        .ready()
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap_err();
    let rejected = error.downcast_ref::<Rejected>().expect("a rejection");
    assert_eq!(rejected.retry_after(), Some(COOLDOWN));
    assert_eq!(hits.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn hyper_client_transport_errors_are_failures() {
    let clock = ManualClock::new();
    let circuit = streak_circuit(&clock, 2);
    let addr = closed_port().await;
    let mut client = CircuitBreakerLayer::new(circuit.clone())
        .classify(HttpClassifier::server_errors())
        .layer(http_client());

    for _ in 0..2 {
        let request = Request::get(uri(addr, "/")).body(Empty::new()).unwrap();
        let error = client
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap_err();
        let error = error.downcast_ref::<hyper_util::client::legacy::Error>();
        assert!(error.is_some_and(|error| error.is_connect()), "{error:?}");
    }
    assert_eq!(circuit.state(), State::Open);
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_client_trips_on_server_errors_and_transport_errors() {
    let clock = ManualClock::new();
    let circuit = streak_circuit(&clock, 3);
    let hits = Arc::new(AtomicUsize::new(0));
    let up = fixed_status_server(&hits).await;
    let down = closed_port().await;
    let reqwest = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut client = CircuitBreakerLayer::new(circuit.clone())
        .classify(HttpClassifier::server_errors())
        .layer(reqwest.clone());
    let request =
        |addr: SocketAddr, path: &str| reqwest.get(format!("http://{addr}{path}")).build().unwrap();

    let response = client
        .ready()
        .await
        .unwrap()
        .call(request(up, "/500"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let response = client
        .ready()
        .await
        .unwrap()
        .call(request(up, "/200"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(circuit.snapshot().metrics.consecutive_failures(), 0);

    let response = client
        .ready()
        .await
        .unwrap()
        .call(request(up, "/504"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let error = client
        .ready()
        .await
        .unwrap()
        .call(request(down, "/"))
        .await
        .unwrap_err();
    let error = error.downcast_ref::<reqwest::Error>();
    assert!(error.is_some_and(reqwest::Error::is_connect), "{error:?}");
    assert_eq!(circuit.state(), State::Closed);
    let response = client
        .ready()
        .await
        .unwrap()
        .call(request(up, "/500"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(circuit.state(), State::Open);

    let error = client
        .ready()
        .await
        .unwrap()
        .call(request(up, "/200"))
        .await
        .unwrap_err();
    assert_eq!(
        error.downcast_ref::<Rejected>().map(Rejected::state),
        Some(State::Open)
    );
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn infallible_router_error_stays_infallible() {
    // Compile-time check made concrete: the 503 service's error is the router's.
    let clock = ManualClock::new();
    let circuit = streak_circuit(&clock, 1);
    let router: Router = Router::new().route("/", get(|| async { "ok" }));
    let service = breaker_503(&circuit).layer(router);
    circuit.force_open();
    let response: Result<Response<axum::body::Body>, Infallible> = service
        .oneshot(Request::new(axum::body::Body::empty()))
        .await;
    let Ok(response) = response;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// An outer circuit (`route`) around an inner one (`upstream`), both in the 503 mode, around a
/// handler answering 200.
fn nested(
    route: HttpClassifier,
    clock: &ManualClock,
) -> (
    impl Service<Request<()>, Response = Response<String>, Error = Infallible, Future: Send>
    + Clone
    + use<>,
    Circuit,
    Circuit,
) {
    let outer = named_streak_circuit("route", clock, 3);
    let inner = named_streak_circuit("upstream", clock, 3);
    let handler = service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::from("in stock")))
    });
    let service = CircuitBreakerLayer::new(outer.clone())
        .classify(route)
        .respond_503()
        .layer(breaker_503(&inner).layer(handler));
    (service, outer, inner)
}

#[tokio::test]
async fn outer_circuit_ignores_the_503s_of_an_inner_forced_open_circuit() {
    let clock = ManualClock::new();
    let (service, outer, inner) = nested(HttpClassifier::server_errors(), &clock);

    inner.force_open();
    for _ in 0..5 {
        let Ok(response) = service.clone().oneshot(Request::new(())).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let rejected = response.extensions().get::<Rejected>().expect("marked");
        assert_eq!(
            (rejected.circuit(), rejected.state()),
            ("upstream", State::ForcedOpen)
        );
    }
    let only = |ignored, rejected| CallCounts {
        ignored,
        rejected,
        ..CallCounts::default()
    };
    assert_eq!(outer.snapshot().calls, only(5, 0));
    assert_eq!(outer.state(), State::Closed);
    assert_eq!(inner.snapshot().calls, only(0, 5));

    inner.reset();
    let Ok(response) = service.oneshot(Request::new(())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<Rejected>().is_none());
    assert_eq!(outer.snapshot().calls.success, 1);
}

#[tokio::test]
async fn outer_circuit_counting_rejections_trips_on_an_inner_open_circuit() {
    let clock = ManualClock::new();
    let (service, outer, inner) =
        nested(HttpClassifier::server_errors().count_rejections(), &clock);

    inner.force_open();
    for _ in 0..3 {
        let Ok(response) = service.clone().oneshot(Request::new(())).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let calls = outer.snapshot().calls;
    assert_eq!((calls.failure, calls.ignored), (3, 0));
    assert_eq!(outer.state(), State::Open);

    // The outer circuit's own rejection is marked with its own name.
    let Ok(response) = service.oneshot(Request::new(())).await;
    let rejected = response.extensions().get::<Rejected>().expect("marked");
    assert_eq!(rejected.circuit(), "route");
    assert_eq!(inner.snapshot().calls.rejected, 3);
}

/// A responder of its own that knows nothing about extensions.
#[derive(Clone, Debug)]
struct Teapot;

impl fusebox::RespondRejected<String> for Teapot {
    fn respond(&self, rejected: &Rejected) -> Response<String> {
        let mut response = Response::new(format!("{} is resting", rejected.circuit()));
        *response.status_mut() = StatusCode::IM_A_TEAPOT;
        response
    }
}

#[tokio::test]
async fn any_responders_answer_carries_the_rejection_for_outer_circuits() {
    let clock = ManualClock::new();
    let (outer, inner) = (
        named_streak_circuit("route", &clock, 1),
        named_streak_circuit("upstream", &clock, 1),
    );
    let handler = service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::from("in stock")))
    });
    let service =
        breaker_503(&outer).layer(breaker_503(&inner).respond_with(Teapot).layer(handler));

    inner.force_open();
    let Ok(response) = service.oneshot(Request::new(())).await;
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(
        response.extensions().get::<Rejected>().map(Rejected::state),
        Some(State::ForcedOpen)
    );
    assert_eq!(response.body(), "upstream is resting");
    assert_eq!(outer.snapshot().calls.ignored, 1);
    assert_eq!(outer.state(), State::Closed);
}
