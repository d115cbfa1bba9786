//! [`Respond503Layer`], and [`CircuitBreakerLayer::respond_503`] that makes it.

use std::fmt;

use fusebox_core::Circuit;
use tower_layer::Layer;

use super::{EmptyBody, Respond503};
use crate::CircuitBreakerLayer;
use crate::classify::DefaultClassifier;

impl<C, T> CircuitBreakerLayer<C, T> {
    /// A layer that answers rejected HTTP calls with `503 Service Unavailable` itself, so the
    /// service keeps its inner error type (an axum `Router` keeps `Infallible`).
    ///
    /// The classifier stays the one this layer has: give it an
    /// [`HttpClassifier`](crate::classify::HttpClassifier) first, or a service whose errors
    /// are `Infallible` never records a failure.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use fusebox::{Circuit, CircuitBreakerLayer};
    /// use fusebox::classify::HttpClassifier;
    ///
    /// let breaker = CircuitBreakerLayer::new(Circuit::new("checkout", Default::default()))
    ///     .classify(HttpClassifier::server_errors())
    ///     .respond_503();
    /// let app: Router = Router::new()
    ///     .route("/checkout", get(|| async { "ok" }))
    ///     .route_layer(breaker);
    /// # let _ = app;
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn respond_503(self) -> Respond503Layer<C, T> {
        Respond503Layer {
            breaker: self,
            respond: EmptyBody,
        }
    }
}

/// Like [`CircuitBreakerLayer`], but answers rejected calls with a `503 Service Unavailable`
/// response instead of an error; see [`CircuitBreakerLayer::respond_503`].
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Clone)]
pub struct Respond503Layer<C = DefaultClassifier, T = Circuit, R = EmptyBody> {
    breaker: CircuitBreakerLayer<C, T>,
    respond: R,
}

impl<C, R> Respond503Layer<C, Circuit, R> {
    /// The circuit guarding the services this layer makes.
    pub fn circuit(&self) -> &Circuit {
        self.breaker.circuit()
    }
}

impl<C, T, R: Default> Respond503Layer<C, T, R> {
    /// `breaker` answering rejected calls with `R`'s responses.
    pub fn new(breaker: CircuitBreakerLayer<C, T>) -> Self {
        Respond503Layer {
            breaker,
            respond: R::default(),
        }
    }
}

impl<C, T, R> Respond503Layer<C, T, R> {
    /// Answers rejected calls with `respond` instead (see
    /// [`RespondRejected`](crate::RespondRejected)).
    pub fn respond_with<R2>(self, respond: R2) -> Respond503Layer<C, T, R2> {
        Respond503Layer {
            breaker: self.breaker,
            respond,
        }
    }

    /// The layer that guards the services.
    pub fn breaker(&self) -> &CircuitBreakerLayer<C, T> {
        &self.breaker
    }
}

impl<S, C: Clone, T: Clone, R: Clone> Layer<S> for Respond503Layer<C, T, R> {
    type Service = Respond503<S, C, T, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Respond503::from_breaker(self.breaker.layer(inner), self.respond.clone())
    }
}

impl<C, T: fmt::Debug, R> fmt::Debug for Respond503Layer<C, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Respond503Layer")
            .field("target", self.breaker.target())
            .field("classifier", &std::any::type_name::<C>())
            .field("respond", &std::any::type_name::<R>())
            .finish()
    }
}
