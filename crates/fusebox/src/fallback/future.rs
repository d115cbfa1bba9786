//! [`FallbackFuture`]: the inner call, then the fallback's answer if it failed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::OnError;
use crate::{BoxError, Rejected};

pin_project! {
    /// The response future of [`Fallback`](crate::Fallback): the inner response, or the
    /// fallback's answer to a rejection or (when set) an error.
    pub struct FallbackFuture<F, R, E> {
        #[pin]
        inner: F,
        // `None` once answered: a future polled again after completion answers nothing.
        answers: Option<(R, E)>,
    }
}

impl<F, R, E> FallbackFuture<F, R, E> {
    pub(crate) fn new(inner: F, on_rejected: R, on_error: E) -> Self {
        FallbackFuture {
            inner,
            answers: Some((on_rejected, on_error)),
        }
    }
}

impl<F, R, E, Res, Err> Future for FallbackFuture<F, R, E>
where
    F: Future<Output = Result<Res, Err>>,
    Err: Into<BoxError>,
    R: FnOnce(Rejected) -> Res,
    E: OnError<Res>,
{
    type Output = Result<Res, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let error: BoxError = match ready!(this.inner.poll(cx)) {
            Ok(response) => return Poll::Ready(Ok(response)),
            Err(error) => error.into(),
        };
        let Some((on_rejected, on_error)) = this.answers.take() else {
            return Poll::Ready(Err(error));
        };
        Poll::Ready(match error.downcast::<Rejected>() {
            Ok(rejected) => Ok(on_rejected(*rejected)),
            Err(error) => on_error.on_error(error),
        })
    }
}

impl<F, R, E> fmt::Debug for FallbackFuture<F, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackFuture")
            .field("answered", &self.answers.is_none())
            .finish_non_exhaustive()
    }
}
