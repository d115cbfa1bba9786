//! What the registry remembers for operators: each circuit's recent transitions, its failure
//! rate over the last minutes, and the configured policies no circuit used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fusebox::{Cause, Fusebox, ManualClock, Outcome, Policy, Retry, State, Transition};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const COOLDOWN: Duration = Duration::from_secs(30);

fn policy() -> Policy {
    Policy::builder()
        .trip("min_requests(20) & failure_rate(0.5)".parse().unwrap())
        .retry(Retry::cooldown(COOLDOWN))
        .permit(fusebox::Permit::all())
        .build()
        .unwrap()
}

fn registry(clock: &ManualClock) -> Fusebox {
    Fusebox::builder()
        .default_policy(policy())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// Ten successes and ten failures, alternating: the twentieth call trips at 50 %.
fn trip(fusebox: &Fusebox, name: &str) {
    let circuit = fusebox.circuit(name);
    for call in 0..20 {
        let outcome = if call % 2 == 0 {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        circuit.try_acquire().unwrap().finish(outcome);
    }
    assert_eq!(circuit.state(), State::Open);
}

fn summary(history: &[Transition]) -> Vec<(State, State, String)> {
    history
        .iter()
        .map(|transition| (transition.from, transition.to, transition.to_string()))
        .collect()
}

#[test]
fn a_trip_and_its_recovery_are_remembered_with_the_rule_and_the_failure_rate() {
    let clock = ManualClock::new();
    let fusebox = registry(&clock);
    clock.advance(Duration::from_secs(5));
    trip(&fusebox, "payments");
    let tripped_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_005);

    clock.advance(COOLDOWN);
    let payments = fusebox.circuit("payments");
    payments.try_acquire().unwrap().finish(Outcome::Success);

    let history = fusebox.history("payments");
    assert_eq!(
        summary(&history),
        [
            (
                State::HalfOpen,
                State::Closed,
                "recovered, failure rate 0%".to_owned()
            ),
            (State::Open, State::HalfOpen, "probe".to_owned()),
            (
                State::Closed,
                State::Open,
                "tripped: min_requests(20) & failure_rate(0.5), failure rate 50%".to_owned()
            ),
        ]
    );
    let trip = &history[2];
    assert_eq!(trip.at, tripped_at);
    assert_eq!(
        trip.cause.rule(),
        Some("min_requests(20) & failure_rate(0.5)")
    );
    assert_eq!((trip.calls, trip.failures), (20, 10));
    assert_eq!(history[0].at, tripped_at + COOLDOWN);
    assert!(fusebox.history("search").is_empty());
}

#[test]
fn calls_that_change_nothing_leave_no_history() {
    let clock = ManualClock::new();
    let fusebox = registry(&clock);
    let search = fusebox.circuit("search");
    for _ in 0..100 {
        search.try_acquire().unwrap().finish(Outcome::Success);
    }
    assert!(!fusebox.reset("search").unwrap(), "already closed");
    assert!(fusebox.history("search").is_empty());
}

type Points = Vec<Option<(Option<f64>, State)>>;

fn points(fusebox: &Fusebox, name: &str) -> Points {
    fusebox
        .failure_rates(name)
        .points
        .iter()
        .map(|point| point.map(|point| (point.failure_rate, point.state)))
        .collect()
}

#[test]
fn failure_rates_show_the_minutes_before_anyone_looked_when_the_registry_was_scraped() {
    let clock = ManualClock::new();
    let fusebox = registry(&clock);
    let inventory = fusebox.circuit("inventory");
    // Four scrapes, 15 s apart, with one failure more among four calls each time.
    for failures in 0..4 {
        for call in 0..4 {
            let outcome = if call < failures {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            inventory.try_acquire().unwrap().finish(outcome);
        }
        fusebox.snapshot();
        clock.advance(Duration::from_secs(15));
    }
    // Nobody read it for a minute; then the dashboard opens.
    clock.advance(Duration::from_secs(60));
    let mut expected: Points = vec![None; 40];
    // The window (count(100)) holds every call so far: 0/4, 1/8, 3/12, 6/16.
    expected[31] = Some((Some(0.0), State::Closed));
    expected[32] = Some((Some(0.125), State::Closed));
    expected[33] = Some((Some(0.25), State::Closed));
    expected[34] = Some((Some(0.375), State::Closed));
    expected[39] = Some((Some(0.375), State::Closed));
    assert_eq!(points(&fusebox, "inventory"), expected);
}

#[test]
fn failure_rates_show_a_trip_that_nobody_watched() {
    let clock = ManualClock::new();
    let fusebox = registry(&clock);
    trip(&fusebox, "payments");
    clock.advance(Duration::from_secs(120));
    let mut expected: Points = vec![None; 40];
    expected[31] = Some((Some(0.5), State::Open));
    // Open now: the window is empty.
    expected[39] = Some((None, State::Open));
    assert_eq!(points(&fusebox, "payments"), expected);
    assert_eq!(points(&fusebox, "nothing"), vec![None; 40]);
}

#[test]
fn evicted_keyed_circuits_keep_their_history_but_not_their_failure_rates() {
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .default_policy(policy())
        .keyed_idle_timeout(Duration::from_secs(60))
        .clock(clock.clone())
        .build()
        .unwrap();
    let circuit = fusebox.keyed_circuit("tenant-a");
    circuit.try_acquire().unwrap().finish(Outcome::Failure);
    fusebox.force_open("tenant-a").unwrap();
    fusebox.reset("tenant-a").unwrap();
    drop(circuit);
    fusebox.snapshot();
    assert!(fusebox.failure_rates("tenant-a").points[39].is_some());

    clock.advance(Duration::from_secs(60));
    drop(fusebox.keyed_circuit("tenant-b")); // a new key: the registry sweeps
    assert!(fusebox.get("tenant-a").is_none(), "evicted");
    fusebox.snapshot();
    assert_eq!(
        fusebox.failure_rates("tenant-a").points,
        vec![None; 40],
        "forgotten with the circuit"
    );
    assert_eq!(
        summary(&fusebox.history("tenant-a")),
        [
            (State::ForcedOpen, State::Closed, "manual".to_owned()),
            (
                State::Closed,
                State::ForcedOpen,
                "manual, failure rate 100%".to_owned()
            ),
        ]
    );
    assert_eq!(fusebox.history("tenant-a")[1].cause, Cause::MANUAL);
}

/// The warnings logged on the `fusebox` target on this thread, as their messages.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() == Level::WARN && metadata.target() == "fusebox" {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
}

#[cfg(feature = "config")]
#[test]
fn config_sections_no_circuit_used_are_listed_and_logged_once() {
    use fusebox::config::Config;

    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let config = Config::from_toml(
        r#"
        [circuits.checkout]
        close_after = 3

        [circuits."POST /orders"]
        close_after = 5

        [circuits.ledger]
        close_after = 2
        "#,
        "fusebox.toml",
    )
    .unwrap();
    let fusebox = Fusebox::builder().config(&config).build().unwrap();
    // The route circuits `route_breaker` creates for `POST /checkout` and `POST /orders`.
    let checkout = fusebox.keyed_circuit("POST /checkout");
    let orders = fusebox.keyed_circuit("POST /orders");
    assert_eq!(checkout.policy().close_after(), 1, "the default policy");
    assert_eq!(orders.policy().close_after(), 5, "its quoted section");

    assert_eq!(fusebox.unused_policies(), ["checkout", "ledger"]);
    fusebox.circuit("ledger");
    assert_eq!(fusebox.unused_policies(), ["checkout"]);
    assert_eq!(
        *warnings.0.lock().unwrap(),
        [
            "no circuit has used these config sections yet: [circuits.checkout], [circuits.ledger]; \
             a section applies only to the circuit of exactly its name (route circuits are named \
             like \"POST /checkout\": [circuits.\"POST /checkout\"])"
        ]
    );
}

#[test]
fn without_unused_policies_nothing_is_logged() {
    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let fusebox = Fusebox::builder()
        .policy("payments", policy())
        .build()
        .unwrap();
    fusebox.circuit("payments");
    assert!(fusebox.unused_policies().is_empty());
    assert!(warnings.0.lock().unwrap().is_empty());
}
