//! The task behind each listener: it takes signals off the listener's queue in order, hands
//! them to the listener service one at a time, and keeps the listener's counters. Errors and
//! panics end here: they are logged and counted, never passed back to the circuit.

use std::any::Any;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use fusebox_core::{Signal, State};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::listener::{BoxError, Handled, error_chain};

/// The `tracing` target of everything the stack itself logs.
const TARGET: &str = "fusebox::listener";

/// The least time between two warnings about one listener's full queue. The first drop is
/// reported at once; later ones are summed up at most this often, so a listener that hangs
/// under a stream of signals logs a line every ten seconds rather than one per signal.
pub(crate) const DROP_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Counters shared by a listener's worker (which delivers) and the stack (which enqueues).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Signals the queue took in.
    pub(crate) accepted: AtomicU64,
    /// Signals refused (queue full, stack shut down) or abandoned when the worker stopped.
    pub(crate) dropped: AtomicU64,
    /// The part of `dropped` refused because the queue was full: what the warning is about.
    pub(crate) overflowed: AtomicU64,
    /// Wakes the worker's drop warning when `overflowed` grows.
    pub(crate) overflow: Notify,
    /// Signals the listener handled successfully.
    pub(crate) delivered: AtomicU64,
    /// Signals the listener answered with [`Handled::Skipped`].
    pub(crate) skipped: AtomicU64,
    /// Signals the listener returned an error for.
    pub(crate) failed: AtomicU64,
    /// Signals during which the listener panicked.
    pub(crate) panicked: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a signal refused because the queue was full, and wakes the warning. Cheap and
    /// lock-free while nobody waits, as `send` needs.
    pub(crate) fn overflowed(&self) {
        Counters::bump(&self.dropped);
        Counters::bump(&self.overflowed);
        self.overflow.notify_one();
    }
}

/// Everything a worker needs besides its listener.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) name: Arc<str>,
    pub(crate) queue: mpsc::Receiver<Signal>,
    pub(crate) counters: Arc<Counters>,
    /// How many accepted signals are settled (delivered, skipped, failed, panicked or
    /// abandoned), so that `flush` can wait for a count without polling.
    pub(crate) settled: watch::Sender<u64>,
    /// Cancelled by `shutdown`. Dropping the stack does not cancel it: the worker then ends
    /// once it has drained its queue, whose senders are gone.
    pub(crate) stop: CancellationToken,
}

/// How handing one signal to the listener went.
enum Delivery {
    Delivered,
    Skipped,
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
        L: Service<Signal> + 'static,
        L::Error: Into<BoxError>,
    {
        let Worker {
            name,
            mut queue,
            counters,
            settled,
            stop,
        } = self;
        let mut drops = DropWarning::new(&name, &counters);
        loop {
            let signal = match drops.alongside(&stop, queue.recv()).await {
                Some(Some(signal)) => signal,
                // Stopped, or every sender is gone because the stack was dropped.
                Some(None) | None => break,
            };
            let (circuit, from, to) = (Arc::clone(&signal.circuit), signal.from, signal.to);
            let delivering = deliver(&mut listener, signal);
            let Some(delivery) = drops.alongside(&stop, delivering).await else {
                // Stopping abandons the signal in flight; the listener never finished it.
                Counters::bump(&counters.dropped);
                settled.send_modify(|n| *n += 1);
                break;
            };
            match delivery {
                Delivery::Delivered => Counters::bump(&counters.delivered),
                Delivery::Skipped => Counters::bump(&counters.skipped),
                Delivery::Failed(error) => {
                    Counters::bump(&counters.failed);
                    tracing::warn!(
                        target: TARGET,
                        listener = %name,
                        circuit = %circuit,
                        transition = %Transition(from, to),
                        error = %error_chain(&*error),
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
        // Drops still waiting out the quiet period are reported now, or never.
        drops.report();
        // Refuse new signals, then count what was still queued as dropped so that every
        // accepted signal is settled exactly once and a later flush does not wait for it.
        queue.close();
        while queue.recv().await.is_some() {
            Counters::bump(&counters.dropped);
            settled.send_modify(|n| *n += 1);
        }
    }
}

/// Warns about signals the full queue refused, from the worker rather than from `send`,
/// which must stay cheap and may run while the caller holds a lock. It runs alongside
/// whatever the worker waits for, including a listener that never answers, so the first drop
/// is reported at once; later ones at most every [`DROP_WARNING_INTERVAL`].
struct DropWarning<'a> {
    name: &'a str,
    counters: &'a Counters,
    /// `overflowed` as of the last warning.
    reported: u64,
    /// No warning before this instant.
    quiet_until: Option<Instant>,
}

impl<'a> DropWarning<'a> {
    fn new(name: &'a str, counters: &'a Counters) -> Self {
        DropWarning {
            name,
            counters,
            reported: 0,
            quiet_until: None,
        }
    }

    /// Runs `future` to completion, warning about drops meanwhile, unless `stop` is
    /// cancelled first (`None`). A stop that comes while `future` is running loses to a
    /// `future` that is ready at the same time: a listener that finished its work has its
    /// signal counted as handled, not as abandoned.
    async fn alongside<F: Future>(
        &mut self,
        stop: &CancellationToken,
        future: F,
    ) -> Option<F::Output> {
        if stop.is_cancelled() {
            return None;
        }
        tokio::select! {
            biased;
            output = future => Some(output),
            () = stop.cancelled() => None,
            never = self.watch() => match never {},
        }
    }

    /// Warns whenever drops are unreported and the quiet period is over. Dropping it at any
    /// await loses nothing: what is unreported is derived from the counters.
    async fn watch(&mut self) -> Infallible {
        loop {
            if self.counters.overflowed.load(Ordering::Relaxed) == self.reported {
                // A drop after the load stores a permit, so this cannot miss it.
                self.counters.overflow.notified().await;
                continue;
            }
            if let Some(quiet_until) = self.quiet_until {
                tokio::time::sleep_until(quiet_until).await;
            }
            self.report();
        }
    }

    /// Warns about the drops since the last warning, if any.
    fn report(&mut self) {
        let overflowed = self.counters.overflowed.load(Ordering::Relaxed);
        if overflowed == self.reported {
            return;
        }
        tracing::warn!(
            target: TARGET,
            listener = %self.name,
            dropped = overflowed - self.reported,
            "listener queue was full; the newest signals were dropped",
        );
        self.reported = overflowed;
        self.quiet_until = Instant::now().checked_add(DROP_WARNING_INTERVAL);
    }
}

/// Waits for the listener to be ready, then calls it and awaits the response, catching
/// panics in each of the three steps.
async fn deliver<L>(listener: &mut L, signal: Signal) -> Delivery
where
    L: Service<Signal> + 'static,
    L::Error: Into<BoxError>,
{
    match attempt(listener, signal).await {
        Ok(response) if is_skipped(&response) => Delivery::Skipped,
        Ok(_) => Delivery::Delivered,
        Err(delivery) => delivery,
    }
}

/// Whether the listener answered [`Handled::Skipped`]; any other response is a delivery.
fn is_skipped<R: 'static>(response: &R) -> bool {
    let response: &dyn Any = response;
    response.downcast_ref::<Handled>() == Some(&Handled::Skipped)
}

/// [`deliver`], with every way of not delivering as the error.
async fn attempt<L>(listener: &mut L, signal: Signal) -> Result<L::Response, Delivery>
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
            Ok(Poll::Ready(response)) => Poll::Ready(response.map_err(failed)),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_a_skipped_answer_counts_as_skipped() {
        assert!(is_skipped(&Handled::Skipped));
        assert!(!is_skipped(&Handled::Delivered));
        assert!(!is_skipped(&()));
        assert!(!is_skipped(&true));
    }
}
