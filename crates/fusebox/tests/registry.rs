//! The registry of named circuits and keyed routing, over real sockets on 127.0.0.1.
#![cfg(feature = "reqwest")]
// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use fusebox::classify::HttpClassifier;
use fusebox::fleet::CommandError;
use fusebox::key::{ByHost, key_fn};
use fusebox::trip::failure_streak;
use fusebox::{
    Cause, CircuitBreakerLayer, Fusebox, ManualClock, OVERFLOW_CIRCUIT, Policy, Rejected, Retry,
    Signal, State,
};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, Service, ServiceExt, service_fn};

/// A listener keeping every signal it receives.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Signal>>>);

impl Service<Signal> for Recorder {
    type Response = ();
    type Error = Infallible;
    type Future = std::future::Ready<Result<(), Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, signal: Signal) -> Self::Future {
        self.0.lock().unwrap().push(signal);
        std::future::ready(Ok(()))
    }
}

impl Recorder {
    fn transitions(&self) -> Vec<(String, State, State, &'static str)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|s| (s.circuit.to_string(), s.from, s.to, s.cause.as_str()))
            .collect()
    }
}

fn streak_policy(n: u64) -> Policy {
    Policy::builder()
        .trip(failure_streak(n))
        .retry(Retry::cooldown(Duration::from_secs(30)))
        .build()
        .unwrap()
}

/// A server on 127.0.0.1 whose `/` answers `status` and counts hits.
async fn server(status: StatusCode) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { status }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

#[tokio::test]
async fn two_layers_naming_one_circuit_share_it_and_per_name_policies_apply() {
    let fusebox = Fusebox::builder()
        .default_policy(streak_policy(5))
        .policy("payments", streak_policy(2))
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let failing = service_fn(|(): ()| async { Err::<(), _>(std::io::Error::other("down")) });
    let mut a = CircuitBreakerLayer::new(fusebox.circuit("payments")).layer(failing);
    let mut b = CircuitBreakerLayer::new(fusebox.circuit("payments")).layer(failing);
    a.ready().await.unwrap().call(()).await.unwrap_err();
    b.ready().await.unwrap().call(()).await.unwrap_err();
    assert_eq!(fusebox.circuit("payments").state(), State::Open);
    assert!(a.call(()).await.unwrap_err().is::<Rejected>());
    assert_eq!(
        fusebox.circuit("search").policy().to_string(),
        streak_policy(5).to_string()
    );

    let names: Vec<_> = fusebox
        .snapshot()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["payments", "search"]);
}

#[tokio::test]
async fn manual_commands_by_name_and_unknown_names() {
    let recorder = Recorder::default();
    let fusebox = Fusebox::builder()
        .listener("recorder", recorder.clone())
        .build()
        .unwrap();
    fusebox.circuit("inventory");
    assert_eq!(fusebox.force_open("inventory"), Ok(true));
    assert_eq!(fusebox.force_open("inventory"), Ok(false));
    assert_eq!(fusebox.disable("inventory"), Ok(true));
    assert_eq!(fusebox.metrics_only("inventory"), Ok(true));
    assert_eq!(fusebox.reset("inventory"), Ok(true));
    let err = fusebox.reset("nope").unwrap_err();
    assert!(matches!(&err, CommandError::Unknown(unknown) if unknown.name() == "nope"));
    assert_eq!(
        err.to_string(),
        "no circuit named \"nope\"; circuits are created when a layer or `Fusebox::circuit` first uses their name"
    );
    fusebox.flush(Duration::from_secs(2)).await.unwrap();
    let name = || "inventory".to_owned();
    assert_eq!(
        recorder.transitions(),
        [
            (name(), State::Closed, State::Closed, "registered"),
            (name(), State::Closed, State::ForcedOpen, "manual"),
            (name(), State::ForcedOpen, State::Disabled, "manual"),
            (name(), State::Disabled, State::MetricsOnly, "manual"),
            (name(), State::MetricsOnly, State::Closed, "manual"),
        ]
    );
}

#[tokio::test]
async fn keyed_routing_is_bounded_and_overflows_into_one_circuit() {
    let fusebox = Fusebox::builder().max_keyed_circuits(3).build().unwrap();
    let mut service =
        CircuitBreakerLayer::keyed(fusebox.clone(), key_fn(|key: &u32| format!("k{key}")))
            .layer(service_fn(|_: u32| async { Ok::<_, Infallible>(()) }));
    for key in 0..5_000u32 {
        service
            .ready()
            .await
            .unwrap()
            .call(key % 2_500)
            .await
            .unwrap();
    }
    let snapshot = fusebox.snapshot();
    let names: Vec<_> = snapshot.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, [OVERFLOW_CIRCUIT, "k0", "k1", "k2"]);
    let overflow = &snapshot[0];
    assert_eq!(overflow.metrics.total(), 100); // a count(100) window, full
    // Named circuits are not counted against the keyed bound.
    fusebox.circuit("payments");
    assert_eq!(fusebox.snapshot().len(), 5);
}

#[tokio::test]
async fn keyed_per_host_reqwest_client_trips_only_the_failing_host() {
    let (bad, bad_hits) = server(StatusCode::INTERNAL_SERVER_ERROR).await;
    let (good, good_hits) = server(StatusCode::OK).await;
    let recorder = Recorder::default();
    let fusebox = Fusebox::builder()
        .default_policy(streak_policy(3))
        .listener("recorder", recorder.clone())
        .build()
        .unwrap();
    let mut client = CircuitBreakerLayer::keyed(fusebox.clone(), ByHost)
        .classify(HttpClassifier::server_errors())
        .layer(reqwest::Client::new());
    let get = |addr: SocketAddr| {
        reqwest::Request::new(
            reqwest::Method::GET,
            format!("http://{addr}/").parse().unwrap(),
        )
    };

    for _ in 0..5 {
        let _ = client.ready().await.unwrap().call(get(bad)).await;
        let response = client.ready().await.unwrap().call(get(good)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        bad_hits.load(Ordering::SeqCst),
        3,
        "calls 4 and 5 were rejected"
    );
    assert_eq!(good_hits.load(Ordering::SeqCst), 5);
    assert_eq!(fusebox.circuit(&bad.to_string()).state(), State::Open);
    assert_eq!(fusebox.circuit(&good.to_string()).state(), State::Closed);

    fusebox.flush(Duration::from_secs(2)).await.unwrap();
    let trips: Vec<_> = recorder
        .transitions()
        .into_iter()
        .filter(|t| t.3 != Cause::Registered.as_str())
        .collect();
    assert_eq!(
        trips,
        [(bad.to_string(), State::Closed, State::Open, "tripped")]
    );
}

#[tokio::test]
async fn keyed_per_host_hyper_client_trips_only_the_failing_host() {
    let (bad, bad_hits) = server(StatusCode::BAD_GATEWAY).await;
    let (good, good_hits) = server(StatusCode::OK).await;
    let fusebox = Fusebox::builder()
        .default_policy(streak_policy(2))
        .build()
        .unwrap();
    let hyper_client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut client = CircuitBreakerLayer::keyed(fusebox.clone(), ByHost)
        .classify(HttpClassifier::server_errors())
        .layer(hyper_client);
    let get = |addr: SocketAddr| {
        http::Request::get(format!("http://{addr}/"))
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    for _ in 0..4 {
        let _ = client.ready().await.unwrap().call(get(bad)).await;
        let response = client.ready().await.unwrap().call(get(good)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(bad_hits.load(Ordering::SeqCst), 2);
    assert_eq!(good_hits.load(Ordering::SeqCst), 4);
    let states: Vec<_> = fusebox
        .snapshot()
        .iter()
        .map(|s| (s.name.to_string(), s.state))
        .collect();
    let mut expected = vec![
        (bad.to_string(), State::Open),
        (good.to_string(), State::Closed),
    ];
    expected.sort();
    assert_eq!(states, expected);
}
