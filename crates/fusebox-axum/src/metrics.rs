//! [`metrics_route`]: Prometheus exposition at `GET /metrics`.
//!
//! Rendering the metrics is the exporter's job (the `fusebox-prometheus` crate, or any other);
//! this module only serves whatever text the render function returns.

use axum::Router;
use axum::routing::get;
use http::header::CONTENT_TYPE;

/// The content type of the Prometheus text exposition format, version 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A router with `GET /metrics` answering `render()` as [`PROMETHEUS_CONTENT_TYPE`].
///
/// `render` runs on every scrape; it should be quick (a Prometheus exporter's render is).
/// Merge the router into your app, or nest it:
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use fusebox_axum::metrics_route;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // With fusebox-prometheus: `metrics_route(move || exporter.render())`.
/// let app: Router = Router::new()
///     .route("/", get(|| async { "shop" }))
///     .merge(metrics_route(|| "fusebox_circuit_open 0\n".to_owned()));
///
/// let response = app.oneshot(http::Request::get("/metrics").body(Body::empty())?).await?;
/// assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
/// let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
/// assert_eq!(body, "fusebox_circuit_open 0\n");
/// # Ok(())
/// # }
/// ```
pub fn metrics_route<F>(render: F) -> Router
where
    F: Fn() -> String + Clone + Send + Sync + 'static,
{
    Router::new().route(
        "/metrics",
        get(move || {
            let text = render();
            async move { ([(CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], text) }
        }),
    )
}
