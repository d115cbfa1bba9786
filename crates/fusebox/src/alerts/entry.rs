//! [`Entry`]: one fingerprint, its circuit, and what it counts while its alert stands.
//!
//! The circuit counts the events of a burst: each one a failure, admitted while the circuit
//! is `closed`, until the trip rule opens it (the alert). From then on no event goes near the
//! circuit: calling it after the cooldown would turn an event into a probe, and a probe that
//! is an error reopens the circuit, posting twice per cooldown for as long as the error goes
//! on. Events count in a *shadow* instead: an unregistered circuit of the same policy, which
//! tells the background check whether the error still breaks the rule.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use fusebox_core::{Circuit, Outcome, State, Window};

use super::Shared;

/// A fingerprint's state; shared by the map, the background check and events in flight.
pub(super) struct Entry {
    pub(super) circuit: Circuit,
    /// While the alert stands: events since the trip, under the circuit's own policy.
    shadow: ArcSwapOption<Circuit>,
    /// Serialises starting and ending the watch; holds when the shadow last started afresh.
    watch: Mutex<Duration>,
    /// The next event starts a burst and becomes the alert's sample.
    sample_pending: AtomicBool,
    /// The circuit has tripped at least once since the entry was created.
    tripped: AtomicBool,
    /// Events counted in shadows that are gone.
    suppressed_before: AtomicU64,
    /// For idle eviction: the event count last seen, and since when it has not changed.
    idle: Mutex<(u64, Duration)>,
}

/// How many calls a probe pass makes at most: the probes a policy needs, and a few more for
/// those its permit turns away.
const PROBE_ATTEMPTS: u32 = 16;

impl Entry {
    pub(super) fn new(circuit: Circuit, now: Duration) -> Entry {
        Entry {
            circuit,
            shadow: ArcSwapOption::empty(),
            watch: Mutex::new(now),
            sample_pending: AtomicBool::new(false),
            tripped: AtomicBool::new(false),
            suppressed_before: AtomicU64::new(0),
            idle: Mutex::new((0, now)),
        }
    }

    /// Counts one event. The hot path: no lock and no allocation unless a burst starts or
    /// the alert was just raised.
    pub(super) fn record(self: &Arc<Self>, shared: &Shared, event: &tracing::Event<'_>) {
        if self.sample_pending.load(Ordering::Relaxed)
            && self.sample_pending.swap(false, Ordering::Relaxed)
        {
            self.circuit.set_details(shared.details(event));
        }
        if self.circuit.state().admits_all() {
            if let Ok(admission) = self.circuit.try_acquire() {
                admission.finish(Outcome::Failure);
                return;
            }
        }
        let shadow = self.shadow.load();
        match &*shadow {
            Some(shadow) => count(shadow),
            None => count(&self.start_watch(shared)),
        }
    }

    /// The alert stands: from now on events count in a shadow. Idempotent.
    pub(super) fn start_watch(self: &Arc<Self>, shared: &Shared) -> Arc<Circuit> {
        let mut since = lock(&self.watch);
        if let Some(shadow) = self.shadow.load_full() {
            return shadow;
        }
        let shadow = Arc::new(
            Circuit::builder(self.circuit.name().clone())
                .policy(self.circuit.policy().clone())
                .shared_clock(shared.clock.clone())
                .build(),
        );
        *since = shared.clock.now();
        self.shadow.store(Some(Arc::clone(&shadow)));
        self.tripped.store(true, Ordering::Relaxed);
        lock(&shared.watched).push(Arc::clone(self));
        shadow
    }

    /// Whether the circuit left `closed` and nothing watches it yet.
    pub(super) fn unwatched_alert(&self) -> bool {
        !self.circuit.state().admits_all() && self.shadow.load().is_none()
    }

    /// The background check of a watched entry at `now`: probes the circuit closed once its
    /// cooldown is over and the error has kept below the rule for a whole window; whether the
    /// entry is still watched.
    pub(super) fn check(&self, now: Duration) -> bool {
        let state = self.circuit.state();
        if state.admits_all() {
            self.end_watch(); // reset, disabled or metrics_only by an operator
            return false;
        }
        let Some(shadow) = self.shadow.load_full() else {
            return false;
        };
        if state == State::ForcedOpen {
            return true; // until the operator's next command
        }
        {
            let mut since = lock(&self.watch);
            if shadow.state() != State::Closed {
                // The rule held again: the error goes on. Measure afresh from now.
                shadow.reset();
                *since = now;
                return true;
            }
            let measured = match self.circuit.policy().window() {
                Window::Time(window) => now.saturating_sub(*since) >= window,
                Window::Count(_) => true,
            };
            if !measured {
                return true;
            }
        }
        let cooldown_over =
            state == State::HalfOpen || self.circuit.snapshot().retry_after == Some(Duration::ZERO);
        if !cooldown_over {
            return true;
        }
        for _ in 0..PROBE_ATTEMPTS {
            if let Ok(probe) = self.circuit.try_acquire() {
                probe.finish(Outcome::Success);
            }
            if self.circuit.state() == State::Closed {
                self.end_watch();
                return false;
            }
        }
        true
    }

    /// The alert is over: the shadow goes, and the next event starts a new burst.
    fn end_watch(&self) {
        let _watch = lock(&self.watch);
        if let Some(shadow) = self.shadow.swap(None) {
            self.suppressed_before
                .fetch_add(shadow.snapshot().calls.total(), Ordering::Relaxed);
        }
        self.sample_pending.store(true, Ordering::Relaxed);
    }

    /// Events counted while the alert stood.
    pub(super) fn suppressed(&self) -> u64 {
        let current = self
            .shadow
            .load()
            .as_ref()
            .map_or(0, |shadow| shadow.snapshot().calls.total());
        self.suppressed_before
            .load(Ordering::Relaxed)
            .saturating_add(current)
    }

    /// Every event counted: failures the circuit recorded, and the suppressed ones.
    pub(super) fn events(&self) -> u64 {
        let calls = self.circuit.snapshot().calls;
        calls
            .failure
            .saturating_add(calls.rejected)
            .saturating_add(self.suppressed())
    }

    pub(super) fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    /// How long the entry has been `closed`, unwatched and without a new event, as sweeps at
    /// `now` see it.
    pub(super) fn idle_for(&self, now: Duration) -> Duration {
        let busy = self.shadow.load().is_some() || self.circuit.state() != State::Closed;
        let events = self.events();
        let mut idle = lock(&self.idle);
        if busy || events != idle.0 {
            *idle = (events, now);
        }
        now.saturating_sub(idle.1)
    }
}

/// One event in a shadow: a failure while it admits, nothing once it has tripped.
fn count(shadow: &Circuit) {
    if let Ok(admission) = shadow.try_acquire() {
        admission.finish(Outcome::Failure);
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
