//! Calls outside tower, in one step: [`Circuit::call`] and [`Circuit::call_with`] for a
//! closure, [`Circuit::call_async`] and [`Circuit::call_future`] for a future ([`CallFuture`]).
//! Each acquires an admission, runs the call, classifies its result and finishes the
//! admission; a rejected call never runs. What they fail with is [`CallError`].
//!
//! They are [`Circuit::try_acquire`] and [`Admission::finish`](crate::Admission::finish)
//! put together, so they keep their guarantees: a call that unwinds (a panic in the closure or
//! the classifier) or a future dropped before it finishes drops its admission unfinished, which
//! counts the call as ignored and frees a half-open probe slot it held. No runtime is needed:
//! [`CallFuture`] is a plain [`Future`] that any executor polls.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::{Circuit, OwnedAdmission, Rejected};
use crate::Outcome;

/// How a call counts unless told otherwise: `Ok` is a success, every `Err` a failure.
fn ok_or_failure<T, E>(result: &Result<T, E>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

impl Circuit {
    /// Runs `f` if the circuit admits the call, and records how it went: `Ok` as a success,
    /// `Err` as a failure, with its duration when the policy measures latency.
    ///
    /// A panic in `f` unwinds through this call; the call then counts as ignored.
    ///
    /// ```
    /// use fusebox_core::{CallError, Circuit, Policy, State};
    /// use fusebox_core::trip::failure_streak;
    ///
    /// let circuit = Circuit::new("inventory", Policy::builder().trip(failure_streak(2)).build()?);
    /// let stock = |sku: u32| -> Result<u32, String> {
    ///     if sku == 0 { Err("no such item".to_owned()) } else { Ok(7) }
    /// };
    ///
    /// assert_eq!(circuit.call(|| stock(42)), Ok(7));
    /// for _ in 0..2 {
    ///     let error = circuit.call(|| stock(0)).unwrap_err();
    ///     assert_eq!(error, CallError::Inner("no such item".to_owned()));
    /// }
    /// assert_eq!(circuit.state(), State::Open);
    /// let error = circuit.call(|| stock(42)).unwrap_err();
    /// assert_eq!(error.rejected().map(|r| r.state()), Some(State::Open));
    /// # Ok::<(), fusebox_core::PolicyError>(())
    /// ```
    ///
    /// # Errors
    /// [`CallError::Rejected`] when the circuit refused the call (`f` did not run),
    /// [`CallError::Inner`] with `f`'s error.
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_with(ok_or_failure, f)
    }

    /// Like [`Circuit::call`], with `classify` deciding how the result counts.
    ///
    /// ```
    /// use fusebox_core::{Circuit, Outcome};
    ///
    /// let circuit = Circuit::new("users", Default::default());
    /// // A missing user is the caller's mistake, not the store's failure.
    /// let not_found_is_ignored = |result: &Result<String, &str>| match result {
    ///     Ok(_) => Outcome::Success,
    ///     Err(error) if *error == "not found" => Outcome::Ignored,
    ///     Err(_) => Outcome::Failure,
    /// };
    /// let lookup = circuit.call_with(not_found_is_ignored, || Err("not found"));
    /// assert_eq!(lookup.unwrap_err().into_inner(), Some("not found"));
    ///
    /// let calls = circuit.snapshot().calls;
    /// assert_eq!((calls.ignored, calls.failure), (1, 0));
    /// ```
    ///
    /// # Errors
    /// As [`Circuit::call`].
    pub fn call_with<T, E>(
        &self,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        let admission = self.try_acquire()?;
        let result = f();
        admission.finish(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// Asks the circuit now, like a tower service's `call`, and calls `f` for the future to
    /// run only if it admits the call. The returned future resolves to the future's output,
    /// recorded like [`Circuit::call`]'s (change how it counts with
    /// [`CallFuture::classify`]), or to the rejection.
    ///
    /// Dropping the returned future before it finishes (a timeout, a `select!` that chose
    /// another branch) counts the call as ignored.
    ///
    /// ```
    /// use std::io;
    /// use fusebox_core::{CallError, Circuit, State};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let circuit = Circuit::new("quotes", Default::default());
    /// let quote = circuit.call_async(|| async { Ok::<_, io::Error>(101.5) }).await;
    /// assert_eq!(quote.ok(), Some(101.5));
    ///
    /// circuit.force_open();
    /// let mut started = false;
    /// let quote = circuit
    ///     .call_async(|| {
    ///         started = true;
    ///         async { Ok::<_, io::Error>(99.0) }
    ///     })
    ///     .await;
    /// assert!(matches!(quote, Err(CallError::Rejected(r)) if r.state() == State::ForcedOpen));
    /// assert!(!started, "a rejected call never starts");
    /// # }
    /// ```
    pub fn call_async<F, Fut, T, E>(&self, f: F) -> CallFuture<Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let call = match self.try_acquire_owned() {
            Ok(admission) => Call::Running {
                future: f(),
                pending: Some((admission, ok_or_failure::<T, E> as fn(&Result<T, E>) -> _)),
            },
            Err(rejected) => Call::Rejected { rejected },
        };
        CallFuture { call }
    }

    /// Like [`Circuit::call_async`], for a future already made: a rejected call drops it
    /// without polling it.
    ///
    /// ```
    /// use fusebox_core::Circuit;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let circuit = Circuit::new("search", Default::default());
    /// let search = async { Ok::<_, std::io::Error>(vec!["fusebox"]) };
    /// assert_eq!(circuit.call_future(search).await.unwrap(), ["fusebox"]);
    /// # }
    /// ```
    pub fn call_future<Fut, T, E>(&self, future: Fut) -> CallFuture<Fut>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_async(|| future)
    }
}

pin_project! {
    /// A call guarded by a circuit, as a future: see [`Circuit::call_async`].
    ///
    /// `C` classifies the result; by default `Ok` is a success and `Err` a failure.
    #[must_use = "futures do nothing unless polled; dropped, the call counts as ignored"]
    pub struct CallFuture<Fut: Future, C = fn(&<Fut as Future>::Output) -> Outcome> {
        #[pin]
        call: Call<Fut, C>,
    }
}

pin_project! {
    #[project = CallProj]
    enum Call<Fut, C> {
        Running {
            #[pin]
            future: Fut,
            // `None` once finished: a future polled again after completion records nothing.
            pending: Option<(OwnedAdmission, C)>,
        },
        Rejected {
            rejected: Rejected,
        },
    }
}

impl<Fut: Future, C> CallFuture<Fut, C> {
    /// Classifies the result with `classify` instead.
    ///
    /// ```
    /// use fusebox_core::{Circuit, Outcome};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let circuit = Circuit::new("cache", Default::default());
    /// // A cache miss is no failure of the cache.
    /// let lookup = circuit
    ///     .call_async(|| async { Err::<String, _>("miss") })
    ///     .classify(|result: &Result<String, &str>| match result {
    ///         Err(error) if *error == "miss" => Outcome::Ignored,
    ///         Err(_) => Outcome::Failure,
    ///         Ok(_) => Outcome::Success,
    ///     });
    /// assert!(lookup.await.is_err());
    /// assert_eq!(circuit.snapshot().calls.ignored, 1);
    /// # }
    /// ```
    pub fn classify<C2>(self, classify: C2) -> CallFuture<Fut, C2> {
        let call = match self.call {
            Call::Running { future, pending } => Call::Running {
                future,
                pending: pending.map(|(admission, _)| (admission, classify)),
            },
            Call::Rejected { rejected } => Call::Rejected { rejected },
        };
        CallFuture { call }
    }
}

impl<Fut, C, T, E> Future for CallFuture<Fut, C>
where
    Fut: Future<Output = Result<T, E>>,
    C: FnOnce(&Result<T, E>) -> Outcome,
{
    type Output = Result<T, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().call.project() {
            CallProj::Running { future, pending } => {
                let result = ready!(future.poll(cx));
                if let Some((admission, classify)) = pending.take() {
                    admission.finish(classify(&result));
                }
                Poll::Ready(result.map_err(CallError::Inner))
            }
            CallProj::Rejected { rejected } => {
                Poll::Ready(Err(CallError::Rejected(rejected.clone())))
            }
        }
    }
}

impl<Fut: Future, C> fmt::Debug for CallFuture<Fut, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.call {
            Call::Running { pending, .. } => f
                .debug_struct("CallFuture")
                .field(
                    "admission",
                    &pending.as_ref().map(|(admission, _)| admission),
                )
                .finish_non_exhaustive(),
            Call::Rejected { rejected } => f
                .debug_struct("CallFuture")
                .field("rejected", rejected)
                .finish(),
        }
    }
}

/// Why a call made with [`Circuit::call`] or [`Circuit::call_async`] returned no value.
///
/// It displays as the rejection or as the inner error, and its `source` is the inner error's:
/// wrapping adds nothing to an error chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError<E> {
    /// The circuit refused the call: it never ran.
    Rejected(Rejected),
    /// The call ran and failed with this error (however it was classified).
    Inner(E),
}

impl<E> CallError<E> {
    /// The rejection, if the circuit refused the call.
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            CallError::Rejected(rejected) => Some(rejected),
            CallError::Inner(_) => None,
        }
    }

    /// Whether the circuit refused the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, CallError::Rejected(_))
    }

    /// The call's own error, if it ran.
    pub fn inner(&self) -> Option<&E> {
        match self {
            CallError::Inner(error) => Some(error),
            CallError::Rejected(_) => None,
        }
    }

    /// The call's own error, if it ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Inner(error) => Some(error),
            CallError::Rejected(_) => None,
        }
    }
}

impl<E> From<Rejected> for CallError<E> {
    fn from(rejected: Rejected) -> Self {
        CallError::Rejected(rejected)
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(rejected) => rejected.fmt(f),
            CallError::Inner(error) => error.fmt(f),
        }
    }
}

impl<E: Error + 'static> Error for CallError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CallError::Rejected(rejected) => rejected.source(),
            CallError::Inner(error) => error.source(),
        }
    }
}
