//! [`Circuit`]: the state machine, shared by `Arc` and safe to call from many threads.
//!
//! A call is two-phase, like a tower call: [`Circuit::try_acquire`] decides whether it may run
//! and returns an [`Admission`]; [`Admission::finish`] records its outcome, evaluates the trip
//! rule and transitions if needed. Dropping an admission without finishing it counts the call
//! as ignored and frees a half-open probe slot it held.
//!
//! | file | what lives there |
//! |---|---|
//! | `mod.rs` | the public handle, its builder, snapshots and manual commands |
//! | `period.rs` | the state of one stay in a state, and transitions between stays |
//! | `admission.rs` | deciding a call ([`Circuit::try_acquire`]) and finishing it |
//! | `stripes.rs` | per-core counts of every call |
//!
//! The hot paths (a call in `closed`, a rejection in `open`) take no lock and allocate nothing:
//! one load of the state word decides, the window records lock-free (see `crate::window`), and
//! the call is counted on the caller's core. Transitions take one lock and emit exactly one
//! signal each, in order, to the `on_signal` sink given to [`CircuitBuilder`].

mod admission;
mod call;
mod period;
mod rejected;
mod stripes;

use std::fmt;
use std::time::{Duration, SystemTime};

pub use admission::{Admission, OwnedAdmission};
pub use call::{CallError, CallFuture};
pub(crate) use period::Core;
pub use rejected::Rejected;
use stripes::{FAILURE, IGNORED, REJECTED, SUCCESS, Stripe, stripe_count};

use crate::sync::Arc;
use crate::{Cause, Clock, Details, Metrics, Policy, Signal, State, SystemClock};

type Sink = std::sync::Arc<dyn Fn(Signal) + Send + Sync>;

/// A named circuit breaker.
///
/// Cheap to clone: clones share one state.
///
/// ```
/// use fusebox_core::{Circuit, Outcome, Policy, Retry, State};
/// use fusebox_core::trip::failure_streak;
///
/// let policy = Policy::builder()
///     .trip(failure_streak(2))
///     .retry(Retry::never())
///     .build()?;
/// let circuit = Circuit::new("payments", policy);
///
/// for _ in 0..2 {
///     let admission = circuit.try_acquire().expect("closed circuits admit every call");
///     admission.finish(Outcome::Failure);
/// }
/// assert_eq!(circuit.state(), State::Open);
/// let rejected = circuit.try_acquire().unwrap_err();
/// assert_eq!(rejected.state(), State::Open);
/// # Ok::<(), fusebox_core::PolicyError>(())
/// ```
#[derive(Clone)]
pub struct Circuit {
    handle: Arc<Handle>,
}

/// What a [`Circuit`] handle points to: the circuit and one [`Stripe`] per core.
struct Handle {
    core: Arc<Core>,
    /// A power-of-two count, so that a thread's stripe is a mask of its hint.
    stripes: Box<[Arc<Stripe>]>,
}

/// Calls a circuit has handled since it was created, by outcome: see [`Snapshot::calls`].
///
/// Every admitted or rejected call is counted exactly once: admitted calls under the outcome
/// they finished with (also in `disabled`, and also when the outcome arrived after the period
/// that admitted it ended), calls dropped before they finished as `ignored`, and rejections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CallCounts {
    /// Calls that finished as successes.
    pub success: u64,
    /// Calls that finished as failures.
    pub failure: u64,
    /// Calls classified as ignored, or dropped before they finished.
    pub ignored: u64,
    /// Calls the circuit rejected.
    pub rejected: u64,
}

impl CallCounts {
    /// The count for an outcome label: `success`, `failure`, `ignored` or `rejected`, in
    /// that order, as metric labels name them.
    pub fn by_outcome(&self) -> [(&'static str, u64); 4] {
        [
            ("success", self.success),
            ("failure", self.failure),
            ("ignored", self.ignored),
            ("rejected", self.rejected),
        ]
    }

    /// Every call counted, whatever its outcome.
    pub fn total(&self) -> u64 {
        self.success
            .saturating_add(self.failure)
            .saturating_add(self.ignored)
            .saturating_add(self.rejected)
    }
}

/// Builds a [`Circuit`] with a clock, a signal sink or a random seed of your choosing.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use fusebox_core::{Cause, Circuit, ManualClock, Policy, State};
///
/// let signals = Arc::new(Mutex::new(Vec::new()));
/// let sink = signals.clone();
/// let circuit = Circuit::builder("search")
///     .policy(Policy::default())
///     .clock(ManualClock::new())
///     .on_signal(move |signal| sink.lock().unwrap().push(signal))
///     .build();
/// circuit.force_open();
///
/// let signals = signals.lock().unwrap();
/// assert_eq!(signals[0].cause, Cause::Registered);
/// assert_eq!((signals[1].from, signals[1].to), (State::Closed, State::ForcedOpen));
/// ```
#[must_use]
pub struct CircuitBuilder {
    name: std::sync::Arc<str>,
    policy: Policy,
    clock: Option<std::sync::Arc<dyn Clock>>,
    /// The clock, when it is the system clock: read without a virtual call.
    system: Option<SystemClock>,
    sink: Option<Sink>,
    seed: Option<u64>,
    initial: State,
}

impl CircuitBuilder {
    /// The policy (default: [`Policy::default`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The time source (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.system = (&clock as &dyn std::any::Any)
            .downcast_ref::<SystemClock>()
            .cloned();
        self.clock = Some(std::sync::Arc::new(clock));
        self
    }

    /// A shared time source.
    pub fn shared_clock(mut self, clock: std::sync::Arc<dyn Clock>) -> Self {
        self.system = None;
        self.clock = Some(clock);
        self
    }

    /// Where signals go: called once per transition, in order, with the circuit's transition
    /// lock held. It must return quickly and must not call back into this circuit; hand the
    /// signal to a queue. A panic in it is caught and the signal dropped.
    ///
    /// The sink first receives a `registered` signal when the circuit is built.
    pub fn on_signal(mut self, sink: impl Fn(Signal) + Send + Sync + 'static) -> Self {
        self.sink = Some(std::sync::Arc::new(sink));
        self
    }

    /// Seeds the random source of permits and jitter, for reproducible tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The state the circuit starts in (default `closed`); `open` and `half_open` start as
    /// if the circuit had just transitioned there.
    pub fn initial_state(mut self, state: State) -> Self {
        self.initial = state;
        self
    }

    /// Builds the circuit and sends its `registered` signal.
    pub fn build(self) -> Circuit {
        let (clock, system) = match self.clock {
            Some(clock) => (clock, self.system),
            None => {
                let system = SystemClock::new();
                let clock = std::sync::Arc::new(system.clone()) as std::sync::Arc<dyn Clock>;
                (clock, Some(system))
            }
        };
        let stripes = stripe_count();
        let core = Arc::new(Core::new(
            self.name.clone(),
            self.policy,
            (clock, system),
            self.sink,
            self.seed,
            self.initial,
            stripes,
        ));
        let handle = Handle {
            stripes: (0..stripes)
                .map(|index| Arc::new(Stripe::new(core.clone(), &self.name, index)))
                .collect(),
            core,
        };
        handle.core.register();
        Circuit {
            handle: Arc::new(handle),
        }
    }
}

impl fmt::Debug for CircuitBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBuilder")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("clock", &self.clock)
            .field("on_signal", &self.sink.is_some())
            .field("seed", &self.seed)
            .field("initial", &self.initial)
            .finish()
    }
}

impl Circuit {
    /// A closed circuit on the system clock.
    pub fn new(name: impl Into<std::sync::Arc<str>>, policy: Policy) -> Circuit {
        Circuit::builder(name).policy(policy).build()
    }

    /// A builder for a circuit named `name`.
    pub fn builder(name: impl Into<std::sync::Arc<str>>) -> CircuitBuilder {
        CircuitBuilder {
            name: name.into(),
            policy: Policy::default(),
            clock: None,
            system: None,
            sink: None,
            seed: None,
            initial: State::Closed,
        }
    }

    fn core(&self) -> &Core {
        &self.handle.core
    }

    /// The stripe of the calling thread.
    #[inline]
    fn stripe(&self) -> &Arc<Stripe> {
        let stripes = &self.handle.stripes;
        &stripes[crate::sync::stripe_hint() & stripes.len().saturating_sub(1)]
    }

    /// The circuit's name.
    pub fn name(&self) -> &std::sync::Arc<str> {
        self.core().name()
    }

    /// The circuit's policy.
    pub fn policy(&self) -> &Policy {
        self.core().policy()
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.core().state()
    }

    /// Whether `self` and `other` are handles to the same circuit.
    pub fn ptr_eq(&self, other: &Circuit) -> bool {
        Arc::ptr_eq(&self.handle, &other.handle)
    }

    /// Whether anything besides this handle keeps the circuit alive: another [`Circuit`]
    /// handle, or an admission it granted that has not finished yet. A registry uses it to
    /// tell that nobody holds or calls a circuit before evicting it.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.handle) > 1
            || self
                .handle
                .stripes
                .iter()
                .any(|stripe| Arc::strong_count(stripe) > 1)
    }

    /// Decides whether a call may run now.
    ///
    /// In `closed`, `metrics_only` and `disabled` every call is admitted. In `open`, calls are
    /// rejected until the retry policy allows a probe; the call that finds it allowed moves the
    /// circuit to `half_open` and is decided as a half-open call. In `half_open`, a call is
    /// admitted as a probe if the permit policy draws it and fewer than
    /// `max_concurrent_probes` probes are in flight; otherwise it is rejected at once. In
    /// `forced_open` every call is rejected.
    ///
    /// The admission borrows the circuit; [`Circuit::try_acquire_owned`] makes one that owns
    /// its share, for futures.
    ///
    /// # Errors
    /// [`Rejected`] when the call must not run.
    #[inline]
    pub fn try_acquire(&self) -> Result<Admission<'_>, Rejected> {
        let stripe = self.stripe();
        let grant = stripe.core.acquire(stripe)?;
        Ok(Admission::new(stripe, grant))
    }

    /// Like [`Circuit::try_acquire`], for calls that outlive the borrow (a tower response
    /// future): the admission owns a reference to the caller's core's share of the circuit.
    ///
    /// # Errors
    /// [`Rejected`] when the call must not run.
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedAdmission, Rejected> {
        let stripe = self.stripe();
        stripe.claim();
        let grant = stripe.core.acquire(stripe)?;
        Ok(OwnedAdmission::new(stripe.clone(), grant))
    }

    /// Manual command: moves to `closed` (from any state).
    ///
    /// Returns whether the state changed; a command into the current state only clears the
    /// window and sends no signal.
    pub fn reset(&self) -> bool {
        self.core().manual(State::Closed)
    }

    /// Manual command: moves to `forced_open`, rejecting every call until the next command.
    pub fn force_open(&self) -> bool {
        self.core().manual(State::ForcedOpen)
    }

    /// Manual command: moves to `disabled`, admitting every call and recording nothing.
    pub fn disable(&self) -> bool {
        self.core().manual(State::Disabled)
    }

    /// Manual command: moves to `metrics_only`, admitting and recording every call without
    /// ever tripping.
    pub fn metrics_only(&self) -> bool {
        self.core().manual(State::MetricsOnly)
    }

    /// Manual command into any state: `closed`, `forced_open`, `disabled` or `metrics_only`
    /// like the named commands; `open` and `half_open` as if the circuit had tripped or been
    /// probed (used by operators to test alerting).
    pub fn transition_to(&self, state: State) -> bool {
        self.core().manual(state)
    }

    /// Moves the circuit as `command` says, with its cause and origin in the signal; returns
    /// whether the state changed. Into the state the circuit is in, nothing changes but, for
    /// `open` with [`Command::probe_after`], the probe deadline; no signal is sent.
    pub fn apply(&self, command: Command) -> bool {
        self.core().command(command)
    }

    /// Sets what this circuit's signals say about it from now on (see [`Details`]).
    ///
    /// ```
    /// use fusebox_core::Circuit;
    ///
    /// let circuit = Circuit::new("error:orders", Default::default());
    /// circuit.set_details(vec![("fingerprint".to_owned(), "order {n} failed".to_owned())]);
    /// assert_eq!(circuit.details()[0].1, "order {n} failed");
    /// ```
    pub fn set_details(&self, details: impl Into<Details>) {
        self.core().set_details(details.into());
    }

    /// What this circuit's signals say about it.
    pub fn details(&self) -> Details {
        self.core().lock().details.clone()
    }

    /// Calls counted so far, added up over the cores.
    fn calls(&self) -> CallCounts {
        let mut calls = CallCounts::default();
        for stripe in &*self.handle.stripes {
            calls.success = calls.success.wrapping_add(stripe.counted(SUCCESS));
            calls.failure = calls.failure.wrapping_add(stripe.counted(FAILURE));
            calls.ignored = calls.ignored.wrapping_add(stripe.counted(IGNORED));
            calls.rejected = calls.rejected.wrapping_add(stripe.counted(REJECTED));
        }
        // The closed fast path's successes are counted by the window that recorded them.
        calls.success = calls.success.wrapping_add(self.core().recorder.successes());
        calls
    }

    /// What the circuit looks like now.
    pub fn snapshot(&self) -> Snapshot {
        let period = self.core().describe();
        Snapshot {
            name: self.name().clone(),
            state: period.state,
            generation: period.generation,
            since: period.since,
            time_in_state: period.time_in_state,
            reopens: period.reopens,
            metrics: period.metrics,
            retry_after: period.retry_after,
            probes_in_flight: period.probes_in_flight,
            calls: self.calls(),
        }
    }
}

impl fmt::Debug for Circuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Circuit")
            .field("name", self.name())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Bytes one circuit of `policy` takes on this machine, allocations included, name excluded:
/// the handle, one stripe per core, the state, the window and a system clock.
pub(crate) fn bytes(policy: &Policy) -> usize {
    use std::mem::{align_of, size_of};
    // An `Arc` allocation: two counts, then the value at its alignment.
    fn arc<T>() -> usize {
        size_of::<[usize; 2]>()
            .next_multiple_of(align_of::<T>())
            .saturating_add(size_of::<T>())
    }
    let stripes = stripe_count();
    let recorder = crate::window::Recorder::bytes(
        policy.window(),
        policy.slow_thresholds().len(),
        policy.measures_latency(),
        stripes,
    );
    arc::<Handle>()
        .saturating_add(
            stripes.saturating_mul(size_of::<Arc<Stripe>>().saturating_add(arc::<Stripe>())),
        )
        .saturating_add(arc::<Core>())
        .saturating_add(arc::<SystemClock>())
        .saturating_add(recorder.saturating_sub(size_of::<crate::window::Recorder>()))
}

/// A transition ordered from outside a circuit's own rules and manual commands: by an
/// integration that shares state across the replicas of a service, for instance. See
/// [`Circuit::apply`].
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::{Cause, Circuit, Command, ManualClock, State};
///
/// let circuit = Circuit::builder("search").clock(ManualClock::new()).build();
/// // Replica "b" tripped: open here too, until the probe deadline the fleet shares.
/// let opened = circuit.apply(
///     Command::new(State::Open, Cause::Fleet)
///         .origin("b")
///         .probe_after(Duration::from_secs(20)),
/// );
/// assert!(opened);
/// let rejected = circuit.try_acquire().unwrap_err();
/// assert_eq!(rejected.retry_after(), Some(Duration::from_secs(20)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Command {
    /// The state to move to.
    pub to: State,
    /// Why, as the signal will say.
    pub cause: Cause,
    /// The replica the command comes from, if not this process.
    pub origin: Option<std::sync::Arc<str>>,
    /// Into `open`: how long until a probe is allowed (`Duration::MAX`: not until the next
    /// command); `None` takes the retry policy's wait, as a trip would.
    pub probe_after: Option<Duration>,
}

impl Command {
    /// A command into `to` for `cause`.
    pub fn new(to: State, cause: Cause) -> Command {
        Command {
            to,
            cause,
            origin: None,
            probe_after: None,
        }
    }

    /// Comes from the replica `origin`.
    #[must_use]
    pub fn origin(mut self, origin: impl Into<std::sync::Arc<str>>) -> Command {
        self.origin = Some(origin.into());
        self
    }

    /// Into `open`: allows a probe after `wait`.
    #[must_use]
    pub fn probe_after(mut self, wait: Duration) -> Command {
        self.probe_after = Some(wait);
        self
    }
}

/// A circuit at one moment: see [`Circuit::snapshot`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The circuit's name.
    pub name: std::sync::Arc<str>,
    /// Its state.
    pub state: State,
    /// Bumped on every transition and window clear.
    pub generation: u64,
    /// Wall-clock time it entered the state.
    pub since: SystemTime,
    /// How long it has been in the state.
    pub time_in_state: Duration,
    /// half_open → open transitions since it was last closed.
    pub reopens: u32,
    /// The window's metrics.
    pub metrics: Metrics,
    /// In `open`, time left until a probe is allowed (zero once allowed); `None` otherwise or
    /// when the retry policy never allows one.
    pub retry_after: Option<Duration>,
    /// Probes running now (`half_open`).
    pub probes_in_flight: u32,
    /// Calls handled since the circuit was created, by outcome.
    pub calls: CallCounts,
}
