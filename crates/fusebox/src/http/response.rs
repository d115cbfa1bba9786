//! How a rejection is told to HTTP clients: [`rejection_response`], and [`RespondRejected`],
//! the responder the 503 mode calls.

use crate::{Rejected, retry_after_secs};

/// The response that answers a rejected call over HTTP: `503 Service Unavailable`, with
/// `Retry-After` (see [`retry_after_secs`]) when the rejection knows when to retry, and an
/// empty body.
///
/// The response carries the [`Rejected`] in its extensions, so a handler that answers a
/// rejection from a circuit it called itself is recognized by an outer circuit, which ignores
/// it (see [`HttpClassifier`](crate::classify::HttpClassifier)) instead of counting a failure.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use fusebox::{Rejected, State, rejection_response};
/// use http::{StatusCode, header::RETRY_AFTER};
///
/// let rejected = Rejected::new(Arc::from("search"), State::Open, Some(Duration::from_millis(2500)));
/// let response = rejection_response::<String>(&rejected);
/// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(response.headers()[RETRY_AFTER], "3");
/// assert_eq!(response.extensions().get::<Rejected>(), Some(&rejected));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub fn rejection_response<B: Default>(rejected: &Rejected) -> http::Response<B> {
    rejection_response_with(rejected, B::default())
}

/// Like [`rejection_response`], with `body` as the response's body.
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub fn rejection_response_with<B>(rejected: &Rejected, body: B) -> http::Response<B> {
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    if let Some(wait) = rejected.retry_after() {
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(retry_after_secs(wait)),
        );
    }
    response.extensions_mut().insert(rejected.clone());
    response
}

/// How the 503 mode ([`Respond503`](crate::Respond503)) answers a rejected call with a
/// response of body type `B`. [`EmptyBody`] is the default; `fusebox-axum` answers with JSON.
///
/// Whatever the responder returns, the 503 mode adds the [`Rejected`] to the response's
/// extensions.
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub trait RespondRejected<B> {
    /// The response for `rejected`.
    fn respond(&self, rejected: &Rejected) -> http::Response<B>;
}

/// Answers rejected calls with [`rejection_response`]: `503`, `Retry-After`, an empty body.
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct EmptyBody;

impl<B: Default> RespondRejected<B> for EmptyBody {
    fn respond(&self, rejected: &Rejected) -> http::Response<B> {
        rejection_response(rejected)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use fusebox_core::State;

    use super::*;

    fn rejected(retry_after: Option<Duration>) -> Rejected {
        Rejected::new(Arc::from("inventory"), State::Open, retry_after)
    }

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

    #[test]
    fn rejection_response_carries_the_rejection() {
        let rejected = rejected(Some(Duration::from_secs(3)));
        let response = rejection_response_with(&rejected, "down");
        assert_eq!(response.extensions().get::<Rejected>(), Some(&rejected));
    }
}
