//! The errors of the listener stack: [`BuildError`] when it cannot be built, [`FlushTimeout`]
//! when listeners fall behind, and [`error_chain`], how listener errors are written.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The largest queue capacity: tokio's bounded channel counts its free slots with a semaphore,
/// which holds at most this many permits.
pub(crate) const MAX_QUEUE_CAPACITY: usize = Semaphore::MAX_PERMITS;

/// Why [`ListenerStackBuilder::build`](crate::listener::ListenerStackBuilder::build) refused
/// to build a stack. `Display` says what to change.
///
/// ```
/// use fusebox::listener::{BuildError, ListenerStack};
///
/// let err = ListenerStack::builder().queue_capacity(0).build().unwrap_err();
/// assert_eq!(err, BuildError::ZeroCapacity);
/// assert_eq!(
///     err.to_string(),
///     "queue_capacity must be at least 1 (the default is 1024)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Listeners were added but no tokio runtime was running to spawn their workers on.
    NoRuntime,
    /// [`queue_capacity`](crate::listener::ListenerStackBuilder::queue_capacity) was 0.
    ZeroCapacity,
    /// [`queue_capacity`](crate::listener::ListenerStackBuilder::queue_capacity) was more
    /// than a tokio channel can hold.
    CapacityTooLarge {
        /// The capacity asked for.
        capacity: usize,
        /// The largest capacity there is (`tokio::sync::Semaphore::MAX_PERMITS`).
        max: usize,
    },
    /// Two listeners share this name; stats and flush errors name listeners, so names must
    /// be distinct.
    DuplicateName(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoRuntime => f.write_str(
                "build the listener stack inside a tokio runtime (e.g. in #[tokio::main]): \
                 each listener gets a worker task, and no runtime is running on this thread",
            ),
            BuildError::ZeroCapacity => {
                f.write_str("queue_capacity must be at least 1 (the default is 1024)")
            }
            BuildError::CapacityTooLarge { capacity, max } => write!(
                f,
                "queue_capacity {capacity} is more than a tokio channel can hold; use at most \
                 {max} (the default is 1024; a queue only fills while its listener is behind)"
            ),
            BuildError::DuplicateName(name) => write!(
                f,
                "two listeners are named '{name}'; give each listener a distinct name"
            ),
        }
    }
}

impl Error for BuildError {}

/// Some listeners had not handled every signal when the time ran out.
///
/// Returned by [`ListenerStack::flush`](crate::listener::ListenerStack::flush) and
/// [`ListenerStack::shutdown`](crate::listener::ListenerStack::shutdown).
///
/// ```
/// use std::convert::Infallible;
/// use std::future::pending;
/// use std::time::Duration;
/// use fusebox::listener::ListenerStack;
/// use fusebox_core::{Cause, Metrics, Signal, State};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let stuck = tower::service_fn(|_: Signal| pending::<Result<(), Infallible>>());
/// let stack = ListenerStack::builder().listener("stuck", stuck).build()?;
/// stack.send(Signal::new("inventory", State::Closed, State::Open, Cause::MANUAL));
///
/// let err = stack.flush(Duration::from_millis(50)).await.unwrap_err();
/// assert_eq!(err.listeners(), ["stuck"]);
/// assert_eq!(err.timeout(), Duration::from_millis(50));
/// assert_eq!(
///     err.to_string(),
///     "listeners still behind after 50ms: stuck (1 signal pending)"
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlushTimeout {
    behind: Vec<(String, u64)>,
    timeout: Duration,
}

impl FlushTimeout {
    pub(crate) fn new(behind: Vec<(String, u64)>, timeout: Duration) -> Self {
        FlushTimeout { behind, timeout }
    }

    /// The names of the listeners that were still behind, in registration order.
    pub fn listeners(&self) -> Vec<&str> {
        self.behind.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// The timeout that ran out.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl fmt::Display for FlushTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "listeners still behind after {:?}: ", self.timeout)?;
        for (index, (name, pending)) in self.behind.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            let plural = if *pending == 1 { "" } else { "s" };
            write!(f, "{name} ({pending} signal{plural} pending)")?;
        }
        Ok(())
    }
}

impl Error for FlushTimeout {}

/// Writes `error` followed by its sources, joined by `: `, as the listener stack logs
/// listener errors: `could not reach Slack: error sending request: connection refused`.
///
/// An error's `Display` shows only the error itself, by convention; its sources say why.
/// A log line or a message kept as text needs both, and listener crates use this function so
/// that their texts read like the stack's.
///
/// ```
/// use fusebox::listener::error_chain;
///
/// #[derive(Debug)]
/// struct SendFailed(std::io::Error);
///
/// impl std::fmt::Display for SendFailed {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("send failed")
///     }
/// }
///
/// impl std::error::Error for SendFailed {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let error = SendFailed(std::io::Error::other("connection refused"));
/// assert_eq!(error_chain(&error).to_string(), "send failed: connection refused");
/// ```
pub fn error_chain<'a>(error: &'a (dyn Error + 'static)) -> impl fmt::Display + 'a {
    ErrorChain(error)
}

struct ErrorChain<'a>(&'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_timeout_lists_every_listener_behind_with_its_backlog() {
        let err = FlushTimeout::new(
            vec![("slack".to_owned(), 3), ("webhook".to_owned(), 1)],
            Duration::from_secs(2),
        );
        assert_eq!(err.listeners(), ["slack", "webhook"]);
        assert_eq!(
            err.to_string(),
            "listeners still behind after 2s: slack (3 signals pending), webhook (1 signal pending)"
        );
    }

    #[test]
    fn error_chain_without_sources_is_the_error_alone() {
        let error = std::io::Error::other("connection refused");
        assert_eq!(error_chain(&error).to_string(), "connection refused");
    }

    #[test]
    fn build_errors_say_what_to_fix() {
        assert_eq!(
            BuildError::CapacityTooLarge {
                capacity: usize::MAX,
                max: MAX_QUEUE_CAPACITY
            }
            .to_string(),
            format!(
                "queue_capacity {} is more than a tokio channel can hold; use at most {} \
                 (the default is 1024; a queue only fills while its listener is behind)",
                usize::MAX,
                usize::MAX >> 3
            )
        );
        assert_eq!(
            BuildError::NoRuntime.to_string(),
            "build the listener stack inside a tokio runtime (e.g. in #[tokio::main]): \
             each listener gets a worker task, and no runtime is running on this thread"
        );
        assert_eq!(
            BuildError::DuplicateName("log".to_owned()).to_string(),
            "two listeners are named 'log'; give each listener a distinct name"
        );
    }
}
