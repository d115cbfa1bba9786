//! A hard outage and its recovery, served as Prometheus metrics: the app the alerting check
//! (`.ci/alerting`) scrapes. `cargo run -p examples --example outage -- --help` for the flags.
//!
//! Everything runs on 127.0.0.1. An upstream HTTP service and a client calling it about 20
//! times a second through the circuit `upstream` (reqwest behind `CircuitBreakerLayer`, 5xx
//! responses are failures); `/metrics` is served on `--port`. The upstream follows three
//! phases:
//! - healthy (`--healthy`): it answers 200;
//! - down (`--outage`): it answers 503 to everything, after `--failure-latency`. The circuit
//!   trips, and then after every `--cooldown` lets probes through (`half_open`), which fail:
//!   open, half_open, open, ... for the whole phase;
//! - recovered (`--recovered`): it answers 200 again, and the next probe closes the circuit.
//!
//! Transitions are logged as they happen. At the end it prints what the circuit did and exits
//! with an error if the outage did not trip it or the recovery did not close it.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::routing::get;
use fusebox::classify::HttpClassifier;
use fusebox::trip::{failure_rate, min_requests};
use fusebox::{CircuitBreakerLayer, Fusebox, LogListener};
use fusebox::{Permit, Policy, Retry, Signal, State, Window, duration};
use fusebox_axum::metrics_route;
use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const CIRCUIT: &str = "upstream";
const USAGE: &str = "\
usage: outage [--port N] [--healthy D] [--outage D] [--recovered D] [--cooldown D] [--failure-latency D]
  --port             port of /metrics on 127.0.0.1 (default 0: any free port, printed)
  --healthy          how long the upstream answers 200 first (default 10s)
  --outage           how long it then answers 503 (default 60s)
  --recovered        how long it answers 200 again before the program exits (default 30s)
  --cooldown         how long the open circuit waits before each probe (default 1s)
  --failure-latency  how long the upstream takes to answer 503 (default 0s)
durations are written like 500ms, 10s, 2m";

/// The command line.
#[derive(Debug, Clone, Copy)]
struct Args {
    port: u16,
    healthy: Duration,
    outage: Duration,
    recovered: Duration,
    cooldown: Duration,
    failure_latency: Duration,
}

impl Args {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            port: 0,
            healthy: Duration::from_secs(10),
            outage: Duration::from_secs(60),
            recovered: Duration::from_secs(30),
            cooldown: Duration::from_secs(1),
            failure_latency: Duration::ZERO,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err(USAGE.to_owned());
            }
            let value = args
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            let duration =
                || duration::parse(&value).map_err(|error| format!("{flag}: {error}\n{USAGE}"));
            match flag.as_str() {
                "--port" => {
                    parsed.port = value
                        .parse()
                        .map_err(|_| format!("--port: {value:?} is not a port number (0-65535)"))?;
                }
                "--healthy" => parsed.healthy = duration()?,
                "--outage" => parsed.outage = duration()?,
                "--recovered" => parsed.recovered = duration()?,
                "--cooldown" => parsed.cooldown = duration()?,
                "--failure-latency" => parsed.failure_latency = duration()?,
                _ => return Err(format!("unknown flag {flag:?}\n{USAGE}")),
            }
        }
        if parsed.cooldown.is_zero() {
            return Err(format!("--cooldown must be longer than 0s\n{USAGE}"));
        }
        Ok(parsed)
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
        eprintln!("outage failed: {error}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(false)
        .compact()
        .init();

    let policy = Policy::builder()
        .window(Window::count(10))
        .trip(min_requests(5) & failure_rate(0.5))
        .retry(Retry::cooldown(args.cooldown))
        .permit(Permit::all())
        .build()?;
    let counts = Arc::new(Transitions::default());
    let fusebox = Fusebox::builder()
        .policy(CIRCUIT, policy)
        .listener("log", LogListener::default())
        .listener("prometheus", PrometheusListener::new())
        .listener("counts", counts.clone().listener())
        .build()?;
    let exporter = PrometheusExporter::install(&fusebox)?;
    let circuit = fusebox.circuit(CIRCUIT);

    let down = Arc::new(AtomicBool::new(false));
    let upstream = serve_on(upstream(down.clone(), args.failure_latency), 0).await?;
    let metrics = serve_on(metrics_route(move || exporter.render()), args.port).await?;
    println!("metrics http://{metrics}/metrics");
    println!("upstream http://{upstream}/ through circuit {CIRCUIT:?}");

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let service = CircuitBreakerLayer::new(circuit.clone())
        .classify(HttpClassifier::server_errors())
        .layer(client);
    let url = reqwest::Url::parse(&format!("http://{upstream}/"))?;
    let traffic = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(50));
        loop {
            ticker.tick().await;
            let request = reqwest::Request::new(reqwest::Method::GET, url.clone());
            // Outcomes are the circuit's business; the caller only needs to keep calling.
            tokio::spawn(service.clone().oneshot(request));
        }
    });

    let start = Instant::now();
    let phase = |name: &str, length: Duration| {
        println!(
            "[{:>5.1}s] phase {name} for {}",
            start.elapsed().as_secs_f64(),
            duration::display(length)
        );
    };
    phase("healthy", args.healthy);
    tokio::time::sleep(args.healthy).await;
    phase("outage", args.outage);
    down.store(true, Ordering::Relaxed);
    tokio::time::sleep(args.outage).await;
    phase("recovered", args.recovered);
    down.store(false, Ordering::Relaxed);
    tokio::time::sleep(args.recovered).await;
    traffic.abort();

    fusebox.flush(Duration::from_secs(5)).await?;
    let state = circuit.state();
    let (trips, failed_probes, recoveries) = counts.get();
    println!(
        "done: {trips} trips, {failed_probes} failed probes, {recoveries} recoveries; circuit {CIRCUIT} is {state}"
    );
    fusebox.shutdown(Duration::from_secs(5)).await?;
    if trips == 0 {
        return Err("the outage did not trip the circuit: make --outage longer".into());
    }
    if recoveries == 0 || state != State::Closed {
        return Err(format!(
            "the circuit did not close after the outage (it is {state}): make --recovered longer than --cooldown"
        )
        .into());
    }
    Ok(())
}

async fn serve_on(app: Router, port: u16) -> Result<std::net::SocketAddr, BoxError> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("server on {address} stopped: {error}");
        }
    });
    Ok(address)
}

/// The upstream: 200, or 503 after `latency` while `down` is set.
fn upstream(down: Arc<AtomicBool>, latency: Duration) -> Router {
    Router::new()
        .route(
            "/",
            get(
                move |AxumState(down): AxumState<Arc<AtomicBool>>| async move {
                    if down.load(Ordering::Relaxed) {
                        tokio::time::sleep(latency).await;
                        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
                    } else {
                        (StatusCode::OK, "ok")
                    }
                },
            ),
        )
        .with_state(down)
}

/// Trips, failed probes and recoveries, counted from the circuit's signals.
#[derive(Debug, Default)]
struct Transitions {
    trips: AtomicU64,
    failed_probes: AtomicU64,
    recoveries: AtomicU64,
}

impl Transitions {
    fn listener(
        self: Arc<Self>,
    ) -> impl tower::Service<
        Signal,
        Response = (),
        Error = Infallible,
        Future = std::future::Ready<Result<(), Infallible>>,
    > + Send
    + 'static {
        tower::service_fn(move |signal: Signal| {
            let counter = match (signal.from, signal.to) {
                _ if signal.is_registration() => None,
                (State::Closed, State::Open) => Some(&self.trips),
                (State::HalfOpen, State::Open) => Some(&self.failed_probes),
                (State::HalfOpen, State::Closed) => Some(&self.recoveries),
                _ => None,
            };
            if let Some(counter) = counter {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            std::future::ready(Ok(()))
        })
    }

    fn get(&self) -> (u64, u64, u64) {
        (
            self.trips.load(Ordering::Relaxed),
            self.failed_probes.load(Ordering::Relaxed),
            self.recoveries.load(Ordering::Relaxed),
        )
    }
}
