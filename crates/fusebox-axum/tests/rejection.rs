//! Rejected calls answered as JSON 503s, and one circuit per route, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use fusebox::classify::HttpClassifier;
use fusebox::{CircuitBreakerLayer, Fusebox};
use fusebox_axum::{Json503Layer, UNMATCHED_ROUTE, route_breaker};
use fusebox_core::trip::failure_streak;
use fusebox_core::{Circuit, ManualClock, Policy, Retry, State};
use serde_json::{Value, json};

use common::{client, serve};

fn policy() -> Policy {
    Policy::builder()
        .trip(failure_streak(2))
        .retry(Retry::cooldown(Duration::from_secs(30)))
        .build()
        .unwrap()
}

async fn flaky() -> (StatusCode, &'static str) {
    (StatusCode::INTERNAL_SERVER_ERROR, "upstream down")
}

async fn get_json(url: &str) -> (StatusCode, Option<String>, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    assert_eq!(response.headers()["content-type"], "application/json");
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test]
async fn open_circuit_answers_json_503_with_retry_after() {
    let clock = ManualClock::new();
    let circuit = Circuit::builder("payments")
        .policy(policy())
        .clock(clock.clone())
        .build();
    let app = Router::new()
        .route("/pay", get(flaky))
        .route_layer(Json503Layer::new(
            CircuitBreakerLayer::new(circuit.clone()).classify(HttpClassifier::server_errors()),
        ));
    let base = serve(app).await;

    for _ in 0..2 {
        let response = client().get(format!("{base}/pay")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.text().await.unwrap(), "upstream down");
    }
    assert_eq!(circuit.state(), State::Open);

    let rejected = get_json(&format!("{base}/pay")).await;
    assert_eq!(
        rejected,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("30".to_owned()),
            json!({"error": "circuit_open", "circuit": "payments", "state": "open", "retry_after_secs": 30})
        )
    );

    clock.advance(Duration::from_millis(12_500));
    let (_, retry_after, body) = get_json(&format!("{base}/pay")).await;
    assert_eq!(retry_after.as_deref(), Some("18"), "17.5 s rounds up");
    assert_eq!(body["retry_after_secs"], 18);
    assert_eq!(circuit.snapshot().calls.rejected, 2);
}

#[tokio::test]
async fn forced_open_answers_503_without_retry_after() {
    let circuit = Circuit::builder("ledger").clock(ManualClock::new()).build();
    let app = Router::new()
        .route("/ledger", get(|| async { "balanced" }))
        .route_layer(Json503Layer::new(
            CircuitBreakerLayer::new(circuit.clone()).classify(HttpClassifier::server_errors()),
        ));
    let base = serve(app).await;
    assert_eq!(
        client()
            .get(format!("{base}/ledger"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "balanced"
    );

    circuit.force_open();
    assert_eq!(
        get_json(&format!("{base}/ledger")).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            json!({"error": "circuit_open", "circuit": "ledger", "state": "forced_open", "retry_after_secs": null})
        )
    );
}

#[tokio::test]
async fn each_route_template_has_its_own_circuit() {
    let fusebox = Fusebox::builder()
        .clock(ManualClock::new())
        .default_policy(policy())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .route("/flaky", get(flaky))
        .route_layer(route_breaker(&fusebox));
    let base = serve(app).await;
    let client = client();
    let status = |path: &'static str| {
        let request = client.get(format!("{base}{path}"));
        async move { request.send().await.unwrap().status() }
    };

    assert_eq!(status("/flaky").await, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(status("/flaky").await, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        get_json(&format!("{base}/flaky")).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("30".to_owned()),
            json!({"error": "circuit_open", "circuit": "GET /flaky", "state": "open", "retry_after_secs": 30})
        )
    );
    for path in ["/users/1", "/users/2", "/users/3"] {
        assert_eq!(status(path).await, StatusCode::OK, "{path}");
    }
    // An unrouted path never reaches a route layer: no circuit for it.
    assert_eq!(status("/nope").await, StatusCode::NOT_FOUND);

    let circuits: Vec<_> = fusebox
        .snapshot()
        .into_iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.state,
                s.calls.success,
                s.calls.failure,
                s.calls.rejected,
            )
        })
        .collect();
    assert_eq!(
        circuits,
        [
            ("GET /flaky".to_owned(), State::Open, 0, 2, 1),
            ("GET /users/{id}".to_owned(), State::Closed, 3, 0, 0),
        ]
    );
}

#[tokio::test]
async fn nested_routes_are_named_with_their_prefix() {
    let fusebox = Fusebox::builder()
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let api = Router::new()
        .route(
            "/orders/{id}",
            get(|| async { "an order" }).delete(|| async { "deleted" }),
        )
        .route_layer(route_breaker(&fusebox));
    let base = serve(Router::new().nest("/api", api)).await;

    let client = client();
    let got = client
        .get(format!("{base}/api/orders/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.text().await.unwrap(), "an order");
    let deleted = client
        .delete(format!("{base}/api/orders/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.text().await.unwrap(), "deleted");

    let names: Vec<String> = fusebox
        .snapshot()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["DELETE /api/orders/{id}", "GET /api/orders/{id}"]);
}

#[tokio::test]
async fn unrouted_requests_share_one_unmatched_circuit_not_raw_paths() {
    let fusebox = Fusebox::builder()
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .layer(route_breaker(&fusebox));
    let base = serve(app).await;

    // `Router::layer` wraps every route (which knows its template) and the fallback (which
    // does not).
    for path in ["/users/1", "/users/2", "/anything/else", "/and/more"] {
        client().get(format!("{base}{path}")).send().await.unwrap();
    }
    let circuits: Vec<_> = fusebox
        .snapshot()
        .into_iter()
        .map(|s| (s.name.to_string(), s.calls.success))
        .collect();
    assert_eq!(
        circuits,
        [
            ("GET /users/{id}".to_owned(), 2),
            (UNMATCHED_ROUTE.to_owned(), 2)
        ]
    );
}
