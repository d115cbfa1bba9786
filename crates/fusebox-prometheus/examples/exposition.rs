//! Prints the Prometheus exposition of a few circuits after a scripted incident, so that it
//! can be checked with `cargo run --example exposition | promtool check metrics`.
//!
//! `payments` and `inventory` go closed → open → half_open → closed; `search` is forced open;
//! `quotes` only serves calls.

use std::time::Duration;

use fusebox::Fusebox;
use fusebox_core::trip::failure_streak;
use fusebox_core::{ManualClock, Outcome, Permit, Policy, Retry};
use fusebox_prometheus::{PrometheusExporter, PrometheusListener};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A manual clock: the cooldown passes without waiting for it.
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .clock(clock.clone())
        .default_policy(
            Policy::builder()
                .trip(failure_streak(3))
                .retry(Retry::cooldown(Duration::from_secs(30)))
                .permit(Permit::all())
                .build()?,
        )
        .listener("prometheus", PrometheusListener::new())
        .build()?;
    let exporter = PrometheusExporter::install(&fusebox)?;

    for name in ["payments", "inventory"] {
        let circuit = fusebox.circuit(name);
        circuit.try_acquire()?.finish(Outcome::Success);
        for _ in 0..3 {
            circuit.try_acquire()?.finish(Outcome::Failure);
        }
        for _ in 0..2 {
            assert!(circuit.try_acquire().is_err(), "rejected while open");
        }
    }
    clock.advance(Duration::from_secs(30));
    for name in ["payments", "inventory"] {
        // The first call after the cooldown is the probe; it succeeds and closes the circuit.
        fusebox
            .circuit(name)
            .try_acquire()?
            .finish(Outcome::Success);
    }

    let quotes = fusebox.circuit("quotes");
    for outcome in [Outcome::Success, Outcome::Failure, Outcome::Ignored] {
        quotes.try_acquire()?.finish(outcome);
    }

    fusebox.circuit("search");
    fusebox.force_open("search")?;
    assert!(
        fusebox.circuit("search").try_acquire().is_err(),
        "rejected while forced open"
    );

    fusebox.shutdown(Duration::from_secs(5)).await?;
    print!("{}", exporter.render());
    Ok(())
}
