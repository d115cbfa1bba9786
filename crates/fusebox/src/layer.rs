//! The layers: [`CircuitBreakerLayer`] and, with feature `http`, [`Respond503Layer`].
//!
//! A layer only carries configuration (which circuit, which classifier) and is cheap to
//! clone; what happens per call lives in [`crate::CircuitBreaker`].

use std::fmt;

use fusebox_core::Circuit;
use tower_layer::Layer;

use crate::CircuitBreaker;
use crate::classify::DefaultClassifier;
use crate::key::Keyed;

/// Puts a [`Circuit`] in front of a service: a tower [`Layer`] producing [`CircuitBreaker`].
///
/// Classifies with [`DefaultClassifier`] (every `Err` is a failure) until given another
/// classifier with [`classify`](CircuitBreakerLayer::classify).
///
/// ```
/// use std::io;
/// use fusebox::CircuitBreakerLayer;
/// use fusebox_core::{Circuit, Policy, State};
/// use fusebox_core::trip::failure_streak;
/// use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let circuit = Circuit::new("inventory", Policy::builder().trip(failure_streak(2)).build()?);
/// let mut service = ServiceBuilder::new()
///     .layer(CircuitBreakerLayer::new(circuit.clone()))
///     .service(service_fn(|sku: u32| async move {
///         if sku == 0 { Err(io::Error::other("no such item")) } else { Ok(sku * 10) }
///     }));
///
/// assert_eq!(service.ready().await?.call(4).await?, 40);
/// for _ in 0..2 {
///     let error = service.ready().await?.call(0).await.unwrap_err();
///     assert_eq!(error.to_string(), "no such item");
/// }
/// assert_eq!(circuit.state(), State::Open);
/// let error = service.ready().await?.call(4).await.unwrap_err();
/// assert!(error.is_rejected());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CircuitBreakerLayer<C = DefaultClassifier, T = Circuit> {
    target: T,
    classifier: C,
}

impl CircuitBreakerLayer {
    /// A layer guarding services with `circuit`; clones of the layer share it.
    pub const fn new(circuit: Circuit) -> Self {
        CircuitBreakerLayer {
            target: circuit,
            classifier: DefaultClassifier,
        }
    }
}

impl<K> CircuitBreakerLayer<DefaultClassifier, Keyed<K>> {
    /// A layer that guards each call with the circuit of its key, created on first use in
    /// `fusebox` (bounded by [`max_keyed_circuits`](crate::FuseboxBuilder::max_keyed_circuits)).
    ///
    /// ```
    /// use fusebox::{CircuitBreakerLayer, Fusebox};
    /// use fusebox::key::key_fn;
    ///
    /// let fusebox = Fusebox::builder().build()?;
    /// // One circuit per tenant.
    /// let layer = CircuitBreakerLayer::keyed(
    ///     fusebox.clone(),
    ///     key_fn(|request: &(String, u32)| request.0.clone()),
    /// );
    /// # let _ = layer;
    /// # Ok::<(), fusebox::listener::BuildError>(())
    /// ```
    pub fn keyed(fusebox: crate::Fusebox, key: K) -> Self {
        CircuitBreakerLayer {
            target: Keyed::new(fusebox, key),
            classifier: DefaultClassifier,
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// The circuit guarding the services this layer makes.
    pub fn circuit(&self) -> &Circuit {
        &self.target
    }
}

impl<C, T> CircuitBreakerLayer<C, T> {
    /// Classifies calls with `classifier` instead.
    ///
    /// ```
    /// use fusebox::CircuitBreakerLayer;
    /// use fusebox::classify::failure_when;
    /// use fusebox_core::Circuit;
    ///
    /// // A cache miss is not the backend's fault.
    /// let layer = CircuitBreakerLayer::new(Circuit::new("cache", Default::default()))
    ///     .classify(failure_when(|result: &Result<Option<String>, std::io::Error>| result.is_err()));
    /// # let _ = layer;
    /// ```
    pub fn classify<C2>(self, classifier: C2) -> CircuitBreakerLayer<C2, T> {
        CircuitBreakerLayer {
            target: self.target,
            classifier,
        }
    }

    /// What chooses the circuit per call.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// A layer that answers rejected HTTP calls with `503 Service Unavailable` itself, so the
    /// service keeps its inner error type (an axum `Router` keeps `Infallible`).
    ///
    /// The classifier stays the one this layer has: give it an
    /// [`HttpClassifier`](crate::classify::HttpClassifier) first, or a service whose errors
    /// are `Infallible` never records a failure.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use fusebox::CircuitBreakerLayer;
    /// use fusebox::classify::HttpClassifier;
    /// use fusebox_core::Circuit;
    ///
    /// let breaker = CircuitBreakerLayer::new(Circuit::new("checkout", Default::default()))
    ///     .classify(HttpClassifier::server_errors())
    ///     .respond_503();
    /// let app: Router = Router::new()
    ///     .route("/checkout", get(|| async { "ok" }))
    ///     .route_layer(breaker);
    /// # let _ = app;
    /// ```
    #[cfg(feature = "http")]
    pub fn respond_503(self) -> Respond503Layer<C, T> {
        Respond503Layer {
            breaker: self,
            respond: crate::EmptyBody,
        }
    }
}

impl<S, C: Clone, T: Clone> Layer<S> for CircuitBreakerLayer<C, T> {
    type Service = CircuitBreaker<S, C, T>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreaker::from_parts(inner, self.target.clone(), self.classifier.clone())
    }
}

impl<C, T: fmt::Debug> fmt::Debug for CircuitBreakerLayer<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("target", &self.target)
            .field("classifier", &std::any::type_name::<C>())
            .finish()
    }
}

/// Like [`CircuitBreakerLayer`], but answers rejected calls with a `503 Service Unavailable`
/// response instead of an error; see [`CircuitBreakerLayer::respond_503`].
#[cfg(feature = "http")]
#[derive(Clone)]
pub struct Respond503Layer<C = DefaultClassifier, T = Circuit, R = crate::EmptyBody> {
    breaker: CircuitBreakerLayer<C, T>,
    respond: R,
}

#[cfg(feature = "http")]
impl<C, R> Respond503Layer<C, Circuit, R> {
    /// The circuit guarding the services this layer makes.
    pub fn circuit(&self) -> &Circuit {
        self.breaker.circuit()
    }
}

#[cfg(feature = "http")]
impl<C, T, R: Default> Respond503Layer<C, T, R> {
    /// `breaker` answering rejected calls with `R`'s responses.
    pub fn new(breaker: CircuitBreakerLayer<C, T>) -> Self {
        Respond503Layer {
            breaker,
            respond: R::default(),
        }
    }
}

#[cfg(feature = "http")]
impl<C, T, R> Respond503Layer<C, T, R> {
    /// Answers rejected calls with `respond` instead (see [`RespondRejected`](crate::RespondRejected)).
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

#[cfg(feature = "http")]
impl<S, C: Clone, T: Clone, R: Clone> Layer<S> for Respond503Layer<C, T, R> {
    type Service = crate::Respond503<S, C, T, R>;

    fn layer(&self, inner: S) -> Self::Service {
        crate::Respond503::from_breaker(self.breaker.layer(inner), self.respond.clone())
    }
}

#[cfg(feature = "http")]
impl<C, T: fmt::Debug, R> fmt::Debug for Respond503Layer<C, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Respond503Layer")
            .field("target", &self.breaker.target)
            .field("classifier", &std::any::type_name::<C>())
            .field("respond", &std::any::type_name::<R>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use fusebox_core::ManualClock;

    use super::*;
    use crate::classify::{Classify, Outcome};

    #[test]
    fn layer_debug_names_the_circuit_and_classifier() {
        let circuit = Circuit::builder("ledger").clock(ManualClock::new()).build();
        let layer = CircuitBreakerLayer::new(circuit);
        assert_eq!(
            format!("{layer:?}"),
            "CircuitBreakerLayer { target: Circuit { name: \"ledger\", state: Closed, .. }, \
             classifier: \"fusebox::classify::DefaultClassifier\" }"
        );
    }

    #[test]
    fn classify_keeps_the_circuit_and_swaps_the_classifier() {
        let circuit = Circuit::builder("ledger").clock(ManualClock::new()).build();
        let layer = CircuitBreakerLayer::new(circuit.clone())
            .classify(|_: &Result<(), ()>| Outcome::Ignored);
        assert!(layer.circuit().ptr_eq(&circuit));
        assert_eq!(layer.classifier.classify(&Err(())), Outcome::Ignored);
    }
}
