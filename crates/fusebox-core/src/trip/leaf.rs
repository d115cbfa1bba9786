//! The leaves of trip rules (`min_requests(100)`, `failure_rate(0.5)`, ...), each declared once.
//!
//! Everything the crate knows about one leaf lives here: its constructor, and in [`Leaf`] and
//! its one `impl` block its name, its parameters (which give its text form, its usage text and
//! its validation) and when it is true. The rest of the module only combines leaves: parsing,
//! `Display`, validation and evaluation of a rule never name a leaf.
//!
//! Adding a leaf means a constructor below, a variant of `Leaf`, an entry in [`Leaf::ALL`] and
//! one arm in each method of `impl Leaf` (the compiler points at every `match` that misses it),
//! plus tests. A new per-leaf fact (how many more calls could change a leaf, say) is one more
//! method there, with one arm per leaf.

use std::fmt;
use std::time::Duration;

use super::TripRule;
use crate::{State, duration};

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
    TripRule::leaf(Leaf::Closed)
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
    TripRule::leaf(Leaf::HalfOpened)
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
    TripRule::leaf(Leaf::MinRequests(n))
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
    TripRule::leaf(Leaf::FailureRate(r))
}

/// True when the window holds at least `n` failures. Valid for `n >= 1`.
///
/// ```
/// use fusebox_core::trip::failure_count;
///
/// assert_eq!(failure_count(5).to_string(), "failure_count(5)");
/// ```
pub const fn failure_count(n: u64) -> TripRule {
    TripRule::leaf(Leaf::FailureCount(n))
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
    TripRule::leaf(Leaf::SlowRate(r, t))
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
    TripRule::leaf(Leaf::AvgLatency(t))
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
    TripRule::leaf(Leaf::FailureStreak(n))
}

/// One condition of a trip rule, with its arguments.
///
/// `repr(u8)` gives the variant a tag byte of its own, whose unused values also tell a
/// compiled rule's variants apart. Without it, both are encoded in unused values of a
/// `Duration`'s nanoseconds, which costs every evaluation a range check and a subtraction
/// (measured: 5 to 8 % more instructions per evaluation).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u8)]
pub(super) enum Leaf {
    Closed,
    HalfOpened,
    MinRequests(u64),
    FailureRate(f64),
    FailureCount(u64),
    SlowRate(f64, Duration),
    AvgLatency(Duration),
    FailureStreak(u64),
}

impl Leaf {
    /// Every leaf, in the order error messages list them, each with the arguments its usage
    /// text shows as an example. The parser finds a leaf here by name and fills a copy of it
    /// in with the arguments it reads.
    pub(super) const ALL: [Leaf; 8] = [
        Leaf::Closed,
        Leaf::HalfOpened,
        Leaf::MinRequests(100),
        Leaf::FailureRate(0.5),
        Leaf::FailureCount(5),
        Leaf::SlowRate(0.3, Duration::from_secs(1)),
        Leaf::AvgLatency(Duration::from_millis(250)),
        Leaf::FailureStreak(5),
    ];

    /// The name the leaf is written with.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Leaf::Closed => "closed",
            Leaf::HalfOpened => "half_opened",
            Leaf::MinRequests(_) => "min_requests",
            Leaf::FailureRate(_) => "failure_rate",
            Leaf::FailureCount(_) => "failure_count",
            Leaf::SlowRate(..) => "slow_rate",
            Leaf::AvgLatency(_) => "avg_latency",
            Leaf::FailureStreak(_) => "failure_streak",
        }
    }

    /// The arguments in the order they are written. Their kinds say how each is read, written
    /// and validated; they are borrowed mutably so that the parser can fill them in.
    pub(super) fn params(&mut self) -> Vec<Param<'_>> {
        match self {
            Leaf::Closed | Leaf::HalfOpened => vec![],
            Leaf::MinRequests(n) => vec![Param::Count(n)],
            Leaf::FailureRate(r) => vec![Param::Rate(r)],
            Leaf::FailureCount(n) => vec![Param::Count(n)],
            Leaf::SlowRate(r, t) => vec![Param::Rate(r), Param::Duration(t, "threshold")],
            Leaf::AvgLatency(t) => vec![Param::Duration(t, "latency")],
            Leaf::FailureStreak(n) => vec![Param::Count(n)],
        }
    }

    /// Whether the leaf holds for a circuit in `state` whose window reads `metrics`. Every
    /// bound is inclusive.
    // Kept out of line on purpose: inlined into the loop of a compiled rule, it lets the
    // compiler compute every leaf's inputs (a float division, a 128-bit product) before the
    // loop, whichever leaves the rule has; measured, that costs more than the call saves.
    #[inline(never)]
    pub(super) fn is_true(&self, state: State, metrics: &impl super::Measures) -> bool {
        match *self {
            Leaf::Closed => state == State::Closed,
            Leaf::HalfOpened => state == State::HalfOpen,
            Leaf::MinRequests(n) => metrics.total() >= n,
            Leaf::FailureRate(r) => reaches_rate(metrics.failures(), metrics.total(), r),
            Leaf::FailureCount(n) => metrics.failures() >= n,
            Leaf::SlowRate(r, t) => metrics
                .slow_calls(t)
                .is_some_and(|slow| reaches_rate(slow, metrics.total(), r)),
            Leaf::AvgLatency(t) => reaches_mean(metrics, t),
            Leaf::FailureStreak(n) => metrics.consecutive_failures() >= n,
        }
    }

    /// Whether the leaf reads call durations, so that measuring them is worth a clock read.
    pub(super) fn reads_latency(&self) -> bool {
        match self {
            Leaf::SlowRate(..) | Leaf::AvgLatency(_) => true,
            Leaf::Closed
            | Leaf::HalfOpened
            | Leaf::MinRequests(_)
            | Leaf::FailureRate(_)
            | Leaf::FailureCount(_)
            | Leaf::FailureStreak(_) => false,
        }
    }

    /// At least how many more recorded calls (each a success or a failure of any duration)
    /// before the leaf, now not `target`, can be `target`, in a window that only grows (see
    /// `bound.rs`). `u64::MAX`: never.
    pub(super) fn needed(&self, target: bool, m: &impl super::Measures) -> u64 {
        match *self {
            // The state does not change without a transition.
            Leaf::Closed | Leaf::HalfOpened => u64::MAX,
            Leaf::MinRequests(n) if target => n.saturating_sub(m.total()),
            Leaf::FailureCount(n) if target => n.saturating_sub(m.failures()),
            // A growing window never loses calls or failures.
            Leaf::MinRequests(_) | Leaf::FailureCount(_) => u64::MAX,
            Leaf::FailureStreak(n) if target => n.saturating_sub(m.consecutive_failures()),
            // Failures raise the rate fastest; successes lower it fastest.
            Leaf::FailureRate(r) if target => least(|k| {
                reaches_rate(
                    m.failures().saturating_add(k),
                    m.total().saturating_add(k),
                    r,
                )
            }),
            Leaf::FailureRate(r) => {
                least(|k| !reaches_rate(m.failures(), m.total().saturating_add(k), r))
            }
            Leaf::SlowRate(r, t) => match m.slow_calls(t) {
                None => u64::MAX,
                Some(slow) if target => {
                    least(|k| reaches_rate(slow.saturating_add(k), m.total().saturating_add(k), r))
                }
                Some(slow) => least(|k| !reaches_rate(slow, m.total().saturating_add(k), r)),
            },
            // One call of any duration can move a mean anywhere; a success ends a streak.
            Leaf::AvgLatency(_) | Leaf::FailureStreak(_) => 1,
        }
    }

    /// The count of a `min_requests(n)` leaf.
    pub(super) fn min_requests(&self) -> Option<u64> {
        match *self {
            Leaf::MinRequests(n) => Some(n),
            _ => None,
        }
    }

    /// The slow-call threshold a window must track for this leaf.
    pub(super) fn slow_threshold(&self) -> Option<Duration> {
        match *self {
            Leaf::SlowRate(_, threshold) => Some(threshold),
            Leaf::Closed
            | Leaf::HalfOpened
            | Leaf::MinRequests(_)
            | Leaf::FailureRate(_)
            | Leaf::FailureCount(_)
            | Leaf::AvgLatency(_)
            | Leaf::FailureStreak(_) => None,
        }
    }

    /// How many arguments the leaf takes.
    pub(super) fn arity(mut self) -> usize {
        self.params().len()
    }

    /// What the first invalid argument must be, like `failure_rate takes a rate r with
    /// 0 < r <= 1`, or `Ok` when every argument is valid.
    pub(super) fn check(mut self) -> Result<(), String> {
        let name = self.name();
        match self.params().into_iter().find(|param| !param.is_valid()) {
            Some(param) => Err(format!("{name} takes {}", param.requirement())),
            None => Ok(()),
        }
    }

    /// What the leaf takes, with `self` as the example: `slow_rate takes a rate r with
    /// 0 < r <= 1 and a threshold t with t > 0, like slow_rate(0.3, 1s)`.
    pub(super) fn usage(mut self) -> String {
        let example = self.to_string();
        let name = self.name();
        let requirements: Vec<String> = self.params().iter().map(Param::requirement).collect();
        let takes = match requirements.as_slice() {
            [] => "no arguments".to_owned(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        format!("{name} takes {takes}, like {example}")
    }
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut leaf = *self;
        write!(f, "{}(", leaf.name())?;
        for (index, param) in leaf.params().iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{param}")?;
        }
        f.write_str(")")
    }
}

/// One argument of a leaf. Its kind decides how it is written and read and which values are
/// valid, so a leaf declares its validation by the kinds of its arguments.
#[derive(Debug)]
pub(super) enum Param<'a> {
    /// A whole number `n >= 1`.
    Count(&'a mut u64),
    /// A fraction `r` with `0 < r <= 1`.
    Rate(&'a mut f64),
    /// A duration `t > 0`, and what it is to the leaf (`threshold`, `latency`) for messages.
    Duration(&'a mut Duration, &'static str),
}

impl Param<'_> {
    fn is_valid(&self) -> bool {
        match self {
            Param::Count(n) => **n >= 1,
            Param::Rate(r) => **r > 0.0 && **r <= 1.0,
            Param::Duration(t, _) => !t.is_zero(),
        }
    }

    /// What the argument must be, like `a rate r with 0 < r <= 1`.
    fn requirement(&self) -> String {
        match self {
            Param::Count(_) => "a count n with n >= 1".to_owned(),
            Param::Rate(_) => "a rate r with 0 < r <= 1".to_owned(),
            Param::Duration(_, what) => format!("a {what} t with t > 0"),
        }
    }
}

impl fmt::Display for Param<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Count(n) => write!(f, "{n}"),
            Param::Rate(r) => write!(f, "{r}"),
            Param::Duration(t, _) => write!(f, "{}", duration::display(**t)),
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
#[inline]
pub(super) fn reaches_rate(part: u64, total: u64, rate: f64) -> bool {
    if part == 0 {
        // No division for the common case of no failures (or no slow calls) at all.
        return total > 0 && rate <= 0.0;
    }
    total > 0 && part as f64 / total as f64 >= rate
}

/// The largest count a search tries; a leaf further away than this is "never" in practice.
const FAR: u64 = 1 << 48;

/// The least `k` in `1..=FAR` for which `holds(k)`, which is monotone in `k` and false at 0
/// (the window as it is), or `u64::MAX`.
fn least(holds: impl Fn(u64) -> bool) -> u64 {
    if !holds(FAR) {
        return u64::MAX;
    }
    let (mut low, mut high) = (0, FAR);
    // `low < high <= FAR` throughout, so nothing here can wrap.
    while high.saturating_sub(low) > 1 {
        let middle = low.saturating_add(high.saturating_sub(low) / 2);
        if holds(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// Whether the window holds calls and their mean duration is at least `t`.
///
/// mean >= t ⇔ total_duration >= t · total, compared in integers so that no rounding of the
/// mean can move the bound.
#[inline]
fn reaches_mean(metrics: &impl super::Measures, t: Duration) -> bool {
    let total = u128::from(metrics.total());
    total > 0
        && t.as_nanos()
            .checked_mul(total)
            .is_some_and(|needed| metrics.total_nanos() >= needed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metrics;
    use crate::trip::Node;
    use crate::trip::tests::{SECOND, calls, holds, latency, slow, streak};

    fn named(name: &str) -> Leaf {
        Leaf::ALL
            .into_iter()
            .find(|leaf| leaf.name() == name)
            .unwrap()
    }

    #[test]
    fn every_constructor_makes_a_leaf_listed_once_in_all() {
        let constructed = [
            closed(),
            half_opened(),
            min_requests(1),
            failure_rate(1.0),
            failure_count(1),
            slow_rate(1.0, SECOND),
            avg_latency(SECOND),
            failure_streak(1),
        ];
        let names: Vec<_> = constructed
            .iter()
            .map(|rule| match rule.root {
                Node::Leaf(leaf) => leaf.name(),
                _ => panic!("{rule} is not a leaf"),
            })
            .collect();
        let listed: Vec<_> = Leaf::ALL.iter().map(Leaf::name).collect();
        assert_eq!(names, listed);
    }

    #[test]
    fn every_example_in_all_is_valid_and_parses_back_from_its_text() {
        for example in Leaf::ALL {
            assert_eq!(example.check(), Ok(()), "{example}");
            let rule = TripRule::leaf(example);
            assert_eq!(example.to_string().parse::<TripRule>(), Ok(rule));
        }
    }

    #[test]
    fn usage_says_what_each_argument_must_be_and_shows_the_example() {
        let cases = [
            ("closed", "closed takes no arguments, like closed()"),
            (
                "half_opened",
                "half_opened takes no arguments, like half_opened()",
            ),
            (
                "min_requests",
                "min_requests takes a count n with n >= 1, like min_requests(100)",
            ),
            (
                "failure_rate",
                "failure_rate takes a rate r with 0 < r <= 1, like failure_rate(0.5)",
            ),
            (
                "failure_count",
                "failure_count takes a count n with n >= 1, like failure_count(5)",
            ),
            (
                "slow_rate",
                "slow_rate takes a rate r with 0 < r <= 1 and a threshold t with t > 0, like \
                 slow_rate(0.3, 1s)",
            ),
            (
                "avg_latency",
                "avg_latency takes a latency t with t > 0, like avg_latency(250ms)",
            ),
            (
                "failure_streak",
                "failure_streak takes a count n with n >= 1, like failure_streak(5)",
            ),
        ];
        for (name, usage) in cases {
            assert_eq!(named(name).usage(), usage);
        }
    }

    #[test]
    fn arity_counts_the_arguments() {
        let arities: Vec<_> = Leaf::ALL.into_iter().map(Leaf::arity).collect();
        assert_eq!(arities, [0, 0, 1, 1, 1, 2, 1, 1]);
    }

    #[test]
    fn only_slow_rate_names_a_slow_threshold_and_only_latency_leaves_read_latency() {
        let thresholds: Vec<_> = Leaf::ALL.iter().map(Leaf::slow_threshold).collect();
        let mut expected = [None; 8];
        expected[5] = Some(SECOND);
        assert_eq!(thresholds, expected);
        let reading: Vec<_> = Leaf::ALL
            .iter()
            .filter(|leaf| leaf.reads_latency())
            .map(Leaf::name)
            .collect();
        assert_eq!(reading, ["slow_rate", "avg_latency"]);
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
}
