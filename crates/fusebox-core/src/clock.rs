//! Time sources: the [`Clock`] trait, the [`SystemClock`] and the [`ManualClock`] for tests.
//!
//! Circuits measure durations, windows and waits on a monotonic clock only. Wall-clock time is
//! used for one thing, the `at` of a [`Signal`](crate::Signal), and also comes from the clock so
//! that tests stepping a manual clock see consistent wall times.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// A monotonic time source.
///
/// `now` is the time elapsed since an origin fixed by the clock; it never goes backwards.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Monotonic time since this clock's origin.
    fn now(&self) -> Duration;

    /// [`now`](Clock::now) in whole nanoseconds, saturating: what a circuit compares with its
    /// deadlines on every call it rejects, so a clock that can answer without building a
    /// `Duration` should.
    fn now_nanos(&self) -> u64 {
        duration_nanos(self.now())
    }

    /// The wall-clock time matching `now`, used only for the `at` of signals.
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The monotonic clock of the machine.
///
/// Reads the CPU's invariant time-stamp counter where it has one (through `quanta`), which
/// costs about half of [`std::time::Instant::now`]; elsewhere the operating system's monotonic
/// clock. Circuits read it on the open and half-open paths, for time windows and for latency.
#[derive(Clone, Debug)]
pub struct SystemClock {
    clock: quanta::Clock,
    /// The raw counter at the origin: a reading is one counter read and one scaling.
    origin: u64,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        SystemClock { clock, origin }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

/// A clock that moves only when told to, so tests step time without sleeping.
///
/// Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let seen_by_circuit = clock.clone();
/// clock.advance(Duration::from_secs(3));
/// assert_eq!(seen_by_circuit.now(), Duration::from_secs(3));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
    wall_origin: SystemTime,
}

impl ManualClock {
    /// A clock at time zero whose wall time starts at the Unix epoch plus 1,700,000,000 s
    /// (November 2023), a fixed point so that tests are reproducible.
    pub fn new() -> ManualClock {
        ManualClock {
            nanos: Arc::new(AtomicU64::new(0)),
            wall_origin: SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(1_700_000_000))
                .unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }

    /// Moves the clock forward by `step`, stopping at the end of its range (`u64::MAX`
    /// nanoseconds, 584 years) rather than wrapping.
    pub fn advance(&self, step: Duration) {
        let step = duration_nanos(step);
        // The closure never returns `None`, so the update cannot fail.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(step))
            });
    }

    /// Sets the clock to `now` since its origin; never moves it backwards.
    pub fn set(&self, now: Duration) {
        self.nanos.fetch_max(duration_nanos(now), Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }

    fn wall(&self) -> SystemTime {
        self.wall_origin
            .checked_add(self.now())
            .unwrap_or(self.wall_origin)
    }
}

/// Nanoseconds of a duration, saturating at `u64::MAX` (584 years).
pub(crate) fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_never_backwards() {
        let clock = ManualClock::new();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), Duration::from_millis(1500));
        clock.set(Duration::from_secs(1));
        assert_eq!(clock.now(), Duration::from_millis(1500));
        clock.set(Duration::from_secs(10));
        assert_eq!(clock.now(), Duration::from_secs(10));
        assert_eq!(
            clock.wall(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_010)
        );
    }

    #[test]
    fn manual_clock_saturates_at_the_end_of_its_range() {
        let clock = ManualClock::new();
        clock.advance(Duration::MAX);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), Duration::from_nanos(u64::MAX));
        // The wall time of a saturated clock is still a valid time.
        assert!(clock.wall() >= SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn system_clock_is_monotonic() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
    }
}
