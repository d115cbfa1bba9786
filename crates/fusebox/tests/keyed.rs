//! Keyed circuits that come and go: idle ones are evicted so that new keys get circuits of
//! their own, on a manual clock.
// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use fusebox::key::{Key, Keyed, SelectCircuit};
use fusebox::{Fusebox, OVERFLOW_CIRCUIT};
use fusebox_core::trip::failure_streak;
use fusebox_core::{ManualClock, Outcome, Policy, Retry, State};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const IDLE: Duration = Duration::from_secs(600);

/// Keys a request by its own text, as a host or tenant name would be.
#[derive(Clone)]
struct ByName;

impl Key<&'static str> for ByName {
    fn key<'r>(&self, request: &'r &'static str) -> Cow<'r, str> {
        Cow::Borrowed(request)
    }
}

fn registry(clock: &ManualClock, max: usize, policy: Policy) -> Fusebox {
    Fusebox::builder()
        .default_policy(policy)
        .max_keyed_circuits(max)
        .keyed_idle_timeout(IDLE)
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn trip_on_first_failure() -> Policy {
    Policy::builder()
        .trip(failure_streak(1))
        .retry(Retry::never())
        .build()
        .unwrap()
}

/// One call for `key` through keyed routing, finished with `outcome`.
fn call(keyed: &Keyed<ByName>, key: &'static str, outcome: Outcome) {
    keyed.acquire(&key).unwrap().finish(outcome);
}

fn names(fusebox: &Fusebox) -> Vec<String> {
    fusebox
        .snapshot()
        .iter()
        .map(|s| s.name.to_string())
        .collect()
}

fn total_calls(fusebox: &Fusebox, name: &str) -> u64 {
    let calls = fusebox.get(name).unwrap().snapshot().calls;
    calls.success + calls.failure + calls.ignored + calls.rejected
}

/// Counts the warnings logged on the `fusebox` target on this thread.
#[derive(Clone, Default)]
struct Warnings(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() == Level::WARN && metadata.target() == "fusebox" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn idle_junk_keys_make_room_for_new_keys_at_the_next_sweep() {
    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let clock = ManualClock::new();
    let fusebox = registry(&clock, 3, Policy::default());
    let keyed = Keyed::new(fusebox.clone(), ByName);
    for junk in ["junk-0", "junk-1", "junk-2", "junk-3", "junk-4"] {
        call(&keyed, junk, Outcome::Success);
    }
    assert_eq!(
        names(&fusebox),
        [OVERFLOW_CIRCUIT, "junk-0", "junk-1", "junk-2"]
    );
    assert_eq!(total_calls(&fusebox, OVERFLOW_CIRCUIT), 2);

    // Not idle for the whole timeout yet: the sweep this miss runs keeps them.
    clock.advance(IDLE - Duration::from_nanos(1));
    call(&keyed, "tenant-a", Outcome::Success);
    // Idle now, but the next sweep is due only a quarter of the timeout after the last one.
    clock.advance(Duration::from_secs(1));
    call(&keyed, "tenant-a", Outcome::Success);
    assert_eq!(
        names(&fusebox),
        [OVERFLOW_CIRCUIT, "junk-0", "junk-1", "junk-2"]
    );
    assert_eq!(total_calls(&fusebox, OVERFLOW_CIRCUIT), 4);

    clock.advance(IDLE / 4);
    for tenant in ["tenant-a", "tenant-b", "tenant-c", "tenant-d"] {
        call(&keyed, tenant, Outcome::Success);
    }
    assert_eq!(
        names(&fusebox),
        [OVERFLOW_CIRCUIT, "tenant-a", "tenant-b", "tenant-c"]
    );
    assert_eq!(total_calls(&fusebox, "tenant-a"), 1);
    assert_eq!(
        total_calls(&fusebox, OVERFLOW_CIRCUIT),
        5,
        "tenant-d overflowed"
    );
    assert_eq!(
        warnings.0.load(Ordering::SeqCst),
        1,
        "the overflow warning is logged once"
    );
}

#[test]
fn open_forced_held_and_in_flight_keyed_circuits_are_never_evicted() {
    let clock = ManualClock::new();
    let fusebox = registry(&clock, 4, trip_on_first_failure());
    let keyed = Keyed::new(fusebox.clone(), ByName);
    call(&keyed, "tripped", Outcome::Failure);
    call(&keyed, "forced", Outcome::Success);
    fusebox.force_open("forced").unwrap();
    let held = fusebox.keyed_circuit("held");
    let in_flight = keyed.acquire(&"in-flight").unwrap();
    assert_eq!(fusebox.get("tripped").unwrap().state(), State::Open);

    clock.advance(IDLE * 10);
    call(&keyed, "new", Outcome::Success);
    assert_eq!(
        names(&fusebox),
        ["forced", OVERFLOW_CIRCUIT, "held", "in-flight", "tripped"]
    );

    // Released: the three whose call counts did not change since the last sweep are idle
    // since then; the call that just finished makes `in-flight` busy as of the next sweep.
    drop(held);
    in_flight.finish(Outcome::Success);
    fusebox.reset("tripped").unwrap();
    fusebox.reset("forced").unwrap();
    clock.advance(IDLE / 4);
    call(&keyed, "new", Outcome::Success);
    assert_eq!(names(&fusebox), [OVERFLOW_CIRCUIT, "in-flight", "new"]);

    clock.advance(IDLE);
    call(&keyed, "newer", Outcome::Success);
    assert_eq!(names(&fusebox), [OVERFLOW_CIRCUIT, "newer"]);
}

#[test]
fn an_evicted_key_comes_back_as_a_fresh_circuit_with_its_policy() {
    let clock = ManualClock::new();
    let streak_of_two = Policy::builder()
        .trip(failure_streak(2))
        .retry(Retry::never())
        .build()
        .unwrap();
    let fusebox = Fusebox::builder()
        .policy("tenant-a", streak_of_two.clone())
        .keyed_idle_timeout(IDLE)
        .clock(clock.clone())
        .build()
        .unwrap();
    let keyed = Keyed::new(fusebox.clone(), ByName);
    call(&keyed, "tenant-a", Outcome::Failure);

    clock.advance(IDLE);
    call(&keyed, "tenant-b", Outcome::Success);
    assert!(fusebox.get("tenant-a").is_none());

    // The failure before eviction is forgotten: one more does not make a streak of two.
    call(&keyed, "tenant-a", Outcome::Failure);
    let tenant = fusebox.get("tenant-a").unwrap();
    assert_eq!(tenant.state(), State::Closed);
    assert_eq!(tenant.snapshot().calls.failure, 1);
    assert_eq!(tenant.policy().to_string(), streak_of_two.to_string());
}

#[test]
fn a_key_used_only_through_a_handle_is_idle_from_its_creation() {
    let clock = ManualClock::new();
    let fusebox = registry(&clock, 1, Policy::default());
    drop(fusebox.keyed_circuit("never-called"));
    clock.advance(IDLE);
    assert_eq!(&**fusebox.keyed_circuit("next").name(), "next");
    assert!(fusebox.get("never-called").is_none());
}

#[test]
fn a_kept_handle_stays_the_registered_circuit_while_sweeps_run_concurrently() {
    let clock = ManualClock::new();
    let fusebox = registry(&clock, usize::MAX, Policy::default());
    let done = Arc::new(AtomicBool::new(false));
    let sweeper = {
        let (fusebox, clock, done) = (fusebox.clone(), clock.clone(), done.clone());
        std::thread::spawn(move || {
            let mut sweeps = 0u64;
            while !done.load(Ordering::SeqCst) {
                // Every miss sweeps, and `hot` is idle whenever the other thread lets go.
                clock.advance(IDLE);
                drop(fusebox.keyed_circuit(&format!("miss-{sweeps}")));
                sweeps += 1;
            }
            sweeps
        })
    };
    for _ in 0..30_000 {
        let kept = fusebox.keyed_circuit("hot");
        let registered = fusebox.get("hot").expect("a kept circuit is never evicted");
        assert!(kept.ptr_eq(&registered));
    }
    done.store(true, Ordering::SeqCst);
    let sweeps = sweeper.join().unwrap();
    assert!(sweeps > 0);
}
