//! [`Circuit`]: the state machine, shared by `Arc` and safe to call from many threads.
//!
//! A call is two-phase, like a tower call: [`Circuit::try_acquire`] decides whether it may run
//! and returns an [`Admission`]; [`Admission::finish`] records its outcome, evaluates the trip
//! rule and transitions if needed. Dropping an admission without finishing it records nothing
//! and frees a half-open probe slot it held.
//!
//! Everything that lives for one stay in one state (the window, the failure streak, probe
//! counters, the retry deadline) is a `Period`, replaced as a whole on every transition and
//! tagged with a generation. An outcome finishing after its period was replaced lands nowhere:
//! stale outcomes cannot pollute the next window, without a lock on the recording path.
//!
//! Transitions happen in `try_acquire` (open → half_open, probe timeouts), in `finish` (trips,
//! recoveries) and in manual commands, so signals are not return values: they go to the
//! `on_signal` sink given to [`CircuitBuilder`], called in transition order.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::clock::duration_nanos;
use crate::padded::CachePadded;
use crate::rng::Rng;
use crate::window::Recorder;
use crate::{Cause, Clock, Metrics, Outcome, Policy, Signal, State, SystemClock};

type Sink = Arc<dyn Fn(Signal) + Send + Sync>;

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
    shared: Arc<Shared>,
}

struct Shared {
    name: Arc<str>,
    policy: Policy,
    clock: Arc<dyn Clock>,
    sink: Option<Sink>,
    /// `generation << 3 | state`: the closed-path decision is one atomic load. Padded away
    /// from the `Arc`'s reference count, which every admission writes.
    word: CachePadded<AtomicU64>,
    period: ArcSwap<Period>,
    /// Serialises transitions so that each yields exactly one signal, in order; holds the
    /// call counts of every ended period.
    transitions: Mutex<CallCounts>,
    rng: Rng,
}

/// One stay in one state.
#[derive(Debug)]
struct Period {
    generation: u64,
    state: State,
    entered: Duration,
    entered_wall: SystemTime,
    reopens: u32,
    /// `open` only: when the retry policy allows a probe (`None`: never).
    probe_at: Option<Duration>,
    /// States that record calls have one.
    recorder: Option<Recorder>,
    streak: AtomicU64,
    probes: AtomicU32,
    probe_successes: AtomicU32,
    /// Monotonic nanos of the last probe outcome (or of entering the state).
    last_progress: AtomicU64,
    /// Cumulative counts of this period; successes are derived from the recorder.
    counts: CachePadded<PeriodCounts>,
}

#[derive(Debug, Default)]
struct PeriodCounts {
    failures: AtomicU64,
    ignored: AtomicU64,
    rejected: AtomicU64,
}

impl Period {
    fn metrics(&self, now: Duration) -> Metrics {
        let mut metrics = match &self.recorder {
            Some(recorder) => recorder.metrics(now),
            None => Metrics::default(),
        };
        metrics.consecutive_failures = self.streak.load(Ordering::Acquire);
        metrics
    }

    fn calls(&self) -> CallCounts {
        let failure = self.counts.failures.load(Ordering::Acquire);
        let recorded = self.recorder.as_ref().map_or(0, Recorder::recorded);
        CallCounts {
            success: recorded.saturating_sub(failure),
            failure,
            ignored: self.counts.ignored.load(Ordering::Acquire),
            rejected: self.counts.rejected.load(Ordering::Acquire),
        }
    }
}

/// Calls a circuit has handled since it was created, by outcome: see
/// [`Snapshot::calls`].
///
/// Calls admitted in `disabled` are not counted (nothing is recorded there), nor are outcomes
/// discarded as stale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CallCounts {
    /// Calls recorded as successes.
    pub success: u64,
    /// Calls recorded as failures.
    pub failure: u64,
    /// Calls classified as ignored.
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

    fn add(&mut self, other: CallCounts) {
        self.success += other.success;
        self.failure += other.failure;
        self.ignored += other.ignored;
        self.rejected += other.rejected;
    }
}

const STATE_BITS: u32 = 3;
const STATE_MASK: u64 = (1 << STATE_BITS) - 1;

fn pack(generation: u64, state: State) -> u64 {
    generation << STATE_BITS | state.index()
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
    name: Arc<str>,
    policy: Policy,
    clock: Option<Arc<dyn Clock>>,
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
        self.clock = Some(Arc::new(clock));
        self
    }

    /// A shared time source.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Where signals go: called once per transition, in order, with the circuit's transition
    /// lock held. It must return quickly and must not call back into this circuit; hand the
    /// signal to a queue. A panic in it is caught and the signal dropped.
    ///
    /// The sink first receives a `registered` signal when the circuit is built.
    pub fn on_signal(mut self, sink: impl Fn(Signal) + Send + Sync + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
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
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::new(SystemClock::new()) as Arc<dyn Clock>);
        let now = clock.now();
        let seed = self
            .seed
            .unwrap_or_else(|| Rng::seed_from(&self.name, duration_nanos(now)));
        let rng = Rng::new(seed);
        let probe_at = (self.initial == State::Open)
            .then(|| {
                self.policy
                    .retry()
                    .wait(0, rng.next_f64())
                    .map(|wait| now + wait)
            })
            .flatten();
        let period = new_period(
            &self.policy,
            0,
            self.initial,
            now,
            clock.wall(),
            0,
            probe_at,
        );
        let circuit = Circuit {
            shared: Arc::new(Shared {
                name: self.name,
                word: CachePadded(AtomicU64::new(pack(0, self.initial))),
                period: ArcSwap::from_pointee(period),
                policy: self.policy,
                clock,
                sink: self.sink,
                transitions: Mutex::new(CallCounts::default()),
                rng,
            }),
        };
        let shared = &circuit.shared;
        shared.emit(|| Signal {
            circuit: shared.name.clone(),
            from: self.initial,
            to: self.initial,
            at: shared.clock.wall(),
            cause: Cause::Registered,
            metrics: Metrics::default(),
        });
        circuit
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

fn new_period(
    policy: &Policy,
    generation: u64,
    state: State,
    entered: Duration,
    entered_wall: SystemTime,
    reopens: u32,
    probe_at: Option<Duration>,
) -> Period {
    Period {
        generation,
        state,
        entered,
        entered_wall,
        reopens,
        probe_at,
        recorder: state.records().then(|| {
            Recorder::new(
                policy.window(),
                policy.slow_thresholds(),
                policy.measures_latency(),
                entered,
            )
        }),
        streak: AtomicU64::new(0),
        probes: AtomicU32::new(0),
        probe_successes: AtomicU32::new(0),
        last_progress: AtomicU64::new(duration_nanos(entered)),
        counts: CachePadded::default(),
    }
}

impl Circuit {
    /// A closed circuit on the system clock.
    pub fn new(name: impl Into<Arc<str>>, policy: Policy) -> Circuit {
        Circuit::builder(name).policy(policy).build()
    }

    /// A builder for a circuit named `name`.
    pub fn builder(name: impl Into<Arc<str>>) -> CircuitBuilder {
        CircuitBuilder {
            name: name.into(),
            policy: Policy::default(),
            clock: None,
            sink: None,
            seed: None,
            initial: State::Closed,
        }
    }

    /// The circuit's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// The circuit's policy.
    pub fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    /// The current state.
    pub fn state(&self) -> State {
        State::from_index(self.shared.word.load(Ordering::Acquire) & STATE_MASK)
    }

    /// Whether two handles share one circuit.
    pub fn ptr_eq(&self, other: &Circuit) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Decides whether a call may run now.
    ///
    /// In `open`, once the retry policy allows a probe, this call moves the circuit to
    /// `half_open` and is then handled as a half-open call. In `half_open`, a call runs only if
    /// the permit policy admits it and a probe slot is free; others are rejected at once.
    ///
    /// # Errors
    /// [`Rejected`] with the state that rejected the call and, when known, how long until a
    /// probe is allowed.
    pub fn try_acquire(&self) -> Result<Admission, Rejected> {
        let word = self.shared.word.load(Ordering::Acquire);
        if State::from_index(word & STATE_MASK).admits_all() {
            let start = if self.shared.policy.measures_latency() {
                self.shared.clock.now()
            } else {
                Duration::ZERO
            };
            return Ok(Admission {
                shared: self.shared.clone(),
                generation: word >> STATE_BITS,
                start,
                probe: false,
                settled: false,
            });
        }
        self.acquire_contended()
    }

    /// The path for every state but the three that admit all calls; may transition.
    fn acquire_contended(&self) -> Result<Admission, Rejected> {
        let shared = &self.shared;
        let policy = &shared.policy;
        loop {
            let period = shared.period.load_full();
            let now = shared.clock.now();
            let admit = |probe| Admission {
                shared: shared.clone(),
                generation: period.generation,
                start: now,
                probe,
                settled: false,
            };
            match period.state {
                State::Closed | State::MetricsOnly | State::Disabled => return Ok(admit(false)),
                State::ForcedOpen => return Err(shared.rejected(&period, None)),
                State::Open => match period.probe_at {
                    Some(at) if now >= at => {
                        shared.transition(&period, State::HalfOpen, Cause::Probe);
                    }
                    Some(at) => return Err(shared.rejected(&period, Some(at - now))),
                    None => return Err(shared.rejected(&period, None)),
                },
                State::HalfOpen => {
                    let last = Duration::from_nanos(period.last_progress.load(Ordering::Acquire));
                    if period.probes.load(Ordering::Acquire) > 0
                        && now.saturating_sub(last) >= policy.max_wait()
                    {
                        shared.transition(&period, State::Open, Cause::ProbeTimeout);
                        continue;
                    }
                    let chance = policy
                        .permit()
                        .probability(now.saturating_sub(period.entered));
                    if chance < 1.0 && shared.rng.next_f64() >= chance {
                        return Err(shared.rejected(&period, None));
                    }
                    let limit = policy.max_concurrent_probes();
                    let slot = period.probes.fetch_update(
                        Ordering::AcqRel,
                        Ordering::Acquire,
                        |in_flight| (in_flight < limit).then_some(in_flight + 1),
                    );
                    return match slot {
                        Ok(_) => Ok(admit(true)),
                        Err(_) => Err(shared.rejected(&period, None)),
                    };
                }
            }
        }
    }

    /// Manual command: moves to `closed` (from any state).
    ///
    /// Returns whether the state changed; a command into the current state only clears the
    /// window and sends no signal.
    pub fn reset(&self) -> bool {
        self.shared.manual(State::Closed)
    }

    /// Manual command: moves to `forced_open`, rejecting every call until the next command.
    pub fn force_open(&self) -> bool {
        self.shared.manual(State::ForcedOpen)
    }

    /// Manual command: moves to `disabled`, admitting every call and recording nothing.
    pub fn disable(&self) -> bool {
        self.shared.manual(State::Disabled)
    }

    /// Manual command: moves to `metrics_only`, admitting and recording every call without
    /// ever tripping.
    pub fn metrics_only(&self) -> bool {
        self.shared.manual(State::MetricsOnly)
    }

    /// Manual command into any state: `closed`, `forced_open`, `disabled` or `metrics_only`
    /// like the named commands; `open` and `half_open` as if the circuit had tripped or been
    /// probed (used by operators to test alerting).
    pub fn transition_to(&self, state: State) -> bool {
        self.shared.manual(state)
    }

    /// Whether anything besides this handle keeps the circuit alive: another [`Circuit`]
    /// handle, or an admission it granted that has not finished yet. A registry uses it to
    /// tell that nobody holds or calls a circuit before evicting it.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.shared) > 1
    }

    /// What the circuit looks like now.
    pub fn snapshot(&self) -> Snapshot {
        let shared = &self.shared;
        let period = shared.period.load();
        let now = shared.clock.now();
        Snapshot {
            name: shared.name.clone(),
            state: period.state,
            generation: period.generation,
            since: period.entered_wall,
            time_in_state: now.saturating_sub(period.entered),
            reopens: period.reopens,
            metrics: period.metrics(now),
            retry_after: match period.state {
                State::Open => period.probe_at.map(|at| at.saturating_sub(now)),
                _ => None,
            },
            probes_in_flight: period.probes.load(Ordering::Acquire),
            calls: shared.calls(),
        }
    }
}

impl fmt::Debug for Circuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Circuit")
            .field("name", &self.shared.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn rejected(&self, period: &Period, retry_after: Option<Duration>) -> Rejected {
        period.counts.rejected.fetch_add(1, Ordering::Relaxed);
        let state = period.state;
        Rejected {
            circuit: self.name.clone(),
            state,
            retry_after,
        }
    }

    fn emit(&self, signal: impl FnOnce() -> Signal) {
        if let Some(sink) = &self.sink {
            let signal = signal();
            // A panicking sink must not poison the transition lock or reach the caller.
            let _ = catch_unwind(AssertUnwindSafe(|| sink(signal)));
        }
    }

    fn finish(&self, generation: u64, start: Duration, probe: bool, outcome: Outcome) {
        let period = self.period.load();
        if period.generation != generation {
            return; // stale: admitted in a period that has ended
        }
        // The closed path of a count window that does not measure latency reads no clock.
        // Probes only exist in half_open, which always reads it (last progress, max_wait).
        let needs_now = period.state == State::HalfOpen
            || self.policy.measures_latency()
            || period.recorder.as_ref().is_some_and(Recorder::needs_now);
        let now = if needs_now {
            self.clock.now()
        } else {
            Duration::ZERO
        };
        if probe {
            period.probes.fetch_sub(1, Ordering::AcqRel);
            period
                .last_progress
                .store(duration_nanos(now), Ordering::Release);
        }
        let Some(recorder) = &period.recorder else {
            return;
        };
        let failure = match outcome {
            Outcome::Ignored => {
                period.counts.ignored.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Outcome::Failure => {
                period.counts.failures.fetch_add(1, Ordering::Relaxed);
                true
            }
            Outcome::Success => false,
        };
        let duration = if self.policy.measures_latency() {
            now.saturating_sub(start)
        } else {
            Duration::ZERO
        };
        recorder.record(now, failure, duration);
        if failure {
            period.streak.fetch_add(1, Ordering::AcqRel);
        } else if period.streak.load(Ordering::Acquire) != 0 {
            // Only write when there is a streak to end: in steady success the line stays shared.
            period.streak.store(0, Ordering::Release);
        }
        let rule = self.policy.trip();
        match period.state {
            State::Closed if rule.is_true(State::Closed, &period.metrics(now)) => {
                let rule = self.policy.trip_text().clone();
                self.transition(&period, State::Open, Cause::Tripped { rule });
            }
            State::HalfOpen => {
                let successes = if failure {
                    period.probe_successes.load(Ordering::Acquire)
                } else {
                    period.probe_successes.fetch_add(1, Ordering::AcqRel) + 1
                };
                if rule.is_true(State::HalfOpen, &period.metrics(now)) {
                    let rule = self.policy.trip_text().clone();
                    self.transition(&period, State::Open, Cause::Reopened { rule });
                } else if successes >= self.policy.close_after() {
                    self.transition(&period, State::Closed, Cause::Recovered);
                }
            }
            _ => {}
        }
    }

    fn release(&self, generation: u64) {
        let period = self.period.load();
        if period.generation == generation {
            period.probes.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Moves from `from` to `to` unless another transition already ended `from`.
    fn transition(&self, from: &Period, to: State, cause: Cause) -> bool {
        let mut ended = self
            .transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = self.period.load_full();
        if current.generation != from.generation {
            return false;
        }
        // Read under the lock: transitions are rare, and the caller's hot path may not have
        // read the clock at all.
        let now = self.clock.now();
        self.enter(&mut ended, &current, to, Some(cause), now);
        true
    }

    fn manual(&self, to: State) -> bool {
        let mut ended = self
            .transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = self.period.load_full();
        let now = self.clock.now();
        let changes = current.state != to;
        self.enter(
            &mut ended,
            &current,
            to,
            changes.then_some(Cause::Manual),
            now,
        );
        changes
    }

    /// Calls of every ended period plus the current one, read under the transition lock so
    /// that no period is counted twice or missed.
    fn calls(&self) -> CallCounts {
        let ended = self
            .transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut calls = *ended;
        calls.add(self.period.load().calls());
        calls
    }

    /// Installs the next period. `cause: None` clears the window in place: same state, same
    /// time of entry, no signal.
    fn enter(
        &self,
        ended: &mut CallCounts,
        current: &Period,
        to: State,
        cause: Option<Cause>,
        now: Duration,
    ) {
        ended.add(current.calls());
        let (entered, entered_wall) = match cause {
            Some(_) => (now, self.clock.wall()),
            None => (current.entered, current.entered_wall),
        };
        let reopens = match (current.state, to) {
            (_, State::Closed) => 0,
            (State::HalfOpen, State::Open) => current.reopens.saturating_add(1),
            _ => current.reopens,
        };
        let probe_at = match (to, cause.is_some()) {
            (State::Open, true) => self
                .policy
                .retry()
                .wait(reopens, self.rng.next_f64())
                .map(|wait| now + wait),
            (State::Open, false) => current.probe_at,
            _ => None,
        };
        let generation = current.generation + 1;
        let next = new_period(
            &self.policy,
            generation,
            to,
            entered,
            entered_wall,
            reopens,
            probe_at,
        );
        self.period.store(Arc::new(next));
        self.word.store(pack(generation, to), Ordering::Release);
        if let Some(cause) = cause {
            self.emit(|| Signal {
                circuit: self.name.clone(),
                from: current.state,
                to,
                at: entered_wall,
                cause,
                metrics: current.metrics(now),
            });
        }
    }
}

/// Permission for one call to run; finish it with its outcome.
///
/// Dropping it unfinished (a cancelled call) records nothing and frees a half-open probe slot
/// it held, so a circuit can never be stuck in `half_open`.
#[must_use = "an admission records nothing unless finished"]
pub struct Admission {
    shared: Arc<Shared>,
    generation: u64,
    start: Duration,
    probe: bool,
    settled: bool,
}

impl Admission {
    /// Records the call's outcome with its duration since [`Circuit::try_acquire`], evaluates
    /// the trip rule and transitions if needed. An outcome admitted in a period that has
    /// since ended is discarded.
    pub fn finish(mut self, outcome: Outcome) {
        self.settled = true;
        self.shared
            .finish(self.generation, self.start, self.probe, outcome);
    }

    /// Whether this call holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The generation of the period this call was admitted in.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.settled && self.probe {
            self.shared.release(self.generation);
        }
    }
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission")
            .field("circuit", &self.shared.name)
            .field("generation", &self.generation)
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

/// A call the circuit refused: it never reached the protected service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    circuit: Arc<str>,
    state: State,
    retry_after: Option<Duration>,
}

impl Rejected {
    /// A rejection by `circuit` in `state`.
    pub fn new(circuit: Arc<str>, state: State, retry_after: Option<Duration>) -> Rejected {
        Rejected {
            circuit,
            state,
            retry_after,
        }
    }

    /// The name of the circuit that refused the call.
    pub fn circuit(&self) -> &Arc<str> {
        &self.circuit
    }

    /// The state that refused it: `open`, `half_open` or `forced_open`.
    pub fn state(&self) -> State {
        self.state
    }

    /// How long until the circuit allows a probe, when known (never for `Retry::never()`,
    /// `forced_open` or `half_open`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit '{}' is {} and rejected the call",
            self.circuit,
            self.state.as_str()
        )?;
        if let Some(after) = self.retry_after {
            write!(f, "; retry after {:.3}s", after.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// A circuit at one moment: see [`Circuit::snapshot`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The circuit's name.
    pub name: Arc<str>,
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
