//! What the registry remembers of each circuit's recent past, for an operator looking at it
//! during an incident: its last transitions ([`Fusebox::history`]) and its failure rate over
//! the last minutes ([`Fusebox::failure_rates`]).
//!
//! Nothing here runs on the call path. Transitions arrive where listeners get them, from each
//! circuit's signal sink (registrations are not transitions and are left out). Failure rates
//! are sampled from the circuits' windows at every transition (the window the transition
//! found, so a trip shows the rate that tripped it) and whenever the registry is read:
//! [`Fusebox::snapshot`], which every Prometheus scrape and every dashboard refresh calls, and
//! [`Fusebox::failure_rates`]. So a dashboard opened in the middle of an incident shows the
//! minutes before it whenever something scraped the registry, and the trips in any case.
//! Sampling on every call would cost each call a shared write; a background task would run
//! for registries nobody looks at.
//!
//! Memory is bounded: [`HISTORY_PER_CIRCUIT`] transitions per circuit and [`HISTORY_TOTAL`]
//! in all (the oldest go first, whichever circuit they belong to), so a thousand keyed
//! circuits flapping at once stay within a few hundred kilobytes; [`RATE_POINTS`] points of
//! 8 bytes per circuit, kept only for circuits that exist or transitioned in the last
//! [`RATE_POINTS`] × [`RATE_INTERVAL`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use fusebox_core::{Cause, Clock, Signal, Snapshot, State};

use crate::Fusebox;

/// Transitions kept per circuit: a few trip and recovery cycles.
const HISTORY_PER_CIRCUIT: usize = 20;

/// Transitions kept for all circuits together: a trip and a recovery for each of the 1,000
/// keyed circuits the registry allows by default.
const HISTORY_TOTAL: usize = 2_000;

/// The time one point of [`FailureRates`] covers: a Prometheus scrape interval, so a scraped
/// registry has a sample in every point.
const RATE_INTERVAL: Duration = Duration::from_secs(15);

/// Points of [`FailureRates`]: ten minutes.
const RATE_POINTS: usize = 40;

/// A failure rate in basis points, [`NO_RATE`] for an empty window: 8 bytes a point.
type BasisPoints = u16;
const NO_RATE: BasisPoints = BasisPoints::MAX;

type Hasher = foldhash::fast::RandomState;

/// One transition of a circuit, as [`Fusebox::history`] remembers it.
///
/// `Display` is the line a dashboard shows: the cause (with the trip rule's text), the
/// replica that caused it, and the failure rate of the window the transition found.
///
/// ```
/// use std::time::Duration;
/// use fusebox::{Fusebox, ManualClock, Outcome, Policy, State};
///
/// let fusebox = Fusebox::builder()
///     .default_policy(Policy::builder().trip("min_requests(4) & failure_rate(0.5)".parse()?).build()?)
///     .clock(ManualClock::new())
///     .build()?;
/// let payments = fusebox.circuit("payments");
/// for outcome in [Outcome::Success, Outcome::Failure, Outcome::Success, Outcome::Failure] {
///     payments.try_acquire()?.finish(outcome);
/// }
/// let history = fusebox.history("payments");
/// assert_eq!((history[0].from, history[0].to), (State::Closed, State::Open));
/// assert_eq!(history[0].failure_rate(), Some(0.5));
/// assert_eq!(
///     history[0].to_string(),
///     "tripped: min_requests(4) & failure_rate(0.5), failure rate 50%",
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The state the circuit left.
    pub from: State,
    /// The state the circuit entered.
    pub to: State,
    /// Wall-clock time of the transition.
    pub at: SystemTime,
    /// Why it happened; [`Cause::rule`] is the trip rule's text for trips and reopenings.
    pub cause: Cause,
    /// The replica that caused it, for a transition that came from elsewhere in a fleet.
    pub origin: Option<Arc<str>>,
    /// Calls recorded in the window the transition found (before it was cleared).
    pub calls: u64,
    /// Failures among [`calls`](Self::calls).
    pub failures: u64,
}

impl Transition {
    fn new(signal: &Signal) -> Transition {
        Transition {
            from: signal.from,
            to: signal.to,
            at: signal.at,
            cause: signal.cause.clone(),
            origin: signal.origin.clone(),
            calls: signal.metrics.total(),
            failures: signal.metrics.failures(),
        }
    }

    /// Failures per recorded call in the window the transition found; `None` if it held
    /// no call (as it does leaving `open`).
    pub fn failure_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.failures as f64 / self.calls as f64)
    }
}

impl fmt::Display for Transition {
    /// `tripped: min_requests(20) & failure_rate(0.5), failure rate 50%`; `manual (fleet) by
    /// replica-b`; `probe`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cause)?;
        if let Some(origin) = &self.origin {
            write!(f, " by {origin}")?;
        }
        if let Some(rate) = self.failure_rate() {
            write!(f, ", failure rate {}", Percent(rate))?;
        }
        Ok(())
    }
}

/// A rate as a percentage with at most one decimal: `50%`, `33.3%`, `0.5%`.
struct Percent(f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = (self.0 * 1000.0).round();
        if tenths % 10.0 == 0.0 {
            write!(f, "{}%", tenths / 10.0)
        } else {
            write!(f, "{:.1}%", tenths / 10.0)
        }
    }
}

/// A circuit's failure rate over the last ten minutes, one point per 15 seconds: see
/// [`Fusebox::failure_rates`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FailureRates {
    /// The time each point covers.
    pub interval: Duration,
    /// Oldest first; the last point is the interval that runs now. `None` where nothing was
    /// sampled.
    pub points: Vec<Option<RatePoint>>,
}

/// What the samples of one interval of [`FailureRates`] saw.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RatePoint {
    /// The highest failure rate sampled (to four decimals), `None` if the window held no
    /// call at every sample (as in `open`).
    pub failure_rate: Option<f64>,
    /// The circuit's state at the last sample.
    pub state: State,
}

/// The samples of one interval.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// The interval's number since the clock's origin.
    index: u32,
    peak: BasisPoints,
    state: State,
}

impl Bucket {
    fn point(self) -> RatePoint {
        RatePoint {
            failure_rate: (self.peak != NO_RATE).then(|| f64::from(self.peak) / 10_000.0),
            state: self.state,
        }
    }
}

fn basis_points(rate: Option<f64>) -> BasisPoints {
    match rate {
        // A rate is within 0..=1, so the product fits; `as` saturates anyway.
        Some(rate) => (rate.clamp(0.0, 1.0) * 10_000.0).round() as BasisPoints,
        None => NO_RATE,
    }
}

fn interval_index(now: Duration) -> u32 {
    let index = now.as_nanos() / RATE_INTERVAL.as_nanos();
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// The registry's memory of its circuits; clones share it.
#[derive(Clone)]
pub(crate) struct History {
    shared: Arc<Shared>,
}

struct Shared {
    clock: Arc<dyn Clock>,
    rings: Mutex<Rings>,
}

#[derive(Default)]
struct Rings {
    /// Each circuit's transitions, oldest first, with their sequence numbers.
    transitions: HashMap<Arc<str>, VecDeque<(u64, Transition)>, Hasher>,
    /// The circuit of every kept transition, by sequence number: the first is the oldest.
    order: BTreeMap<u64, Arc<str>>,
    next: u64,
    rates: HashMap<Arc<str>, VecDeque<Bucket>, Hasher>,
    /// How many circuits `rates` may hold before the expired ones are dropped.
    prune_rates_at: usize,
}

impl History {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> History {
        History {
            shared: Arc::new(Shared {
                clock,
                rings: Mutex::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rings> {
        self.shared
            .rings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> u32 {
        interval_index(self.shared.clock.now())
    }

    /// Keeps a signal's transition and samples the window it found. Called from circuits'
    /// signal sinks, with their transition lock held: it takes one short lock and calls back
    /// into no circuit.
    pub(crate) fn record(&self, signal: &Signal) {
        if signal.is_registration() {
            return;
        }
        let now = self.now();
        let mut rings = self.lock();
        rings.keep(&signal.circuit, Transition::new(signal));
        rings.sample(
            &signal.circuit,
            now,
            signal.metrics.failure_rate(),
            signal.to,
        );
    }

    /// Samples every circuit of a registry, `snapshots` sorted by name, and forgets the
    /// failure rates of circuits no longer in it.
    pub(crate) fn sample_all(&self, snapshots: &[Snapshot]) {
        let now = self.now();
        let mut rings = self.lock();
        rings.rates.retain(|name, _| {
            snapshots
                .binary_search_by(|snapshot| (*snapshot.name).cmp(name))
                .is_ok()
        });
        for snapshot in snapshots {
            let rate = snapshot.metrics.failure_rate();
            rings.sample(&snapshot.name, now, rate, snapshot.state);
        }
    }

    fn sample_one(&self, snapshot: &Snapshot) {
        let now = self.now();
        let rate = snapshot.metrics.failure_rate();
        self.lock()
            .sample(&snapshot.name, now, rate, snapshot.state);
    }

    fn transitions(&self, name: &str) -> Vec<Transition> {
        let rings = self.lock();
        let Some(ring) = rings.transitions.get(name) else {
            return Vec::new();
        };
        ring.iter().rev().map(|(_, kept)| kept.clone()).collect()
    }

    fn rates(&self, name: &str) -> FailureRates {
        let now = self.now();
        let mut points = vec![None; RATE_POINTS];
        if let Some(ring) = self.lock().rates.get(name) {
            for bucket in ring {
                let age = now
                    .checked_sub(bucket.index)
                    .and_then(|age| usize::try_from(age).ok());
                if let Some(age) = age.filter(|&age| age < RATE_POINTS) {
                    points[RATE_POINTS - 1 - age] = Some(bucket.point());
                }
            }
        }
        FailureRates {
            interval: RATE_INTERVAL,
            points,
        }
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rings = self.lock();
        f.debug_struct("History")
            .field("transitions", &rings.order.len())
            .field("sampled_circuits", &rings.rates.len())
            .finish()
    }
}

impl Rings {
    fn keep(&mut self, circuit: &Arc<str>, transition: Transition) {
        let sequence = self.next;
        self.next += 1;
        let ring = self.transitions.entry(circuit.clone()).or_default();
        ring.push_back((sequence, transition));
        self.order.insert(sequence, circuit.clone());
        if ring.len() > HISTORY_PER_CIRCUIT {
            if let Some((oldest, _)) = ring.pop_front() {
                self.order.remove(&oldest);
            }
        }
        while self.order.len() > HISTORY_TOTAL {
            let Some((_, name)) = self.order.pop_first() else {
                break;
            };
            // The oldest of all is the oldest of its circuit.
            if let Some(ring) = self.transitions.get_mut(&name) {
                ring.pop_front();
                if ring.is_empty() {
                    self.transitions.remove(&name);
                }
            }
        }
    }

    fn sample(&mut self, circuit: &Arc<str>, now: u32, rate: Option<f64>, state: State) {
        let peak = basis_points(rate);
        if !self.rates.contains_key(circuit) {
            self.prune_rates(now);
        }
        let ring = self.rates.entry(circuit.clone()).or_default();
        match ring.back_mut() {
            Some(last) if last.index == now => {
                if last.peak == NO_RATE || (peak != NO_RATE && peak > last.peak) {
                    last.peak = peak;
                }
                last.state = state;
            }
            _ => ring.push_back(Bucket {
                index: now,
                peak,
                state,
            }),
        }
        let points = u32::try_from(RATE_POINTS).unwrap_or(u32::MAX);
        while ring
            .front()
            .is_some_and(|oldest| oldest.index.saturating_add(points) <= now)
        {
            ring.pop_front();
        }
    }

    /// Before a circuit is added to `rates`: drops the circuits whose every point is older
    /// than the points shown, whenever their number doubled since the last time. Only
    /// circuits sampled in the last minutes stay, which existing circuits bound: a keyed
    /// circuit is evicted only after minutes without a call.
    fn prune_rates(&mut self, now: u32) {
        if self.rates.len() < self.prune_rates_at {
            return;
        }
        let points = u32::try_from(RATE_POINTS).unwrap_or(u32::MAX);
        self.rates.retain(|_, ring| {
            ring.back()
                .is_some_and(|newest| newest.index.saturating_add(points) > now)
        });
        self.prune_rates_at = (self.rates.len() * 2).max(64);
    }
}

impl Fusebox {
    /// The last transitions of the circuit named `name`, newest first: at most 20 per
    /// circuit and 2,000 for the whole registry, the oldest forgotten first. Registrations
    /// are not transitions. A keyed circuit evicted and created again keeps its history.
    ///
    /// ```
    /// use fusebox::{Cause, Fusebox, State};
    ///
    /// let fusebox = Fusebox::builder().build()?;
    /// fusebox.circuit("search");
    /// assert!(fusebox.history("search").is_empty());
    /// fusebox.force_open("search")?;
    /// fusebox.reset("search")?;
    /// let history = fusebox.history("search");
    /// assert_eq!(
    ///     history.iter().map(|t| (t.from, t.to)).collect::<Vec<_>>(),
    ///     [(State::ForcedOpen, State::Closed), (State::Closed, State::ForcedOpen)],
    /// );
    /// assert_eq!(history[0].cause, Cause::MANUAL);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn history(&self, name: &str) -> Vec<Transition> {
        self.history_store().transitions(name)
    }

    /// The failure rate of the circuit named `name` over the last ten minutes, one point per
    /// 15 seconds (the highest rate sampled in it), taking a sample now.
    ///
    /// Samples are the circuit's window (the rate its trip rule reads) at every transition,
    /// and whenever the registry is read ([`Fusebox::snapshot`]: every Prometheus scrape and
    /// every dashboard refresh; and this method). A point is `None` where nothing was
    /// sampled. Names without a circuit have every point `None`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox::{Fusebox, ManualClock, Outcome, State};
    ///
    /// let clock = ManualClock::new();
    /// let fusebox = Fusebox::builder().clock(clock.clone()).build()?;
    /// let search = fusebox.circuit("search");
    /// for outcome in [Outcome::Success, Outcome::Success, Outcome::Success, Outcome::Failure] {
    ///     search.try_acquire()?.finish(outcome);
    /// }
    /// fusebox.snapshot(); // a scrape, a minute ago
    /// clock.advance(Duration::from_secs(60));
    ///
    /// let rates = fusebox.failure_rates("search");
    /// assert_eq!(rates.interval, Duration::from_secs(15));
    /// assert_eq!(rates.points.len(), 40);
    /// let sampled: Vec<_> = rates.points.iter().flatten().map(|p| (p.failure_rate, p.state)).collect();
    /// assert_eq!(sampled, [(Some(0.25), State::Closed), (Some(0.25), State::Closed)]);
    /// assert!(rates.points[35].is_some() && rates.points[39].is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn failure_rates(&self, name: &str) -> FailureRates {
        let store = self.history_store();
        if let Some(circuit) = self.get(name) {
            store.sample_one(&circuit.snapshot());
        }
        store.rates(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fusebox_core::ManualClock;

    fn signal(circuit: &str, from: State, to: State, cause: Cause) -> Signal {
        Signal::new(circuit, from, to, cause)
    }

    fn history(clock: &ManualClock) -> History {
        History::new(Arc::new(clock.clone()))
    }

    #[test]
    fn percentages_have_at_most_one_decimal() {
        let cases = [
            (0.5, "50%"),
            (1.0, "100%"),
            (0.0, "0%"),
            (1.0 / 3.0, "33.3%"),
            (0.005, "0.5%"),
            (0.9996, "100%"),
        ];
        for (rate, text) in cases {
            assert_eq!(Percent(rate).to_string(), text, "{rate}");
        }
    }

    #[test]
    fn a_transition_reads_as_its_cause_origin_and_failure_rate() {
        let trip = Transition {
            calls: 20,
            failures: 10,
            ..Transition::new(&signal(
                "payments",
                State::Closed,
                State::Open,
                Cause::Tripped {
                    rule: "min_requests(20) & failure_rate(0.5)".into(),
                },
            ))
        };
        assert_eq!(
            trip.to_string(),
            "tripped: min_requests(20) & failure_rate(0.5), failure rate 50%"
        );
        let fleet = Transition::new(
            &signal(
                "payments",
                State::Open,
                State::ForcedOpen,
                Cause::Manual {
                    scope: fusebox_core::Scope::Fleet,
                },
            )
            .with_origin("replica-b"),
        );
        assert_eq!(fleet.to_string(), "manual (fleet) by replica-b");
        assert_eq!(fleet.failure_rate(), None);
    }

    #[test]
    fn registrations_are_not_kept() {
        let clock = ManualClock::new();
        let history = history(&clock);
        history.record(&signal(
            "search",
            State::Closed,
            State::Closed,
            Cause::Registered,
        ));
        assert!(history.transitions("search").is_empty());
        assert!(history.rates("search").points.iter().all(Option::is_none));
    }

    #[test]
    fn each_circuit_keeps_its_last_twenty_transitions_newest_first() {
        let clock = ManualClock::new();
        let history = history(&clock);
        for second in 0..25 {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(second);
            history.record(
                &signal("search", State::Closed, State::ForcedOpen, Cause::MANUAL).with_at(at),
            );
        }
        let kept: Vec<u64> = history
            .transitions("search")
            .iter()
            .map(|t| {
                t.at.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
            })
            .collect();
        assert_eq!(kept, (5..25).rev().collect::<Vec<_>>());
        assert_eq!(history.lock().order.len(), 20);
    }

    #[test]
    fn the_whole_registry_keeps_at_most_2000_transitions_oldest_first_out() {
        let clock = ManualClock::new();
        let history = history(&clock);
        history.record(&signal(
            "old",
            State::Closed,
            State::ForcedOpen,
            Cause::MANUAL,
        ));
        for key in 0..1_000 {
            let name = format!("tenant-{key}");
            history.record(&signal(
                &name,
                State::Closed,
                State::ForcedOpen,
                Cause::MANUAL,
            ));
            history.record(&signal(
                &name,
                State::ForcedOpen,
                State::Closed,
                Cause::MANUAL,
            ));
        }
        let rings = history.lock();
        assert_eq!(rings.order.len(), HISTORY_TOTAL);
        let kept: usize = rings.transitions.values().map(VecDeque::len).sum();
        assert_eq!(kept, HISTORY_TOTAL);
        drop(rings);
        assert!(
            history.transitions("old").is_empty(),
            "the oldest went first"
        );
        assert_eq!(history.transitions("tenant-0").len(), 2);
        assert_eq!(history.transitions("tenant-999").len(), 2);
    }

    #[test]
    fn a_flapping_circuit_does_not_push_out_another_circuits_history() {
        let clock = ManualClock::new();
        let history = history(&clock);
        history.record(&signal(
            "ledger",
            State::Closed,
            State::ForcedOpen,
            Cause::MANUAL,
        ));
        for _ in 0..HISTORY_TOTAL * 2 {
            history.record(&signal("search", State::Closed, State::Open, Cause::Probe));
        }
        assert_eq!(history.transitions("ledger").len(), 1);
        assert_eq!(history.transitions("search").len(), HISTORY_PER_CIRCUIT);
        assert_eq!(history.lock().order.len(), HISTORY_PER_CIRCUIT + 1);
    }

    fn rates(history: &History, name: &str) -> Vec<Option<(Option<f64>, State)>> {
        history
            .rates(name)
            .points
            .iter()
            .map(|point| point.map(|p| (p.failure_rate, p.state)))
            .collect()
    }

    #[test]
    fn a_point_keeps_the_highest_rate_and_the_last_state_of_its_interval() {
        let clock = ManualClock::new();
        let history = history(&clock);
        let name: Arc<str> = "search".into();
        let mut rings = history.lock();
        rings.sample(&name, 0, Some(0.1), State::Closed);
        rings.sample(&name, 0, Some(0.5), State::Closed);
        rings.sample(&name, 0, None, State::Open);
        rings.sample(&name, 0, Some(0.2), State::Open);
        rings.sample(&name, 2, None, State::Open);
        drop(rings);
        clock.advance(RATE_INTERVAL * 3);
        let mut expected = vec![None; RATE_POINTS];
        expected[RATE_POINTS - 4] = Some((Some(0.5), State::Open));
        expected[RATE_POINTS - 2] = Some((None, State::Open));
        assert_eq!(rates(&history, "search"), expected);
    }

    #[test]
    fn points_older_than_ten_minutes_are_dropped() {
        let clock = ManualClock::new();
        let history = history(&clock);
        let name: Arc<str> = "search".into();
        for minute in 0..12 {
            clock.set(Duration::from_secs(60 * minute));
            history
                .lock()
                .sample(&name, history.now(), Some(0.25), State::Closed);
        }
        let ring_len = history.lock().rates["search"].len();
        // Minutes 2 to 11 are within the forty points that end at minute 11.
        assert_eq!(ring_len, 10);
        let sampled = rates(&history, "search").iter().flatten().count();
        assert_eq!(sampled, 10);
    }

    #[test]
    fn circuits_sampled_long_ago_are_forgotten_when_new_ones_come() {
        let clock = ManualClock::new();
        let history = history(&clock);
        for key in 0..64 {
            history.record(&signal(
                &format!("gone-{key}"),
                State::Closed,
                State::ForcedOpen,
                Cause::MANUAL,
            ));
        }
        clock.advance(RATE_INTERVAL * 40);
        history.record(&signal(
            "new",
            State::Closed,
            State::ForcedOpen,
            Cause::MANUAL,
        ));
        let rings = history.lock();
        assert_eq!(rings.rates.len(), 1);
        assert!(rings.rates.contains_key("new"));
    }
}
