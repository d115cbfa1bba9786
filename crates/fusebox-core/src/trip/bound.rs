//! How far a rule is from flipping: [`TripRule::calls_needed`], the fewest recorded calls that
//! could make a false rule true, and the [`Measures`] a rule reads.
//!
//! A time window spread over cores does not read its window after every call: it skips
//! evaluations while the rule cannot have become true (see `window/time.rs`). The bound must
//! never be too large: for every leaf it is the exact minimum where that is cheap to compute
//! (by search over the same comparison `is_true` makes) and 1 (any single call) where it is not.
//! Within one second a time window only grows, which the bounds of `min_requests` and
//! `failure_count` rely on.

use std::time::Duration;

use super::{Node, TripRule};
use crate::window::Tally;
use crate::{Metrics, State};

/// What a trip rule reads: [`Metrics`], or the engine's own [`View`] of a window.
pub(crate) trait Measures {
    fn total(&self) -> u64;
    fn failures(&self) -> u64;
    fn consecutive_failures(&self) -> u64;
    fn slow_calls(&self, threshold: Duration) -> Option<u64>;
    fn total_nanos(&self) -> u128;
}

impl Measures for Metrics {
    fn total(&self) -> u64 {
        self.total
    }
    fn failures(&self) -> u64 {
        self.failures
    }
    fn consecutive_failures(&self) -> u64 {
        self.consecutive_failures
    }
    fn slow_calls(&self, threshold: Duration) -> Option<u64> {
        Metrics::slow_calls(self, threshold)
    }
    fn total_nanos(&self) -> u128 {
        self.total_duration.as_nanos()
    }
}

impl Measures for crate::window::Counts {
    fn total(&self) -> u64 {
        self.total
    }
    fn failures(&self) -> u64 {
        self.failures
    }
    fn consecutive_failures(&self) -> u64 {
        self.streak
    }
    fn slow_calls(&self, _: Duration) -> Option<u64> {
        None
    }
    fn total_nanos(&self) -> u128 {
        0
    }
}

/// A window's tally with the thresholds its slow counts belong to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub(crate) tally: &'a Tally,
    pub(crate) thresholds: &'a [Duration],
}

impl Measures for View<'_> {
    fn total(&self) -> u64 {
        self.tally.total
    }
    fn failures(&self) -> u64 {
        self.tally.failures
    }
    fn consecutive_failures(&self) -> u64 {
        self.tally.streak
    }
    fn slow_calls(&self, threshold: Duration) -> Option<u64> {
        let index = self.thresholds.iter().position(|t| *t == threshold)?;
        self.tally.slow.get(index).copied()
    }
    fn total_nanos(&self) -> u128 {
        u128::from(self.tally.nanos)
    }
}

impl TripRule {
    /// Whether the rule holds for a circuit in `state` whose window reads `measures`.
    pub(crate) fn holds(&self, state: State, measures: &impl Measures) -> bool {
        self.program.is_true(state, measures)
    }

    /// At least how many more recorded calls (each a success or a failure of any duration)
    /// it takes before the rule can be true, for a window that only grows; zero if it is true
    /// now, `u64::MAX` if no calls can make it true.
    pub(crate) fn calls_needed(&self, state: State, measures: &impl Measures) -> u64 {
        self.root.needed(true, state, measures)
    }
}

/// How a rule reads a `closed` window without failures, slow calls or durations: then only the
/// number of calls can matter (through `min_requests`), so the answer is known in advance for
/// every count, and the hot path of a window that holds no failure needs no evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quiet {
    /// False for every count.
    Never,
    /// True from this many calls on.
    From(u64),
    /// Neither (a negated `min_requests`): evaluate.
    Varies,
}

impl Quiet {
    /// Whether the rule holds for a quiet window of `total` calls, if known in advance.
    #[inline]
    pub(crate) fn holds(self, total: u64) -> Option<bool> {
        match self {
            Quiet::Never => Some(false),
            Quiet::From(n) => Some(total >= n),
            Quiet::Varies => None,
        }
    }
}

impl TripRule {
    /// [`Quiet`] for this rule. The rule's value on a quiet window changes only where a
    /// `min_requests(n)` leaf does (at `n`) and where a rate's window becomes non-empty (at 1),
    /// so evaluating it at those counts decides every count.
    pub(crate) fn quiet(&self) -> Quiet {
        let mut counts = vec![0, 1];
        collect_min_requests(&self.root, &mut counts);
        counts.sort_unstable();
        counts.dedup();
        let values: Vec<(u64, bool)> = counts
            .iter()
            .map(|&total| {
                let quiet = crate::window::Counts {
                    total,
                    failures: 0,
                    streak: 0,
                };
                (total, self.holds(State::Closed, &quiet))
            })
            .collect();
        match values.iter().position(|(_, holds)| *holds) {
            None => Quiet::Never,
            Some(first) if values[first..].iter().all(|(_, holds)| *holds) => {
                Quiet::From(values[first].0)
            }
            Some(_) => Quiet::Varies,
        }
    }
}

fn collect_min_requests(node: &Node, counts: &mut Vec<u64>) {
    match node {
        Node::Leaf(leaf) => counts.extend(leaf.min_requests()),
        Node::And(a, b) | Node::Or(a, b) => {
            collect_min_requests(a, counts);
            collect_min_requests(b, counts);
        }
        Node::Not(a) => collect_min_requests(a, counts),
    }
}

impl Node {
    /// At least how many more calls before this node is `target`.
    fn needed(&self, target: bool, state: State, m: &impl Measures) -> u64 {
        if self.is_true(state, m) == target {
            return 0;
        }
        match self {
            Node::Leaf(leaf) => leaf.needed(target, m),
            Node::And(a, b) if target => a.needed(true, state, m).max(b.needed(true, state, m)),
            Node::And(a, b) => a.needed(false, state, m).min(b.needed(false, state, m)),
            Node::Or(a, b) if target => a.needed(true, state, m).min(b.needed(true, state, m)),
            Node::Or(a, b) => a.needed(false, state, m).max(b.needed(false, state, m)),
            Node::Not(a) => a.needed(!target, state, m),
        }
    }

    /// The rule tree evaluated as written (the compiled `Program` is what circuits run).
    pub(super) fn is_true(&self, state: State, m: &impl Measures) -> bool {
        match self {
            Node::Leaf(leaf) => leaf.is_true(state, m),
            Node::And(a, b) => a.is_true(state, m) && b.is_true(state, m),
            Node::Or(a, b) => a.is_true(state, m) || b.is_true(state, m),
            Node::Not(a) => !a.is_true(state, m),
        }
    }
}

#[cfg(all(test, not(fusebox_loom)))]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::trip::{
        avg_latency, closed, failure_count, failure_rate, failure_streak, min_requests, slow_rate,
    };

    const T: Duration = Duration::from_millis(100);

    fn tally(total: u64, failures: u64, streak: u64, slow: u64, nanos: u64) -> Tally {
        let mut slow_counts = [0; crate::MAX_SLOW_THRESHOLDS];
        slow_counts[0] = slow;
        Tally {
            total,
            failures,
            streak,
            nanos,
            slow: slow_counts,
        }
    }

    fn needed(rule: &TripRule, tally: &Tally) -> u64 {
        rule.calls_needed(
            State::Closed,
            &View {
                tally,
                thresholds: &[T],
            },
        )
    }

    #[test]
    fn the_default_rule_needs_its_minimum_then_enough_failures() {
        let rule = TripRule::default();
        assert_eq!(needed(&rule, &tally(0, 0, 0, 0, 0)), 100);
        assert_eq!(needed(&rule, &tally(60, 10, 0, 0, 0)), 40);
        // 1000 calls, 100 failures: (100 + k) / (1000 + k) >= 0.5 from k = 800 on.
        assert_eq!(needed(&rule, &tally(1000, 100, 0, 0, 0)), 800);
        assert_eq!(needed(&rule, &tally(100, 50, 0, 0, 0)), 0);
    }

    #[test]
    fn leaves_that_a_growing_window_cannot_make_true_are_never() {
        assert_eq!(needed(&!min_requests(5), &tally(5, 0, 0, 0, 0)), u64::MAX);
        assert_eq!(needed(&!closed(), &tally(0, 0, 0, 0, 0)), u64::MAX);
        assert_eq!(needed(&failure_rate(1.0), &tally(3, 2, 0, 0, 0)), u64::MAX);
    }

    #[test]
    fn latency_and_streak_leaves_are_one_call_away_at_most() {
        assert_eq!(needed(&avg_latency(T), &tally(10, 0, 0, 0, 0)), 1);
        assert_eq!(needed(&failure_streak(3), &tally(10, 1, 1, 0, 0)), 2);
        assert_eq!(needed(&!failure_streak(3), &tally(10, 3, 3, 0, 0)), 1);
    }

    fn leaf() -> impl Strategy<Value = TripRule> {
        prop_oneof![
            (1u64..50).prop_map(min_requests),
            (1u64..50).prop_map(failure_count),
            (1u64..20).prop_map(failure_streak),
            (1u32..=100).prop_map(|r| failure_rate(f64::from(r) / 100.0)),
            (1u32..=100).prop_map(|r| slow_rate(f64::from(r) / 100.0, T)),
            Just(avg_latency(T)),
            Just(closed()),
        ]
    }

    fn rule() -> impl Strategy<Value = TripRule> {
        leaf().prop_recursive(4, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a & b),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a | b),
                inner.prop_map(|a| !a),
            ]
        })
    }

    proptest! {
        /// No sequence of fewer calls than the bound makes a false rule true.
        #[test]
        fn the_bound_is_never_too_large(
            rule in rule(),
            total in 0u64..60,
            failure_share in 0u64..=100,
            slow_share in 0u64..=100,
            streak in 0u64..10,
            calls in prop::collection::vec((any::<bool>(), any::<bool>(), 0u64..400_000_000), 0..80),
        ) {
            let failures = total * failure_share / 100;
            let mut current = tally(
                total,
                failures,
                streak.min(failures),
                total * slow_share / 100,
                total * 50_000_000,
            );
            let view = |tally: &Tally| rule.holds(State::Closed, &View { tally, thresholds: &[T] });
            prop_assume!(!view(&current));
            let bound = needed(&rule, &current);
            prop_assert!(bound >= 1);
            for (taken, (failure, slow, nanos)) in calls.into_iter().enumerate() {
                if taken as u64 + 1 >= bound {
                    break;
                }
                current.total += 1;
                current.failures += u64::from(failure);
                current.streak = if failure { current.streak + 1 } else { 0 };
                current.slow[0] += u64::from(slow);
                current.nanos += nanos;
                prop_assert!(!view(&current), "true after {} calls, bound {}", taken + 1, bound);
            }
        }
    }
}
