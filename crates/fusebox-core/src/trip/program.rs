//! Trip rules compiled for evaluation, which a closed circuit runs after every call.
//!
//! A [`Program`] is the rule's leaves in text order, each with where to go next when it is true
//! and when it is false. The operators become those jumps: in `a & b` a true `a` goes on to `b`
//! and a false one ends the rule false; in `a | b` the other way round; `!a` swaps both of
//! `a`'s ends. Evaluating is then a loop over leaves that skips exactly the leaves the tree's
//! `&&` and `||` would, with one `match` per leaf, no recursion and no allocation.

use super::Node;
use super::leaf::Leaf;
use crate::State;

#[derive(Clone, Debug)]
pub(super) enum Program {
    /// A rule of one leaf, evaluated directly.
    Leaf(Leaf),
    /// A rule with operators, as steps; the first step starts.
    Steps(Box<[Step]>),
}

/// Evaluates `leaf`, then goes to the step at `if_true` or `if_false`. Every jump goes forward;
/// an index past the last step ends the rule: `len` true, `len + 1` false.
#[derive(Clone, Copy, Debug)]
pub(super) struct Step {
    leaf: Leaf,
    if_true: usize,
    if_false: usize,
}

/// Where a subtree goes once decided, while it is being compiled.
#[derive(Clone, Copy, Debug)]
enum Target {
    True,
    False,
    /// A step, by its index in the reversed list being built.
    Step(usize),
}

impl Program {
    pub(super) fn compile(root: &Node) -> Program {
        if let Node::Leaf(leaf) = root {
            return Program::Leaf(*leaf);
        }
        // Compiled backwards, so that where `b` starts is known when `a` of `a & b` is compiled.
        let mut reversed = Vec::new();
        emit(root, Target::True, Target::False, &mut reversed);
        let len = reversed.len();
        let index = |target| match target {
            Target::True => len,
            Target::False => len.saturating_add(1),
            Target::Step(reversed_index) => len.saturating_sub(1).saturating_sub(reversed_index),
        };
        let steps = reversed
            .into_iter()
            .rev()
            .map(|(leaf, if_true, if_false)| Step {
                leaf,
                if_true: index(if_true),
                if_false: index(if_false),
            });
        Program::Steps(steps.collect())
    }

    pub(super) fn is_true(&self, state: State, metrics: &impl super::Measures) -> bool {
        let steps = match self {
            Program::Leaf(leaf) => return leaf.is_true(state, metrics),
            Program::Steps(steps) => &**steps,
        };
        let mut next = 0;
        while let Some(step) = steps.get(next) {
            next = if step.leaf.is_true(state, metrics) {
                step.if_true
            } else {
                step.if_false
            };
        }
        next == steps.len()
    }
}

/// Appends the steps of `node` to `reversed`, last leaf first, ending at `if_true` or
/// `if_false`; returns where `node` starts.
fn emit(
    node: &Node,
    if_true: Target,
    if_false: Target,
    reversed: &mut Vec<(Leaf, Target, Target)>,
) -> Target {
    match node {
        Node::Leaf(leaf) => {
            reversed.push((*leaf, if_true, if_false));
            Target::Step(reversed.len().saturating_sub(1))
        }
        Node::And(a, b) => {
            let b_start = emit(b, if_true, if_false, reversed);
            emit(a, b_start, if_false, reversed)
        }
        Node::Or(a, b) => {
            let b_start = emit(b, if_true, if_false, reversed);
            emit(a, if_true, b_start, reversed)
        }
        Node::Not(a) => emit(a, if_false, if_true, reversed),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::Metrics;
    use crate::TripRule;
    use crate::trip::tests::{calls, holds};
    use crate::trip::{
        avg_latency, closed, failure_count, failure_rate, failure_streak, half_opened, min_requests,
    };
    use crate::window::SlowCounts;

    fn steps(rule: &TripRule) -> Vec<Step> {
        match Program::compile(&rule.root) {
            Program::Leaf(leaf) => panic!("{leaf} compiles to no steps"),
            Program::Steps(steps) => steps.into_vec(),
        }
    }

    /// The steps as `leaf ? if_true : if_false`, with `T` and `F` for the two ends.
    fn listing(rule: &TripRule) -> Vec<String> {
        let steps = steps(rule);
        let len = steps.len();
        let target = |index: usize| match index {
            _ if index == len => "T".to_owned(),
            _ if index == len + 1 => "F".to_owned(),
            _ => index.to_string(),
        };
        steps
            .iter()
            .map(|step| {
                format!(
                    "{} ? {} : {}",
                    step.leaf,
                    target(step.if_true),
                    target(step.if_false)
                )
            })
            .collect()
    }

    #[test]
    fn operators_become_jumps_between_leaves_in_text_order() {
        let (a, b, c) = (closed, half_opened, || failure_count(1));
        let cases = [
            (!a(), vec!["closed() ? F : T"]),
            (a() & b(), vec!["closed() ? 1 : F", "half_opened() ? T : F"]),
            (a() | b(), vec!["closed() ? T : 1", "half_opened() ? T : F"]),
            (
                a() | b() & c(),
                vec![
                    "closed() ? T : 1",
                    "half_opened() ? 2 : F",
                    "failure_count(1) ? T : F",
                ],
            ),
            (
                !(a() & b()) | c(),
                vec![
                    "closed() ? 1 : T",
                    "half_opened() ? 2 : T",
                    "failure_count(1) ? T : F",
                ],
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(listing(&rule), expected, "{rule}");
        }
    }

    #[test]
    fn leaves_a_decided_operator_does_not_need_are_skipped() {
        // Which leaves run, in order, for a rule over counting leaves.
        let metrics = calls(10, 6);
        let rule = min_requests(11) & failure_rate(0.1) | failure_count(6) | failure_streak(1);
        let steps = steps(&rule);
        let mut ran = Vec::new();
        let mut next = 0;
        while let Some(step) = steps.get(next) {
            ran.push(step.leaf.to_string());
            next = if step.leaf.is_true(State::Closed, &metrics) {
                step.if_true
            } else {
                step.if_false
            };
        }
        assert_eq!(ran, ["min_requests(11)", "failure_count(6)"]);
        assert_eq!(next, steps.len(), "true");
        assert!(rule.is_true(State::Closed, &metrics));
    }

    fn any_rule() -> impl Strategy<Value = TripRule> {
        let leaf = prop_oneof![
            Just(closed()),
            Just(half_opened()),
            (0..8_u64).prop_map(min_requests),
            (0..8_u64).prop_map(failure_count),
            (0..8_u64).prop_map(failure_streak),
            (1..=4_u32).prop_map(|quarters| failure_rate(f64::from(quarters) / 4.0)),
            (1..4_u64).prop_map(|ms| avg_latency(Duration::from_millis(ms))),
        ];
        leaf.prop_recursive(8, 64, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a & b),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a | b),
                inner.prop_map(|a| !a),
            ]
        })
    }

    fn any_metrics() -> impl Strategy<Value = Metrics> {
        (0..8_u64, 0..8_u64, 0..8_u64, 0..40_u64).prop_map(|(total, failures, streak, ms)| {
            Metrics {
                total,
                failures: failures.min(total),
                consecutive_failures: streak.min(total),
                total_duration: Duration::from_millis(ms),
                slow: SlowCounts::default(),
                latency: true,
            }
        })
    }

    proptest! {
        #[test]
        fn the_program_agrees_with_the_tree_in_every_state(
            rule in any_rule(),
            metrics in any_metrics(),
        ) {
            let program = Program::compile(&rule.root);
            for state in State::ALL {
                prop_assert_eq!(
                    program.is_true(state, &metrics),
                    rule.root.is_true(state, &metrics),
                    "{} in {:?}", rule, state
                );
            }
            prop_assert_eq!(holds(&rule, metrics), rule.root.is_true(State::Closed, &metrics));
        }
    }
}
