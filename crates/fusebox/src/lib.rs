//! A circuit breaker for tower: put a [`Circuit`] in front of any
//! [`Service`](tower_service::Service).
//!
//! [`CircuitBreakerLayer`] wraps a service in a [`CircuitBreaker`]. Each call asks the circuit
//! first: a rejected call fails at once with a [`Rejected`] and never reaches the inner
//! service; an admitted call runs, and its result is classified ([`classify`]) and recorded.
//! Readiness stays the inner service's: an open circuit never makes `poll_ready` fail.
//!
//! Errors follow tower's convention: the service's error is a [`BoxError`], so the breaker
//! stacks inside and outside `timeout`, `Buffer`, `LoadShed`, `ConcurrencyLimit` and `retry`,
//! and `?` takes it into `Box<dyn Error + Send + Sync>`. A rejection is recovered with
//! `error.downcast_ref::<Rejected>()`; the inner service's error keeps its own type inside
//! the box. With feature `http`, `CircuitBreakerLayer::respond_503` answers rejections with
//! `503 Service Unavailable` instead and keeps the inner error type.
//!
//! [`FallbackLayer`] answers rejected calls (and, when asked, failed ones) with a value
//! computed from the [`Rejected`] or the error. Outside tower,
//! [`Circuit::call`] and [`Circuit::call_async`] guard a closure or a future in one step.
//!
//! [`Fusebox`] is the registry of named circuits: per-name policies, the listener stack every
//! circuit reports its transitions to ([`listener`]), snapshots and manual commands by name,
//! and keyed routing ([`key`]): one layer, one circuit per host, route or any key.
//!
//! The policy engine comes from `fusebox-core`; what a user names of it is re-exported here
//! ([`Policy`], [`State`], [`trip`], [`Retry`], [`ManualClock`], ...), so one crate is enough.
//!
//! | feature | what it adds |
//! |---|---|
//! | `http` | the 503 mode (`CircuitBreakerLayer::respond_503`), `classify::HttpClassifier` (5xx and transport errors are failures), `key::ByHost` for `http::Request` |
//! | `reqwest` | `classify::HttpClassifier` and `key::ByHost` for `reqwest` |
//! | `config` | `config::Config`: policies from a TOML file |
//! | `serde` | `Serialize` for [`Signal`], [`Snapshot`] and [`Metrics`] (and `Deserialize` for [`State`], [`Cause`], ...) in the [JSON shape](fusebox_core#json-feature-serde) webhooks and admin APIs share |
//! | `alerts` | `alerts::ErrorBursts`: a `tracing` layer that alerts once per burst of the same logged error |
//!
//! ```
//! use std::time::Duration;
//! use fusebox::{CircuitBreakerLayer, Fusebox, LogListener, Policy, Rejected, Retry, State};
//! use fusebox::trip::failure_streak;
//! use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let fusebox = Fusebox::builder()
//!     .default_policy(
//!         Policy::builder()
//!             .trip(failure_streak(3))
//!             .retry(Retry::cooldown(Duration::from_secs(30)))
//!             .build()?,
//!     )
//!     .listener("log", LogListener::default())
//!     .build()?;
//! let mut quotes = ServiceBuilder::new()
//!     .timeout(Duration::from_secs(2))
//!     .layer(CircuitBreakerLayer::new(fusebox.circuit("quotes")))
//!     .service(service_fn(|_symbol: &str| async {
//!         Err::<f64, _>(std::io::Error::other("upstream down"))
//!     }));
//!
//! for _ in 0..3 {
//!     let error = quotes.ready().await?.call("ACME").await.unwrap_err();
//!     assert!(error.is::<std::io::Error>(), "the upstream's own error");
//! }
//! assert_eq!(fusebox.circuit("quotes").state(), State::Open);
//! let error = quotes.ready().await?.call("ACME").await.unwrap_err();
//! let rejected = error.downcast_ref::<Rejected>().expect("the fourth call never left");
//! assert_eq!((rejected.circuit(), rejected.state()), ("quotes", State::Open));
//! fusebox.shutdown(Duration::from_secs(1)).await?;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alerts")]
#[cfg_attr(docsrs, doc(cfg(feature = "alerts")))]
pub mod alerts;
mod breaker;
pub mod classify;
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub mod config;
pub mod fallback;
pub mod fleet;
mod history;
#[cfg(feature = "http")]
mod http;
pub mod key;
pub mod listener;
mod registry;
mod unused;

pub mod future {
    //! The response futures of the services: [`ResponseFuture`] for
    //! [`CircuitBreaker`](crate::CircuitBreaker), [`FallbackFuture`] for
    //! [`Fallback`](crate::Fallback) and, with feature `http`, `Respond503Future` for
    //! `Respond503`.

    pub use crate::breaker::future::ResponseFuture;
    pub use crate::fallback::future::FallbackFuture;
    #[cfg(feature = "http")]
    pub use crate::http::Respond503Future;
}

pub use self::breaker::error::{BoxError, Rejected, retry_after_secs};
pub use self::breaker::{CircuitBreaker, CircuitBreakerLayer};
pub use self::fallback::{Fallback, FallbackLayer};
pub use self::history::{FailureRates, RatePoint, Transition};
#[cfg(feature = "http")]
pub use self::http::{
    EmptyBody, Respond503, Respond503Layer, RespondRejected, rejection_response,
    rejection_response_with,
};
pub use self::listener::{
    BuildError, FlushTimeout, ListenerStack, ListenerStackBuilder, ListenerStats, LogListener,
};
pub use self::registry::{Fusebox, FuseboxBuilder, OVERFLOW_CIRCUIT, UnknownCircuit, WeakFusebox};
pub use fusebox_core::{
    CallCounts, CallError, CallFuture, Cause, Circuit, Clock, Command, ManualClock, Metrics,
    Outcome, Permit, Policy, PolicyBuilder, PolicyError, Retry, Scope, Signal, Snapshot, State,
    SystemClock, TripRule, Window,
};
pub use fusebox_core::{duration, trip};

/// The policy of each fingerprint of logged errors unless configured otherwise: 100 errors
/// within a minute alert, and five quiet minutes later the alert may end. Every call of such a
/// circuit is an error, so half-open probes are admitted without a ramp.
#[cfg(any(feature = "alerts", feature = "config"))]
fn alert_policy_builder() -> PolicyBuilder {
    Policy::builder()
        .window(Window::time(std::time::Duration::from_secs(60)))
        .trip(trip::failure_count(100))
        .retry(Retry::cooldown(std::time::Duration::from_secs(300)))
        .permit(Permit::all())
}
