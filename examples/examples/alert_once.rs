//! "Alert once when the same error happens 100 times in a minute":
//! `cargo run -p examples --example alert_once`.
//!
//! A `time(60s)` window with `failure_count(100)` opens the circuit on the 100th failure of the
//! last minute; that one transition is the alert (a log line here, and a Slack thread when
//! `SLACK_BOT_TOKEN` and `SLACK_CHANNEL_ID` are set). While the circuit is open the same error
//! keeps happening without alerting again; after the cooldown a probe tests whether it is gone.

use std::time::Duration;

use fusebox::config::Config;
use fusebox::{Fusebox, LogListener, Outcome, State};

const POLICY: &str = r#"
[circuits."payments: card declined by issuer"]
window = "time(60s)"
trip = "failure_count(100)"
retry = "cooldown(5m)"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_target(false)
        .compact()
        .init();
    let config = Config::from_toml(POLICY, "alert_once.toml")?;
    let mut builder = Fusebox::builder()
        .config(&config)
        .listener("log", LogListener::default());
    if std::env::var_os("SLACK_BOT_TOKEN").is_some()
        && std::env::var_os("SLACK_CHANNEL_ID").is_some()
    {
        builder = builder.listener("slack", fusebox_slack::SlackListener::from_env()?);
    }
    let fusebox = builder.build()?;

    // The same error, 150 times within a few seconds: only the 100th alerts.
    let errors = fusebox.circuit("payments: card declined by issuer");
    let (mut reported, mut suppressed) = (0, 0);
    for _ in 0..150 {
        match errors.try_acquire() {
            Ok(admission) => {
                admission.finish(Outcome::Failure);
                reported += 1;
            }
            Err(_) => suppressed += 1,
        }
    }
    fusebox.flush(Duration::from_secs(5)).await?;
    let snapshot = errors.snapshot();
    println!(
        "{reported} errors counted, {suppressed} more while the alert stands; circuit is {}, next check in {:?}",
        snapshot.state,
        snapshot.retry_after.unwrap_or_default(),
    );
    assert_eq!(
        (reported, suppressed, snapshot.state),
        (100, 50, State::Open)
    );
    fusebox.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
