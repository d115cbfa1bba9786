//! A hyper client (hyper-util's `legacy::Client`) behind a circuit breaker:
//! `cargo run -p examples --example hyper_client`.
//!
//! The breaker wraps any `tower::Service<http::Request<B>>`; here one fixed circuit guards
//! calls to a local upstream on 127.0.0.1 that answers `503` while it is "down". Responses
//! with a 5xx status and transport errors are failures (`HttpClassifier`, feature `http`);
//! once the circuit is open, requests are rejected before hyper opens a connection.

use std::time::Duration;

use axum::http::StatusCode;
use fusebox::classify::HttpClassifier;
use fusebox::trip::failure_streak;
use fusebox::{BoxError, Circuit, CircuitBreakerLayer, Policy, Rejected, Retry};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "maintenance") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let policy = Policy::builder()
        .trip(failure_streak(2))
        .retry(Retry::cooldown(Duration::from_secs(30)))
        .build()?;
    let circuit = Circuit::new("status page", policy);
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let client = CircuitBreakerLayer::new(circuit.clone())
        .classify(HttpClassifier::server_errors())
        .layer(hyper);

    let mut outcomes = Vec::new();
    for attempt in 1..=3 {
        let request = hyper::Request::get(format!("http://{upstream}/health")).body(Empty::new())?;
        match client.clone().oneshot(request).await {
            Ok(response) => {
                let status = response.status();
                let body = response.into_body().collect().await?.to_bytes();
                println!(
                    "request {attempt}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
                outcomes.push(status.to_string());
            }
            Err(error) => match error.downcast::<Rejected>() {
                Ok(rejected) => {
                    println!("request {attempt}: not sent, {rejected}");
                    outcomes.push(format!("rejected while {}", rejected.state().as_str()));
                }
                // The inner error keeps its type: `hyper_util::client::legacy::Error`.
                Err(error) => return Err(error),
            },
        }
    }
    let calls = circuit.snapshot().calls;
    println!(
        "circuit {:?} is {}; calls: {calls:?}",
        circuit.name(),
        circuit.state().as_str()
    );
    let expected = [
        "503 Service Unavailable",
        "503 Service Unavailable",
        "rejected while open",
    ];
    if outcomes != expected {
        return Err(format!("expected {expected:?}, got {outcomes:?}").into());
    }
    Ok(())
}
