//! Listeners: where the news of circuit transitions goes.
//!
//! A listener is any tower [`Service`] that takes a [`Signal`]; its error only has to convert
//! into [`BoxError`], and its response is ignored unless it is [`Handled::Skipped`], which
//! tells the stack the listener chose to do nothing with the signal. Because listeners are
//! plain services, tower's middleware applies to them: bound a slow webhook with a timeout, a
//! chatty channel with a rate limit.
//!
//! A [`ListenerStack`] fans each signal out to its listeners without ever making the circuit
//! wait: every listener gets a bounded queue and a worker task of its own, so a slow, failing
//! or panicking listener only ever hurts itself. [`LogListener`] writes each transition to
//! `tracing`. [`error_chain`] writes a listener's error as the stack logs it.
//!
//! This module does not decide *when* signals happen (that is the circuit's job in
//! `fusebox_core`) and holds no listener that needs the network (see the `fusebox-prometheus`
//! and `fusebox-slack` crates).
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::{Duration, SystemTime};
//! use fusebox::listener::{ListenerStack, LogListener};
//! use fusebox_core::{Cause, Metrics, Signal, State};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Your own listener: any `Service<Signal>`, here from a closure.
//! let pager = tower::service_fn(|signal: Signal| async move {
//!     if signal.to == State::Open {
//!         // page someone about `signal.circuit`
//!     }
//!     Ok::<_, Infallible>(())
//! });
//!
//! let stack = ListenerStack::builder()
//!     .listener("log", LogListener::new())
//!     // Middleware composes as usual: a pager that hangs is given up on after 2 s, and it
//!     // is asked at most 10 times a minute.
//!     .listener(
//!         "pager",
//!         ServiceBuilder::new()
//!             .timeout(Duration::from_secs(2))
//!             .rate_limit(10, Duration::from_secs(60))
//!             .service(pager),
//!     )
//!     .build()?;
//!
//! stack.send(Signal::new("inventory", State::Closed, State::Open, Cause::Tripped { rule: "failure_rate(0.5)".into() }));
//! stack.shutdown(Duration::from_secs(5)).await?;
//!
//! let delivered: Vec<_> = stack.stats().iter().map(|s| (s.name.clone(), s.delivered)).collect();
//! assert_eq!(delivered, [("log".to_owned(), 1), ("pager".to_owned(), 1)]);
//! # Ok(())
//! # }
//! ```

mod error;
mod log;
mod worker;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fusebox_core::Signal;
use tokio::runtime::Handle;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use self::error::MAX_QUEUE_CAPACITY;
pub use self::error::{BuildError, FlushTimeout, error_chain};
pub use self::log::LogListener;
use self::worker::{Counters, Worker};

use crate::BoxError;

/// The default number of signals each listener's queue holds.
const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Delivers signals to listeners, each at its own pace, off the request path.
///
/// Every listener has a bounded queue and a worker task. [`send`](ListenerStack::send) only
/// tries to enqueue, so the call that trips a circuit never waits for a listener. The worker
/// hands signals to its listener one at a time, in the order they were sent, waiting for
/// `poll_ready` and for the response before the next one.
///
/// What goes wrong stays with the listener: a full queue drops the newest signal (and a warning
/// says so at once, then at most every 10 s while drops go on), an error is
/// logged (target `fusebox::listener`), a panic in `poll_ready`, `call` or the response future
/// is caught and logged, and each is counted in [`stats`](ListenerStack::stats). After a
/// panic the worker keeps using the same listener for later signals, so a listener that
/// panicked must still be usable (or fail cleanly); one that panics in `poll_ready` loses
/// that signal and is polled again for the next. Catching a panic does not silence it: the
/// panic hook still runs (by default it prints the panic to stderr), and with
/// `panic = "abort"` there is nothing to catch.
///
/// Cloning is cheap; clones share the queues and workers. A stack with no listeners,
/// including [`ListenerStack::default()`], needs no runtime and ignores signals.
///
/// ```
/// use std::time::Duration;
/// use fusebox::listener::{ListenerStack, LogListener};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let stack = ListenerStack::builder()
///     .queue_capacity(64)
///     .listener("log", LogListener::new())
///     .build()?;
/// assert_eq!(stack.stats()[0].name, "log");
/// stack.shutdown(Duration::from_secs(1)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct ListenerStack {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Box<[Slot]>,
    capacity: usize,
    /// Set by `shutdown`: later signals are counted as dropped.
    closed: AtomicBool,
    /// Tells every worker to stop.
    stop: CancellationToken,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            slots: Box::default(),
            capacity: DEFAULT_QUEUE_CAPACITY,
            closed: AtomicBool::new(false),
            stop: CancellationToken::new(),
        }
    }
}

/// One listener as the stack sees it.
struct Slot {
    name: Arc<str>,
    queue: mpsc::Sender<Signal>,
    counters: Arc<Counters>,
    settled: watch::Receiver<u64>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Slot {
    fn offer(&self, signal: Signal) {
        match self.queue.try_send(signal) {
            Ok(()) => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            }
            // The newest signal is the one to lose: older ones are already queued.
            Err(TrySendError::Full(_)) => self.counters.overflowed(),
            // The worker stopped (shutdown, or its runtime is gone).
            Err(TrySendError::Closed(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn settled(&self) -> u64 {
        *self.settled.borrow()
    }
}

impl ListenerStack {
    /// Starts building a stack.
    ///
    /// ```
    /// use fusebox::listener::ListenerStack;
    ///
    /// // No listeners, no runtime needed.
    /// let stack = ListenerStack::builder().build()?;
    /// assert!(stack.stats().is_empty());
    /// # Ok::<(), fusebox::listener::BuildError>(())
    /// ```
    pub fn builder() -> ListenerStackBuilder {
        ListenerStackBuilder::default()
    }

    /// Hands a copy of `signal` to every listener's queue, without waiting.
    ///
    /// A listener whose queue is full loses this signal (the newest), and so does every
    /// listener after [`shutdown`](ListenerStack::shutdown); both count as `dropped`. Never
    /// blocks, awaits or panics: call it from any thread, in or out of a runtime, even while
    /// holding a lock.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use fusebox::listener::ListenerStack;
    /// use fusebox_core::{Cause, Metrics, Signal, State};
    ///
    /// let stack = ListenerStack::default();
    /// stack.send(Signal::new("inventory", State::Closed, State::Open, Cause::MANUAL));
    /// ```
    pub fn send(&self, signal: Signal) {
        let slots = &self.inner.slots;
        if self.inner.closed.load(Ordering::Acquire) {
            for slot in slots {
                slot.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let Some((last, others)) = slots.split_last() else {
            return;
        };
        for slot in others {
            slot.offer(signal.clone());
        }
        last.offer(signal);
    }

    /// Waits until every listener has handled every signal sent before this call, or until
    /// `timeout` runs out.
    ///
    /// "Handled" means delivered, skipped, failed or panicked. On timeout the error names the
    /// listeners still behind; their signals stay queued and are still delivered later.
    ///
    /// # Panics
    ///
    /// Like [`tokio::time::timeout`], panics when awaited outside a tokio runtime with time
    /// enabled, unless the stack has no listeners.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::{Duration, SystemTime};
    /// use fusebox::listener::ListenerStack;
    /// use fusebox_core::{Cause, Metrics, Signal, State};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let quiet = tower::service_fn(|_: Signal| async { Ok::<_, Infallible>(()) });
    /// let stack = ListenerStack::builder().listener("quiet", quiet).build()?;
    /// for _ in 0..3 {
    ///     stack.send(Signal::new("inventory", State::Closed, State::Open, Cause::MANUAL));
    /// }
    /// stack.flush(Duration::from_secs(1)).await?;
    /// assert_eq!(stack.stats()[0].delivered, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn flush(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        let slots = &self.inner.slots;
        let targets: Vec<u64> = slots
            .iter()
            .map(|slot| slot.counters.accepted.load(Ordering::Relaxed))
            .collect();
        if slots
            .iter()
            .zip(&targets)
            .all(|(slot, &target)| slot.settled() >= target)
        {
            return Ok(());
        }
        // The workers run concurrently, so waiting for them one after the other costs no
        // more than the slowest of them.
        let caught_up = async {
            for (slot, &target) in slots.iter().zip(&targets) {
                let mut settled = slot.settled.clone();
                // An error means the worker is gone; the check below reports it as behind.
                let _ = settled.wait_for(|&settled| settled >= target).await;
            }
        };
        let _ = tokio::time::timeout(timeout, caught_up).await;
        let behind: Vec<(String, u64)> = slots
            .iter()
            .zip(&targets)
            .filter_map(|(slot, &target)| {
                let pending = target.saturating_sub(slot.settled());
                (pending > 0).then(|| (slot.name.to_string(), pending))
            })
            .collect();
        if behind.is_empty() {
            Ok(())
        } else {
            Err(FlushTimeout::new(behind, timeout))
        }
    }

    /// Stops accepting signals, delivers what is queued within `timeout`, then stops the
    /// workers.
    ///
    /// Signals sent afterwards count as `dropped`, and so does whatever a listener had not
    /// handled when the time ran out (the signal in flight is abandoned, not awaited). Then
    /// the error names those listeners. Stopping a worker takes effect at its next await;
    /// only a listener that blocks its thread can hold it up, and shutdown waits at most
    /// another `timeout` for that. Calling it again is harmless.
    ///
    /// # Panics
    ///
    /// Like [`flush`](ListenerStack::flush).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::{Duration, SystemTime};
    /// use fusebox::listener::ListenerStack;
    /// use fusebox_core::{Cause, Metrics, Signal, State};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let quiet = tower::service_fn(|_: Signal| async { Ok::<_, Infallible>(()) });
    /// let stack = ListenerStack::builder().listener("quiet", quiet).build()?;
    /// let signal = Signal::new("inventory", State::Closed, State::Open, Cause::MANUAL);
    /// stack.send(signal.clone());
    /// stack.shutdown(Duration::from_secs(1)).await?;
    /// stack.send(signal);
    ///
    /// let stats = &stack.stats()[0];
    /// assert_eq!((stats.delivered, stats.dropped), (1, 1));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        self.inner.closed.store(true, Ordering::Release);
        let flushed = self.flush(timeout).await;
        self.inner.stop.cancel();
        let mut stuck = Vec::new();
        for slot in &self.inner.slots {
            let worker = slot
                .worker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let Some(worker) = worker else { continue };
            if tokio::time::timeout(timeout, worker).await.is_err() {
                // A worker with nothing pending is merely about to end; only one that still
                // holds signals (its thread blocked by the listener) is worth reporting.
                let accepted = slot.counters.accepted.load(Ordering::Relaxed);
                let pending = accepted.saturating_sub(slot.settled());
                if pending > 0 {
                    stuck.push((slot.name.to_string(), pending));
                }
            }
        }
        match flushed {
            Err(err) => Err(err),
            Ok(()) if stuck.is_empty() => Ok(()),
            Ok(()) => Err(FlushTimeout::new(stuck, timeout)),
        }
    }

    /// A snapshot of every listener's counters, in the order the listeners were added.
    ///
    /// ```
    /// use fusebox::listener::ListenerStack;
    ///
    /// assert_eq!(ListenerStack::default().stats(), []);
    /// ```
    pub fn stats(&self) -> Vec<ListenerStats> {
        self.inner
            .slots
            .iter()
            .map(|slot| {
                let counters = &slot.counters;
                let accepted = counters.accepted.load(Ordering::Relaxed);
                ListenerStats {
                    name: slot.name.to_string(),
                    delivered: counters.delivered.load(Ordering::Relaxed),
                    skipped: counters.skipped.load(Ordering::Relaxed),
                    dropped: counters.dropped.load(Ordering::Relaxed),
                    failed: counters.failed.load(Ordering::Relaxed),
                    panicked: counters.panicked.load(Ordering::Relaxed),
                    queued: accepted.saturating_sub(slot.settled()),
                }
            })
            .collect()
    }

    /// How many signals each listener's queue holds, as built.
    ///
    /// ```
    /// use fusebox::listener::ListenerStack;
    ///
    /// assert_eq!(ListenerStack::default().queue_capacity(), 1024);
    /// let stack = ListenerStack::builder().queue_capacity(8).build()?;
    /// assert_eq!(stack.queue_capacity(), 8);
    /// # Ok::<(), fusebox::listener::BuildError>(())
    /// ```
    pub fn queue_capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Whether [`shutdown`](ListenerStack::shutdown) was called: from then on every signal
    /// is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox::listener::ListenerStack;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let stack = ListenerStack::default();
    /// assert!(!stack.is_shut_down());
    /// stack.shutdown(Duration::from_secs(1)).await?;
    /// assert!(stack.is_shut_down());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }
}

impl fmt::Debug for ListenerStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.inner.slots.iter().map(|s| &*s.name).collect();
        f.debug_struct("ListenerStack")
            .field("listeners", &names)
            .field("queue_capacity", &self.inner.capacity)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

/// One listener's counters, from [`ListenerStack::stats`].
///
/// Every signal sent to the listener is counted once: `delivered + skipped + failed +
/// panicked + dropped + queued` is the number of signals sent since the stack was built.
///
/// ```
/// use std::convert::Infallible;
/// use fusebox::listener::ListenerStack;
/// use fusebox_core::Signal;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let quiet = tower::service_fn(|_: Signal| async { Ok::<_, Infallible>(()) });
/// let stack = ListenerStack::builder().listener("quiet", quiet).build()?;
/// let stats = &stack.stats()[0];
/// assert_eq!(stats.name, "quiet");
/// assert_eq!(
///     (stats.delivered, stats.skipped, stats.dropped, stats.failed, stats.panicked, stats.queued),
///     (0, 0, 0, 0, 0, 0)
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// The name the listener was added under.
    pub name: String,
    /// Signals the listener handled successfully.
    pub delivered: u64,
    /// Signals the listener chose to do nothing with: it answered [`Handled::Skipped`], as the
    /// log, Slack and webhook listeners do for registrations.
    pub skipped: u64,
    /// Signals it never received: its queue was full, the stack was shut down, or its worker
    /// stopped before delivering them.
    pub dropped: u64,
    /// Signals for which it returned an error (from `poll_ready` or the response).
    pub failed: u64,
    /// Signals during which it panicked (in `poll_ready`, `call` or the response future).
    pub panicked: u64,
    /// Signals accepted but not yet handled, including the one being delivered now.
    pub queued: u64,
}

/// What a listener did with a signal, for listeners that want the stack to tell a signal they
/// acted on from one they chose to ignore.
///
/// The stack ignores listener responses with one exception: a listener that answers
/// `Handled::Skipped` has the signal counted as [`skipped`](ListenerStats::skipped) rather
/// than [`delivered`](ListenerStats::delivered). Any other response, `Handled::Delivered`
/// and `()` included, counts as delivered. Tower middleware that keeps the response type
/// (`timeout`, `rate_limit`, `buffer`) keeps this working.
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use fusebox::listener::{Handled, ListenerStack};
/// use fusebox_core::{Cause, Metrics, Signal, State};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Pages about openings only.
/// let pager = tower::service_fn(|signal: Signal| async move {
///     if signal.to != State::Open {
///         return Ok::<_, Infallible>(Handled::Skipped);
///     }
///     // page someone about `signal.circuit`
///     Ok(Handled::Delivered)
/// });
/// let stack = ListenerStack::builder().listener("pager", pager).build()?;
/// for to in [State::Open, State::HalfOpen] {
///     stack.send(Signal::new("inventory", State::Closed, to, Cause::MANUAL));
/// }
/// stack.flush(Duration::from_secs(1)).await?;
/// let stats = &stack.stats()[0];
/// assert_eq!((stats.delivered, stats.skipped), (1, 1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Handled {
    /// The listener acted on the signal.
    Delivered,
    /// The listener chose to do nothing with the signal.
    Skipped,
}

/// The part of a listener's worker that depends on the listener's type.
type Spawn = Box<dyn FnOnce(&Handle, Worker) -> JoinHandle<()> + Send>;

/// Configures and builds a [`ListenerStack`].
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use fusebox::listener::{ListenerStack, LogListener};
/// use fusebox_core::Signal;
/// use tower::ServiceBuilder;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), fusebox::listener::BuildError> {
/// let audit = tower::service_fn(|_: Signal| async { Ok::<_, Infallible>(()) });
/// let stack = ListenerStack::builder()
///     .queue_capacity(256)
///     .listener("log", LogListener::new())
///     .listener(
///         "audit",
///         ServiceBuilder::new()
///             .timeout(Duration::from_secs(1))
///             .service(audit),
///     )
///     .build()?;
/// assert_eq!(stack.stats().len(), 2);
/// # Ok(())
/// # }
/// ```
pub struct ListenerStackBuilder {
    capacity: usize,
    listeners: Vec<(Arc<str>, Spawn)>,
}

impl Default for ListenerStackBuilder {
    fn default() -> Self {
        ListenerStackBuilder {
            capacity: DEFAULT_QUEUE_CAPACITY,
            listeners: Vec::new(),
        }
    }
}

impl ListenerStackBuilder {
    /// How many signals each listener's queue holds before the newest are dropped (default
    /// 1024, at least 1, at most `tokio::sync::Semaphore::MAX_PERMITS`). The queue allocates
    /// as it fills, not up front.
    ///
    /// ```
    /// use fusebox::listener::{BuildError, ListenerStack};
    ///
    /// let err = ListenerStack::builder().queue_capacity(0).build().unwrap_err();
    /// assert_eq!(err, BuildError::ZeroCapacity);
    /// let err = ListenerStack::builder().queue_capacity(usize::MAX).build().unwrap_err();
    /// assert!(matches!(err, BuildError::CapacityTooLarge { .. }));
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Adds a listener under `name`, which [`ListenerStack::stats`] and log lines use.
    ///
    /// The listener's response is ignored, unless it is [`Handled::Skipped`]; its errors are
    /// logged and counted.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use fusebox::listener::ListenerStack;
    /// use fusebox_core::Signal;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), fusebox::listener::BuildError> {
    /// let count_opens = tower::service_fn(|signal: Signal| async move {
    ///     Ok::<_, Infallible>(signal.to == fusebox_core::State::Open)
    /// });
    /// let stack = ListenerStack::builder().listener("opens", count_opens).build()?;
    /// assert_eq!(stack.stats()[0].name, "opens");
    /// # Ok(())
    /// # }
    /// ```
    pub fn listener<L>(mut self, name: impl Into<String>, listener: L) -> Self
    where
        L: Service<Signal> + Send + 'static,
        L::Error: Into<BoxError>,
        L::Future: Send + 'static,
    {
        let spawn: Spawn =
            Box::new(move |runtime: &Handle, worker: Worker| runtime.spawn(worker.run(listener)));
        self.listeners.push((Arc::from(name.into()), spawn));
        self
    }

    /// Builds the stack and spawns one worker task per listener on the current tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroCapacity`] for a queue capacity of 0,
    /// [`BuildError::CapacityTooLarge`] for one above `tokio::sync::Semaphore::MAX_PERMITS`,
    /// [`BuildError::DuplicateName`] when two listeners share a name, and
    /// [`BuildError::NoRuntime`] when there are listeners but no tokio runtime is running
    /// on this thread. A stack without listeners needs no runtime.
    ///
    /// ```
    /// use fusebox::listener::{BuildError, ListenerStack, LogListener};
    ///
    /// // Outside a runtime:
    /// let err = ListenerStack::builder().listener("log", LogListener::new()).build();
    /// assert_eq!(err.unwrap_err(), BuildError::NoRuntime);
    /// ```
    pub fn build(self) -> Result<ListenerStack, BuildError> {
        if self.capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        if self.capacity > MAX_QUEUE_CAPACITY {
            return Err(BuildError::CapacityTooLarge {
                capacity: self.capacity,
                max: MAX_QUEUE_CAPACITY,
            });
        }
        for (index, (name, _)) in self.listeners.iter().enumerate() {
            if self.listeners[..index]
                .iter()
                .any(|(other, _)| other == name)
            {
                return Err(BuildError::DuplicateName(name.to_string()));
            }
        }
        if self.listeners.is_empty() {
            return Ok(ListenerStack {
                inner: Arc::new(Inner {
                    capacity: self.capacity,
                    ..Inner::default()
                }),
            });
        }
        let runtime = Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        let stop = CancellationToken::new();
        let slots = self
            .listeners
            .into_iter()
            .map(|(name, spawn)| {
                let (queue, receiver) = mpsc::channel(self.capacity);
                let (settled_tx, settled) = watch::channel(0);
                let counters = Arc::new(Counters::default());
                let worker = spawn(
                    &runtime,
                    Worker {
                        name: Arc::clone(&name),
                        queue: receiver,
                        counters: Arc::clone(&counters),
                        settled: settled_tx,
                        stop: stop.clone(),
                    },
                );
                Slot {
                    name,
                    queue,
                    counters,
                    settled,
                    worker: Mutex::new(Some(worker)),
                }
            })
            .collect();
        Ok(ListenerStack {
            inner: Arc::new(Inner {
                slots,
                capacity: self.capacity,
                closed: AtomicBool::new(false),
                stop,
            }),
        })
    }
}

impl fmt::Debug for ListenerStackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.listeners.iter().map(|(name, _)| &**name).collect();
        f.debug_struct("ListenerStackBuilder")
            .field("queue_capacity", &self.capacity)
            .field("listeners", &names)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn the_stack_can_be_shared_across_threads_and_tasks() {
        assert_send_sync::<ListenerStack>();
        assert_send_sync::<ListenerStats>();
        assert_send_sync::<BuildError>();
        assert_send_sync::<FlushTimeout>();
    }

    #[test]
    fn default_stack_has_no_listeners_and_ignores_signals() {
        let stack = ListenerStack::default();
        stack.send(
            Signal::new(
                "inventory",
                fusebox_core::State::Closed,
                fusebox_core::State::Open,
                fusebox_core::Cause::MANUAL,
            )
            .with_at(std::time::SystemTime::UNIX_EPOCH),
        );
        assert_eq!(stack.stats(), []);
        assert_eq!(stack.queue_capacity(), DEFAULT_QUEUE_CAPACITY);
        assert!(!stack.is_shut_down());
    }

    #[test]
    fn capacity_is_checked_before_the_runtime() {
        let err = ListenerStack::builder()
            .queue_capacity(0)
            .listener("log", LogListener::new())
            .build();
        assert_eq!(err.unwrap_err(), BuildError::ZeroCapacity);
        let err = ListenerStack::builder()
            .queue_capacity(MAX_QUEUE_CAPACITY + 1)
            .listener("log", LogListener::new())
            .build();
        assert_eq!(
            err.unwrap_err(),
            BuildError::CapacityTooLarge {
                capacity: MAX_QUEUE_CAPACITY + 1,
                max: MAX_QUEUE_CAPACITY
            }
        );
    }
}
