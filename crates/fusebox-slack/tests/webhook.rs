//! `WebhookListener` against a local receiver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::routing::post;
use fusebox::listener::Handled;
use fusebox_core::trip::failure_streak;
use fusebox_core::{Circuit, ManualClock, Outcome, Permit, Policy, Retry, Signal, State};
use fusebox_slack::{WebhookError, WebhookListener};
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Default)]
struct Recorded {
    requests: Vec<(HeaderMap, Value)>,
    status: Option<StatusCode>,
}

/// A receiver on 127.0.0.1 that records every request and answers 204 unless told otherwise.
struct Receiver {
    addr: SocketAddr,
    recorded: Arc<Mutex<Recorded>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let app = Router::new()
            .route("/hooks/circuits", post(receive))
            .with_state(Arc::clone(&recorded));
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
        Receiver { addr, recorded }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/circuits", self.addr)
    }

    fn answer(&self, status: StatusCode) {
        self.recorded.lock().unwrap().status = Some(status);
    }

    fn requests(&self) -> Vec<(HeaderMap, Value)> {
        self.recorded.lock().unwrap().requests.clone()
    }
}

async fn receive(
    Shared(recorded): Shared<Arc<Mutex<Recorded>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut recorded = recorded.lock().unwrap();
    recorded
        .requests
        .push((headers, serde_json::from_slice(&body).unwrap()));
    recorded.status.unwrap_or(StatusCode::NO_CONTENT)
}

/// The signals of a circuit that measures latency and trips after 2 failures in a row: a
/// 100 ms success, then two 250 ms failures.
fn tripped_circuit_signals() -> Vec<Signal> {
    let clock = ManualClock::new();
    let signals = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&signals);
    let circuit = Circuit::builder("payments")
        .policy(
            Policy::builder()
                .trip(failure_streak(2))
                .retry(Retry::never())
                .permit(Permit::all())
                .record_latency(true)
                .build()
                .unwrap(),
        )
        .clock(clock.clone())
        .on_signal(move |signal| sink.lock().unwrap().push(signal))
        .build();
    for (outcome, millis) in [
        (Outcome::Success, 100),
        (Outcome::Failure, 250),
        (Outcome::Failure, 250),
    ] {
        let admission = circuit.try_acquire().unwrap();
        clock.advance(Duration::from_millis(millis));
        admission.finish(outcome);
    }
    assert_eq!(circuit.state(), State::Open);
    signals.lock().unwrap().clone()
}

#[tokio::test]
async fn a_tripped_signal_is_posted_as_documented_json() {
    let receiver = Receiver::start().await;
    let signals = tripped_circuit_signals();
    let listener = WebhookListener::builder(receiver.url()).build().unwrap();
    let handled = listener.oneshot(signals[1].clone()).await.unwrap();
    assert_eq!(handled, Handled::Delivered);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let (headers, body) = &requests[0];
    assert_eq!(
        *body,
        json!({
            "circuit": "payments",
            "from": "closed",
            "to": "open",
            "at": "2023-11-14T22:13:20Z",
            "at_unix_ms": 1_700_000_000_600_i64,
            "cause": "tripped",
            "rule": "failure_streak(2)",
            "metrics": {
                "total": 3,
                "failures": 2,
                "failure_rate": 2.0 / 3.0,
                "avg_latency_ms": 200.0,
                "consecutive_failures": 2
            },
            "details": {}
        })
    );
    assert_eq!(headers[CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn configured_headers_are_sent_with_every_request() {
    let receiver = Receiver::start().await;
    let signals = tripped_circuit_signals();
    let listener = WebhookListener::builder(receiver.url())
        .header(AUTHORIZATION, HeaderValue::from_static("Bearer s3cr3t"))
        .header(
            HeaderName::from_static("x-team"),
            HeaderValue::from_static("payments"),
        )
        .header(
            HeaderName::from_static("x-team"),
            HeaderValue::from_static("checkout"),
        )
        .build()
        .unwrap();
    assert!(!format!("{listener:?}").contains("s3cr3t"));
    for _ in 0..2 {
        listener.clone().oneshot(signals[1].clone()).await.unwrap();
    }

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    for (headers, _) in requests {
        assert_eq!(headers[AUTHORIZATION], "Bearer s3cr3t");
        let teams: Vec<_> = headers.get_all("x-team").iter().collect();
        assert_eq!(teams, ["checkout"], "a later value replaces an earlier one");
    }
}

#[tokio::test]
async fn statuses_outside_2xx_are_errors() {
    let receiver = Receiver::start().await;
    receiver.answer(StatusCode::SERVICE_UNAVAILABLE);
    let error = WebhookListener::builder(receiver.url())
        .build()
        .unwrap()
        .oneshot(tripped_circuit_signals()[1].clone())
        .await
        .unwrap_err();
    assert!(
        matches!(error, WebhookError::Status { status } if status == StatusCode::SERVICE_UNAVAILABLE),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the webhook answered HTTP 503 Service Unavailable; check its URL, the headers it \
         expects (such as Authorization) and the receiver's logs"
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn registrations_are_skipped_unless_asked_for() {
    let receiver = Receiver::start().await;
    let registered = tripped_circuit_signals()[0].clone();
    assert!(registered.is_registration());

    let handled = WebhookListener::builder(receiver.url())
        .build()
        .unwrap()
        .oneshot(registered.clone())
        .await
        .unwrap();
    assert_eq!(handled, Handled::Skipped);
    assert_eq!(receiver.requests().len(), 0);

    let handled = WebhookListener::builder(receiver.url())
        .include_registrations(true)
        .build()
        .unwrap()
        .oneshot(registered)
        .await
        .unwrap();
    assert_eq!(handled, Handled::Delivered);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].1,
        json!({
            "circuit": "payments",
            "from": "closed",
            "to": "closed",
            "at": "2023-11-14T22:13:20Z",
            "at_unix_ms": 1_700_000_000_000_i64,
            "cause": "registered",
            "rule": null,
            "metrics": {
                "total": 0,
                "failures": 0,
                "failure_rate": null,
                "avg_latency_ms": null,
                "consecutive_failures": 0
            },
            "details": {}
        })
    );
}

#[tokio::test]
async fn unreachable_receivers_are_transport_errors_without_the_url() {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    let error = WebhookListener::builder(format!("http://{addr}/hooks/T0/s3cr3t"))
        .build()
        .unwrap()
        .oneshot(tripped_circuit_signals()[1].clone())
        .await
        .unwrap_err();
    assert!(matches!(error, WebhookError::Transport(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "could not deliver the signal to the webhook; check its URL, network access and proxies"
    );
    let mut chain = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    assert!(!chain.is_empty());
    let chain = chain.join(": ");
    assert!(!chain.contains("s3cr3t"), "{chain}");
    assert!(!format!("{error:?}").contains("s3cr3t"), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn slow_receivers_fail_after_the_timeout() {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    // Accepts connections and never answers.
    let app = Router::new().route("/", post(std::future::pending::<StatusCode>));
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    let started = tokio::time::Instant::now();
    let error = WebhookListener::builder(format!("http://{addr}/"))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
        .oneshot(tripped_circuit_signals()[1].clone())
        .await
        .unwrap_err();
    assert!(
        matches!(error, WebhookError::Timeout { after } if after == Duration::from_secs(2)),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the webhook did not answer within 2s, the listener's timeout; check that the \
         receiver is up, or raise the timeout"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn a_bad_url_is_refused_when_building_without_repeating_it() {
    for url in [
        "alerts.example.com/hooks/s3cr3t",
        "ftp://alerts.example.com/s3cr3t",
    ] {
        let error = WebhookListener::builder(url).build().unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("url is invalid ("), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}

#[tokio::test]
async fn registrations_count_as_skipped_in_a_fusebox() {
    let receiver = Receiver::start().await;
    let fusebox = fusebox::Fusebox::builder()
        .clock(ManualClock::new())
        .listener(
            "webhook",
            WebhookListener::builder(receiver.url()).build().unwrap(),
        )
        .build()
        .unwrap();
    let payments = fusebox.circuit("payments");
    assert!(payments.force_open());
    fusebox.flush(Duration::from_secs(5)).await.unwrap();
    let stats = &fusebox.listener_stats()[0];
    assert_eq!((stats.delivered, stats.skipped, stats.failed), (1, 1, 0));
    assert_eq!(receiver.requests().len(), 1);
    fusebox.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn the_largest_timeout_posts_without_panicking() {
    let receiver = Receiver::start().await;
    let handled = WebhookListener::builder(receiver.url())
        .timeout(Duration::MAX)
        .build()
        .unwrap()
        .oneshot(tripped_circuit_signals()[1].clone())
        .await
        .unwrap();
    assert_eq!(handled, Handled::Delivered);
}
