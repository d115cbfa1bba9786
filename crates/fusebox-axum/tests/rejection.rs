//! Rejected calls answered as JSON 503s, one circuit per route, and route circuits around inner
//! circuits, over real sockets and in process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use fusebox::classify::HttpClassifier;
use fusebox::trip::failure_streak;
use fusebox::{
    CallCounts, Circuit, CircuitBreaker, CircuitBreakerLayer, Fusebox, ManualClock, Policy,
    Rejected, Retry, State,
};
use fusebox_axum::{Json503Layer, RejectedResponse, UNMATCHED_ROUTE, route_breaker};
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{client, serve};

fn policy() -> Policy {
    Policy::builder()
        .trip(failure_streak(2))
        .retry(Retry::cooldown(Duration::from_secs(30)))
        .build()
        .unwrap()
}

/// A registry on a manual clock whose circuits follow [`policy`].
fn registry() -> Fusebox {
    Fusebox::builder()
        .clock(ManualClock::new())
        .default_policy(policy())
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
    let fusebox = registry();
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

/// Calls `path` of `app` in process: status, the circuit named by a rejection the response
/// carries, and the body.
async fn call(app: &Router, path: &str) -> (StatusCode, Option<String>, String) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let rejected_by = response
        .extensions()
        .get::<Rejected>()
        .map(|rejected| rejected.circuit().to_string());
    let status = response.status();
    let body = to_bytes(response.into_body(), 4096).await.unwrap();
    (
        status,
        rejected_by,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn only_ignored(ignored: u64) -> CallCounts {
    CallCounts {
        ignored,
        ..CallCounts::default()
    }
}

#[tokio::test]
async fn route_circuit_records_only_ignored_over_an_inner_forced_open_circuit() {
    let fusebox = registry();
    let upstream = Circuit::builder("upstream inventory")
        .clock(ManualClock::new())
        .build();
    let inner = Json503Layer::new(
        CircuitBreakerLayer::new(upstream.clone()).classify(HttpClassifier::server_errors()),
    );
    let app = Router::new()
        .route(
            "/inventory/{item}",
            get(|| async { "in stock" }).layer(inner),
        )
        .route_layer(route_breaker(&fusebox));

    upstream.force_open();
    for item in 0..4 {
        let (status, rejected_by, body) = call(&app, &format!("/inventory/{item}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(rejected_by.as_deref(), Some("upstream inventory"));
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"error": "circuit_open", "circuit": "upstream inventory", "state": "forced_open", "retry_after_secs": null})
        );
    }
    let route = fusebox.circuit("GET /inventory/{item}").snapshot();
    assert_eq!((route.state, route.calls), (State::Closed, only_ignored(4)));
    assert_eq!(upstream.snapshot().calls.rejected, 4);
}

#[tokio::test]
async fn route_circuit_ignores_a_handlers_rejected_response_for_its_own_breaker() {
    // The gateway pattern: the handler calls its upstream through a breaker and answers the
    // rejection itself.
    let fusebox = registry();
    let upstream = fusebox.circuit("upstream pricing");
    let client = CircuitBreaker::new(
        tower::service_fn(|item: u32| async move { Ok::<_, std::io::Error>(item * 100) }),
        upstream.clone(),
    );
    let handler = move || {
        let client = client.clone();
        async move {
            match client.oneshot(7).await {
                Ok(price) => price.to_string().into_response(),
                Err(error) => match error.downcast::<Rejected>() {
                    Ok(rejected) => RejectedResponse(*rejected).into_response(),
                    Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
                },
            }
        }
    };
    let app = Router::new()
        .route("/pricing", get(handler))
        .route_layer(route_breaker(&fusebox));

    assert_eq!(
        call(&app, "/pricing").await,
        (StatusCode::OK, None, "700".to_owned())
    );
    upstream.force_open();
    for _ in 0..3 {
        let (status, rejected_by, _) = call(&app, "/pricing").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(rejected_by.as_deref(), Some("upstream pricing"));
    }
    let route = fusebox.circuit("GET /pricing").snapshot();
    assert_eq!(
        (route.state, route.calls),
        (
            State::Closed,
            CallCounts {
                success: 1,
                ..only_ignored(3)
            }
        )
    );
}

/// What the route circuit's own 503 looks like to whoever is around it.
#[tokio::test]
async fn route_circuits_own_rejection_is_marked_with_its_name() {
    let fusebox = registry();
    let app = Router::new()
        .route("/flaky", get(flaky))
        .route_layer(route_breaker(&fusebox));
    for _ in 0..2 {
        assert_eq!(
            call(&app, "/flaky").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    let (status, rejected_by, _) = call(&app, "/flaky").await;
    assert_eq!(
        (status, rejected_by.as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("GET /flaky"))
    );
}
