//! Calls outside tower: `Circuit::call`, `call_with`, `call_async` and `call_future` acquire,
//! run, classify and finish in one step, and count a call that never finishes as ignored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly"
)]
use std::error::Error as _;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use fusebox_core::trip::{avg_latency, failure_streak};
use fusebox_core::{
    CallCounts, CallError, Circuit, ManualClock, Outcome, Permit, Policy, Retry, State,
};

fn circuit(policy: Policy) -> (Circuit, ManualClock) {
    let clock = ManualClock::new();
    let circuit = Circuit::builder("ledger")
        .policy(policy)
        .clock(clock.clone())
        .build();
    (circuit, clock)
}

fn streak(n: u64) -> Policy {
    Policy::builder()
        .trip(failure_streak(n))
        .retry(Retry::never())
        .build()
        .unwrap()
}

/// A half-open circuit with a single probe slot, which every call may take.
fn half_open_with_one_slot() -> Circuit {
    let policy = Policy::builder()
        .permit(Permit::all())
        .max_concurrent_probes(1)
        .build()
        .unwrap();
    Circuit::builder("ledger")
        .policy(policy)
        .clock(ManualClock::new())
        .initial_state(State::HalfOpen)
        .build()
}

fn counts(success: u64, failure: u64, ignored: u64, rejected: u64) -> CallCounts {
    CallCounts {
        success,
        failure,
        ignored,
        rejected,
    }
}

fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn call_returns_the_value_or_the_inner_error_and_records_each() {
    let (circuit, _) = circuit(streak(3));
    assert_eq!(circuit.call(|| Ok::<_, &str>(7)), Ok(7));
    assert_eq!(
        circuit.call(|| Err::<u32, _>("disk full")),
        Err(CallError::Inner("disk full"))
    );
    let snapshot = circuit.snapshot();
    assert_eq!(snapshot.calls, counts(1, 1, 0, 0));
    assert_eq!(
        (snapshot.metrics.total(), snapshot.metrics.failures()),
        (2, 1)
    );
}

#[test]
fn failed_calls_trip_the_circuit_and_the_next_call_never_runs() {
    let (circuit, _) = circuit(streak(2));
    for _ in 0..2 {
        circuit.call(|| Err::<(), _>("refused")).unwrap_err();
    }
    assert_eq!(circuit.state(), State::Open);

    let mut ran = false;
    let error = circuit
        .call(|| {
            ran = true;
            Ok::<_, &str>(())
        })
        .unwrap_err();
    assert!(!ran);
    let rejected = error.rejected().unwrap();
    assert_eq!(
        (rejected.circuit(), rejected.state()),
        ("ledger", State::Open)
    );
    assert!(error.is_rejected());
    assert_eq!(error.inner(), None);
    assert_eq!(circuit.snapshot().calls, counts(0, 2, 0, 1));
}

#[test]
fn call_records_the_duration_from_admission_to_the_end_of_the_closure() {
    let policy = Policy::builder()
        .trip(avg_latency(Duration::from_secs(2)))
        .build()
        .unwrap();
    let (circuit, clock) = circuit(policy);
    circuit
        .call(|| {
            clock.advance(Duration::from_millis(1999));
            Ok::<_, ()>(())
        })
        .unwrap();
    assert_eq!(circuit.state(), State::Closed);
    circuit
        .call(|| {
            clock.advance(Duration::from_millis(2001));
            Ok::<_, ()>(())
        })
        .unwrap();
    // Mean of 1.999 s and 2.001 s: 2 s, the rule's inclusive bound.
    assert_eq!(circuit.state(), State::Open);
}

#[test]
fn call_with_counts_results_as_the_classifier_says() {
    let (circuit, _) = circuit(streak(1));
    let classify = |result: &Result<u32, &str>| match result {
        Err(error) if *error == "not found" => Outcome::Ignored,
        Ok(0) => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    };
    assert_eq!(
        circuit.call_with(classify, || Err("not found")),
        Err(CallError::Inner("not found"))
    );
    assert_eq!(circuit.call_with(classify, || Ok(3)), Ok(3));
    assert_eq!(circuit.state(), State::Closed);
    assert_eq!(circuit.snapshot().calls, counts(1, 0, 1, 0));

    // An `Ok` can be a failure too: it trips the circuit, and the caller still gets it.
    assert_eq!(circuit.call_with(classify, || Ok(0)), Ok(0));
    assert_eq!(circuit.state(), State::Open);
}

#[test]
fn a_panicking_closure_unwinds_counts_as_ignored_and_frees_its_probe_slot() {
    let circuit = half_open_with_one_slot();
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        circuit.call(|| -> Result<(), &str> { panic!("bug in the caller") })
    }));
    let message = unwound.unwrap_err();
    assert_eq!(message.downcast_ref::<&str>(), Some(&"bug in the caller"));

    let snapshot = circuit.snapshot();
    assert_eq!(snapshot.calls, counts(0, 0, 1, 0));
    assert_eq!(snapshot.probes_in_flight, 0);
    assert_eq!(snapshot.metrics.total(), 0);
    // The slot is free: the next call is the probe, and its success closes the circuit.
    assert_eq!(circuit.call(|| Ok::<_, ()>(1)), Ok(1));
    assert_eq!(circuit.state(), State::Closed);
}

#[test]
fn a_panicking_classifier_counts_the_call_as_ignored() {
    let (circuit, _) = circuit(streak(1));
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        circuit.call_with(|_: &Result<(), ()>| panic!("classifier bug"), || Err(()))
    }));
    assert!(unwound.is_err());
    assert_eq!(circuit.snapshot().calls, counts(0, 0, 1, 0));
    assert_eq!(circuit.state(), State::Closed);
}

#[test]
fn call_async_resolves_and_records_when_the_future_finishes() {
    let (circuit, _) = circuit(streak(3));
    let mut gate = Some(());
    let mut future = pin!(circuit.call_async(|| {
        std::future::poll_fn(move |_| match gate.take() {
            Some(()) => Poll::Pending,
            None => Poll::Ready(Err::<u32, _>("timeout")),
        })
    }));
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(
        circuit.snapshot().calls,
        counts(0, 0, 0, 0),
        "still running"
    );
    assert_eq!(
        poll_once(future.as_mut()),
        Poll::Ready(Err(CallError::Inner("timeout")))
    );
    assert_eq!(circuit.snapshot().calls, counts(0, 1, 0, 0));
}

#[test]
fn a_cancelled_async_call_counts_as_ignored_and_frees_its_probe_slot() {
    let circuit = half_open_with_one_slot();
    {
        let mut future = pin!(circuit.call_async(std::future::pending::<Result<(), ()>>));
        assert!(poll_once(future.as_mut()).is_pending());
        assert_eq!(circuit.snapshot().probes_in_flight, 1);
        // The only slot is taken: a second call is rejected at once.
        let second = circuit.call(|| Ok::<_, ()>(()));
        assert_eq!(
            second.unwrap_err().rejected().map(|r| r.state()),
            Some(State::HalfOpen)
        );
    } // dropped before it finished: cancelled

    let snapshot = circuit.snapshot();
    assert_eq!(snapshot.calls, counts(0, 0, 1, 1));
    assert_eq!(snapshot.probes_in_flight, 0);
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(circuit.call(|| Ok::<_, ()>(())), Ok(()));
    assert_eq!(circuit.state(), State::Closed);
}

#[test]
fn a_rejected_call_future_is_dropped_without_being_polled() {
    let (circuit, _) = circuit(streak(1));
    circuit.force_open();
    let polled = Arc::new(AtomicBool::new(false));
    let flag = polled.clone();
    let upstream = std::future::poll_fn(move |_| {
        flag.store(true, Ordering::SeqCst);
        Poll::Ready(Ok::<u32, ()>(1))
    });
    let mut future = pin!(circuit.call_future(upstream));
    let Poll::Ready(Err(CallError::Rejected(rejected))) = poll_once(future.as_mut()) else {
        panic!("a rejection at the first poll");
    };
    assert_eq!(
        (rejected.state(), rejected.retry_after()),
        (State::ForcedOpen, None)
    );
    assert!(!polled.load(Ordering::SeqCst));
    assert_eq!(circuit.snapshot().calls, counts(0, 0, 0, 1));
}

#[test]
fn call_async_decides_when_called_not_when_first_polled() {
    let (circuit, _) = circuit(streak(1));
    let future = circuit.call_async(|| async { Ok::<_, ()>(5) });
    circuit.force_open();
    // Admitted before the circuit opened: it runs, and its success is counted.
    let mut future = pin!(future);
    assert_eq!(poll_once(future.as_mut()), Poll::Ready(Ok(5)));
    assert_eq!(circuit.snapshot().calls, counts(1, 0, 0, 0));
}

#[test]
fn classify_on_a_call_future_replaces_how_it_counts() {
    let (circuit, _) = circuit(streak(1));
    let future = circuit
        .call_async(|| async { Err::<(), _>("cache miss") })
        .classify(|_: &Result<(), &str>| Outcome::Ignored);
    let mut future = pin!(future);
    assert_eq!(
        poll_once(future.as_mut()),
        Poll::Ready(Err(CallError::Inner("cache miss")))
    );
    assert_eq!(circuit.snapshot().calls, counts(0, 0, 1, 0));
    assert_eq!(circuit.state(), State::Closed);
}

#[test]
fn call_future_debug_shows_the_admission_or_the_rejection() {
    let circuit = half_open_with_one_slot();
    let running = circuit.call_future(std::future::pending::<Result<(), ()>>());
    assert_eq!(
        format!("{running:?}"),
        "CallFuture { admission: Some(OwnedAdmission { circuit: \"ledger\", probe: true, .. }), .. }"
    );
    let rejected = circuit.call_future(std::future::pending::<Result<(), ()>>());
    assert_eq!(
        format!("{rejected:?}"),
        "CallFuture { rejected: Rejected { circuit: \"ledger\", state: HalfOpen, retry_after: None } }"
    );
}

/// An error with a source, to see what a `CallError` keeps of it.
#[derive(Debug)]
struct RenderError(std::fmt::Error);

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not render the invoice")
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn call_error_reads_as_the_rejection_or_the_inner_error() {
    let (circuit, _) = circuit(streak(1));
    let error = circuit
        .call(|| Err::<(), _>(RenderError(std::fmt::Error)))
        .unwrap_err();
    assert_eq!(error.to_string(), "could not render the invoice");
    assert_eq!(
        error.source().map(ToString::to_string),
        Some("an error occurred when formatting an argument".to_owned())
    );
    assert!(error.into_inner().is_some());

    let error = circuit.call(|| Ok::<(), RenderError>(())).unwrap_err();
    assert_eq!(
        error.to_string(),
        "circuit 'ledger' is open and rejected the call"
    );
    assert!(error.source().is_none());
    assert!(error.into_inner().is_none());
}
