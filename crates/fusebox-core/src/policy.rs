//! [`Policy`]: everything that decides a circuit's behaviour, with the spec's defaults, and its
//! builder whose `build()` validates every value.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Permit, Retry, TripRule, Window};

/// How a circuit decides: window, trip rule, retry, permits and probe limits.
///
/// Build one with [`Policy::builder`]; invalid values are rejected by
/// [`PolicyBuilder::build`], never at call time.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::{Policy, Retry, Window};
/// use fusebox_core::trip::{failure_rate, min_requests};
///
/// let policy = Policy::builder()
///     .window(Window::time(Duration::from_secs(30)))
///     .trip(min_requests(20) & failure_rate(0.5))
///     .retry(Retry::cooldown(Duration::from_secs(10)))
///     .build()?;
/// assert_eq!(policy.trip().to_string(), "min_requests(20) & failure_rate(0.5)");
///
/// let err = Policy::builder().window(Window::count(0)).build().unwrap_err();
/// assert_eq!(err.to_string(), "invalid policy: window = count(0): count(n) needs 1 <= n <= 1000000");
/// # Ok::<(), fusebox_core::PolicyError>(())
/// ```
#[derive(Clone)]
pub struct Policy {
    // Shared: every circuit of a registry holds the same policy, and a clone is one count.
    inner: Arc<Settings>,
}

#[derive(Debug)]
struct Settings {
    window: Window,
    trip: TripRule,
    retry: Retry,
    permit: Permit,
    max_concurrent_probes: u32,
    close_after: u32,
    max_wait: Duration,
    record_latency: bool,
    // Derived once at build time so the hot path never walks the rule tree to find them.
    measures_latency: bool,
    slow_thresholds: Arc<[Duration]>,
    trip_text: Arc<str>,
    quiet: crate::trip::Quiet,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &*self.inner;
        f.debug_struct("Policy")
            .field("window", &settings.window)
            .field("trip", &settings.trip)
            .field("retry", &settings.retry)
            .field("permit", &settings.permit)
            .field("max_concurrent_probes", &settings.max_concurrent_probes)
            .field("close_after", &settings.close_after)
            .field("max_wait", &settings.max_wait)
            .field("record_latency", &settings.record_latency)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// The window the trip rule reads.
    pub fn window(&self) -> Window {
        self.inner.window
    }

    /// The rule that opens the circuit.
    pub fn trip(&self) -> &TripRule {
        &self.inner.trip
    }

    /// The trip rule's text, as carried by signals.
    pub fn trip_text(&self) -> &Arc<str> {
        &self.inner.trip_text
    }

    /// When an open circuit lets a probe through.
    pub fn retry(&self) -> Retry {
        self.inner.retry
    }

    /// Which calls a half-open circuit admits.
    pub fn permit(&self) -> Permit {
        self.inner.permit
    }

    /// The most probes in flight at once in `half_open`.
    pub fn max_concurrent_probes(&self) -> u32 {
        self.inner.max_concurrent_probes
    }

    /// Probe successes needed to close a half-open circuit.
    pub fn close_after(&self) -> u32 {
        self.inner.close_after
    }

    /// How long a half-open circuit waits for a probe outcome before returning to `open`.
    pub fn max_wait(&self) -> Duration {
        self.inner.max_wait
    }

    /// Whether call durations are measured: the trip rule reads latency, or
    /// [`PolicyBuilder::record_latency`] asked for it. Otherwise the closed-state path reads no
    /// clock at all (with a count window).
    pub fn measures_latency(&self) -> bool {
        self.inner.measures_latency
    }

    /// Bytes one circuit with this policy takes on this machine, allocations included, its
    /// name excluded (a circuit keeps one copy of it per core, plus one): its state, one set of
    /// counters per core (up to 64), and its window. A registry of `n` keyed circuits costs
    /// about `n` times this.
    ///
    /// The window dominates for large ones: `count(n)` takes one bit per call without latency
    /// (`record_latency` or a latency rule) and 8 bytes per call with it; `time(d)` takes 16
    /// bytes per second and core, more with latency.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_core::{Policy, Window};
    ///
    /// let small = Policy::default().memory_per_circuit();
    /// assert!(small <= 1024, "count(100) costs {small} bytes");
    /// let large = Policy::builder().window(Window::count(1_000_000)).build()?;
    /// assert!(large.memory_per_circuit() > 100_000);
    /// # Ok::<(), fusebox_core::PolicyError>(())
    /// ```
    pub fn memory_per_circuit(&self) -> usize {
        crate::circuit::bytes(self)
    }

    /// How the trip rule reads a closed window without failures (see `trip::Quiet`).
    pub(crate) fn quiet(&self) -> crate::trip::Quiet {
        self.inner.quiet
    }

    /// Every slow-call threshold the window tracks (those named by the trip rule), ascending.
    pub fn slow_thresholds(&self) -> &[Duration] {
        &self.inner.slow_thresholds
    }
}

impl Default for Policy {
    /// `count(100)`, `min_requests(100) & failure_rate(0.5)`, `cooldown(60s)`,
    /// `ramp_up(0.1, 1, 60s)`, 10 concurrent probes, close after 1 success, max wait 60 s.
    fn default() -> Self {
        PolicyBuilder::default().assemble()
    }
}

impl fmt::Display for Policy {
    /// One line, every field in its text form, as the admin API shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "window={} trip={} retry={} permit={} max_concurrent_probes={} close_after={} max_wait={}",
            self.inner.window,
            self.inner.trip,
            self.inner.retry,
            self.inner.permit,
            self.inner.max_concurrent_probes,
            self.inner.close_after,
            crate::duration::display(self.inner.max_wait),
        )?;
        if self.inner.record_latency {
            f.write_str(" record_latency=true")?;
        }
        Ok(())
    }
}

/// Builds a [`Policy`]; see [`Policy::builder`].
#[derive(Clone, Debug)]
pub struct PolicyBuilder {
    window: Window,
    trip: TripRule,
    retry: Retry,
    permit: Permit,
    max_concurrent_probes: u32,
    close_after: u32,
    max_wait: Duration,
    record_latency: bool,
}

impl Default for PolicyBuilder {
    fn default() -> Self {
        PolicyBuilder {
            window: Window::default(),
            trip: TripRule::default(),
            retry: Retry::default(),
            permit: Permit::default(),
            max_concurrent_probes: 10,
            close_after: 1,
            max_wait: Duration::from_secs(60),
            record_latency: false,
        }
    }
}

impl PolicyBuilder {
    /// The window the trip rule reads. Default `count(100)`.
    #[must_use]
    pub fn window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// The rule that opens the circuit. Default `min_requests(100) & failure_rate(0.5)`.
    #[must_use]
    pub fn trip(mut self, trip: TripRule) -> Self {
        self.trip = trip;
        self
    }

    /// When an open circuit lets a probe through. Default `cooldown(60s)`.
    #[must_use]
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Which calls a half-open circuit admits. Default `ramp_up(0.1, 1, 60s)`.
    #[must_use]
    pub fn permit(mut self, permit: Permit) -> Self {
        self.permit = permit;
        self
    }

    /// The most probes in flight at once in `half_open` (≥ 1). Default 10.
    #[must_use]
    pub fn max_concurrent_probes(mut self, probes: u32) -> Self {
        self.max_concurrent_probes = probes;
        self
    }

    /// Probe successes needed to close a half-open circuit (≥ 1). Default 1.
    #[must_use]
    pub fn close_after(mut self, successes: u32) -> Self {
        self.close_after = successes;
        self
    }

    /// How long a half-open circuit with probes in flight waits for an outcome before returning
    /// to `open` (> 0). Default 60 s.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Measures every call's duration even when the trip rule does not read latency, so that
    /// metrics show average latency. Default: measured only when the rule needs it, which
    /// keeps clock reads off the hot path.
    #[must_use]
    pub fn record_latency(mut self, record: bool) -> Self {
        self.record_latency = record;
        self
    }

    /// Validates every value and builds the policy.
    ///
    /// # Errors
    /// A [`PolicyError`] naming the first invalid field, its value and what is allowed.
    pub fn build(self) -> Result<Policy, PolicyError> {
        fn check(
            field: &'static str,
            value: &dyn fmt::Display,
            result: Result<(), &'static str>,
        ) -> Result<(), PolicyError> {
            result.map_err(|allowed| PolicyError {
                field,
                value: value.to_string(),
                allowed: allowed.to_owned(),
            })
        }
        check("window", &self.window, self.window.validate())?;
        self.trip.validate().map_err(|err| PolicyError {
            field: "trip",
            value: err.rule().to_owned(),
            allowed: err.allowed().to_owned(),
        })?;
        check("retry", &self.retry, self.retry.validate())?;
        check("permit", &self.permit, self.permit.validate())?;
        check(
            "max_concurrent_probes",
            &self.max_concurrent_probes,
            if self.max_concurrent_probes == 0 {
                Err("max_concurrent_probes needs at least 1")
            } else {
                Ok(())
            },
        )?;
        check(
            "close_after",
            &self.close_after,
            if self.close_after == 0 {
                Err("close_after needs at least 1")
            } else {
                Ok(())
            },
        )?;
        check(
            "max_wait",
            &crate::duration::display(self.max_wait),
            if self.max_wait.is_zero() {
                Err("max_wait needs a duration > 0")
            } else {
                Ok(())
            },
        )?;
        Ok(self.assemble())
    }

    /// The policy these values make, validated or not.
    fn assemble(self) -> Policy {
        let settings = Settings {
            measures_latency: self.record_latency || self.trip.needs_latency(),
            slow_thresholds: self.trip.slow_thresholds().into(),
            trip_text: self.trip.to_string().into(),
            quiet: self.trip.quiet(),
            window: self.window,
            trip: self.trip,
            retry: self.retry,
            permit: self.permit,
            max_concurrent_probes: self.max_concurrent_probes,
            close_after: self.close_after,
            max_wait: self.max_wait,
            record_latency: self.record_latency,
        };
        Policy {
            inner: Arc::new(settings),
        }
    }
}

/// A policy value outside its allowed range; `Display` says which field and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    field: &'static str,
    value: String,
    allowed: String,
}

impl PolicyError {
    /// The invalid field: `window`, `trip`, `retry`, `permit`, `max_concurrent_probes`,
    /// `close_after` or `max_wait`.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The invalid value in its text form (for `trip`, the offending rule).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What the field allows.
    pub fn allowed(&self) -> &str {
        &self.allowed
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid policy: {} = {}: {}",
            self.field, self.value, self.allowed
        )
    }
}

impl std::error::Error for PolicyError {}
