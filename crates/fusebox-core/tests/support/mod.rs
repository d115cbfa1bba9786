//! A circuit on a manual clock that keeps every signal it sends.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusebox_core::{
    Admission, Cause, Circuit, ManualClock, Outcome, Policy, PolicyBuilder, Rejected, Signal, State,
};

pub const MS: Duration = Duration::from_millis(1);
pub const S: Duration = Duration::from_secs(1);

pub struct Harness {
    pub circuit: Circuit,
    pub clock: ManualClock,
    signals: Arc<Mutex<Vec<Signal>>>,
}

pub fn policy(build: impl FnOnce(PolicyBuilder) -> PolicyBuilder) -> Policy {
    build(Policy::builder())
        .build()
        .expect("test policies are valid")
}

pub fn harness(policy: Policy) -> Harness {
    harness_in(policy, State::Closed)
}

pub fn harness_in(policy: Policy, initial: State) -> Harness {
    let clock = ManualClock::new();
    let signals = Arc::new(Mutex::new(Vec::new()));
    let sink = signals.clone();
    let circuit = Circuit::builder("test")
        .policy(policy)
        .clock(clock.clone())
        .seed(7)
        .initial_state(initial)
        .on_signal(move |signal| sink.lock().unwrap().push(signal))
        .build();
    Harness {
        circuit,
        clock,
        signals,
    }
}

impl Harness {
    /// Runs one call that finishes at once with `outcome`.
    pub fn call(&self, outcome: Outcome) -> Result<(), Rejected> {
        self.circuit.try_acquire()?.finish(outcome);
        Ok(())
    }

    /// Runs `n` calls with `outcome`, all of which must be admitted.
    pub fn calls(&self, n: usize, outcome: Outcome) {
        for i in 0..n {
            self.call(outcome)
                .unwrap_or_else(|r| panic!("call {i} rejected: {r}"));
        }
    }

    /// Runs one call that takes `duration` on the manual clock.
    pub fn timed_call(&self, outcome: Outcome, duration: Duration) -> Result<(), Rejected> {
        let admission = self.circuit.try_acquire()?;
        self.clock.advance(duration);
        admission.finish(outcome);
        Ok(())
    }

    pub fn acquire(&self) -> Admission<'_> {
        self.circuit
            .try_acquire()
            .unwrap_or_else(|r| panic!("expected admission, got {r}"))
    }

    pub fn rejection(&self) -> Rejected {
        self.circuit
            .try_acquire()
            .expect_err("expected the call to be rejected")
    }

    /// The state after one more call, which is dropped unfinished if admitted.
    pub fn rejection_or_probe(&self) -> State {
        drop(self.circuit.try_acquire());
        self.state()
    }

    pub fn state(&self) -> State {
        self.circuit.state()
    }

    /// Every signal, registration included.
    pub fn signals(&self) -> Vec<Signal> {
        self.signals.lock().unwrap().clone()
    }

    /// Transitions so far as `(from, to, cause)`, registration excluded.
    pub fn transitions(&self) -> Vec<(State, State, &'static str)> {
        self.signals()
            .iter()
            .filter(|s| s.cause != Cause::Registered)
            .map(|s| (s.from, s.to, s.cause.as_str()))
            .collect()
    }

    pub fn last_signal(&self) -> Signal {
        self.signals().pop().expect("a signal")
    }

    /// Opens a closed circuit whose rule is `failure_streak(1)`.
    pub fn trip(&self) {
        self.call(Outcome::Failure).expect("closed circuits admit");
        assert_eq!(self.state(), State::Open);
    }
}
