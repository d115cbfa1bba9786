//! What a protected call can fail with: [`Error`], either a [`Rejected`] call or the inner
//! service's own error, and how a rejection is told to HTTP clients ([`retry_after_secs`],
//! and with feature `http`, [`rejection_response`]).
//!
//! Classifying errors as failures lives in [`crate::classify`], not here.

use std::fmt;
use std::time::Duration;

pub use fusebox_core::Rejected;

/// A type-erased error, as tower uses it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error of a [`CircuitBreaker`](crate::CircuitBreaker): the circuit rejected the call, or
/// the inner service failed.
///
/// ```
/// use std::sync::Arc;
/// use fusebox::{Error, Rejected};
/// use fusebox_core::State;
///
/// let rejected = Rejected::new(Arc::from("payments"), State::ForcedOpen, None);
/// let error: Error<std::io::Error> = Error::from(rejected.clone());
/// assert!(error.is_rejected());
/// assert_eq!(error.rejected(), Some(&rejected));
/// assert_eq!(error.to_string(), "circuit 'payments' is forced_open and rejected the call");
/// assert!(error.into_inner().is_none());
/// ```
#[derive(Debug)]
pub enum Error<E> {
    /// The circuit refused the call: the inner service was not called.
    Rejected(Rejected),
    /// The inner service was called and failed.
    Inner(E),
}

impl<E> Error<E> {
    /// Whether the circuit refused the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected(_))
    }

    /// The rejection, if the circuit refused the call.
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            Error::Rejected(rejected) => Some(rejected),
            Error::Inner(_) => None,
        }
    }

    /// The inner service's error, if it was called and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Rejected(_) => None,
            Error::Inner(inner) => Some(inner),
        }
    }
}

impl<E> From<Rejected> for Error<E> {
    fn from(rejected: Rejected) -> Self {
        Error::Rejected(rejected)
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rejected(rejected) => rejected.fmt(f),
            Error::Inner(inner) => inner.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Rejected(_) => None,
            Error::Inner(inner) => Some(inner),
        }
    }
}

/// The `Retry-After` value for a wait: whole seconds, rounded up, at least 1.
///
/// A client told `0` would retry at once and be rejected again, so the floor is one second.
///
/// ```
/// use std::time::Duration;
/// use fusebox::retry_after_secs;
///
/// assert_eq!(retry_after_secs(Duration::ZERO), 1);
/// assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
/// assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
/// ```
pub fn retry_after_secs(wait: Duration) -> u64 {
    let partial = u64::from(wait.subsec_nanos() > 0);
    wait.as_secs().saturating_add(partial).max(1)
}

/// The response that answers a rejected call over HTTP: `503 Service Unavailable`, with
/// `Retry-After` (see [`retry_after_secs`]) when the rejection knows when to retry, and an
/// empty body.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use fusebox::{Rejected, rejection_response};
/// use fusebox_core::State;
/// use http::{StatusCode, header::RETRY_AFTER};
///
/// let rejected = Rejected::new(Arc::from("search"), State::Open, Some(Duration::from_millis(2500)));
/// let response = rejection_response::<String>(&rejected);
/// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(response.headers()[RETRY_AFTER], "3");
/// ```
#[cfg(feature = "http")]
pub fn rejection_response<B: Default>(rejected: &Rejected) -> http::Response<B> {
    rejection_response_with(rejected, B::default())
}

/// Like [`rejection_response`], with `body` as the response's body.
#[cfg(feature = "http")]
pub fn rejection_response_with<B>(rejected: &Rejected, body: B) -> http::Response<B> {
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    if let Some(wait) = rejected.retry_after() {
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(retry_after_secs(wait)),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::sync::Arc;

    use fusebox_core::State;

    use super::*;

    fn rejected(retry_after: Option<Duration>) -> Rejected {
        Rejected::new(Arc::from("inventory"), State::Open, retry_after)
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_with_a_floor_of_one() {
        let cases = [
            (Duration::ZERO, 1),
            (Duration::from_millis(1), 1),
            (Duration::from_millis(999), 1),
            (Duration::from_millis(1000), 1),
            (Duration::from_millis(1001), 2),
            (Duration::from_nanos(2_000_000_001), 3),
            (Duration::from_secs(60), 60),
            (Duration::MAX, u64::MAX),
        ];
        for (wait, secs) in cases {
            assert_eq!(retry_after_secs(wait), secs, "{wait:?}");
        }
    }

    #[test]
    fn rejected_error_shows_the_rejection_and_has_no_source() {
        let error = Error::<std::io::Error>::from(rejected(Some(Duration::from_millis(1500))));
        assert!(error.is_rejected());
        assert_eq!(
            error.to_string(),
            "circuit 'inventory' is open and rejected the call; retry after 1.500s"
        );
        assert!(error.source().is_none());
        assert_eq!(
            error.rejected().map(Rejected::state),
            Some(State::Open),
            "the rejection is kept whole"
        );
        assert!(error.into_inner().is_none());
    }

    #[test]
    fn inner_error_shows_the_inner_text_and_is_the_source() {
        let error = Error::Inner(std::io::Error::other("connection reset"));
        assert!(!error.is_rejected());
        assert!(error.rejected().is_none());
        assert_eq!(error.to_string(), "connection reset");
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("connection reset")
        );
        let inner = error.into_inner().map(|inner| inner.to_string());
        assert_eq!(inner.as_deref(), Some("connection reset"));
    }

    #[test]
    fn error_boxes_into_box_error() {
        let boxed: BoxError = Box::new(Error::<std::io::Error>::from(rejected(None)));
        assert_eq!(
            boxed
                .downcast_ref::<Error<std::io::Error>>()
                .map(Error::is_rejected),
            Some(true)
        );
    }

    #[cfg(feature = "http")]
    #[test]
    fn rejection_response_is_503_with_retry_after_when_known() {
        let response = rejection_response::<String>(&rejected(Some(Duration::from_millis(1))));
        assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
        assert_eq!(response.body(), "");

        let response = rejection_response::<String>(&rejected(None));
        assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().get(http::header::RETRY_AFTER).is_none());
    }
}

/// How the 503 mode ([`Respond503`](crate::Respond503)) answers a rejected call with a
/// response of body type `B`. [`EmptyBody`] is the default; `fusebox-axum` answers with JSON.
#[cfg(feature = "http")]
pub trait RespondRejected<B> {
    /// The response for `rejected`.
    fn respond(&self, rejected: &Rejected) -> http::Response<B>;
}

/// Answers rejected calls with [`rejection_response`]: `503`, `Retry-After`, an empty body.
#[cfg(feature = "http")]
#[derive(Clone, Copy, Debug, Default)]
pub struct EmptyBody;

#[cfg(feature = "http")]
impl<B: Default> RespondRejected<B> for EmptyBody {
    fn respond(&self, rejected: &Rejected) -> http::Response<B> {
        rejection_response(rejected)
    }
}
