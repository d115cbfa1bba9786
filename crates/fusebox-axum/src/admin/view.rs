//! The JSON shape of a circuit in the admin API, and the RFC 3339 time it uses.

use std::time::Duration;

use fusebox::fleet::Override;
use fusebox::retry_after_secs;
use fusebox_core::{Policy, Snapshot};
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct CircuitView<'a> {
    name: &'a str,
    state: &'static str,
    since: String,
    time_in_state_secs: f64,
    generation: u64,
    reopens: u32,
    retry_after_secs: Option<u64>,
    probes_in_flight: u32,
    metrics: MetricsView,
    calls: CallsView,
    policy: String,
    #[serde(rename = "override")]
    standing: Option<OverrideView>,
}

/// A fleet-wide override standing on the circuit.
#[derive(Serialize)]
struct OverrideView {
    command: &'static str,
    scope: &'static str,
    origin: String,
    since: String,
}

#[derive(Serialize)]
struct MetricsView {
    total: u64,
    failures: u64,
    failure_rate: Option<f64>,
    avg_latency_ms: Option<f64>,
    consecutive_failures: u64,
}

#[derive(Serialize)]
struct CallsView {
    success: u64,
    failure: u64,
    ignored: u64,
    rejected: u64,
}

impl<'a> CircuitView<'a> {
    pub(super) fn new(snapshot: &'a Snapshot, policy: &Policy) -> Self {
        let metrics = &snapshot.metrics;
        let calls = &snapshot.calls;
        CircuitView {
            name: &snapshot.name,
            state: snapshot.state.as_str(),
            since: fusebox_core::wall::rfc3339_millis(snapshot.since),
            time_in_state_secs: millis(snapshot.time_in_state) / 1000.0,
            generation: snapshot.generation,
            reopens: snapshot.reopens,
            retry_after_secs: snapshot.retry_after.map(retry_after_secs),
            probes_in_flight: snapshot.probes_in_flight,
            metrics: MetricsView {
                total: metrics.total(),
                failures: metrics.failures(),
                failure_rate: metrics.failure_rate(),
                avg_latency_ms: metrics.avg_latency().map(millis),
                consecutive_failures: metrics.consecutive_failures(),
            },
            calls: CallsView {
                success: calls.success,
                failure: calls.failure,
                ignored: calls.ignored,
                rejected: calls.rejected,
            },
            policy: policy.to_string(),
            standing: None,
        }
    }

    /// The view with the fleet-wide override standing on the circuit, if any.
    pub(super) fn with_override(mut self, standing: Option<Override>) -> Self {
        self.standing = standing.map(|standing| OverrideView {
            command: standing.command(),
            scope: standing.scope().as_str(),
            origin: standing.origin.to_string(),
            since: fusebox_core::wall::rfc3339_millis(standing.since),
        });
        self
    }
}

/// Whole milliseconds, as a float: JSON readers want numbers, not `Duration`s, and
/// sub-millisecond digits are noise on a dashboard. Exact below 2^53 ms (285,000 years).
fn millis(duration: Duration) -> f64 {
    duration.as_millis() as f64
}
