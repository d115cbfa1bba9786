//! The PromQL of the crate documentation, run over rendered expositions, selects the series
//! an operator expects.
//!
//! The queries aggregate over every circuit of the process, so this binary holds one scenario
//! and one recorder: no other test's circuits can show up in its sums.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Each test binary uses a part of the support module.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use fusebox::Fusebox;
use fusebox_core::trip::failure_streak;
use fusebox_core::{ManualClock, Outcome, Permit, Policy, Retry, State};
use fusebox_prometheus::{PrometheusExporter, PrometheusListener};

use support::exposition::Exposition;
use support::promql::{Labels, Scrapes, eval, eval_instant, labels};

const OPEN_NOW: &str = r#"circuit_breaker_state{state="open"} == 1"#;
const PER_STATE: &str = "sum(circuit_breaker_state) by (state)";
const PROBES_LAST_HOUR: &str =
    r#"increase(circuit_breaker_state_transition_total{new_state="half_open"}[1h])"#;
const TRIP_RATE: &str =
    r#"sum(rate(circuit_breaker_state_transition_total{new_state="open"}[5m])) by (circuit_name)"#;

async fn scrape(fusebox: &Fusebox, exporter: &PrometheusExporter) -> Exposition {
    fusebox.flush(Duration::from_secs(5)).await.unwrap();
    Exposition::parse(&exporter.render()).unwrap()
}

fn per_state(counts: [f64; 6]) -> Vec<(Labels, f64)> {
    let mut expected: Vec<(Labels, f64)> = State::ALL
        .iter()
        .zip(counts)
        .map(|(state, count)| (labels(&[("state", state.as_str())]), count))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    expected
}

fn open(circuit: &str) -> (Labels, f64) {
    let labels = labels(&[
        ("__name__", "circuit_breaker_state"),
        ("circuit_name", circuit),
        ("state", "open"),
    ]);
    (labels, 1.0)
}

fn by_circuit(values: &[(&str, f64)]) -> Vec<(Labels, f64)> {
    values
        .iter()
        .map(|(circuit, value)| (labels(&[("circuit_name", circuit)]), *value))
        .collect()
}

fn probes(circuit: &str, value: f64) -> (Labels, f64) {
    let labels = labels(&[
        ("circuit_name", circuit),
        ("new_state", "half_open"),
        ("old_state", "open"),
    ]);
    (labels, value)
}

#[tokio::test]
async fn documented_queries_select_the_expected_series() {
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .clock(clock.clone())
        .default_policy(
            Policy::builder()
                .trip(failure_streak(3))
                .retry(Retry::cooldown(Duration::from_secs(30)))
                .permit(Permit::all())
                .build()
                .unwrap(),
        )
        .listener("prometheus", PrometheusListener::new())
        .build()
        .unwrap();
    let exporter = PrometheusExporter::install(&fusebox).unwrap();
    for name in ["inventory", "payments", "quotes", "search"] {
        fusebox.circuit(name);
    }

    // Registered: all closed, nothing open.
    let registered = scrape(&fusebox, &exporter).await;
    assert_eq!(eval_instant(OPEN_NOW, &registered).unwrap(), []);
    assert_eq!(
        eval_instant(PER_STATE, &registered).unwrap(),
        per_state([4.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    );

    // payments and inventory trip, search is forced open; a minute later, the next scrape.
    for name in ["payments", "inventory"] {
        for _ in 0..3 {
            let circuit = fusebox.circuit(name);
            circuit.try_acquire().unwrap().finish(Outcome::Failure);
        }
    }
    fusebox.force_open("search").unwrap();
    let tripped = scrape(&fusebox, &exporter).await;
    assert_eq!(
        eval_instant(OPEN_NOW, &tripped).unwrap(),
        [open("inventory"), open("payments")],
        "forced_open is not open"
    );
    assert_eq!(
        eval_instant(PER_STATE, &tripped).unwrap(),
        per_state([1.0, 2.0, 0.0, 0.0, 0.0, 1.0])
    );
    // The first trip of a circuit has a rate, because its counter existed (at 0) before it.
    let a_minute = Scrapes {
        before: &registered,
        after: &tripped,
        elapsed: Duration::from_secs(60),
    };
    assert_eq!(
        eval(TRIP_RATE, &a_minute).unwrap(),
        by_circuit(&[
            ("inventory", 1.0 / 60.0),
            ("payments", 1.0 / 60.0),
            ("quotes", 0.0),
            ("search", 0.0),
        ])
    );

    // After the 30 s cooldown payments probed and recovered, and inventory is probing; the
    // next scrape comes two minutes after the last.
    clock.advance(Duration::from_secs(30));
    let payments = fusebox.circuit("payments").try_acquire_owned().unwrap();
    payments.finish(Outcome::Success);
    let inventory = fusebox.circuit("inventory").try_acquire_owned().unwrap();
    assert!(inventory.is_probe());
    let probing = scrape(&fusebox, &exporter).await;
    assert_eq!(fusebox.circuit("inventory").state(), State::HalfOpen);
    assert_eq!(eval_instant(OPEN_NOW, &probing).unwrap(), []);
    assert_eq!(
        eval_instant(PER_STATE, &probing).unwrap(),
        per_state([2.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    );
    let two_minutes = Scrapes {
        before: &tripped,
        after: &probing,
        elapsed: Duration::from_secs(120),
    };
    assert_eq!(
        eval(PROBES_LAST_HOUR, &two_minutes).unwrap(),
        [
            probes("inventory", 1.0),
            probes("payments", 1.0),
            probes("quotes", 0.0),
            probes("search", 0.0),
        ]
    );
    // No new trips in those two minutes.
    assert_eq!(
        eval(TRIP_RATE, &two_minutes).unwrap(),
        by_circuit(&[
            ("inventory", 0.0),
            ("payments", 0.0),
            ("quotes", 0.0),
            ("search", 0.0),
        ])
    );
    inventory.finish(Outcome::Success);
}

#[test]
fn queries_parse_and_evaluate_over_two_scrapes() {
    let before = Exposition::parse(
        "# TYPE t counter\nt{c=\"a\",k=\"x\"} 1\nt{c=\"b\",k=\"x\"} 5\nt{c=\"b\",k=\"y\"} 2\n",
    )
    .unwrap();
    let after = Exposition::parse(
        "# TYPE t counter\nt{c=\"a\",k=\"x\"} 4\nt{c=\"b\",k=\"x\"} 1\nt{c=\"b\",k=\"y\"} 2\nt{c=\"c\",k=\"x\"} 9\n",
    )
    .unwrap();
    let scrapes = Scrapes {
        before: &before,
        after: &after,
        elapsed: Duration::from_secs(10),
    };
    // `b,x` went 5 → 1: a reset, so its increase is 1; `c` has one sample only.
    assert_eq!(
        eval("increase(t{k=\"x\"}[1m])", &scrapes).unwrap(),
        [
            (labels(&[("c", "a"), ("k", "x")]), 3.0),
            (labels(&[("c", "b"), ("k", "x")]), 1.0),
        ]
    );
    assert_eq!(
        eval("sum(rate(t[1m])) by (c)", &scrapes).unwrap(),
        [(labels(&[("c", "a")]), 0.3), (labels(&[("c", "b")]), 0.1)]
    );
    assert_eq!(
        eval_instant("t == 2", &after).unwrap(),
        [(labels(&[("__name__", "t"), ("c", "b"), ("k", "y")]), 2.0)]
    );
    assert_eq!(
        eval_instant("sum(t)", &after).unwrap(),
        [(labels(&[]), 16.0)]
    );
    assert!(
        eval("rate(t[5s])", &scrapes).is_err(),
        "scrapes wider than the range"
    );
    assert!(eval_instant("sum(t", &after).is_err());
    assert!(eval_instant("t{k=\"x\"} junk", &after).is_err());
}
