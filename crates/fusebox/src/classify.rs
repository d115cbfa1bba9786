//! Deciding how a finished call counts for its circuit: the [`Classify`] trait and the
//! classifiers that come with fusebox.
//!
//! A classifier looks at a call's `&Result<Response, Error>` and answers an [`Outcome`]:
//! `Success` and `Failure` are recorded, `Ignored` is not (the call does not count at all).
//!
//! - [`DefaultClassifier`]: `Ok` is a success, every `Err` a failure.
//! - [`failure_when`]: a predicate saying which results are failures; any closure
//!   `Fn(&Result<Res, E>) -> Outcome` is a classifier too.
//! - `HttpClassifier` (feature `http`): 5xx responses and transport errors are failures.
//! - [`ClassifyExt`]: combine classifiers with `and`, `or` and `not`, like fluxgate's trackers
//!   `&`, `|` and `~`.
//!
//! A classifier is cloned once per call (into the response future): keep it cheap to clone,
//! or share it behind an [`Arc`].
//!
//! What happens with the outcome (windows, trip rules) is `fusebox_core`'s business, not this
//! module's.

use std::fmt;
use std::sync::Arc;

pub use fusebox_core::Outcome;

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

/// Combinators for classifiers, like fluxgate's trackers `&`, `|` and `~`.
///
/// An `Ignored` answer on either side of `and` or `or` makes the combination `Ignored`: a call
/// one side does not count does not count.
///
/// ```
/// use fusebox::classify::{self, Classify, ClassifyExt, DefaultClassifier, Outcome};
///
/// let slow = classify::failure_when(|result: &Result<u64, ()>| matches!(result, Ok(ms) if *ms > 500));
/// let classifier = DefaultClassifier.or(slow);
/// assert_eq!(classifier.classify(&Ok(20)), Outcome::Success);
/// assert_eq!(classifier.classify(&Ok(900)), Outcome::Failure);
/// assert_eq!(classifier.classify(&Err(())), Outcome::Failure);
///
/// let inverted = DefaultClassifier.not();
/// assert_eq!(inverted.classify(&Ok::<u64, ()>(20)), Outcome::Failure);
/// ```
pub trait ClassifyExt: Sized {
    /// A failure when both classifiers say failure, `Ignored` when either ignores the call,
    /// a success otherwise.
    fn and<Other>(self, other: Other) -> And<Self, Other> {
        And {
            left: self,
            right: other,
        }
    }

    /// A failure when either classifier says failure, `Ignored` when either ignores the call,
    /// a success otherwise.
    fn or<Other>(self, other: Other) -> Or<Self, Other> {
        Or {
            left: self,
            right: other,
        }
    }

    /// Swaps success and failure; `Ignored` stays `Ignored`.
    fn not(self) -> Not<Self> {
        Not { inner: self }
    }
}

impl<T> ClassifyExt for T {}

/// Both classifiers must say failure; see [`ClassifyExt::and`].
#[derive(Clone, Copy, Debug)]
pub struct And<A, B> {
    left: A,
    right: B,
}

impl<A, B, Res, E> Classify<Res, E> for And<A, B>
where
    A: Classify<Res, E>,
    B: Classify<Res, E>,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        and(self.left.classify(result), self.right.classify(result))
    }
}

/// Either classifier may say failure; see [`ClassifyExt::or`].
#[derive(Clone, Copy, Debug)]
pub struct Or<A, B> {
    left: A,
    right: B,
}

impl<A, B, Res, E> Classify<Res, E> for Or<A, B>
where
    A: Classify<Res, E>,
    B: Classify<Res, E>,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        or(self.left.classify(result), self.right.classify(result))
    }
}

/// The classifier's answer inverted; see [`ClassifyExt::not`].
#[derive(Clone, Copy, Debug)]
pub struct Not<A> {
    inner: A,
}

impl<A, Res, E> Classify<Res, E> for Not<A>
where
    A: Classify<Res, E>,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        not(self.inner.classify(result))
    }
}

fn and(left: Outcome, right: Outcome) -> Outcome {
    match (left, right) {
        (Outcome::Ignored, _) | (_, Outcome::Ignored) => Outcome::Ignored,
        (Outcome::Failure, Outcome::Failure) => Outcome::Failure,
        _ => Outcome::Success,
    }
}

fn or(left: Outcome, right: Outcome) -> Outcome {
    match (left, right) {
        (Outcome::Ignored, _) | (_, Outcome::Ignored) => Outcome::Ignored,
        (Outcome::Failure, _) | (_, Outcome::Failure) => Outcome::Failure,
        _ => Outcome::Success,
    }
}

fn not(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Success => Outcome::Failure,
        Outcome::Failure => Outcome::Success,
        Outcome::Ignored => Outcome::Ignored,
    }
}

#[cfg(feature = "http")]
pub use self::http_classifier::HttpClassifier;

#[cfg(feature = "http")]
mod http_classifier {
    use std::fmt;

    use http::StatusCode;

    use super::{Classify, Outcome};

    /// Classifies HTTP calls by status: statuses in the failure set are failures (by default
    /// every 5xx), ignored statuses do not count, every other status is a success; an `Err`
    /// (the request never got a response: connection refused, reset, timed out) is a failure.
    ///
    /// Works for `Result<http::Response<B>, E>` (hyper, axum, any tower HTTP service) and, with
    /// feature `reqwest`, for `Result<reqwest::Response, E>`.
    ///
    /// ```
    /// use fusebox::classify::{Classify, HttpClassifier, Outcome};
    /// use http::{Response, StatusCode};
    ///
    /// let classifier = HttpClassifier::server_errors()
    ///     .also_fail(StatusCode::TOO_MANY_REQUESTS)
    ///     .ignore(StatusCode::NOT_IMPLEMENTED);
    /// type Call = Result<Response<()>, std::io::Error>;
    /// let call = |status: u16| -> Call { Ok(Response::builder().status(status).body(()).unwrap()) };
    /// assert_eq!(classifier.classify(&call(200)), Outcome::Success);
    /// assert_eq!(classifier.classify(&call(404)), Outcome::Success);
    /// assert_eq!(classifier.classify(&call(429)), Outcome::Failure);
    /// assert_eq!(classifier.classify(&call(503)), Outcome::Failure);
    /// assert_eq!(classifier.classify(&call(501)), Outcome::Ignored);
    /// let refused: Call = Err(std::io::Error::other("connection refused"));
    /// assert_eq!(classifier.classify(&refused), Outcome::Failure);
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct HttpClassifier {
        failures: StatusSet,
        ignored: StatusSet,
    }

    impl HttpClassifier {
        /// Every 5xx status is a failure; the default.
        pub const fn server_errors() -> HttpClassifier {
            let mut failures = StatusSet::EMPTY;
            let mut status = 500;
            while status < 600 {
                failures.insert(status);
                status += 1;
            }
            HttpClassifier {
                failures,
                ignored: StatusSet::EMPTY,
            }
        }

        /// Exactly these statuses are failures, replacing the failure set; they are no longer
        /// ignored. Takes any `u16` iterator: a range, an array, a chain of both.
        ///
        /// ```
        /// use fusebox::classify::{HttpClassifier, Outcome};
        /// use http::StatusCode;
        ///
        /// let classifier = HttpClassifier::server_errors().failure_statuses((502..=504).chain([429]));
        /// assert_eq!(classifier.outcome(StatusCode::INTERNAL_SERVER_ERROR), Outcome::Success);
        /// assert_eq!(classifier.outcome(StatusCode::BAD_GATEWAY), Outcome::Failure);
        /// assert_eq!(classifier.outcome(StatusCode::TOO_MANY_REQUESTS), Outcome::Failure);
        /// ```
        pub fn failure_statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
            self.failures = StatusSet::EMPTY;
            for status in statuses {
                self.failures.insert(status);
                self.ignored.remove(status);
            }
            self
        }

        /// `status` is a failure too (and no longer ignored).
        pub fn also_fail(mut self, status: StatusCode) -> Self {
            self.failures.insert(status.as_u16());
            self.ignored.remove(status.as_u16());
            self
        }

        /// Calls answered with `status` do not count (and it is no longer a failure).
        pub fn ignore(mut self, status: StatusCode) -> Self {
            self.ignored.insert(status.as_u16());
            self.failures.remove(status.as_u16());
            self
        }

        /// How a call answered with `status` counts.
        pub fn outcome(&self, status: StatusCode) -> Outcome {
            let status = status.as_u16();
            if self.ignored.contains(status) {
                Outcome::Ignored
            } else if self.failures.contains(status) {
                Outcome::Failure
            } else {
                Outcome::Success
            }
        }
    }

    impl Default for HttpClassifier {
        fn default() -> Self {
            HttpClassifier::server_errors()
        }
    }

    impl fmt::Debug for HttpClassifier {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("HttpClassifier")
                .field("failures", &self.failures)
                .field("ignored", &self.ignored)
                .finish()
        }
    }

    impl<B, E> Classify<http::Response<B>, E> for HttpClassifier {
        fn classify(&self, result: &Result<http::Response<B>, E>) -> Outcome {
            match result {
                Ok(response) => self.outcome(response.status()),
                Err(_) => Outcome::Failure,
            }
        }
    }

    #[cfg(feature = "reqwest")]
    impl<E> Classify<reqwest::Response, E> for HttpClassifier {
        fn classify(&self, result: &Result<reqwest::Response, E>) -> Outcome {
            match result {
                Ok(response) => self.outcome(response.status()),
                Err(_) => Outcome::Failure,
            }
        }
    }

    /// A set of status codes 0..1024 (valid ones are 100..=999), one bit each.
    #[derive(Clone, Copy, PartialEq, Eq)]
    struct StatusSet([u64; 16]);

    impl StatusSet {
        const EMPTY: StatusSet = StatusSet([0; 16]);

        const fn insert(&mut self, status: u16) {
            let word = (status / 64) as usize;
            if word < self.0.len() {
                self.0[word] |= 1 << (status % 64);
            }
        }

        fn remove(&mut self, status: u16) {
            if let Some(word) = self.0.get_mut(usize::from(status / 64)) {
                *word &= !(1 << (status % 64));
            }
        }

        fn contains(&self, status: u16) -> bool {
            self.0
                .get(usize::from(status / 64))
                .is_some_and(|word| word & (1 << (status % 64)) != 0)
        }
    }

    impl fmt::Debug for StatusSet {
        /// As ranges: `{500..=599, 429}`.
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let mut set = f.debug_set();
            let mut status = 0;
            while status < 1024 {
                if !self.contains(status) {
                    status += 1;
                    continue;
                }
                let first = status;
                while status < 1024 && self.contains(status) {
                    status += 1;
                }
                let last = status - 1;
                if first == last {
                    set.entry(&first);
                } else {
                    set.entry(&format_args!("{first}..={last}"));
                }
            }
            set.finish()
        }
    }

    #[cfg(test)]
    mod tests {
        use http::Response;

        use super::*;

        fn response(status: u16) -> Result<Response<()>, &'static str> {
            let mut response = Response::new(());
            *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
            Ok(response)
        }

        #[test]
        fn server_errors_fail_every_5xx_and_nothing_else() {
            let classifier = HttpClassifier::default();
            for status in 100..=999 {
                let expected = if (500..600).contains(&status) {
                    Outcome::Failure
                } else {
                    Outcome::Success
                };
                assert_eq!(classifier.classify(&response(status)), expected, "{status}");
            }
        }

        #[test]
        fn transport_errors_are_failures_whatever_the_status_sets() {
            let classifier = HttpClassifier::server_errors().failure_statuses([]);
            assert_eq!(
                classifier.classify(&Err::<Response<()>, _>("connection refused")),
                Outcome::Failure
            );
            assert_eq!(classifier.classify(&response(503)), Outcome::Success);
        }

        #[test]
        fn last_setting_for_a_status_wins() {
            let classifier = HttpClassifier::server_errors()
                .ignore(StatusCode::SERVICE_UNAVAILABLE)
                .also_fail(StatusCode::NOT_FOUND)
                .ignore(StatusCode::NOT_FOUND);
            assert_eq!(classifier.classify(&response(503)), Outcome::Ignored);
            assert_eq!(classifier.classify(&response(404)), Outcome::Ignored);
            assert_eq!(classifier.classify(&response(500)), Outcome::Failure);

            let classifier = classifier
                .also_fail(StatusCode::SERVICE_UNAVAILABLE)
                .failure_statuses([404, 1023, 1024, u16::MAX]);
            assert_eq!(classifier.classify(&response(404)), Outcome::Failure);
            assert_eq!(classifier.classify(&response(503)), Outcome::Success);
            assert_eq!(classifier.classify(&response(500)), Outcome::Success);
        }

        #[test]
        fn debug_shows_status_ranges() {
            let classifier = HttpClassifier::server_errors()
                .also_fail(StatusCode::TOO_MANY_REQUESTS)
                .ignore(StatusCode::NOT_IMPLEMENTED);
            assert_eq!(
                format!("{classifier:?}"),
                "HttpClassifier { failures: {429, 500, 502..=599}, ignored: {501} }"
            );
        }
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
