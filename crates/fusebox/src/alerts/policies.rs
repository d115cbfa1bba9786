//! The policy of each fingerprint: `[alerts."<pattern>"]` sections, or the alert defaults.

use fusebox_core::Policy;

/// Patterns with their policies, the most specific first.
#[derive(Clone, Debug)]
pub(super) struct Policies {
    patterns: Vec<(String, Policy)>,
    default: Policy,
}

impl Policies {
    pub(super) fn new(mut patterns: Vec<(String, Policy)>) -> Policies {
        patterns.sort_by(|(a, _), (b, _)| specificity(b).cmp(&specificity(a)).then(a.cmp(b)));
        patterns.dedup_by(|(a, _), (b, _)| a == b);
        Policies {
            patterns,
            default: crate::alert_policy_builder()
                .build()
                .unwrap_or_else(|_| Policy::default()),
        }
    }

    /// The policy of a fingerprint whose normalised message is `template`.
    pub(super) fn for_template(&self, template: &str) -> Policy {
        self.patterns
            .iter()
            .find(|(pattern, _)| matches(pattern, template))
            .map_or(&self.default, |(_, policy)| policy)
            .clone()
    }
}

/// Characters besides `*`: the more, the more specific.
fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*').count()
}

/// Whether `text` is `pattern` with each `*` standing for any run of characters.
pub(super) fn matches(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    // The last `*` seen, and where in the text it was last tried from.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&b) if b == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_at, from)) => {
                    p = star_at + 1;
                    t = from + 1;
                    star = Some((star_at, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

#[cfg(test)]
mod tests {
    use fusebox_core::trip::failure_count;

    use super::*;

    #[test]
    fn stars_match_any_run_and_the_rest_matches_itself() {
        assert!(matches("order * failed", "order {n} failed"));
        assert!(matches("order * failed", "order  failed"));
        assert!(!matches("order * failed", "order {n} failed twice"));
        assert!(matches("*", ""));
        assert!(matches("*timeout*", "upstream timeout after {n}s"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(matches("é*ß", "é und ß"));
    }

    #[test]
    fn the_most_specific_pattern_wins_and_unmatched_get_the_defaults() {
        let policy = |n| Policy::builder().trip(failure_count(n)).build().unwrap();
        let policies = Policies::new(vec![
            ("*".into(), policy(1)),
            ("order *".into(), policy(2)),
            ("order * failed".into(), policy(3)),
        ]);
        let trip = |template: &str| policies.for_template(template).trip().to_string();
        assert_eq!(trip("order {n} failed"), "failure_count(3)");
        assert_eq!(trip("order {n} shipped"), "failure_count(2)");
        assert_eq!(trip("disk full"), "failure_count(1)");

        let defaults = Policies::new(Vec::new()).for_template("disk full");
        assert_eq!(
            defaults.to_string(),
            "window=time(60s) trip=failure_count(100) retry=cooldown(300s) permit=all() \
             max_concurrent_probes=10 close_after=1 max_wait=60s"
        );
    }
}
