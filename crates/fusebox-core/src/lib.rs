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
//! | [`Circuit::call`], [`CallFuture`] | a call in one step: acquire, run, classify, finish |
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
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `serde` | `Serialize` for [`Signal`], [`Snapshot`], [`Metrics`] and the values in them, in the JSON shape below; `Deserialize` for [`State`], [`Outcome`], [`Cause`], [`Scope`] and [`CallCounts`] |
//!
//! ## JSON (feature `serde`)
//!
//! One shape for every program that reads circuits: webhooks post signals in it and admin
//! APIs answer snapshots in it. States, outcomes, causes and scopes are lowercase snake-case
//! names; durations are numbers with their unit in the field name (`_secs`, `_ms`); times are
//! RFC 3339 in UTC with milliseconds. A [`Signal`]:
//!
//! ```json
//! {
//!   "circuit": "payments",
//!   "from": "closed",
//!   "to": "open",
//!   "at": "2026-11-21T12:00:00.250Z",
//!   "at_unix_ms": 1795262400250,
//!   "cause": "tripped",
//!   "rule": "min_requests(20) & failure_rate(0.5)",
//!   "scope": null,
//!   "origin": null,
//!   "details": {},
//!   "metrics": {
//!     "total": 24,
//!     "failures": 15,
//!     "failure_rate": 0.625,
//!     "avg_latency_ms": null,
//!     "consecutive_failures": 3,
//!     "slow": []
//!   }
//! }
//! ```
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `circuit` | string | the circuit's name |
//! | `from`, `to` | string | states: `closed`, `open`, `half_open`, `metrics_only`, `disabled`, `forced_open` |
//! | `at` | string | when, RFC 3339 in UTC, to the millisecond |
//! | `at_unix_ms` | integer | when, in milliseconds since the Unix epoch |
//! | `cause` | string | `registered`, `tripped`, `probe`, `recovered`, `reopened`, `probe_timeout`, `manual` or `fleet` ([`Cause`]) |
//! | `rule` | string or null | the trip rule's text, for `tripped` and `reopened` |
//! | `scope` | string or null | `local` or `fleet`, for `manual` |
//! | `origin` | string or null | the replica whose action caused the transition; null for this process's own ([`Signal::origin`]) |
//! | `details` | object | what the circuit says about itself, label to value ([`Circuit::set_details`]) |
//! | `metrics.total`, `metrics.failures` | integer | calls and failures in the window at that moment |
//! | `metrics.failure_rate` | number or null | `failures / total`; null for an empty window |
//! | `metrics.avg_latency_ms` | number or null | mean call duration; null for an empty window or unless latency is measured |
//! | `metrics.consecutive_failures` | integer | the current failure streak |
//! | `metrics.slow` | array | `{"threshold_ms": 1000.0, "calls": 3}` for each slow-call threshold the trip rule reads |
//!
//! Field order is not significant; new fields may be added.
//!
//! A [`Snapshot`] (the `metrics` as above, of the current window):
//!
//! ```json
//! {
//!   "name": "payments",
//!   "state": "open",
//!   "since": "2026-11-21T12:00:00.250Z",
//!   "time_in_state_secs": 12.5,
//!   "generation": 4,
//!   "reopens": 0,
//!   "retry_after_secs": 18,
//!   "probes_in_flight": 0,
//!   "metrics": {"total": 0, "failures": 0, "failure_rate": null, "avg_latency_ms": null, "consecutive_failures": 0, "slow": []},
//!   "calls": {"success": 120, "failure": 14, "ignored": 0, "rejected": 37}
//! }
//! ```
//!
//! `retry_after_secs` is the `Retry-After` a rejected call gets now
//! ([`duration::retry_after_secs`]), `null` outside `open` or when the retry policy never
//! probes; `calls` counts since the circuit was created ([`CallCounts`]).
#![cfg_attr(docsrs, feature(doc_cfg))]
// Durations, counts and positions saturate or wrap on purpose, never by accident (SPEC §9).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod circuit;
mod clock;
pub mod duration;
mod outcome;
mod permit;
mod policy;
mod retry;
mod rng;
#[cfg(feature = "serde")]
mod serde_impls;
mod signal;
mod state;
mod sync;
mod text;
pub mod trip;
// Calendar arithmetic on bounded values, about to be replaced by `humantime`.
#[allow(clippy::arithmetic_side_effects)]
pub mod wall;
mod window;

pub use circuit::{
    Admission, CallCounts, CallError, CallFuture, Circuit, CircuitBuilder, Command, OwnedAdmission,
    Rejected, Snapshot,
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
