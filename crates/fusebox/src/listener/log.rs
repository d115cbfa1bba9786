//! [`LogListener`]: every transition as one `tracing` event.

use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use fusebox_core::{Signal, State};
use tower_service::Service;
use tracing::Level;

use crate::listener::Handled;

/// Logs each transition as one `tracing` event.
///
/// The message reads `Circuit Breaker 'inventory' transitioned from CLOSED to OPEN`, and the
/// event carries the fields `circuit_name`, `old_state`, `new_state` (states in lowercase, as
/// in [`State::as_str`]) and `cause` ([`Cause::as_str`](fusebox_core::Cause::as_str)).
/// Transitions to `OPEN` and `FORCED_OPEN` log at `WARN`, all others at `INFO`;
/// [`level`](LogListener::level) changes that per state. Registration signals are not
/// transitions: they are not logged, and the stack counts them as
/// [`skipped`](crate::listener::ListenerStats::skipped).
///
/// Events go to the target `fusebox`, so `RUST_LOG=fusebox=warn` or a `Targets` filter on
/// `fusebox` selects them. They are plain `tracing` macro events: subscribers cache their
/// interest as for any other, and with `tracing`'s `log` feature they reach `log` loggers
/// when no subscriber is set. It never fails and never waits, so it needs no middleware.
///
/// ```
/// use std::time::SystemTime;
/// use fusebox::listener::{Handled, LogListener};
/// use fusebox_core::{Cause, Metrics, Signal, State};
/// use tower::ServiceExt;
/// use tracing::Level;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let listener = LogListener::new().level(State::HalfOpen, Level::DEBUG);
/// assert_eq!(listener.level_for(State::Open), Level::WARN);
/// assert_eq!(listener.level_for(State::HalfOpen), Level::DEBUG);
///
/// // Logs `Circuit Breaker 'inventory' transitioned from CLOSED to OPEN` at WARN.
/// let signal = Signal::new("inventory", State::Closed, State::Open, Cause::Tripped { rule: "failure_rate(0.5)".into() });
/// assert_eq!(listener.oneshot(signal).await, Ok(Handled::Delivered));
/// # }
/// ```
///
/// To log under a target of your own, write the listener yourself: any `Service<Signal>` is a
/// listener.
///
/// ```
/// use std::convert::Infallible;
/// use fusebox::listener::ListenerStack;
/// use fusebox_core::Signal;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), fusebox::listener::BuildError> {
/// let audit = tower::service_fn(|signal: Signal| async move {
///     tracing::info!(
///         target: "myapp::audit",
///         circuit = &*signal.circuit,
///         to = signal.to.as_str(),
///         "breaker moved"
///     );
///     Ok::<_, Infallible>(())
/// });
/// let stack = ListenerStack::builder().listener("audit", audit).build()?;
/// # let _ = stack;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct LogListener {
    /// The level of a transition, indexed by the state it enters (`State::ALL` order).
    levels: [Level; 6],
}

impl LogListener {
    /// A listener with the default levels.
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
            levels: State::ALL.map(default_level),
        }
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

    fn log(&self, signal: &Signal) -> Handled {
        if signal.is_registration() {
            return Handled::Skipped;
        }
        // `tracing`'s macros take the level as a constant (it is part of each call site's
        // static metadata), hence one call site per level.
        macro_rules! transition {
            ($level:expr) => {
                tracing::event!(
                    target: "fusebox",
                    $level,
                    circuit_name = &*signal.circuit,
                    old_state = signal.from.as_str(),
                    new_state = signal.to.as_str(),
                    cause = signal.cause.as_str(),
                    "Circuit Breaker '{}' transitioned from {} to {}",
                    signal.circuit,
                    signal.from.as_upper_str(),
                    signal.to.as_upper_str(),
                )
            };
        }
        match self.level_for(signal.to) {
            Level::ERROR => transition!(Level::ERROR),
            Level::WARN => transition!(Level::WARN),
            Level::INFO => transition!(Level::INFO),
            Level::DEBUG => transition!(Level::DEBUG),
            _ => transition!(Level::TRACE),
        }
        Handled::Delivered
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
            .field("levels", &Levels(&self.levels))
            .finish()
    }
}

impl Service<Signal> for LogListener {
    type Response = Handled;
    type Error = Infallible;
    type Future = Ready<Result<Handled, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, signal: Signal) -> Self::Future {
        ready(Ok(self.log(&signal)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::SystemTime;

    use fusebox_core::Cause;

    use super::*;

    /// A `log` logger keeping `(target, level, text)` of every record.
    struct Records(Mutex<Vec<(String, log::Level, String)>>);

    impl log::Log for Records {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &log::Record<'_>) {
            let entry = (
                record.target().to_owned(),
                record.level(),
                record.args().to_string(),
            );
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
        }

        fn flush(&self) {}
    }

    static RECORDS: Records = Records(Mutex::new(Vec::new()));

    /// The only test of this binary that touches `log` or sets a `tracing` dispatcher: the
    /// fallback applies only while no dispatcher was ever set in the process.
    #[test]
    fn without_a_subscriber_transitions_reach_log_loggers() {
        log::set_logger(&RECORDS).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        let signal = Signal::new(
            "inventory",
            State::Closed,
            State::Open,
            Cause::Tripped {
                rule: "failure_rate(0.5)".into(),
            },
        )
        .with_at(SystemTime::UNIX_EPOCH);
        assert_eq!(LogListener::new().log(&signal), Handled::Delivered);

        let records = RECORDS.0.lock().unwrap().clone();
        let records: Vec<_> = records.into_iter().filter(|r| r.0 == "fusebox").collect();
        assert_eq!(
            records,
            [(
                "fusebox".to_owned(),
                log::Level::Warn,
                "Circuit Breaker 'inventory' transitioned from CLOSED to OPEN \
                 circuit_name=\"inventory\" old_state=\"closed\" new_state=\"open\" \
                 cause=\"tripped\""
                    .to_owned()
            )]
        );
    }
}
