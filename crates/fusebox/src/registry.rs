//! [`Fusebox`]: the registry of named circuits, with their policies and listener stack.
//!
//! Two layers asking for `"payments"` share one circuit. Circuits created for keyed routing
//! (one circuit per host, route, ...) are bounded, so thousands of hostile keys cannot grow
//! memory without limit, and evicted once idle, so keys that come and go never pin the bound:
//! only keys beyond the bound at one moment share the overflow circuit.
//!
//! Finding an existing circuit takes no lock and allocates nothing: the map of circuits is
//! replaced whole when a circuit is created or evicted, which happens once per name and not
//! once per call. There is no background task: sweeps for idle circuits run on the path that
//! creates keyed circuits.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use fusebox_core::{
    CallCounts, Circuit, Clock, OwnedAdmission, Policy, Rejected, Scope, Snapshot, State,
    SystemClock,
};
use tower_service::Service;

use crate::BoxError;
use crate::fleet::{CommandError, Fleet, Membership, Override};
use crate::history::History;
use crate::listener::{
    BuildError, FlushTimeout, ListenerStack, ListenerStackBuilder, ListenerStats,
};
use crate::unused::PolicyUse;

/// The name of the circuit that keyed routing falls back to while
/// [`FuseboxBuilder::max_keyed_circuits`] keyed circuits exist.
pub const OVERFLOW_CIRCUIT: &str = "fusebox_overflow";

/// How often, per idle timeout, a keyed miss may sweep: an idle circuit goes at most a quarter
/// of the timeout late, and sweeping (a look at every keyed circuit) stays rare.
const SWEEPS_PER_IDLE_TIMEOUT: u32 = 4;

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

/// Seeded per registry: keys can come from user input (hosts, tenants), and a hash known in
/// advance would let a client send keys that all collide.
type Hasher = foldhash::fast::RandomState;

/// Every circuit by name. Each value is the registry's one handle of its circuit, shared by
/// every version of the map, so that [`Circuit::is_shared`] counts only the handles and
/// admissions outside the registry.
type Circuits = HashMap<Arc<str>, Arc<Circuit>, Hasher>;

struct Inner {
    default_policy: Policy,
    policies: HashMap<String, Policy>,
    /// Read on every call without a lock; replaced whole (copy on write) under `keyed` when a
    /// circuit is created or evicted, which happens once per name, not once per call.
    circuits: ArcSwap<Circuits>,
    /// Serialises every change of `circuits`.
    keyed: Mutex<KeyedCircuits>,
    /// What `keyed` holds, readable without its lock: while the bound is reached and no sweep
    /// is due, new keys go to the overflow circuit without taking the lock.
    keyed_count: AtomicUsize,
    /// Clock time (nanoseconds) from which a keyed miss may sweep again.
    next_sweep: AtomicU64,
    listeners: ListenerStack,
    clock: Arc<dyn Clock>,
    max_keyed: usize,
    idle_timeout: Duration,
    overflow_warned: AtomicBool,
    /// Recent transitions and failure rates, fed by the circuits' signal sinks.
    history: History,
    policy_use: PolicyUse,
    fleet: Membership,
    /// The `[alerts."<pattern>"]` policies of the config, and the error-burst layers reading
    /// this registry.
    #[cfg(feature = "alerts")]
    alerts: crate::alerts::Attached,
}

/// The keyed circuits and what eviction knows of each.
#[derive(Default)]
struct KeyedCircuits {
    seen: HashMap<Arc<str>, Seen, Hasher>,
}

/// What sweeps know of a keyed circuit: its cumulative call count, and since when that count
/// has not changed. Comparing counts between sweeps costs the call path nothing, where stamping
/// each call would be a shared write per call.
#[derive(Clone, Copy, Debug)]
struct Seen {
    calls: u64,
    since: Duration,
    /// No sweep has looked at the circuit since it was created.
    fresh: bool,
}

impl Seen {
    fn new(calls: u64, now: Duration) -> Seen {
        Seen {
            calls,
            since: now,
            fresh: false,
        }
    }

    fn created(now: Duration) -> Seen {
        Seen {
            fresh: true,
            ..Seen::new(0, now)
        }
    }

    /// Notes the count a sweep sees at `now`.
    fn observe(&mut self, calls: u64, now: Duration) {
        // A keyed circuit is created for a call that follows at once, so a first call counts
        // as made at creation: keys used once and never again are evicted on time.
        let unchanged = calls == self.calls || (self.fresh && calls == 1);
        if !unchanged {
            self.since = now;
        }
        self.calls = calls;
        self.fresh = false;
    }
}

fn total(calls: CallCounts) -> u64 {
    calls.by_outcome().iter().map(|(_, count)| count).sum()
}

fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}

/// Builds a [`Fusebox`]; see [`Fusebox::builder`].
#[must_use]
pub struct FuseboxBuilder {
    default_policy: Policy,
    policies: HashMap<String, Policy>,
    listeners: ListenerStackBuilder,
    clock: Option<Arc<dyn Clock>>,
    max_keyed: usize,
    idle_timeout: Duration,
    fleet: Membership,
    #[cfg(feature = "alerts")]
    alert_policies: Vec<(String, Policy)>,
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
        #[cfg(feature = "alerts")]
        {
            self.alert_policies = config
                .alert_policies()
                .map(|(pattern, policy)| (pattern.to_owned(), policy.clone()))
                .collect();
        }
        self.fleet.sharing.all = config.default_shares_trips();
        for (name, _) in config.circuits() {
            let shares = config.shares_trips(name);
            self.fleet.sharing.circuits.insert(name.to_owned(), shares);
        }
        self
    }

    /// Shares the state of this registry's circuits with the other replicas of the service
    /// through `fleet` (for Redis, `fusebox_redis::RedisFleet`): fleet-wide commands
    /// ([`Fusebox::command`] with [`Scope::Fleet`]) and the trips of the circuits named in
    /// [`share_trips`](FuseboxBuilder::share_trips). See [`fleet`](crate::fleet).
    pub fn fleet(mut self, fleet: impl Fleet) -> Self {
        self.fleet.fleet = Some(Arc::new(fleet));
        self
    }

    /// Shares the trips of the circuit named `name` with the fleet: when one replica trips,
    /// the others open too until the same probe deadline, one replica probes for all, and its
    /// recovery or reopening reaches every replica. In a config file: `fleet = "shared"`.
    pub fn share_trips(mut self, name: impl Into<String>) -> Self {
        self.fleet.sharing.circuits.insert(name.into(), true);
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

    /// How many keyed circuits may exist at once (default 1,000). While that many exist, new
    /// keys share the [`OVERFLOW_CIRCUIT`] and a warning is logged once.
    pub fn max_keyed_circuits(mut self, max: usize) -> Self {
        self.max_keyed = max;
        self
    }

    /// How long a keyed circuit may go without a call before it is evicted (default 10
    /// minutes), so that keys that come and go (webhook receivers, tenants, hosts from user
    /// input) never pin [`max_keyed_circuits`](FuseboxBuilder::max_keyed_circuits).
    ///
    /// Only a circuit that is `closed`, that nobody holds and that has no call in flight is
    /// evicted; see [`Fusebox::keyed_circuit`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox::Fusebox;
    /// use fusebox_core::ManualClock;
    ///
    /// let clock = ManualClock::new();
    /// let fusebox = Fusebox::builder()
    ///     .keyed_idle_timeout(Duration::from_secs(60))
    ///     .clock(clock.clone())
    ///     .build()?;
    /// let first = fusebox.keyed_circuit("tenant-a");
    /// drop(first);
    /// assert!(fusebox.get("tenant-a").is_some());
    ///
    /// clock.advance(Duration::from_secs(60));
    /// fusebox.keyed_circuit("tenant-b"); // a new key: the registry sweeps
    /// assert!(fusebox.get("tenant-a").is_none());
    /// # Ok::<(), fusebox::BuildError>(())
    /// ```
    pub fn keyed_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Builds the registry and starts the listeners' worker tasks.
    ///
    /// # Errors
    /// With listeners, this must run inside a tokio runtime; a queue capacity of 0, or above
    /// `tokio::sync::Semaphore::MAX_PERMITS`, is [`BuildError`] naming `queue_capacity`.
    pub fn build(self) -> Result<Fusebox, BuildError> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
        let fusebox = Fusebox {
            inner: Arc::new(Inner {
                history: History::new(clock.clone()),
                policy_use: PolicyUse::new(self.policies.keys()),
                default_policy: self.default_policy,
                policies: self.policies,
                circuits: ArcSwap::from_pointee(Circuits::default()),
                keyed: Mutex::default(),
                keyed_count: AtomicUsize::new(0),
                next_sweep: AtomicU64::new(0),
                listeners: self.listeners.build()?,
                clock,
                max_keyed: self.max_keyed,
                idle_timeout: self.idle_timeout,
                overflow_warned: AtomicBool::new(false),
                fleet: self.fleet,
                #[cfg(feature = "alerts")]
                alerts: crate::alerts::Attached::new(self.alert_policies),
            }),
        };
        if let Some(fleet) = &fusebox.inner.fleet.fleet {
            fleet.attach(fusebox.downgrade());
        }
        Ok(fusebox)
    }
}

impl fmt::Debug for FuseboxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FuseboxBuilder")
            .field("default_policy", &self.default_policy)
            .field("policies", &self.policies)
            .field("listeners", &self.listeners)
            .field("max_keyed_circuits", &self.max_keyed)
            .field("keyed_idle_timeout", &self.idle_timeout)
            .field("fleet", &self.fleet)
            .finish_non_exhaustive()
    }
}

/// A manual command named a circuit the registry does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCircuit {
    name: String,
}

impl UnknownCircuit {
    pub(crate) fn new(name: &str) -> UnknownCircuit {
        UnknownCircuit {
            name: name.to_owned(),
        }
    }

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
    /// A builder with the default policy, no listeners, and at most 1,000 keyed circuits,
    /// each evicted after 10 idle minutes.
    pub fn builder() -> FuseboxBuilder {
        FuseboxBuilder {
            default_policy: Policy::default(),
            policies: HashMap::new(),
            listeners: ListenerStack::builder(),
            clock: None,
            max_keyed: 1_000,
            idle_timeout: Duration::from_secs(600),
            fleet: Membership::default(),
            #[cfg(feature = "alerts")]
            alert_policies: Vec::new(),
        }
    }

    /// The circuit named `name`, created with its policy (or the default) on first use.
    ///
    /// Circuits created this way are never evicted. A circuit keyed routing created stays a
    /// keyed circuit when asked for by name: the handle keeps it, as
    /// [`Fusebox::keyed_circuit`] says.
    pub fn circuit(&self, name: &str) -> Circuit {
        if let Some(circuit) = self.held(name) {
            return circuit;
        }
        let keyed = self.lock();
        match self.listed(name) {
            Some(circuit) => circuit,
            None => self.insert(&keyed, name),
        }
    }

    /// The circuit for a routing key: like [`Fusebox::circuit`], but counted against
    /// [`FuseboxBuilder::max_keyed_circuits`]; while that many keyed circuits exist, the
    /// [`OVERFLOW_CIRCUIT`].
    ///
    /// A keyed circuit is evicted once it is `closed` and has had no call for
    /// [`keyed_idle_timeout`](FuseboxBuilder::keyed_idle_timeout), but never while anyone
    /// holds a handle to it or a call through it is in flight: the handle this returns keeps
    /// the circuit registered for as long as you keep it. Once every handle is dropped and the
    /// key stays idle, the circuit goes, with its window and counts; the next call for the key
    /// gets a fresh `closed` circuit with the registry's policy for that name. Sweeps run
    /// lazily, when a key without a circuit comes in, at most four times per idle timeout.
    ///
    /// ```
    /// use fusebox::{Fusebox, OVERFLOW_CIRCUIT};
    ///
    /// let fusebox = Fusebox::builder().max_keyed_circuits(1).build()?;
    /// let host = fusebox.keyed_circuit("api.example.com");
    /// assert_eq!(&**host.name(), "api.example.com");
    /// assert!(host.ptr_eq(&fusebox.keyed_circuit("api.example.com")));
    /// // The bound is reached and nothing is idle yet: another key shares the overflow circuit.
    /// assert_eq!(&**fusebox.keyed_circuit("cdn.example.com").name(), OVERFLOW_CIRCUIT);
    /// # Ok::<(), fusebox::BuildError>(())
    /// ```
    pub fn keyed_circuit(&self, key: &str) -> Circuit {
        match self.held(key) {
            Some(circuit) => circuit,
            None => self.keyed_miss(key),
        }
    }

    /// [`Fusebox::keyed_circuit`] for a handle used for one call and dropped: one lookup,
    /// without the second one that makes a kept handle safe from a concurrent eviction. In
    /// the rare race it loses, the call is recorded on a circuit just evicted.
    pub(crate) fn keyed_circuit_for_call(&self, key: &str) -> Circuit {
        match self.listed(key) {
            Some(circuit) => circuit,
            None => self.keyed_miss(key),
        }
    }

    /// Acquires from the keyed circuit `key` for one call without taking a handle of it: on a
    /// hit, the admission's own reference is the only count written.
    pub(crate) fn keyed_acquire_for_call(&self, key: &str) -> Result<OwnedAdmission, Rejected> {
        if let Some(circuit) = self.inner.circuits.load().get(key) {
            return circuit.try_acquire_owned();
        }
        self.keyed_miss(key).try_acquire_owned()
    }

    /// The circuit named `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Circuit> {
        self.held(name).or_else(|| {
            let _keyed = self.lock();
            self.listed(name)
        })
    }

    /// A new handle of `name`'s circuit from the current map: no lock, no allocation.
    fn listed(&self, name: &str) -> Option<Circuit> {
        self.inner
            .circuits
            .load()
            .get(name)
            .map(|circuit| Circuit::clone(circuit))
    }

    /// [`Fusebox::listed`] for a caller that may keep the handle: `None` if a sweep evicted
    /// the circuit meanwhile, and then the caller asks again under the lock.
    fn held(&self, name: &str) -> Option<Circuit> {
        let circuit = self.listed(name)?;
        // Pairs with the fence in `sweep`: either the sweep sees this handle and keeps the
        // circuit, or the second lookup sees the map without it.
        fence(Ordering::SeqCst);
        let kept = self
            .inner
            .circuits
            .load()
            .get(name)
            .is_some_and(|listed| listed.ptr_eq(&circuit));
        kept.then_some(circuit)
    }

    /// A key without a circuit: its new circuit, or the overflow circuit at the bound.
    fn keyed_miss(&self, key: &str) -> Circuit {
        self.keyed_insert(key, None::<fn() -> Policy>)
            .unwrap_or_else(|| self.overflow())
    }

    /// A key without a circuit: its new circuit, with `policy()` or else the registry's policy
    /// for the name; `None` at the bound.
    fn keyed_insert(&self, key: &str, policy: Option<impl FnOnce() -> Policy>) -> Option<Circuit> {
        let inner = &*self.inner;
        if inner.keyed_count.load(Ordering::Acquire) >= inner.max_keyed
            && nanos(inner.clock.now()) < inner.next_sweep.load(Ordering::Acquire)
        {
            return None;
        }
        let mut keyed = self.lock();
        if let Some(circuit) = self.listed(key) {
            return Some(circuit); // created by another caller meanwhile
        }
        let now = inner.clock.now();
        if nanos(now) >= inner.next_sweep.load(Ordering::Acquire) {
            self.sweep(&mut keyed, now);
        }
        if keyed.seen.len() >= inner.max_keyed {
            return None;
        }
        let circuit = match policy {
            Some(policy) => self.insert_with(&keyed, key, policy()),
            None => self.insert(&keyed, key),
        };
        keyed
            .seen
            .insert(circuit.name().clone(), Seen::created(now));
        inner.keyed_count.store(keyed.seen.len(), Ordering::Release);
        Some(circuit)
    }

    /// [`Fusebox::keyed_circuit`] for a circuit of its own policy (one fingerprint of logged
    /// errors): `policy` is asked for only if the circuit is created; `None` at the bound,
    /// where the caller decides what to share instead of the [`OVERFLOW_CIRCUIT`].
    #[cfg(feature = "alerts")]
    pub(crate) fn keyed_circuit_with(
        &self,
        key: &str,
        policy: impl FnOnce() -> Policy,
    ) -> Option<Circuit> {
        match self.held(key) {
            Some(circuit) => Some(circuit),
            None => self.keyed_insert(key, Some(policy)),
        }
    }

    /// [`Fusebox::circuit`] with `policy` if the circuit is created.
    #[cfg(feature = "alerts")]
    pub(crate) fn circuit_with(&self, name: &str, policy: Policy) -> Circuit {
        if let Some(circuit) = self.held(name) {
            return circuit;
        }
        let keyed = self.lock();
        match self.listed(name) {
            Some(circuit) => circuit,
            None => self.insert_with(&keyed, name, policy),
        }
    }

    /// The registry's clock, idle timeout and what the error-burst layers share with it.
    #[cfg(feature = "alerts")]
    pub(crate) fn alerts_context(&self) -> (Arc<dyn Clock>, Duration, &crate::alerts::Attached) {
        let inner = &*self.inner;
        (inner.clock.clone(), inner.idle_timeout, &inner.alerts)
    }

    fn overflow(&self) -> Circuit {
        let warned = &self.inner.overflow_warned;
        if !warned.load(Ordering::Relaxed) && !warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "fusebox",
                max_keyed_circuits = self.inner.max_keyed,
                overflow_circuit = OVERFLOW_CIRCUIT,
                "keyed routing reached its bound of {} circuits; new keys now share the circuit '{}' until idle keyed circuits are evicted (raise `max_keyed_circuits` if these keys are legitimate)",
                self.inner.max_keyed,
                OVERFLOW_CIRCUIT,
            );
        }
        self.circuit(OVERFLOW_CIRCUIT)
    }

    /// Evicts the keyed circuits that are closed, unused and idle for the idle timeout, and
    /// notes the call counts of the others.
    fn sweep(&self, keyed: &mut KeyedCircuits, now: Duration) {
        let inner = &*self.inner;
        let interval = inner.idle_timeout / SWEEPS_PER_IDLE_TIMEOUT;
        inner
            .next_sweep
            .store(nanos(now.saturating_add(interval)), Ordering::Release);
        let circuits = inner.circuits.load_full();
        let mut evicted: Vec<(Arc<str>, Arc<Circuit>)> = Vec::new();
        keyed.seen.retain(|name, seen| {
            let Some(circuit) = circuits.get(name) else {
                return false;
            };
            seen.observe(total(circuit.snapshot().calls), now);
            let idle = now.saturating_sub(seen.since) >= inner.idle_timeout
                && circuit.state() == State::Closed
                && !circuit.is_shared();
            if idle {
                evicted.push((name.clone(), Arc::clone(circuit)));
            }
            !idle
        });
        if !evicted.is_empty() {
            self.replace(|next| {
                for (name, _) in &evicted {
                    next.remove(name);
                }
            });
            // Pairs with the fence in `held`: a handle taken from the old map before this
            // point shows below; one taken after it finds the circuit gone.
            fence(Ordering::SeqCst);
            evicted.retain(|(_, circuit)| circuit.is_shared());
            if !evicted.is_empty() {
                // Taken by a lookup between the check and the eviction: in use after all.
                for (name, circuit) in &evicted {
                    let calls = total(circuit.snapshot().calls);
                    keyed.seen.insert(name.clone(), Seen::new(calls, now));
                }
                self.replace(|next| next.extend(evicted));
            }
        }
        inner.keyed_count.store(keyed.seen.len(), Ordering::Release);
    }

    /// Creates the circuit `name`, which the map does not have yet; `_keyed` is the lock that
    /// serialises changes of the map.
    fn insert(&self, keyed: &KeyedCircuits, name: &str) -> Circuit {
        let inner = &self.inner;
        let policy = inner
            .policies
            .get(name)
            .unwrap_or(&inner.default_policy)
            .clone();
        self.insert_with(keyed, name, policy)
    }

    /// [`Fusebox::insert`] with `policy`.
    fn insert_with(&self, _keyed: &KeyedCircuits, name: &str, policy: Policy) -> Circuit {
        let inner = &self.inner;
        inner.policy_use.mark(name);
        let history = inner.history.clone();
        let to_fleet_and_listeners = inner.fleet.sink(name, inner.listeners.clone());
        let circuit = Circuit::builder(name)
            .policy(policy)
            .on_signal(move |signal| {
                history.record(&signal);
                to_fleet_and_listeners(signal);
            })
            .shared_clock(inner.clock.clone())
            .build();
        // Before the circuit is reachable: no call runs against a state the fleet overrides.
        inner.fleet.adopt(&circuit);
        let handle = Arc::new(circuit.clone());
        self.replace(|next| {
            next.insert(circuit.name().clone(), handle);
        });
        circuit
    }

    /// Installs a changed copy of the map; callers hold the lock.
    fn replace(&self, change: impl FnOnce(&mut Circuits)) {
        let mut next = Circuits::clone(&self.inner.circuits.load());
        change(&mut next);
        self.inner.circuits.store(Arc::new(next));
    }

    fn lock(&self) -> MutexGuard<'_, KeyedCircuits> {
        self.inner
            .keyed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every circuit as it is now, sorted by name. Also samples their failure rates for
    /// [`Fusebox::failure_rates`].
    pub fn snapshot(&self) -> Vec<Snapshot> {
        let circuits = self.inner.circuits.load_full();
        let mut snapshots: Vec<Snapshot> = circuits.values().map(|c| c.snapshot()).collect();
        snapshots.sort_by(|a, b| a.name.cmp(&b.name));
        self.inner.history.sample_all(&snapshots);
        snapshots
    }

    /// See [`crate::history`].
    pub(crate) fn history_store(&self) -> &History {
        &self.inner.history
    }

    /// See [`crate::unused`].
    pub(crate) fn policy_use(&self) -> &PolicyUse {
        &self.inner.policy_use
    }

    fn local_command(&self, name: &str, to: State) -> Result<bool, CommandError> {
        let circuit = self.get(name).ok_or_else(|| UnknownCircuit::new(name))?;
        self.inner.fleet.allow_local(name)?;
        Ok(circuit.transition_to(to))
    }

    /// Moves the circuit named `name` to `closed`; `Ok(false)` if it already was (its window
    /// is cleared). For this process only: see [`Fusebox::command`] for the fleet.
    ///
    /// # Errors
    /// [`CommandError::Unknown`] if no circuit has that name; [`CommandError::Overridden`]
    /// while a fleet-wide override stands on it.
    pub fn reset(&self, name: &str) -> Result<bool, CommandError> {
        self.local_command(name, State::Closed)
    }

    /// Moves the circuit named `name` to `forced_open`, in this process.
    ///
    /// # Errors
    /// Like [`Fusebox::reset`].
    pub fn force_open(&self, name: &str) -> Result<bool, CommandError> {
        self.local_command(name, State::ForcedOpen)
    }

    /// Moves the circuit named `name` to `disabled`, in this process.
    ///
    /// # Errors
    /// Like [`Fusebox::reset`].
    pub fn disable(&self, name: &str) -> Result<bool, CommandError> {
        self.local_command(name, State::Disabled)
    }

    /// Moves the circuit named `name` to `metrics_only`, in this process.
    ///
    /// # Errors
    /// Like [`Fusebox::reset`].
    pub fn metrics_only(&self, name: &str) -> Result<bool, CommandError> {
        self.local_command(name, State::MetricsOnly)
    }

    /// A manual command into `to` (`closed` is `reset`, `forced_open` is `force_open`, ...)
    /// for this process ([`Scope::Local`]) or for every replica sharing the registry's
    /// [fleet](FuseboxBuilder::fleet) ([`Scope::Fleet`]); returns whether this process's
    /// circuit changed state.
    ///
    /// A fleet-wide command other than `reset` stands as an [`Override`] until a fleet-wide
    /// `reset`: replicas started later adopt it, and local commands on the circuit are
    /// refused meanwhile. It resolves once the fleet's store took it.
    ///
    /// ```
    /// use fusebox::{Fusebox, Scope, State};
    /// use fusebox::fleet::CommandError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fusebox = Fusebox::builder().build()?;
    /// fusebox.circuit("payments");
    /// assert!(fusebox.command("payments", State::ForcedOpen, Scope::Local).await?);
    /// // Without a fleet there is no fleet scope.
    /// let error = fusebox.command("payments", State::Closed, Scope::Fleet).await.unwrap_err();
    /// assert!(matches!(error, CommandError::Unsupported { .. }));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`CommandError::Unknown`] if no circuit has that name here;
    /// [`CommandError::Overridden`] for a local command under a fleet-wide override;
    /// [`CommandError::Unsupported`] for the fleet scope without a fleet, or into `open` or
    /// `half_open`; [`CommandError::Fleet`] when the store did not take it.
    pub async fn command(&self, name: &str, to: State, scope: Scope) -> Result<bool, CommandError> {
        match scope {
            Scope::Local => self.local_command(name, to),
            Scope::Fleet => self.inner.fleet.command(self, name, to).await,
            _ => Err(CommandError::Unsupported { scope, to }),
        }
    }

    /// The fleet-wide override standing on the circuit named `name`, if any.
    pub fn fleet_override(&self, name: &str) -> Option<Override> {
        self.inner.fleet.override_of(name)
    }

    /// Whether the circuit named `name` shares its trips with the fleet
    /// ([`FuseboxBuilder::share_trips`]); it need not exist yet.
    pub fn shares_trips(&self, name: &str) -> bool {
        self.inner.fleet.sharing.shares(name)
    }

    /// A handle that does not keep the registry alive: for a [`Fleet`]'s background work.
    pub fn downgrade(&self) -> WeakFusebox {
        WeakFusebox {
            inner: Arc::downgrade(&self.inner),
        }
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

/// A [`Fusebox`] that may have been dropped: see [`Fusebox::downgrade`].
#[derive(Clone)]
pub struct WeakFusebox {
    inner: Weak<Inner>,
}

impl WeakFusebox {
    /// The registry, unless every [`Fusebox`] handle of it is gone.
    pub fn upgrade(&self) -> Option<Fusebox> {
        self.inner.upgrade().map(|inner| Fusebox { inner })
    }
}

impl fmt::Debug for WeakFusebox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakFusebox")
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}

impl fmt::Debug for Fusebox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fusebox")
            .field("circuits", &self.inner.circuits.load().len())
            .field("keyed", &self.inner.keyed_count.load(Ordering::Acquire))
            .field("max_keyed_circuits", &self.inner.max_keyed)
            .field("keyed_idle_timeout", &self.inner.idle_timeout)
            .field("listeners", &self.inner.listeners)
            .finish_non_exhaustive()
    }
}
