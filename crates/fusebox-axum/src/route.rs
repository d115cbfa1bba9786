//! One circuit per route: [`ByRoute`] names a request's circuit after the route template axum
//! matched (`GET /users/{id}`), and [`route_breaker`] is the ready-made layer.
//!
//! Circuit names come from templates the application declared, never from raw paths, so the
//! number of circuits is bounded by the number of routes.

use std::borrow::Cow;

use axum::extract::MatchedPath;
use fusebox::classify::HttpClassifier;
use fusebox::key::{Key, Keyed};
use fusebox::{CircuitBreakerLayer, Fusebox};
use http::Method;

use crate::Json503Layer;

/// The key of a request that carries no [`MatchedPath`]: no route matched it (the router's
/// fallback, with `Router::layer`), or the layer wraps the whole router from outside.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Keys an axum request by its method and the route template it matched, for keyed routing
/// ([`CircuitBreakerLayer::keyed`]): `/users/7` and `/users/8` both go to the circuit
/// `GET /users/{id}`.
///
/// The template is axum's [`MatchedPath`], which exists only inside routing: apply the layer
/// with `Router::route_layer` (or `Router::layer`, which also guards the fallback). A request
/// without one is keyed [`UNMATCHED_ROUTE`], never by its raw path (that would create a
/// circuit per URL a client makes up). Methods beyond the
/// nine standard ones are keyed `OTHER`, for the same reason. A nested router's template
/// includes the nest prefix (`GET /api/users/{id}`).
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use fusebox::Fusebox;
/// use fusebox_axum::route_breaker;
/// use http::Request;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder().build()?;
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "a user" }))
///     .route_layer(route_breaker(&fusebox));
///
/// for id in [7, 8] {
///     let request = Request::get(format!("/users/{id}")).body(Body::empty())?;
///     app.clone().oneshot(request).await?;
/// }
/// let circuits = fusebox.snapshot();
/// assert_eq!(circuits.len(), 1);
/// assert_eq!(&*circuits[0].name, "GET /users/{id}");
/// assert_eq!(circuits[0].calls.success, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ByRoute;

impl<B> Key<http::Request<B>> for ByRoute {
    fn key<'r>(&self, request: &'r http::Request<B>) -> Cow<'r, str> {
        match request.extensions().get::<MatchedPath>() {
            Some(path) => Cow::Owned(format!(
                "{} {}",
                method_name(request.method()),
                path.as_str()
            )),
            None => Cow::Borrowed(UNMATCHED_ROUTE),
        }
    }
}

fn method_name(method: &Method) -> &str {
    match method.as_str() {
        standard @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS"
        | "CONNECT" | "TRACE") => standard,
        _ => "OTHER",
    }
}

/// The layer [`route_breaker`] returns: keyed by [`ByRoute`], classifying 5xx as failures,
/// answering rejections with a JSON 503.
pub type RouteBreakerLayer = Json503Layer<HttpClassifier, Keyed<ByRoute>>;

/// One circuit per route of an axum router, in `fusebox`: keyed by [`ByRoute`], 5xx responses
/// are failures ([`HttpClassifier::server_errors`]) and rejected calls are answered with a
/// [`RejectedResponse`](crate::RejectedResponse). Apply it with `Router::route_layer`.
///
/// Each circuit's policy is the registry's policy for its name (`"GET /users/{id}"`) or the
/// default policy; circuits count against
/// [`max_keyed_circuits`](fusebox::FuseboxBuilder::max_keyed_circuits).
///
/// ```
/// use axum::{Router, routing::{get, post}};
/// use fusebox::Fusebox;
/// use fusebox_axum::route_breaker;
///
/// let fusebox = Fusebox::builder().build()?;
/// let app: Router = Router::new()
///     .route("/orders", post(|| async { "created" }))
///     .route("/orders/{id}", get(|| async { "an order" }))
///     .route_layer(route_breaker(&fusebox));
/// # let _ = app;
/// # Ok::<(), fusebox::BuildError>(())
/// ```
pub fn route_breaker(fusebox: &Fusebox) -> RouteBreakerLayer {
    Json503Layer::new(
        CircuitBreakerLayer::keyed(fusebox.clone(), ByRoute)
            .classify(HttpClassifier::server_errors()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_outside_routing_is_keyed_unmatched_not_by_its_path() {
        let request = http::Request::get("/users/42").body(()).unwrap();
        assert_eq!(ByRoute.key(&request), UNMATCHED_ROUTE);
    }

    #[test]
    fn standard_methods_keep_their_name_and_extensions_share_other() {
        for name in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
        ] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(method_name(&method), name);
        }
        for name in ["PURGE", "get", "X-ANYTHING"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(method_name(&method), "OTHER", "{name}");
        }
    }
}
