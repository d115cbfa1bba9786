//! [`Core`]: one circuit's state, and the transitions between its periods.
//!
//! A period is one stay in one state. It has a generation, bumped by every transition and
//! every window clear; calls carry the generation they were admitted in, and an outcome
//! arriving after its period ended is recorded in no window (it is still counted). The hot
//! paths read only the [`Head`]: one word packing generation and state, and the deadlines of
//! the open and half-open states. Everything else about the period lives in [`Period`], behind
//! the transition lock, which only transitions, half-open probes and snapshots take.
//!
//! A transition, under that lock: reads the ending period's window for its signal, clears the
//! window in place for the next generation (a stale writer's writes fail from then on; see
//! `crate::window`), sets the new period's fields and deadlines, publishes the new state word,
//! and hands the signal to the sink. Every transition emits exactly one signal, in order.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

use super::rejected::Name;
use super::{Command, Sink};
use crate::clock::duration_nanos;
use crate::rng::Rng;
use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering, lock};
use crate::window::{Recorder, Tally, tag};
use crate::{Cause, Clock, Details, Metrics, Policy, Signal, State, SystemClock};

/// A deadline that never comes.
pub(super) const NEVER: u64 = u64::MAX;

const STATE_BITS: u32 = 3;
const STATE_MASK: u64 = (1 << STATE_BITS) - 1;

pub(super) fn pack(generation: u64, state: State) -> u64 {
    generation << STATE_BITS | state.index()
}

pub(super) fn unpack(word: u64) -> (u64, State) {
    (word >> STATE_BITS, State::from_index(word & STATE_MASK))
}

/// Whether the state in `word` admits every call (`closed`, `metrics_only`, `disabled`): a
/// bit test, for the hot path.
pub(super) fn admits_all(word: u64) -> bool {
    const ADMITTING: u64 =
        1 << State::Closed.index() | 1 << State::MetricsOnly.index() | 1 << State::Disabled.index();
    ADMITTING >> (word & STATE_MASK) & 1 == 1
}

/// Whether the state in `word` is `closed`.
pub(super) fn is_closed(word: u64) -> bool {
    word & STATE_MASK == State::Closed.index()
}

/// Whether the state in `word` is `open`.
pub(super) fn is_open(word: u64) -> bool {
    word & STATE_MASK == State::Open.index()
}

/// What the hot paths read; only transitions and probes write it.
#[derive(Debug)]
pub(super) struct Head {
    /// `generation << 3 | state`.
    pub(super) word: AtomicU64,
    /// `open`: clock nanos from which a probe is allowed, or [`NEVER`].
    pub(super) probe_at: AtomicU64,
    /// Clock nanos of entering the state.
    pub(super) entered: AtomicU64,
    /// `half_open`: clock nanos at which the probes in flight have waited `max_wait` for an
    /// outcome, or [`NEVER`] with none in flight.
    pub(super) probe_deadline: AtomicU64,
}

/// One stay in one state, behind the transition lock.
#[derive(Debug)]
pub(super) struct Period {
    pub(super) generation: u64,
    pub(super) state: State,
    pub(super) entered: Duration,
    pub(super) entered_wall: SystemTime,
    pub(super) reopens: u32,
    /// `open`: when the retry policy allows a probe (`None`: never).
    pub(super) probe_at: Option<Duration>,
    /// `half_open`: the probes in flight, by id, with their admission times.
    pub(super) probes: Vec<(u64, Duration)>,
    pub(super) next_probe: u64,
    /// `half_open`: when the last probe outcome arrived.
    pub(super) last_outcome: Option<Duration>,
    pub(super) probe_successes: u32,
    /// What the circuit's signals say about it.
    pub(super) details: Details,
}

impl Period {
    /// When the probes in flight have waited `max_wait`: from the later of the oldest probe's
    /// admission and the last probe outcome. Time with no probe in flight never counts.
    fn probe_deadline(&self, max_wait: Duration) -> u64 {
        let Some(oldest) = self.probes.iter().map(|(_, admitted)| *admitted).min() else {
            return NEVER;
        };
        let since = self.last_outcome.map_or(oldest, |last| last.max(oldest));
        since.checked_add(max_wait).map_or(NEVER, duration_nanos)
    }
}

/// How the next period starts.
#[derive(Clone, Debug)]
pub(super) enum Entry {
    /// A transition, with its cause: a new period, and a signal.
    Transition(Cause),
    /// A transition ordered from outside the circuit (see [`Command`]): its cause, the
    /// replica it came from, and into `open`, the wait before a probe.
    Commanded(Command),
    /// A manual command into the current state: the window is cleared in place, the state
    /// keeps its time of entry, and no signal is sent.
    Clear,
}

/// A circuit: everything its handles and admissions share.
pub(crate) struct Core {
    name: std::sync::Arc<str>,
    /// The name as rejections carry it, prepared once.
    pub(super) rejection_name: Name,
    policy: Policy,
    pub(super) clock: std::sync::Arc<dyn Clock>,
    /// `clock`, when it is the system clock: read without a virtual call on the hot paths.
    system: Option<SystemClock>,
    sink: Option<Sink>,
    /// Read by every call; written by transitions and probes only. Nothing in `Core` is
    /// written per call (windows and stripes have lines of their own), so it needs no padding.
    pub(super) head: Head,
    pub(super) recorder: Recorder,
    /// The policy measures call durations (copied out of it for the hot path).
    pub(super) latency: bool,
    pub(super) period: Mutex<Period>,
    pub(super) rng: Rng,
}

/// A period as a snapshot shows it.
pub(super) struct Description {
    pub(super) state: State,
    pub(super) generation: u64,
    pub(super) since: SystemTime,
    pub(super) time_in_state: Duration,
    pub(super) reopens: u32,
    pub(super) metrics: Metrics,
    pub(super) retry_after: Option<Duration>,
    pub(super) probes_in_flight: u32,
}

impl Core {
    pub(super) fn new(
        name: std::sync::Arc<str>,
        policy: Policy,
        // The clock, and the same clock when it is the system clock.
        (clock, system): (std::sync::Arc<dyn Clock>, Option<SystemClock>),
        sink: Option<Sink>,
        seed: Option<u64>,
        initial: State,
        stripes: usize,
    ) -> Core {
        let now = clock.now();
        let rng = Rng::new(seed.unwrap_or_else(|| Rng::seed_from(&name)));
        let probe_at = if initial == State::Open {
            policy
                .retry()
                .wait(0, rng.next_f64())
                .and_then(|wait| now.checked_add(wait))
        } else {
            None
        };
        let recorder = Recorder::new(
            policy.window(),
            policy.slow_thresholds(),
            policy.measures_latency(),
            stripes,
            tag(0),
            now,
        );
        Core {
            head: Head {
                word: AtomicU64::new(pack(0, initial)),
                probe_at: AtomicU64::new(probe_at.map_or(NEVER, duration_nanos)),
                entered: AtomicU64::new(duration_nanos(now)),
                probe_deadline: AtomicU64::new(NEVER),
            },
            period: Mutex::new(Period {
                generation: 0,
                state: initial,
                entered: now,
                entered_wall: clock.wall(),
                reopens: 0,
                probe_at,
                probes: Vec::new(),
                next_probe: 0,
                last_outcome: None,
                probe_successes: 0,
                details: crate::signal::no_details(),
            }),
            recorder,
            latency: policy.measures_latency(),
            rng,
            rejection_name: Name::of(&name),
            name,
            policy,
            clock,
            system,
            sink,
        }
    }

    /// Sends the `registered` signal.
    pub(super) fn register(&self) {
        let period = lock(&self.period);
        self.emit(|| {
            Signal::new(
                self.name.clone(),
                period.state,
                period.state,
                Cause::Registered,
            )
            .with_at(period.entered_wall)
            .with_details(period.details.clone())
        });
    }

    /// The clock's time in nanoseconds, without a virtual call when it is the system clock.
    #[inline]
    pub(super) fn now_nanos(&self) -> u64 {
        match &self.system {
            Some(system) => system.now_nanos(),
            None => self.clock.now_nanos(),
        }
    }

    pub(super) fn name(&self) -> &std::sync::Arc<str> {
        &self.name
    }

    pub(super) fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(super) fn state(&self) -> State {
        unpack(self.head.word.load(Ordering::Acquire)).1
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Period> {
        lock(&self.period)
    }

    fn emit(&self, signal: impl FnOnce() -> Signal) {
        if let Some(sink) = &self.sink {
            let signal = signal();
            // A panicking sink must not poison the transition lock or reach the caller.
            let _ = catch_unwind(AssertUnwindSafe(|| sink(signal)));
        }
    }

    /// The window's metrics for a tally.
    pub(super) fn metrics(&self, tally: &Tally) -> Metrics {
        self.recorder.metrics(tally)
    }

    /// Moves from the period `from` to `to` unless another transition already ended `from`.
    pub(super) fn transition(&self, from: u64, to: State, cause: Cause) -> bool {
        let mut period = self.lock();
        if period.generation != from {
            return false;
        }
        // Read under the lock: transitions are rare, and the caller's hot path may not have
        // read the clock at all.
        let now = self.clock.now();
        self.enter(&mut period, to, Entry::Transition(cause), now);
        true
    }

    /// A manual command into `to`: a transition, or a clear if the circuit is there already.
    pub(super) fn manual(&self, to: State) -> bool {
        let mut period = self.lock();
        let now = self.clock.now();
        let changes = period.state != to;
        let entry = if changes {
            Entry::Transition(Cause::MANUAL)
        } else {
            Entry::Clear
        };
        self.enter(&mut period, to, entry, now);
        changes
    }

    /// A transition ordered from outside; into the current state it changes nothing but, into
    /// `open` with a wait, the probe deadline.
    pub(super) fn command(&self, command: Command) -> bool {
        let mut period = self.lock();
        let now = self.clock.now();
        if period.state != command.to {
            let to = command.to;
            self.enter(&mut period, to, Entry::Commanded(command), now);
            return true;
        }
        if let (State::Open, Some(wait)) = (command.to, command.probe_after) {
            let probe_at = now.checked_add(wait);
            period.probe_at = probe_at;
            self.head
                .probe_at
                .store(probe_at.map_or(NEVER, duration_nanos), Ordering::Release);
        }
        false
    }

    pub(super) fn set_details(&self, details: Details) {
        self.lock().details = details;
    }

    /// Starts the next period, in `to`. The caller holds the transition lock (`period`).
    pub(super) fn enter(&self, period: &mut Period, to: State, entry: Entry, now: Duration) {
        let from = period.state;
        let generation = period.generation.wrapping_add(1);
        let transition = !matches!(entry, Entry::Clear);
        let ending = (transition && from.records()).then(|| self.recorder.tally(now));
        let reopens = match (from, to, transition) {
            (_, State::Closed, _) => 0,
            (State::HalfOpen, State::Open, true) => period.reopens.saturating_add(1),
            _ => period.reopens,
        };
        // A wait beyond the clock's range means no probe until a manual command.
        let probe_at = match (to, &entry) {
            (State::Open, Entry::Clear) => period.probe_at,
            (
                State::Open,
                Entry::Commanded(Command {
                    probe_after: Some(wait),
                    ..
                }),
            ) => now.checked_add(*wait),
            (State::Open, _) => self
                .policy
                .retry()
                .wait(reopens, self.rng.next_f64())
                .and_then(|wait| now.checked_add(wait)),
            _ => None,
        };
        if transition {
            period.entered = now;
            period.entered_wall = self.clock.wall();
        }
        self.recorder.clear(tag(generation), now);
        period.generation = generation;
        period.state = to;
        period.reopens = reopens;
        period.probe_at = probe_at;
        period.probes.clear();
        period.last_outcome = None;
        period.probe_successes = 0;

        let head = &self.head;
        head.probe_at
            .store(probe_at.map_or(NEVER, duration_nanos), Ordering::Relaxed);
        head.entered
            .store(duration_nanos(period.entered), Ordering::Relaxed);
        head.probe_deadline.store(NEVER, Ordering::Relaxed);
        // Publishing the word releases the fields above to every call that reads it.
        head.word.store(pack(generation, to), Ordering::Release);

        let (cause, origin) = match entry {
            Entry::Clear => return,
            Entry::Transition(cause) => (cause, None),
            Entry::Commanded(command) => (command.cause, command.origin),
        };
        let metrics = ending.map_or_else(Metrics::default, |tally| self.metrics(&tally));
        self.emit(|| {
            let signal = Signal::new(self.name.clone(), from, to, cause)
                .with_at(period.entered_wall)
                .with_metrics(metrics)
                .with_details(period.details.clone());
            match origin {
                Some(origin) => signal.with_origin(origin),
                None => signal,
            }
        });
    }

    /// Publishes the probe deadline after the probes in flight changed.
    pub(super) fn update_probe_deadline(&self, period: &Period) {
        self.head.probe_deadline.store(
            period.probe_deadline(self.policy.max_wait()),
            Ordering::Release,
        );
    }

    /// The current period, for a snapshot.
    pub(super) fn describe(&self) -> Description {
        let period = self.lock();
        let now = self.clock.now();
        let tally = self.recorder.tally(now);
        Description {
            state: period.state,
            generation: period.generation,
            since: period.entered_wall,
            time_in_state: now.saturating_sub(period.entered),
            reopens: period.reopens,
            metrics: if period.state.records() {
                self.metrics(&tally)
            } else {
                Metrics::default()
            },
            retry_after: match period.state {
                State::Open => period.probe_at.map(|at| at.saturating_sub(now)),
                _ => None,
            },
            probes_in_flight: u32::try_from(period.probes.len()).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}
