//! Which configured policies no circuit has used yet: [`Fusebox::unused_policies`].
//!
//! A policy applies to the circuit of exactly its name, and names are easy to get wrong: a
//! route circuit is `POST /checkout`, so `[circuits.checkout]` never applies to it and the
//! route runs on the default policy without a word. The registry notes which configured
//! names a circuit was created for, so that the mistake can be shown.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Fusebox;

/// Whether a circuit was created for each configured name.
pub(crate) struct PolicyUse {
    used: HashMap<String, AtomicBool>,
    warned: AtomicBool,
}

impl PolicyUse {
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a String>) -> PolicyUse {
        PolicyUse {
            used: names
                .into_iter()
                .map(|name| (name.clone(), AtomicBool::new(false)))
                .collect(),
            warned: AtomicBool::new(false),
        }
    }

    /// Notes that a circuit named `name` was created: once per name, never per call.
    pub(crate) fn mark(&self, name: &str) {
        if let Some(used) = self.used.get(name) {
            used.store(true, Ordering::Relaxed);
        }
    }

    fn unused(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .used
            .iter()
            .filter(|(_, used)| !used.load(Ordering::Relaxed))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }
}

impl fmt::Debug for PolicyUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyUse")
            .field("unused", &self.unused())
            .finish_non_exhaustive()
    }
}

/// `name` as the header of its config section: `[circuits.checkout]`,
/// `[circuits."POST /checkout"]`.
struct Section<'a>(&'a str);

impl fmt::Display for Section<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = !self.0.is_empty()
            && self
                .0
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
        if bare {
            write!(f, "[circuits.{}]", self.0)
        } else {
            // `{:?}` escapes quotes and backslashes as a TOML basic string does (control
            // characters differ, which no name worth configuring has).
            write!(f, "[circuits.{:?}]", self.0)
        }
    }
}

impl Fusebox {
    /// The names with a policy of their own (from [`FuseboxBuilder::policy`] or a config
    /// file's `[circuits.<name>]`) that no circuit has been created for yet, sorted.
    ///
    /// Circuits are created when a layer first uses their name, so right after start every
    /// name may be unused; one still unused once traffic flows is usually a misspelt name,
    /// most often a section named after a route (`[circuits.checkout]`) where the route
    /// circuit is named by method and template (`[circuits."POST /checkout"]`).
    ///
    /// The first call that finds any also logs them, once per registry, as a warning (target
    /// `fusebox`), with the names as config section headers: call it once the application
    /// has warmed up, or let the admin dashboard's first look do it.
    ///
    /// [`FuseboxBuilder::policy`]: crate::FuseboxBuilder::policy
    ///
    /// ```
    /// use fusebox::{Fusebox, Policy};
    ///
    /// let fusebox = Fusebox::builder()
    ///     .policy("checkout", Policy::builder().close_after(3).build()?)
    ///     .policy("POST /orders", Policy::builder().close_after(3).build()?)
    ///     .build()?;
    /// fusebox.circuit("POST /orders");
    /// fusebox.circuit("POST /checkout"); // the route circuit: default policy
    /// assert_eq!(fusebox.unused_policies(), ["checkout"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unused_policies(&self) -> Vec<String> {
        let policy_use = self.policy_use();
        let unused = policy_use.unused();
        if !unused.is_empty() && !policy_use.warned.swap(true, Ordering::Relaxed) {
            let sections: Vec<String> = unused
                .iter()
                .map(|name| Section(name).to_string())
                .collect();
            tracing::warn!(
                target: "fusebox",
                unused = ?unused,
                "no circuit has used these config sections yet: {}; a section applies only to the circuit of exactly its name (route circuits are named like \"POST /checkout\": [circuits.\"POST /checkout\"])",
                sections.join(", "),
            );
        }
        unused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_headers_quote_names_that_are_not_bare_keys() {
        let cases = [
            ("checkout", "[circuits.checkout]"),
            ("api-v2_eu", "[circuits.api-v2_eu]"),
            ("POST /checkout", r#"[circuits."POST /checkout"]"#),
            ("api.example.com", r#"[circuits."api.example.com"]"#),
            (r#"a"b\c"#, r#"[circuits."a\"b\\c"]"#),
            ("", r#"[circuits.""]"#),
        ];
        for (name, section) in cases {
            assert_eq!(Section(name).to_string(), section, "{name}");
        }
    }

    #[test]
    fn only_names_no_circuit_was_created_for_are_unused() {
        let names = ["b".to_owned(), "a".to_owned(), "c".to_owned()];
        let policy_use = PolicyUse::new(&names);
        assert_eq!(policy_use.unused(), ["a", "b", "c"]);
        policy_use.mark("b");
        policy_use.mark("not configured");
        assert_eq!(policy_use.unused(), ["a", "c"]);
    }
}
