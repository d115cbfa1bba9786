//! One replica of a service whose circuits are shared through Redis. Start two (or more) on
//! one Redis and watch the fleet at work:
//!
//! ```sh
//! cargo run -p examples --example fleet -- --redis redis://127.0.0.1:6379 --listen 127.0.0.1:8081 --replica a --token <admin token>
//! cargo run -p examples --example fleet -- --redis redis://127.0.0.1:6379 --listen 127.0.0.1:8082 --replica b --token <admin token>
//! ```
//!
//! Each serves
//! - `GET /work`, guarded by the circuit `work` (trips shared with the fleet,
//!   `failure_streak(3)`, `cooldown(5s)`): `?fail=1` answers 500, anything else 200; while the
//!   circuit is open, 503 with `Retry-After`;
//! - `/admin`: the admin API and dashboard (`/admin?token=<token>` in a browser), whose
//!   commands take `?scope=fleet`;
//! - `/metrics`: Prometheus, `circuit_breaker_fleet_connected{replica}` included.
//!
//! Three failures on `a` open `work` on `b` too; after 5 s one replica probes, and its
//! recovery closes both. `curl -X POST -H "Authorization: Bearer $TOKEN"
//! 'http://127.0.0.1:8081/admin/circuits/work/force-open?scope=fleet'` forces it open on both.
//! Without Redis (or with a wrong password) it says why and serves on its own.

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use fusebox::classify::HttpClassifier;
use fusebox::trip::failure_streak;
use fusebox::{CircuitBreakerLayer, Fusebox, LogListener, Permit, Policy, Retry};
use fusebox_axum::admin::{self, AdminAuth};
use fusebox_axum::{Json503Layer, metrics_route};
use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
use fusebox_redis::RedisFleet;
use serde::Deserialize;
use tokio::net::TcpListener;

const USAGE: &str = "\
usage: fleet --redis URL --listen HOST:PORT --replica ID --token TOKEN [--key-prefix PREFIX]
  --redis       the fleet's Redis: redis://[:password@]host:port, rediss://... for TLS
  --listen      where to serve /work, /admin and /metrics (e.g. 127.0.0.1:8081)
  --replica     this replica's id, as the other replicas' signals name it
  --token       the admin token (at least 16 bytes)
  --key-prefix  what the fleet's Redis keys start with (default fusebox:example:)";

struct Args {
    redis: String,
    listen: String,
    replica: String,
    token: String,
    prefix: String,
}

impl Args {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let (mut redis, mut listen, mut replica, mut token) = (None, None, None, None);
        let mut prefix = "fusebox:example:".to_owned();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err(USAGE.to_owned());
            }
            let value = args
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            match flag.as_str() {
                "--redis" => redis = Some(value),
                "--listen" => listen = Some(value),
                "--replica" => replica = Some(value),
                "--token" => token = Some(value),
                "--key-prefix" => prefix = value,
                _ => return Err(format!("unknown flag {flag:?}\n{USAGE}")),
            }
        }
        let missing = |name: &str| format!("{name} is required\n{USAGE}");
        Ok(Args {
            redis: redis.ok_or_else(|| missing("--redis"))?,
            listen: listen.ok_or_else(|| missing("--listen"))?,
            replica: replica.ok_or_else(|| missing("--replica"))?,
            token: token.ok_or_else(|| missing("--token"))?,
            prefix,
        })
    }
}

#[tokio::main]
async fn main() {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(args).await {
        eprintln!("fleet failed: {error}");
        std::process::exit(1);
    }
}

#[derive(Deserialize)]
struct Work {
    fail: Option<String>,
}

async fn work(Query(work): Query<Work>) -> (StatusCode, &'static str) {
    match work.fail.as_deref() {
        Some("1") => (StatusCode::INTERNAL_SERVER_ERROR, "failed, as asked\n"),
        _ => (StatusCode::OK, "done\n"),
    }
}

async fn run(args: Args) -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(false)
        .compact()
        .init();
    let auth =
        AdminAuth::bearer(args.token.clone()).map_err(|error| format!("--token: {error}"))?;
    let fleet = RedisFleet::builder(args.redis)
        .replica(args.replica.clone())
        .key_prefix(args.prefix)
        .build()
        .map_err(|error| format!("--redis: {error}"))?;
    let fusebox = Fusebox::builder()
        .policy(
            "work",
            Policy::builder()
                .trip(failure_streak(3))
                .retry(Retry::cooldown(Duration::from_secs(5)))
                // The first call after the cooldown probes: one probe decides for the fleet.
                .permit(Permit::all())
                .build()?,
        )
        .fleet(fleet.clone())
        .share_trips("work")
        .listener("log", LogListener::default())
        .listener("prometheus", PrometheusListener::new())
        .build()?;
    let exporter = PrometheusExporter::install(&fusebox)?;
    let breaker =
        CircuitBreakerLayer::new(fusebox.circuit("work")).classify(HttpClassifier::server_errors());
    let app = Router::new()
        .route("/work", get(work))
        .route_layer(Json503Layer::new(breaker))
        .merge(metrics_route(move || exporter.render()))
        .nest_service("/admin", admin::router(fusebox.clone(), auth));

    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|error| format!("--listen {}: {error}", args.listen))?;
    let address = listener.local_addr()?;
    match fleet.ready(Duration::from_secs(3)).await {
        Ok(()) => println!("replica {} joined the fleet", args.replica),
        Err(error) => println!(
            "replica {} runs on its own for now (it keeps reconnecting): {error}",
            args.replica
        ),
    }
    println!("work       http://{address}/work (?fail=1 fails)");
    println!("dashboard  http://{address}/admin?token=<token>");
    println!("metrics    http://{address}/metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    fusebox.shutdown(Duration::from_secs(2)).await?;
    Ok(())
}
