//! Rejected calls as HTTP responses: [`RejectedResponse`] (`503`, `Retry-After`, a JSON body)
//! and the layer mode that answers with it, [`Json503Layer`].
//!
//! The status and `Retry-After` header come from [`fusebox::rejection_response`]; this module
//! only adds the JSON body. Deciding whether a call is rejected lives in `fusebox`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::Json;
use axum::response::{IntoResponse, Response};
use fusebox::classify::{Classify, DefaultClassifier};
use fusebox::key::SelectCircuit;
use fusebox::{CircuitBreaker, CircuitBreakerLayer, Rejected, retry_after_secs};
use fusebox_core::Circuit;
use pin_project_lite::pin_project;
use serde::Serialize;
use tower_layer::Layer;
use tower_service::Service;

/// A rejected call as an axum response: `503 Service Unavailable`, `Retry-After` in whole
/// seconds (rounded up, at least 1; absent when the circuit does not know when it will
/// probe) and a JSON body naming the circuit and the state that rejected the call:
///
/// ```json
/// {"error":"circuit_open","circuit":"payments","state":"open","retry_after_secs":30}
/// ```
///
/// `retry_after_secs` is `null` when unknown (`forced_open`, `half_open`, `Retry::never()`).
/// Handlers that call a [`CircuitBreaker`] themselves can return it directly:
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use axum::response::IntoResponse;
/// use fusebox::Rejected;
/// use fusebox_axum::RejectedResponse;
/// use fusebox_core::State;
///
/// let rejected = Rejected::new(Arc::from("payments"), State::Open, Some(Duration::from_millis(29_200)));
/// let response = RejectedResponse(rejected).into_response();
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "30");
/// assert_eq!(response.headers()["content-type"], "application/json");
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

/// A [`CircuitBreakerLayer`] whose services answer rejected calls with a
/// [`RejectedResponse`] instead of an error, so an axum router keeps its `Infallible` error
/// and needs no `HandleErrorLayer`.
///
/// Unlike [`CircuitBreakerLayer::respond_503`], whose 503 has an empty body, the answer names
/// the circuit in JSON. The classifier is the wrapped layer's: give it an
/// [`HttpClassifier`](fusebox::classify::HttpClassifier), or an axum handler (whose error is
/// `Infallible`) never records a failure. For one circuit per route, see
/// [`route_breaker`](crate::route_breaker).
///
/// ```
/// use axum::{Router, routing::post};
/// use fusebox::CircuitBreakerLayer;
/// use fusebox::classify::HttpClassifier;
/// use fusebox_axum::Json503Layer;
/// use fusebox_core::Circuit;
///
/// let breaker = CircuitBreakerLayer::new(Circuit::new("checkout", Default::default()))
///     .classify(HttpClassifier::server_errors());
/// let app: Router = Router::new()
///     .route("/checkout", post(|| async { "ordered" }))
///     .route_layer(Json503Layer::new(breaker));
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct Json503Layer<C = DefaultClassifier, T = Circuit> {
    breaker: CircuitBreakerLayer<C, T>,
}

impl<C, T> Json503Layer<C, T> {
    /// Wraps `breaker`, keeping its circuit (or keyed circuits) and classifier.
    pub const fn new(breaker: CircuitBreakerLayer<C, T>) -> Self {
        Json503Layer { breaker }
    }

    /// The wrapped layer.
    pub fn get_ref(&self) -> &CircuitBreakerLayer<C, T> {
        &self.breaker
    }

    /// Unwraps the wrapped layer.
    pub fn into_inner(self) -> CircuitBreakerLayer<C, T> {
        self.breaker
    }
}

impl<C, T> From<CircuitBreakerLayer<C, T>> for Json503Layer<C, T> {
    fn from(breaker: CircuitBreakerLayer<C, T>) -> Self {
        Json503Layer::new(breaker)
    }
}

impl<S, C: Clone, T: Clone> Layer<S> for Json503Layer<C, T> {
    type Service = Json503<S, C, T>;

    fn layer(&self, inner: S) -> Self::Service {
        Json503 {
            breaker: self.breaker.layer(inner),
        }
    }
}

impl<C, T: fmt::Debug> fmt::Debug for Json503Layer<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Json503Layer")
            .field("breaker", &self.breaker)
            .finish()
    }
}

/// A [`CircuitBreaker`] that answers rejected calls with a [`RejectedResponse`]; made by
/// [`Json503Layer`].
///
/// ```
/// use std::convert::Infallible;
/// use axum::body::Body;
/// use fusebox::CircuitBreakerLayer;
/// use fusebox::classify::HttpClassifier;
/// use fusebox_axum::Json503Layer;
/// use fusebox_core::Circuit;
/// use http::{Request, Response};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let circuit = Circuit::new("profile", Default::default());
/// let service = Json503Layer::new(
///     CircuitBreakerLayer::new(circuit.clone()).classify(HttpClassifier::server_errors()),
/// )
/// .layer(service_fn(|_: Request<Body>| async {
///     Ok::<_, Infallible>(Response::new(Body::from("hello")))
/// }));
///
/// circuit.force_open();
/// let Ok(response) = service.oneshot(Request::new(Body::empty())).await;
/// assert_eq!(response.status(), 503);
/// assert!(response.headers().get("retry-after").is_none(), "forced_open never says when");
/// # }
/// ```
#[derive(Clone)]
pub struct Json503<S, C = DefaultClassifier, T = Circuit> {
    breaker: CircuitBreaker<S, C, T>,
}

impl<S, C> Json503<S, C> {
    /// The circuit guarding this service.
    pub fn circuit(&self) -> &Circuit {
        self.breaker.circuit()
    }
}

impl<S, C, T> Json503<S, C, T> {
    /// What chooses the circuit per call: a [`Circuit`], or
    /// [`Keyed`](fusebox::key::Keyed).
    pub fn target(&self) -> &T {
        self.breaker.target()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        self.breaker.get_ref()
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        self.breaker.get_mut()
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.breaker.into_inner()
    }
}

impl<S, C, T, Req> Service<Req> for Json503<S, C, T>
where
    S: Service<Req>,
    S::Response: IntoResponse,
    C: Classify<S::Response, S::Error> + Clone,
    T: SelectCircuit<Req>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Json503Future<fusebox::future::ResponseFuture<S::Future, C>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The breaker's readiness is the inner service's alone, so ask the inner service and
        // keep its error type.
        self.breaker.get_mut().poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        Json503Future {
            inner: self.breaker.call(request),
        }
    }
}

impl<S: fmt::Debug, C, T: fmt::Debug> fmt::Debug for Json503<S, C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Json503")
            .field("breaker", &self.breaker)
            .finish()
    }
}

pin_project! {
    /// The response future of [`Json503`]: the inner response, or a [`RejectedResponse`].
    pub struct Json503Future<F> {
        #[pin]
        inner: F,
    }
}

impl<F, R, E> Future for Json503Future<F>
where
    F: Future<Output = Result<R, fusebox::Error<E>>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(match ready!(self.project().inner.poll(cx)) {
            Ok(response) => Ok(response.into_response()),
            Err(fusebox::Error::Rejected(rejected)) => {
                Ok(RejectedResponse(rejected).into_response())
            }
            Err(fusebox::Error::Inner(error)) => Err(error),
        })
    }
}

impl<F> fmt::Debug for Json503Future<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Json503Future").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::to_bytes;
    use fusebox_core::State;

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
