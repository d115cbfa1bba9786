//! Renders the exposition after scripted calls and transitions, parses it and checks exact
//! values.
//!
//! The `metrics` facade has one global recorder per process: every test in this binary shares
//! the one installed by `handle()`, and gives its circuits names of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Each test binary uses a part of the support module.
#[allow(dead_code)]
mod support;

use std::sync::OnceLock;
use std::time::Duration;

use fusebox::Fusebox;
use fusebox_core::trip::{failure_rate, min_requests};
use fusebox_core::{ManualClock, Outcome, Permit, Policy, Retry, State};
use fusebox_prometheus::{CallMetricsTask, InstallError, PrometheusExporter, PrometheusListener};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use support::exposition::Exposition;

const STATE: &str = "circuit_breaker_state";
const TRANSITIONS: &str = "circuit_breaker_state_transition_total";
const CALLS: &str = "circuit_breaker_calls_total";
const FAILURE_RATE: &str = "circuit_breaker_failure_rate";
const FLUSH: Duration = Duration::from_secs(5);

/// The recorder of this test binary, installed once.
fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
        .clone()
}

/// Trips on the 4th call when half of them failed; probes 30 s after opening, admitting every
/// probe; one successful probe closes.
fn policy() -> Policy {
    Policy::builder()
        .trip(min_requests(4) & failure_rate(0.5))
        .retry(Retry::cooldown(Duration::from_secs(30)))
        .permit(Permit::all())
        .close_after(1)
        .build()
        .unwrap()
}

struct Setup {
    fusebox: Fusebox,
    exporter: PrometheusExporter,
    clock: ManualClock,
}

fn setup() -> Setup {
    let handle = handle();
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .clock(clock.clone())
        .default_policy(policy())
        .listener("prometheus", PrometheusListener::new())
        .build()
        .unwrap();
    let exporter = PrometheusExporter::from_handle(handle, &fusebox).unwrap();
    Setup {
        fusebox,
        exporter,
        clock,
    }
}

impl Setup {
    async fn scrape(&self) -> Exposition {
        self.fusebox.flush(FLUSH).await.unwrap();
        Exposition::parse(&self.exporter.render()).unwrap()
    }
}

fn call(fusebox: &Fusebox, circuit: &str, outcome: Outcome) {
    fusebox
        .circuit(circuit)
        .try_acquire()
        .unwrap()
        .finish(outcome);
}

fn reject(fusebox: &Fusebox, circuit: &str) {
    assert!(fusebox.circuit(circuit).try_acquire().is_err());
}

/// The six state series of `circuit`, in `State::ALL` order.
fn states(scrape: &Exposition, circuit: &str) -> Vec<(&'static str, f64)> {
    assert_eq!(scrape.series(STATE, &[("circuit_name", circuit)]).len(), 6);
    State::ALL
        .iter()
        .map(|state| {
            let labels = [("circuit_name", circuit), ("state", state.as_str())];
            (state.as_str(), scrape.value(STATE, &labels).unwrap())
        })
        .collect()
}

/// What `states` returns for a circuit in `one`.
fn one_hot(one: State) -> Vec<(&'static str, f64)> {
    State::ALL
        .iter()
        .map(|&state| (state.as_str(), if state == one { 1.0 } else { 0.0 }))
        .collect()
}

/// Every transition counter of `circuit` as `(old, new, value)`, sorted.
fn transitions(scrape: &Exposition, circuit: &str) -> Vec<(String, String, f64)> {
    let mut found: Vec<(String, String, f64)> = scrape
        .series(TRANSITIONS, &[("circuit_name", circuit)])
        .into_iter()
        .map(|s| {
            assert_eq!(s.labels.len(), 3, "{s:?}");
            (
                s.label("old_state").unwrap().to_owned(),
                s.label("new_state").unwrap().to_owned(),
                s.value,
            )
        })
        .collect();
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found
}

fn transition(old: &str, new: &str, value: f64) -> (String, String, f64) {
    (old.to_owned(), new.to_owned(), value)
}

/// The counters circuits make on their own, at the given values, plus `others`, sorted.
fn expected_transitions(
    closed_open: f64,
    open_half_open: f64,
    half_open_closed: f64,
    half_open_open: f64,
    others: &[(&str, &str, f64)],
) -> Vec<(String, String, f64)> {
    let mut expected = vec![
        transition("closed", "open", closed_open),
        transition("open", "half_open", open_half_open),
        transition("half_open", "closed", half_open_closed),
        transition("half_open", "open", half_open_open),
    ];
    expected.extend(others.iter().map(|(o, n, v)| transition(o, n, *v)));
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    expected
}

/// `[success, failure, ignored, rejected]` of `circuit`.
fn calls(scrape: &Exposition, circuit: &str) -> [f64; 4] {
    assert_eq!(scrape.series(CALLS, &[("circuit_name", circuit)]).len(), 4);
    ["success", "failure", "ignored", "rejected"].map(|outcome| {
        let labels = [("circuit_name", circuit), ("outcome", outcome)];
        scrape.value(CALLS, &labels).unwrap()
    })
}

fn failure_rate_of(scrape: &Exposition, circuit: &str) -> f64 {
    scrape
        .value(FAILURE_RATE, &[("circuit_name", circuit)])
        .unwrap()
}

#[tokio::test]
async fn state_is_one_hot_from_registration_before_any_call() {
    let setup = setup();
    setup.fusebox.circuit("registered.inventory");

    let scrape = setup.scrape().await;
    let circuit = "registered.inventory";
    assert_eq!(states(&scrape, circuit), one_hot(State::Closed));
    assert_eq!(
        transitions(&scrape, circuit),
        expected_transitions(0.0, 0.0, 0.0, 0.0, &[])
    );
    assert_eq!(calls(&scrape, circuit), [0.0; 4]);
    assert_eq!(failure_rate_of(&scrape, circuit), 0.0);
}

#[tokio::test]
async fn a_trip_and_a_recovery_render_exact_states_transitions_and_calls() {
    let setup = setup();
    let (fusebox, name) = (&setup.fusebox, "trip.payments");
    for outcome in [
        Outcome::Success,
        Outcome::Success,
        Outcome::Failure,
        Outcome::Failure,
    ] {
        call(fusebox, name, outcome);
    }
    assert_eq!(fusebox.circuit(name).state(), State::Open);

    let tripped = setup.scrape().await;
    assert_eq!(states(&tripped, name), one_hot(State::Open));
    assert_eq!(
        transitions(&tripped, name),
        expected_transitions(1.0, 0.0, 0.0, 0.0, &[])
    );
    assert_eq!(calls(&tripped, name), [2.0, 2.0, 0.0, 0.0]);
    // An open circuit keeps no window.
    assert_eq!(failure_rate_of(&tripped, name), 0.0);

    for _ in 0..3 {
        reject(fusebox, name);
    }
    let rejecting = setup.scrape().await;
    assert_eq!(calls(&rejecting, name), [2.0, 2.0, 0.0, 3.0]);

    setup.clock.advance(Duration::from_secs(30));
    let probe = fusebox.circuit(name).try_acquire_owned().unwrap();
    assert!(probe.is_probe());
    let half_open = setup.scrape().await;
    assert_eq!(states(&half_open, name), one_hot(State::HalfOpen));
    assert_eq!(
        transitions(&half_open, name),
        expected_transitions(1.0, 1.0, 0.0, 0.0, &[])
    );

    probe.finish(Outcome::Success);
    for outcome in [
        Outcome::Success,
        Outcome::Ignored,
        Outcome::Success,
        Outcome::Failure,
        Outcome::Success,
    ] {
        call(fusebox, name, outcome);
    }
    let recovered = setup.scrape().await;
    assert_eq!(states(&recovered, name), one_hot(State::Closed));
    assert_eq!(
        transitions(&recovered, name),
        expected_transitions(1.0, 1.0, 1.0, 0.0, &[])
    );
    assert_eq!(calls(&recovered, name), [6.0, 3.0, 1.0, 3.0]);
    // The window since recovery: 3 successes and 1 failure (the ignored call does not count).
    assert_eq!(failure_rate_of(&recovered, name), 0.25);
}

#[tokio::test]
async fn manual_commands_move_the_one_hot_state_and_count_each_transition() {
    let setup = setup();
    let (fusebox, name) = (&setup.fusebox, "manual.search");
    fusebox.circuit(name);

    assert!(fusebox.force_open(name).unwrap());
    reject(fusebox, name);
    reject(fusebox, name);
    let forced = setup.scrape().await;
    assert_eq!(states(&forced, name), one_hot(State::ForcedOpen));
    assert_eq!(calls(&forced, name), [0.0, 0.0, 0.0, 2.0]);

    assert!(fusebox.metrics_only(name).unwrap());
    call(fusebox, name, Outcome::Failure);
    call(fusebox, name, Outcome::Success);
    call(fusebox, name, Outcome::Failure);
    call(fusebox, name, Outcome::Failure);
    let metrics_only = setup.scrape().await;
    assert_eq!(states(&metrics_only, name), one_hot(State::MetricsOnly));
    // metrics_only records and never trips: 3 of 4 failed.
    assert_eq!(failure_rate_of(&metrics_only, name), 0.75);
    assert_eq!(calls(&metrics_only, name), [1.0, 3.0, 0.0, 2.0]);

    assert!(fusebox.disable(name).unwrap());
    call(fusebox, name, Outcome::Failure);
    let disabled = setup.scrape().await;
    assert_eq!(states(&disabled, name), one_hot(State::Disabled));
    // Calls admitted in disabled are counted, though no window records them.
    assert_eq!(calls(&disabled, name), [1.0, 4.0, 0.0, 2.0]);
    assert_eq!(failure_rate_of(&disabled, name), 0.0);

    assert!(fusebox.reset(name).unwrap());
    // Resetting a closed circuit is not a transition.
    assert!(!fusebox.reset(name).unwrap());
    let reset = setup.scrape().await;
    assert_eq!(states(&reset, name), one_hot(State::Closed));
    assert_eq!(
        transitions(&reset, name),
        expected_transitions(
            0.0,
            0.0,
            0.0,
            0.0,
            &[
                ("closed", "forced_open", 1.0),
                ("forced_open", "metrics_only", 1.0),
                ("metrics_only", "disabled", 1.0),
                ("disabled", "closed", 1.0),
            ]
        )
    );
}

#[tokio::test]
async fn circuits_are_reported_apart() {
    let setup = setup();
    let fusebox = &setup.fusebox;
    for _ in 0..4 {
        call(fusebox, "apart.left", Outcome::Failure);
    }
    call(fusebox, "apart.right", Outcome::Success);

    let scrape = setup.scrape().await;
    assert_eq!(states(&scrape, "apart.left"), one_hot(State::Open));
    assert_eq!(states(&scrape, "apart.right"), one_hot(State::Closed));
    assert_eq!(calls(&scrape, "apart.left"), [0.0, 4.0, 0.0, 0.0]);
    assert_eq!(calls(&scrape, "apart.right"), [1.0, 0.0, 0.0, 0.0]);
    assert_eq!(failure_rate_of(&scrape, "apart.right"), 0.0);
}

#[tokio::test]
async fn every_metric_has_help_and_type() {
    let setup = setup();
    setup.fusebox.circuit("described.quotes");
    let scrape = setup.scrape().await;

    let described: Vec<(&str, &str, &str)> = [STATE, TRANSITIONS, CALLS, FAILURE_RATE]
        .into_iter()
        .map(|name| {
            (
                name,
                scrape.types[name].as_str(),
                scrape.help[name].as_str(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            (
                STATE,
                "gauge",
                "Current state of the circuit breaker: 1 for the state it is in, 0 for the five \
                 others (closed, open, half_open, metrics_only, disabled, forced_open)"
            ),
            (
                TRANSITIONS,
                "counter",
                "State transitions of the circuit breaker, by old and new state"
            ),
            (
                CALLS,
                "counter",
                "Calls handled by the circuit breaker since it was created, by outcome \
                 (success, failure, ignored, rejected)"
            ),
            (
                FAILURE_RATE,
                "gauge",
                "Failure rate of the circuit breaker's current window, from 0 to 1; 0 while the \
                 window is empty or the state records no calls (open, forced_open, disabled)"
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn exporter_upkeep_records_calls_every_five_seconds_until_dropped() {
    let setup = setup();
    let (fusebox, name) = (&setup.fusebox, "upkeep.ledger");
    fusebox.circuit(name);
    // Lets the upkeep task take its first turn, at once.
    tokio::time::sleep(Duration::from_millis(1)).await;

    call(fusebox, name, Outcome::Success);
    call(fusebox, name, Outcome::Success);
    let rendered_elsewhere = || Exposition::parse(&handle().render()).unwrap();
    assert_eq!(calls(&rendered_elsewhere(), name), [0.0; 4]);

    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(calls(&rendered_elsewhere(), name), [2.0, 0.0, 0.0, 0.0]);

    drop(setup.exporter);
    call(fusebox, name, Outcome::Success);
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(calls(&rendered_elsewhere(), name), [2.0, 0.0, 0.0, 0.0]);
}

#[tokio::test(start_paused = true)]
async fn call_metrics_task_records_on_its_interval_until_dropped() {
    let handle = handle();
    let fusebox = Fusebox::builder()
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let name = "task.ledger";
    fusebox.circuit(name);
    let task = CallMetricsTask::spawn(&fusebox, Duration::from_secs(2)).unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    let scrape = || Exposition::parse(&handle.render()).unwrap();
    assert_eq!(calls(&scrape(), name), [0.0; 4]);

    call(&fusebox, name, Outcome::Ignored);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(calls(&scrape(), name), [0.0; 4]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(calls(&scrape(), name), [0.0, 0.0, 1.0, 0.0]);

    drop(task);
    call(&fusebox, name, Outcome::Ignored);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(calls(&scrape(), name), [0.0, 0.0, 1.0, 0.0]);
}

#[tokio::test]
async fn install_refuses_a_second_recorder_and_says_what_to_do() {
    handle();
    let fusebox = Fusebox::builder().build().unwrap();
    let err = PrometheusExporter::install(&fusebox).unwrap_err();
    assert!(matches!(err, InstallError::RecorderAlreadyInstalled));
    assert_eq!(
        err.to_string(),
        "a metrics recorder is already installed; build your Prometheus recorder with \
         PrometheusBuilder and use PrometheusExporter::from_handle with its handle"
    );
}

#[test]
fn from_handle_outside_a_runtime_is_an_error() {
    let fusebox = Fusebox::builder().build().unwrap();
    let err = PrometheusExporter::from_handle(handle(), &fusebox).unwrap_err();
    assert!(matches!(err, InstallError::NoRuntime));
}

#[test]
fn parser_reads_help_type_labels_escapes_and_rejects_garbage() {
    let text = "# HELP up Whether it is up\n# TYPE up gauge\nup{job=\"a\\\"b\\\\c\\nd\",x=\"1\"} 1\nup 0.5\n";
    let parsed = Exposition::parse(text).unwrap();
    assert_eq!(parsed.help["up"], "Whether it is up");
    assert_eq!(parsed.types["up"], "gauge");
    assert_eq!(parsed.samples.len(), 2);
    assert_eq!(parsed.samples[0].label("job"), Some("a\"b\\c\nd"));
    assert_eq!(
        parsed.value("up", &[("job", "a\"b\\c\nd"), ("x", "1")]),
        Some(1.0)
    );
    assert_eq!(parsed.value("up", &[]), Some(0.5));

    for bad in [
        "up 1\n",                            // no TYPE
        "# TYPE up gauge\nup{job=\"a} 1\n",  // unterminated
        "# TYPE up gauge\nup{job=\"a\"}1\n", // no space
        "# TYPE up gauge\nup one\n",         // not a number
        "# TYPE up gauge\nup 1\nup 2\n",     // duplicate series
        "# TYPE up thing\n",                 // unknown type
        "# comment\n",                       // stray comment
    ] {
        assert!(Exposition::parse(bad).is_err(), "accepted {bad:?}");
    }
}
