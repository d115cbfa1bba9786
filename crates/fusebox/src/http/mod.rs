//! Everything behind feature `http`: the 503 mode ([`Respond503Layer`], [`Respond503`],
//! [`Respond503Future`]), the rejection response ([`rejection_response`], [`RespondRejected`]),
//! classifying HTTP results ([`HttpClassifier`]) and keying by host ([`ByHost`]).
//!
//! The 503 mode is the circuit breaker with one difference: a rejection becomes a
//! `503 Service Unavailable` response instead of an error, so the service keeps its inner
//! error type (an axum `Router` keeps `Infallible`). Every such response carries the
//! [`Rejected`](crate::Rejected) in its extensions, and [`HttpClassifier`] ignores responses
//! that do: an outer circuit never counts an inner circuit's rejections as failures.
//!
//! Admission, classification and recording are the breaker's (`crate::breaker`), not this
//! module's. The items are re-exported where users look for them: `fusebox::Respond503Layer`,
//! `fusebox::classify::HttpClassifier`, `fusebox::key::ByHost`.

use std::fmt;
use std::task::{Context, Poll};

use fusebox_core::Circuit;
use tower_service::Service;

use crate::CircuitBreaker;
use crate::classify::{Classify, DefaultClassifier};
use crate::key::SelectCircuit;

mod classify;
pub(crate) mod future;
mod host;
mod layer;
mod response;

pub use self::classify::HttpClassifier;
pub use self::future::Respond503Future;
pub use self::host::{ByHost, UNKNOWN_HOST};
pub use self::layer::Respond503Layer;
pub use self::response::{EmptyBody, RespondRejected, rejection_response, rejection_response_with};

/// A [`CircuitBreaker`] for HTTP services that answers rejected calls with
/// `503 Service Unavailable` and `Retry-After` (see [`rejection_response`]) instead of an
/// error, keeping the inner service's error type. The response carries the
/// [`Rejected`](crate::Rejected) in its extensions.
///
/// Made by [`Respond503Layer`], from
/// [`CircuitBreakerLayer::respond_503`](crate::CircuitBreakerLayer::respond_503).
///
/// ```
/// use std::convert::Infallible;
/// use fusebox::{Circuit, CircuitBreakerLayer, Rejected, State};
/// use fusebox::classify::HttpClassifier;
/// use http::{Request, Response, StatusCode};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let circuit = Circuit::new("profile", Default::default());
/// let service = CircuitBreakerLayer::new(circuit.clone())
///     .classify(HttpClassifier::server_errors())
///     .respond_503()
///     .layer(service_fn(|_: Request<()>| async {
///         Ok::<_, Infallible>(Response::new(String::from("hello")))
///     }));
///
/// circuit.force_open();
/// let Ok(response) = service.oneshot(Request::new(())).await;
/// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
/// let rejected = response.extensions().get::<Rejected>().unwrap();
/// assert_eq!(rejected.state(), State::ForcedOpen);
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Clone)]
pub struct Respond503<S, C = DefaultClassifier, T = Circuit, R = EmptyBody> {
    breaker: CircuitBreaker<S, C, T>,
    respond: R,
}

impl<S, C, R> Respond503<S, C, Circuit, R> {
    /// The circuit guarding this service.
    pub fn circuit(&self) -> &Circuit {
        self.breaker.circuit()
    }
}

impl<S, C, T, R> Respond503<S, C, T, R> {
    pub(crate) const fn from_breaker(breaker: CircuitBreaker<S, C, T>, respond: R) -> Self {
        Respond503 { breaker, respond }
    }

    /// What chooses the circuit per call.
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

impl<S, C, T, R, Req, B> Service<Req> for Respond503<S, C, T, R>
where
    S: Service<Req, Response = http::Response<B>>,
    C: Classify<http::Response<B>, S::Error> + Clone,
    T: SelectCircuit<Req>,
    R: RespondRejected<B> + Clone,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = Respond503Future<S::Future, C, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.breaker.get_mut().poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        Respond503Future::new(self.breaker.guard(request), self.respond.clone())
    }
}

impl<S: fmt::Debug, C, T: fmt::Debug, R> fmt::Debug for Respond503<S, C, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Respond503")
            .field("breaker", &self.breaker)
            .field("respond", &std::any::type_name::<R>())
            .finish()
    }
}
