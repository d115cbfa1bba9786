//! What a [`CircuitBreaker`](crate::CircuitBreaker)'s calls fail with: a [`BoxError`], like
//! every tower middleware's, so the breaker stacks with `timeout`, `Buffer`, `LoadShed`,
//! `ConcurrencyLimit` or `retry` and `?` needs no `map_err`.
//!
//! The box holds either a [`Rejected`] (the circuit refused the call; recover it with
//! `error.downcast_ref::<Rejected>()`) or the inner service's own error, unchanged: an inner
//! error that already is a `BoxError` is not boxed again. [`retry_after_secs`] turns a
//! rejection's wait into a `Retry-After` value; the HTTP responses themselves live with
//! feature `http`.

pub use fusebox_core::Rejected;
pub use fusebox_core::duration::retry_after_secs;

/// A type-erased error, as tower uses it: the error of every fusebox service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use fusebox_core::State;

    use super::*;

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
