//! The circuit breaker middleware: [`CircuitBreaker`], its layer, future and error.
//!
//! Like tower's `load_shed`, readiness is the inner service's alone and the circuit decides
//! in `call`: an error from `poll_ready` tells tower to discard the service (hyper would drop
//! the connection), which an open circuit must never cause. The HTTP 503 mode wraps this
//! service and lives in `crate::http`.

use std::fmt;
use std::task::{Context, Poll};

use fusebox_core::Circuit;
use tower_service::Service;

use crate::BoxError;
use crate::classify::{Classify, DefaultClassifier};
use crate::key::SelectCircuit;

pub(crate) mod error;
pub(crate) mod future;
mod layer;

use self::future::{Guarded, ResponseFuture};
pub use self::layer::CircuitBreakerLayer;

/// A service guarded by a circuit: calls the circuit rejects fail at once with a
/// [`Rejected`](crate::Rejected), without reaching the inner service; the outcome of every
/// other call is classified (on the typed result, before any boxing) and recorded.
///
/// Its error is a [`BoxError`], as tower middleware's are: a rejection comes back with
/// `error.downcast_ref::<Rejected>()`, the inner service's error with a downcast to its own
/// type. For HTTP services that should answer `503` instead of failing, see
/// `CircuitBreakerLayer::respond_503` (feature `http`).
///
/// Made by [`CircuitBreakerLayer`] or [`CircuitBreaker::new`].
///
/// ```
/// use std::io;
/// use fusebox::{Circuit, CircuitBreaker, Rejected, State};
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let circuit = Circuit::new("echo", Default::default());
/// let service = CircuitBreaker::new(
///     service_fn(|text: String| async move {
///         if text.is_empty() { Err(io::Error::other("nothing to echo")) } else { Ok(text) }
///     }),
///     circuit.clone(),
/// );
/// assert_eq!(service.clone().oneshot("hi".to_owned()).await?, "hi");
///
/// let error = service.clone().oneshot(String::new()).await.unwrap_err();
/// assert_eq!(error.downcast_ref::<io::Error>().unwrap().to_string(), "nothing to echo");
///
/// circuit.force_open();
/// let error = service.oneshot("hi".to_owned()).await.unwrap_err();
/// assert_eq!(error.downcast_ref::<Rejected>().unwrap().state(), State::ForcedOpen);
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

    /// Starts a call: admitted (the inner service is called) or rejected. What a rejection
    /// becomes is the caller's choice: a boxed error here, a 503 response in `crate::http`.
    // Out of line on purpose: inlined into the 503 mode's `call`, LLVM builds the guarded call
    // in a temporary and copies the whole inner future once more (a few hundred bytes for an
    // axum route, measured under callgrind).
    #[inline(never)]
    pub(crate) fn guard<Req>(&mut self, request: Req) -> Guarded<S::Future, C>
    where
        S: Service<Req>,
        C: Clone,
        T: SelectCircuit<Req>,
    {
        match self.target.acquire(&request) {
            Ok(admission) => {
                Guarded::called(self.inner.call(request), admission, self.classifier.clone())
            }
            Err(rejected) => Guarded::rejected(rejected),
        }
    }
}

impl<S, C, T, Req> Service<Req> for CircuitBreaker<S, C, T>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
    T: SelectCircuit<Req>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        ResponseFuture::new(self.guard(request))
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
        assert_eq!(error.to_string(), "gone");

        let mut ready = CircuitBreaker::new(Readiness(Poll::Ready(Ok(()))), circuit);
        assert!(matches!(ready.poll_ready(&mut cx), Poll::Ready(Ok(()))));
        let Poll::Ready(Err(error)) = pin!(ready.call(())).poll(&mut cx) else {
            panic!("a rejection, at once");
        };
        assert_eq!(
            error.downcast_ref::<crate::Rejected>().map(|r| r.state()),
            Some(State::ForcedOpen)
        );
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
}
