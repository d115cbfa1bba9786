//! [`PrometheusListener`]: circuit states and transitions as Prometheus metrics.
//!
//! Call counts and failure rates do not come through here: a listener only hears about
//! transitions, and per-call hooks would cost every call. They are read from snapshots by
//! [`record_calls`](crate::record_calls).

use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use fusebox_core::{Signal, State};
use metrics::SharedString;
use tower_service::Service;

use crate::metric::{STATE, TRANSITIONS, describe};

/// The transitions a circuit makes on its own. Their counters start at 0 when the circuit is
/// registered: Prometheus' `rate()` and `increase()` only see a counter grow from a sample
/// they have, so a series born at 1 would hide the first trip of every circuit from alerts.
const AUTOMATIC_TRANSITIONS: [(State, State); 4] = [
    (State::Closed, State::Open),
    (State::Open, State::HalfOpen),
    (State::HalfOpen, State::Closed),
    (State::HalfOpen, State::Open),
];

/// Writes circuit states and transitions to the [`metrics`] facade, under the crate's
/// [metric names and labels](crate).
///
/// | metric | type | labels | value |
/// |---|---|---|---|
/// | `circuit_breaker_state` | gauge | `circuit_name`, `state` | 1 for the state the circuit is in, 0 for the five others |
/// | `circuit_breaker_state_transition_total` | counter | `circuit_name`, `old_state`, `new_state` | transitions so far |
///
/// States are labelled in lowercase ([`State::as_str`]): `closed`, `open`, `half_open`,
/// `metrics_only`, `disabled`, `forced_open`. A circuit's six state series exist from the
/// moment it is registered, with its initial state at 1; so do the transition counters of the
/// four transitions circuits make on their own (`closed → open`, `open → half_open`,
/// `half_open → closed`, `half_open → open`), at 0, so that `rate()` and `increase()` see the
/// first trip. Other transitions (manual commands) appear when they first happen.
/// Registration signals are not transitions and are not counted.
///
/// Values go to whatever recorder is installed when a signal is delivered, so install the
/// recorder (for example with [`PrometheusExporter::install`](crate::PrometheusExporter::install))
/// before the first circuit is created. The listener never fails and never waits.
///
/// ```
/// use std::time::Duration;
/// use fusebox::Fusebox;
/// use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder()
///     .listener("prometheus", PrometheusListener::new())
///     .build()?;
/// let exporter = PrometheusExporter::install(&fusebox)?;
///
/// fusebox.circuit("payments");
/// fusebox.force_open("payments")?;
/// fusebox.flush(Duration::from_secs(1)).await?;
///
/// let text = exporter.render();
/// assert!(text.contains(r#"circuit_breaker_state{circuit_name="payments",state="forced_open"} 1"#));
/// assert!(text.contains(r#"circuit_breaker_state{circuit_name="payments",state="closed"} 0"#));
/// assert!(text.contains(
///     r#"circuit_breaker_state_transition_total{circuit_name="payments",old_state="closed",new_state="forced_open"} 1"#
/// ));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PrometheusListener(());

impl PrometheusListener {
    /// A listener; also [`describe`]s the metrics to the recorder installed now.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use fusebox_core::Signal;
    /// use fusebox_prometheus::PrometheusListener;
    /// use tower_service::Service;
    ///
    /// fn is_a_listener<L: Service<Signal, Response = (), Error = Infallible>>(_: &L) {}
    /// is_a_listener(&PrometheusListener::new());
    /// ```
    pub fn new() -> Self {
        describe();
        PrometheusListener(())
    }

    fn record(signal: &Signal) {
        let circuit = SharedString::from(signal.circuit.clone());
        // Zeros first: a scrape racing this update may see no state at 1 for a moment, but
        // never two, so `circuit_breaker_state{state="open"} == 1` stays exact.
        for state in State::ALL.into_iter().filter(|&state| state != signal.to) {
            metrics::gauge!(STATE, "circuit_name" => circuit.clone(), "state" => state.as_str())
                .set(0.0);
        }
        metrics::gauge!(STATE, "circuit_name" => circuit.clone(), "state" => signal.to.as_str())
            .set(1.0);
        if signal.is_registration() {
            for (from, to) in AUTOMATIC_TRANSITIONS {
                transitions(&circuit, from, to).increment(0);
            }
        } else {
            transitions(&circuit, signal.from, signal.to).increment(1);
        }
    }
}

fn transitions(circuit: &SharedString, from: State, to: State) -> metrics::Counter {
    metrics::counter!(
        TRANSITIONS,
        "circuit_name" => circuit.clone(),
        "old_state" => from.as_str(),
        "new_state" => to.as_str(),
    )
}

impl Default for PrometheusListener {
    /// Same as [`PrometheusListener::new`], for code that builds its listeners generically.
    ///
    /// ```
    /// use fusebox::Fusebox;
    /// use fusebox_prometheus::PrometheusListener;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fusebox = Fusebox::builder()
    ///     .listener("prometheus", PrometheusListener::default())
    ///     .build()?;
    /// assert_eq!(fusebox.listener_stats()[0].name, "prometheus");
    /// # Ok(())
    /// # }
    /// ```
    fn default() -> Self {
        PrometheusListener::new()
    }
}

impl fmt::Debug for PrometheusListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrometheusListener")
    }
}

impl Service<Signal> for PrometheusListener {
    type Response = ();
    type Error = Infallible;
    type Future = Ready<Result<(), Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, signal: Signal) -> Self::Future {
        PrometheusListener::record(&signal);
        ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use fusebox_core::Cause;
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

    use super::*;

    fn signal(from: State, to: State, cause: Cause) -> Signal {
        Signal::new("inventory", from, to, cause).with_at(SystemTime::UNIX_EPOCH)
    }

    /// Delivers the signals to a fresh listener and returns the rendered sample lines.
    fn deliver(signals: &[Signal]) -> Vec<String> {
        let recorder: PrometheusRecorder = PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || {
            let mut listener = PrometheusListener::new();
            for signal in signals {
                let response = listener.call(signal.clone()).into_inner();
                assert_eq!(response, Ok(()));
            }
        });
        let mut lines: Vec<String> = recorder
            .handle()
            .render()
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    fn state_lines(one: &str) -> Vec<String> {
        let mut lines: Vec<String> = State::ALL
            .iter()
            .map(|state| {
                let value = u8::from(state.as_str() == one);
                format!(
                    "circuit_breaker_state{{circuit_name=\"inventory\",state=\"{}\"}} {value}",
                    state.as_str()
                )
            })
            .collect();
        lines.sort();
        lines
    }

    fn transition_line(from: &str, to: &str, count: u64) -> String {
        format!(
            "circuit_breaker_state_transition_total{{circuit_name=\"inventory\",old_state=\"{from}\",new_state=\"{to}\"}} {count}"
        )
    }

    #[test]
    fn registration_in_disabled_sets_disabled_and_zeroes_automatic_transitions() {
        let lines = deliver(&[signal(State::Disabled, State::Disabled, Cause::Registered)]);
        let mut expected = state_lines("disabled");
        expected.extend([
            transition_line("closed", "open", 0),
            transition_line("half_open", "closed", 0),
            transition_line("half_open", "open", 0),
            transition_line("open", "half_open", 0),
        ]);
        expected.sort();
        assert_eq!(lines, expected);
    }

    #[test]
    fn each_transition_moves_the_one_and_counts_once() {
        let lines = deliver(&[
            signal(State::Closed, State::Closed, Cause::Registered),
            signal(
                State::Closed,
                State::Open,
                Cause::Tripped {
                    rule: "failure_streak(2)".into(),
                },
            ),
            signal(State::Open, State::HalfOpen, Cause::Probe),
            signal(State::HalfOpen, State::Closed, Cause::Recovered),
            signal(State::Closed, State::MetricsOnly, Cause::MANUAL),
        ]);
        let mut expected = state_lines("metrics_only");
        expected.extend([
            transition_line("closed", "metrics_only", 1),
            transition_line("closed", "open", 1),
            transition_line("half_open", "closed", 1),
            transition_line("half_open", "open", 0),
            transition_line("open", "half_open", 1),
        ]);
        expected.sort();
        assert_eq!(lines, expected);
    }

    #[test]
    fn a_transition_without_registration_still_sets_every_state() {
        let lines = deliver(&[signal(State::Closed, State::ForcedOpen, Cause::MANUAL)]);
        let mut expected = state_lines("forced_open");
        expected.push(transition_line("closed", "forced_open", 1));
        expected.sort();
        assert_eq!(lines, expected);
    }

    #[test]
    fn listener_is_always_ready() {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(
            PrometheusListener::new().poll_ready(&mut cx),
            Poll::Ready(Ok(()))
        );
    }
}
