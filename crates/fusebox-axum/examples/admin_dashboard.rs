//! The admin dashboard over a handful of circuits in every interesting state, with ten
//! minutes of history behind them, served until the process is killed.
//!
//! ```sh
//! cargo run -p fusebox-axum --example admin_dashboard
//! FUSEBOX_ADMIN_PORT=8088 FUSEBOX_ADMIN_TOKEN=my-token cargo run -p fusebox-axum --example admin_dashboard
//! ```
//!
//! At start, the example replays ten minutes of traffic in an instant on a clock that starts
//! ten minutes in the past and skips ahead 15 s at a time, reading the registry after each
//! step as a Prometheus scrape would: the dashboard opens with transitions (a trip at 50 %,
//! a recovery, a reopening, operators' commands) and failure-rate sparklines, and from then on
//! the clock runs in real time. A policy is configured for `checkout`, which no circuit uses
//! (the route circuit is `POST /checkout`): the dashboard lists it as not used yet.
//!
//! The router is nested under `/admin` with `nest_service`, so `/admin` and `/admin/` both
//! serve the page. It prints the dashboard's address (token included: opening it once signs
//! the browser in with a session cookie) on one line starting with `dashboard: `, then the
//! API's, so scripts and headless browsers can read them. The port comes from
//! `FUSEBOX_ADMIN_PORT` (default: any free port), the token from `FUSEBOX_ADMIN_TOKEN`
//! (default: `fusebox-demo-token`; at least 16 bytes).

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use fusebox::{Clock, Fusebox, Outcome, Permit, Policy, Retry, Window};
use fusebox_axum::admin::{self, AdminAuth};

const DEMO_TOKEN: &str = "fusebox-demo-token";

/// How much traffic is replayed at start, in steps of [`STEP`].
const REPLAY: Duration = Duration::from_secs(600);
const STEP: Duration = Duration::from_secs(15);

/// Long names, to show how they wrap: a keyed circuit per upstream host, and a route circuit
/// (named by method and template, as `fusebox_axum::route_breaker` names them).
const LONG_HOST: &str = "inventory-service.eu-central-1.internal.example.com:8443";
const LONG_ROUTE: &str =
    "GET /api/v2/organizations/{organization_id}/repositories/{repository_id}/pull_requests";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let port: u16 = match std::env::var("FUSEBOX_ADMIN_PORT") {
        Ok(port) => port
            .parse()
            .map_err(|error| format!("FUSEBOX_ADMIN_PORT={port:?} is not a port: {error}"))?,
        Err(_) => 0,
    };
    let token = std::env::var("FUSEBOX_ADMIN_TOKEN").unwrap_or_else(|_| DEMO_TOKEN.to_owned());
    let auth = AdminAuth::bearer(token.clone())
        .map_err(|error| format!("FUSEBOX_ADMIN_TOKEN: {error}"))?;

    let clock = ReplayClock::starting(REPLAY);
    let fusebox = Fusebox::builder()
        .clock(clock.clone())
        .default_policy(
            Policy::builder()
                .trip("min_requests(20) & failure_rate(0.5)".parse()?)
                // Long enough that `payments` stays open while you look at it.
                .retry(Retry::cooldown(Duration::from_secs(1800)))
                .record_latency(true)
                .build()?,
        )
        .policy(
            "shipping",
            Policy::builder()
                .window(Window::count(20))
                .trip("min_requests(10) & failure_rate(0.5)".parse()?)
                .retry(Retry::cooldown(Duration::from_secs(60)))
                .permit(Permit::all())
                .close_after(3)
                .build()?,
        )
        // Meant for the route `POST /checkout`, whose circuit has that name: never used.
        .policy("checkout", Policy::builder().close_after(3).build()?)
        .build()?;
    replay(&fusebox, &clock)?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("dashboard: http://{address}/admin?token={token}");
    println!("api: curl -H 'Authorization: Bearer {token}' http://{address}/admin/circuits");
    let app = Router::new().nest_service("/admin", admin::router(fusebox, auth));
    axum::serve(listener, app).await?;
    Ok(())
}

/// Forty steps of 15 s: who calls what, and what operators did.
fn replay(fusebox: &Fusebox, clock: &ReplayClock) -> Result<(), Box<dyn Error>> {
    let steps = REPLAY.as_secs() / STEP.as_secs();
    for step in 0..steps {
        calls(fusebox, "search", 20, u64::from((10..13).contains(&step)));
        calls(fusebox, "inventory", 10, step % 4);
        calls(fusebox, LONG_HOST, 8, u64::from(step % 5 == 0));
        calls(fusebox, LONG_ROUTE, 5, u64::from(step % 7 == 0));
        calls(fusebox, "POST /checkout", 12, step % 3 / 2);
        // Healthy, then failing more and more until it trips at 50 % (about 2.5 min ago).
        let failing = [5, 8, 12, 16, 20];
        let failed = step
            .checked_sub(26)
            .and_then(|at| failing.get(usize::try_from(at).ok()?))
            .copied()
            .unwrap_or(if step < 26 { 1 } else { 20 });
        calls(fusebox, "payments", 20, failed);
        // Trips, recovers after three good probes, trips again, fails its probes (reopens)
        // and is probing again now.
        match step {
            8 | 30 => calls(fusebox, "shipping", 20, 20),
            12 => calls(fusebox, "shipping", 3, 0),
            34 => calls(fusebox, "shipping", 10, 10),
            38 => calls(fusebox, "shipping", 1, 0),
            9..=11 | 31..=33 | 35..=37 | 39 => {}
            _ => calls(fusebox, "shipping", 10, u64::from(step % 6 == 0)),
        }
        calls(fusebox, "ledger", 6, 0);
        calls(
            fusebox,
            "recommendations",
            10,
            if step < 18 { 1 } else { 6 },
        );
        calls(fusebox, "emails", 10, step % 3);
        match step {
            5 => {
                fusebox.metrics_only("emails")?;
            }
            20 => {
                fusebox.disable("recommendations")?;
            }
            32 => {
                fusebox.force_open("ledger")?;
            }
            _ => {}
        }
        // A scrape: the failure rates of this step.
        fusebox.snapshot();
        if step + 1 < steps {
            clock.skip(STEP);
        }
    }
    Ok(())
}

/// `count` calls through the circuit named `name`, `failed` of them failures spread evenly;
/// rejected calls are counted by the circuit.
fn calls(fusebox: &Fusebox, name: &str, count: u64, failed: u64) {
    let circuit = fusebox.circuit(name);
    for call in 0..count {
        let fails = (call + 1) * failed / count > call * failed / count;
        if let Ok(admission) = circuit.try_acquire() {
            admission.finish(if fails {
                Outcome::Failure
            } else {
                Outcome::Success
            });
        }
    }
}

/// Real time, but starting `replay` in the past and skipping ahead on request: the replay
/// runs through minutes in an instant and ends at the real wall-clock time.
#[derive(Clone, Debug)]
struct ReplayClock {
    origin: Instant,
    wall_origin: SystemTime,
    skipped: Arc<AtomicU64>,
}

impl ReplayClock {
    fn starting(replay: Duration) -> ReplayClock {
        ReplayClock {
            origin: Instant::now(),
            wall_origin: SystemTime::now()
                .checked_sub(replay)
                .unwrap_or(SystemTime::UNIX_EPOCH),
            skipped: Arc::new(AtomicU64::new(0)),
        }
    }

    fn skip(&self, step: Duration) {
        let nanos = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
        self.skipped.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock for ReplayClock {
    fn now(&self) -> Duration {
        self.origin.elapsed() + Duration::from_nanos(self.skipped.load(Ordering::SeqCst))
    }

    fn wall(&self) -> SystemTime {
        self.wall_origin + self.now()
    }
}
