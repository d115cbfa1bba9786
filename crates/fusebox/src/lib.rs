//! A circuit breaker for tower: put a [`fusebox_core::Circuit`] in front of any
//! [`Service`](tower_service::Service).
//!
//! [`CircuitBreakerLayer`] wraps a service in a [`CircuitBreaker`]. Each call asks the circuit
//! first: a rejected call fails at once with [`Error::Rejected`] and never reaches the inner
//! service; an admitted call runs, and its result is classified ([`classify`]) and recorded.
//! Readiness stays the inner service's: an open circuit never makes `poll_ready` fail.
//!
//! [`Fusebox`] is the registry of named circuits: per-name policies, the listener stack every
//! circuit reports its transitions to ([`listener`]), snapshots and manual commands by name,
//! and keyed routing ([`key`]): one layer, one circuit per host, route or any key.
//!
//! | feature | what it adds |
//! |---|---|
//! | `http` | `classify::HttpClassifier` (5xx and transport errors are failures), `CircuitBreakerLayer::respond_503`, `key::ByHost` for `http::Request` |
//! | `reqwest` | `classify::HttpClassifier` and `key::ByHost` for `reqwest` |
//! | `config` | `config::Config`: policies from a TOML file |
//!
//! ```
//! use std::time::Duration;
//! use fusebox::{CircuitBreakerLayer, Fusebox, LogListener};
//! use fusebox_core::{Policy, Retry, State};
//! use fusebox_core::trip::failure_streak;
//! use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
//!     .layer(CircuitBreakerLayer::new(fusebox.circuit("quotes")))
//!     .service(service_fn(|_symbol: &str| async {
//!         Err::<f64, _>(std::io::Error::other("upstream down"))
//!     }));
//!
//! for _ in 0..3 {
//!     quotes.ready().await?.call("ACME").await.unwrap_err();
//! }
//! assert_eq!(fusebox.circuit("quotes").state(), State::Open);
//! let error = quotes.ready().await?.call("ACME").await.unwrap_err();
//! assert!(error.is_rejected(), "the fourth call never reached the upstream");
//! fusebox.shutdown(Duration::from_secs(1)).await?;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod classify;
#[cfg(feature = "config")]
pub mod config;
mod error;
pub mod future;
pub mod key;
mod layer;
pub mod listener;
mod registry;
mod service;

pub use error::{BoxError, Error, Rejected, retry_after_secs};
#[cfg(feature = "http")]
pub use error::{EmptyBody, RespondRejected, rejection_response, rejection_response_with};
pub use layer::CircuitBreakerLayer;
#[cfg(feature = "http")]
pub use layer::Respond503Layer;
pub use listener::{
    BuildError, FlushTimeout, ListenerStack, ListenerStackBuilder, ListenerStats, LogListener,
};
pub use registry::{Fusebox, FuseboxBuilder, OVERFLOW_CIRCUIT, UnknownCircuit};
pub use service::CircuitBreaker;
#[cfg(feature = "http")]
pub use service::Respond503;
