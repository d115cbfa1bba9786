//! The policy engine of fusebox: a pure, synchronous circuit-breaker state machine.
//!
//! No I/O, no async, no tower: a [`Circuit`] decides whether a call may run
//! ([`Circuit::try_acquire`]), records how it went ([`Admission::finish`]) and reports each
//! transition as a [`Signal`]. The `fusebox` crate puts it in front of tower services.
//!
//! | module | what lives there |
//! |---|---|
//! | [`State`] | the six states |
//! | [`Outcome`] | success, failure, ignored |
//! | [`Window`], [`Metrics`] | count and time windows and what they measure |
//! | [`trip`] | trip rules, their operators and text form |
//! | [`Retry`] | when an open circuit probes again |
//! | [`Permit`] | which calls a half-open circuit admits |
//! | [`Policy`] | all of the above, validated |
//! | [`Clock`] | monotonic time, real or manual |
//! | [`Circuit`] | the state machine |
//! | [`Signal`] | the news of a transition |
//!
//! ```
//! use std::time::Duration;
//! use fusebox_core::{Circuit, ManualClock, Outcome, Policy, Retry, State, Window};
//! use fusebox_core::trip::{failure_rate, min_requests};
//!
//! let clock = ManualClock::new();
//! let policy = Policy::builder()
//!     .window(Window::count(10))
//!     .trip(min_requests(4) & failure_rate(0.5))
//!     .retry(Retry::cooldown(Duration::from_secs(30)))
//!     .build()?;
//! let circuit = Circuit::builder("inventory").policy(policy).clock(clock.clone()).build();
//!
//! for outcome in [Outcome::Success, Outcome::Failure, Outcome::Success, Outcome::Failure] {
//!     circuit.try_acquire().expect("closed").finish(outcome);
//! }
//! assert_eq!(circuit.state(), State::Open);
//! assert_eq!(circuit.try_acquire().unwrap_err().retry_after(), Some(Duration::from_secs(30)));
//!
//! clock.advance(Duration::from_secs(30));
//! let probe = loop {
//!     // The default permit ramps up from 10 %: some calls are turned away at first.
//!     if let Ok(admission) = circuit.try_acquire() { break admission; }
//! };
//! assert_eq!(circuit.state(), State::HalfOpen);
//! probe.finish(Outcome::Success);
//! assert_eq!(circuit.state(), State::Closed);
//! # Ok::<(), fusebox_core::PolicyError>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod circuit;
mod clock;
pub mod duration;
mod outcome;
mod permit;
mod policy;
mod retry;
mod rng;
mod signal;
mod state;
mod sync;
mod text;
pub mod trip;
pub mod wall;
mod window;

pub use circuit::{
    Admission, CallCounts, Circuit, CircuitBuilder, Command, OwnedAdmission, Rejected, Snapshot,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use outcome::Outcome;
pub use permit::Permit;
pub use policy::{Policy, PolicyBuilder, PolicyError};
pub use retry::Retry;
pub use signal::{Cause, Details, ParseScopeError, Scope, Signal};
pub use state::{ParseStateError, State};
pub use text::ParsePolicyError;
pub use trip::TripRule;
pub use window::{MAX_COUNT_WINDOW, MAX_SLOW_THRESHOLDS, MAX_TIME_WINDOW, Metrics, Window};
