//! [`ResponseFuture`]: what [`SlackListener`](crate::SlackListener) and
//! [`WebhookListener`](crate::WebhookListener) return from `call`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use fusebox::listener::Handled;

/// The future of one delivery: resolves once the message was posted
/// ([`Handled::Delivered`]), skipped ([`Handled::Skipped`], for registrations) or failed with
/// `E`.
///
/// It owns everything it needs (`'static`, `Send`), so a tower middleware or a spawned task
/// can hold it. Dropping it abandons the delivery.
pub struct ResponseFuture<E> {
    inner: Pin<Box<dyn Future<Output = Result<Handled, E>> + Send>>,
}

impl<E> ResponseFuture<E> {
    pub(crate) fn new(inner: impl Future<Output = Result<Handled, E>> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Box::pin(inner),
        }
    }
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Handled, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<E> fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
