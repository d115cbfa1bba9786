//! The task behind each listener: it takes signals off the listener's queue in order, hands
//! them to the listener service one at a time, and keeps the listener's counters. Errors and
//! panics end here: they are logged and counted, never passed back to the circuit.

use std::any::Any;
use std::error::Error;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use fusebox_core::{Signal, State};
use tokio::sync::{mpsc, watch};
use tower_service::Service;

use crate::listener::BoxError;

/// The `tracing` target of everything the stack itself logs.
const TARGET: &str = "fusebox::listener";

/// Counters shared by a listener's worker (which delivers) and the stack (which enqueues).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Signals the queue took in.
    pub(crate) accepted: AtomicU64,
    /// Signals refused (queue full, stack shut down) or abandoned when the worker stopped.
    pub(crate) dropped: AtomicU64,
    /// Signals the listener handled successfully.
    pub(crate) delivered: AtomicU64,
    /// Signals the listener returned an error for.
    pub(crate) failed: AtomicU64,
    /// Signals during which the listener panicked.
    pub(crate) panicked: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Everything a worker needs besides its listener.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) name: Arc<str>,
    pub(crate) queue: mpsc::Receiver<Signal>,
    pub(crate) counters: Arc<Counters>,
    /// How many accepted signals are settled (delivered, failed, panicked or abandoned), so
    /// that `flush` can wait for a count without polling.
    pub(crate) settled: watch::Sender<u64>,
    pub(crate) stop: watch::Receiver<bool>,
}

/// How handing one signal to the listener went.
enum Delivery {
    Delivered,
    Failed(BoxError),
    Panicked {
        during: &'static str,
        message: String,
    },
}

impl Worker {
    /// Serves `listener` until the stack stops the worker or is dropped.
    pub(crate) async fn run<L>(self, mut listener: L)
    where
        L: Service<Signal>,
        L::Error: Into<BoxError>,
    {
        let Worker {
            name,
            mut queue,
            counters,
            settled,
            stop,
        } = self;
        let mut stop = Stop::new(stop);
        let mut drops_reported = 0;
        loop {
            let signal = match stop.race(queue.recv()).await {
                Some(Some(signal)) => signal,
                // Stopped, or every sender is gone because the stack was dropped.
                Some(None) | None => break,
            };
            drops_reported = report_drops(&name, &counters, drops_reported);
            let (circuit, from, to) = (Arc::clone(&signal.circuit), signal.from, signal.to);
            let Some(delivery) = stop.race(deliver(&mut listener, signal)).await else {
                // Stopping abandons the signal in flight; the listener never finished it.
                Counters::bump(&counters.dropped);
                settled.send_modify(|n| *n += 1);
                break;
            };
            match delivery {
                Delivery::Delivered => Counters::bump(&counters.delivered),
                Delivery::Failed(error) => {
                    Counters::bump(&counters.failed);
                    tracing::warn!(
                        target: TARGET,
                        listener = %name,
                        circuit = %circuit,
                        transition = %Transition(from, to),
                        error = %ErrorChain(&*error),
                        "listener failed to handle a signal",
                    );
                }
                Delivery::Panicked { during, message } => {
                    Counters::bump(&counters.panicked);
                    tracing::error!(
                        target: TARGET,
                        listener = %name,
                        circuit = %circuit,
                        transition = %Transition(from, to),
                        panic = %message,
                        during,
                        "listener panicked while handling a signal; it keeps receiving later signals",
                    );
                }
            }
            settled.send_modify(|n| *n += 1);
        }
        // Refuse new signals, then count what was still queued as dropped so that every
        // accepted signal is settled exactly once and a later flush does not wait for it.
        queue.close();
        while queue.recv().await.is_some() {
            Counters::bump(&counters.dropped);
            settled.send_modify(|n| *n += 1);
        }
    }
}

/// Logs the signals dropped since the last report. Done here rather than in `send`, which
/// must stay cheap and may run while the caller holds a lock.
fn report_drops(name: &str, counters: &Counters, reported: u64) -> u64 {
    let dropped = counters.dropped.load(Ordering::Relaxed);
    if dropped > reported {
        tracing::warn!(
            target: TARGET,
            listener = %name,
            dropped = dropped - reported,
            "listener queue was full; the newest signals were dropped",
        );
    }
    dropped
}

/// Waits for the listener to be ready, then calls it and awaits the response, catching
/// panics in each of the three steps.
async fn deliver<L>(listener: &mut L, signal: Signal) -> Delivery
where
    L: Service<Signal>,
    L::Error: Into<BoxError>,
{
    match attempt(listener, signal).await {
        Ok(()) => Delivery::Delivered,
        Err(delivery) => delivery,
    }
}

/// [`deliver`], with every way of not delivering as the error.
async fn attempt<L>(listener: &mut L, signal: Signal) -> Result<(), Delivery>
where
    L: Service<Signal>,
    L::Error: Into<BoxError>,
{
    // `ServiceExt::ready` would do, but a panic has to be caught around each poll.
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| listener.poll_ready(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(ready)) => Poll::Ready(ready.map_err(failed)),
            Err(payload) => Poll::Ready(Err(panicked("poll_ready", payload))),
        },
    )
    .await?;
    let future = catch_unwind(AssertUnwindSafe(|| listener.call(signal)))
        .map_err(|payload| panicked("call", payload))?;
    let mut future = pin!(future);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(response)) => Poll::Ready(response.map(drop).map_err(failed)),
            Err(payload) => Poll::Ready(Err(panicked("the response future", payload))),
        },
    )
    .await
}

fn failed<E: Into<BoxError>>(error: E) -> Delivery {
    Delivery::Failed(error.into())
}

fn panicked(during: &'static str, payload: Box<dyn Any + Send>) -> Delivery {
    Delivery::Panicked {
        during,
        message: panic_message(payload.as_ref()),
    }
}

/// The text a panic was raised with, for the log line.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic payload that is not a string".to_owned()
    }
}

/// `closed -> open`.
struct Transition(State, State);

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.0.as_str(), self.1.as_str())
    }
}

/// An error followed by its sources: `request timed out` or `send failed: connection refused`.
struct ErrorChain<'a>(&'a (dyn Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

/// The stack's stop flag as a worker sees it.
struct Stop {
    flag: watch::Receiver<bool>,
    /// The stack was dropped without stopping the worker: it can no longer be stopped, and
    /// the worker ends once its queue is drained and closed instead.
    orphaned: bool,
}

impl Stop {
    fn new(flag: watch::Receiver<bool>) -> Self {
        Stop {
            flag,
            orphaned: false,
        }
    }

    /// Runs `future` to completion unless the stack stops the worker first (`None`).
    async fn race<F: Future>(&mut self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let orphaned = &mut self.orphaned;
        let mut stopped = pin!(self.flag.wait_for(|stop| *stop));
        poll_fn(|cx| {
            if !*orphaned {
                match stopped.as_mut().poll(cx) {
                    Poll::Ready(Ok(_)) => return Poll::Ready(None),
                    Poll::Ready(Err(_)) => *orphaned = true,
                    Poll::Pending => {}
                }
            }
            future.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("send failed")
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_chain_joins_every_source() {
        let error = Wrapped(std::io::Error::other("connection refused"));
        assert_eq!(
            ErrorChain(&error).to_string(),
            "send failed: connection refused"
        );
    }

    #[test]
    fn panic_message_reads_str_and_string_payloads() {
        let literal = catch_unwind(|| panic!("boom")).unwrap_err();
        assert_eq!(panic_message(literal.as_ref()), "boom");
        let formatted = catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(panic_message(formatted.as_ref()), "boom 7");
        let other = catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(
            panic_message(other.as_ref()),
            "a panic payload that is not a string"
        );
    }

    #[test]
    fn transition_uses_machine_names() {
        assert_eq!(
            Transition(State::HalfOpen, State::ForcedOpen).to_string(),
            "half_open -> forced_open"
        );
    }
}
