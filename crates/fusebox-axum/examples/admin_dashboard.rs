//! The admin dashboard over a handful of circuits in every interesting state, served until
//! the process is killed.
//!
//! ```sh
//! cargo run -p fusebox-axum --example admin_dashboard
//! FUSEBOX_ADMIN_PORT=8088 FUSEBOX_ADMIN_TOKEN=my-token cargo run -p fusebox-axum --example admin_dashboard
//! ```
//!
//! The router is nested under `/admin`, as an application would. It prints the dashboard's
//! address (token included: opening it once signs the browser in with a session cookie) on
//! one line starting with `dashboard: `, then the API's, so scripts and headless browsers
//! can read them. The port comes from `FUSEBOX_ADMIN_PORT` (default: any free port), the
//! token from `FUSEBOX_ADMIN_TOKEN` (default: `fusebox-demo-token`; at least 16 bytes).

use std::error::Error;
use std::time::Duration;

use axum::Router;
use fusebox::Fusebox;
use fusebox_axum::admin::{self, AdminAuth};
use fusebox_core::trip::{failure_rate, min_requests};
use fusebox_core::{Outcome, Policy, Retry, State};

const DEMO_TOKEN: &str = "fusebox-demo-token";

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

    let fusebox = Fusebox::builder()
        .default_policy(
            Policy::builder()
                .trip(min_requests(4) & failure_rate(0.5))
                // Long enough that `payments` stays open while you look at it.
                .retry(Retry::cooldown(Duration::from_secs(600)))
                .record_latency(true)
                .build()?,
        )
        .build()?;
    record(&fusebox, "search", &[Outcome::Success; 12]);
    record(
        &fusebox,
        "inventory",
        &[Outcome::Success, Outcome::Failure, Outcome::Success],
    );
    // Trips for real: four calls, three failures.
    record(
        &fusebox,
        "payments",
        &[
            Outcome::Success,
            Outcome::Failure,
            Outcome::Failure,
            Outcome::Failure,
        ],
    );
    for _ in 0..5 {
        // Rejected: counted on the card.
        let _ = fusebox.circuit("payments").try_acquire();
    }
    fusebox.circuit("shipping").transition_to(State::HalfOpen);
    record(&fusebox, "ledger", &[Outcome::Success; 3]);
    fusebox.force_open("ledger")?;
    record(&fusebox, "recommendations", &[Outcome::Failure; 2]);
    fusebox.disable("recommendations")?;
    record(&fusebox, "emails", &[Outcome::Success, Outcome::Failure]);
    fusebox.metrics_only("emails")?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("dashboard: http://{address}/admin?token={token}");
    println!("api: curl -H 'Authorization: Bearer {token}' http://{address}/admin/circuits");
    let app = Router::new().nest("/admin", admin::router(fusebox, auth));
    axum::serve(listener, app).await?;
    Ok(())
}

/// Runs calls with the given outcomes through the circuit named `name`.
fn record(fusebox: &Fusebox, name: &str, outcomes: &[Outcome]) {
    let circuit = fusebox.circuit(name);
    for &outcome in outcomes {
        if let Ok(call) = circuit.try_acquire() {
            call.finish(outcome);
        }
    }
}
