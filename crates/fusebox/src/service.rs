//! The services: [`CircuitBreaker`] and, with feature `http`, [`Respond503`].
//!
//! Like tower's `load_shed`, readiness is the inner service's alone and the circuit decides
//! in `call`: an error from `poll_ready` tells tower to discard the service (hyper would drop
//! the connection), which an open circuit must never cause.

use std::fmt;
use std::task::{Context, Poll};

use fusebox_core::Circuit;
use tower_service::Service;

use crate::Error;
use crate::classify::{Classify, DefaultClassifier};
use crate::future::ResponseFuture;
use crate::key::SelectCircuit;

/// A service guarded by a circuit: calls the circuit rejects fail with
/// [`Error::Rejected`] at once, without reaching the inner service; the outcome of every other
/// call is classified and recorded.
///
/// Made by [`CircuitBreakerLayer`](crate::CircuitBreakerLayer) or [`CircuitBreaker::new`].
///
/// ```
/// use fusebox::CircuitBreaker;
/// use fusebox_core::Circuit;
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let circuit = Circuit::new("echo", Default::default());
/// let service = CircuitBreaker::new(
///     service_fn(|text: String| async move { Ok::<_, std::io::Error>(text) }),
///     circuit.clone(),
/// );
/// assert_eq!(service.oneshot("hi".to_owned()).await?, "hi");
/// assert_eq!(circuit.snapshot().metrics.successes(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CircuitBreaker<S, C = DefaultClassifier, T = Circuit> {
    inner: S,
    target: T,
    classifier: C,
}

impl<S> CircuitBreaker<S> {
    /// Guards `inner` with `circuit`, classifying with [`DefaultClassifier`].
    pub const fn new(inner: S, circuit: Circuit) -> Self {
        CircuitBreaker {
            inner,
            target: circuit,
            classifier: DefaultClassifier,
        }
    }
}

impl<S, C> CircuitBreaker<S, C> {
    /// The circuit guarding this service.
    pub fn circuit(&self) -> &Circuit {
        &self.target
    }
}

impl<S, C, T> CircuitBreaker<S, C, T> {
    pub(crate) const fn from_parts(inner: S, target: T, classifier: C) -> Self {
        CircuitBreaker {
            inner,
            target,
            classifier,
        }
    }

    /// Classifies calls with `classifier` instead.
    pub fn classify<C2>(self, classifier: C2) -> CircuitBreaker<S, C2, T> {
        CircuitBreaker::from_parts(self.inner, self.target, classifier)
    }

    /// What chooses the circuit per call: a [`Circuit`], or [`Keyed`](crate::key::Keyed).
    pub fn target(&self) -> &T {
        &self.target
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, T, Req> Service<Req> for CircuitBreaker<S, C, T>
where
    S: Service<Req>,
    C: Classify<S::Response, S::Error> + Clone,
    T: SelectCircuit<Req>,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        match self.target.acquire(&request) {
            Ok(admission) => {
                ResponseFuture::called(self.inner.call(request), admission, self.classifier.clone())
            }
            Err(rejected) => ResponseFuture::rejected(rejected),
        }
    }
}

impl<S: fmt::Debug, C, T: fmt::Debug> fmt::Debug for CircuitBreaker<S, C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("target", &self.target)
            .field("classifier", &std::any::type_name::<C>())
            .finish()
    }
}

#[cfg(feature = "http")]
pub use self::respond_503::Respond503;

#[cfg(feature = "http")]
mod respond_503 {
    use std::fmt;
    use std::task::{Context, Poll};

    use fusebox_core::Circuit;
    use tower_service::Service;

    use super::CircuitBreaker;
    use crate::RespondRejected;
    use crate::classify::{Classify, DefaultClassifier};
    use crate::future::Respond503Future;
    use crate::key::SelectCircuit;

    /// A [`CircuitBreaker`] for HTTP services that answers rejected calls with
    /// `503 Service Unavailable` and `Retry-After` (see
    /// [`rejection_response`](crate::rejection_response)) instead of an error, keeping the
    /// inner service's error type.
    ///
    /// Made by [`Respond503Layer`](crate::Respond503Layer), from
    /// [`CircuitBreakerLayer::respond_503`](crate::CircuitBreakerLayer::respond_503).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use fusebox::CircuitBreakerLayer;
    /// use fusebox::classify::HttpClassifier;
    /// use fusebox_core::Circuit;
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
    /// # }
    /// ```
    #[derive(Clone)]
    pub struct Respond503<S, C = DefaultClassifier, T = Circuit, R = crate::EmptyBody> {
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
            Respond503Future::new(self.breaker.call(request), self.respond.clone())
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
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::Waker;

    use fusebox_core::{ManualClock, State};

    use super::*;

    /// An inner service that is never ready and fails readiness on demand.
    #[derive(Debug)]
    struct Readiness(Poll<Result<(), &'static str>>);

    impl Service<()> for Readiness {
        type Response = ();
        type Error = &'static str;
        type Future = std::future::Ready<Result<(), &'static str>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.0
        }

        fn call(&mut self, (): ()) -> Self::Future {
            std::future::ready(Ok(()))
        }
    }

    fn circuit() -> Circuit {
        Circuit::builder("ledger").clock(ManualClock::new()).build()
    }

    #[test]
    fn poll_ready_reports_the_inner_readiness_only() {
        let mut cx = Context::from_waker(Waker::noop());
        let circuit = circuit();
        circuit.force_open();

        let mut pending = CircuitBreaker::new(Readiness(Poll::Pending), circuit.clone());
        assert!(pending.poll_ready(&mut cx).is_pending());

        let mut failing = CircuitBreaker::new(Readiness(Poll::Ready(Err("gone"))), circuit.clone());
        let error = match failing.poll_ready(&mut cx) {
            Poll::Ready(Err(error)) => error,
            other => panic!("expected the inner error, got {other:?}"),
        };
        assert!(matches!(error, Error::Inner("gone")));

        let mut ready = CircuitBreaker::new(Readiness(Poll::Ready(Ok(()))), circuit);
        assert!(matches!(ready.poll_ready(&mut cx), Poll::Ready(Ok(()))));
        let rejected = pin!(ready.call(())).poll(&mut cx);
        assert!(matches!(
            rejected,
            Poll::Ready(Err(Error::Rejected(ref r))) if r.state() == State::ForcedOpen
        ));
    }

    #[test]
    fn accessors_reach_the_inner_service_and_circuit() {
        let circuit = circuit();
        let mut service = CircuitBreaker::new(Readiness(Poll::Pending), circuit.clone());
        assert!(service.circuit().ptr_eq(&circuit));
        assert!(service.get_ref().0.is_pending());
        service.get_mut().0 = Poll::Ready(Ok(()));
        assert_eq!(service.into_inner().0, Poll::Ready(Ok(())));
    }

    #[test]
    fn service_debug_shows_inner_and_classifier() {
        let service = CircuitBreaker::new(Readiness(Poll::Pending), circuit());
        assert_eq!(
            format!("{service:?}"),
            "CircuitBreaker { inner: Readiness(Pending), \
             target: Circuit { name: \"ledger\", state: Closed, .. }, \
             classifier: \"fusebox::classify::DefaultClassifier\" }"
        );
    }
}
