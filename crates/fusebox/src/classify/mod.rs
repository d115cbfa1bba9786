//! Deciding how a finished call counts for its circuit: the [`Classify`] trait and the
//! classifiers that come with fusebox.
//!
//! A classifier looks at a call's `&Result<Response, Error>` and answers an [`Outcome`]:
//! `Success` and `Failure` are recorded, `Ignored` is not (the call does not count at all).
//!
//! - [`DefaultClassifier`]: `Ok` is a success, every `Err` a failure.
//! - [`failure_when`]: a predicate saying which results are failures; any closure
//!   `Fn(&Result<Res, E>) -> Outcome` is a classifier too.
//! - `HttpClassifier` (feature `http`): 5xx responses and transport errors are failures;
//!   another fusebox layer's 503 for a rejection does not count.
//! - [`ClassifyExt`]: combine classifiers with `and`, `or` and `not`.
//!
//! A classifier is cloned once per call (into the response future): keep it cheap to clone,
//! or share it behind an [`Arc`].
//!
//! What happens with the outcome (windows, trip rules) is `fusebox_core`'s business, not this
//! module's.

use std::fmt;
use std::sync::Arc;

pub use fusebox_core::Outcome;

mod combinators;

pub use self::combinators::{And, ClassifyExt, Not, Or};
#[cfg(feature = "http")]
pub use crate::http::HttpClassifier;

/// Decides how a finished call counts for its circuit.
///
/// Implemented by the classifiers of this module and by every closure
/// `Fn(&Result<Res, E>) -> Outcome`.
///
/// ```
/// use fusebox::classify::{Classify, Outcome};
///
/// // A timeout is not the service's fault here: it does not count.
/// let classifier = |result: &Result<u16, &str>| match result {
///     Ok(_) => Outcome::Success,
///     Err(error) if *error == "timeout" => Outcome::Ignored,
///     Err(_) => Outcome::Failure,
/// };
/// assert_eq!(classifier.classify(&Ok(200)), Outcome::Success);
/// assert_eq!(classifier.classify(&Err("timeout")), Outcome::Ignored);
/// assert_eq!(classifier.classify(&Err("refused")), Outcome::Failure);
/// ```
pub trait Classify<Res, E> {
    /// The outcome of a call that finished with `result`.
    fn classify(&self, result: &Result<Res, E>) -> Outcome;
}

impl<F, Res, E> Classify<Res, E> for F
where
    F: Fn(&Result<Res, E>) -> Outcome,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        self(result)
    }
}

impl<C, Res, E> Classify<Res, E> for Arc<C>
where
    C: Classify<Res, E> + ?Sized,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        (**self).classify(result)
    }
}

/// The classifier a layer starts with: `Ok` is a success, every `Err` a failure.
///
/// ```
/// use fusebox::classify::{Classify, DefaultClassifier, Outcome};
///
/// assert_eq!(DefaultClassifier.classify(&Ok::<_, ()>("hello")), Outcome::Success);
/// assert_eq!(DefaultClassifier.classify(&Err::<(), _>("boom")), Outcome::Failure);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultClassifier;

impl<Res, E> Classify<Res, E> for DefaultClassifier {
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// A classifier from a predicate: results it holds true for are failures, the others
/// successes.
///
/// ```
/// use fusebox::classify::{self, Classify, Outcome};
///
/// // An empty answer is as bad as an error.
/// let classifier = classify::failure_when(|result: &Result<Vec<u8>, ()>| {
///     result.as_ref().map_or(true, Vec::is_empty)
/// });
/// assert_eq!(classifier.classify(&Ok(vec![1])), Outcome::Success);
/// assert_eq!(classifier.classify(&Ok(vec![])), Outcome::Failure);
/// assert_eq!(classifier.classify(&Err(())), Outcome::Failure);
/// ```
pub fn failure_when<Res, E, F>(predicate: F) -> FailureWhen<F>
where
    F: Fn(&Result<Res, E>) -> bool,
{
    FailureWhen { predicate }
}

/// A classifier from a predicate; see [`failure_when`].
#[derive(Clone, Copy)]
pub struct FailureWhen<F> {
    predicate: F,
}

impl<F, Res, E> Classify<Res, E> for FailureWhen<F>
where
    F: Fn(&Result<Res, E>) -> bool,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        if (self.predicate)(result) {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    }
}

impl<F> fmt::Debug for FailureWhen<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailureWhen")
            .field("predicate", &std::any::type_name::<F>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Ignored];

    /// A classifier answering `outcome` whatever the result.
    fn constant(outcome: Outcome) -> impl Fn(&Result<(), ()>) -> Outcome + Clone {
        move |_| outcome
    }

    #[test]
    fn default_classifier_fails_errors_only() {
        assert_eq!(
            DefaultClassifier.classify(&Ok::<_, ()>(())),
            Outcome::Success
        );
        assert_eq!(
            DefaultClassifier.classify(&Err::<(), _>(())),
            Outcome::Failure
        );
    }

    #[test]
    fn not_swaps_success_and_failure_and_keeps_ignored() {
        let expected = [Outcome::Failure, Outcome::Success, Outcome::Ignored];
        for (outcome, expected) in ALL.into_iter().zip(expected) {
            assert_eq!(constant(outcome).not().classify(&Ok(())), expected);
        }
    }

    #[test]
    fn and_fails_only_when_both_fail_and_ignores_when_either_ignores() {
        use Outcome::{Failure as F, Ignored as I, Success as S};
        let table = [
            (S, S, S),
            (S, F, S),
            (F, S, S),
            (F, F, F),
            (I, S, I),
            (I, F, I),
            (S, I, I),
            (F, I, I),
            (I, I, I),
        ];
        for (left, right, expected) in table {
            let classifier = constant(left).and(constant(right));
            assert_eq!(classifier.classify(&Ok(())), expected, "{left} and {right}");
        }
    }

    #[test]
    fn or_fails_when_either_fails_and_ignores_when_either_ignores() {
        use Outcome::{Failure as F, Ignored as I, Success as S};
        let table = [
            (S, S, S),
            (S, F, F),
            (F, S, F),
            (F, F, F),
            (I, S, I),
            (I, F, I),
            (S, I, I),
            (F, I, I),
            (I, I, I),
        ];
        for (left, right, expected) in table {
            let classifier = constant(left).or(constant(right));
            assert_eq!(classifier.classify(&Ok(())), expected, "{left} or {right}");
        }
    }

    #[test]
    fn failure_when_maps_the_predicate_to_failure_or_success() {
        let classifier = failure_when(|result: &Result<u16, ()>| matches!(result, Ok(500..)));
        assert_eq!(classifier.classify(&Ok(200)), Outcome::Success);
        assert_eq!(classifier.classify(&Ok(502)), Outcome::Failure);
        assert_eq!(classifier.classify(&Err(())), Outcome::Success);
    }

    #[test]
    fn combinators_compose_over_real_results() {
        // Errors and large answers fail; "not found" does not count.
        let not_found = |result: &Result<usize, &str>| match result {
            Err("not found") => Outcome::Ignored,
            _ => Outcome::Success,
        };
        let too_large =
            failure_when(|result: &Result<usize, &str>| matches!(result, Ok(n) if *n > 10));
        let classifier = Arc::new(DefaultClassifier.or(too_large).or(not_found));
        assert_eq!(classifier.classify(&Ok(3)), Outcome::Success);
        assert_eq!(classifier.classify(&Ok(11)), Outcome::Failure);
        assert_eq!(classifier.classify(&Err("refused")), Outcome::Failure);
        assert_eq!(classifier.classify(&Err("not found")), Outcome::Ignored);

        // Only errors about the server fail; small answers are fine, large ones succeed too.
        let server = failure_when(
            |result: &Result<usize, &str>| matches!(result, Err(error) if error.starts_with("server")),
        );
        let classifier = DefaultClassifier.and(server).and(too_large.not());
        assert_eq!(classifier.classify(&Err("server down")), Outcome::Failure);
        assert_eq!(classifier.classify(&Err("refused")), Outcome::Success);
        assert_eq!(classifier.classify(&Ok(3)), Outcome::Success);
    }
}
