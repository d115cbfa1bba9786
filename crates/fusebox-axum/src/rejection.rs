//! Rejected calls as HTTP responses: [`RejectedResponse`] (`503`, `Retry-After`, a JSON body)
//! and the layer mode that answers with it, [`Json503Layer`].
//!
//! The status, the `Retry-After` header and the [`Rejected`] in the response's extensions (which
//! tells an outer circuit not to count the response) come from [`fusebox::rejection_response`];
//! this module only adds the JSON body. Deciding whether a call is rejected lives in `fusebox`.

use axum::Json;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use fusebox::classify::DefaultClassifier;
use fusebox::future::Respond503Future;
use fusebox::{Circuit, Rejected, Respond503, Respond503Layer, RespondRejected, retry_after_secs};
use serde::Serialize;

/// A rejected call as an axum response: `503 Service Unavailable`, `Retry-After` in whole
/// seconds (rounded up, at least 1; absent when the circuit does not know when it will
/// probe) and a JSON body naming the circuit and the state that rejected the call:
///
/// ```json
/// {"error":"circuit_open","circuit":"payments","state":"open","retry_after_secs":30}
/// ```
///
/// `retry_after_secs` is `null` when unknown (`forced_open`, `half_open`, `Retry::never()`).
/// The response carries the [`Rejected`] in its extensions, so a per-route circuit around the
/// handler ignores it instead of counting a failure.
///
/// Handlers that call a [`CircuitBreaker`](fusebox::CircuitBreaker) themselves can return it
/// for a rejection:
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use axum::response::IntoResponse;
/// use fusebox::{Rejected, State};
/// use fusebox_axum::RejectedResponse;
///
/// let rejected = Rejected::new(Arc::from("payments"), State::Open, Some(Duration::from_millis(29_200)));
/// let response = RejectedResponse(rejected.clone()).into_response();
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "30");
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.extensions().get::<Rejected>(), Some(&rejected));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedResponse(pub Rejected);

impl From<Rejected> for RejectedResponse {
    fn from(rejected: Rejected) -> Self {
        RejectedResponse(rejected)
    }
}

#[derive(Serialize)]
struct RejectedBody<'a> {
    error: &'static str,
    circuit: &'a str,
    state: &'static str,
    retry_after_secs: Option<u64>,
}

impl IntoResponse for RejectedResponse {
    fn into_response(self) -> Response {
        let rejected = &self.0;
        let (parts, ()) = fusebox::rejection_response::<()>(rejected).into_parts();
        let body = RejectedBody {
            error: "circuit_open",
            circuit: rejected.circuit(),
            state: rejected.state().as_str(),
            retry_after_secs: rejected.retry_after().map(retry_after_secs),
        };
        (parts, Json(body)).into_response()
    }
}

/// A [`CircuitBreakerLayer`](fusebox::CircuitBreakerLayer) whose services answer rejected calls with a
/// [`RejectedResponse`] instead of an error, so an axum router keeps its `Infallible` error
/// and needs no `HandleErrorLayer`.
///
/// Unlike [`CircuitBreakerLayer::respond_503`](fusebox::CircuitBreakerLayer::respond_503), whose 503 has an empty body, the answer names
/// the circuit in JSON. The classifier is the wrapped layer's: give it an
/// [`HttpClassifier`](fusebox::classify::HttpClassifier), or an axum handler (whose error is
/// `Infallible`) never records a failure. For one circuit per route, see
/// [`route_breaker`](crate::route_breaker).
///
/// ```
/// use axum::{Router, routing::post};
/// use fusebox::{Circuit, CircuitBreakerLayer};
/// use fusebox::classify::HttpClassifier;
/// use fusebox_axum::Json503Layer;
///
/// let breaker = CircuitBreakerLayer::new(Circuit::new("checkout", Default::default()))
///     .classify(HttpClassifier::server_errors());
/// let app: Router = Router::new()
///     .route("/checkout", post(|| async { "ordered" }))
///     .route_layer(Json503Layer::new(breaker));
/// # let _ = app;
/// ```
pub type Json503Layer<C = DefaultClassifier, T = Circuit> = Respond503Layer<C, T, JsonBody>;

/// The service of a [`Json503Layer`]: fusebox's 503 mode answering with a
/// [`RejectedResponse`].
pub type Json503<S, C = DefaultClassifier, T = Circuit> = Respond503<S, C, T, JsonBody>;

/// The response future of [`Json503`].
pub type Json503Future<F, C = DefaultClassifier> = Respond503Future<F, C, JsonBody>;

/// Answers rejected calls with a [`RejectedResponse`]: what [`Json503Layer`] plugs into
/// fusebox's 503 mode ([`fusebox::RespondRejected`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonBody;

impl RespondRejected<Body> for JsonBody {
    fn respond(&self, rejected: &Rejected) -> Response {
        RejectedResponse(rejected.clone()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::to_bytes;
    use fusebox::State;

    use super::*;

    async fn parts(rejected: Rejected) -> (u16, Option<String>, String, String) {
        let response = RejectedResponse(rejected).into_response();
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        let retry_after = header("retry-after");
        let content_type = header("content-type").unwrap();
        let body = to_bytes(response.into_body(), 1024).await.unwrap();
        (
            status,
            retry_after,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn open_rejection_rounds_retry_after_up_in_header_and_body() {
        let rejected = Rejected::new(
            Arc::from("payments"),
            State::Open,
            Some(Duration::from_millis(29_001)),
        );
        assert_eq!(
            parts(rejected).await,
            (
                503,
                Some("30".to_owned()),
                "application/json".to_owned(),
                r#"{"error":"circuit_open","circuit":"payments","state":"open","retry_after_secs":30}"#
                    .to_owned()
            )
        );
    }

    #[tokio::test]
    async fn unknown_retry_after_is_null_and_has_no_header() {
        let rejected = Rejected::new(Arc::from("ledger \"eu\""), State::ForcedOpen, None);
        assert_eq!(
            parts(rejected).await,
            (
                503,
                None,
                "application/json".to_owned(),
                r#"{"error":"circuit_open","circuit":"ledger \"eu\"","state":"forced_open","retry_after_secs":null}"#
                    .to_owned()
            )
        );
    }

    #[tokio::test]
    async fn zero_wait_still_says_one_second() {
        let rejected = Rejected::new(Arc::from("search"), State::Open, Some(Duration::ZERO));
        let (_, retry_after, _, body) = parts(rejected).await;
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert!(body.ends_with(r#""retry_after_secs":1}"#), "{body}");
    }
}
