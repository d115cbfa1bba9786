//! The admin API and the metrics of two replicas sharing a real Redis: fleet-scoped
//! commands, `409` for a local command under a fleet override, the override in the circuit
//! JSON, and `circuit_breaker_fleet_connected{replica}` going to 0 and back to 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use fusebox::Fusebox;
use fusebox_axum::admin::{self, AdminAuth};
use fusebox_axum::metrics_route;
use fusebox_prometheus::PrometheusExporter;
use fusebox_redis::RedisFleet;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::RedisServer;

const TOKEN: &str = "fleet-admin-token-0123456789";

/// A replica serving `/admin` and `/metrics` on 127.0.0.1; its base URL.
async fn serve(fusebox: &Fusebox, exporter: Option<PrometheusExporter>) -> String {
    let mut app = Router::new().nest(
        "/admin",
        admin::router(fusebox.clone(), AdminAuth::bearer(TOKEN).unwrap()),
    );
    if let Some(exporter) = exporter {
        app = app.merge(metrics_route(move || exporter.render()));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn fleet(url: &str, id: &str) -> RedisFleet {
    RedisFleet::builder(url)
        .replica(id)
        .timeout(Duration::from_millis(500))
        .ping_every(Duration::from_millis(200))
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(100))
        .build()
        .unwrap()
}

async fn post(url: String) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn get(url: String) -> Value {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_scope_over_the_admin_api_and_the_connected_gauge() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut redis = RedisServer::start();
        let a_fleet = fleet(&redis.url(), "a");
        let a = Fusebox::builder().fleet(a_fleet.clone()).build().unwrap();
        // The process's one recorder: installed before the fleet reports its connection.
        let exporter = PrometheusExporter::install(&a).unwrap();
        let b_fleet = fleet(&redis.url(), "b");
        let b = Fusebox::builder().fleet(b_fleet.clone()).build().unwrap();
        for (fusebox, fleet) in [(&a, &a_fleet), (&b, &b_fleet)] {
            fusebox.circuit("work");
            fleet.ready(Duration::from_secs(5)).await.unwrap();
        }
        let a_base = serve(&a, Some(exporter.clone())).await;
        let b_base = serve(&b, None).await;

        let (status, body) = post(format!(
            "{a_base}/admin/circuits/work/force-open?scope=fleet"
        ))
        .await;
        assert_eq!(
            (status, &body["state"], &body["changed"]),
            (StatusCode::OK, &json!("forced_open"), &json!(true))
        );
        assert_eq!(body["override"]["origin"], json!("a"));
        until(Duration::from_secs(1), "b shows the override", async || {
            let work = get(format!("{b_base}/admin/circuits/work")).await;
            work["state"] == json!("forced_open")
        })
        .await;
        let work = get(format!("{b_base}/admin/circuits/work")).await;
        let standing = &work["override"];
        assert_eq!(
            (
                &standing["command"],
                &standing["scope"],
                &standing["origin"]
            ),
            (&json!("force_open"), &json!("fleet"), &json!("a"))
        );
        assert_eq!(standing["since"], body["override"]["since"]);

        let (status, refused) = post(format!("{b_base}/admin/circuits/work/reset")).await;
        assert_eq!(
            (status, &refused["error"]),
            (StatusCode::CONFLICT, &json!("overridden"))
        );
        let message = refused["message"].as_str().unwrap();
        assert!(
            message.contains("fleet-wide force_open issued by replica \"a\""),
            "{message}"
        );

        let (status, body) = post(format!("{b_base}/admin/circuits/work/reset?scope=fleet")).await;
        assert_eq!((status, &body["override"]), (StatusCode::OK, &Value::Null));
        until(Duration::from_secs(1), "a closed", async || {
            a.circuit("work").state() == fusebox::State::Closed
        })
        .await;

        let gauge = |value: u8| format!("circuit_breaker_fleet_connected{{replica=\"a\"}} {value}");
        assert!(exporter.render().lines().any(|line| line == gauge(1)));
        redis.kill();
        until(Duration::from_secs(3), "the gauge drops to 0", async || {
            exporter.render().lines().any(|line| line == gauge(0))
        })
        .await;
        let (status, body) =
            post(format!("{a_base}/admin/circuits/work/disable?scope=fleet")).await;
        assert_eq!(
            (status, &body["error"]),
            (StatusCode::SERVICE_UNAVAILABLE, &json!("fleet_unavailable"))
        );
        redis.restart();
        until(
            Duration::from_secs(5),
            "the gauge is back at 1",
            async || exporter.render().lines().any(|line| line == gauge(1)),
        )
        .await;
    })
    .await
    .expect("the test took longer than 30 s");
}
