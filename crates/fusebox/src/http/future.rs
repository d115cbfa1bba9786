//! [`Respond503Future`]: the guarded call of the 503 mode.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::{EmptyBody, RespondRejected};
use crate::breaker::future::Guarded;
use crate::classify::Classify;

pin_project! {
    /// The response future of [`Respond503`](crate::Respond503): a rejection becomes a
    /// `503 Service Unavailable` response that carries the [`Rejected`](crate::Rejected) in
    /// its extensions.
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub struct Respond503Future<F, C, R = EmptyBody> {
        #[pin]
        inner: Guarded<F, C>,
        respond: R,
    }
}

impl<F, C, R> Respond503Future<F, C, R> {
    pub(crate) fn new(inner: Guarded<F, C>, respond: R) -> Self {
        Respond503Future { inner, respond }
    }
}

impl<F, C, R, B, E> Future for Respond503Future<F, C, R>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    C: Classify<http::Response<B>, E>,
    R: RespondRejected<B>,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.inner.poll(cx)) {
            Ok(result) => result,
            Err(rejected) => {
                let mut response = this.respond.respond(&rejected);
                // Whatever the responder built: this is how an outer circuit (and
                // `HttpClassifier`) tells the layer's own 503 from the service's.
                response.extensions_mut().insert(rejected);
                Ok(response)
            }
        })
    }
}

impl<F, C, R> fmt::Debug for Respond503Future<F, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug_as("Respond503Future", f)
    }
}
