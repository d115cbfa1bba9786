//! The JSON shape of a circuit in the admin API, and the RFC 3339 time it uses.

use std::time::Duration;

use fusebox::{FailureRates, Fusebox, RatePoint, Transition, retry_after_secs};
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
    history: Vec<TransitionView>,
    failure_rates: RatesView,
}

/// One of [`Fusebox::history`], newest first.
#[derive(Serialize)]
struct TransitionView {
    at: String,
    from: &'static str,
    to: &'static str,
    cause: &'static str,
    rule: Option<String>,
    origin: Option<String>,
    failure_rate: Option<f64>,
    /// The line the dashboard shows: `tripped: <rule>, failure rate 50%`.
    summary: String,
}

/// [`Fusebox::failure_rates`]: the points oldest first, `null` where nothing was sampled.
#[derive(Serialize)]
struct RatesView {
    interval_secs: u64,
    points: Vec<Option<PointView>>,
}

#[derive(Serialize)]
struct PointView {
    failure_rate: Option<f64>,
    state: &'static str,
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
    /// The circuit `snapshot` shows, with its policy and what `fusebox` remembers of it.
    pub(super) fn new(fusebox: &Fusebox, snapshot: &'a Snapshot, policy: &Policy) -> Self {
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
            history: fusebox
                .history(&snapshot.name)
                .iter()
                .map(TransitionView::new)
                .collect(),
            failure_rates: RatesView::new(&fusebox.failure_rates(&snapshot.name)),
        }
    }
}

impl TransitionView {
    fn new(transition: &Transition) -> Self {
        TransitionView {
            at: fusebox_core::wall::rfc3339_millis(transition.at),
            from: transition.from.as_str(),
            to: transition.to.as_str(),
            cause: transition.cause.as_str(),
            rule: transition.cause.rule().map(str::to_owned),
            origin: transition.origin.as_deref().map(str::to_owned),
            failure_rate: transition.failure_rate(),
            summary: transition.to_string(),
        }
    }
}

impl RatesView {
    fn new(rates: &FailureRates) -> Self {
        let point = |point: &RatePoint| PointView {
            failure_rate: point.failure_rate,
            state: point.state.as_str(),
        };
        RatesView {
            interval_secs: rates.interval.as_secs(),
            points: rates.points.iter().map(|p| p.as_ref().map(point)).collect(),
        }
    }
}

/// Whole milliseconds, as a float: JSON readers want numbers, not `Duration`s, and
/// sub-millisecond digits are noise on a dashboard. Exact below 2^53 ms (285,000 years).
fn millis(duration: Duration) -> f64 {
    duration.as_millis() as f64
}
