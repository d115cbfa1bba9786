//! Windows: which recorded calls a circuit looks at, and the [`Metrics`] read from them.
//!
//! [`Window`] is the configuration value (`count(n)` or `time(d)`). The recorders that hold the
//! calls live in `count.rs` and `time.rs`; both are lock-free on the record path, O(1) per record
//! and per read (the time window amortised per elapsed second), with memory fixed by the window
//! size, never by the call rate.

mod count;
mod metrics;
mod sums;
mod time;

use std::fmt;
use std::time::Duration;

pub(crate) use metrics::SlowCounts;
pub use metrics::{MAX_SLOW_THRESHOLDS, Metrics};

use crate::clock::duration_nanos;
use count::CountRecorder;
use time::TimeRecorder;

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

/// The calls recorded during one stay of a circuit in a state.
#[derive(Debug)]
pub(crate) struct Recorder {
    calls: Calls,
    latency: bool,
}

#[derive(Debug)]
enum Calls {
    Count(CountRecorder),
    Time(TimeRecorder),
}

impl Recorder {
    /// A recorder for a validated `window` tracking the given slow thresholds; `latency`
    /// says whether the durations it is given are measured.
    pub(crate) fn new(
        window: Window,
        thresholds: &[Duration],
        latency: bool,
        now: Duration,
    ) -> Recorder {
        let thresholds: Vec<u64> = thresholds.iter().copied().map(duration_nanos).collect();
        let calls = match window {
            Window::Count(n) => Calls::Count(CountRecorder::new(n, &thresholds)),
            Window::Time(d) => Calls::Time(TimeRecorder::new(
                d.as_secs(),
                &thresholds,
                duration_nanos(now),
            )),
        };
        Recorder { calls, latency }
    }

    /// Whether `record` needs the time of the call's end (time windows bucket by it).
    pub(crate) fn needs_now(&self) -> bool {
        matches!(self.calls, Calls::Time(_))
    }

    /// Records one call that finished at `now` after `duration`.
    pub(crate) fn record(&self, now: Duration, failure: bool, duration: Duration) {
        match &self.calls {
            Calls::Count(count) => count.record(failure, duration_nanos(duration)),
            Calls::Time(time) => {
                time.record(duration_nanos(now), failure, duration_nanos(duration));
            }
        }
    }

    /// Calls recorded since this recorder was made, including those the window has dropped.
    pub(crate) fn recorded(&self) -> u64 {
        match &self.calls {
            Calls::Count(count) => count.recorded(),
            Calls::Time(time) => time.recorded(),
        }
    }

    /// The window's metrics at `now`; `consecutive_failures` is left for the caller to fill.
    pub(crate) fn metrics(&self, now: Duration) -> Metrics {
        let mut metrics = Metrics {
            latency: self.latency,
            ..Metrics::default()
        };
        match &self.calls {
            Calls::Count(count) => count.sums().read_into(Some(count.total()), &mut metrics),
            Calls::Time(time) => time.sums(duration_nanos(now)).read_into(None, &mut metrics),
        }
        metrics
    }
}

#[cfg(test)]
mod tests;
