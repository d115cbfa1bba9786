//! "Alert once when the same error happens 100 times in a minute", from your logs:
//! `cargo run -p examples --example alert_once`.
//!
//! The whole program is a `tracing` subscriber with fusebox's error-burst layer, and a loop
//! that logs the same error 150 times. The 100th error of the minute opens the error's
//! circuit: that one transition is the alert (the log listener's `WARN` line below, a Slack
//! thread when `SLACK_BOT_TOKEN` and `SLACK_CHANNEL_ID` are set, and one POST to
//! `FUSEBOX_WEBHOOK_URL` when it is set: registrations are not posted). The last 50 errors
//! send nothing. After the cooldown (5 minutes), once the error has stayed below the rule
//! for a minute, the alert ends in the same Slack thread.

use std::time::Duration;

use fusebox::alerts::ErrorBursts;
use fusebox::{Fusebox, LogListener, State};
use tracing_subscriber::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Fusebox::builder().listener("log", LogListener::default());
    if let Ok(url) = std::env::var("FUSEBOX_WEBHOOK_URL") {
        let webhook = fusebox_slack::WebhookListener::builder(url).build()?;
        builder = builder.listener("webhook", webhook);
    }
    if std::env::var_os("SLACK_BOT_TOKEN").is_some()
        && std::env::var_os("SLACK_CHANNEL_ID").is_some()
    {
        builder = builder.listener("slack", fusebox_slack::SlackListener::from_env()?);
    }
    let fusebox = builder.build()?;
    let alerts = ErrorBursts::new(&fusebox);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .compact(),
        )
        .with(alerts.clone())
        .init();

    for attempt in 1..=150 {
        tracing::error!(attempt, "payments: card declined by issuer");
    }

    fusebox.flush(Duration::from_secs(5)).await?;
    let burst = &alerts.bursts()[0];
    println!(
        "{} errors logged: 1 alert, {} suppressed while it stands; circuit {} is {}",
        burst.events, burst.suppressed, burst.fingerprint, burst.state,
    );
    assert_eq!(
        (burst.events, burst.suppressed, burst.state),
        (150, 50, State::Open)
    );
    fusebox.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
