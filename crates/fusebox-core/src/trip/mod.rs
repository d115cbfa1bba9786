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
//!
//! The leaves themselves, each declared once, live in `leaf.rs`; the grammar of the text form
//! in `parse.rs`; the form a rule is evaluated in, `program.rs`. This file holds what is the
//! same for every leaf: the operators, and how a tree of them is validated and written.

use std::fmt;
use std::ops::{BitAnd, BitOr, Not};
use std::time::Duration;

use crate::{MAX_SLOW_THRESHOLDS, Metrics, State};

mod bound;
mod leaf;
mod parse;
mod program;

pub(crate) use bound::{Measures, Quiet, View};
use leaf::Leaf;
pub use leaf::{
    avg_latency, closed, failure_count, failure_rate, failure_streak, half_opened, min_requests,
    slow_rate,
};
pub use parse::ParseTripError;
use program::Program;

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
#[derive(Clone)]
pub struct TripRule {
    /// The rule as written: what is validated, displayed and combined.
    root: Node,
    /// The same rule compiled for evaluation.
    program: Program,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Leaf(Leaf),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
}

impl TripRule {
    /// A rule of one leaf; `const`, so that the leaf constructors are.
    const fn leaf(leaf: Leaf) -> TripRule {
        TripRule {
            root: Node::Leaf(leaf),
            program: Program::Leaf(leaf),
        }
    }

    fn new(root: Node) -> TripRule {
        TripRule {
            program: Program::compile(&root),
            root,
        }
    }

    /// Whether the rule holds for a circuit in `state` whose window reads `metrics`.
    ///
    /// Every bound is inclusive. Rates compare as the decimals they are written as: 7 failures
    /// of 100 calls reach `failure_rate(0.07)`. Operands are evaluated left to right and only
    /// as far as needed, like `&&` and `||`. Evaluating neither allocates nor recurses.
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
        self.program.is_true(state, metrics)
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
        self.root.validate(1, &mut LeafCheck::default())
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
        self.root
            .visit_leaves(&mut |leaf| thresholds.extend(leaf.slow_threshold()));
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
        self.root
            .visit_leaves(&mut |leaf| needs |= leaf.reads_latency());
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
        TripRule::new(Node::And(Box::new(self.root), Box::new(rhs.root)))
    }
}

impl BitOr for TripRule {
    type Output = TripRule;

    fn bitor(self, rhs: TripRule) -> TripRule {
        TripRule::new(Node::Or(Box::new(self.root), Box::new(rhs.root)))
    }
}

impl Not for TripRule {
    type Output = TripRule;

    fn not(self) -> TripRule {
        TripRule::new(Node::Not(Box::new(self.root)))
    }
}

/// Two rules are equal when they are written the same.
impl PartialEq for TripRule {
    fn eq(&self, other: &TripRule) -> bool {
        self.root == other.root
    }
}

impl Node {
    /// Validates the subtree rooted at `self`, which sits at `depth` (the root is at 1).
    fn validate(&self, depth: usize, check: &mut LeafCheck) -> Result<(), InvalidRule> {
        if depth > MAX_DEPTH {
            return Err(InvalidRule::new(
                self.leftmost_leaf(),
                format!("a trip rule nests at most {MAX_DEPTH} levels deep"),
            ));
        }
        match self {
            Node::Leaf(leaf) => check.leaf(leaf),
            Node::And(a, b) | Node::Or(a, b) => {
                a.validate(depth.saturating_add(1), check)?;
                b.validate(depth.saturating_add(1), check)
            }
            Node::Not(a) => a.validate(depth.saturating_add(1), check),
        }
    }

    fn leftmost_leaf(&self) -> &Leaf {
        let mut node = self;
        loop {
            match node {
                Node::Leaf(leaf) => return leaf,
                Node::And(a, _) | Node::Or(a, _) | Node::Not(a) => node = a,
            }
        }
    }

    /// Calls `visit` on every leaf, in text order.
    fn visit_leaves(&self, visit: &mut impl FnMut(&Leaf)) {
        match self {
            Node::Leaf(leaf) => visit(leaf),
            Node::And(a, b) | Node::Or(a, b) => {
                a.visit_leaves(visit);
                b.visit_leaves(visit);
            }
            Node::Not(a) => a.visit_leaves(visit),
        }
    }
}

/// Checks leaves one by one in text order, remembering the slow thresholds seen so far.
#[derive(Debug, Default)]
struct LeafCheck {
    thresholds: Vec<Duration>,
}

impl LeafCheck {
    fn leaf(&mut self, leaf: &Leaf) -> Result<(), InvalidRule> {
        leaf.check()
            .map_err(|allowed| InvalidRule::new(leaf, allowed))?;
        if let Some(threshold) = leaf.slow_threshold() {
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
    fn new(leaf: &Leaf, allowed: String) -> InvalidRule {
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
        self.root.fmt(f)
    }
}

/// Shows the rule as it is written, `TripRule(min_requests(100) & failure_rate(0.5))`, rather
/// than its tree.
impl fmt::Debug for TripRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TripRule")
            .field(&format_args!("{}", self.root))
            .finish()
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
            Node::Leaf(leaf) => leaf.fmt(f),
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

    pub(super) const SECOND: Duration = Duration::from_secs(1);

    pub(super) fn calls(total: u64, failures: u64) -> Metrics {
        Metrics {
            total,
            failures,
            ..Metrics::default()
        }
    }

    pub(super) fn slow(total: u64, threshold: Duration, slow_calls: u64) -> Metrics {
        let mut slow = SlowCounts::default();
        slow.push(threshold, slow_calls);
        Metrics {
            total,
            slow,
            ..Metrics::default()
        }
    }

    pub(super) fn latency(total: u64, total_duration: Duration) -> Metrics {
        Metrics {
            total,
            total_duration,
            ..Metrics::default()
        }
    }

    pub(super) fn streak(consecutive_failures: u64) -> Metrics {
        Metrics {
            total: consecutive_failures,
            failures: consecutive_failures,
            consecutive_failures,
            ..Metrics::default()
        }
    }

    pub(super) fn holds(rule: &TripRule, metrics: Metrics) -> bool {
        rule.is_true(State::Closed, &metrics)
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
