//! The whole stack through one outage and its recovery: an axum gateway with a circuit per
//! route, `/metrics` and the admin API, calling its upstream through a reqwest client with a
//! circuit per host, and reporting to Slack. Every part is checked for what it saw.
//!
//! Real sockets on 127.0.0.1, a manual clock for the circuits: the cooldowns pass at once.
// One test per binary: the Prometheus recorder is global to the process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use end_to_end::{FakeSlack, Posted, serve};
use fusebox::classify::HttpClassifier;
use fusebox::key::ByHost;
use fusebox::{CircuitBreakerLayer, Fusebox, ManualClock, Permit, Policy, Rejected, Retry};
use fusebox_axum::admin::{self, AdminAuth};
use fusebox_axum::{RejectedResponse, metrics_route, route_breaker};
use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
use fusebox_slack::SlackListener;
use serde_json::Value;
use tower::{Layer, ServiceExt};

const SLACK_TOKEN: &str = "xoxb-end-to-end";
const ADMIN_TOKEN: &str = "end-to-end-admin-token";
const COOLDOWN: Duration = Duration::from_secs(10);
const ROUTE: &str = "GET /quote";

/// The upstream quote service: 200 with a price, or 500 while `down`. Counts its requests.
#[derive(Clone, Default)]
struct Upstream {
    down: Arc<AtomicBool>,
    requests: Arc<AtomicU32>,
}

async fn quote(Shared(upstream): Shared<Upstream>) -> (StatusCode, &'static str) {
    upstream.requests.fetch_add(1, Ordering::SeqCst);
    if upstream.down.load(Ordering::SeqCst) {
        (StatusCode::INTERNAL_SERVER_ERROR, "quote database down")
    } else {
        (StatusCode::OK, "101.50")
    }
}

type Outbound =
    fusebox::CircuitBreaker<reqwest::Client, HttpClassifier, fusebox::key::Keyed<ByHost>>;

#[derive(Clone)]
struct Gateway {
    outbound: Outbound,
    upstream: SocketAddr,
}

/// The gateway's one route: the upstream's price, a 502 when it fails, and when its circuit
/// rejects the call a JSON 503 that the route circuit does not count against the route.
async fn forward(Shared(gateway): Shared<Gateway>) -> Response {
    let url = format!("http://{}/quote", gateway.upstream)
        .parse()
        .unwrap();
    let request = reqwest::Request::new(reqwest::Method::GET, url);
    match gateway.outbound.oneshot(request).await {
        Ok(response) if response.status().is_success() => {
            (StatusCode::OK, response.text().await.unwrap()).into_response()
        }
        Ok(response) => (
            StatusCode::BAD_GATEWAY,
            format!("upstream: {}", response.status()),
        )
            .into_response(),
        Err(error) => match error.downcast::<Rejected>() {
            Ok(rejected) => RejectedResponse(*rejected).into_response(),
            Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
        },
    }
}

/// What a client of the gateway sees: status, `Retry-After` and body.
async fn get_quote(client: &reqwest::Client, gateway: SocketAddr) -> (u16, Option<String>, String) {
    let response = client
        .get(format!("http://{gateway}/quote"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, retry_after, response.text().await.unwrap())
}

async fn statuses(client: &reqwest::Client, gateway: SocketAddr, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(get_quote(client, gateway).await.0);
    }
    statuses
}

/// The admin API's JSON for one circuit.
async fn admin_circuit(client: &reqwest::Client, gateway: SocketAddr, name: &str) -> Value {
    let name = name.replace(' ', "%20").replace('/', "%2F");
    client
        .get(format!("http://{gateway}/admin/circuits/{name}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `(state, [success, failure, ignored, rejected])` from the admin JSON of a circuit.
fn state_and_calls(circuit: &Value) -> (&str, [u64; 4]) {
    let calls = &circuit["calls"];
    let count = |outcome: &str| calls[outcome].as_u64().unwrap();
    (
        circuit["state"].as_str().unwrap(),
        [
            count("success"),
            count("failure"),
            count("ignored"),
            count("rejected"),
        ],
    )
}

async fn metrics(client: &reqwest::Client, gateway: SocketAddr) -> String {
    let response = client
        .get(format!("http://{gateway}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Every line of `expected` is a line of the exposition `text`.
fn assert_exposes(text: &str, expected: &[String]) {
    let lines: Vec<&str> = text.lines().collect();
    for line in expected {
        assert!(lines.contains(&line.as_str()), "{line:?} not in\n{text}");
    }
}

fn posted(title: &str, text: String, thread_ts: Option<String>, broadcast: bool) -> Posted {
    Posted {
        title: title.to_owned(),
        text,
        thread_ts,
        reply_broadcast: broadcast,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_and_its_recovery_as_every_part_of_the_stack_sees_them() {
    let slack = FakeSlack::start(SLACK_TOKEN).await.unwrap();
    let upstream = Upstream::default();
    let upstream_address = serve(
        Router::new()
            .route("/quote", get(quote))
            .with_state(upstream.clone()),
    )
    .await
    .unwrap();
    // `ByHost` names the upstream's circuit after its host and port.
    let host = upstream_address.to_string();

    let clock = ManualClock::new();
    // Three failures in a row trip it; a single failed probe reopens it.
    let strict = Policy::builder()
        .trip(
            "(closed() & failure_streak(3)) | (half_opened() & failure_streak(1))"
                .parse()
                .unwrap(),
        )
        .retry(Retry::cooldown(COOLDOWN))
        .permit(Permit::all())
        .build()
        .unwrap();
    let fusebox = Fusebox::builder()
        .clock(clock.clone())
        .policy(host.clone(), strict)
        .listener("prometheus", PrometheusListener::new())
        .listener(
            "slack",
            SlackListener::builder(SLACK_TOKEN, "C0INCIDENTS")
                .base_url(slack.url())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let exporter = PrometheusExporter::install(&fusebox).unwrap();

    let outbound = CircuitBreakerLayer::keyed(fusebox.clone(), ByHost)
        .classify(HttpClassifier::server_errors())
        .layer(reqwest::Client::new());
    let app = Router::new()
        .route("/quote", get(forward))
        // The route circuit keeps the default policy (100 calls before it may trip).
        .route_layer(route_breaker(&fusebox))
        .with_state(Gateway {
            outbound,
            upstream: upstream_address,
        })
        .merge(metrics_route(move || exporter.render()))
        .nest(
            "/admin",
            admin::router(fusebox.clone(), AdminAuth::bearer(ADMIN_TOKEN).unwrap()),
        );
    let gateway = serve(app).await.unwrap();
    let client = reqwest::Client::new();

    // Healthy, then the upstream fails: three failures open its circuit, and the next call is
    // answered by the gateway without reaching the upstream.
    assert_eq!(statuses(&client, gateway, 2).await, [200, 200]);
    upstream.down.store(true, Ordering::SeqCst);
    assert_eq!(statuses(&client, gateway, 3).await, [502, 502, 502]);
    let (status, retry_after, body) = get_quote(&client, gateway).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("10")));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&body["error"], &body["circuit"], &body["state"]),
        (
            &Value::from("circuit_open"),
            &Value::from(host.as_str()),
            &Value::from("open")
        )
    );
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 5);

    // The admin API and /metrics during the outage.
    fusebox.flush(Duration::from_secs(5)).await.unwrap();
    let during = admin_circuit(&client, gateway, &host).await;
    assert_eq!(state_and_calls(&during), ("open", [2, 3, 0, 1]));
    assert_eq!(during["retry_after_secs"], 10);
    // The route counted the 502s as failures, and the upstream circuit's 503 not at all.
    let route = admin_circuit(&client, gateway, ROUTE).await;
    assert_eq!(state_and_calls(&route), ("closed", [2, 3, 1, 0]));
    let text = metrics(&client, gateway).await;
    assert_exposes(
        &text,
        &[
            format!(r#"circuit_breaker_state{{circuit_name="{host}",state="open"}} 1"#),
            format!(r#"circuit_breaker_state{{circuit_name="{host}",state="closed"}} 0"#),
            format!(
                r#"circuit_breaker_state_transition_total{{circuit_name="{host}",old_state="closed",new_state="open"}} 1"#
            ),
            format!(r#"circuit_breaker_calls_total{{circuit_name="{host}",outcome="rejected"}} 1"#),
            format!(r#"circuit_breaker_state{{circuit_name="{ROUTE}",state="closed"}} 1"#),
            format!(r#"circuit_breaker_calls_total{{circuit_name="{ROUTE}",outcome="ignored"}} 1"#),
        ],
    );

    // After the cooldown a probe finds the upstream still down and the circuit reopens; after
    // the next one, it is back, and the probe closes the circuit.
    clock.advance(COOLDOWN);
    assert_eq!(statuses(&client, gateway, 1).await, [502]);
    upstream.down.store(false, Ordering::SeqCst);
    clock.advance(COOLDOWN);
    assert_eq!(statuses(&client, gateway, 2).await, [200, 200]);
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 8);
    fusebox.flush(Duration::from_secs(5)).await.unwrap();

    let after = admin_circuit(&client, gateway, &host).await;
    assert_eq!(state_and_calls(&after), ("closed", [4, 4, 0, 1]));
    assert_eq!(after["reopens"], 0, "closing starts the count over");
    let route = admin_circuit(&client, gateway, ROUTE).await;
    assert_eq!(state_and_calls(&route), ("closed", [4, 4, 1, 0]));
    let transitions = [
        ("closed", "open", 1),
        ("open", "half_open", 2),
        ("half_open", "open", 1),
        ("half_open", "closed", 1),
    ];
    let mut expected: Vec<String> = transitions
        .iter()
        .map(|(from, to, n)| {
            format!(
                r#"circuit_breaker_state_transition_total{{circuit_name="{host}",old_state="{from}",new_state="{to}"}} {n}"#
            )
        })
        .collect();
    expected.push(format!(
        r#"circuit_breaker_state{{circuit_name="{host}",state="closed"}} 1"#
    ));
    expected.push(format!(
        r#"circuit_breaker_calls_total{{circuit_name="{host}",outcome="failure"}} 4"#
    ));
    assert_exposes(&metrics(&client, gateway).await, &expected);

    // Slack: the whole incident in one thread, started by the trip; the recovery is also
    // broadcast to the channel. The route circuit never changed state: no message about it.
    let thread = Some(FakeSlack::ts(1));
    let says = |title: &str, transition: &str| format!("{title}: {host} ({transition})");
    let titles = [
        ("🚨 Circuit Breaker Triggered", "closed → open"),
        ("🔄 Attempting Circuit Breaker Recovery", "open → half_open"),
        ("⚠️ Circuit Breaker Re-triggered", "half_open → open"),
        ("🔄 Attempting Circuit Breaker Recovery", "open → half_open"),
        ("✅ Circuit Breaker Recovered", "half_open → closed"),
    ];
    let expected: Vec<Posted> = titles
        .iter()
        .enumerate()
        .map(|(n, (title, transition))| {
            let thread_ts = if n == 0 { None } else { thread.clone() };
            posted(title, says(title, transition), thread_ts, n == 4)
        })
        .collect();
    assert_eq!(slack.posted(), expected);

    // An operator forces the route open from the admin API: callers get the route's 503,
    // the metrics show it, and Slack hears about it outside the upstream's thread.
    let forced = client
        .post(format!(
            "http://{gateway}/admin/circuits/GET%20%2Fquote/force-open"
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 200);
    let forced: Value = forced.json().await.unwrap();
    assert_eq!(
        (&forced["state"], &forced["changed"]),
        (&Value::from("forced_open"), &Value::from(true))
    );
    let (status, retry_after, body) = get_quote(&client, gateway).await;
    assert_eq!((status, retry_after), (503, None));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&body["circuit"], &body["state"]),
        (&Value::from(ROUTE), &Value::from("forced_open"))
    );
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 8);
    fusebox.flush(Duration::from_secs(5)).await.unwrap();
    assert_exposes(
        &metrics(&client, gateway).await,
        &[format!(
            r#"circuit_breaker_state{{circuit_name="{ROUTE}",state="forced_open"}} 1"#
        )],
    );
    let title = "ℹ️ Circuit Breaker State Changed";
    assert_eq!(
        slack.posted().last(),
        Some(&posted(
            title,
            format!("{title}: {ROUTE} (closed → forced_open)"),
            None,
            false
        ))
    );
    assert_eq!(slack.posted().len(), 6);
    fusebox.shutdown(Duration::from_secs(5)).await.unwrap();
}
