//! SPEC defaults and every validation error of the policy builder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of tests, where a failed unwrap is a failed test"
)]

use std::time::Duration;

use fusebox_core::trip::{failure_rate, min_requests};
use fusebox_core::{Permit, Policy, PolicyError, Retry, Window};

const S: Duration = Duration::from_secs(1);

#[test]
fn defaults_follow_the_spec() {
    let policy = Policy::default();
    assert_eq!(policy.window(), Window::count(100));
    assert_eq!(policy.trip(), &(min_requests(100) & failure_rate(0.5)));
    assert_eq!(policy.retry(), Retry::cooldown(S * 60));
    assert_eq!(policy.permit(), Permit::ramp_up(0.1, 1.0, S * 60));
    assert_eq!(policy.max_concurrent_probes(), 10);
    assert_eq!(policy.close_after(), 1);
    assert_eq!(policy.max_wait(), S * 60);
    assert_eq!(
        policy.to_string(),
        "window=count(100) trip=min_requests(100) & failure_rate(0.5) retry=cooldown(60s) \
         permit=ramp_up(0.1, 1, 60s) max_concurrent_probes=10 close_after=1 max_wait=60s"
    );
}

fn error(
    build: impl FnOnce(fusebox_core::PolicyBuilder) -> fusebox_core::PolicyBuilder,
) -> PolicyError {
    build(Policy::builder()).build().unwrap_err()
}

#[test]
fn every_invalid_value_is_a_build_error_naming_field_value_and_range() {
    let cases: Vec<(PolicyError, &str)> = vec![
        (
            error(|p| p.window(Window::count(0))),
            "invalid policy: window = count(0): count(n) needs 1 <= n <= 1000000",
        ),
        (
            error(|p| p.window(Window::time(Duration::ZERO))),
            "invalid policy: window = time(0s): time(d) needs whole seconds with 1s <= d <= 86400s",
        ),
        (
            error(|p| p.window(Window::time(Duration::from_millis(2500)))),
            "invalid policy: window = time(2500ms): time(d) needs whole seconds with 1s <= d <= 86400s",
        ),
        (
            error(|p| p.retry(Retry::cooldown(Duration::ZERO))),
            "invalid policy: retry = cooldown(0s): cooldown(d) needs d > 0",
        ),
        (
            error(|p| p.retry(Retry::backoff(Duration::ZERO, 2.0, S))),
            "invalid policy: retry = backoff(0s, 2, 1s): backoff(initial, multiplier, max) needs initial > 0",
        ),
        (
            error(|p| p.retry(Retry::backoff(S, 1.0, S * 2))),
            "invalid policy: retry = backoff(1s, 1, 2s): backoff(initial, multiplier, max) needs multiplier > 1",
        ),
        (
            error(|p| p.retry(Retry::backoff(S * 2, 2.0, S))),
            "invalid policy: retry = backoff(2s, 2, 1s): backoff(initial, multiplier, max) needs max >= initial",
        ),
        (
            error(|p| p.retry(Retry::cooldown(S).jitter(1.0))),
            "invalid policy: retry = cooldown(1s).jitter(1): jitter(ratio) needs 0 <= ratio < 1",
        ),
        (
            error(|p| p.permit(Permit::random(1.5))),
            "invalid policy: permit = random(1.5): random(p) needs 0 <= p <= 1",
        ),
        (
            error(|p| p.permit(Permit::ramp_up(0.0, 1.0, S))),
            "invalid policy: permit = ramp_up(0, 1, 1s): ramp_up(from, to, over) needs from > 0",
        ),
        (
            error(|p| p.permit(Permit::ramp_up(0.5, 0.4, S))),
            "invalid policy: permit = ramp_up(0.5, 0.4, 1s): ramp_up(from, to, over) needs from <= to",
        ),
        (
            error(|p| p.permit(Permit::ramp_up(0.5, 1.1, S))),
            "invalid policy: permit = ramp_up(0.5, 1.1, 1s): ramp_up(from, to, over) needs to <= 1",
        ),
        (
            error(|p| p.permit(Permit::ramp_up(0.5, 1.0, Duration::ZERO))),
            "invalid policy: permit = ramp_up(0.5, 1, 0s): ramp_up(from, to, over) needs over > 0",
        ),
        (
            error(|p| p.max_concurrent_probes(0)),
            "invalid policy: max_concurrent_probes = 0: max_concurrent_probes needs at least 1",
        ),
        (
            error(|p| p.close_after(0)),
            "invalid policy: close_after = 0: close_after needs at least 1",
        ),
        (
            error(|p| p.max_wait(Duration::ZERO)),
            "invalid policy: max_wait = 0s: max_wait needs a duration > 0",
        ),
        (
            error(|p| p.trip(min_requests(0) & failure_rate(0.5))),
            "invalid policy: trip = min_requests(0): min_requests takes a count n with n >= 1",
        ),
        (
            error(|p| p.trip(min_requests(5) & failure_rate(0.0))),
            "invalid policy: trip = failure_rate(0): failure_rate takes a rate r with 0 < r <= 1",
        ),
    ];
    for (err, expected) in cases {
        assert_eq!(err.to_string(), expected);
    }
    let err = error(|p| p.max_wait(Duration::ZERO));
    assert_eq!(
        (err.field(), err.value(), err.allowed()),
        ("max_wait", "0s", "max_wait needs a duration > 0")
    );
}

#[test]
fn inclusive_boundaries_are_valid() {
    let valid = [
        Policy::builder().window(Window::count(1)),
        Policy::builder().window(Window::time(S)),
        Policy::builder().retry(Retry::cooldown(Duration::from_nanos(1))),
        Policy::builder().retry(Retry::backoff(S, 1.5, S)),
        Policy::builder().retry(Retry::cooldown(S).jitter(0.0)),
        Policy::builder().permit(Permit::random(0.0)),
        Policy::builder().permit(Permit::random(1.0)),
        Policy::builder().permit(Permit::ramp_up(1.0, 1.0, S)),
        Policy::builder().max_concurrent_probes(1).close_after(1),
        Policy::builder().trip(min_requests(1) & failure_rate(1.0)),
    ];
    for builder in valid {
        assert!(builder.clone().build().is_ok(), "{builder:?}");
    }
}
