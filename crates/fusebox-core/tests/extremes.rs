//! SPEC §9: no valid policy, clock reading or builder value makes any call panic.

use std::time::Duration;

use fusebox_core::trip::{
    avg_latency, failure_count, failure_rate, failure_streak, min_requests, slow_rate,
};
use fusebox_core::{Circuit, ManualClock, Outcome, Permit, Policy, Retry, State, TripRule, Window};
use proptest::prelude::*;

const MAX: Duration = Duration::MAX;
const NS: Duration = Duration::from_nanos(1);

#[test]
fn a_cooldown_beyond_the_clocks_range_keeps_the_circuit_open_until_a_command() {
    let retry: Retry = "cooldown(18446744073709551615s)"
        .parse()
        .expect("valid text");
    assert_eq!(retry, Retry::cooldown(Duration::from_secs(u64::MAX)));
    let policy = Policy::builder()
        .trip(failure_streak(1))
        .retry(retry)
        .build()
        .expect("valid policy");
    let clock = ManualClock::new();
    let circuit = Circuit::builder("far")
        .policy(policy.clone())
        .clock(clock.clone())
        .build();
    circuit
        .try_acquire()
        .expect("closed")
        .finish(Outcome::Failure);
    assert_eq!(circuit.state(), State::Open);
    clock.advance(Duration::from_secs(1 << 40));
    let rejected = circuit.try_acquire().expect_err("still open");
    assert_eq!(rejected.retry_after(), None, "no probe is ever allowed");
    assert!(circuit.reset());

    // Starting open with that wait builds too.
    let open = Circuit::builder("far")
        .policy(policy)
        .clock(ManualClock::new())
        .initial_state(State::Open)
        .build();
    assert_eq!(open.try_acquire().expect_err("open").retry_after(), None);
}

#[test]
fn a_slow_threshold_of_the_longest_duration_is_tracked_and_readable() {
    let policy = Policy::builder()
        .trip(slow_rate(0.5, MAX))
        .build()
        .expect("valid policy");
    assert_eq!(policy.slow_thresholds(), [MAX]);
    let circuit = Circuit::builder("slow")
        .policy(policy)
        .clock(ManualClock::new())
        .build();
    circuit
        .try_acquire()
        .expect("closed")
        .finish(Outcome::Success);
    assert_eq!(circuit.snapshot().metrics.slow_calls(MAX), Some(0));
}

#[test]
fn the_longest_backoff_and_the_largest_multiplier_saturate() {
    let policy = Policy::builder()
        .trip(failure_streak(1))
        .retry(Retry::backoff(NS, f64::MAX, MAX).jitter(0.999))
        .permit(Permit::all())
        .build()
        .expect("valid policy");
    let clock = ManualClock::new();
    let circuit = Circuit::builder("backoff")
        .policy(policy)
        .clock(clock.clone())
        .build();
    circuit
        .try_acquire()
        .expect("closed")
        .finish(Outcome::Failure);
    clock.advance(Duration::from_secs(1));
    // The probe fails: the next wait is 1 ns × f64::MAX, capped at the longest duration.
    circuit
        .try_acquire()
        .expect("a probe")
        .finish(Outcome::Failure);
    assert_eq!(circuit.state(), State::Open);
    clock.advance(MAX); // the clock stops at the end of its range
    let rejected = circuit
        .try_acquire()
        .expect_err("a wait beyond the clock's range");
    assert_eq!(rejected.retry_after(), None);
}

fn durations() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(NS),
        Just(MAX),
        Just(Duration::from_secs(1)),
        (1u64..u64::MAX).prop_map(Duration::from_nanos),
        Just(Duration::from_secs(u64::MAX)),
    ]
}

fn counts() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1u64), Just(u64::MAX), 1u64..1_000]
}

fn rates() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::MIN_POSITIVE),
        Just(1.0),
        Just(0.5),
        (1u32..=1000).prop_map(|r| f64::from(r) / 1000.0)
    ]
}

fn rules() -> impl Strategy<Value = TripRule> {
    prop_oneof![
        counts().prop_map(min_requests),
        counts().prop_map(failure_count),
        counts().prop_map(failure_streak),
        rates().prop_map(failure_rate),
        (rates(), durations()).prop_map(|(r, t)| slow_rate(r, t)),
        durations().prop_map(avg_latency),
        (counts(), rates()).prop_map(|(n, r)| min_requests(n) & failure_rate(r)),
    ]
}

fn retries() -> impl Strategy<Value = Retry> {
    prop_oneof![
        Just(Retry::never()),
        Just(Retry::always()),
        durations().prop_map(Retry::cooldown),
        (
            durations(),
            prop_oneof![Just(1.0001), Just(2.0), Just(f64::MAX)]
        )
            .prop_map(|(initial, multiplier)| Retry::backoff(initial, multiplier, MAX)),
    ]
    .prop_flat_map(|retry| {
        prop_oneof![
            Just(retry),
            Just(retry.jitter(0.999)),
            Just(retry.jitter(0.0))
        ]
    })
}

fn permits() -> impl Strategy<Value = Permit> {
    prop_oneof![
        Just(Permit::all()),
        Just(Permit::random(0.0)),
        Just(Permit::random(1.0)),
        durations().prop_map(|over| Permit::ramp_up(f64::MIN_POSITIVE, 1.0, over)),
    ]
}

fn windows() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::count(1)),
        Just(Window::count(fusebox_core::MAX_COUNT_WINDOW)),
        Just(Window::time(Duration::from_secs(1))),
        Just(Window::time(fusebox_core::MAX_TIME_WINDOW)),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Call(Outcome, Duration),
    Drop,
    Advance(Duration),
    Command(State),
    Snapshot,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let outcome = prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Failure),
        Just(Outcome::Ignored)
    ];
    let state = prop_oneof![
        Just(State::Closed),
        Just(State::Open),
        Just(State::HalfOpen),
        Just(State::MetricsOnly),
        Just(State::Disabled),
        Just(State::ForcedOpen),
    ];
    prop::collection::vec(
        prop_oneof![
            4 => (outcome, durations()).prop_map(|(o, d)| Step::Call(o, d)),
            1 => Just(Step::Drop),
            2 => durations().prop_map(Step::Advance),
            1 => state.prop_map(Step::Command),
            1 => Just(Step::Snapshot),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn extreme_policies_and_clocks_never_panic(
        window in windows(),
        rule in rules(),
        retry in retries(),
        permit in permits(),
        probes in prop_oneof![Just(1u32), Just(u32::MAX)],
        close_after in prop_oneof![Just(1u32), Just(u32::MAX)],
        max_wait in durations(),
        record_latency: bool,
        steps in steps(),
    ) {
        let policy = Policy::builder()
            .window(window)
            .trip(rule)
            .retry(retry)
            .permit(permit)
            .max_concurrent_probes(probes)
            .close_after(close_after)
            .max_wait(max_wait)
            .record_latency(record_latency)
            .build();
        let Ok(policy) = policy else { return Ok(()) };
        let clock = ManualClock::new();
        let circuit = Circuit::builder("edge").policy(policy).clock(clock.clone()).build();
        let mut finished = 0u64;
        for step in steps {
            match step {
                Step::Call(outcome, took) => {
                    if let Ok(admission) = circuit.try_acquire() {
                        clock.advance(took);
                        admission.finish(outcome);
                    }
                    finished += 1;
                }
                Step::Drop => {
                    drop(circuit.try_acquire());
                    finished += 1;
                }
                Step::Advance(by) => clock.advance(by),
                Step::Command(state) => {
                    circuit.transition_to(state);
                }
                Step::Snapshot => {
                    let snapshot = circuit.snapshot();
                    prop_assert_eq!(snapshot.state, circuit.state());
                }
            }
        }
        prop_assert_eq!(circuit.snapshot().calls.total(), finished);
    }
}
