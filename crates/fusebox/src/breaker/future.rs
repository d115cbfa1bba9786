//! The response future of [`CircuitBreaker`](crate::CircuitBreaker), and the guarded call it
//! shares with the 503 mode.
//!
//! A guarded call holds the call's [`OwnedAdmission`] until the inner future finishes, then
//! classifies the typed result and finishes the admission with it; only then is the error
//! boxed (or, in the 503 mode, the rejection turned into a response). Dropped earlier (a
//! cancelled call), it drops the admission unfinished: the call counts as ignored and a
//! half-open probe slot is freed, so a cancelled probe can never hold a circuit in `half_open`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use fusebox_core::{OwnedAdmission, Rejected};
use pin_project_lite::pin_project;

use crate::BoxError;
use crate::classify::Classify;

pin_project! {
    /// The response future of [`CircuitBreaker`](crate::CircuitBreaker): the inner response,
    /// or a [`BoxError`] holding a [`Rejected`] or the inner service's error.
    pub struct ResponseFuture<F, C> {
        #[pin]
        inner: Guarded<F, C>,
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn new(inner: Guarded<F, C>) -> Self {
        ResponseFuture { inner }
    }
}

impl<F, C, Res, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Res, E>>,
    C: Classify<Res, E>,
    E: Into<BoxError>,
{
    type Output = Result<Res, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(match ready!(self.project().inner.poll(cx)) {
            Ok(result) => result.map_err(Into::into),
            Err(rejected) => Err(Box::new(rejected)),
        })
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug_as("ResponseFuture", f)
    }
}

pin_project! {
    /// A call a circuit guards: admitted and running, or rejected. Its output keeps the inner
    /// result typed and the rejection apart; the public futures decide what a rejection
    /// becomes (a boxed error, a 503 response).
    #[project = GuardedProj]
    pub(crate) enum Guarded<F, C> {
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

impl<F, C> Guarded<F, C> {
    pub(crate) fn called(future: F, admission: OwnedAdmission, classifier: C) -> Self {
        Guarded::Called {
            future,
            admission: Some(admission),
            classifier,
        }
    }

    pub(crate) fn rejected(rejected: Rejected) -> Self {
        Guarded::Rejected { rejected }
    }

    /// `name { admission: .. }` or `name { rejected: .. }`: what a public future shows.
    pub(crate) fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guarded::Called { admission, .. } => f
                .debug_struct(name)
                .field("admission", admission)
                .finish_non_exhaustive(),
            Guarded::Rejected { rejected } => {
                f.debug_struct(name).field("rejected", rejected).finish()
            }
        }
    }
}

impl<F, C, Res, E> Future for Guarded<F, C>
where
    F: Future<Output = Result<Res, E>>,
    C: Classify<Res, E>,
{
    type Output = Result<Result<Res, E>, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedProj::Called {
                future,
                admission,
                classifier,
            } => {
                let result = ready!(future.poll(cx));
                if let Some(admission) = admission.take() {
                    admission.finish(classifier.classify(&result));
                }
                Poll::Ready(Ok(result))
            }
            GuardedProj::Rejected { rejected } => Poll::Ready(Err(rejected.clone())),
        }
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
        let mut future = pin!(ResponseFuture::new(Guarded::called(
            std::future::ready(Err::<(), _>(std::io::Error::other("boom"))),
            admission,
            |_: &Result<(), std::io::Error>| Outcome::Ignored,
        )));
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(Err(error)) = future.as_mut().poll(&mut cx) else {
            panic!("the inner error, at once");
        };
        assert_eq!(
            error
                .downcast_ref::<std::io::Error>()
                .map(ToString::to_string),
            Some("boom".to_owned())
        );
        assert_eq!(circuit.snapshot().probes_in_flight, 0);
        assert_eq!(circuit.snapshot().metrics.total(), 0);
    }

    #[test]
    fn a_running_probe_holds_its_slot_and_a_rejected_call_fails_at_once() {
        let circuit = half_open_circuit();
        let admission = circuit.try_acquire_owned().expect("a free probe slot");
        let mut running = pin!(ResponseFuture::new(Guarded::called(
            std::future::pending::<Result<(), std::io::Error>>(),
            admission,
            DefaultClassifier,
        )));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(running.as_mut().poll(&mut cx).is_pending());
        assert_eq!(circuit.snapshot().probes_in_flight, 1);

        let rejected = circuit
            .try_acquire()
            .expect_err("the only probe slot is taken");
        let mut future = pin!(ResponseFuture::new(Guarded::<
            std::future::Pending<Result<(), std::io::Error>>,
            DefaultClassifier,
        >::rejected(rejected)));
        let Poll::Ready(Err(error)) = future.as_mut().poll(&mut cx) else {
            panic!("the rejection, at once");
        };
        let rejected = error.downcast_ref::<Rejected>().expect("a rejection");
        assert_eq!(
            (rejected.circuit(), rejected.state()),
            ("ledger", State::HalfOpen)
        );
    }
}
