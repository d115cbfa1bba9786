//! Windows: which recorded calls a circuit looks at, and the [`Metrics`] read from them.
//!
//! [`Window`] is the configuration value (`count(n)` or `time(d)`). [`Recorder`] holds the
//! calls of the current period and is cleared in place on every transition; it is one of:
//! - `bits.rs`: `count(n)` without latency, one bit per call, everything on one cache line for
//!   windows up to 520 calls;
//! - `slots.rs`: `count(n)` with durations, one word per call;
//! - `time.rs`: `time(d)`, one-second buckets, one set per core, merged on read.
//!
//! All are lock-free on the record path, O(1) per record and per read (the time window
//! amortised per elapsed second and per core), with memory fixed by the window size, never by
//! the call rate. Stale writers of an ended period are kept out by `tagged.rs` and `gate.rs`.

mod bits;
mod gate;
mod metrics;
mod slots;
mod sums;
mod tagged;
mod time;

use std::fmt;
use std::time::Duration;

pub(crate) use bits::Counts;
pub(crate) use metrics::SlowCounts;
pub use metrics::{MAX_SLOW_THRESHOLDS, Metrics};
pub(crate) use tagged::{Stale, tag};

use crate::clock::duration_nanos;
use crate::sync::{AtomicU64, CachePadded, Ordering};
pub(crate) use bits::BitRing;
use slots::SlotRing;
use sums::Layout;
use tagged::Tagged;
use time::{Recorded, TimeWindow};

/// The largest `count(n)` window: a million calls (8 MB of slots).
pub const MAX_COUNT_WINDOW: usize = 1_000_000;
/// The longest `time(d)` window: one day of one-second buckets.
pub const MAX_TIME_WINDOW: Duration = Duration::from_secs(86_400);

/// Which recorded calls the trip rule looks at.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::Window;
///
/// assert_eq!(Window::count(100).to_string(), "count(100)");
/// assert_eq!(Window::time(Duration::from_secs(60)).to_string(), "time(60s)");
/// assert_eq!(Window::default(), Window::count(100));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    /// The last `n` recorded calls.
    Count(usize),
    /// The calls recorded in the last `d` (whole seconds), in one-second buckets.
    Time(Duration),
}

impl Window {
    /// The last `n` recorded calls; `n` must be between 1 and [`MAX_COUNT_WINDOW`].
    pub const fn count(n: usize) -> Window {
        Window::Count(n)
    }

    /// The calls of the last `d`; `d` must be whole seconds between 1 s and
    /// [`MAX_TIME_WINDOW`].
    pub const fn time(d: Duration) -> Window {
        Window::Time(d)
    }

    /// Checks the size, returning what is allowed when it is not.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        match *self {
            Window::Count(n) if n == 0 || n > MAX_COUNT_WINDOW => {
                Err("count(n) needs 1 <= n <= 1000000")
            }
            Window::Time(d)
                if d < Duration::from_secs(1) || d > MAX_TIME_WINDOW || d.subsec_nanos() != 0 =>
            {
                Err("time(d) needs whole seconds with 1s <= d <= 86400s")
            }
            _ => Ok(()),
        }
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::count(100)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Window::Count(n) => write!(f, "count({n})"),
            Window::Time(d) => write!(f, "time({})", crate::duration::display(d)),
        }
    }
}

impl std::str::FromStr for Window {
    type Err = crate::ParsePolicyError;

    /// Reads `count(n)` or `time(d)` (`time(60s)`), validated.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_core::Window;
    ///
    /// assert_eq!("time(1m)".parse(), Ok(Window::time(Duration::from_secs(60))));
    /// let err = "count(0)".parse::<Window>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid window \"count(0)\": at position 6: count(n) needs 1 <= n <= 1000000\n  \
    ///      count(0)\n        ^"
    /// );
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "expected count(n) or time(d)";
        let chain = crate::text::Chain::parse("window", text)?;
        let call = chain.first();
        let window = match call.name {
            "count" => {
                let [n] = chain.args(call, "count(n)")?;
                Window::count(chain.count(n)?)
            }
            "time" => {
                let [d] = chain.args(call, "time(d)")?;
                Window::time(chain.duration(d)?)
            }
            _ => return Err(chain.unknown("window", EXPECTED)),
        };
        chain.only_first(EXPECTED)?;
        // Both windows take one argument: the one to blame.
        window.validate().map_err(|allowed| {
            chain.invalid(crate::text::Invalid {
                allowed,
                argument: 0,
            })
        })?;
        Ok(window)
    }
}

/// What a window holds at one moment, in the engine's units; [`Metrics`] is its public face.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) total: u64,
    pub(crate) failures: u64,
    pub(crate) streak: u64,
    /// Sum of the recorded durations (zero when latency is not measured).
    pub(crate) nanos: u64,
    /// Slow calls per threshold, in the policy's threshold order.
    pub(crate) slow: [u64; MAX_SLOW_THRESHOLDS],
}

/// What recording a call asks of the circuit.
#[derive(Debug)]
pub(crate) enum Evaluation {
    /// The rule cannot have become true, or the call's period ended after the call was
    /// recorded: skip evaluating it.
    Skip,
    /// Evaluate the rule on this window.
    Evaluate(Tally),
}

/// The calls of the current period of a circuit, cleared in place on each transition.
#[derive(Debug)]
pub(crate) struct Recorder {
    calls: Calls,
    /// The failure streak of windows other than the bit ring (which keeps its own).
    streak: Option<Box<CachePadded<Tagged>>>,
    latency: bool,
    thresholds: Box<[Duration]>,
    /// The most `successes` has reported (a bit ring's count may read low while calls write).
    successes_reported: AtomicU64,
}

#[derive(Debug)]
enum Calls {
    // Boxed: each has cache lines of its own, apart from the circuit's read-mostly state.
    Bits(Box<BitRing>),
    Slots(Box<SlotRing>),
    Time(Box<TimeWindow>),
}

impl Recorder {
    /// A recorder for a validated `window` tracking `thresholds`; `latency` says whether
    /// durations are measured. `stripes`: how many cores record at once at most.
    pub(crate) fn new(
        window: Window,
        thresholds: &[Duration],
        latency: bool,
        stripes: usize,
        tag: u64,
        now: Duration,
    ) -> Recorder {
        let layout = || {
            Layout::new(
                latency,
                thresholds.iter().copied().map(duration_nanos).collect(),
            )
        };
        let calls = match window {
            Window::Count(n) if !latency => Calls::Bits(Box::new(BitRing::new(n, tag))),
            Window::Count(n) => Calls::Slots(Box::new(SlotRing::new(n, layout(), tag))),
            Window::Time(d) => Calls::Time(Box::new(TimeWindow::new(
                d.as_secs(),
                layout(),
                stripes,
                tag,
                duration_nanos(now),
            ))),
        };
        let streak = match calls {
            Calls::Bits(_) => None,
            _ => Some(Box::new(CachePadded::new(Tagged::new(tag, 0)))),
        };
        Recorder {
            calls,
            streak,
            latency,
            thresholds: thresholds.into(),
            successes_reported: AtomicU64::new(0),
        }
    }

    /// Bytes a recorder of these settings takes, heap included.
    pub(crate) fn bytes(window: Window, thresholds: usize, latency: bool, stripes: usize) -> usize {
        let width = if latency {
            thresholds.saturating_add(3)
        } else {
            2
        };
        let calls = match window {
            Window::Count(n) if !latency => BitRing::bytes(n),
            Window::Count(n) => SlotRing::bytes(n, width),
            Window::Time(d) => TimeWindow::bytes(d.as_secs(), width, stripes),
        };
        let streak = match window {
            Window::Count(_) if !latency => 0,
            _ => std::mem::size_of::<CachePadded<Tagged>>(),
        };
        std::mem::size_of::<Recorder>()
            .saturating_add(calls)
            .saturating_add(streak)
            .saturating_add(thresholds.saturating_mul(std::mem::size_of::<Duration>()))
    }

    /// The bit ring, when the window is one: the hot path records into it directly.
    pub(crate) fn bits(&self) -> Option<&BitRing> {
        match &self.calls {
            Calls::Bits(ring) => Some(ring),
            _ => None,
        }
    }

    /// Successes only the window counted: a bit ring's on the fast path (see `bits.rs`),
    /// every success a time window recorded (see `time.rs`). Never less than it reported
    /// before.
    pub(crate) fn successes(&self) -> u64 {
        let read = match &self.calls {
            Calls::Bits(ring) => ring.successes(),
            Calls::Slots(_) => return 0,
            Calls::Time(window) => window.successes(),
        };
        self.successes_reported
            .fetch_max(read, Ordering::AcqRel)
            .max(read)
    }

    /// Whether a success this window records is counted by it (and by nothing else).
    pub(crate) fn counts_successes(&self) -> bool {
        matches!(self.calls, Calls::Time(_))
    }

    /// Whether `record` needs the time the call finished (time windows bucket by it).
    pub(crate) fn needs_now(&self) -> bool {
        matches!(self.calls, Calls::Time(_))
    }

    /// Records one call of the period `tag`, finished at clock nanos `now` after `nanos`, on
    /// the stripe `stripe`. `budgeted`: the caller's rule evaluation may be skipped while it
    /// cannot be true (closed; never half-open, whose few probes always evaluate).
    #[inline]
    pub(crate) fn record(
        &self,
        stripe: usize,
        tag: u64,
        now: u64,
        failure: bool,
        nanos: u64,
        budgeted: bool,
    ) -> Result<Evaluation, Stale> {
        let mut tally = match &self.calls {
            Calls::Bits(ring) => return ring.record(tag, failure).map(Evaluation::Evaluate),
            Calls::Slots(ring) => ring.record(tag, failure, nanos)?,
            Calls::Time(window) => {
                let recorded = window.record(stripe, tag, now, failure, nanos, budgeted)?;
                // Recorded, and so counted (see `successes`): a period ending from here on
                // only means there is nothing left to evaluate.
                return Ok(match (recorded, self.count_streak(tag, failure)) {
                    (Recorded::Evaluate(mut tally), Ok(streak)) => {
                        tally.streak = streak;
                        Evaluation::Evaluate(tally)
                    }
                    _ => Evaluation::Skip,
                });
            }
        };
        tally.streak = self.count_streak(tag, failure)?;
        Ok(Evaluation::Evaluate(tally))
    }

    fn count_streak(&self, tag: u64, failure: bool) -> Result<u64, Stale> {
        let Some(streak) = &self.streak else {
            return Ok(0);
        };
        if failure {
            Ok(streak.add(tag, 1)?.saturating_add(1))
        } else {
            // Only write when there is a streak to end: in steady success the line stays shared.
            streak.update(tag, |streak| (streak != 0).then_some(0))?;
            Ok(0)
        }
    }

    fn peek_streak(&self) -> u64 {
        self.streak.as_ref().map_or(0, |streak| streak.peek())
    }

    /// After an evaluation found the rule false with `needed` more calls at the least before
    /// it can be true, lets the stripe skip evaluations for fewer calls than that.
    pub(crate) fn grant(&self, stripe: usize, tag: u64, now: u64, needed: u64) {
        if let Calls::Time(window) = &self.calls {
            window.grant(stripe, tag, now, needed);
        }
    }

    /// The window now, whatever its period.
    pub(crate) fn tally(&self, now: Duration) -> Tally {
        match &self.calls {
            Calls::Bits(ring) => ring.tally(),
            Calls::Slots(ring) => Tally {
                streak: self.peek_streak(),
                ..ring.tally()
            },
            Calls::Time(window) => Tally {
                streak: self.peek_streak(),
                ..window.tally(duration_nanos(now))
            },
        }
    }

    /// Empties the window for the period `tag`, in place. Runs under the circuit's
    /// transition lock.
    pub(crate) fn clear(&self, tag: u64, now: Duration) {
        match &self.calls {
            Calls::Bits(ring) => ring.clear(tag),
            Calls::Slots(ring) => ring.clear(tag),
            Calls::Time(window) => window.clear(tag, duration_nanos(now)),
        }
        if let Some(streak) = &self.streak {
            streak.reset(tag, 0);
        }
    }

    /// The public view of a tally.
    pub(crate) fn metrics(&self, tally: &Tally) -> Metrics {
        let mut slow = SlowCounts::default();
        for (threshold, calls) in self.thresholds.iter().zip(tally.slow) {
            slow.push(*threshold, calls);
        }
        Metrics {
            total: tally.total,
            failures: tally.failures,
            total_duration: Duration::from_nanos(tally.nanos),
            consecutive_failures: tally.streak,
            slow,
            latency: self.latency,
        }
    }

    /// The slow thresholds, in the order of [`Tally::slow`].
    pub(crate) fn thresholds(&self) -> &[Duration] {
        &self.thresholds
    }
}

#[cfg(all(test, not(fusebox_loom)))]
mod tests;
