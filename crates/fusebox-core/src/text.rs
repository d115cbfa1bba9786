//! Reading windows, retry and permit policies from their text form (`count(100)`,
//! `backoff(1s, 2, 60s).jitter(0.1)`, `ramp_up(0.1, 1, 60s)`), as config files write them.
//!
//! Each is a chain of calls `name(arg, ...)` joined by `.`; what the names and arguments mean
//! lives with each type (`Window`, `Retry`, `Permit`). Trip rules have a grammar of their own
//! in `trip::parse`.

use std::fmt;
use std::time::Duration;

use crate::duration;

/// The error returned when text is not a valid window, retry or permit policy.
///
/// ```
/// use fusebox_core::Retry;
///
/// let err = "cooldown(0s)".parse::<Retry>().unwrap_err();
/// assert_eq!(err.to_string(), "invalid retry \"cooldown(0s)\": cooldown(d) needs d > 0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePolicyError {
    what: &'static str,
    text: String,
    message: String,
}

impl ParsePolicyError {
    pub(crate) fn new(what: &'static str, text: &str, message: impl Into<String>) -> Self {
        ParsePolicyError {
            what,
            text: text.to_owned(),
            message: message.into(),
        }
    }

    /// What was being read: `window`, `retry` or `permit`.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// What is wrong, without the input.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.what, self.text, self.message)
    }
}

impl std::error::Error for ParsePolicyError {}

/// One `name(arg, ...)` of a chain.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) name: &'a str,
    pub(crate) args: Vec<&'a str>,
}

/// Splits `text` into its chain of calls, or says what is malformed.
pub(crate) fn calls(text: &str) -> Result<Vec<Call<'_>>, String> {
    let mut rest = text.trim();
    let mut calls = Vec::new();
    if rest.is_empty() {
        return Err("empty text".to_owned());
    }
    loop {
        let open = rest
            .find('(')
            .ok_or_else(|| format!("expected '(' after {:?}", rest.trim()))?;
        let name = rest[..open].trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("expected a name before '(', found {name:?}"));
        }
        let close = rest[open..]
            .find(')')
            .map(|offset| open + offset)
            .ok_or_else(|| format!("expected ')' to close the arguments of {name}"))?;
        let inside = rest[open + 1..close].trim();
        let args = if inside.is_empty() {
            Vec::new()
        } else {
            inside.split(',').map(str::trim).collect()
        };
        calls.push(Call { name, args });
        rest = rest[close + 1..].trim_start();
        if rest.is_empty() {
            return Ok(calls);
        }
        rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("unexpected {rest:?} after {name}(...)"))?
            .trim_start();
    }
}

impl Call<'_> {
    /// The arguments, if there are exactly `N`; otherwise what the call takes.
    pub(crate) fn args<const N: usize>(&self, signature: &str) -> Result<[&str; N], String> {
        <[&str; N]>::try_from(self.args.as_slice()).map_err(|_| {
            format!(
                "{} takes {N} argument{}: {signature}",
                self.name,
                if N == 1 { "" } else { "s" }
            )
        })
    }
}

pub(crate) fn number(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("expected a number, found {text:?}"))
}

pub(crate) fn count(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .map_err(|_| format!("expected a whole number, found {text:?}"))
}

pub(crate) fn span(text: &str) -> Result<Duration, String> {
    duration::parse(text).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_split_into_calls_with_trimmed_arguments() {
        let chain = calls(" backoff( 1s , 2,60s ) . jitter(0.1) ").unwrap();
        let parts: Vec<_> = chain.iter().map(|c| (c.name, c.args.clone())).collect();
        assert_eq!(
            parts,
            [("backoff", vec!["1s", "2", "60s"]), ("jitter", vec!["0.1"])]
        );
        assert_eq!(calls("all()").unwrap()[0].args.len(), 0);
    }

    #[test]
    fn malformed_chains_say_what_is_wrong() {
        assert_eq!(calls("").unwrap_err(), "empty text");
        assert_eq!(calls("count").unwrap_err(), "expected '(' after \"count\"");
        assert_eq!(
            calls("count(5").unwrap_err(),
            "expected ')' to close the arguments of count"
        );
        assert_eq!(
            calls("count(5) x").unwrap_err(),
            "unexpected \"x\" after count(...)"
        );
        assert_eq!(
            calls("(5)").unwrap_err(),
            "expected a name before '(', found \"\""
        );
    }
}
