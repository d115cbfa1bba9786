//! Deciding a call and finishing it: [`Core::acquire`], [`Admission`], [`OwnedAdmission`].
//!
//! `acquire` decides the common states from the state word alone; only `open` (is the probe
//! deadline past?) and `half_open` (permits, probe slots, `max_wait`) go further, in
//! `acquire_guarded`. A grant remembers its generation, its start (when latency is measured)
//! and its probe slot. Finishing it counts the call on the caller's core, records the outcome
//! unless its period ended, and evaluates the trip rule.

use std::fmt;
use std::time::Duration;

use super::Rejected;
use super::period::{Core, Entry, NEVER, admits_all, is_closed, is_open, unpack};
use super::stripes::{FAILURE, IGNORED, REJECTED, SUCCESS, Stripe};
use crate::sync::{Arc, Ordering};
use crate::trip::View;
use crate::window::{Evaluation, tag};
use crate::{Cause, Outcome, State};

/// What an admitted call carries until it finishes.
#[derive(Debug)]
pub(super) struct Grant {
    /// The state word (generation and state) the call was admitted under.
    word: u64,
    /// Clock nanos of admission, when the policy measures latency.
    start: u64,
    /// The probe slot held in `half_open`, or [`NO_PROBE`].
    probe: u64,
}

const NO_PROBE: u64 = u64::MAX;

impl Grant {
    fn probe(&self) -> Option<u64> {
        (self.probe != NO_PROBE).then_some(self.probe)
    }
}

impl Core {
    /// Decides a call from the caller's `stripe`.
    #[inline]
    pub(super) fn acquire(&self, stripe: &Stripe) -> Result<Grant, Rejected> {
        let word = self.head.word.load(Ordering::Acquire);
        if admits_all(word) {
            return Ok(self.grant(word, None));
        }
        self.acquire_guarded(stripe)
    }

    #[inline]
    fn grant(&self, word: u64, probe: Option<u64>) -> Grant {
        let start = if self.latency {
            self.clock.now_nanos()
        } else {
            0
        };
        Grant {
            word,
            start,
            probe: probe.unwrap_or(NO_PROBE),
        }
    }

    fn reject(&self, stripe: &Stripe, state: State, retry_after: Option<Duration>) -> Rejected {
        stripe.count(REJECTED);
        Rejected::prepared(&self.rejection_name, &stripe.name, state, retry_after)
    }

    /// The states that do not admit every call: `open`, `half_open`, `forced_open`.
    // Kept out of line so that the hot path above stays a few instructions; an open circuit's
    // rejection is decided here, in a function small enough to need few registers saved,
    // and everything else in `acquire_slow`. Its open arm decides the same way: written out
    // twice because a shared helper returning the decision measured 1.5 ns slower here.
    #[inline(never)]
    fn acquire_guarded(&self, stripe: &Stripe) -> Result<Grant, Rejected> {
        let word = self.head.word.load(Ordering::Acquire);
        if is_open(word) {
            let probe_at = self.head.probe_at.load(Ordering::Acquire);
            if probe_at == NEVER {
                return Err(self.reject(stripe, State::Open, None));
            }
            let now = self.now_nanos();
            if now < probe_at {
                let wait = Duration::from_nanos(probe_at.saturating_sub(now));
                return Err(self.reject(stripe, State::Open, Some(wait)));
            }
        }
        self.acquire_slow(stripe)
    }

    /// Decides a call in any state, moving an open circuit whose wait is over to `half_open`.
    #[inline(never)]
    fn acquire_slow(&self, stripe: &Stripe) -> Result<Grant, Rejected> {
        loop {
            let word = self.head.word.load(Ordering::Acquire);
            let (generation, state) = unpack(word);
            match state {
                State::Closed | State::MetricsOnly | State::Disabled => {
                    return Ok(self.grant(word, None));
                }
                State::ForcedOpen => return Err(self.reject(stripe, state, None)),
                State::Open => {
                    let probe_at = self.head.probe_at.load(Ordering::Acquire);
                    if probe_at == NEVER {
                        return Err(self.reject(stripe, state, None));
                    }
                    let now = self.now_nanos();
                    if now < probe_at {
                        let wait = Duration::from_nanos(probe_at.saturating_sub(now));
                        return Err(self.reject(stripe, state, Some(wait)));
                    }
                    // The call that finds the wait over moves the circuit to half_open and
                    // is then decided as a half-open call.
                    self.transition(generation, State::HalfOpen, Cause::Probe);
                }
                State::HalfOpen => match self.admit_probe(stripe, word) {
                    Some(decided) => return decided,
                    None => continue,
                },
            }
        }
    }

    /// A call in `half_open`; `None` when the period ended meanwhile (decide again).
    fn admit_probe(&self, stripe: &Stripe, word: u64) -> Option<Result<Grant, Rejected>> {
        let generation = unpack(word).0;
        let policy = self.policy();
        let now = self.clock.now();
        let nanos = crate::clock::duration_nanos(now);
        if nanos >= self.head.probe_deadline.load(Ordering::Acquire) {
            self.transition(generation, State::Open, Cause::ProbeTimeout);
            return None;
        }
        let entered = Duration::from_nanos(self.head.entered.load(Ordering::Acquire));
        let chance = policy.permit().probability(now.saturating_sub(entered));
        if chance < 1.0 && self.rng.next_f64() >= chance {
            return Some(Err(self.reject(stripe, State::HalfOpen, None)));
        }
        let mut period = self.lock();
        if period.generation != generation {
            return None;
        }
        let limit = usize::try_from(policy.max_concurrent_probes()).unwrap_or(usize::MAX);
        if period.probes.len() >= limit {
            drop(period);
            return Some(Err(self.reject(stripe, State::HalfOpen, None)));
        }
        let id = period.next_probe;
        period.next_probe = period.next_probe.wrapping_add(1);
        period.probes.push((id, now));
        self.update_probe_deadline(&period);
        drop(period);
        Some(Ok(self.grant(word, Some(id))))
    }

    /// Finishes an admitted call with its outcome.
    #[inline]
    pub(super) fn finish(&self, stripe: &Stripe, grant: &Grant, outcome: Outcome) {
        // The hot path: a call admitted while closed, recorded in a bit ring. A success there
        // is counted by its claim of a position in the ring (see `window/bits.rs`), or on the
        // stripe if it claims none.
        if is_closed(grant.word) && outcome != Outcome::Ignored {
            if let Some(ring) = self.recorder.bits() {
                let failure = outcome == Outcome::Failure;
                if failure {
                    stripe.count(FAILURE);
                }
                let unclaimed = || {
                    if !failure {
                        stripe.count(SUCCESS);
                    }
                };
                if self.head.word.load(Ordering::Acquire) != grant.word {
                    return unclaimed(); // stale: admitted in a period that has ended
                }
                let generation = unpack(grant.word).0;
                let counts = match ring.record_counts(tag(generation), failure, false) {
                    Ok(counts) => counts,
                    Err(ended) => {
                        if !ended.claimed {
                            unclaimed();
                        }
                        return; // the period ended while recording
                    }
                };
                let policy = self.policy();
                let holds = match policy.quiet().holds(counts.total) {
                    Some(holds) if counts.failures == 0 && counts.streak == 0 => holds,
                    _ => policy.trip().holds(State::Closed, &counts),
                };
                if holds {
                    self.trip(generation);
                }
                return;
            }
        }
        self.finish_counted(stripe, grant, outcome);
    }

    /// Counts and records every other finish. A success a time window records is counted
    /// by the window (see `window/time.rs`), on the stripe only if it is not recorded.
    #[inline(never)]
    fn finish_counted(&self, stripe: &Stripe, grant: &Grant, outcome: Outcome) {
        let by_window = outcome == Outcome::Success && self.recorder.counts_successes();
        if !by_window {
            stripe.count_outcome(outcome);
        }
        if !self.finish_guarded(stripe, grant, outcome) && by_window {
            stripe.count(SUCCESS);
        }
    }

    #[cold]
    fn trip(&self, generation: u64) {
        let cause = Cause::Tripped {
            rule: self.policy().trip_text().clone(),
        };
        self.transition(generation, State::Open, cause);
    }

    /// Every other finish: other windows, other states, probes, ignored outcomes. Returns
    /// whether the outcome was recorded in the window.
    #[inline]
    fn finish_guarded(&self, stripe: &Stripe, grant: &Grant, outcome: Outcome) -> bool {
        let (generation, state) = unpack(self.head.word.load(Ordering::Acquire));
        let admitted = unpack(grant.word).0;
        if generation != admitted {
            return false; // stale: admitted in a period that has ended
        }
        if outcome == Outcome::Ignored {
            if let Some(probe) = grant.probe() {
                self.release_probe(admitted, probe, true);
            }
            return false;
        }
        if !state.records() {
            return false;
        }
        let policy = self.policy();
        // The closed path of a count window that does not measure latency reads no clock.
        let now = if state == State::HalfOpen || self.latency || self.recorder.needs_now() {
            self.now_nanos()
        } else {
            0
        };
        let duration = if self.latency {
            now.saturating_sub(grant.start)
        } else {
            0
        };
        let failure = outcome == Outcome::Failure;
        let recorded = self.recorder.record(
            stripe.index(),
            tag(admitted),
            now,
            failure,
            duration,
            state == State::Closed,
        );
        let tally = match recorded {
            Ok(Evaluation::Evaluate(tally)) => tally,
            Ok(Evaluation::Skip) => return true,
            Err(_stale) => {
                // The period ended while recording.
                if let Some(probe) = grant.probe() {
                    self.release_probe(admitted, probe, true);
                }
                return false;
            }
        };
        let rule = policy.trip();
        let view = View {
            tally: &tally,
            thresholds: self.recorder.thresholds(),
        };
        match state {
            State::Closed => {
                if rule.holds(State::Closed, &view) {
                    self.trip(admitted);
                } else if self.recorder.needs_now() {
                    let needed = rule.calls_needed(State::Closed, &view);
                    self.recorder
                        .grant(stripe.index(), tag(admitted), now, needed);
                }
            }
            State::HalfOpen => {
                let Some(probe) = grant.probe() else {
                    return true;
                };
                let mut period = self.lock();
                if period.generation != admitted {
                    return true;
                }
                let now = Duration::from_nanos(now);
                period.probes.retain(|(id, _)| *id != probe);
                period.last_outcome = Some(now);
                if !failure {
                    period.probe_successes = period.probe_successes.saturating_add(1);
                }
                if rule.holds(State::HalfOpen, &view) {
                    let cause = Cause::Reopened {
                        rule: policy.trip_text().clone(),
                    };
                    self.enter(&mut period, State::Open, Entry::Transition(cause), now);
                } else if period.probe_successes >= policy.close_after() {
                    self.enter(
                        &mut period,
                        State::Closed,
                        Entry::Transition(Cause::Recovered),
                        now,
                    );
                } else {
                    self.update_probe_deadline(&period);
                }
            }
            _ => {}
        }
        true
    }

    /// Frees a probe slot of the period `generation`. `answered`: the probe came back (with
    /// an ignored outcome), which restarts the `max_wait` clock; a dropped probe did not.
    fn release_probe(&self, generation: u64, probe: u64, answered: bool) {
        let mut period = self.lock();
        if period.generation != generation {
            return;
        }
        period.probes.retain(|(id, _)| *id != probe);
        if answered {
            period.last_outcome = Some(self.clock.now());
        }
        self.update_probe_deadline(&period);
    }

    /// A call dropped before it finished: counted as ignored, its probe slot freed.
    fn abandon(&self, stripe: &Stripe, grant: &Grant) {
        stripe.count(IGNORED);
        if let Some(probe) = grant.probe() {
            self.release_probe(unpack(grant.word).0, probe, false);
        }
    }
}

/// Permission for one call to run; finish it with its outcome.
///
/// Dropping it unfinished (a cancelled call, or a panic unwinding through the caller) counts
/// the call as ignored and frees a half-open probe slot it held, so a circuit can never be
/// stuck in `half_open`.
#[must_use = "an admission records nothing unless finished"]
pub struct Admission<'a> {
    stripe: &'a Stripe,
    grant: Grant,
}

impl<'a> Admission<'a> {
    pub(super) fn new(stripe: &'a Stripe, grant: Grant) -> Self {
        Admission { stripe, grant }
    }

    /// Records the call's outcome with its duration since [`Circuit::try_acquire`]
    /// (when the policy measures latency), evaluates the trip rule and transitions if needed.
    /// An outcome admitted in a period that has since ended is counted but recorded in no
    /// window.
    ///
    /// [`Circuit::try_acquire`]: crate::Circuit::try_acquire
    #[inline]
    pub fn finish(self, outcome: Outcome) {
        // Finished, not abandoned: `Drop` must not run.
        let this = std::mem::ManuallyDrop::new(self);
        this.stripe.core.finish(this.stripe, &this.grant, outcome);
    }

    /// Whether this call holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.grant.probe().is_some()
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.stripe.core.abandon(self.stripe, &self.grant);
    }
}

impl fmt::Debug for Admission<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission")
            .field("circuit", &self.stripe.name)
            .field("probe", &self.is_probe())
            .finish_non_exhaustive()
    }
}

/// An [`Admission`] that owns its reference to the circuit, for calls that outlive a borrow
/// (a tower response future); see [`Circuit::try_acquire_owned`].
///
/// It holds the calling core's share of the circuit, so taking and dropping it writes no
/// reference count shared with other cores.
///
/// [`Circuit::try_acquire_owned`]: crate::Circuit::try_acquire_owned
#[must_use = "an admission records nothing unless finished"]
pub struct OwnedAdmission {
    stripe: Arc<Stripe>,
    grant: Grant,
    settled: bool,
}

impl OwnedAdmission {
    pub(super) fn new(stripe: Arc<Stripe>, grant: Grant) -> Self {
        OwnedAdmission {
            stripe,
            grant,
            settled: false,
        }
    }

    /// Like [`Admission::finish`].
    #[inline]
    pub fn finish(mut self, outcome: Outcome) {
        self.settled = true;
        self.stripe.core.finish(&self.stripe, &self.grant, outcome);
    }

    /// Whether this call holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.grant.probe().is_some()
    }

    /// The name of the circuit that admitted the call.
    pub fn circuit(&self) -> &std::sync::Arc<str> {
        &self.stripe.name
    }
}

impl Drop for OwnedAdmission {
    fn drop(&mut self) {
        if !self.settled {
            self.stripe.core.abandon(&self.stripe, &self.grant);
        }
    }
}

impl fmt::Debug for OwnedAdmission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedAdmission")
            .field("circuit", &self.stripe.name)
            .field("probe", &self.is_probe())
            .finish_non_exhaustive()
    }
}
