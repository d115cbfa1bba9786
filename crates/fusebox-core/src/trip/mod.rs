//! Trip rules: when a circuit opens.
//!
//! A [`TripRule`] is a value built from leaves such as [`min_requests`] and [`failure_rate`],
//! joined with `&`, `|` and `!`. Given the circuit's [`State`] and its window's [`Metrics`], it
//! says whether the circuit should open. When a rule is evaluated and what the circuit does
//! about it is the circuit's business, not this module's.
//!
//! Rules render to the text they are written in and parse back from it, so they can live in
//! config files and signals can say which rule tripped:
//!
//! ```
//! use fusebox_core::TripRule;
//! use fusebox_core::trip::{failure_rate, failure_streak, min_requests};
//!
//! let rule = min_requests(20) & failure_rate(0.5) | failure_streak(5);
//! assert_eq!(rule.to_string(), "min_requests(20) & failure_rate(0.5) | failure_streak(5)");
//! assert_eq!(rule.to_string().parse::<TripRule>(), Ok(rule));
//! ```

use std::fmt;
use std::ops::{BitAnd, BitOr, Not};
use std::time::Duration;

use crate::{MAX_SLOW_THRESHOLDS, Metrics, State, duration};

mod bound;
mod parse;

pub(crate) use bound::{Measures, View};

pub use parse::ParseTripError;

/// The deepest a rule tree may be, counting the leaf. Real rules are a handful of levels deep;
/// the bound keeps parsing, evaluating and dropping hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// A condition on a circuit's state and metrics that decides when the circuit opens.
///
/// Build one from the constructors in [`fusebox_core::trip`](crate::trip) and the operators
/// `&`, `|` and `!`, or parse it from text. Constructors do not check their arguments;
/// [`validate`](TripRule::validate) (and parsing, which validates) does.
///
/// The default is `min_requests(100) & failure_rate(0.5)`.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::{Metrics, State, TripRule};
/// use fusebox_core::trip::{failure_rate, min_requests, slow_rate};
///
/// let rule = min_requests(20) & (failure_rate(0.5) | slow_rate(0.3, Duration::from_secs(1)));
/// assert_eq!(rule.validate(), Ok(()));
/// assert_eq!(rule.slow_thresholds(), [Duration::from_secs(1)]);
/// assert!(!rule.is_true(State::Closed, &Metrics::default()));
///
/// let parsed: TripRule = "min_requests(20) & (failure_rate(0.5) | slow_rate(0.3, 1s))".parse()?;
/// assert_eq!(parsed, rule);
/// assert_eq!(TripRule::default().to_string(), "min_requests(100) & failure_rate(0.5)");
/// # Ok::<(), fusebox_core::trip::ParseTripError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TripRule(Node);

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Closed,
    HalfOpened,
    MinRequests(u64),
    FailureRate(f64),
    FailureCount(u64),
    SlowRate(f64, Duration),
    AvgLatency(Duration),
    FailureStreak(u64),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
}

/// True while the circuit is `closed`.
///
/// ```
/// use fusebox_core::{Metrics, State};
/// use fusebox_core::trip::closed;
///
/// assert!(closed().is_true(State::Closed, &Metrics::default()));
/// assert!(!closed().is_true(State::HalfOpen, &Metrics::default()));
/// ```
pub const fn closed() -> TripRule {
    TripRule(Node::Closed)
}

/// True while the circuit is `half_open`.
///
/// ```
/// use fusebox_core::{Metrics, State};
/// use fusebox_core::trip::half_opened;
///
/// assert!(half_opened().is_true(State::HalfOpen, &Metrics::default()));
/// assert!(!half_opened().is_true(State::Closed, &Metrics::default()));
/// ```
pub const fn half_opened() -> TripRule {
    TripRule(Node::HalfOpened)
}

/// True when the window holds at least `n` calls. Valid for `n >= 1`.
///
/// ```
/// use fusebox_core::trip::min_requests;
///
/// assert_eq!(min_requests(100).to_string(), "min_requests(100)");
/// assert!(min_requests(0).validate().is_err());
/// ```
pub const fn min_requests(n: u64) -> TripRule {
    TripRule(Node::MinRequests(n))
}

/// True when the window holds calls and at least a fraction `r` of them failed.
/// Valid for `0 < r <= 1`.
///
/// ```
/// use fusebox_core::trip::failure_rate;
///
/// assert_eq!(failure_rate(0.5).to_string(), "failure_rate(0.5)");
/// assert!(failure_rate(1.5).validate().is_err());
/// ```
pub const fn failure_rate(r: f64) -> TripRule {
    TripRule(Node::FailureRate(r))
}

/// True when the window holds at least `n` failures. Valid for `n >= 1`.
///
/// ```
/// use fusebox_core::trip::failure_count;
///
/// assert_eq!(failure_count(5).to_string(), "failure_count(5)");
/// ```
pub const fn failure_count(n: u64) -> TripRule {
    TripRule(Node::FailureCount(n))
}

/// True when the window holds calls and at least a fraction `r` of them took `t` or longer.
/// Valid for `0 < r <= 1` and `t > 0`.
///
/// A window tracks the slow calls of every threshold its rule names
/// ([`TripRule::slow_thresholds`]); against metrics that do not track `t` the leaf is false.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::trip::slow_rate;
///
/// let rule = slow_rate(0.3, Duration::from_secs(1));
/// assert_eq!(rule.to_string(), "slow_rate(0.3, 1s)");
/// assert!(rule.needs_latency());
/// ```
pub const fn slow_rate(r: f64, t: Duration) -> TripRule {
    TripRule(Node::SlowRate(r, t))
}

/// True when the window holds calls and their mean duration is `t` or longer. Valid for `t > 0`.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::trip::avg_latency;
///
/// assert_eq!(avg_latency(Duration::from_millis(250)).to_string(), "avg_latency(250ms)");
/// ```
pub const fn avg_latency(t: Duration) -> TripRule {
    TripRule(Node::AvgLatency(t))
}

/// True when the last `n` recorded calls all failed (any success resets the streak).
/// Valid for `n >= 1`.
///
/// ```
/// use fusebox_core::trip::failure_streak;
///
/// assert_eq!(failure_streak(5).to_string(), "failure_streak(5)");
/// ```
pub const fn failure_streak(n: u64) -> TripRule {
    TripRule(Node::FailureStreak(n))
}

impl TripRule {
    /// Whether the rule holds for a circuit in `state` whose window reads `metrics`.
    ///
    /// Every bound is inclusive. Rates compare as the decimals they are written as: 7 failures
    /// of 100 calls reach `failure_rate(0.07)`.
    ///
    /// ```
    /// use fusebox_core::{Metrics, State};
    /// use fusebox_core::trip::{closed, min_requests};
    ///
    /// let rule = closed() & !min_requests(1);
    /// assert!(rule.is_true(State::Closed, &Metrics::default()));
    /// assert!(!rule.is_true(State::HalfOpen, &Metrics::default()));
    /// ```
    pub fn is_true(&self, state: State, metrics: &Metrics) -> bool {
        self.0.is_true(state, metrics)
    }

    /// Checks every leaf's arguments and returns the first invalid leaf in text order.
    ///
    /// Invalid are: `min_requests(0)`, `failure_count(0)`, `failure_streak(0)`, rates outside
    /// `0 < r <= 1` (and NaN), zero durations, more than [`MAX_SLOW_THRESHOLDS`] distinct
    /// `slow_rate` thresholds, and trees more than 64 levels deep.
    ///
    /// ```
    /// use fusebox_core::trip::{failure_rate, min_requests};
    ///
    /// let err = (min_requests(10) & failure_rate(1.5)).validate().unwrap_err();
    /// assert_eq!(err.rule(), "failure_rate(1.5)");
    /// assert_eq!(err.allowed(), "failure_rate takes a rate r with 0 < r <= 1");
    /// ```
    pub fn validate(&self) -> Result<(), InvalidRule> {
        self.0.validate(1, &mut LeafCheck::default())
    }

    /// Every `slow_rate` threshold in the rule, ascending and without duplicates: the thresholds
    /// a window must track for this rule.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_core::trip::slow_rate;
    ///
    /// let (second, tenth) = (Duration::from_secs(1), Duration::from_millis(100));
    /// let rule = slow_rate(0.5, second) | slow_rate(0.9, tenth) | slow_rate(0.2, second);
    /// assert_eq!(rule.slow_thresholds(), [tenth, second]);
    /// ```
    pub fn slow_thresholds(&self) -> Vec<Duration> {
        let mut thresholds = Vec::new();
        self.0.visit_leaves(&mut |leaf| {
            if let Node::SlowRate(_, threshold) = *leaf {
                thresholds.push(threshold);
            }
        });
        thresholds.sort_unstable();
        thresholds.dedup();
        thresholds
    }

    /// Whether the rule reads call durations (contains `slow_rate` or `avg_latency`), so that
    /// recording them is worth a clock read.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_core::TripRule;
    /// use fusebox_core::trip::avg_latency;
    ///
    /// assert!(!TripRule::default().needs_latency());
    /// assert!((TripRule::default() | avg_latency(Duration::from_secs(2))).needs_latency());
    /// ```
    pub fn needs_latency(&self) -> bool {
        let mut needs = false;
        self.0.visit_leaves(&mut |leaf| {
            needs |= matches!(leaf, Node::SlowRate(..) | Node::AvgLatency(_));
        });
        needs
    }
}

impl Default for TripRule {
    fn default() -> Self {
        min_requests(100) & failure_rate(0.5)
    }
}

impl BitAnd for TripRule {
    type Output = TripRule;

    fn bitand(self, rhs: TripRule) -> TripRule {
        TripRule(Node::And(Box::new(self.0), Box::new(rhs.0)))
    }
}

impl BitOr for TripRule {
    type Output = TripRule;

    fn bitor(self, rhs: TripRule) -> TripRule {
        TripRule(Node::Or(Box::new(self.0), Box::new(rhs.0)))
    }
}

impl Not for TripRule {
    type Output = TripRule;

    fn not(self) -> TripRule {
        TripRule(Node::Not(Box::new(self.0)))
    }
}

impl Node {
    fn is_true(&self, state: State, metrics: &impl Measures) -> bool {
        match self {
            Node::Closed => state == State::Closed,
            Node::HalfOpened => state == State::HalfOpen,
            Node::MinRequests(n) => metrics.total() >= *n,
            Node::FailureRate(r) => reaches_rate(metrics.failures(), metrics.total(), *r),
            Node::FailureCount(n) => metrics.failures() >= *n,
            Node::SlowRate(r, t) => metrics
                .slow_calls(*t)
                .is_some_and(|slow| reaches_rate(slow, metrics.total(), *r)),
            Node::AvgLatency(t) => {
                // mean >= t  ⇔  total_duration >= t · total, in integers so that no rounding
                // of the mean can move the bound.
                let total = u128::from(metrics.total());
                total > 0
                    && t.as_nanos()
                        .checked_mul(total)
                        .is_some_and(|needed| metrics.total_nanos() >= needed)
            }
            Node::FailureStreak(n) => metrics.consecutive_failures() >= *n,
            Node::And(a, b) => a.is_true(state, metrics) && b.is_true(state, metrics),
            Node::Or(a, b) => a.is_true(state, metrics) || b.is_true(state, metrics),
            Node::Not(a) => !a.is_true(state, metrics),
        }
    }

    /// Validates the subtree rooted at `self`, which sits at `depth` (the root is at 1).
    fn validate(&self, depth: usize, check: &mut LeafCheck) -> Result<(), InvalidRule> {
        if depth > MAX_DEPTH {
            return Err(InvalidRule::new(
                self.leftmost_leaf(),
                format!("a trip rule nests at most {MAX_DEPTH} levels deep"),
            ));
        }
        match self {
            Node::And(a, b) | Node::Or(a, b) => {
                a.validate(depth + 1, check)?;
                b.validate(depth + 1, check)
            }
            Node::Not(a) => a.validate(depth + 1, check),
            leaf => check.leaf(leaf),
        }
    }

    fn leftmost_leaf(&self) -> &Node {
        let mut node = self;
        while let Node::And(a, _) | Node::Or(a, _) | Node::Not(a) = node {
            node = a;
        }
        node
    }

    /// Calls `visit` on every leaf, in text order.
    fn visit_leaves(&self, visit: &mut impl FnMut(&Node)) {
        match self {
            Node::And(a, b) | Node::Or(a, b) => {
                a.visit_leaves(visit);
                b.visit_leaves(visit);
            }
            Node::Not(a) => a.visit_leaves(visit),
            leaf => visit(leaf),
        }
    }
}

/// Whether `part / total >= rate`, false on an empty window.
///
/// The ratio is one correctly rounded division compared with the rate, not `part >= rate ·
/// total`: when `part / total` equals the rate as written in decimal (7 of 100 against 0.07),
/// both sides round to the same `f64` and the inclusive bound holds, whereas `0.07 * 100.0`
/// rounds up to `7.000000000000001` and would exclude the boundary.
#[allow(clippy::cast_precision_loss)] // counts stay far below 2^52 in any real window
fn reaches_rate(part: u64, total: u64, rate: f64) -> bool {
    total > 0 && part as f64 / total as f64 >= rate
}

/// Checks leaves one by one in text order, remembering the slow thresholds seen so far.
#[derive(Debug, Default)]
struct LeafCheck {
    thresholds: Vec<Duration>,
}

impl LeafCheck {
    fn leaf(&mut self, leaf: &Node) -> Result<(), InvalidRule> {
        let valid_rate = |r: f64| r > 0.0 && r <= 1.0;
        let allowed = match *leaf {
            Node::MinRequests(0) => Some("min_requests takes a count n with n >= 1"),
            Node::FailureRate(r) if !valid_rate(r) => {
                Some("failure_rate takes a rate r with 0 < r <= 1")
            }
            Node::FailureCount(0) => Some("failure_count takes a count n with n >= 1"),
            Node::SlowRate(r, _) if !valid_rate(r) => {
                Some("slow_rate takes a rate r with 0 < r <= 1")
            }
            Node::SlowRate(_, t) if t.is_zero() => Some("slow_rate takes a threshold t with t > 0"),
            Node::AvgLatency(t) if t.is_zero() => Some("avg_latency takes a latency t with t > 0"),
            Node::FailureStreak(0) => Some("failure_streak takes a count n with n >= 1"),
            _ => None,
        };
        if let Some(allowed) = allowed {
            return Err(InvalidRule::new(leaf, allowed.to_owned()));
        }
        if let Node::SlowRate(_, threshold) = *leaf {
            if !self.thresholds.contains(&threshold) {
                self.thresholds.push(threshold);
            }
            if self.thresholds.len() > MAX_SLOW_THRESHOLDS {
                return Err(InvalidRule::new(
                    leaf,
                    format!(
                        "a trip rule can track at most {MAX_SLOW_THRESHOLDS} distinct slow_rate thresholds"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The error [`TripRule::validate`] returns: which leaf is invalid and what it allows.
///
/// ```
/// use fusebox_core::trip::{failure_rate, min_requests};
///
/// let err = (min_requests(0) & failure_rate(1.5)).validate().unwrap_err();
/// assert_eq!(err.rule(), "min_requests(0)");
/// assert_eq!(err.allowed(), "min_requests takes a count n with n >= 1");
/// assert_eq!(
///     err.to_string(),
///     "invalid trip rule min_requests(0): min_requests takes a count n with n >= 1",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRule {
    rule: String,
    allowed: String,
}

impl InvalidRule {
    fn new(leaf: &Node, allowed: String) -> InvalidRule {
        InvalidRule {
            rule: leaf.to_string(),
            allowed,
        }
    }

    /// The offending leaf as text, like `failure_rate(1.5)`.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// What the leaf accepts, like `failure_rate takes a rate r with 0 < r <= 1`.
    pub fn allowed(&self) -> &str {
        &self.allowed
    }
}

impl fmt::Display for InvalidRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid trip rule {}: {}", self.rule, self.allowed)
    }
}

impl std::error::Error for InvalidRule {}

impl fmt::Display for TripRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Node {
    /// Writes the rule with the parentheses needed to parse back the same tree and no others:
    /// `!` binds tighter than `&`, which binds tighter than `|`, and both operators group to the
    /// left, so only a right operand of the same operator and an `|` under `&` or `!` (and an
    /// `&` under `!`) need them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let is_or = |node: &Node| matches!(node, Node::Or(..));
        let is_binary = |node: &Node| matches!(node, Node::And(..) | Node::Or(..));
        match self {
            Node::Closed => f.write_str("closed()"),
            Node::HalfOpened => f.write_str("half_opened()"),
            Node::MinRequests(n) => write!(f, "min_requests({n})"),
            Node::FailureRate(r) => write!(f, "failure_rate({r})"),
            Node::FailureCount(n) => write!(f, "failure_count({n})"),
            Node::SlowRate(r, t) => write!(f, "slow_rate({r}, {})", duration::display(*t)),
            Node::AvgLatency(t) => write!(f, "avg_latency({})", duration::display(*t)),
            Node::FailureStreak(n) => write!(f, "failure_streak({n})"),
            Node::And(a, b) => {
                operand(f, a, is_or(a))?;
                f.write_str(" & ")?;
                operand(f, b, is_binary(b))
            }
            Node::Or(a, b) => {
                operand(f, a, false)?;
                f.write_str(" | ")?;
                operand(f, b, is_or(b))
            }
            Node::Not(a) => {
                f.write_str("!")?;
                operand(f, a, is_binary(a))
            }
        }
    }
}

fn operand(f: &mut fmt::Formatter<'_>, node: &Node, parenthesize: bool) -> fmt::Result {
    if parenthesize {
        write!(f, "({node})")
    } else {
        write!(f, "{node}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::SlowCounts;

    const SECOND: Duration = Duration::from_secs(1);

    fn calls(total: u64, failures: u64) -> Metrics {
        Metrics {
            total,
            failures,
            ..Metrics::default()
        }
    }

    fn slow(total: u64, threshold: Duration, slow_calls: u64) -> Metrics {
        let mut slow = SlowCounts::default();
        slow.push(threshold, slow_calls);
        Metrics {
            total,
            slow,
            ..Metrics::default()
        }
    }

    fn latency(total: u64, total_duration: Duration) -> Metrics {
        Metrics {
            total,
            total_duration,
            ..Metrics::default()
        }
    }

    fn streak(consecutive_failures: u64) -> Metrics {
        Metrics {
            total: consecutive_failures,
            failures: consecutive_failures,
            consecutive_failures,
            ..Metrics::default()
        }
    }

    fn holds(rule: &TripRule, metrics: Metrics) -> bool {
        rule.is_true(State::Closed, &metrics)
    }

    #[test]
    fn closed_and_half_opened_hold_in_exactly_their_state() {
        let metrics = Metrics::default();
        let closed_in: Vec<_> = State::ALL
            .iter()
            .map(|state| closed().is_true(*state, &metrics))
            .collect();
        assert_eq!(closed_in, [true, false, false, false, false, false]);
        let half_opened_in: Vec<_> = State::ALL
            .iter()
            .map(|state| half_opened().is_true(*state, &metrics))
            .collect();
        assert_eq!(half_opened_in, [false, false, true, false, false, false]);
    }

    #[test]
    fn min_requests_holds_from_n_calls_on() {
        let rule = min_requests(3);
        assert!(!holds(&rule, calls(0, 0)));
        assert!(!holds(&rule, calls(2, 2)));
        assert!(holds(&rule, calls(3, 0)));
        assert!(holds(&rule, calls(4, 0)));
    }

    #[test]
    fn failure_rate_holds_from_the_rate_on() {
        let rule = failure_rate(0.5);
        assert!(holds(&rule, calls(2, 1)));
        assert!(holds(&rule, calls(100, 50)));
        assert!(!holds(&rule, calls(100, 49)));
        assert!(holds(&rule, calls(100, 51)));
        assert!(holds(&failure_rate(1.0), calls(3, 3)));
        assert!(!holds(&failure_rate(1.0), calls(3, 2)));
    }

    #[test]
    fn failure_rate_is_false_on_an_empty_window() {
        assert!(!holds(&failure_rate(0.001), calls(0, 0)));
    }

    #[test]
    fn failure_rate_written_in_decimal_includes_the_ratio_equal_to_it() {
        let cases = [
            (0.1, 1, 10),
            (0.3, 3, 10),
            (0.7, 7, 10),
            (0.07, 7, 100),
            (0.29, 29, 100),
            (0.57, 57, 100),
            (0.01, 1, 100),
            (0.001, 1, 1000),
            (0.999, 999, 1000),
        ];
        for (rate, failures, total) in cases {
            assert!(holds(&failure_rate(rate), calls(total, failures)), "{rate}");
            assert!(
                !holds(&failure_rate(rate), calls(total, failures - 1)),
                "{rate}"
            );
        }
        assert!(holds(&failure_rate(0.3333), calls(3, 1)));
        assert!(!holds(&failure_rate(0.3334), calls(3, 1)));
    }

    #[test]
    fn failure_rate_agrees_with_exact_integer_comparison_for_every_hundredth() {
        for hundredths in 1..=100_u32 {
            let rule = failure_rate(f64::from(hundredths) / 100.0);
            for total in 1..=100_u64 {
                for failures in 0..=total {
                    let exact = failures * 100 >= u64::from(hundredths) * total;
                    assert_eq!(
                        holds(&rule, calls(total, failures)),
                        exact,
                        "{failures}/{total} against {rule}"
                    );
                }
            }
        }
    }

    #[test]
    fn failure_count_holds_from_n_failures_on() {
        let rule = failure_count(2);
        assert!(!holds(&rule, calls(10, 1)));
        assert!(holds(&rule, calls(10, 2)));
        assert!(holds(&rule, calls(2, 2)));
    }

    #[test]
    fn slow_rate_holds_from_the_rate_of_calls_at_or_over_the_threshold() {
        let rule = slow_rate(0.3, SECOND);
        assert!(holds(&rule, slow(10, SECOND, 3)));
        assert!(!holds(&rule, slow(10, SECOND, 2)));
        assert!(holds(&rule, slow(10, SECOND, 10)));
    }

    #[test]
    fn slow_rate_is_false_for_an_untracked_threshold_or_an_empty_window() {
        let rule = slow_rate(0.3, SECOND);
        assert!(!holds(&rule, slow(10, 2 * SECOND, 10)));
        assert!(!holds(&rule, calls(10, 10)));
        assert!(!holds(&rule, slow(0, SECOND, 0)));
    }

    #[test]
    fn avg_latency_holds_from_a_mean_of_exactly_t_on() {
        let rule = avg_latency(Duration::from_millis(250));
        assert!(holds(&rule, latency(4, Duration::from_millis(1000))));
        assert!(!holds(&rule, latency(4, Duration::from_nanos(999_999_999))));
        assert!(holds(&rule, latency(3, Duration::from_millis(750))));
        assert!(!holds(&rule, latency(3, Duration::from_nanos(749_999_999))));
        assert!(holds(&rule, latency(1, Duration::from_secs(60))));
    }

    #[test]
    fn avg_latency_is_false_on_an_empty_window() {
        assert!(!holds(
            &avg_latency(Duration::from_nanos(1)),
            latency(0, Duration::ZERO)
        ));
    }

    #[test]
    fn avg_latency_compares_exactly_at_the_extremes() {
        let most = latency(u64::MAX, Duration::MAX);
        assert!(!holds(&avg_latency(Duration::MAX), most));
        assert!(holds(&avg_latency(Duration::from_nanos(1)), most));
        assert!(holds(
            &avg_latency(Duration::MAX),
            latency(1, Duration::MAX)
        ));
    }

    #[test]
    fn failure_streak_holds_from_n_consecutive_failures_on() {
        let rule = failure_streak(3);
        assert!(!holds(&rule, streak(0)));
        assert!(!holds(&rule, streak(2)));
        assert!(holds(&rule, streak(3)));
        assert!(holds(&rule, streak(4)));
        assert!(!holds(&rule, calls(10, 10)));
    }

    #[test]
    fn and_or_not_combine_their_operands() {
        let metrics = calls(10, 6);
        assert!(holds(&(min_requests(10) & failure_rate(0.5)), metrics));
        assert!(!holds(&(min_requests(11) & failure_rate(0.5)), metrics));
        assert!(!holds(&(min_requests(10) & failure_rate(0.7)), metrics));
        assert!(holds(&(min_requests(11) | failure_rate(0.5)), metrics));
        assert!(holds(&(min_requests(10) | failure_rate(0.7)), metrics));
        assert!(!holds(&(min_requests(11) | failure_rate(0.7)), metrics));
        assert!(holds(&!min_requests(11), metrics));
        assert!(!holds(&!min_requests(10), metrics));
        assert!(holds(&!!min_requests(10), metrics));
    }

    #[test]
    fn state_leaves_combine_with_metric_leaves() {
        let rule = half_opened() & failure_count(1) | closed() & !failure_count(7);
        let metrics = calls(10, 6);
        assert!(rule.is_true(State::HalfOpen, &metrics));
        assert!(!rule.is_true(State::HalfOpen, &calls(10, 0)));
        assert!(rule.is_true(State::Closed, &metrics));
        assert!(!rule.is_true(State::Closed, &calls(10, 7)));
        assert!(!rule.is_true(State::Open, &metrics));
    }

    #[test]
    fn default_rule_is_a_hundred_calls_half_failed() {
        let rule = TripRule::default();
        assert_eq!(rule, min_requests(100) & failure_rate(0.5));
        assert!(holds(&rule, calls(100, 50)));
        assert!(!holds(&rule, calls(99, 99)));
        assert!(!holds(&rule, calls(100, 49)));
    }

    #[test]
    fn every_invalid_value_names_its_leaf_and_what_it_allows() {
        let count = |name: &str| format!("{name} takes a count n with n >= 1");
        let rate = |name: &str| format!("{name} takes a rate r with 0 < r <= 1");
        let cases = [
            (min_requests(0), "min_requests(0)", count("min_requests")),
            (failure_rate(0.0), "failure_rate(0)", rate("failure_rate")),
            (
                failure_rate(-0.5),
                "failure_rate(-0.5)",
                rate("failure_rate"),
            ),
            (failure_rate(1.5), "failure_rate(1.5)", rate("failure_rate")),
            (
                failure_rate(f64::NAN),
                "failure_rate(NaN)",
                rate("failure_rate"),
            ),
            (
                failure_rate(f64::INFINITY),
                "failure_rate(inf)",
                rate("failure_rate"),
            ),
            (failure_count(0), "failure_count(0)", count("failure_count")),
            (
                slow_rate(0.0, SECOND),
                "slow_rate(0, 1s)",
                rate("slow_rate"),
            ),
            (
                slow_rate(1.01, SECOND),
                "slow_rate(1.01, 1s)",
                rate("slow_rate"),
            ),
            (
                slow_rate(f64::NAN, SECOND),
                "slow_rate(NaN, 1s)",
                rate("slow_rate"),
            ),
            (
                slow_rate(0.5, Duration::ZERO),
                "slow_rate(0.5, 0s)",
                "slow_rate takes a threshold t with t > 0".to_owned(),
            ),
            (
                avg_latency(Duration::ZERO),
                "avg_latency(0s)",
                "avg_latency takes a latency t with t > 0".to_owned(),
            ),
            (
                failure_streak(0),
                "failure_streak(0)",
                count("failure_streak"),
            ),
        ];
        for (rule, text, allowed) in cases {
            let err = rule.validate().unwrap_err();
            assert_eq!(err.rule(), text);
            assert_eq!(err.allowed(), allowed);
            assert_eq!(
                err.to_string(),
                format!("invalid trip rule {text}: {allowed}")
            );
        }
        assert_eq!(
            failure_rate(1.5).validate().unwrap_err().to_string(),
            "invalid trip rule failure_rate(1.5): failure_rate takes a rate r with 0 < r <= 1"
        );
    }

    #[test]
    fn smallest_and_largest_values_are_valid() {
        let tiny = Duration::from_nanos(1);
        let rules = [
            closed(),
            half_opened(),
            min_requests(1),
            failure_rate(1.0),
            failure_rate(f64::MIN_POSITIVE),
            failure_count(1),
            slow_rate(1.0, tiny),
            slow_rate(0.001, Duration::MAX),
            avg_latency(tiny),
            failure_streak(1),
            min_requests(u64::MAX),
        ];
        for rule in rules {
            assert_eq!(rule.validate(), Ok(()), "{rule}");
        }
    }

    #[test]
    fn validation_reports_the_first_invalid_leaf_in_text_order() {
        let rule = (min_requests(1) & failure_rate(2.0)) | !failure_count(0);
        assert_eq!(rule.validate().unwrap_err().rule(), "failure_rate(2)");
        let rule = !failure_count(0) | failure_rate(2.0);
        assert_eq!(rule.validate().unwrap_err().rule(), "failure_count(0)");
    }

    fn slow_rules(thresholds_ms: std::ops::RangeInclusive<u64>) -> TripRule {
        thresholds_ms
            .map(|ms| slow_rate(0.5, Duration::from_millis(ms)))
            .reduce(|a, b| a | b)
            .unwrap()
    }

    #[test]
    fn at_most_max_slow_thresholds_distinct_thresholds_are_valid() {
        assert_eq!(MAX_SLOW_THRESHOLDS, 8);
        assert_eq!(slow_rules(1..=8).validate(), Ok(()));
        let repeated = slow_rules(1..=8) | slow_rate(0.9, Duration::from_millis(3));
        assert_eq!(repeated.validate(), Ok(()));
        let err = slow_rules(1..=9).validate().unwrap_err();
        assert_eq!(err.rule(), "slow_rate(0.5, 9ms)");
        assert_eq!(
            err.to_string(),
            "invalid trip rule slow_rate(0.5, 9ms): a trip rule can track at most 8 distinct slow_rate thresholds"
        );
    }

    fn nots(count: usize) -> TripRule {
        (0..count).fold(closed(), |rule, _| !rule)
    }

    fn chain(leaves: usize) -> TripRule {
        (1..leaves).fold(min_requests(1), |rule, _| rule & failure_count(1))
    }

    #[test]
    fn rules_deeper_than_sixty_four_levels_are_invalid() {
        assert_eq!(nots(63).validate(), Ok(()));
        assert_eq!(chain(64).validate(), Ok(()));
        let err = nots(64).validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid trip rule closed(): a trip rule nests at most 64 levels deep"
        );
        assert_eq!(chain(65).validate().unwrap_err().rule(), "min_requests(1)");
    }

    #[test]
    fn slow_thresholds_are_sorted_and_deduplicated() {
        let rule = slow_rate(0.5, SECOND)
            | !slow_rate(0.9, Duration::from_millis(100))
            | min_requests(5) & slow_rate(0.2, SECOND);
        assert_eq!(rule.slow_thresholds(), [Duration::from_millis(100), SECOND]);
        assert_eq!(TripRule::default().slow_thresholds(), []);
    }

    #[test]
    fn needs_latency_only_with_slow_rate_or_avg_latency() {
        assert!(!TripRule::default().needs_latency());
        assert!(!(closed() | failure_streak(3) & failure_count(2)).needs_latency());
        assert!((min_requests(1) & !slow_rate(0.5, SECOND)).needs_latency());
        assert!((closed() | avg_latency(SECOND)).needs_latency());
    }

    #[test]
    fn leaves_display_in_the_syntax_they_are_written_in() {
        let cases = [
            (closed(), "closed()"),
            (half_opened(), "half_opened()"),
            (min_requests(100), "min_requests(100)"),
            (failure_rate(0.5), "failure_rate(0.5)"),
            (failure_rate(1.0), "failure_rate(1)"),
            (failure_rate(0.1 + 0.2), "failure_rate(0.30000000000000004)"),
            (failure_count(5), "failure_count(5)"),
            (slow_rate(0.3, SECOND), "slow_rate(0.3, 1s)"),
            (
                slow_rate(0.25, Duration::from_millis(1500)),
                "slow_rate(0.25, 1500ms)",
            ),
            (
                avg_latency(Duration::from_millis(250)),
                "avg_latency(250ms)",
            ),
            (avg_latency(Duration::from_secs(120)), "avg_latency(120s)"),
            (failure_streak(5), "failure_streak(5)"),
        ];
        for (rule, text) in cases {
            assert_eq!(rule.to_string(), text);
        }
    }

    #[test]
    fn display_parenthesizes_only_where_the_tree_needs_it() {
        let (a, b, c) = (closed, half_opened, || failure_streak(3));
        let cases = [
            (
                a() & b() & c(),
                "closed() & half_opened() & failure_streak(3)",
            ),
            (
                a() & (b() & c()),
                "closed() & (half_opened() & failure_streak(3))",
            ),
            (
                a() | b() | c(),
                "closed() | half_opened() | failure_streak(3)",
            ),
            (
                a() | (b() | c()),
                "closed() | (half_opened() | failure_streak(3))",
            ),
            (
                a() & b() | c(),
                "closed() & half_opened() | failure_streak(3)",
            ),
            (
                a() | b() & c(),
                "closed() | half_opened() & failure_streak(3)",
            ),
            (
                (a() | b()) & c(),
                "(closed() | half_opened()) & failure_streak(3)",
            ),
            (
                a() & (b() | c()),
                "closed() & (half_opened() | failure_streak(3))",
            ),
            (!a() & b(), "!closed() & half_opened()"),
            (!(a() & b()), "!(closed() & half_opened())"),
            (!(a() | b()), "!(closed() | half_opened())"),
            (!!a(), "!!closed()"),
            (
                a() | !(b() | c()),
                "closed() | !(half_opened() | failure_streak(3))",
            ),
            (
                min_requests(20) & (failure_rate(0.5) | slow_rate(0.3, SECOND)) | failure_streak(5),
                "min_requests(20) & (failure_rate(0.5) | slow_rate(0.3, 1s)) | failure_streak(5)",
            ),
        ];
        for (rule, text) in cases {
            assert_eq!(rule.to_string(), text);
        }
    }
}
