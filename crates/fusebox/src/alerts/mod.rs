//! Alert once per burst of the same logged error (feature `alerts`).
//!
//! [`ErrorBursts`] is a `tracing` layer. Every `ERROR` event (or every event at a level you
//! choose) is counted in a keyed circuit named by its [`Fingerprint`]; the circuit's
//! `closed → open` transition is the alert, and it reaches people through the listeners the
//! registry already has (log, Slack, webhook, Prometheus and Alertmanager):
//!
//! ```
//! use std::time::Duration;
//! use fusebox::{Fusebox, LogListener, State};
//! use fusebox::alerts::ErrorBursts;
//! use tracing_subscriber::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fusebox = Fusebox::builder().listener("log", LogListener::default()).build()?;
//! let alerts = ErrorBursts::new(&fusebox);
//! let subscriber = tracing_subscriber::registry()
//!     // .with(tracing_subscriber::fmt::layer())
//!     .with(alerts.clone());
//! // In an application: `.init()` instead of a scoped default.
//! tracing::subscriber::with_default(subscriber, || {
//!     for order in 0..150 {
//!         tracing::error!(order, "order {order} failed: card declined");
//!     }
//! });
//! let bursts = alerts.bursts();
//! assert_eq!(bursts.len(), 1);
//! // `ERROR <target>: order {n} failed: card declined (<file>:<line>)`
//! assert!(bursts[0].fingerprint.contains(": order {n} failed: card declined ("));
//! // The 100th error opened the circuit: one alert. The last 50 were suppressed.
//! assert_eq!((bursts[0].state, bursts[0].events, bursts[0].suppressed), (State::Open, 150, 50));
//! fusebox.shutdown(Duration::from_secs(1)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # The rule
//!
//! Unless configured otherwise, a fingerprint alerts when it is logged 100 times within a
//! minute: `time(60s)`, `failure_count(100)`, `cooldown(5m)`. `[alerts."<pattern>"]` sections
//! of the config file ([`FuseboxBuilder::config`](crate::FuseboxBuilder::config)) or
//! [`ErrorBurstsBuilder::policy`] change it per message pattern; see `fusebox::config` for
//! the pattern syntax.
//!
//! While the alert stands, the same error sends nothing more, however often it is logged.
//! Once the cooldown is over, a background check (a tokio task, or a thread outside a tokio
//! runtime, every [`check_interval`](ErrorBurstsBuilder::check_interval)) looks at the events
//! since the alert: if they kept below the rule for a whole window, it sends the circuit one
//! probe that succeeds, and the circuit closes (`open → half_open → closed`), which the Slack
//! listener posts in the alert's thread. If the error goes on at the rule's rate, the circuit
//! stays open past its cooldown, silently, until it does not. Events themselves never probe:
//! every event is an error, so a probe made of one would reopen the circuit and post twice
//! per cooldown for as long as the error goes on.
//!
//! # What an alert carries
//!
//! The signals of a fingerprint's circuit carry [`details`](crate::Signal::details):
//! `fingerprint` (the normalised message), `callsite` (target, file and line), `level`,
//! `sample` (the first message of the burst as logged) and, when the event has other fields,
//! `fields` (`order=7 user="bob"`). The count in the window is the signal's
//! `metrics.failures()`. The sample is taken when a fingerprint is first seen and again at
//! the first event after each alert ends, not on every event.
//!
//! # Cost
//!
//! Counting an event whose fingerprint is known takes no lock, allocates nothing and awaits
//! nothing: the message is formatted into a buffer the thread keeps, normalised into another,
//! looked up in a map that is only read (replaced whole when a fingerprint is added or
//! evicted), and recorded as one failure on the circuit. Listeners get signals through
//! bounded queues: a listener that hangs never slows the code that logs.
//!
//! # Bounds
//!
//! Fingerprints are keyed circuits of the registry: they count against
//! [`max_keyed_circuits`](crate::FuseboxBuilder::max_keyed_circuits), and a fingerprint that
//! stays `closed` without an event for
//! [`keyed_idle_timeout`](crate::FuseboxBuilder::keyed_idle_timeout) is let go by this layer
//! and then evicted by the registry. While the bound is reached, new fingerprints share the
//! circuit [`OVERFLOW_FINGERPRINT`], with the default alert policy, and a warning is logged
//! once: a flood of distinct errors raises one alert instead of growing memory.
//!
//! Events of fusebox's own targets (`fusebox`, `fusebox::listener`, `fusebox_slack`, ...) are
//! never counted, so a failing listener cannot feed its own alerts.

mod entry;
mod fingerprint;
mod policies;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use fusebox_core::{Clock, Policy, State};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use self::entry::{Entry, lock};
pub use self::fingerprint::{Fingerprint, normalize};
use self::fingerprint::{Sample, callsite, template};
use self::policies::Policies;
use crate::Fusebox;

/// The circuit that counts the fingerprints that do not fit under the registry's
/// [`max_keyed_circuits`](crate::FuseboxBuilder::max_keyed_circuits).
pub const OVERFLOW_FINGERPRINT: &str = "fusebox_error_overflow";

/// How often the background check runs unless configured.
const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Bytes a thread's message and key buffers keep between events.
const MAX_KEPT_BUFFER: usize = 16 * 1024;

/// How often, per idle timeout, the background check lets idle fingerprints go.
const SWEEPS_PER_IDLE_TIMEOUT: u32 = 4;

/// Every fingerprint by its key, which is also its circuit's name.
type Entries = HashMap<Arc<str>, Arc<Entry>, foldhash::fast::RandomState>;

/// The `tracing` layer that turns bursts of logged errors into one alert each; see the
/// [module docs](self).
///
/// Cheap to clone: clones count into the same fingerprints.
#[derive(Clone)]
pub struct ErrorBursts {
    shared: Arc<Shared>,
}

/// What the layer, its clones and its background check share.
struct Shared {
    fusebox: Fusebox,
    clock: Arc<dyn Clock>,
    /// The least severe level counted.
    level: Level,
    fingerprint: Fingerprint,
    policies: Policies,
    /// Read on every event without a lock; replaced whole under `writer`.
    entries: ArcSwap<Entries>,
    writer: Mutex<()>,
    /// The entries whose alert stands, for the background check.
    watched: Mutex<Vec<Arc<Entry>>>,
    overflow: OnceLock<Arc<Entry>>,
    overflow_warned: AtomicBool,
    idle_timeout: Duration,
    /// Clock time from which the background check sweeps again.
    next_sweep: Mutex<Duration>,
}

/// Builds an [`ErrorBursts`] layer; see [`ErrorBursts::builder`].
#[must_use]
pub struct ErrorBurstsBuilder {
    fusebox: Fusebox,
    level: Level,
    fingerprint: Fingerprint,
    policies: Vec<(String, Policy)>,
    check_interval: Duration,
}

impl ErrorBurstsBuilder {
    /// Counts events at `level` and every more severe level (default `ERROR`): `WARN` counts
    /// warnings and errors.
    ///
    /// ```
    /// use fusebox::Fusebox;
    /// use fusebox::alerts::ErrorBursts;
    /// use tracing::Level;
    ///
    /// let fusebox = Fusebox::builder().build()?;
    /// let layer = ErrorBursts::builder(&fusebox).level(Level::WARN).build();
    /// assert_eq!(layer.level(), Level::WARN);
    /// # Ok::<(), fusebox::BuildError>(())
    /// ```
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// What makes two events the same error (default:
    /// [`Fingerprint::callsite_and_message`]).
    pub fn fingerprint(mut self, fingerprint: Fingerprint) -> Self {
        self.fingerprint = fingerprint;
        self
    }

    /// The policy of fingerprints whose normalised message matches `pattern`, as an
    /// `[alerts."<pattern>"]` config section sets it (and replacing one of the same pattern);
    /// `"*"` changes the default.
    ///
    /// ```
    /// use fusebox::{Fusebox, Policy, Window};
    /// use fusebox::alerts::ErrorBursts;
    /// use fusebox::trip::failure_count;
    ///
    /// let fusebox = Fusebox::builder().build()?;
    /// let layer = ErrorBursts::builder(&fusebox)
    ///     .policy("order * failed", Policy::builder().trip(failure_count(10)).build()?)
    ///     .build();
    /// # let _ = layer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(mut self, pattern: impl Into<String>, policy: Policy) -> Self {
        let pattern = pattern.into();
        self.policies.retain(|(known, _)| *known != pattern);
        self.policies.push((pattern, policy));
        self
    }

    /// How often the background check looks for alerts that may end and for idle
    /// fingerprints (default 1 s). An alert ends at most this long after it may.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox::Fusebox;
    /// use fusebox::alerts::ErrorBursts;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), fusebox::BuildError> {
    /// let fusebox = Fusebox::builder().build()?;
    /// let layer = ErrorBursts::builder(&fusebox)
    ///     .check_interval(Duration::from_secs(10))
    ///     .build();
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Builds the layer and starts its background check: a task on the current tokio
    /// runtime (whose time driver must be enabled, as `#[tokio::main]` does), or a thread
    /// named `fusebox-alerts` outside one. The check stops when the last clone of the layer
    /// is dropped.
    pub fn build(self) -> ErrorBursts {
        let (clock, idle_timeout, attached) = self.fusebox.alerts_context();
        let mut policies = attached.policies.clone();
        for (pattern, policy) in self.policies {
            policies.retain(|(known, _)| *known != pattern);
            policies.push((pattern, policy));
        }
        let now = clock.now();
        let shared = Arc::new(Shared {
            clock,
            level: self.level,
            fingerprint: self.fingerprint,
            policies: Policies::new(policies),
            entries: ArcSwap::from_pointee(Entries::default()),
            writer: Mutex::new(()),
            watched: Mutex::new(Vec::new()),
            overflow: OnceLock::new(),
            overflow_warned: AtomicBool::new(false),
            idle_timeout,
            next_sweep: Mutex::new(now.saturating_add(idle_timeout / SWEEPS_PER_IDLE_TIMEOUT)),
            fusebox: self.fusebox.clone(),
        });
        attached.attach(&shared);
        spawn_check(Arc::downgrade(&shared), self.check_interval);
        ErrorBursts { shared }
    }
}

impl fmt::Debug for ErrorBurstsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorBurstsBuilder")
            .field("level", &self.level)
            .field("fingerprint", &self.fingerprint)
            .field("policies", &self.policies)
            .field("check_interval", &self.check_interval)
            .finish_non_exhaustive()
    }
}

impl ErrorBursts {
    /// The layer with the defaults: `ERROR` events, fingerprinted by callsite and normalised
    /// message, the alert policies of the registry's config.
    pub fn new(fusebox: &Fusebox) -> ErrorBursts {
        ErrorBursts::builder(fusebox).build()
    }

    /// A builder counting into `fusebox`'s circuits.
    pub fn builder(fusebox: &Fusebox) -> ErrorBurstsBuilder {
        ErrorBurstsBuilder {
            fusebox: fusebox.clone(),
            level: Level::ERROR,
            fingerprint: Fingerprint::default(),
            policies: Vec::new(),
            check_interval: DEFAULT_CHECK_INTERVAL,
        }
    }

    /// The least severe level counted.
    pub fn level(&self) -> Level {
        self.shared.level
    }

    /// Every fingerprint this layer counts now, sorted by fingerprint.
    pub fn bursts(&self) -> Vec<Burst> {
        self.shared.bursts()
    }
}

impl fmt::Debug for ErrorBursts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorBursts")
            .field("level", &self.shared.level)
            .field("fingerprint", &self.shared.fingerprint)
            .field("fingerprints", &self.shared.entries.load().len())
            .field("alerts", &lock(&self.shared.watched).len())
            .finish_non_exhaustive()
    }
}

impl<S: Subscriber> Layer<S> for ErrorBursts {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        self.shared.on_event(event);
    }
}

/// One fingerprint as it is now: see [`ErrorBursts::bursts`] and [`bursts`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Burst {
    /// The fingerprint, which is also its circuit's name.
    pub fingerprint: Arc<str>,
    /// The circuit's state: `open` while the alert stands.
    pub state: State,
    /// Events counted since the fingerprint was first seen (or came back after eviction).
    pub events: u64,
    /// Of those, the events counted while an alert stood, which sent nothing.
    pub suppressed: u64,
    /// Whether the fingerprint has alerted at least once.
    pub tripped: bool,
}

/// Every fingerprint counted by the [`ErrorBursts`] layers of `fusebox` that are still in use,
/// sorted by fingerprint: for metrics (`fusebox-prometheus` exports the events of those that
/// have tripped), dashboards and tests.
///
/// ```
/// use fusebox::Fusebox;
/// use fusebox::alerts::{self, ErrorBursts};
/// use tracing_subscriber::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), fusebox::BuildError> {
/// let fusebox = Fusebox::builder().build()?;
/// let subscriber = tracing_subscriber::registry().with(ErrorBursts::new(&fusebox));
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::error!("disk 1 full");
///     tracing::error!("disk 2 full");
///     assert_eq!(alerts::bursts(&fusebox)[0].events, 1, "two callsites, two fingerprints");
/// });
/// // The layer went with its subscriber.
/// assert!(alerts::bursts(&fusebox).is_empty());
/// # Ok(())
/// # }
/// ```
pub fn bursts(fusebox: &Fusebox) -> Vec<Burst> {
    let (_, _, attached) = fusebox.alerts_context();
    let layers: Vec<Arc<Shared>> = lock(&attached.layers)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut bursts: Vec<Burst> = layers.iter().flat_map(|shared| shared.bursts()).collect();
    bursts.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    bursts
}

/// What a registry keeps for its error-burst layers: the alert policies of its config, and
/// the layers reading it (weakly: a layer holds the registry, not the other way round).
pub(crate) struct Attached {
    policies: Vec<(String, Policy)>,
    layers: Mutex<Vec<Weak<Shared>>>,
}

impl Attached {
    pub(crate) fn new(policies: Vec<(String, Policy)>) -> Attached {
        Attached {
            policies,
            layers: Mutex::new(Vec::new()),
        }
    }

    fn attach(&self, shared: &Arc<Shared>) {
        let mut layers = lock(&self.layers);
        layers.retain(|layer| layer.strong_count() > 0);
        layers.push(Arc::downgrade(shared));
    }
}

/// The buffers one thread formats messages and keys into, kept from event to event.
#[derive(Default)]
struct Scratch {
    message: String,
    key: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl Shared {
    fn on_event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        if *metadata.level() > self.level || metadata.target().starts_with("fusebox") {
            return;
        }
        // `try_`: a thread being torn down has no buffers any more, and an event logged
        // while this one is counted (by a subscriber layer beneath, say) is not counted.
        let _ = SCRATCH.try_with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                return;
            };
            let Scratch { message, key } = &mut *scratch;
            self.fingerprint.write_key(event, message, key);
            let entries = self.entries.load();
            match entries.get(key.as_str()) {
                Some(entry) => entry.record(self, event),
                None => {
                    drop(entries);
                    self.miss(event, key);
                }
            }
            // One huge message must not pin its size in every thread that logged it.
            for buffer in [message, key] {
                if buffer.capacity() > MAX_KEPT_BUFFER {
                    *buffer = String::new();
                }
            }
        });
    }

    /// An event of a fingerprint without an entry: its new entry, or the overflow one.
    fn miss(&self, event: &Event<'_>, key: &str) {
        let circuit = self
            .fusebox
            .keyed_circuit_with(key, || self.policies.for_template(&template(event)));
        let Some(circuit) = circuit else {
            self.overflow(event).record(self, event);
            return;
        };
        let entry = {
            let _writer = lock(&self.writer);
            let entries = self.entries.load();
            match entries.get(key) {
                Some(entry) => Arc::clone(entry),
                None => {
                    let entry = Arc::new(Entry::new(circuit, self.clock.now()));
                    entry.circuit.set_details(self.details(event));
                    let mut next = Entries::clone(&entries);
                    next.insert(entry.circuit.name().clone(), Arc::clone(&entry));
                    self.entries.store(Arc::new(next));
                    entry
                }
            }
        };
        entry.record(self, event);
    }

    /// The entry of the fingerprints beyond the registry's bound.
    fn overflow(&self, event: &Event<'_>) -> &Arc<Entry> {
        let warned = &self.overflow_warned;
        if !warned.load(Ordering::Relaxed) && !warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "fusebox::alerts",
                overflow_circuit = OVERFLOW_FINGERPRINT,
                "logged errors have more fingerprints than the registry's max_keyed_circuits; \
                 new fingerprints now count together in the circuit '{}' until idle ones are \
                 evicted (raise `max_keyed_circuits`, or fingerprint by callsite if messages \
                 carry values the normalisation keeps)",
                OVERFLOW_FINGERPRINT,
            );
        }
        self.overflow.get_or_init(|| {
            let policy = self.policies.for_template("");
            let circuit = self.fusebox.circuit_with(OVERFLOW_FINGERPRINT, policy);
            circuit.set_details(self.details(event));
            Arc::new(Entry::new(circuit, self.clock.now()))
        })
    }

    /// What the alert of `event`'s burst says besides the count.
    fn details(&self, event: &Event<'_>) -> Vec<(String, String)> {
        let sample = Sample::of(event);
        let mut fingerprint = if self.fingerprint.reads_message() {
            template(event)
        } else {
            String::new()
        };
        if fingerprint.is_empty() {
            let mut key = String::new();
            self.fingerprint
                .write_key(event, &mut String::new(), &mut key);
            fingerprint = key;
        }
        let mut details = vec![
            ("fingerprint".to_owned(), fingerprint),
            ("callsite".to_owned(), callsite(event)),
            ("level".to_owned(), event.metadata().level().to_string()),
            ("sample".to_owned(), sample.message),
        ];
        if !sample.fields.is_empty() {
            details.push(("fields".to_owned(), sample.fields));
        }
        details
    }

    fn bursts(&self) -> Vec<Burst> {
        let entries = self.entries.load();
        let mut bursts: Vec<Burst> = entries
            .values()
            .chain(self.overflow.get())
            .map(|entry| Burst {
                fingerprint: entry.circuit.name().clone(),
                state: entry.circuit.state(),
                events: entry.events(),
                suppressed: entry.suppressed(),
                tripped: entry.tripped(),
            })
            .collect();
        bursts.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        bursts
    }

    /// The background check: ends the alerts that may end, and lets idle fingerprints go.
    fn check(&self) {
        let now = self.clock.now();
        let entries = self.entries.load_full();
        // An alert whose burst stopped at the event that raised it has no later event to
        // notice it: watch it from here.
        for entry in entries.values().chain(self.overflow.get()) {
            if entry.unwatched_alert() {
                entry.start_watch(self);
            }
        }
        let watched = lock(&self.watched).clone();
        let ended: Vec<Arc<Entry>> = watched
            .into_iter()
            .filter(|entry| !entry.check(now))
            .collect();
        if !ended.is_empty() {
            lock(&self.watched).retain(|entry| !ended.iter().any(|e| Arc::ptr_eq(e, entry)));
        }
        let sweep = {
            let mut next = lock(&self.next_sweep);
            let due = now >= *next;
            if due {
                *next = now.saturating_add(self.idle_timeout / SWEEPS_PER_IDLE_TIMEOUT);
            }
            due
        };
        if sweep {
            self.sweep(&entries, now);
        }
    }

    /// Drops the entries idle for the idle timeout, so that the registry can evict their
    /// circuits: an entry holds its circuit, and the registry never evicts a held one.
    fn sweep(&self, entries: &Entries, now: Duration) {
        let idle: Vec<(&Arc<str>, &Arc<Entry>)> = entries
            .iter()
            .filter(|(_, entry)| entry.idle_for(now) >= self.idle_timeout)
            .collect();
        if idle.is_empty() {
            return;
        }
        let _writer = lock(&self.writer);
        let mut next = Entries::clone(&self.entries.load());
        for (key, entry) in idle {
            if next.get(key).is_some_and(|e| Arc::ptr_eq(e, entry)) {
                next.remove(key);
            }
        }
        self.entries.store(Arc::new(next));
    }
}

/// Runs [`Shared::check`] every `interval` for as long as the layer lives.
fn spawn_check(shared: Weak<Shared>, interval: Duration) {
    let pass = move || match shared.upgrade() {
        Some(shared) => {
            shared.check();
            true
        }
        None => false,
    };
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                if !pass() {
                    break;
                }
            }
        });
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("fusebox-alerts".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                if !pass() {
                    break;
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(
            target: "fusebox::alerts",
            %error,
            "could not start the thread that ends error-burst alerts; alerts will stay open"
        );
    }
}
