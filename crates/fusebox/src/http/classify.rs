//! [`HttpClassifier`]: how an HTTP call counts, by status.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

use crate::Rejected;
use crate::classify::{Classify, Outcome};

/// Classifies HTTP calls by status: statuses in the failure set are failures (by default
/// every 5xx), ignored statuses do not count, every other status is a success; an `Err`
/// (the request never got a response: connection refused, reset, timed out) is a failure.
///
/// A response that a fusebox layer produced for a rejection (it carries the
/// [`Rejected`] in its extensions: the 503 modes and [`rejection_response`](crate::rejection_response)
/// do this) is ignored, whatever its status: it says that an inner circuit is open, not that
/// this call failed, and counting it would let one open circuit trip every circuit around it.
/// [`count_rejections`](HttpClassifier::count_rejections) counts them by status again.
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
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Clone, PartialEq, Eq)]
pub struct HttpClassifier {
    sets: Sets,
    count_rejections: bool,
}

/// The statuses that fail and those that do not count: `None` for the default (5xx fail,
/// nothing is ignored), which needs no table, so that cloning the classifier into every call's
/// future copies a few bytes rather than two 128-byte tables; a customised one shares its
/// tables.
type Sets = Option<Arc<StatusSets>>;

#[derive(Clone, PartialEq, Eq)]
struct StatusSets {
    failures: StatusSet,
    ignored: StatusSet,
}

impl StatusSets {
    const fn server_errors() -> StatusSets {
        let mut failures = StatusSet::EMPTY;
        let mut status = 500;
        while status < 600 {
            failures.insert(status);
            status += 1;
        }
        StatusSets {
            failures,
            ignored: StatusSet::EMPTY,
        }
    }
}

/// The tables of `sets`, to change them.
fn tables(sets: &mut Sets) -> &mut StatusSets {
    Arc::make_mut(sets.get_or_insert_with(|| Arc::new(StatusSets::server_errors())))
}

/// How `status` counts under `sets`.
fn outcome(sets: &Sets, status: u16) -> Outcome {
    match sets {
        None if (500..600).contains(&status) => Outcome::Failure,
        None => Outcome::Success,
        Some(sets) if sets.ignored.contains(status) => Outcome::Ignored,
        Some(sets) if sets.failures.contains(status) => Outcome::Failure,
        Some(_) => Outcome::Success,
    }
}

impl HttpClassifier {
    /// Every 5xx status is a failure; the default.
    pub const fn server_errors() -> HttpClassifier {
        HttpClassifier {
            sets: None,
            count_rejections: false,
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
        let tables = tables(&mut self.sets);
        tables.failures = StatusSet::EMPTY;
        for status in statuses {
            tables.failures.insert(status);
            tables.ignored.remove(status);
        }
        self
    }

    /// `status` is a failure too (and no longer ignored).
    pub fn also_fail(mut self, status: StatusCode) -> Self {
        let tables = tables(&mut self.sets);
        tables.failures.insert(status.as_u16());
        tables.ignored.remove(status.as_u16());
        self
    }

    /// Calls answered with `status` do not count (and it is no longer a failure).
    pub fn ignore(mut self, status: StatusCode) -> Self {
        let tables = tables(&mut self.sets);
        tables.ignored.insert(status.as_u16());
        tables.failures.remove(status.as_u16());
        self
    }

    /// Responses a fusebox layer produced for a rejection count by their status like any other
    /// response (a `503` is then a failure with the default failure set), instead of being
    /// ignored.
    ///
    /// For an outer circuit that should open when the circuits inside it reject, e.g. to shed
    /// load before it reaches them.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use fusebox::classify::{Classify, HttpClassifier, Outcome};
    /// use fusebox::{Rejected, State, rejection_response};
    ///
    /// let rejected = Rejected::new(Arc::from("upstream"), State::Open, None);
    /// let call = Ok::<_, std::io::Error>(rejection_response::<()>(&rejected));
    /// assert_eq!(HttpClassifier::server_errors().classify(&call), Outcome::Ignored);
    /// assert_eq!(
    ///     HttpClassifier::server_errors().count_rejections().classify(&call),
    ///     Outcome::Failure
    /// );
    /// ```
    pub fn count_rejections(mut self) -> Self {
        self.count_rejections = true;
        self
    }

    /// How a call answered with `status` counts.
    pub fn outcome(&self, status: StatusCode) -> Outcome {
        outcome(&self.sets, status.as_u16())
    }
}

impl Default for HttpClassifier {
    fn default() -> Self {
        HttpClassifier::server_errors()
    }
}

impl fmt::Debug for HttpClassifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tables = match &self.sets {
            None => &StatusSets::server_errors(),
            Some(sets) => &**sets,
        };
        f.debug_struct("HttpClassifier")
            .field("failures", &tables.failures)
            .field("ignored", &tables.ignored)
            .field("count_rejections", &self.count_rejections)
            .finish()
    }
}

impl<B, E> Classify<http::Response<B>, E> for HttpClassifier {
    fn classify(&self, result: &Result<http::Response<B>, E>) -> Outcome {
        match result {
            Ok(response)
                if !self.count_rejections && response.extensions().get::<Rejected>().is_some() =>
            {
                Outcome::Ignored
            }
            Ok(response) => self.outcome(response.status()),
            Err(_) => Outcome::Failure,
        }
    }
}

/// A `reqwest::Response` came over the network: it never carries a [`Rejected`].
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
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

    fn rejection(status: StatusCode) -> Result<Response<()>, &'static str> {
        let rejected = Rejected::new(
            std::sync::Arc::from("inner"),
            fusebox_core::State::Open,
            None,
        );
        let mut response = crate::rejection_response::<()>(&rejected);
        *response.status_mut() = status;
        Ok(response)
    }

    #[test]
    fn responses_carrying_a_rejection_are_ignored_whatever_their_status() {
        let classifier = HttpClassifier::server_errors().also_fail(StatusCode::TOO_MANY_REQUESTS);
        for status in [
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::OK,
        ] {
            assert_eq!(
                classifier.classify(&rejection(status)),
                Outcome::Ignored,
                "{status}"
            );
        }
        assert_eq!(
            classifier.classify(&response(503)),
            Outcome::Failure,
            "a 503 of the service itself"
        );
    }

    #[test]
    fn count_rejections_classifies_them_by_status_again() {
        let classifier = HttpClassifier::server_errors()
            .ignore(StatusCode::OK)
            .count_rejections();
        assert_eq!(
            classifier.classify(&rejection(StatusCode::SERVICE_UNAVAILABLE)),
            Outcome::Failure
        );
        assert_eq!(
            classifier.classify(&rejection(StatusCode::TOO_MANY_REQUESTS)),
            Outcome::Success
        );
        assert_eq!(
            classifier.classify(&rejection(StatusCode::OK)),
            Outcome::Ignored
        );
    }

    #[test]
    fn single_statuses_move_in_and_out_of_the_failure_range() {
        let classifier = HttpClassifier::server_errors()
            .also_fail(StatusCode::TOO_MANY_REQUESTS)
            .ignore(StatusCode::NOT_IMPLEMENTED);
        let outcomes: Vec<_> = [428, 429, 430, 499, 500, 501, 502, 599]
            .into_iter()
            .map(|status| classifier.outcome(StatusCode::from_u16(status).unwrap()))
            .collect();
        use Outcome::{Failure, Ignored, Success};
        assert_eq!(
            outcomes,
            [
                Success, Failure, Success, Success, Failure, Ignored, Failure, Failure
            ]
        );
    }
}
