//! Prometheus metrics for [`fusebox`] circuits, over the [`metrics`] facade.
//!
//! The metric names and labels are those existing circuit-breaker dashboards, alerts and
//! PromQL already query; call counts and failure rates come on top:
//!
//! | metric | type | labels | written by |
//! |---|---|---|---|
//! | `circuit_breaker_state` | gauge, one-hot over the six states | `circuit_name`, `state` | [`PrometheusListener`], from registration on |
//! | `circuit_breaker_state_transition_total` | counter | `circuit_name`, `old_state`, `new_state` | [`PrometheusListener`] |
//! | `circuit_breaker_calls_total` | counter | `circuit_name`, `outcome` (`success`, `failure`, `ignored`, `rejected`) | [`record_calls`] |
//! | `circuit_breaker_failure_rate` | gauge | `circuit_name` | [`record_calls`] |
//! | `fusebox_error_events_total` | counter | `fingerprint` | [`record_calls`], with feature `alerts`: logged errors of each fingerprint of `fusebox::alerts` that has alerted |
//!
//! Every metric has a `# HELP` line ([`describe`]).
//!
//! The alerts of `fusebox::alerts` (one circuit per fingerprint of logged errors) are
//! circuits like any other: their states and transitions reach `circuit_breaker_state` and
//! the Alertmanager rules of `deploy/` unchanged. With feature `alerts`,
//! `fusebox_error_events_total{fingerprint}` counts their errors, only for fingerprints that
//! have alerted, so that the number of series stays that of the incidents, not of the
//! distinct messages.
//!
//! The listener hears about transitions only, and is called off the request path like every
//! fusebox listener. Call metrics are not counted per call here at all: circuits count their
//! calls anyway, and [`record_calls`] copies those counts from the circuits' snapshots when
//! metrics are rendered ([`PrometheusExporter::render`]) or on an interval
//! ([`CallMetricsTask`], and the exporter's own upkeep). The request path pays nothing for
//! them.
//!
//! [`PrometheusExporter`] installs the recorder (`metrics-exporter-prometheus`, without its
//! HTTP listener or push gateway), keeps its upkeep running and renders the text your
//! `/metrics` route returns; its docs show an axum route and a separate metrics port.
//!
//! Some queries:
//!
//! ```text
//! circuit_breaker_state{state="open"} == 1                          # circuits open now
//! sum(circuit_breaker_state) by (state)                             # how many circuits per state
//! increase(circuit_breaker_state_transition_total{new_state="half_open"}[1h])
//! sum(rate(circuit_breaker_state_transition_total{new_state="open"}[5m])) by (circuit_name)
//! sum(rate(circuit_breaker_calls_total{outcome="rejected"}[5m])) by (circuit_name)
//! ```
//!
//! ```
//! use std::time::Duration;
//! use fusebox::Fusebox;
//! use fusebox_core::{Outcome, Policy, Retry};
//! use fusebox_core::trip::failure_streak;
//! use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fusebox = Fusebox::builder()
//!     .default_policy(Policy::builder().trip(failure_streak(2)).retry(Retry::never()).build()?)
//!     .listener("prometheus", PrometheusListener::new())
//!     .build()?;
//! let exporter = PrometheusExporter::install(&fusebox)?;
//!
//! let quotes = fusebox.circuit("quotes");
//! for _ in 0..2 {
//!     quotes.try_acquire()?.finish(Outcome::Failure);
//! }
//! assert!(quotes.try_acquire().is_err());
//! fusebox.flush(Duration::from_secs(1)).await?;
//!
//! let text = exporter.render();
//! for line in [
//!     r#"circuit_breaker_state{circuit_name="quotes",state="open"} 1"#,
//!     r#"circuit_breaker_state{circuit_name="quotes",state="closed"} 0"#,
//!     r#"circuit_breaker_state_transition_total{circuit_name="quotes",old_state="closed",new_state="open"} 1"#,
//!     r#"circuit_breaker_calls_total{circuit_name="quotes",outcome="failure"} 2"#,
//!     r#"circuit_breaker_calls_total{circuit_name="quotes",outcome="rejected"} 1"#,
//! ] {
//!     assert!(text.lines().any(|l| l == line), "missing {line}");
//! }
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod calls;
mod exporter;
mod listener;
mod metric;

pub use calls::{CallMetricsTask, SpawnError, record_calls};
pub use exporter::{InstallError, PrometheusExporter};
pub use listener::PrometheusListener;
pub use metric::describe;
