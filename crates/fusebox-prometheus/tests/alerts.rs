//! `fusebox_error_events_total` for the error-burst layer: a series only for fingerprints that
//! alerted, and their states through the Prometheus listener like any circuit's.
#![cfg(feature = "alerts")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use fusebox::Fusebox;
use fusebox::alerts::ErrorBursts;
use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn error_events_are_exported_for_fingerprints_that_alerted_only() {
    let fusebox = Fusebox::builder()
        .listener("prometheus", PrometheusListener::new())
        .build()
        .unwrap();
    let exporter = PrometheusExporter::install(&fusebox).unwrap();
    let alerts = ErrorBursts::new(&fusebox);
    let subscriber = tracing_subscriber::registry().with(alerts.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    let declined = |n: u32| tracing::error!("payment {n} declined");
    let full = || tracing::error!("disk full");
    for n in 0..150 {
        declined(n);
    }
    for _ in 0..10 {
        full();
    }
    drop(guard);
    fusebox.flush(Duration::from_secs(5)).await.unwrap();

    let bursts = alerts.bursts();
    let (full, declined) = (&bursts[0].fingerprint, &bursts[1].fingerprint);
    assert!(declined.contains("payment {n} declined"), "{declined}");
    let text = exporter.render();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("fusebox_error_events_total"))
        .collect();
    // The exposition escapes `"` and `\` in label values; these fingerprints have neither.
    assert_eq!(
        lines,
        [format!(
            "fusebox_error_events_total{{fingerprint=\"{declined}\"}} 150"
        )]
    );
    assert!(text.contains(
        "# HELP fusebox_error_events_total Logged errors counted by fusebox's error-burst layer"
    ));
    assert!(text.contains(&format!(
        "circuit_breaker_state{{circuit_name=\"{declined}\",state=\"open\"}} 1"
    )));
    assert!(text.contains(&format!(
        "circuit_breaker_state{{circuit_name=\"{full}\",state=\"closed\"}} 1"
    )));
}
