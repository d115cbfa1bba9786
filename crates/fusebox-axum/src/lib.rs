//! axum glue for [`fusebox`]: rejected calls as JSON `503` responses, one circuit per route,
//! the operator surface (an admin API and a live dashboard) and the Prometheus `/metrics` route.
//!
//! | item | what it does |
//! |---|---|
//! | [`RejectedResponse`] | a [`Rejected`](fusebox::Rejected) call as `503 Service Unavailable`, `Retry-After` and a JSON body |
//! | [`Json503Layer`] | wraps a fusebox layer so rejected calls are answered with [`RejectedResponse`]; the router keeps its `Infallible` error |
//! | [`ByRoute`], [`route_breaker`] | one circuit per route template (`GET /users/{id}`), from axum's [`MatchedPath`](axum::extract::MatchedPath) |
//! | [`admin::router`] | JSON API and HTML dashboard to watch circuits and reset, force open, disable them; bearer-token auth |
//! | [`metrics_route`] | `GET /metrics` in the Prometheus text format, from any render function |
//!
//! Rejections, routes and the dashboard together:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use fusebox::Fusebox;
//! use fusebox_axum::{admin, route_breaker};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fusebox = Fusebox::builder().build()?;
//! let app = Router::new()
//!     .route("/users/{id}", get(|| async { "a user" }))
//!     .route("/search", get(|| async { "results" }))
//!     // One circuit per route: `GET /users/{id}` and `GET /search`.
//!     .route_layer(route_breaker(&fusebox))
//!     .nest_service("/admin", admin::router(fusebox.clone(), admin::AdminAuth::bearer("a-long-random-admin-token")?));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every 503 this crate answers for a rejection carries the [`Rejected`](fusebox::Rejected) in
//! its extensions: [`HttpClassifier`](fusebox::classify::HttpClassifier) ignores such
//! responses, so a route circuit around an inner circuit (a [`Json503Layer`], or a handler
//! answering [`RejectedResponse`]) never counts the inner circuit's rejections as failures.
//!
//! What this crate does not do: decide whether a call may run (that is
//! [`fusebox::Circuit`]), classify responses ([`fusebox::classify`]) or render metrics
//! (a Prometheus exporter hands [`metrics_route`] its render function).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod admin;
mod metrics;
mod rejection;
mod route;

pub use metrics::{PROMETHEUS_CONTENT_TYPE, metrics_route};
pub use rejection::{Json503, Json503Future, Json503Layer, JsonBody, RejectedResponse};
pub use route::{ByRoute, RouteBreakerLayer, UNMATCHED_ROUTE, route_breaker};
