//! What a [`CircuitBreaker`](crate::CircuitBreaker)'s calls fail with: a [`BoxError`], like
//! every tower middleware's, so the breaker stacks with `timeout`, `Buffer`, `LoadShed`,
//! `ConcurrencyLimit` or `retry` and `?` needs no `map_err`.
//!
//! The box holds either a [`Rejected`] (the circuit refused the call; recover it with
//! `error.downcast_ref::<Rejected>()`) or the inner service's own error, unchanged: an inner
//! error that already is a `BoxError` is not boxed again. [`retry_after_secs`] turns a
//! rejection's wait into a `Retry-After` value; the HTTP responses themselves live with
//! feature `http`.

use std::time::Duration;

pub use fusebox_core::Rejected;

/// A type-erased error, as tower uses it: the error of every fusebox service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The `Retry-After` value for a wait: whole seconds, rounded up, at least 1.
///
/// A client told `0` would retry at once and be rejected again, so the floor is one second.
///
/// ```
/// use std::time::Duration;
/// use fusebox::retry_after_secs;
///
/// assert_eq!(retry_after_secs(Duration::ZERO), 1);
/// assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
/// assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
/// ```
pub fn retry_after_secs(wait: Duration) -> u64 {
    let partial = u64::from(wait.subsec_nanos() > 0);
    wait.as_secs().saturating_add(partial).max(1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use fusebox_core::State;

    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_with_a_floor_of_one() {
        let cases = [
            (Duration::ZERO, 1),
            (Duration::from_millis(1), 1),
            (Duration::from_millis(999), 1),
            (Duration::from_millis(1000), 1),
            (Duration::from_millis(1001), 2),
            (Duration::from_nanos(2_000_000_001), 3),
            (Duration::from_secs(60), 60),
            (Duration::MAX, u64::MAX),
        ];
        for (wait, secs) in cases {
            assert_eq!(retry_after_secs(wait), secs, "{wait:?}");
        }
    }

    #[test]
    fn boxed_rejection_keeps_its_text_and_downcasts_whole() {
        let rejected = Rejected::new(
            Arc::from("inventory"),
            State::Open,
            Some(Duration::from_millis(1500)),
        );
        let error: BoxError = Box::new(rejected.clone());
        assert_eq!(
            error.to_string(),
            "circuit 'inventory' is open and rejected the call; retry after 1.500s"
        );
        assert!(error.source().is_none());
        assert_eq!(error.downcast_ref::<Rejected>(), Some(&rejected));
    }
}
