//! The admin API, its authentication, the dashboard page and the metrics route, over real
//! sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use fusebox::Fusebox;
use fusebox_axum::admin::{self, AdminAuth};
use fusebox_axum::{metrics_route, route_breaker};
use fusebox_core::trip::failure_streak;
use fusebox_core::{ManualClock, Outcome, Policy, Retry, State};
use serde_json::{Value, json};

use common::{client, serve};

const TOKEN: &str = "s3cret-Token_42";

/// A registry on a manual clock with `payments` open (one 250 ms success, then three
/// failures, 12 s ago) and `search` closed with two successes.
fn fusebox() -> (Fusebox, ManualClock) {
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .clock(clock.clone())
        .default_policy(
            Policy::builder()
                .trip(failure_streak(3))
                .retry(Retry::cooldown(Duration::from_secs(30)))
                .record_latency(true)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let payments = fusebox.circuit("payments");
    let call = payments.try_acquire().unwrap();
    clock.advance(Duration::from_millis(250));
    call.finish(Outcome::Success);
    for _ in 0..3 {
        payments.try_acquire().unwrap().finish(Outcome::Failure);
    }
    assert_eq!(payments.state(), State::Open);
    payments.try_acquire().unwrap_err();
    let search = fusebox.circuit("search");
    for _ in 0..2 {
        search.try_acquire().unwrap().finish(Outcome::Success);
    }
    clock.advance(Duration::from_secs(12));
    (fusebox, clock)
}

fn policy_text(fusebox: &Fusebox) -> String {
    fusebox.circuit("payments").policy().to_string()
}

async fn admin_app(auth: AdminAuth) -> (String, Fusebox) {
    let (fusebox, _clock) = fusebox();
    let app = Router::new().nest("/admin", admin::router(fusebox.clone(), auth));
    (serve(app).await, fusebox)
}

async fn bearer_app() -> (String, Fusebox) {
    admin_app(AdminAuth::bearer(TOKEN).unwrap()).await
}

/// Status, content type and JSON body of a response.
async fn json_of(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

async fn get_api(url: String) -> (StatusCode, String, Value) {
    json_of(client().get(url).bearer_auth(TOKEN).send().await.unwrap()).await
}

async fn post_api(url: String) -> (StatusCode, String, Value) {
    json_of(client().post(url).bearer_auth(TOKEN).send().await.unwrap()).await
}

fn ok(body: Value) -> (StatusCode, String, Value) {
    (StatusCode::OK, "application/json".to_owned(), body)
}

fn payments_json(policy: &str) -> Value {
    json!({
        "name": "payments",
        "state": "open",
        "since": "2023-11-14T22:13:20.250Z",
        "time_in_state_secs": 12.0,
        "generation": 1,
        "reopens": 0,
        "retry_after_secs": 18,
        "probes_in_flight": 0,
        "metrics": {
            "total": 0,
            "failures": 0,
            "failure_rate": null,
            "avg_latency_ms": null,
            "consecutive_failures": 0
        },
        "calls": {"success": 1, "failure": 3, "ignored": 0, "rejected": 1},
        "policy": policy
    })
}

fn search_json(policy: &str) -> Value {
    json!({
        "name": "search",
        "state": "closed",
        "since": "2023-11-14T22:13:20.250Z",
        "time_in_state_secs": 12.0,
        "generation": 0,
        "reopens": 0,
        "retry_after_secs": null,
        "probes_in_flight": 0,
        "metrics": {
            "total": 2,
            "failures": 0,
            "failure_rate": 0.0,
            "avg_latency_ms": 0.0,
            "consecutive_failures": 0
        },
        "calls": {"success": 2, "failure": 0, "ignored": 0, "rejected": 0},
        "policy": policy
    })
}

#[tokio::test]
async fn list_shows_every_circuit_sorted_by_name() {
    let (base, fusebox) = bearer_app().await;
    let policy = policy_text(&fusebox);
    assert!(policy.starts_with("window="), "{policy}");
    assert_eq!(
        get_api(format!("{base}/admin/circuits")).await,
        ok(json!([payments_json(&policy), search_json(&policy)]))
    );
}

#[tokio::test]
async fn one_circuit_by_name() {
    let (base, fusebox) = bearer_app().await;
    assert_eq!(
        get_api(format!("{base}/admin/circuits/search")).await,
        ok(search_json(&policy_text(&fusebox)))
    );
}

#[tokio::test]
async fn each_command_moves_the_circuit_and_says_whether_it_changed() {
    let (base, fusebox) = bearer_app().await;
    let url = |command: &str| format!("{base}/admin/circuits/payments/{command}");
    let cases = [
        ("force-open", "forced_open", 2, true),
        ("force-open", "forced_open", 3, false),
        ("disable", "disabled", 4, true),
        ("metrics-only", "metrics_only", 5, true),
        ("reset", "closed", 6, true),
        ("reset", "closed", 7, false),
    ];
    for (command, state, generation, changed) in cases {
        let (status, content_type, body) = post_api(url(command)).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::OK, "application/json")
        );
        assert_eq!(
            (
                &body["name"],
                &body["state"],
                &body["generation"],
                &body["changed"],
                &body["retry_after_secs"],
                &body["time_in_state_secs"]
            ),
            (
                &json!("payments"),
                &json!(state),
                &json!(generation),
                &json!(changed),
                &Value::Null,
                &json!(0.0)
            ),
            "{command}"
        );
        assert_eq!(fusebox.circuit("payments").state().as_str(), state);
    }
    // The answer is the circuit's full JSON plus `changed`.
    let (_, _, mut body) = post_api(url("disable")).await;
    assert_eq!(
        body.as_object_mut().unwrap().remove("changed"),
        Some(json!(true))
    );
    let (_, _, now) = get_api(format!("{base}/admin/circuits/payments")).await;
    assert_eq!(body, now);
}

#[tokio::test]
async fn unknown_circuit_is_404_and_unknown_command_is_400() {
    let (base, _) = bearer_app().await;
    let not_found = (
        StatusCode::NOT_FOUND,
        "application/json".to_owned(),
        json!({"error": "not_found", "message": "no circuit named \"billing\""}),
    );
    assert_eq!(
        get_api(format!("{base}/admin/circuits/billing")).await,
        not_found
    );
    assert_eq!(
        post_api(format!("{base}/admin/circuits/billing/reset")).await,
        not_found
    );
    assert_eq!(
        post_api(format!("{base}/admin/circuits/payments/explode")).await,
        (
            StatusCode::BAD_REQUEST,
            "application/json".to_owned(),
            json!({
                "error": "unknown_command",
                "message": "no command named \"explode\"; commands are reset, force-open, disable and metrics-only"
            })
        )
    );
    // A bad command is refused before the circuit is looked up.
    assert_eq!(
        post_api(format!("{base}/admin/circuits/billing/explode"))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn route_circuit_names_are_reachable_percent_encoded() {
    let (fusebox, _clock) = fusebox();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .route_layer(route_breaker(&fusebox))
        .nest(
            "/admin",
            admin::router(fusebox.clone(), AdminAuth::bearer(TOKEN).unwrap()),
        );
    let base = serve(app).await;
    client()
        .get(format!("{base}/users/7"))
        .send()
        .await
        .unwrap();

    let url = format!("{base}/admin/circuits/GET%20%2Fusers%2F%7Bid%7D/force-open");
    let (status, _, body) = post_api(url).await;
    assert_eq!(
        (status, &body["name"], &body["state"]),
        (
            StatusCode::OK,
            &json!("GET /users/{id}"),
            &json!("forced_open")
        )
    );
    let rejected = client()
        .get(format!("{base}/users/8"))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);
}

fn unauthorized() -> (StatusCode, String, Value) {
    (
        StatusCode::UNAUTHORIZED,
        "application/json".to_owned(),
        json!({"error": "unauthorized", "message": "send Authorization: Bearer <admin token>"}),
    )
}

#[tokio::test]
async fn every_route_needs_the_token() {
    let (base, fusebox) = bearer_app().await;
    let requests = [
        client().get(format!("{base}/admin")),
        client().get(format!("{base}/admin/circuits")),
        client().get(format!("{base}/admin/circuits/payments")),
        client().post(format!("{base}/admin/circuits/payments/reset")),
    ];
    for request in requests {
        let without = request.try_clone().unwrap().send().await.unwrap();
        assert_eq!(without.headers()["www-authenticate"], "Bearer");
        assert_eq!(json_of(without).await, unauthorized());
        let wrong = request
            .try_clone()
            .unwrap()
            .bearer_auth("s3cret-Token_4")
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(wrong).await, unauthorized());
        let basic = request
            .header("authorization", format!("Basic {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(basic).await, unauthorized());
    }
    assert_eq!(
        fusebox.circuit("payments").state(),
        State::Open,
        "the POST did nothing"
    );
}

#[tokio::test]
async fn dashboard_token_in_the_address_becomes_a_cookie() {
    let (base, _) = bearer_app().await;
    let client = client();

    let wrong = client
        .get(format!("{base}/admin?token=guess"))
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().get("set-cookie").is_none());
    assert_eq!(json_of(wrong).await, unauthorized());

    let login = client
        .get(format!("{base}/admin?token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        login.headers()["set-cookie"],
        format!("fusebox_admin={TOKEN}; HttpOnly; SameSite=Strict; Path=/admin")
    );
    assert_eq!(login.headers()["location"], "./admin");
    assert_eq!(login.headers()["cache-control"], "no-store");

    let cookie = format!("fusebox_admin={TOKEN}");
    let page = client
        .get(format!("{base}/admin"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let list = client
        .get(format!("{base}/admin/circuits"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_of(list).await;
    assert_eq!(
        (status, body.as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    let command = client
        .post(format!("{base}/admin/circuits/payments/reset"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_of(command).await;
    assert_eq!((status, &body["state"]), (StatusCode::OK, &json!("closed")));

    let other_cookie = client
        .get(format!("{base}/admin/circuits"))
        .header("cookie", format!("session=1; fusebox_admin={TOKEN}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(other_cookie).await, unauthorized());
}

#[tokio::test]
async fn opting_out_serves_everything_without_a_token() {
    let (base, _) = admin_app(AdminAuth::none_i_understand_the_risk()).await;
    let (status, _, body) = json_of(
        client()
            .get(format!("{base}/admin/circuits"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    let (status, _, body) = json_of(
        client()
            .post(format!("{base}/admin/circuits/search/disable"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["state"], &body["changed"]),
        (StatusCode::OK, &json!("disabled"), &json!(true))
    );
    let page = client()
        .get(format!("{base}/admin?token=anything"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn dashboard_page_has_the_card_template_and_safe_headers() {
    let (base, _) = bearer_app().await;
    let page = client()
        .get(format!("{base}/admin"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let html = page.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    for hook in [
        r#"<main id="circuits">"#,
        r#"<template id="circuit-card">"#,
        r#"<article class="circuit" data-circuit="" data-state="">"#,
        r#"class="failure-rate""#,
        r#"class="calls""#,
        r#"class="rejected""#,
        r#"class="time-in-state""#,
        r#"data-command="reset""#,
        r#"data-command="force-open""#,
        r#"data-command="disable""#,
        r#"data-command="metrics-only""#,
        r#"id="status""#,
        r#"call("circuits", "GET")"#,
        r#".circuit[data-state="half_open"]"#,
    ] {
        assert!(html.contains(hook), "missing {hook}");
    }
}

#[tokio::test]
async fn metrics_route_serves_the_rendered_text() {
    let text = "# TYPE fusebox_circuit_state gauge\nfusebox_circuit_state{circuit=\"payments\",state=\"open\"} 1\n";
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .merge(metrics_route(move || text.to_owned()));
    let base = serve(app).await;
    let response = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), text);
    let post = client()
        .post(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}
