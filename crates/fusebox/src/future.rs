//! The futures the services return: [`ResponseFuture`] and, with feature `http`,
//! `Respond503Future`.
//!
//! A future holds the call's [`Admission`] until the inner future finishes, then classifies the
//! result and finishes the admission with it. Dropped earlier (a cancelled call), it drops the
//! admission unfinished: nothing is recorded and a half-open probe slot is freed, so a
//! cancelled probe can never hold a circuit in `half_open`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use fusebox_core::{OwnedAdmission, Rejected};
use pin_project_lite::pin_project;

use crate::Error;
use crate::classify::Classify;

pin_project! {
    /// The response future of [`CircuitBreaker`](crate::CircuitBreaker).
    pub struct ResponseFuture<F, C> {
        #[pin]
        state: State<F, C>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, C> {
        Called {
            #[pin]
            future: F,
            // `None` once finished: a future polled again after completion records nothing.
            admission: Option<OwnedAdmission>,
            classifier: C,
        },
        Rejected {
            rejected: Rejected,
        },
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn called(future: F, admission: OwnedAdmission, classifier: C) -> Self {
        ResponseFuture {
            state: State::Called {
                future,
                admission: Some(admission),
                classifier,
            },
        }
    }

    pub(crate) fn rejected(rejected: Rejected) -> Self {
        ResponseFuture {
            state: State::Rejected { rejected },
        }
    }
}

impl<F, C, Res, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Res, E>>,
    C: Classify<Res, E>,
{
    type Output = Result<Res, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Called {
                future,
                admission,
                classifier,
            } => {
                let result = ready!(future.poll(cx));
                if let Some(admission) = admission.take() {
                    admission.finish(classifier.classify(&result));
                }
                Poll::Ready(result.map_err(Error::Inner))
            }
            StateProj::Rejected { rejected } => Poll::Ready(Err(Error::Rejected(rejected.clone()))),
        }
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Called { admission, .. } => f
                .debug_struct("ResponseFuture")
                .field("admission", admission)
                .finish_non_exhaustive(),
            State::Rejected { rejected } => f
                .debug_struct("ResponseFuture")
                .field("rejected", rejected)
                .finish(),
        }
    }
}

#[cfg(feature = "http")]
pin_project! {
    /// The response future of [`Respond503`](crate::Respond503): a rejection becomes a
    /// `503 Service Unavailable` response.
    pub struct Respond503Future<F, C, R = crate::EmptyBody> {
        #[pin]
        inner: ResponseFuture<F, C>,
        respond: R,
    }
}

#[cfg(feature = "http")]
impl<F, C, R> Respond503Future<F, C, R> {
    pub(crate) fn new(inner: ResponseFuture<F, C>, respond: R) -> Self {
        Respond503Future { inner, respond }
    }
}

#[cfg(feature = "http")]
impl<F, C, R, B, E> Future for Respond503Future<F, C, R>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    C: Classify<http::Response<B>, E>,
    R: crate::RespondRejected<B>,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.inner.poll(cx)) {
            Ok(response) => Ok(response),
            Err(Error::Inner(error)) => Err(error),
            Err(Error::Rejected(rejected)) => Ok(this.respond.respond(&rejected)),
        })
    }
}

#[cfg(feature = "http")]
impl<F, C, R> fmt::Debug for Respond503Future<F, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Respond503Future")
            .field("inner", &self.inner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::Waker;

    use fusebox_core::{Circuit, ManualClock, Outcome, Permit, Policy, State};

    use super::*;
    use crate::classify::DefaultClassifier;

    fn half_open_circuit() -> Circuit {
        let policy = Policy::builder()
            .permit(Permit::all())
            .max_concurrent_probes(1)
            .build()
            .expect("valid policy");
        Circuit::builder("ledger")
            .policy(policy)
            .clock(ManualClock::new())
            .initial_state(State::HalfOpen)
            .build()
    }

    #[test]
    fn ignored_probe_outcome_frees_its_slot_and_records_nothing() {
        let circuit = half_open_circuit();
        let admission = circuit.try_acquire_owned().expect("a free probe slot");
        let mut future = pin!(ResponseFuture::called(
            std::future::ready(Err::<(), _>("boom")),
            admission,
            |_: &Result<(), &str>| Outcome::Ignored,
        ));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(
            future.as_mut().poll(&mut cx),
            Poll::Ready(Err(Error::Inner("boom")))
        ));
        assert_eq!(circuit.snapshot().probes_in_flight, 0);
        assert_eq!(circuit.snapshot().metrics.total(), 0);
    }

    #[test]
    fn debug_shows_admission_or_rejection() {
        let circuit = half_open_circuit();
        let admission = circuit.try_acquire_owned().expect("a free probe slot");
        let future = ResponseFuture::called(
            std::future::pending::<Result<(), ()>>(),
            admission,
            DefaultClassifier,
        );
        assert_eq!(
            format!("{future:?}"),
            "ResponseFuture { admission: Some(OwnedAdmission { circuit: \"ledger\", probe: true, .. }), .. }"
        );
        let rejected = circuit
            .try_acquire()
            .expect_err("the only probe slot is taken");
        let future =
            ResponseFuture::<std::future::Pending<Result<(), ()>>, DefaultClassifier>::rejected(
                rejected,
            );
        assert_eq!(
            format!("{future:?}"),
            "ResponseFuture { rejected: Rejected { circuit: \"ledger\", state: HalfOpen, retry_after: None } }"
        );
    }
}
