//! [`LogListener`]: every transition as one `tracing` event.

use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use fusebox_core::{Signal, State};
use tower_service::Service;
use tracing::Level;

use crate::listener::log_event::Callsites;

/// The target events go to unless [`LogListener::target`] says otherwise.
const DEFAULT_TARGET: &str = "fusebox";

/// Logs each transition as one `tracing` event.
///
/// The message reads `Circuit Breaker 'inventory' transitioned from CLOSED to OPEN`, and the
/// event carries the fields `circuit_name`, `old_state`, `new_state` (states in lowercase, as
/// in [`State::as_str`]) and `cause` ([`Cause::as_str`](fusebox_core::Cause::as_str)).
/// Transitions to `OPEN` and `FORCED_OPEN` log at `WARN`, all others at `INFO`;
/// [`level`](LogListener::level) changes that per state. Events go to the target `fusebox`
/// unless [`target`](LogListener::target) names another. Registration signals are not
/// transitions and are not logged.
///
/// It never fails and never waits, so it needs no middleware. Its events go to `tracing`
/// subscribers only: `tracing`'s fallback to the `log` crate (its `log` feature) does not see
/// them, because that fallback lives in `tracing`'s macros and these events are built at run
/// time to make the target configurable.
///
/// ```
/// use std::time::SystemTime;
/// use fusebox::listener::LogListener;
/// use fusebox_core::{Cause, Metrics, Signal, State};
/// use tower::ServiceExt;
/// use tracing::Level;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let listener = LogListener::new()
///     .target("myapp::breakers")
///     .level(State::HalfOpen, Level::DEBUG);
/// assert_eq!(listener.level_for(State::Open), Level::WARN);
/// assert_eq!(listener.level_for(State::HalfOpen), Level::DEBUG);
///
/// // Logs `Circuit Breaker 'inventory' transitioned from CLOSED to OPEN` at WARN.
/// let signal = Signal {
///     circuit: "inventory".into(),
///     from: State::Closed,
///     to: State::Open,
///     at: SystemTime::now(),
///     cause: Cause::Tripped { rule: "failure_rate(0.5)".into() },
///     metrics: Metrics::default(),
/// };
/// listener.oneshot(signal).await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct LogListener {
    callsites: &'static Callsites,
    /// The level of a transition, indexed by the state it enters (`State::ALL` order).
    levels: [Level; 6],
}

impl LogListener {
    /// A listener with the default levels and the target `fusebox`.
    ///
    /// ```
    /// use fusebox::listener::LogListener;
    /// use fusebox_core::State;
    /// use tracing::Level;
    ///
    /// let listener = LogListener::new();
    /// assert_eq!(listener.level_for(State::ForcedOpen), Level::WARN);
    /// assert_eq!(listener.level_for(State::Closed), Level::INFO);
    /// ```
    pub fn new() -> Self {
        LogListener {
            callsites: Callsites::of(DEFAULT_TARGET),
            levels: State::ALL.map(default_level),
        }
    }

    /// Sends events to `target` instead of `fusebox`, so filters such as
    /// `RUST_LOG=myapp::breakers=warn` apply to them.
    ///
    /// Each distinct target allocates a few hundred bytes once for the life of the process
    /// (`tracing` needs `'static` callsites); use a handful of fixed targets, not one per
    /// circuit.
    ///
    /// ```
    /// use fusebox::listener::LogListener;
    ///
    /// let listener = LogListener::new().target("myapp::breakers");
    /// assert_eq!(
    ///     format!("{listener:?}"),
    ///     "LogListener { target: \"myapp::breakers\", levels: {closed: INFO, open: WARN, \
    ///      half_open: INFO, metrics_only: INFO, disabled: INFO, forced_open: WARN} }"
    /// );
    /// ```
    pub fn target(mut self, target: &str) -> Self {
        self.callsites = Callsites::of(target);
        self
    }

    /// Logs transitions into `state` at `level`; other states keep their level.
    ///
    /// ```
    /// use fusebox::listener::LogListener;
    /// use fusebox_core::State;
    /// use tracing::Level;
    ///
    /// let listener = LogListener::new().level(State::Open, Level::ERROR);
    /// assert_eq!(listener.level_for(State::Open), Level::ERROR);
    /// assert_eq!(listener.level_for(State::ForcedOpen), Level::WARN);
    /// ```
    pub fn level(mut self, state: State, level: Level) -> Self {
        self.levels[index(state)] = level;
        self
    }

    /// The level at which transitions into `state` are logged.
    ///
    /// ```
    /// use fusebox::listener::LogListener;
    /// use fusebox_core::State;
    /// use tracing::Level;
    ///
    /// assert_eq!(LogListener::new().level_for(State::HalfOpen), Level::INFO);
    /// ```
    pub fn level_for(&self, state: State) -> Level {
        self.levels[index(state)]
    }

    fn log(&self, signal: &Signal) {
        if signal.is_registration() {
            return;
        }
        let message = format_args!(
            "Circuit Breaker '{}' transitioned from {} to {}",
            signal.circuit,
            signal.from.as_upper_str(),
            signal.to.as_upper_str()
        );
        self.callsites.at(self.level_for(signal.to)).emit([
            &message,
            &&*signal.circuit,
            &signal.from.as_str(),
            &signal.to.as_str(),
            &signal.cause.as_str(),
        ]);
    }
}

fn default_level(state: State) -> Level {
    match state {
        State::Open | State::ForcedOpen => Level::WARN,
        _ => Level::INFO,
    }
}

fn index(state: State) -> usize {
    State::ALL.iter().position(|s| *s == state).unwrap_or(0)
}

impl Default for LogListener {
    fn default() -> Self {
        LogListener::new()
    }
}

impl fmt::Debug for LogListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// `closed: INFO, open: WARN, …`
        struct Levels<'a>(&'a [Level; 6]);

        /// Debug output without the quotes.
        struct Plain<T>(T);

        impl<T: fmt::Display> fmt::Debug for Plain<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for Levels<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(
                        State::ALL
                            .iter()
                            .zip(self.0)
                            .map(|(state, level)| (Plain(state.as_str()), Plain(level))),
                    )
                    .finish()
            }
        }

        f.debug_struct("LogListener")
            .field("target", &self.callsites.target())
            .field("levels", &Levels(&self.levels))
            .finish()
    }
}

impl Service<Signal> for LogListener {
    type Response = ();
    type Error = Infallible;
    type Future = Ready<Result<(), Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, signal: Signal) -> Self::Future {
        self.log(&signal);
        ready(Ok(()))
    }
}
