//! The four metric names, their `# HELP` descriptions and [`describe`].
//!
//! Names and labels are fixed: dashboards, alert rules and PromQL written for them (see
//! `deploy/`) depend on them.
//! Writing values lives with the listener (states, transitions) and with [`record_calls`]
//! (call counts, failure rate), not here.
//!
//! [`record_calls`]: crate::record_calls

/// One-hot gauge: `{circuit_name, state}`.
pub(crate) const STATE: &str = "circuit_breaker_state";
/// Counter: `{circuit_name, old_state, new_state}`.
pub(crate) const TRANSITIONS: &str = "circuit_breaker_state_transition_total";
/// Counter: `{circuit_name, outcome}`.
pub(crate) const CALLS: &str = "circuit_breaker_calls_total";
/// Gauge: `{circuit_name}`.
pub(crate) const FAILURE_RATE: &str = "circuit_breaker_failure_rate";
/// Counter: `{fingerprint}`, for fingerprints of logged errors that have alerted.
#[cfg(feature = "alerts")]
pub(crate) const ERROR_EVENTS: &str = "fusebox_error_events_total";

/// Describes the four metrics to the installed `metrics` recorder, so that the exposition
/// carries a `# HELP` line for each.
///
/// [`PrometheusListener::new`](crate::PrometheusListener::new),
/// [`PrometheusExporter::install`](crate::PrometheusExporter::install) and
/// [`PrometheusExporter::from_handle`](crate::PrometheusExporter::from_handle) call it for
/// you. A recorder keeps the first description it receives for a name, so calling it again is
/// harmless; but descriptions given before a recorder is installed are lost with the no-op
/// recorder of the `metrics` crate. Call it yourself only when you install your recorder
/// after creating the listener and without the exporter.
///
/// ```
/// use metrics_exporter_prometheus::PrometheusBuilder;
///
/// let recorder = PrometheusBuilder::new().build_recorder();
/// let handle = recorder.handle();
/// metrics::with_local_recorder(&recorder, || {
///     fusebox_prometheus::describe();
///     metrics::gauge!("circuit_breaker_failure_rate", "circuit_name" => "payments").set(0.25);
/// });
/// assert!(handle.render().contains(
///     "# HELP circuit_breaker_failure_rate Failure rate of the circuit breaker's current \
///      window, from 0 to 1; 0 while the window is empty or the state records no calls \
///      (open, forced_open, disabled)\n"
/// ));
/// ```
pub fn describe() {
    metrics::describe_gauge!(
        STATE,
        "Current state of the circuit breaker: 1 for the state it is in, 0 for the five others \
         (closed, open, half_open, metrics_only, disabled, forced_open)"
    );
    metrics::describe_counter!(
        TRANSITIONS,
        "State transitions of the circuit breaker, by old and new state"
    );
    metrics::describe_counter!(
        CALLS,
        "Calls handled by the circuit breaker since it was created, by outcome \
         (success, failure, ignored, rejected)"
    );
    metrics::describe_gauge!(
        FAILURE_RATE,
        "Failure rate of the circuit breaker's current window, from 0 to 1; 0 while the window \
         is empty or the state records no calls (open, forced_open, disabled)"
    );
    #[cfg(feature = "alerts")]
    metrics::describe_counter!(
        ERROR_EVENTS,
        "Logged errors counted by fusebox's error-burst layer, by fingerprint, for the \
         fingerprints that have alerted at least once"
    );
}
