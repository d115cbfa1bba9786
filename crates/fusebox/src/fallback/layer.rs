//! [`FallbackLayer`]: what to answer instead; the per-call work is [`Fallback`]'s.

use std::fmt;

use tower_layer::Layer;

use super::{Fallback, PassThrough};

/// Answers rejected calls (and, with [`on_error`](FallbackLayer::on_error), failed calls)
/// of the services it wraps: a tower [`Layer`] producing [`Fallback`].
///
/// Put it outside the breaker: the first `.layer` of a `ServiceBuilder` is the outermost.
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use fusebox::{BoxError, Circuit, CircuitBreakerLayer, FallbackLayer, Rejected};
/// use fusebox::trip::failure_streak;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let circuit = Circuit::new("recommendations", fusebox::Policy::builder().trip(failure_streak(1)).build()?);
/// let recommendations = ServiceBuilder::new()
///     .layer(
///         FallbackLayer::new(|rejected: Rejected| format!("bestsellers ({rejected})"))
///             .on_error(|_: BoxError| "bestsellers".to_owned()),
///     )
///     .layer(CircuitBreakerLayer::new(circuit))
///     .timeout(Duration::from_millis(200))
///     .service(service_fn(|_user: u64| async {
///         Err::<String, _>(io::Error::other("model server down"))
///     }));
///
/// // The failure is answered, and counted: it trips the circuit.
/// assert_eq!(recommendations.clone().oneshot(7).await?, "bestsellers");
/// assert_eq!(
///     recommendations.oneshot(7).await?,
///     "bestsellers (circuit 'recommendations' is open and rejected the call; retry after 60.000s)"
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FallbackLayer<R, E = PassThrough> {
    on_rejected: R,
    on_error: E,
}

impl<R> FallbackLayer<R> {
    /// Answers rejected calls with `on_rejected`, any `FnOnce(Rejected) -> Response + Clone`;
    /// failed calls pass through.
    pub const fn new(on_rejected: R) -> Self {
        FallbackLayer {
            on_rejected,
            on_error: PassThrough,
        }
    }
}

impl<R, E> FallbackLayer<R, E> {
    /// Also answers calls that failed with an error with `on_error`, any
    /// `FnOnce(BoxError) -> Response + Clone`; see [`Fallback::on_error`].
    pub fn on_error<E2>(self, on_error: E2) -> FallbackLayer<R, E2> {
        FallbackLayer {
            on_rejected: self.on_rejected,
            on_error,
        }
    }
}

impl<S, R: Clone, E: Clone> Layer<S> for FallbackLayer<R, E> {
    type Service = Fallback<S, R, E>;

    fn layer(&self, inner: S) -> Self::Service {
        Fallback::new(inner, self.on_rejected.clone()).on_error(self.on_error.clone())
    }
}

impl<R, E> fmt::Debug for FallbackLayer<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackLayer")
            .field("on_rejected", &std::any::type_name::<R>())
            .field("on_error", &std::any::type_name::<E>())
            .finish()
    }
}
