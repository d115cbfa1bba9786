#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers, outside `#[test]` functions
use std::time::Duration;

use proptest::prelude::*;

use super::*;

const MS: Duration = Duration::from_millis(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const STRIPES: usize = 2;

fn ns(duration: Duration) -> u64 {
    crate::clock::duration_nanos(duration)
}

fn recorder(window: Window, thresholds: &[Duration], latency: bool) -> Recorder {
    Recorder::new(window, thresholds, latency, STRIPES, tag(0), Duration::ZERO)
}

/// Records on stripe 0 in the first period.
fn record(recorder: &Recorder, now: Duration, failure: bool, duration: Duration) {
    record_on(recorder, 0, now, failure, duration);
}

fn record_on(recorder: &Recorder, stripe: usize, now: Duration, failure: bool, duration: Duration) {
    recorder
        .record(stripe, tag(0), ns(now), failure, ns(duration), false)
        .expect("the first period is current");
}

fn metrics(recorder: &Recorder, now: Duration) -> Metrics {
    recorder.metrics(&recorder.tally(now))
}

#[test]
fn count_window_keeps_only_the_last_n_calls() {
    let recorder = recorder(Window::count(3), &[MS * 100], true);
    record(&recorder, Duration::ZERO, true, MS * 500);
    record(&recorder, Duration::ZERO, false, MS * 10);
    record(&recorder, Duration::ZERO, false, MS * 20);
    let m = metrics(&recorder, Duration::ZERO);
    assert_eq!((m.total(), m.failures()), (3, 1));
    assert_eq!(m.total_duration(), MS * 530);
    assert_eq!(m.slow_calls(MS * 100), Some(1));

    // The fourth call pushes the slow failure out.
    record(&recorder, Duration::ZERO, false, MS * 30);
    let m = metrics(&recorder, Duration::ZERO);
    assert_eq!((m.total(), m.failures()), (3, 0));
    assert_eq!(m.total_duration(), MS * 60);
    assert_eq!(m.slow_calls(MS * 100), Some(0));
    assert_eq!(m.failure_rate(), Some(0.0));
    assert_eq!(m.avg_latency(), Some(MS * 20));
}

#[test]
fn count_window_strides_are_coprime_with_the_ring_so_every_slot_is_used() {
    for (size, stride) in [(1, 1), (16, 1), (17, 16), (100, 17), (1000, 17), (4096, 17)] {
        let ring = slots::SlotRing::new(size, sums::Layout::new(true, Box::new([])), tag(0));
        assert_eq!(ring.stride(), stride, "size {size}");
        for _ in 0..size {
            ring.record(tag(0), false, 1).expect("current period");
        }
        assert_eq!(ring.recount().1, size as u64, "size {size}");
    }
}

#[test]
fn count_window_is_not_aged_by_time() {
    let recorder = recorder(Window::count(10), &[], true);
    record(&recorder, Duration::ZERO, true, MS);
    assert_eq!(metrics(&recorder, secs(3600)).failures(), 1);
}

#[test]
fn time_window_expires_old_buckets_on_read_without_new_calls() {
    let recorder = recorder(Window::time(secs(3)), &[], true);
    record(&recorder, Duration::ZERO, true, MS);
    assert_eq!(metrics(&recorder, MS * 2999).failures(), 1);
    // Second 0 leaves a 3 s window at second 3; nothing was recorded since.
    assert_eq!(metrics(&recorder, secs(3)).failures(), 0);
    assert_eq!(metrics(&recorder, secs(3)).total(), 0);
    assert_eq!(metrics(&recorder, secs(10)).failure_rate(), None);
}

#[test]
fn time_window_counts_the_last_d_seconds_in_whole_buckets() {
    let recorder = recorder(Window::time(secs(2)), &[MS * 100], true);
    record(&recorder, MS * 100, true, MS * 200); // second 0
    record(&recorder, MS * 1100, false, MS * 50); // second 1
    record(&recorder, MS * 1900, false, MS * 150); // second 1
    let m = metrics(&recorder, MS * 1999);
    assert_eq!((m.total(), m.failures()), (3, 1));
    assert_eq!(m.slow_calls(MS * 100), Some(2));
    // At second 2 the bucket of second 0 is out.
    let m = metrics(&recorder, secs(2));
    assert_eq!((m.total(), m.failures()), (2, 0));
    assert_eq!(m.total_duration(), MS * 200);
    assert_eq!(m.slow_calls(MS * 100), Some(1));
    // Recording at second 2 reuses the bucket of second 0.
    record(&recorder, MS * 2500, true, MS);
    let m = metrics(&recorder, MS * 2500);
    assert_eq!((m.total(), m.failures()), (3, 1));
    // A long silence empties everything.
    assert_eq!(metrics(&recorder, secs(1000)).total(), 0);
    record(&recorder, secs(1000), false, MS);
    assert_eq!(metrics(&recorder, secs(1000)).total(), 1);
}

#[test]
fn window_validation_names_the_allowed_range() {
    assert_eq!(
        Window::count(0).validate(),
        Err("count(n) needs 1 <= n <= 1000000")
    );
    assert_eq!(Window::count(1).validate(), Ok(()));
    assert_eq!(Window::count(MAX_COUNT_WINDOW).validate(), Ok(()));
    assert!(Window::count(MAX_COUNT_WINDOW + 1).validate().is_err());
    let time_err = Err("time(d) needs whole seconds with 1s <= d <= 86400s");
    assert_eq!(Window::time(Duration::ZERO).validate(), time_err);
    assert_eq!(Window::time(MS * 1500).validate(), time_err);
    assert_eq!(Window::time(secs(86_401)).validate(), time_err);
    assert_eq!(Window::time(secs(1)).validate(), Ok(()));
    assert_eq!(Window::time(MAX_TIME_WINDOW).validate(), Ok(()));
}

#[test]
fn concurrent_records_leave_sums_equal_to_the_ring() {
    for latency in [true, false] {
        let recorder = recorder(Window::count(64), &[MS], latency);
        std::thread::scope(|scope| {
            for t in 0..4u32 {
                let recorder = &recorder;
                scope.spawn(move || {
                    for i in 0..10_000u32 {
                        record(recorder, Duration::ZERO, (i + t) % 4 == 0, MS * (i % 3));
                    }
                });
            }
        });
        let m = metrics(&recorder, Duration::ZERO);
        // Once every record has finished, the running sums equal the ring's contents.
        assert_eq!(m.total(), 64);
        match &recorder.calls {
            Calls::Slots(ring) => {
                let (failures, nanos) = ring.recount();
                assert_eq!(
                    (m.failures(), m.total_duration()),
                    (failures, Duration::from_nanos(nanos))
                );
            }
            Calls::Bits(ring) => assert_eq!(m.failures(), ring.recount()),
            Calls::Time(_) => unreachable!("built as a count window"),
        }
    }
}

/// One step of a generated history: move the clock, then record a call.
#[derive(Clone, Debug)]
struct Step {
    advance_ms: u64,
    failure: bool,
    duration_ms: u64,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            prop_oneof![Just(0u64), 0..1500u64, 0..6000u64],
            any::<bool>(),
            0..300u64,
        )
            .prop_map(|(advance_ms, failure, duration_ms)| Step {
                advance_ms,
                failure,
                duration_ms,
            }),
        0..200,
    )
}

/// Metrics recomputed naively from every record in the window.
fn naive(
    records: &[(u64, bool, u64)],
    window: Window,
    now_ms: u64,
    thresholds: &[u64],
) -> (u64, u64, u64, Vec<u64>) {
    let live: Vec<_> = match window {
        Window::Count(n) => records.iter().rev().take(n).collect(),
        Window::Time(d) => {
            let now_second = now_ms / 1000;
            let oldest = (now_second + 1).saturating_sub(d.as_secs());
            records
                .iter()
                .filter(|(at, _, _)| at / 1000 >= oldest)
                .collect()
        }
    };
    let total = live.len() as u64;
    let failures = live.iter().filter(|r| r.1).count() as u64;
    let duration = live.iter().map(|r| r.2).sum();
    let slow = thresholds
        .iter()
        .map(|t| live.iter().filter(|r| r.2 >= *t).count() as u64)
        .collect();
    (total, failures, duration, slow)
}

fn check_against_naive(window: Window, latency: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let thresholds_ms: &[u64] = if latency { &[50, 200] } else { &[] };
    let thresholds: Vec<_> = thresholds_ms.iter().map(|t| MS * (*t as u32)).collect();
    let recorder = recorder(window, &thresholds, latency);
    let mut now_ms = 0;
    let mut records = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        now_ms += step.advance_ms;
        let now = Duration::from_millis(now_ms);
        let duration_ms = if latency { step.duration_ms } else { 0 };
        // Calls land on alternating stripes, as from two cores.
        record_on(
            &recorder,
            index % STRIPES,
            now,
            step.failure,
            Duration::from_millis(duration_ms),
        );
        records.push((now_ms, step.failure, duration_ms));
        let m = metrics(&recorder, now);
        let (total, failures, duration, slow) = naive(&records, window, now_ms, thresholds_ms);
        prop_assert_eq!(m.total(), total);
        prop_assert_eq!(m.failures(), failures);
        prop_assert_eq!(m.total_duration(), Duration::from_millis(duration));
        let got: Vec<_> = m.slow().map(|(_, calls)| calls).collect();
        prop_assert_eq!(got, slow);
    }
    // Reading later, with no new calls, expires what is due.
    let later = now_ms + 2500;
    let m = metrics(&recorder, Duration::from_millis(later));
    let (total, failures, _, _) = naive(&records, window, later, thresholds_ms);
    prop_assert_eq!((m.total(), m.failures()), (total, failures));
    Ok(())
}

proptest! {
    #[test]
    fn count_window_metrics_equal_naive_recomputation(
        size in 1usize..20, latency: bool, steps in steps(),
    ) {
        check_against_naive(Window::count(size), latency, &steps)?;
    }

    #[test]
    fn bit_rings_past_the_inline_words_equal_naive_recomputation(
        size in 500usize..700, steps in steps(),
    ) {
        check_against_naive(Window::count(size), false, &steps)?;
    }

    #[test]
    fn time_window_metrics_equal_naive_recomputation(
        seconds in 1u64..6, latency: bool, steps in steps(),
    ) {
        check_against_naive(Window::time(Duration::from_secs(seconds)), latency, &steps)?;
    }
}

#[test]
fn a_clear_empties_every_window_in_place_and_turns_away_the_old_period() {
    for (window, latency) in [
        (Window::count(100), false),
        (Window::count(100), true),
        (Window::time(secs(60)), false),
        (Window::time(secs(60)), true),
    ] {
        let recorder = recorder(window, &[MS], latency);
        for stripe in 0..STRIPES {
            record_on(&recorder, stripe, secs(5), true, MS * 2);
        }
        assert_eq!(metrics(&recorder, secs(5)).total(), 2, "{window}");
        recorder.clear(tag(1), secs(5));
        let m = metrics(&recorder, secs(5));
        assert_eq!(
            (m.total(), m.failures(), m.consecutive_failures()),
            (0, 0, 0),
            "{window}"
        );
        // A writer of the ended period fails and changes nothing.
        assert_eq!(
            recorder
                .record(0, tag(0), ns(secs(5)), true, ns(MS), false)
                .map(|_| ()),
            Err(Stale),
            "{window}"
        );
        recorder
            .record(1, tag(1), ns(secs(5)), false, ns(MS), false)
            .expect("the new period is current");
        let m = metrics(&recorder, secs(5));
        assert_eq!((m.total(), m.failures()), (1, 0), "{window}");
    }
}

#[test]
fn a_time_window_stripe_skips_evaluations_only_within_its_granted_budget() {
    let recorder = Recorder::new(
        Window::time(secs(10)),
        &[],
        false,
        2,
        tag(0),
        Duration::ZERO,
    );
    let evaluate = |stripe: usize, now: Duration| match recorder
        .record(stripe, tag(0), ns(now), false, 0, true)
        .expect("current period")
    {
        Evaluation::Skip => false,
        Evaluation::Evaluate(_) => true,
    };
    let skipped =
        |stripe: usize, calls: usize| (0..calls).filter(|_| !evaluate(stripe, secs(1))).count();
    // No budget yet: every call evaluates.
    assert!(evaluate(0, secs(1)));
    // The rule needs 9 more calls: 8 may be skipped, shared by the two stripes, each taking
    // its half of what the other does not hold.
    recorder.grant(0, tag(0), ns(secs(1)), 9);
    assert_eq!(skipped(0, 6), 4, "stripe 0 took half of 8");
    recorder.grant(1, tag(0), ns(secs(1)), 9);
    assert_eq!(
        skipped(1, 6),
        4,
        "stripe 1 half of 8, none held by stripe 0 any more"
    );
    recorder.grant(0, tag(0), ns(secs(1)), 9);
    recorder.grant(1, tag(0), ns(secs(1)), 9);
    assert_eq!(
        (skipped(0, 9), skipped(1, 9)),
        (4, 2),
        "stripe 1 gets half of what stripe 0 leaves"
    );
    // What a stripe has spent of its budget is free for the others.
    recorder.grant(0, tag(0), ns(secs(1)), 9);
    assert_eq!(skipped(0, 2), 2);
    recorder.grant(1, tag(0), ns(secs(1)), 9);
    assert_eq!(
        skipped(1, 9),
        3,
        "8 less the 2 stripe 0 still holds, halved"
    );
    // A budget ends with its second.
    recorder.grant(0, tag(0), ns(secs(1)), 9);
    assert!(evaluate(0, secs(2)));
    // And with its period.
    recorder.grant(0, tag(0), ns(secs(2)), 100);
    recorder.clear(tag(1), secs(2));
    assert!(matches!(
        recorder.record(0, tag(1), ns(secs(2)), false, 0, true),
        Ok(Evaluation::Evaluate(_))
    ));
}

#[test]
fn the_reported_count_of_successes_never_goes_back() {
    let recorder = recorder(Window::count(2), &[], false);
    let ring = recorder.bits().expect("a count window without latency");
    recorder.successes_reported.store(5, Ordering::Relaxed);
    ring.record_counts(tag(0), false, false)
        .expect("the first period is current");
    assert_eq!(
        recorder.successes(),
        5,
        "a higher count was reported before"
    );
    for _ in 0..5 {
        ring.record_counts(tag(0), false, false)
            .expect("the first period is current");
    }
    assert_eq!(recorder.successes(), 6);
}

#[test]
fn a_time_window_counts_the_successes_it_records_across_expiry_and_clears() {
    let recorder = recorder(Window::time(secs(2)), &[MS], true);
    record_on(&recorder, 0, secs(1), false, MS);
    record_on(&recorder, 1, secs(1), true, MS);
    record_on(&recorder, 1, secs(2), false, MS * 3);
    assert_eq!(recorder.successes(), 2);
    assert_eq!(metrics(&recorder, secs(2)).total(), 3);
    // Second 1 expires: the window forgets it, the count of successes does not.
    let m = metrics(&recorder, secs(3));
    assert_eq!((m.total(), m.failures()), (1, 0));
    assert_eq!(m.slow_calls(MS), Some(1));
    assert_eq!(recorder.successes(), 2);
    // A clear empties the window, and a late writer of the ended period counts nowhere.
    recorder.clear(tag(1), secs(3));
    assert_eq!(metrics(&recorder, secs(3)).total(), 0);
    assert!(
        recorder
            .record(0, tag(0), ns(secs(3)), false, 0, false)
            .is_err()
    );
    assert_eq!(recorder.successes(), 2);
    recorder
        .record(0, tag(1), ns(secs(3)), false, 0, false)
        .expect("the new period is current");
    let m = metrics(&recorder, secs(3));
    assert_eq!((m.total(), recorder.successes()), (1, 3));
}
