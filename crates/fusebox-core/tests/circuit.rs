//! SPEC §1–§6 as behaviour of a circuit, call by call, on a manual clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of tests, where a failed unwrap is a failed test"
)]

mod support;

use std::time::{Duration, SystemTime};

use fusebox_core::trip::{
    avg_latency, closed, failure_count, failure_rate, failure_streak, half_opened, min_requests,
    slow_rate,
};
use fusebox_core::{Cause, Outcome, Permit, Policy, Retry, State, Window};
use support::{MS, S, harness, harness_in, policy};

use Outcome::{Failure, Ignored, Success};

fn streak_policy(n: u64) -> Policy {
    policy(|p| {
        p.trip(failure_streak(n))
            .retry(Retry::cooldown(S * 10))
            .permit(Permit::all())
    })
}

// §1 closed

#[test]
fn closed_admits_and_records_every_call_until_the_rule_trips() {
    let h = harness(streak_policy(3));
    h.calls(2, Failure);
    assert_eq!(h.state(), State::Closed);
    let m = h.circuit.snapshot().metrics;
    assert_eq!(
        (m.total(), m.failures(), m.consecutive_failures()),
        (2, 2, 2)
    );

    h.call(Failure).unwrap();
    assert_eq!(h.state(), State::Open);
    let signal = h.last_signal();
    assert_eq!((signal.from, signal.to), (State::Closed, State::Open));
    assert_eq!(
        signal.cause,
        Cause::Tripped {
            rule: "failure_streak(3)".into()
        }
    );
    assert_eq!(signal.cause.to_string(), "tripped: failure_streak(3)");
    assert_eq!((signal.metrics.total(), signal.metrics.failures()), (3, 3));
}

#[test]
fn successes_are_evaluated_too_so_slow_successes_trip_latency_rules() {
    let h = harness(policy(|p| {
        p.trip(min_requests(2) & slow_rate(0.5, MS * 100))
    }));
    h.timed_call(Success, MS * 99).unwrap();
    h.timed_call(Success, MS * 20).unwrap();
    assert_eq!(h.state(), State::Closed);
    h.timed_call(Success, MS * 100).unwrap();
    // 1 of 3 at >= 100ms
    assert_eq!(h.state(), State::Closed);
    h.timed_call(Success, MS * 150).unwrap();
    // 2 of 4: the inclusive bound trips
    assert_eq!(h.state(), State::Open);
    assert_eq!(h.last_signal().metrics.slow_calls(MS * 100), Some(2));
}

#[test]
fn avg_latency_trips_at_its_inclusive_bound() {
    let h = harness(policy(|p| p.trip(min_requests(2) & avg_latency(MS * 200))));
    h.timed_call(Success, MS * 100).unwrap();
    h.timed_call(Success, MS * 299).unwrap();
    assert_eq!(h.state(), State::Closed);
    h.circuit.reset();
    h.timed_call(Success, MS * 100).unwrap();
    h.timed_call(Success, MS * 300).unwrap();
    assert_eq!(h.state(), State::Open);
}

#[test]
fn failures_are_recorded_with_their_real_duration() {
    let h = harness(policy(|p| p.trip(failure_streak(5)).record_latency(true)));
    h.timed_call(Failure, MS * 250).unwrap();
    h.timed_call(Success, MS * 50).unwrap();
    let m = h.circuit.snapshot().metrics;
    assert_eq!(m.total_duration(), MS * 300);
    assert_eq!(m.avg_latency(), Some(MS * 150));
}

#[test]
fn latency_is_not_measured_unless_the_rule_or_the_policy_asks() {
    let h = harness(streak_policy(5));
    h.timed_call(Failure, MS * 250).unwrap();
    let m = h.circuit.snapshot().metrics;
    assert!(!m.measures_latency());
    assert_eq!(
        (m.total(), m.total_duration(), m.avg_latency()),
        (1, Duration::ZERO, None)
    );
}

#[test]
fn ignored_outcomes_are_not_recorded_and_leave_the_streak_alone() {
    let h = harness(streak_policy(2));
    h.call(Failure).unwrap();
    h.call(Ignored).unwrap();
    let m = h.circuit.snapshot().metrics;
    assert_eq!((m.total(), m.consecutive_failures()), (1, 1));
    h.call(Failure).unwrap();
    assert_eq!(h.state(), State::Open);
}

#[test]
fn a_success_resets_the_failure_streak() {
    let h = harness(streak_policy(2));
    h.call(Failure).unwrap();
    h.call(Success).unwrap();
    h.call(Failure).unwrap();
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.circuit.snapshot().metrics.consecutive_failures(), 1);
}

#[test]
fn the_default_rule_needs_100_calls_and_half_of_them_failing() {
    let h = harness(Policy::default());
    h.calls(50, Success);
    h.calls(49, Failure);
    assert_eq!(h.state(), State::Closed);
    h.call(Failure).unwrap();
    assert_eq!(h.state(), State::Open);
    assert_eq!(
        h.last_signal().cause.rule(),
        Some("min_requests(100) & failure_rate(0.5)")
    );
}

#[test]
fn a_time_window_forgets_failures_older_than_its_span() {
    let h = harness(policy(|p| {
        p.window(Window::time(S * 3)).trip(failure_count(3))
    }));
    h.call(Failure).unwrap();
    h.clock.advance(S);
    h.call(Failure).unwrap();
    h.clock.advance(S * 2); // the first failure (second 0) is now out of the window
    h.call(Failure).unwrap();
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.circuit.snapshot().metrics.failures(), 2);
    h.call(Failure).unwrap();
    assert_eq!(h.state(), State::Open);
}

#[test]
fn a_count_window_keeps_only_the_last_n_outcomes() {
    let h = harness(policy(|p| {
        p.window(Window::count(4))
            .trip(min_requests(4) & failure_rate(0.75))
    }));
    h.calls(2, Failure);
    h.calls(2, Success);
    h.call(Failure).unwrap(); // window: F S S F
    assert_eq!(h.state(), State::Closed);
    h.call(Failure).unwrap(); // window: S S F F
    assert_eq!(h.state(), State::Closed);
    h.call(Failure).unwrap(); // window: S F F F
    assert_eq!(h.state(), State::Open);
}

// §1 open and §5 retry

#[test]
fn open_rejects_until_the_cooldown_then_the_admitting_call_is_the_first_probe() {
    let h = harness(streak_policy(1));
    h.trip();
    let rejected = h.rejection();
    assert_eq!(rejected.state(), State::Open);
    assert_eq!(rejected.circuit(), "test");
    assert_eq!(rejected.retry_after(), Some(S * 10));

    h.clock.advance(S * 10 - MS);
    assert_eq!(h.rejection().retry_after(), Some(MS));
    assert_eq!(h.circuit.snapshot().retry_after, Some(MS));

    h.clock.advance(MS);
    let probe = h.acquire();
    assert!(probe.is_probe());
    assert_eq!(h.state(), State::HalfOpen);
    assert_eq!(h.circuit.snapshot().probes_in_flight, 1);
    assert_eq!(
        h.transitions(),
        [
            (State::Closed, State::Open, "tripped"),
            (State::Open, State::HalfOpen, "probe")
        ]
    );
    probe.finish(Success);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn open_records_nothing() {
    let h = harness(streak_policy(1));
    let in_flight = h.acquire();
    h.trip();
    in_flight.finish(Failure);
    assert_eq!(h.circuit.snapshot().metrics.total(), 0);
}

#[test]
fn the_admitting_call_is_subject_to_the_permit_policy() {
    let h = harness(policy(|p| {
        p.trip(failure_streak(1))
            .retry(Retry::cooldown(S))
            .permit(Permit::random(0.0))
    }));
    h.trip();
    h.clock.advance(S);
    let rejected = h.rejection();
    assert_eq!(rejected.state(), State::HalfOpen);
    assert_eq!(rejected.retry_after(), None);
    assert_eq!(h.state(), State::HalfOpen);
}

#[test]
fn never_retry_rejects_until_a_manual_reset() {
    let h = harness(policy(|p| p.trip(failure_streak(1)).retry(Retry::never())));
    h.trip();
    h.clock.advance(S * 1_000_000);
    let rejected = h.rejection();
    assert_eq!(
        (rejected.state(), rejected.retry_after()),
        (State::Open, None)
    );
    assert_eq!(h.circuit.snapshot().retry_after, None);
    assert!(h.circuit.reset());
    assert_eq!(h.state(), State::Closed);
    h.call(Success).unwrap();
}

#[test]
fn always_retry_probes_on_the_very_next_call() {
    let h = harness(policy(|p| {
        p.trip(failure_streak(1))
            .retry(Retry::always())
            .permit(Permit::all())
    }));
    h.trip();
    let probe = h.acquire();
    assert!(probe.is_probe());
    assert_eq!(h.state(), State::HalfOpen);
}

#[test]
fn backoff_grows_with_reopens_and_starts_over_after_closing() {
    let h = harness(policy(|p| {
        p.trip(failure_streak(1))
            .retry(Retry::backoff(S, 2.0, S * 5))
            .permit(Permit::all())
    }));
    h.trip();
    let mut waits = Vec::new();
    for _ in 0..4 {
        let wait = h.rejection().retry_after().unwrap();
        waits.push(wait);
        h.clock.advance(wait);
        h.call(Failure).unwrap(); // the probe fails: half_open -> open
        assert_eq!(h.state(), State::Open);
    }
    assert_eq!(waits, [S, S * 2, S * 4, S * 5]);
    assert_eq!(h.circuit.snapshot().reopens, 4);

    h.clock.advance(S * 5);
    h.call(Success).unwrap();
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.circuit.snapshot().reopens, 0);
    h.trip();
    assert_eq!(h.rejection().retry_after(), Some(S));
}

#[test]
fn jitter_is_drawn_once_per_open_period() {
    let h = harness(policy(|p| {
        p.trip(failure_streak(1))
            .retry(Retry::cooldown(S * 10).jitter(0.5))
    }));
    h.trip();
    let first = h.rejection().retry_after().unwrap();
    assert!((S * 5..=S * 15).contains(&first), "{first:?}");
    // Under load the deadline does not move: it only comes closer as time passes.
    for _ in 0..100 {
        assert_eq!(h.rejection().retry_after(), Some(first));
    }
    h.clock.advance(S * 2);
    assert_eq!(h.rejection().retry_after(), Some(first - S * 2));
}

// §1 half_open and §6 permits

#[test]
fn half_open_rejects_calls_over_max_concurrent_probes_at_once() {
    let h = harness_in(
        policy(|p| p.permit(Permit::all()).max_concurrent_probes(2)),
        State::HalfOpen,
    );
    let a = h.acquire();
    let b = h.acquire();
    let rejected = h.rejection();
    assert_eq!(rejected.state(), State::HalfOpen);
    assert_eq!(h.circuit.snapshot().probes_in_flight, 2);
    drop(a);
    let c = h.acquire();
    assert!(b.is_probe() && c.is_probe());
}

#[test]
fn a_dropped_probe_releases_its_slot_and_records_nothing() {
    let h = harness_in(
        policy(|p| p.permit(Permit::all()).max_concurrent_probes(1)),
        State::HalfOpen,
    );
    for _ in 0..5 {
        let probe = h.acquire();
        assert_eq!(h.rejection().state(), State::HalfOpen);
        drop(probe);
    }
    assert_eq!(h.circuit.snapshot().probes_in_flight, 0);
    assert_eq!(h.circuit.snapshot().metrics.total(), 0);
    h.call(Success).unwrap();
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn the_first_good_probe_closes_by_default() {
    let h = harness(streak_policy(1));
    h.trip();
    h.clock.advance(S * 10);
    h.call(Success).unwrap();
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.last_signal().cause, Cause::Recovered);
}

#[test]
fn close_after_requires_that_many_good_probes() {
    let h = harness(policy(|p| {
        p.trip(closed() & failure_streak(1))
            .retry(Retry::cooldown(S))
            .permit(Permit::all())
            .close_after(3)
    }));
    h.trip();
    h.clock.advance(S);
    h.call(Success).unwrap();
    h.call(Failure).unwrap(); // the rule only applies in closed: a failing probe does not reopen
    h.call(Success).unwrap();
    assert_eq!(h.state(), State::HalfOpen);
    assert_eq!(h.circuit.snapshot().metrics.total(), 3);
    h.call(Success).unwrap();
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn a_true_rule_in_half_open_reopens_and_counts_a_reopen() {
    let h = harness(policy(|p| {
        p.trip(closed() & failure_streak(3) | half_opened() & failure_streak(1))
            .retry(Retry::cooldown(S))
            .permit(Permit::all())
    }));
    h.calls(3, Failure);
    h.clock.advance(S);
    h.call(Failure).unwrap();
    assert_eq!(h.state(), State::Open);
    let signal = h.last_signal();
    assert_eq!((signal.from, signal.to), (State::HalfOpen, State::Open));
    assert_eq!(signal.cause.as_str(), "reopened");
    assert_eq!(
        signal.cause.rule(),
        Some("closed() & failure_streak(3) | half_opened() & failure_streak(1)")
    );
    assert_eq!(h.circuit.snapshot().reopens, 1);
}

#[test]
fn a_failing_probe_under_a_false_rule_keeps_the_circuit_half_open() {
    let h = harness(policy(|p| p.permit(Permit::all())));
    h.circuit.transition_to(State::HalfOpen);
    h.calls(3, Failure);
    assert_eq!(h.state(), State::HalfOpen);
}

#[test]
fn the_half_open_window_is_emptied_on_entry() {
    let h = harness(streak_policy(3));
    h.calls(3, Failure);
    h.clock.advance(S * 10);
    let probe = h.acquire();
    let snapshot = h.circuit.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(
        (
            snapshot.metrics.total(),
            snapshot.metrics.consecutive_failures()
        ),
        (0, 0)
    );
    drop(probe);
}

#[test]
fn a_hung_probe_returns_the_circuit_to_open_after_max_wait() {
    let h = harness(policy(|p| {
        p.trip(failure_streak(1))
            .retry(Retry::cooldown(S * 10))
            .permit(Permit::all())
            .max_concurrent_probes(1)
            .max_wait(S * 30)
    }));
    h.trip();
    h.clock.advance(S * 10);
    let hung = h.acquire();
    h.clock.advance(S * 30 - MS);
    assert_eq!(h.rejection().state(), State::HalfOpen);
    h.clock.advance(MS);
    let rejected = h.rejection();
    assert_eq!(rejected.state(), State::Open);
    assert_eq!(h.last_signal().cause, Cause::ProbeTimeout);
    assert_eq!(h.circuit.snapshot().reopens, 1);
    // The hung probe's late outcome belongs to an ended period and is discarded.
    hung.finish(Success);
    assert_eq!(h.state(), State::Open);
}

#[test]
fn max_wait_counts_from_the_probes_admission_not_from_entering_half_open() {
    // Sparse traffic: the circuit enters half_open and sees no call for an hour, then a
    // probe is admitted. It must get its whole max_wait (SPEC §6).
    let h = harness(policy(|p| {
        p.trip(failure_streak(1))
            .retry(Retry::cooldown(S))
            .permit(Permit::all())
            .max_concurrent_probes(2)
            .close_after(2)
            .max_wait(S * 30)
    }));
    h.trip();
    h.clock.advance(S);
    let first = h.acquire(); // open → half_open
    first.finish(Success);
    assert_eq!(h.state(), State::HalfOpen);
    h.clock.advance(S * 3600);
    let probe = h.acquire();
    h.clock.advance(MS);
    // A millisecond old: not timed out, though half_open was entered an hour ago.
    let other = h.acquire();
    assert_eq!(h.state(), State::HalfOpen);
    drop(other); // cancelled: not an outcome, the clock still runs from `probe`'s admission
    h.clock.advance(S * 30 - MS * 2);
    assert_eq!(h.rejection_or_probe(), State::HalfOpen);
    h.clock.advance(MS);
    assert_eq!(h.rejection().state(), State::Open);
    assert_eq!(h.last_signal().cause, Cause::ProbeTimeout);
    drop(probe);
}

#[test]
fn max_wait_does_not_fire_without_probes_in_flight() {
    let h = harness_in(
        policy(|p| p.permit(Permit::all()).max_wait(S)),
        State::HalfOpen,
    );
    h.clock.advance(S * 100);
    h.call(Success).unwrap();
    assert_eq!(
        h.transitions(),
        [(State::HalfOpen, State::Closed, "recovered")]
    );
}

#[test]
fn a_probe_outcome_restarts_the_max_wait_clock() {
    let h = harness_in(
        policy(|p| p.permit(Permit::all()).close_after(100).max_wait(S * 10)),
        State::HalfOpen,
    );
    let slow = h.acquire();
    h.clock.advance(S * 8);
    h.call(Success).unwrap();
    h.clock.advance(S * 8);
    assert!(h.acquire().is_probe());
    assert_eq!(h.state(), State::HalfOpen);
    drop(slow);
}

#[test]
fn random_permits_admit_with_their_probability() {
    let none = harness_in(policy(|p| p.permit(Permit::random(0.0))), State::HalfOpen);
    assert!((0..1000).all(|_| none.circuit.try_acquire().is_err()));
    let all = harness_in(policy(|p| p.permit(Permit::random(1.0))), State::HalfOpen);
    assert!((0..1000).all(|_| all.circuit.try_acquire().is_ok()));
    let some = harness_in(
        policy(|p| {
            p.permit(Permit::random(0.3))
                .max_concurrent_probes(u32::MAX)
        }),
        State::HalfOpen,
    );
    let admitted = (0..10_000)
        .filter(|_| some.circuit.try_acquire().is_ok())
        .count();
    assert!((2_700..=3_300).contains(&admitted), "{admitted}");
}

#[test]
fn ramp_up_permits_rise_linearly_from_entry_into_half_open() {
    let h = harness_in(
        policy(|p| {
            p.permit(Permit::ramp_up(0.1, 0.9, S * 10))
                .max_concurrent_probes(u32::MAX)
        }),
        State::HalfOpen,
    );
    let admitted = |n| (0..n).filter(|_| h.circuit.try_acquire().is_ok()).count();
    let at_entry = admitted(10_000);
    assert!((800..=1_200).contains(&at_entry), "{at_entry}");
    h.clock.advance(S * 5);
    let halfway = admitted(10_000);
    assert!((4_700..=5_300).contains(&halfway), "{halfway}");
    h.clock.advance(S * 50);
    let after = admitted(10_000);
    assert!((8_700..=9_300).contains(&after), "{after}");
}

// §1 metrics_only, disabled, forced_open and manual commands

#[test]
fn metrics_only_admits_and_records_but_never_trips() {
    let h = harness(streak_policy(1));
    h.circuit.metrics_only();
    h.calls(10, Failure);
    assert_eq!(h.state(), State::MetricsOnly);
    let m = h.circuit.snapshot().metrics;
    assert_eq!((m.total(), m.failures()), (10, 10));
}

#[test]
fn disabled_admits_everything_and_records_nothing() {
    let h = harness(streak_policy(1));
    h.circuit.disable();
    h.calls(10, Failure);
    assert_eq!(h.state(), State::Disabled);
    assert_eq!(h.circuit.snapshot().metrics.total(), 0);
}

#[test]
fn forced_open_rejects_everything_without_retry_after() {
    let h = harness(streak_policy(1));
    h.circuit.force_open();
    h.clock.advance(S * 3600);
    for _ in 0..10 {
        let rejected = h.rejection();
        assert_eq!(
            (rejected.state(), rejected.retry_after()),
            (State::ForcedOpen, None)
        );
    }
    assert_eq!(
        h.rejection().to_string(),
        "circuit 'test' is forced_open and rejected the call"
    );
}

#[test]
fn manual_commands_work_from_every_state() {
    type Command = fn(&fusebox_core::Circuit) -> bool;
    let commands: [(Command, State); 4] = [
        (|c| c.reset(), State::Closed),
        (|c| c.force_open(), State::ForcedOpen),
        (|c| c.disable(), State::Disabled),
        (|c| c.metrics_only(), State::MetricsOnly),
    ];
    for from in State::ALL {
        for (command, to) in commands {
            let h = harness_in(streak_policy(1), from);
            let changed = command(&h.circuit);
            assert_eq!(h.state(), to, "{from} -> {to}");
            assert_eq!(changed, from != to);
            if from == to {
                assert_eq!(h.transitions(), [], "{from} -> {to}");
            } else {
                assert_eq!(h.transitions(), [(from, to, "manual")], "{from} -> {to}");
            }
        }
    }
}

#[test]
fn a_manual_command_into_the_current_state_clears_the_window_without_a_signal() {
    let h = harness(streak_policy(5));
    h.calls(3, Failure);
    let before = h.circuit.snapshot();
    assert!(!h.circuit.reset());
    let after = h.circuit.snapshot();
    assert_eq!(after.metrics.total(), 0);
    assert_eq!(after.metrics.consecutive_failures(), 0);
    assert_eq!(after.since, before.since);
    assert_eq!(after.generation, before.generation + 1);
    assert_eq!(h.transitions(), []);
}

#[test]
fn every_transition_clears_the_window_and_reports_the_old_one() {
    let h = harness(streak_policy(5));
    h.calls(2, Failure);
    h.circuit.metrics_only();
    assert_eq!(h.last_signal().metrics.failures(), 2);
    assert_eq!(h.circuit.snapshot().metrics.total(), 0);
    h.calls(4, Failure);
    h.circuit.reset();
    assert_eq!(h.last_signal().metrics.failures(), 4);
    let m = h.circuit.snapshot().metrics;
    assert_eq!((m.total(), m.consecutive_failures()), (0, 0));
}

// Stale outcomes and bookkeeping

#[test]
fn a_slow_call_admitted_while_closed_cannot_pollute_the_half_open_window() {
    let h = harness(streak_policy(2));
    let slow = h.acquire();
    h.calls(2, Failure);
    h.clock.advance(S * 10);
    let probe = h.acquire();
    assert_eq!(h.state(), State::HalfOpen);
    slow.finish(Failure);
    assert_eq!(h.circuit.snapshot().metrics.total(), 0);
    assert_eq!(h.state(), State::HalfOpen);
    probe.finish(Success);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn registration_sends_one_signal_from_the_initial_state_to_itself() {
    let h = harness_in(streak_policy(1), State::Disabled);
    let signals = h.signals();
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].cause, Cause::Registered);
    assert!(signals[0].is_registration());
    assert_eq!(
        (signals[0].from, signals[0].to),
        (State::Disabled, State::Disabled)
    );
    assert_eq!(&*signals[0].circuit, "test");
}

#[test]
fn signals_carry_the_clock_wall_time_of_the_transition() {
    let h = harness(streak_policy(1));
    h.clock.advance(S * 42);
    h.trip();
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_042);
    assert_eq!(h.last_signal().at, epoch);
    assert_eq!(h.circuit.snapshot().since, epoch);
    h.clock.advance(S * 3);
    assert_eq!(h.circuit.snapshot().time_in_state, S * 3);
}

#[test]
fn a_panicking_sink_does_not_break_the_circuit() {
    let circuit = fusebox_core::Circuit::builder("p")
        .policy(streak_policy(1))
        .on_signal(|_| panic!("listener bug"))
        .build();
    circuit.try_acquire().unwrap().finish(Failure);
    assert_eq!(circuit.state(), State::Open);
    assert!(circuit.reset());
    assert_eq!(circuit.state(), State::Closed);
}

#[test]
fn snapshot_reports_state_metrics_and_probes() {
    let h = harness(streak_policy(3));
    h.timed_call(Failure, MS * 10).unwrap();
    let s = h.circuit.snapshot();
    assert_eq!(&*s.name, "test");
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.generation, 0);
    assert_eq!(s.reopens, 0);
    assert_eq!(s.retry_after, None);
    assert_eq!(s.probes_in_flight, 0);
    assert_eq!(s.metrics.failure_rate(), Some(1.0));
    assert_eq!(s.time_in_state, MS * 10);
}

#[test]
fn circuits_are_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<fusebox_core::Circuit>();
    assert_send_sync::<fusebox_core::Admission<'_>>();
    assert_send_sync::<fusebox_core::OwnedAdmission>();
    let h = harness(streak_policy(1));
    let clone = h.circuit.clone();
    clone.force_open();
    assert!(clone.ptr_eq(&h.circuit));
    assert_eq!(h.state(), State::ForcedOpen);
}

#[test]
fn call_counts_accumulate_by_outcome_across_transitions() {
    let h = harness(policy(|p| {
        p.window(Window::count(2))
            .trip(failure_streak(2))
            .retry(Retry::cooldown(S))
            .permit(Permit::all())
    }));
    h.calls(3, Success);
    h.call(Ignored).unwrap();
    h.calls(2, Failure); // trips
    for _ in 0..4 {
        h.rejection();
    }
    h.clock.advance(S);
    h.call(Success).unwrap(); // probe closes
    h.circuit.disable();
    h.calls(5, Failure); // counted, though nothing is recorded in disabled
    h.circuit.force_open();
    h.rejection();
    let calls = h.circuit.snapshot().calls;
    assert_eq!(
        calls,
        fusebox_core::CallCounts {
            success: 4,
            failure: 7,
            ignored: 1,
            rejected: 5
        }
    );
    assert_eq!(
        calls.by_outcome(),
        [
            ("success", 4),
            ("failure", 7),
            ("ignored", 1),
            ("rejected", 5)
        ]
    );
}

#[test]
fn call_counts_work_for_time_windows_too() {
    let h = harness(policy(|p| {
        p.window(Window::time(S * 2)).trip(failure_streak(10))
    }));
    h.calls(3, Success);
    h.clock.advance(S * 10);
    h.calls(2, Failure);
    let s = h.circuit.snapshot();
    assert_eq!((s.calls.success, s.calls.failure), (3, 2));
    assert_eq!(
        s.metrics.total(),
        2,
        "the window forgot the old successes, the counts did not"
    );
}

#[test]
fn is_shared_sees_other_handles_and_unfinished_admissions() {
    let circuit = fusebox_core::Circuit::new("alone", fusebox_core::Policy::default());
    assert!(!circuit.is_shared());
    let other = circuit.clone();
    assert!(circuit.is_shared());
    drop(other);
    let admission = circuit.try_acquire_owned().expect("closed");
    assert!(circuit.is_shared());
    admission.finish(fusebox_core::Outcome::Success);
    assert!(!circuit.is_shared());
}

#[test]
fn the_clock_a_circuit_is_built_with_last_decides_its_open_rejections() {
    let manual = fusebox_core::ManualClock::new();
    let circuit = fusebox_core::Circuit::builder("clocked")
        .policy(
            Policy::builder()
                .trip(fusebox_core::trip::failure_streak(1))
                .retry(Retry::cooldown(S * 10))
                .permit(Permit::all())
                .build()
                .expect("a valid policy"),
        )
        .clock(fusebox_core::SystemClock::new())
        .shared_clock(std::sync::Arc::new(manual.clone()))
        .build();
    circuit
        .try_acquire()
        .expect("closed admits")
        .finish(Failure);
    let rejected = circuit.try_acquire().expect_err("open rejects");
    assert_eq!(
        rejected.retry_after(),
        Some(S * 10),
        "measured on the manual clock"
    );
    manual.advance(S * 10);
    assert!(
        circuit.try_acquire().is_ok(),
        "the manual clock's cooldown is over"
    );
    assert_eq!(circuit.state(), State::HalfOpen);
}
