//! Answers for calls that got none: [`Fallback`] turns a breaker's rejection (and, when
//! asked, a failed call's error) into a response.
//!
//! Put [`FallbackLayer`] outside a [`CircuitBreakerLayer`](crate::CircuitBreakerLayer), with
//! any tower middleware in between: it recovers the [`Rejected`] from the [`BoxError`] by
//! downcast, so a rejection still reaches it through `timeout`, `Buffer` or `retry`. Failed
//! calls pass through unless [`on_error`](Fallback::on_error) says what to answer instead.
//! Only errors are answered: a response the inner service returned (a `500`, or the 503 of
//! `respond_503`) is the caller's to read.
//!
//! The circuit has counted each call before the fallback sees it: answering a failed call
//! with a fallback value does not make it a success.
//!
//! | file | what lives there |
//! |---|---|
//! | `mod.rs` | the service [`Fallback`], what it does with errors ([`OnError`], [`PassThrough`]) |
//! | `layer.rs` | [`FallbackLayer`] |
//! | `future.rs` | [`FallbackFuture`] |

use std::fmt;
use std::task::{Context, Poll};

use tower_service::Service;

use crate::{BoxError, Rejected};

pub(crate) mod future;
mod layer;

use self::future::FallbackFuture;
pub use self::layer::FallbackLayer;

/// A service whose rejected calls are answered by `on_rejected` instead of failing, and
/// whose failed calls are answered by `on_error` once one is set.
///
/// `on_rejected` is any `FnOnce(Rejected) -> Response + Clone`; it is cloned into each call.
/// Made by [`FallbackLayer`] or [`Fallback::new`].
///
/// ```
/// use std::io;
/// use fusebox::{Circuit, CircuitBreaker, Fallback, Rejected};
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), fusebox::BoxError> {
/// let circuit = Circuit::new("quotes", Default::default());
/// let live = service_fn(|symbol: &'static str| async move {
///     if symbol.is_empty() { Err(io::Error::other("no symbol")) } else { Ok(101.5) }
/// });
/// // While the circuit is open, callers get the last known quote.
/// let quotes = Fallback::new(CircuitBreaker::new(live, circuit.clone()), |_: Rejected| 99.0);
///
/// assert_eq!(quotes.clone().oneshot("ACME").await?, 101.5);
/// let error = quotes.clone().oneshot("").await.unwrap_err();
/// assert_eq!(error.to_string(), "no symbol"); // failed calls pass through
/// circuit.force_open();
/// assert_eq!(quotes.oneshot("ACME").await?, 99.0);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Fallback<S, R, E = PassThrough> {
    inner: S,
    on_rejected: R,
    on_error: E,
}

impl<S, R> Fallback<S, R> {
    /// Answers `inner`'s rejected calls with `on_rejected`; failed calls pass through.
    pub const fn new(inner: S, on_rejected: R) -> Self {
        Fallback {
            inner,
            on_rejected,
            on_error: PassThrough,
        }
    }
}

impl<S, R, E> Fallback<S, R, E> {
    /// Also answers calls that failed with an error (other than a rejection) with
    /// `on_error`: any `FnOnce(BoxError) -> Response + Clone`, or an [`OnError`].
    pub fn on_error<E2>(self, on_error: E2) -> Fallback<S, R, E2> {
        Fallback {
            inner: self.inner,
            on_rejected: self.on_rejected,
            on_error,
        }
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

impl<S, R, E, Req> Service<Req> for Fallback<S, R, E>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    R: FnOnce(Rejected) -> S::Response + Clone,
    E: OnError<S::Response> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = FallbackFuture<S::Future, R, E>;

    /// The inner service's readiness: an error here is not a call's and gets no fallback.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        FallbackFuture::new(
            self.inner.call(request),
            self.on_rejected.clone(),
            self.on_error.clone(),
        )
    }
}

impl<S: fmt::Debug, R, E> fmt::Debug for Fallback<S, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback")
            .field("inner", &self.inner)
            .field("on_rejected", &std::any::type_name::<R>())
            .field("on_error", &std::any::type_name::<E>())
            .finish()
    }
}

/// What a [`Fallback`] does with a call that failed with an error other than a rejection:
/// answer it (every `FnOnce(BoxError) -> Response`), or pass the error on ([`PassThrough`]).
///
/// ```
/// use fusebox::BoxError;
/// use fusebox::fallback::{OnError, PassThrough};
///
/// let error: BoxError = "upstream reset the connection".into();
/// let passed = PassThrough.on_error(error);
/// assert_eq!(passed.map_err(|e| e.to_string()), Err::<u32, _>("upstream reset the connection".to_owned()));
///
/// let answered = (|_: BoxError| 0u32).on_error("timeout".into());
/// assert_eq!(answered.ok(), Some(0));
/// ```
pub trait OnError<Res> {
    /// The answer to a call that failed with `error`: a response, or the error to return.
    ///
    /// # Errors
    /// The error, when it is not answered.
    fn on_error(self, error: BoxError) -> Result<Res, BoxError>;
}

impl<F, Res> OnError<Res> for F
where
    F: FnOnce(BoxError) -> Res,
{
    fn on_error(self, error: BoxError) -> Result<Res, BoxError> {
        Ok(self(error))
    }
}

/// Passes failed calls' errors on unchanged: what a [`Fallback`] does until given
/// [`on_error`](Fallback::on_error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassThrough;

impl<Res> OnError<Res> for PassThrough {
    fn on_error(self, error: BoxError) -> Result<Res, BoxError> {
        Err(error)
    }
}
