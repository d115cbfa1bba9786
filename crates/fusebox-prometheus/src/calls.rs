//! Call metrics, read from circuit snapshots: [`record_calls`] and the [`CallMetricsTask`]
//! that runs it on an interval.
//!
//! Circuits already count their calls by outcome (`Snapshot::calls`) and keep a window of
//! recent ones; copying those counts into the recorder when metrics are read costs one pass
//! over the circuits per scrape instead of a metrics update per call.

use std::fmt;
use std::time::Duration;

use fusebox::Fusebox;
use metrics::SharedString;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::metric::{CALLS, FAILURE_RATE};

/// Copies every circuit's call counts and failure rate from [`Fusebox::snapshot`] to the
/// installed `metrics` recorder, in one pass.
///
/// | metric | type | labels | value |
/// |---|---|---|---|
/// | `circuit_breaker_calls_total` | counter | `circuit_name`, `outcome` | calls since the circuit was created ([`CallCounts`](fusebox_core::CallCounts)), `outcome` one of `success`, `failure`, `ignored`, `rejected` |
/// | `circuit_breaker_failure_rate` | gauge | `circuit_name` | failures / recorded calls in the circuit's current window, from 0 to 1 |
/// | `fusebox_error_events_total` (feature `alerts`) | counter | `fingerprint` | logged errors counted by the `fusebox::alerts::ErrorBursts` layers of the registry, for each fingerprint that has alerted at least once: fingerprints that never did (most of them) add no series |
///
/// The failure rate is that of the window the trip rule reads, so it starts again from an
/// empty window on every transition. It is 0 when the window holds no recorded call, and in
/// the states that keep no window (`open`, `forced_open`, `disabled`); use
/// `circuit_breaker_state` to tell those apart. Calls admitted in `disabled` are not counted.
///
/// [`PrometheusExporter::render`](crate::PrometheusExporter::render) calls this before
/// rendering; call it yourself (or run a [`CallMetricsTask`]) when something else renders or
/// pushes your metrics.
///
/// ```
/// use fusebox::Fusebox;
/// use fusebox_core::Outcome;
/// use metrics_exporter_prometheus::PrometheusBuilder;
///
/// let fusebox = Fusebox::builder().build()?;
/// let payments = fusebox.circuit("payments");
/// for outcome in [Outcome::Success, Outcome::Success, Outcome::Success, Outcome::Failure] {
///     payments.try_acquire()?.finish(outcome);
/// }
///
/// let recorder = PrometheusBuilder::new().build_recorder();
/// metrics::with_local_recorder(&recorder, || fusebox_prometheus::record_calls(&fusebox));
/// let text = recorder.handle().render();
/// assert!(text.contains(r#"circuit_breaker_calls_total{circuit_name="payments",outcome="success"} 3"#));
/// assert!(text.contains(r#"circuit_breaker_calls_total{circuit_name="payments",outcome="rejected"} 0"#));
/// assert!(text.contains(r#"circuit_breaker_failure_rate{circuit_name="payments"} 0.25"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn record_calls(fusebox: &Fusebox) {
    for snapshot in fusebox.snapshot() {
        let circuit = SharedString::from(snapshot.name);
        for (outcome, total) in snapshot.calls.by_outcome() {
            metrics::counter!(CALLS, "circuit_name" => circuit.clone(), "outcome" => outcome)
                .absolute(total);
        }
        metrics::gauge!(FAILURE_RATE, "circuit_name" => circuit)
            .set(snapshot.metrics.failure_rate().unwrap_or(0.0));
    }
    #[cfg(feature = "alerts")]
    for burst in fusebox::alerts::bursts(fusebox) {
        if burst.tripped {
            let fingerprint = SharedString::from(burst.fingerprint);
            metrics::counter!(crate::metric::ERROR_EVENTS, "fingerprint" => fingerprint)
                .absolute(burst.events);
        }
    }
}

/// Runs [`record_calls`] on an interval, for recorders that are read without
/// [`PrometheusExporter::render`](crate::PrometheusExporter::render): a push-based
/// exporter, or a Prometheus handle rendered elsewhere. The exporter does not need one: its
/// upkeep task already records calls.
///
/// The task stops when this value is dropped.
///
/// ```
/// use std::time::Duration;
/// use fusebox::Fusebox;
/// use fusebox_prometheus::{CallMetricsTask, PrometheusListener};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Your own recorder (StatsD, OpenTelemetry, ...) is installed here.
/// let fusebox = Fusebox::builder()
///     .listener("metrics", PrometheusListener::new())
///     .build()?;
/// let task = CallMetricsTask::spawn(&fusebox, Duration::from_secs(5))?;
/// assert_eq!(task.interval(), Duration::from_secs(5));
/// # Ok(())
/// # }
/// ```
#[must_use = "the task stops when this value is dropped"]
pub struct CallMetricsTask {
    task: AbortOnDrop,
    interval: Duration,
}

impl CallMetricsTask {
    /// Spawns a task on the current tokio runtime that calls [`record_calls`] at once and then
    /// every `interval`. The runtime must have its time driver enabled (`#[tokio::main]`
    /// does); pick an interval shorter than your recorder's export interval.
    ///
    /// # Errors
    /// [`SpawnError::NoRuntime`] outside a tokio runtime, [`SpawnError::ZeroInterval`] for an
    /// interval of zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox::Fusebox;
    /// use fusebox_prometheus::{CallMetricsTask, SpawnError};
    ///
    /// let fusebox = Fusebox::builder().build()?;
    /// let outside_a_runtime = CallMetricsTask::spawn(&fusebox, Duration::from_secs(5));
    /// assert_eq!(outside_a_runtime.unwrap_err(), SpawnError::NoRuntime);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn(fusebox: &Fusebox, interval: Duration) -> Result<CallMetricsTask, SpawnError> {
        if interval.is_zero() {
            return Err(SpawnError::ZeroInterval);
        }
        let runtime = Handle::try_current().map_err(|_| SpawnError::NoRuntime)?;
        let fusebox = fusebox.clone();
        let task = spawn_every(&runtime, interval, move || record_calls(&fusebox));
        Ok(CallMetricsTask { task, interval })
    }

    /// How often the task records.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox::Fusebox;
    /// use fusebox_prometheus::CallMetricsTask;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fusebox = Fusebox::builder().build()?;
    /// let task = CallMetricsTask::spawn(&fusebox, Duration::from_millis(2500))?;
    /// assert_eq!(task.interval(), Duration::from_millis(2500));
    /// # Ok(())
    /// # }
    /// ```
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether the task has ended: it runs until it is dropped, so only when its runtime
    /// shut down.
    pub fn is_finished(&self) -> bool {
        self.task.0.is_finished()
    }
}

impl fmt::Debug for CallMetricsTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallMetricsTask")
            .field("interval", &self.interval)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why [`CallMetricsTask::spawn`] could not start the task. `Display` says what to change.
///
/// ```
/// use fusebox_prometheus::SpawnError;
///
/// assert_eq!(
///     SpawnError::ZeroInterval.to_string(),
///     "the call-metrics interval must be longer than zero; a few seconds, shorter than the \
///      export interval, is usual"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// No tokio runtime was running on this thread.
    NoRuntime,
    /// The interval was zero.
    ZeroInterval,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpawnError::NoRuntime => {
                "spawn the call-metrics task inside a tokio runtime (e.g. in #[tokio::main]); \
                 no runtime is running on this thread"
            }
            SpawnError::ZeroInterval => {
                "the call-metrics interval must be longer than zero; a few seconds, shorter \
                 than the export interval, is usual"
            }
        })
    }
}

impl std::error::Error for SpawnError {}

/// A spawned task that is aborted when this is dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Spawns `work` on `runtime`, run at once and then every `interval` (non-zero).
pub(crate) fn spawn_every(
    runtime: &Handle,
    interval: Duration,
    work: impl Fn() + Send + 'static,
) -> AbortOnDrop {
    AbortOnDrop(runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        // A runtime that was blocked owes no burst of catch-up passes: one is enough.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            work();
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_errors_say_what_to_change() {
        assert_eq!(
            SpawnError::NoRuntime.to_string(),
            "spawn the call-metrics task inside a tokio runtime (e.g. in #[tokio::main]); \
             no runtime is running on this thread"
        );
    }

    #[tokio::test]
    async fn zero_interval_is_refused_before_anything_is_spawned() {
        let fusebox = Fusebox::builder().build().unwrap();
        let err = CallMetricsTask::spawn(&fusebox, Duration::ZERO).unwrap_err();
        assert_eq!(err, SpawnError::ZeroInterval);
    }

    #[tokio::test]
    async fn a_spawned_task_runs_at_its_interval_until_dropped() {
        let fusebox = Fusebox::builder().build().unwrap();
        let task = CallMetricsTask::spawn(&fusebox, Duration::from_secs(3)).unwrap();
        assert_eq!(
            (task.interval(), task.is_finished()),
            (Duration::from_secs(3), false)
        );
    }
}
