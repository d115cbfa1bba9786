//! [`CircuitBreakerLayer`]: which circuit, which classifier.
//!
//! A layer only carries configuration and is cheap to clone; what happens per call lives in
//! [`CircuitBreaker`]. The 503 mode's layer is in `crate::http`.

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
/// use fusebox::{Circuit, CircuitBreakerLayer, Policy, Rejected, State};
/// use fusebox::trip::failure_streak;
/// use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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
/// assert!(error.is::<Rejected>());
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
    /// use fusebox::{Circuit, CircuitBreakerLayer};
    /// use fusebox::classify::failure_when;
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

#[cfg(test)]
mod tests {
    use fusebox_core::ManualClock;

    use super::*;
    use crate::classify::{Classify, Outcome};

    #[test]
    fn classify_keeps_the_circuit_and_swaps_the_classifier() {
        let circuit = Circuit::builder("ledger").clock(ManualClock::new()).build();
        let layer = CircuitBreakerLayer::new(circuit.clone())
            .classify(|_: &Result<(), ()>| Outcome::Ignored);
        assert!(layer.circuit().ptr_eq(&circuit));
        assert_eq!(layer.classifier.classify(&Err(())), Outcome::Ignored);
    }
}
