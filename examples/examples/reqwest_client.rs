//! An outbound reqwest client with one circuit per upstream host:
//! `cargo run -p examples --example reqwest_client`.
//!
//! A local upstream on 127.0.0.1 answers `500` for a while. The client's circuit for that host
//! opens after three failures, and the next request is rejected without leaving the process;
//! once the upstream is healthy again and the cooldown has passed, a probe closes the circuit.
//! Needs feature `reqwest` of `fusebox` (the `ByHost` key and `HttpClassifier` for reqwest).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use fusebox::classify::HttpClassifier;
use fusebox::key::ByHost;
use fusebox::trip::failure_streak;
use fusebox::{BoxError, CircuitBreakerLayer, Fusebox, Permit, Policy, Rejected, Retry};
use tower::{ServiceBuilder, ServiceExt};

const COOLDOWN: Duration = Duration::from_millis(500);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let down = Arc::new(AtomicBool::new(true));
    let upstream = {
        let down = down.clone();
        let app = axum::Router::new().route(
            "/price",
            axum::routing::get(move || async move {
                match down.load(Ordering::Relaxed) {
                    true => (StatusCode::INTERNAL_SERVER_ERROR, "price list unavailable"),
                    false => (StatusCode::OK, "42.00"),
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    };

    let policy = Policy::builder()
        .trip(failure_streak(3))
        .retry(Retry::cooldown(COOLDOWN))
        .permit(Permit::all())
        .build()?;
    let fusebox = Fusebox::builder().default_policy(policy).build()?;
    let client = ServiceBuilder::new()
        // Outermost: the breaker sees the timeout's `Elapsed` as a failure.
        .layer(
            CircuitBreakerLayer::keyed(fusebox.clone(), ByHost)
                .classify(HttpClassifier::server_errors()),
        )
        .timeout(Duration::from_secs(5))
        .service(reqwest::Client::new());

    let url: reqwest::Url = format!("http://{upstream}/price").parse()?;
    let mut seen = Vec::new();
    for attempt in 1..=5 {
        if attempt == 5 {
            down.store(false, Ordering::Relaxed);
            tokio::time::sleep(COOLDOWN).await;
        }
        let request = reqwest::Request::new(reqwest::Method::GET, url.clone());
        let line = match client.clone().oneshot(request).await {
            Ok(response) => format!("{} {}", response.status(), response.text().await?),
            Err(error) => match error.downcast_ref::<Rejected>() {
                Some(rejected) => format!("not sent: {rejected}"),
                None => format!("transport error: {error}"),
            },
        };
        // `ByHost` names the circuit after the host and port the request goes to.
        let state = fusebox
            .get(&upstream.to_string())
            .map(|circuit| circuit.state());
        let state = state.map_or("none", |state| state.as_str());
        println!("request {attempt}: {line}  (circuit {upstream}: {state})");
        seen.push(state);
    }
    fusebox.shutdown(Duration::from_secs(1)).await?;
    if seen != ["closed", "closed", "open", "open", "closed"] {
        return Err(format!("unexpected circuit states {seen:?}").into());
    }
    Ok(())
}
