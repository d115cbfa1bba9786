//! [`Fusebox`]: the registry of named circuits, with their policies and listener stack.
//!
//! Two layers asking for `"payments"` share one circuit. Circuits created for keyed routing
//! (one circuit per host, route, ...) are bounded: past the bound, new keys share one overflow
//! circuit, so thousands of hostile keys cannot grow memory without limit.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use fusebox_core::{Circuit, Clock, Policy, Snapshot, State};
use tower_service::Service;

use crate::BoxError;
use crate::listener::{
    BuildError, FlushTimeout, ListenerStack, ListenerStackBuilder, ListenerStats,
};

/// The name of the circuit that keyed routing falls back to once it has created
/// [`FuseboxBuilder::max_keyed_circuits`] circuits.
pub const OVERFLOW_CIRCUIT: &str = "fusebox_overflow";

/// The registry of named circuits. Cheap to clone: clones share the registry.
///
/// ```
/// use std::time::Duration;
/// use fusebox::{Fusebox, LogListener};
/// use fusebox_core::{Policy, State};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder()
///     .policy("payments", Policy::builder().close_after(3).build()?)
///     .listener("log", LogListener::default())
///     .build()?;
/// let payments = fusebox.circuit("payments");
/// assert!(payments.ptr_eq(&fusebox.circuit("payments")));
/// assert_eq!(payments.policy().close_after(), 3);
///
/// fusebox.force_open("payments")?;
/// assert_eq!(fusebox.snapshot()[0].state, State::ForcedOpen);
/// fusebox.shutdown(Duration::from_secs(1)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Fusebox {
    inner: Arc<Inner>,
}

struct Inner {
    default_policy: Policy,
    policies: HashMap<String, Policy>,
    circuits: RwLock<Circuits>,
    listeners: ListenerStack,
    clock: Option<Arc<dyn Clock>>,
    max_keyed: usize,
    overflow_warned: AtomicBool,
}

#[derive(Default)]
struct Circuits {
    by_name: HashMap<Arc<str>, Circuit>,
    keyed: usize,
}

/// Builds a [`Fusebox`]; see [`Fusebox::builder`].
#[must_use]
pub struct FuseboxBuilder {
    default_policy: Policy,
    policies: HashMap<String, Policy>,
    listeners: ListenerStackBuilder,
    clock: Option<Arc<dyn Clock>>,
    max_keyed: usize,
}

impl FuseboxBuilder {
    /// The policy of every circuit without a policy of its own (default: [`Policy::default`]).
    pub fn default_policy(mut self, policy: Policy) -> Self {
        self.default_policy = policy;
        self
    }

    /// The policy of the circuit named `name`.
    pub fn policy(mut self, name: impl Into<String>, policy: Policy) -> Self {
        self.policies.insert(name.into(), policy);
        self
    }

    /// Takes the default and per-circuit policies of a config file.
    #[cfg(feature = "config")]
    pub fn config(mut self, config: &crate::config::Config) -> Self {
        self.default_policy = config.default_policy().clone();
        for (name, policy) in config.circuits() {
            self.policies.insert(name.to_owned(), policy.clone());
        }
        self
    }

    /// Adds a listener: any `tower::Service<Signal>`, wrapped in whatever tower middleware
    /// you like. Each listener gets its own bounded queue and worker task.
    pub fn listener<L>(mut self, name: impl Into<String>, listener: L) -> Self
    where
        L: Service<fusebox_core::Signal> + Send + 'static,
        L::Error: Into<BoxError>,
        L::Future: Send + 'static,
    {
        self.listeners = self.listeners.listener(name, listener);
        self
    }

    /// Signals each listener's queue holds before dropping the newest (default 1,024).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.listeners = self.listeners.queue_capacity(capacity);
        self
    }

    /// The time source of every circuit (default: the system clock); tests pass a
    /// [`ManualClock`](fusebox_core::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// How many circuits keyed routing may create (default 1,000). Past it, new keys share
    /// the [`OVERFLOW_CIRCUIT`] and a warning is logged once.
    pub fn max_keyed_circuits(mut self, max: usize) -> Self {
        self.max_keyed = max;
        self
    }

    /// Builds the registry and starts the listeners' worker tasks.
    ///
    /// # Errors
    /// With listeners, this must run inside a tokio runtime; a queue capacity of 0, or above
    /// `tokio::sync::Semaphore::MAX_PERMITS`, is [`BuildError`] naming `queue_capacity`.
    pub fn build(self) -> Result<Fusebox, BuildError> {
        Ok(Fusebox {
            inner: Arc::new(Inner {
                default_policy: self.default_policy,
                policies: self.policies,
                circuits: RwLock::default(),
                listeners: self.listeners.build()?,
                clock: self.clock,
                max_keyed: self.max_keyed,
                overflow_warned: AtomicBool::new(false),
            }),
        })
    }
}

impl fmt::Debug for FuseboxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FuseboxBuilder")
            .field("default_policy", &self.default_policy)
            .field("policies", &self.policies)
            .field("listeners", &self.listeners)
            .field("max_keyed_circuits", &self.max_keyed)
            .finish_non_exhaustive()
    }
}

/// A manual command named a circuit the registry does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCircuit {
    name: String,
}

impl UnknownCircuit {
    /// The name that was asked for.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownCircuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no circuit named {:?}; circuits are created when a layer or `Fusebox::circuit` first uses their name",
            self.name
        )
    }
}

impl std::error::Error for UnknownCircuit {}

impl Fusebox {
    /// A builder with the default policy, no listeners and a bound of 1,000 keyed circuits.
    pub fn builder() -> FuseboxBuilder {
        FuseboxBuilder {
            default_policy: Policy::default(),
            policies: HashMap::new(),
            listeners: ListenerStack::builder(),
            clock: None,
            max_keyed: 1_000,
        }
    }

    /// The circuit named `name`, created with its policy (or the default) on first use.
    pub fn circuit(&self, name: &str) -> Circuit {
        if let Some(circuit) = self.get(name) {
            return circuit;
        }
        let mut circuits = self.write();
        self.get_or_insert(&mut circuits, name)
    }

    /// The circuit for a routing key: like [`Fusebox::circuit`], but counted against
    /// [`FuseboxBuilder::max_keyed_circuits`]; past the bound, the [`OVERFLOW_CIRCUIT`].
    pub fn keyed_circuit(&self, key: &str) -> Circuit {
        if let Some(circuit) = self.get(key) {
            return circuit;
        }
        let mut circuits = self.write();
        if let Some(circuit) = circuits.by_name.get(key) {
            return circuit.clone(); // created by another caller since the read
        }
        if circuits.keyed < self.inner.max_keyed {
            circuits.keyed += 1;
            return self.insert(&mut circuits, key);
        }
        let overflow = self.get_or_insert(&mut circuits, OVERFLOW_CIRCUIT);
        drop(circuits);
        if !self.inner.overflow_warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "fusebox",
                max_keyed_circuits = self.inner.max_keyed,
                overflow_circuit = OVERFLOW_CIRCUIT,
                "keyed routing reached its bound of {} circuits; new keys now share the circuit '{}' (raise `max_keyed_circuits` if these keys are legitimate)",
                self.inner.max_keyed,
                OVERFLOW_CIRCUIT,
            );
        }
        overflow
    }

    /// The circuit named `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Circuit> {
        self.read().by_name.get(name).cloned()
    }

    fn get_or_insert(&self, circuits: &mut Circuits, name: &str) -> Circuit {
        match circuits.by_name.get(name) {
            Some(circuit) => circuit.clone(),
            None => self.insert(circuits, name),
        }
    }

    /// Creates the circuit `name`, which `circuits` does not have yet.
    fn insert(&self, circuits: &mut Circuits, name: &str) -> Circuit {
        let inner = &self.inner;
        let policy = inner
            .policies
            .get(name)
            .unwrap_or(&inner.default_policy)
            .clone();
        let listeners = inner.listeners.clone();
        let mut builder = Circuit::builder(name)
            .policy(policy)
            .on_signal(move |signal| listeners.send(signal));
        if let Some(clock) = &inner.clock {
            builder = builder.shared_clock(clock.clone());
        }
        let circuit = builder.build();
        circuits
            .by_name
            .insert(circuit.name().clone(), circuit.clone());
        circuit
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Circuits> {
        self.inner
            .circuits
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Circuits> {
        self.inner
            .circuits
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every circuit as it is now, sorted by name.
    pub fn snapshot(&self) -> Vec<Snapshot> {
        let circuits: Vec<Circuit> = self.read().by_name.values().cloned().collect();
        let mut snapshots: Vec<Snapshot> = circuits.iter().map(Circuit::snapshot).collect();
        snapshots.sort_by(|a, b| a.name.cmp(&b.name));
        snapshots
    }

    fn command(&self, name: &str, to: State) -> Result<bool, UnknownCircuit> {
        let circuit = self.get(name).ok_or_else(|| UnknownCircuit {
            name: name.to_owned(),
        })?;
        Ok(circuit.transition_to(to))
    }

    /// Moves the circuit named `name` to `closed`; `Ok(false)` if it already was (its window
    /// is cleared).
    ///
    /// # Errors
    /// [`UnknownCircuit`] if no circuit has that name.
    pub fn reset(&self, name: &str) -> Result<bool, UnknownCircuit> {
        self.command(name, State::Closed)
    }

    /// Moves the circuit named `name` to `forced_open`.
    ///
    /// # Errors
    /// [`UnknownCircuit`] if no circuit has that name.
    pub fn force_open(&self, name: &str) -> Result<bool, UnknownCircuit> {
        self.command(name, State::ForcedOpen)
    }

    /// Moves the circuit named `name` to `disabled`.
    ///
    /// # Errors
    /// [`UnknownCircuit`] if no circuit has that name.
    pub fn disable(&self, name: &str) -> Result<bool, UnknownCircuit> {
        self.command(name, State::Disabled)
    }

    /// Moves the circuit named `name` to `metrics_only`.
    ///
    /// # Errors
    /// [`UnknownCircuit`] if no circuit has that name.
    pub fn metrics_only(&self, name: &str) -> Result<bool, UnknownCircuit> {
        self.command(name, State::MetricsOnly)
    }

    /// Delivery statistics of each listener.
    pub fn listener_stats(&self) -> Vec<ListenerStats> {
        self.inner.listeners.stats()
    }

    /// The listener stack circuits send their signals to.
    pub fn listeners(&self) -> &ListenerStack {
        &self.inner.listeners
    }

    /// Waits, at most `timeout`, until every signal sent so far reached every listener.
    ///
    /// # Errors
    /// [`FlushTimeout`] naming the listeners still behind.
    pub async fn flush(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        self.inner.listeners.flush(timeout).await
    }

    /// Delivers what is queued (at most `timeout`) and stops the listeners.
    ///
    /// # Errors
    /// [`FlushTimeout`] naming the listeners that did not finish.
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), FlushTimeout> {
        self.inner.listeners.shutdown(timeout).await
    }
}

impl fmt::Debug for Fusebox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let circuits = self.read();
        f.debug_struct("Fusebox")
            .field("circuits", &circuits.by_name.len())
            .field("keyed", &circuits.keyed)
            .field("max_keyed_circuits", &self.inner.max_keyed)
            .field("listeners", &self.inner.listeners)
            .finish_non_exhaustive()
    }
}
