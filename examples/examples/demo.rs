//! The fusebox tour: `cargo run -p examples --example demo` (add `-- --serve` to keep it up).
//!
//! Everything runs on 127.0.0.1 and stops by itself after about 45 seconds:
//! - two upstream services: `inventory` follows a script (healthy → failing → slow →
//!   recovering), `pricing` stays healthy;
//! - an axum gateway whose outbound reqwest client has one circuit per upstream, and whose
//!   routes have one circuit each (`GET /inventory/{item}`, `GET /pricing/{item}`);
//! - a traffic generator calling the gateway about 40 times a second.
//!
//! Transitions print through the log listener, a progress line shows calls, failures,
//! rejections and every circuit's state, `/metrics` and the admin dashboard are served while it
//! runs, and Slack gets the incident thread when `SLACK_BOT_TOKEN` and `SLACK_CHANNEL_ID` are
//! set. It ends with each circuit's timeline.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fusebox::classify::HttpClassifier;
use fusebox::config::Config;
use fusebox::key::key_fn;
use fusebox::{BoxError, CircuitBreakerLayer, Fusebox, LogListener, Rejected, Signal, State};
use fusebox_axum::admin::{self, AdminAuth};
use fusebox_axum::{RejectedResponse, metrics_route, route_breaker};
use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
use tokio::net::TcpListener;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};

/// How long the scripted run lasts.
const RUN: Duration = Duration::from_secs(45);
/// The admin token of the demo (a real deployment reads it from a secret).
const ADMIN_TOKEN: &str = "fusebox-demo-admin-token";

/// What the `inventory` upstream does at a moment of the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Healthy,
    Failing,
    Slow,
    Recovering,
}

impl Phase {
    fn at(elapsed: Duration) -> Phase {
        match elapsed.as_secs() {
            0..8 => Phase::Healthy,
            8..18 => Phase::Failing,
            18..28 => Phase::Slow,
            _ => Phase::Recovering,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Failing => "failing",
            Phase::Slow => "slow",
            Phase::Recovering => "recovering",
        }
    }
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), BoxError> {
    let serve = std::env::args().skip(1).any(|arg| arg == "--serve");
    let start = Instant::now();
    // Log lines as short as the progress lines: seconds since the start, level, message (the
    // log listener's structured fields repeat what the message says).
    tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_timer(SinceStart(start))
        .fmt_fields(tracing_subscriber::fmt::format::debug_fn(
            |out, field, value| match field.name() {
                "message" => write!(out, "{value:?}"),
                _ => Ok(()),
            },
        ))
        .init();

    // Listeners: the log, Prometheus, a timeline for the final summary, Slack when configured.
    let timeline = Timeline::default();
    let config = Config::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/demo.toml"))?;
    let mut builder = Fusebox::builder()
        .config(&config)
        .listener("log", LogListener::default())
        .listener("prometheus", PrometheusListener::new())
        .listener("timeline", timeline.listener(start));
    builder = slack(builder);
    let fusebox = builder.build()?;
    let exporter = PrometheusExporter::install(&fusebox)?;

    // Upstreams.
    let inventory = serve_on(upstream_router(start, true), 0).await?;
    let pricing = serve_on(upstream_router(start, false), 0).await?;

    // The gateway: per-route circuits inbound, per-upstream circuits outbound.
    let upstream_names: Arc<HashMap<u16, String>> = Arc::new(HashMap::from([
        (inventory.port(), "upstream inventory".to_owned()),
        (pricing.port(), "upstream pricing".to_owned()),
    ]));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let outbound = CircuitBreakerLayer::keyed(
        fusebox.clone(),
        key_fn(move |request: &reqwest::Request| {
            let port = request.url().port().unwrap_or_default();
            upstream_names
                .get(&port)
                .cloned()
                .unwrap_or_else(|| format!("upstream {port}"))
        }),
    )
    .classify(HttpClassifier::server_errors())
    .layer(client);
    let outbound = BoxCloneSyncService::new(outbound);
    let gateway_state = Gateway {
        outbound,
        upstreams: Arc::new(HashMap::from([
            ("inventory", inventory),
            ("pricing", pricing),
        ])),
    };
    let render = exporter.clone();
    let gateway_app = Router::new()
        .route(
            "/inventory/{item}",
            get(|gateway, item| forward(gateway, "inventory", item)),
        )
        .route(
            "/pricing/{item}",
            get(|gateway, item| forward(gateway, "pricing", item)),
        )
        .route_layer(route_breaker(&fusebox))
        .with_state(gateway_state)
        .merge(metrics_route(move || render.render()))
        .nest_service(
            "/admin",
            admin::router(fusebox.clone(), AdminAuth::bearer(ADMIN_TOKEN)?),
        );
    let port = match std::env::var("FUSEBOX_DEMO_PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("FUSEBOX_DEMO_PORT={port:?} is not a port number"))?,
        Err(_) => 0,
    };
    let gateway = serve_on(gateway_app, port).await?;

    println!("fusebox demo: a flaky upstream behind a protected gateway, all on 127.0.0.1");
    println!("  gateway    http://{gateway}/inventory/42  http://{gateway}/pricing/42");
    println!("  dashboard  http://{gateway}/admin?token={ADMIN_TOKEN}");
    println!("  metrics    http://{gateway}/metrics");
    println!("  script     inventory: healthy 0-8s, failing 8-18s, slow 18-28s, recovering after");
    println!();

    let counts = Arc::new(ClientCounts::default());
    let traffic = tokio::spawn(traffic(gateway, start, counts.clone()));
    let mut ticker = tokio::time::interval(Duration::from_secs(2));
    ticker.tick().await;
    while start.elapsed() < RUN {
        ticker.tick().await;
        println!("{}", progress(&fusebox, &counts, start.elapsed()));
    }
    traffic.await?;
    fusebox.flush(Duration::from_secs(5)).await?;

    println!();
    print!("{}", timeline.summary(&fusebox));
    println!();
    print!("{}", totals(&fusebox));

    if serve {
        println!();
        println!("--serve: still serving the URLs above; press Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    fusebox.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

/// Adds the Slack listener when the environment configures it.
fn slack(builder: fusebox::FuseboxBuilder) -> fusebox::FuseboxBuilder {
    if std::env::var_os("SLACK_BOT_TOKEN").is_none()
        || std::env::var_os("SLACK_CHANNEL_ID").is_none()
    {
        println!("(set SLACK_BOT_TOKEN and SLACK_CHANNEL_ID to also post the incident to Slack)");
        return builder;
    }
    match fusebox_slack::SlackListener::from_env() {
        Ok(listener) => builder.listener("slack", listener),
        Err(error) => {
            println!("Slack listener not configured: {error}");
            builder
        }
    }
}

async fn serve_on(app: Router, port: u16) -> Result<SocketAddr, BoxError> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("server on {address} stopped: {error}");
        }
    });
    Ok(address)
}

/// An upstream: `scripted` follows the phases, otherwise always healthy.
fn upstream_router(start: Instant, scripted: bool) -> Router {
    let served = Arc::new(AtomicU64::new(0));
    Router::new().route(
        "/items/{item}",
        get(move |Path(item): Path<u32>| {
            let served = served.fetch_add(1, Ordering::Relaxed);
            async move {
                let phase = if scripted {
                    Phase::at(start.elapsed())
                } else {
                    Phase::Healthy
                };
                match phase {
                    // Most calls fail; a few still get through, as in real outages.
                    Phase::Failing if served % 5 != 0 => {
                        return (StatusCode::INTERNAL_SERVER_ERROR, "database unavailable")
                            .into_response();
                    }
                    Phase::Slow => tokio::time::sleep(Duration::from_millis(350)).await,
                    _ => tokio::time::sleep(Duration::from_millis(3)).await,
                }
                format!("item {item}: in stock ({})", phase.name()).into_response()
            }
        }),
    )
}

/// The outbound client behind its per-upstream circuits.
type Outbound = BoxCloneSyncService<reqwest::Request, reqwest::Response, BoxError>;

#[derive(Clone)]
struct Gateway {
    outbound: Outbound,
    upstreams: Arc<HashMap<&'static str, SocketAddr>>,
}

/// Calls the upstream through the outbound circuit and answers with what came back.
async fn forward(
    AxumState(gateway): AxumState<Gateway>,
    upstream: &'static str,
    Path(item): Path<u32>,
) -> Response {
    let Some(address) = gateway.upstreams.get(upstream) else {
        return (StatusCode::NOT_FOUND, "no such upstream").into_response();
    };
    let url = match format!("http://{address}/items/{item}").parse() {
        Ok(url) => url,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad item").into_response(),
    };
    let request = reqwest::Request::new(reqwest::Method::GET, url);
    match gateway.outbound.oneshot(request).await {
        Ok(response) if response.status().is_success() => {
            let body = response.text().await.unwrap_or_default();
            (StatusCode::OK, body).into_response()
        }
        Ok(response) => (
            StatusCode::BAD_GATEWAY,
            format!("{upstream} answered {}", response.status()),
        )
            .into_response(),
        // The upstream circuit's rejection: a 503 the route circuit around this handler
        // recognizes (it carries the `Rejected`) and does not count as the route's failure.
        Err(error) => match error.downcast::<Rejected>() {
            Ok(rejected) => RejectedResponse(*rejected).into_response(),
            Err(error) => (StatusCode::BAD_GATEWAY, format!("{upstream}: {error}")).into_response(),
        },
    }
}

/// What the traffic generator saw.
#[derive(Debug, Default)]
struct ClientCounts {
    ok: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
}

/// About 40 requests a second to the gateway until the run ends; at most 64 in flight.
async fn traffic(gateway: SocketAddr, start: Instant, counts: Arc<ClientCounts>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap_or_default();
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    let mut n = 0u32;
    while start.elapsed() < RUN - Duration::from_secs(1) {
        ticker.tick().await;
        for route in ["inventory", "pricing"] {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                return;
            };
            n = n.wrapping_add(1);
            let (client, counts) = (client.clone(), counts.clone());
            let url = format!("http://{gateway}/{route}/{}", n % 100);
            tokio::spawn(async move {
                let counter = match client.get(url).send().await {
                    Ok(response) if response.status().is_success() => &counts.ok,
                    Ok(response) if response.status() == StatusCode::SERVICE_UNAVAILABLE => {
                        &counts.rejected
                    }
                    _ => &counts.failed,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                drop(permit);
            });
        }
    }
    // Wait for the requests still in flight.
    let _ = limit.acquire_many(64).await;
}

/// The widest line the demo prints.
const WIDTH: usize = 100;

/// `[12.1s failing   ] client: ... | upstream inventory open`: the client's counts and the
/// circuits that are not closed, wrapped at [`WIDTH`].
fn progress(fusebox: &Fusebox, counts: &ClientCounts, elapsed: Duration) -> String {
    let mut out = format!(
        "[{:>4.1}s {:<10}] client: {} ok, {} failed, {} rejected |",
        elapsed.as_secs_f64(),
        Phase::at(elapsed).name(),
        counts.ok.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        counts.rejected.load(Ordering::Relaxed),
    );
    let mut entries: Vec<String> = fusebox
        .snapshot()
        .into_iter()
        .filter(|snapshot| snapshot.state != State::Closed)
        .map(|snapshot| format!("{} {}", snapshot.name, snapshot.state.as_str()))
        .collect();
    if entries.is_empty() {
        entries.push("every circuit closed".to_owned());
    }
    let indent = " ".repeat(19);
    let mut column = out.chars().count();
    for (n, entry) in entries.iter().enumerate() {
        if n > 0 {
            out.push(',');
            column += 1;
        }
        if column + 1 + entry.chars().count() > WIDTH {
            out.push('\n');
            out.push_str(&indent);
            column = indent.len();
        } else {
            out.push(' ');
            column += 1;
        }
        out.push_str(entry);
        column += entry.chars().count();
    }
    out
}

/// The log's timestamps: seconds since the demo started, like the progress lines.
struct SinceStart(Instant);

impl tracing_subscriber::fmt::time::FormatTime for SinceStart {
    fn format_time(
        &self,
        out: &mut tracing_subscriber::fmt::format::Writer<'_>,
    ) -> std::fmt::Result {
        write!(out, "[{:>4.1}s]", self.0.elapsed().as_secs_f64())
    }
}

/// Each circuit's calls by outcome, as a table.
fn totals(fusebox: &Fusebox) -> String {
    let mut out = format!(
        "{:<24} {:<10} {:>8} {:>8} {:>8} {:>9}\n",
        "circuit", "state", "success", "failure", "ignored", "rejected"
    );
    for snapshot in fusebox.snapshot() {
        let calls = snapshot.calls;
        out.push_str(&format!(
            "{:<24} {:<10} {:>8} {:>8} {:>8} {:>9}\n",
            snapshot.name.as_ref(),
            snapshot.state.as_str(),
            calls.success,
            calls.failure,
            calls.ignored,
            calls.rejected
        ));
    }
    out
}

/// Every transition, with the time since the demo started, for the closing summary.
#[derive(Clone, Default)]
struct Timeline(Arc<Mutex<Vec<(Duration, Signal)>>>);

impl Timeline {
    fn listener(
        &self,
        start: Instant,
    ) -> impl tower::Service<
        Signal,
        Response = (),
        Error = Infallible,
        Future = std::future::Ready<Result<(), Infallible>>,
    > + Send
    + 'static {
        let entries = self.0.clone();
        tower::service_fn(move |signal: Signal| {
            if !signal.is_registration() {
                if let Ok(mut entries) = entries.lock() {
                    entries.push((start.elapsed(), signal));
                }
            }
            std::future::ready(Ok(()))
        })
    }

    fn summary(&self, fusebox: &Fusebox) -> String {
        let entries = match self.0.lock() {
            Ok(entries) => entries.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let mut out = String::from("timeline of each circuit\n");
        for snapshot in fusebox.snapshot() {
            out.push_str(&format!(
                "  {} (now {})\n",
                snapshot.name,
                snapshot.state.as_str()
            ));
            // The rule once, not on every line it tripped.
            if let Some(circuit) = fusebox.get(&snapshot.name) {
                out.push_str(&format!(
                    "           trips on {}\n",
                    circuit.policy().trip()
                ));
            }
            let mut any = false;
            for (at, signal) in entries.iter().filter(|(_, s)| s.circuit == snapshot.name) {
                any = true;
                let mut rate = signal
                    .metrics
                    .failure_rate()
                    .map(|r| format!(", failure rate {:.0}%", r * 100.0))
                    .unwrap_or_default();
                // A latency rule trips with few failures: say how slow it was.
                for (threshold, _) in signal.metrics.slow() {
                    if let Some(slow) = signal.metrics.slow_rate(threshold) {
                        let threshold = fusebox::duration::display(threshold);
                        rate.push_str(&format!(", {:.0}% over {threshold}", slow * 100.0));
                    }
                }
                out.push_str(&format!(
                    "    {:>5.1}s  {:<9} → {:<9}  {}{rate}\n",
                    at.as_secs_f64(),
                    signal.from.as_str(),
                    signal.to.as_str(),
                    signal.cause.as_str(),
                ));
            }
            if !any {
                out.push_str("           stayed closed\n");
            }
        }
        let opened = entries.iter().filter(|(_, s)| s.to == State::Open).count();
        out.push_str(&format!(
            "{} transitions, {opened} into open\n",
            entries.len()
        ));
        out
    }
}
