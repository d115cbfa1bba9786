//! Reading trip rules from text: the grammar behind [`TripRule`]'s `FromStr`, and the errors
//! that point at what is wrong.
//!
//! ```text
//! rule  = and ( "|" and )*
//! and   = unary ( "&" unary )*
//! unary = "!" unary | "(" rule ")" | leaf
//! leaf  = name "(" arguments ")"
//! ```
//!
//! Whitespace may surround any token. Which leaves exist and what arguments they take comes
//! from `leaf.rs`; what rules mean, and how they are written back, from the parent module.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::leaf::{Leaf, Param};
use super::{LeafCheck, MAX_DEPTH, Node, TripRule};
use crate::duration;
use crate::text::{Cursor, write_caret};

/// The error returned when text is not a valid trip rule: where it goes wrong and why.
///
/// Its `Display` repeats the input with a caret under the offending token.
///
/// ```
/// use fusebox_core::TripRule;
///
/// let err = "min_requests(5) & failur_rate(0.5)".parse::<TripRule>().unwrap_err();
/// assert_eq!(err.position(), 18);
/// assert_eq!(
///     err.to_string(),
///     "invalid trip rule at position 18: unknown rule \"failur_rate\"; expected one of closed, \
///      half_opened, min_requests, failure_rate, failure_count, slow_rate, avg_latency, \
///      failure_streak\n  min_requests(5) & failur_rate(0.5)\n                    ^",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseTripError {
    input: String,
    position: usize,
    message: String,
}

impl ParseTripError {
    /// Byte offset in the input of the token the error is about.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What is wrong, without the position and the input, like
    /// `expected ')' after the arguments of failure_rate, found end of input`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParseTripError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid trip rule at position {}: {}",
            self.position, self.message
        )?;
        write_caret(f, &self.input, self.position)
    }
}

impl std::error::Error for ParseTripError {}

impl FromStr for TripRule {
    type Err = ParseTripError;

    /// Parses a rule in the syntax [`TripRule`]'s `Display` writes, then validates it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parser = Parser {
            text: Cursor::new(text),
            nesting: 0,
            check: LeafCheck::default(),
        };
        parser.text.skip_whitespace();
        if parser.text.peek().is_none() {
            return Err(parser.error(
                "empty trip rule; write one like min_requests(100) & failure_rate(0.5)".to_owned(),
            ));
        }
        let (node, _) = parser.rule(None)?;
        parser.text.skip_whitespace();
        match parser.text.peek() {
            None => Ok(TripRule::new(node)),
            Some(')') => Err(parser.error("unexpected ')' without a matching '('".to_owned())),
            Some(_) => Err(parser.error(format!(
                "expected '&', '|' or the end of the rule, found {}",
                parser.found()
            ))),
        }
    }
}

/// A parsed subtree and its height (a leaf is 1).
type Parsed = Result<(Node, usize), ParseTripError>;

struct Parser<'a> {
    text: Cursor<'a>,
    /// How many `(` and `!` enclose the position: bounds the parser's recursion.
    nesting: usize,
    check: LeafCheck,
}

impl<'a> Parser<'a> {
    fn rule(&mut self, after: Option<char>) -> Parsed {
        let (mut node, mut height) = self.and(after)?;
        loop {
            self.text.skip_whitespace();
            let operator = self.text.position();
            if !self.text.eat('|') {
                return Ok((node, height));
            }
            let (rhs, rhs_height) = self.and(Some('|'))?;
            height = self.one_level_up(operator, height.max(rhs_height))?;
            node = Node::Or(Box::new(node), Box::new(rhs));
        }
    }

    fn and(&mut self, after: Option<char>) -> Parsed {
        let (mut node, mut height) = self.unary(after)?;
        loop {
            self.text.skip_whitespace();
            let operator = self.text.position();
            if !self.text.eat('&') {
                return Ok((node, height));
            }
            let (rhs, rhs_height) = self.unary(Some('&'))?;
            height = self.one_level_up(operator, height.max(rhs_height))?;
            node = Node::And(Box::new(node), Box::new(rhs));
        }
    }

    fn unary(&mut self, after: Option<char>) -> Parsed {
        self.text.skip_whitespace();
        let start = self.text.position();
        if self.text.eat('!') {
            self.enter(start)?;
            let (operand, height) = self.unary(Some('!'))?;
            self.nesting = self.nesting.saturating_sub(1);
            let height = self.one_level_up(start, height)?;
            return Ok((Node::Not(Box::new(operand)), height));
        }
        if self.text.eat('(') {
            self.enter(start)?;
            let inner = self.rule(Some('('))?;
            self.nesting = self.nesting.saturating_sub(1);
            self.text.skip_whitespace();
            if !self.text.eat(')') {
                return Err(self.error(format!(
                    "expected ')' to close the '(' at position {start}, found {}",
                    self.found()
                )));
            }
            return Ok(inner);
        }
        match self.text.peek() {
            Some(c) if is_name_start(c) => self.leaf(),
            _ => {
                let found = self.found();
                Err(self.error(match after {
                    Some(operator) => format!("expected a rule after '{operator}', found {found}"),
                    None => format!("expected a rule, found {found}"),
                }))
            }
        }
    }

    fn leaf(&mut self) -> Parsed {
        let start = self.text.position();
        let name = self.text.take_while(is_name_char);
        let Some(example) = Leaf::ALL.into_iter().find(|leaf| leaf.name() == name) else {
            let names: Vec<_> = Leaf::ALL.iter().map(Leaf::name).collect();
            return Err(self.error_at(
                start,
                format!(
                    "unknown rule {name:?}; expected one of {}",
                    names.join(", ")
                ),
            ));
        };
        self.text.skip_whitespace();
        if !self.text.eat('(') {
            return Err(self.error(format!("expected '(' after {name}, found {}", self.found())));
        }
        // The example's arguments are replaced, one by one, by those written.
        let mut leaf = example;
        for (index, param) in leaf.params().into_iter().enumerate() {
            if index > 0 {
                self.comma(example)?;
            }
            match param {
                Param::Count(n) => *n = self.count(example)?,
                Param::Rate(r) => *r = self.rate(example)?,
                Param::Duration(t, _) => *t = self.duration(example)?,
            }
        }
        self.close(example)?;
        // Leaves are checked as they are read, so the first invalid one in text order is the
        // one reported, exactly as `TripRule::validate` would.
        if let Err(invalid) = self.check.leaf(&leaf) {
            return Err(self.error_at(
                start,
                format!("{} is invalid: {}", invalid.rule(), invalid.allowed()),
            ));
        }
        Ok((Node::Leaf(leaf), 1))
    }

    /// Reads one argument token of `leaf`, which must not be empty.
    fn argument(&mut self, leaf: Leaf) -> Result<(usize, &'a str), ParseTripError> {
        self.text.skip_whitespace();
        let start = self.text.position();
        let token = self.text.take_while(is_argument_char);
        if token.is_empty() {
            return Err(self.error(format!("missing argument: {}", leaf.usage())));
        }
        Ok((start, token))
    }

    fn count(&mut self, leaf: Leaf) -> Result<u64, ParseTripError> {
        let (start, token) = self.argument(leaf)?;
        let problem = if is_decimal(token) && !token.contains('.') {
            match token.parse() {
                Ok(count) => return Ok(count),
                Err(_) => format!("count {token:?} is too large (at most {})", u64::MAX),
            }
        } else if token.starts_with('-') {
            format!("negative count {token:?}")
        } else if is_decimal(token) {
            format!("{token:?} is not a whole number")
        } else {
            format!("invalid count {token:?}")
        };
        Err(self.error_at(start, format!("{problem}; {}", leaf.usage())))
    }

    fn rate(&mut self, leaf: Leaf) -> Result<f64, ParseTripError> {
        let (start, token) = self.argument(leaf)?;
        if is_decimal(token) {
            if let Ok(rate) = token.parse() {
                return Ok(rate);
            }
        }
        let problem = if token.starts_with('-') {
            format!("negative rate {token:?}")
        } else {
            format!("invalid rate {token:?}")
        };
        Err(self.error_at(start, format!("{problem}; {}", leaf.usage())))
    }

    fn duration(&mut self, leaf: Leaf) -> Result<Duration, ParseTripError> {
        let (start, token) = self.argument(leaf)?;
        duration::parse(token)
            .map_err(|err| self.error_at(start.saturating_add(err.position()), err.to_string()))
    }

    fn comma(&mut self, leaf: Leaf) -> Result<(), ParseTripError> {
        self.text.skip_whitespace();
        if self.text.eat(',') {
            return Ok(());
        }
        if self.text.peek() == Some(')') {
            return Err(self.error(format!("missing argument: {}", leaf.usage())));
        }
        Err(self.error(format!(
            "expected ',' between the arguments of {}, found {}",
            leaf.name(),
            self.found()
        )))
    }

    fn close(&mut self, leaf: Leaf) -> Result<(), ParseTripError> {
        self.text.skip_whitespace();
        let takes_nothing = leaf.arity() == 0;
        match self.text.peek() {
            Some(')') => {
                self.text.eat(')');
                Ok(())
            }
            Some(',') => Err(self.error(format!("too many arguments: {}", leaf.usage()))),
            Some(c) if takes_nothing && is_argument_char(c) => {
                Err(self.error(format!("too many arguments: {}", leaf.usage())))
            }
            _ => Err(self.error(format!(
                "expected ')' after the arguments of {}, found {}",
                leaf.name(),
                self.found()
            ))),
        }
    }

    /// Records entering a `(` or `!` at `position`.
    fn enter(&mut self, position: usize) -> Result<(), ParseTripError> {
        self.nesting = self.nesting.saturating_add(1);
        if self.nesting > MAX_DEPTH {
            return Err(self.error_at(position, too_deep()));
        }
        Ok(())
    }

    /// The height of a node built by the operator at `position` over children `height` high.
    fn one_level_up(&self, position: usize, height: usize) -> Result<usize, ParseTripError> {
        if height >= MAX_DEPTH {
            return Err(self.error_at(position, too_deep()));
        }
        Ok(height.saturating_add(1))
    }

    /// Describes the token at the position, for "found ..." in messages.
    fn found(&self) -> String {
        self.text.found(is_argument_char)
    }

    fn error(&self, message: String) -> ParseTripError {
        self.error_at(self.text.position(), message)
    }

    fn error_at(&self, position: usize, message: String) -> ParseTripError {
        ParseTripError {
            input: self.text.input().to_owned(),
            position,
            message,
        }
    }
}

fn too_deep() -> String {
    format!("the rule nests more than {MAX_DEPTH} levels deep")
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_argument_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '&' | '|' | '!')
}

/// Whether `token` is an unsigned decimal number: digits, optionally `.` and more digits.
fn is_decimal(token: &str) -> bool {
    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match token.split_once('.') {
        Some((whole, fraction)) => is_digits(whole) && is_digits(fraction),
        None => is_digits(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trip::{
        avg_latency, closed, failure_count, failure_rate, failure_streak, half_opened,
        min_requests, slow_rate,
    };
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<TripRule, ParseTripError> {
        text.parse()
    }

    fn canonical(text: &str) -> String {
        parse(text).unwrap().to_string()
    }

    /// The position and message of the error parsing `text`.
    fn error(text: &str) -> (usize, String) {
        let err = parse(text).unwrap_err();
        (err.position(), err.message().to_owned())
    }

    /// The usage text of the leaf called `name`.
    fn usage(name: &str) -> String {
        Leaf::ALL
            .into_iter()
            .find(|leaf| leaf.name() == name)
            .unwrap()
            .usage()
    }

    #[test]
    fn canonical_text_parses_and_renders_back_identically() {
        let text =
            "min_requests(20) & (failure_rate(0.5) | slow_rate(0.3, 1s)) | failure_streak(5)";
        let rule = parse(text).unwrap();
        assert_eq!(
            rule,
            min_requests(20) & (failure_rate(0.5) | slow_rate(0.3, Duration::from_secs(1)))
                | failure_streak(5)
        );
        assert_eq!(rule.to_string(), text);
    }

    #[test]
    fn whitespace_is_allowed_between_any_tokens() {
        let text =
            " \tmin_requests ( 20 )&(failure_rate(0.5)|slow_rate( 0.3 ,1s ))\n|\r\n!closed( ) ";
        assert_eq!(
            canonical(text),
            "min_requests(20) & (failure_rate(0.5) | slow_rate(0.3, 1s)) | !closed()"
        );
    }

    #[test]
    fn every_leaf_parses() {
        let cases = [
            ("closed()", closed()),
            ("half_opened()", half_opened()),
            ("min_requests(100)", min_requests(100)),
            ("failure_rate(0.5)", failure_rate(0.5)),
            ("failure_count(5)", failure_count(5)),
            ("slow_rate(0.3, 1s)", slow_rate(0.3, Duration::from_secs(1))),
            (
                "avg_latency(250ms)",
                avg_latency(Duration::from_millis(250)),
            ),
            ("failure_streak(5)", failure_streak(5)),
            ("min_requests(18446744073709551615)", min_requests(u64::MAX)),
        ];
        for (text, rule) in cases {
            assert_eq!(parse(text), Ok(rule));
        }
    }

    #[test]
    fn numbers_and_durations_render_in_canonical_form() {
        assert_eq!(canonical("failure_rate(0.50)"), "failure_rate(0.5)");
        assert_eq!(canonical("failure_rate(1.0)"), "failure_rate(1)");
        assert_eq!(canonical("min_requests(007)"), "min_requests(7)");
        assert_eq!(canonical("slow_rate(1, 1000ms)"), "slow_rate(1, 1s)");
        assert_eq!(canonical("avg_latency(1.5s)"), "avg_latency(1500ms)");
        assert_eq!(canonical("avg_latency(1m)"), "avg_latency(60s)");
    }

    #[test]
    fn precedence_is_not_then_and_then_or_and_operators_group_left() {
        let (a, b, c) = (closed, half_opened, || failure_streak(3));
        let cases = [
            (
                "closed() | half_opened() & failure_streak(3)",
                a() | (b() & c()),
            ),
            (
                "closed() & half_opened() | failure_streak(3)",
                (a() & b()) | c(),
            ),
            (
                "closed() & half_opened() & failure_streak(3)",
                (a() & b()) & c(),
            ),
            (
                "closed() | half_opened() | failure_streak(3)",
                (a() | b()) | c(),
            ),
            (
                "closed() & (half_opened() & failure_streak(3))",
                a() & (b() & c()),
            ),
            ("!closed() & half_opened()", !a() & b()),
            ("!(closed() & half_opened())", !(a() & b())),
            ("!!closed()", !!a()),
        ];
        for (text, rule) in cases {
            assert_eq!(parse(text), Ok(rule), "{text}");
        }
    }

    #[test]
    fn redundant_parentheses_are_dropped_from_the_text() {
        assert_eq!(canonical("((closed()))"), "closed()");
        assert_eq!(canonical("!(closed())"), "!closed()");
        assert_eq!(
            canonical("(closed() & half_opened()) & (failure_count(1))"),
            "closed() & half_opened() & failure_count(1)"
        );
        assert_eq!(
            canonical("(closed() & half_opened()) | (failure_count(1) & closed())"),
            "closed() & half_opened() | failure_count(1) & closed()"
        );
    }

    #[test]
    fn empty_input_is_an_error() {
        let message = "empty trip rule; write one like min_requests(100) & failure_rate(0.5)";
        assert_eq!(error(""), (0, message.to_owned()));
        assert_eq!(error(" \n "), (3, message.to_owned()));
    }

    #[test]
    fn unknown_rule_names_list_the_known_ones() {
        assert_eq!(
            error("min_requests(5) & failur_rate(0.5)"),
            (
                18,
                "unknown rule \"failur_rate\"; expected one of closed, half_opened, min_requests, \
                 failure_rate, failure_count, slow_rate, avg_latency, failure_streak"
                    .to_owned()
            )
        );
        assert_eq!(
            error("Closed()").1.split(';').next(),
            Some("unknown rule \"Closed\"")
        );
    }

    #[test]
    fn a_rule_name_needs_parentheses() {
        assert_eq!(
            error("failure_rate"),
            (
                12,
                "expected '(' after failure_rate, found end of input".to_owned()
            )
        );
        assert_eq!(
            error("failure_rate 0.5"),
            (
                13,
                "expected '(' after failure_rate, found \"0.5\"".to_owned()
            )
        );
        assert_eq!(
            error("closed & half_opened()"),
            (7, "expected '(' after closed, found '&'".to_owned())
        );
    }

    #[test]
    fn missing_arguments_say_what_the_rule_takes() {
        let missing = |kind| format!("missing argument: {}", usage(kind));
        assert_eq!(error("failure_rate()"), (13, missing("failure_rate")));
        assert_eq!(error("min_requests( )"), (14, missing("min_requests")));
        assert_eq!(error("slow_rate(0.3)"), (13, missing("slow_rate")));
        assert_eq!(error("slow_rate(0.3,)"), (14, missing("slow_rate")));
        assert_eq!(error("slow_rate(, 1s)"), (10, missing("slow_rate")));
        assert_eq!(
            missing("slow_rate"),
            "missing argument: slow_rate takes a rate r with 0 < r <= 1 and a threshold t with t > 0, like slow_rate(0.3, 1s)"
        );
    }

    #[test]
    fn extra_arguments_say_what_the_rule_takes() {
        let too_many = |kind| format!("too many arguments: {}", usage(kind));
        assert_eq!(
            error("failure_rate(0.5, 1)"),
            (16, too_many("failure_rate"))
        );
        assert_eq!(error("slow_rate(0.3, 1s, 2s)"), (17, too_many("slow_rate")));
        assert_eq!(error("closed(1)"), (7, too_many("closed")));
        assert_eq!(
            error("half_opened(x)"),
            (
                12,
                "too many arguments: half_opened takes no arguments, like half_opened()".to_owned()
            )
        );
    }

    #[test]
    fn arguments_must_be_separated_and_closed() {
        assert_eq!(
            error("slow_rate(0.3 1s)"),
            (
                14,
                "expected ',' between the arguments of slow_rate, found \"1s\"".to_owned()
            )
        );
        assert_eq!(
            error("failure_rate(0.5"),
            (
                16,
                "expected ')' after the arguments of failure_rate, found end of input".to_owned()
            )
        );
        assert_eq!(
            error("failure_rate(0.5 0.6)"),
            (
                17,
                "expected ')' after the arguments of failure_rate, found \"0.6\"".to_owned()
            )
        );
        assert_eq!(
            error("closed("),
            (
                7,
                "expected ')' after the arguments of closed, found end of input".to_owned()
            )
        );
    }

    #[test]
    fn bad_and_negative_rates_are_errors() {
        let rate = usage("failure_rate");
        assert_eq!(
            error("failure_rate(abc)"),
            (13, format!("invalid rate \"abc\"; {rate}"))
        );
        assert_eq!(
            error("failure_rate(-0.5)"),
            (13, format!("negative rate \"-0.5\"; {rate}"))
        );
        assert_eq!(
            error("failure_rate(.5)"),
            (13, format!("invalid rate \".5\"; {rate}"))
        );
        assert_eq!(
            error("failure_rate(1e-3)"),
            (13, format!("invalid rate \"1e-3\"; {rate}"))
        );
        assert_eq!(
            error("failure_rate(0.5.1)"),
            (13, format!("invalid rate \"0.5.1\"; {rate}"))
        );
        assert_eq!(
            error("slow_rate(50%, 1s)"),
            (10, format!("invalid rate \"50%\"; {}", usage("slow_rate")))
        );
    }

    #[test]
    fn counts_must_be_whole_unsigned_numbers() {
        let count = usage("min_requests");
        assert_eq!(
            error("min_requests(1.5)"),
            (
                13,
                "\"1.5\" is not a whole number; min_requests takes a count n with n >= 1, like min_requests(100)"
                    .to_owned()
            )
        );
        assert_eq!(
            error("min_requests(-5)"),
            (13, format!("negative count \"-5\"; {count}"))
        );
        assert_eq!(
            error("min_requests(ten)"),
            (13, format!("invalid count \"ten\"; {count}"))
        );
        assert_eq!(
            error("min_requests(18446744073709551616)"),
            (
                13,
                format!(
                    "count \"18446744073709551616\" is too large (at most 18446744073709551615); {count}"
                )
            )
        );
        assert_eq!(
            error("failure_streak(2.0)"),
            (
                15,
                format!("\"2.0\" is not a whole number; {}", usage("failure_streak"))
            )
        );
    }

    #[test]
    fn bad_durations_point_into_the_duration_and_report_its_error() {
        let hint = r#"; use a number followed by ns, us, ms, s, m or h, like "30s" or "250ms""#;
        assert_eq!(
            error("slow_rate(0.3, 1x)"),
            (
                16,
                format!("invalid duration \"1x\": unknown unit \"x\"{hint}")
            )
        );
        assert_eq!(
            error("avg_latency(-1s)"),
            (
                12,
                format!("invalid duration \"-1s\": bad number \"-1\"{hint}")
            )
        );
        assert_eq!(
            error("avg_latency(250)"),
            (15, format!("invalid duration \"250\": missing unit{hint}"))
        );
    }

    #[test]
    fn unbalanced_parentheses_are_errors() {
        assert_eq!(
            error("(closed() | half_opened()"),
            (
                25,
                "expected ')' to close the '(' at position 0, found end of input".to_owned()
            )
        );
        assert_eq!(
            error("closed() & (half_opened() failure_count(1))"),
            (
                26,
                "expected ')' to close the '(' at position 11, found \"failure_count\"".to_owned()
            )
        );
        assert_eq!(
            error("closed())"),
            (8, "unexpected ')' without a matching '('".to_owned())
        );
        assert_eq!(
            error("()"),
            (1, "expected a rule after '(', found ')'".to_owned())
        );
    }

    #[test]
    fn trailing_input_is_an_error() {
        assert_eq!(
            error("closed() half_opened()"),
            (
                9,
                "expected '&', '|' or the end of the rule, found \"half_opened\"".to_owned()
            )
        );
        assert_eq!(
            error("closed() && half_opened()"),
            (10, "expected a rule after '&', found '&'".to_owned())
        );
        assert_eq!(
            error("closed(),"),
            (
                8,
                "expected '&', '|' or the end of the rule, found ','".to_owned()
            )
        );
    }

    #[test]
    fn dangling_operators_are_errors() {
        assert_eq!(
            error("closed() &"),
            (
                10,
                "expected a rule after '&', found end of input".to_owned()
            )
        );
        assert_eq!(
            error("closed() | & half_opened()"),
            (11, "expected a rule after '|', found '&'".to_owned())
        );
        assert_eq!(
            error("!"),
            (
                1,
                "expected a rule after '!', found end of input".to_owned()
            )
        );
        assert_eq!(
            error("& closed()"),
            (0, "expected a rule, found '&'".to_owned())
        );
        assert_eq!(error("5"), (0, "expected a rule, found \"5\"".to_owned()));
        assert_eq!(
            error("closed() | ç()"),
            (11, "expected a rule after '|', found \"ç\"".to_owned())
        );
    }

    #[test]
    fn invalid_values_point_at_their_leaf() {
        let cases = [
            (
                "min_requests(10) & failure_rate(1.5)",
                19,
                "failure_rate(1.5) is invalid: failure_rate takes a rate r with 0 < r <= 1",
            ),
            (
                "failure_rate(0)",
                0,
                "failure_rate(0) is invalid: failure_rate takes a rate r with 0 < r <= 1",
            ),
            (
                "min_requests(0)",
                0,
                "min_requests(0) is invalid: min_requests takes a count n with n >= 1",
            ),
            (
                "closed() | failure_count(0)",
                11,
                "failure_count(0) is invalid: failure_count takes a count n with n >= 1",
            ),
            (
                "!failure_streak(00)",
                1,
                "failure_streak(0) is invalid: failure_streak takes a count n with n >= 1",
            ),
            (
                "slow_rate(1.5, 1s)",
                0,
                "slow_rate(1.5, 1s) is invalid: slow_rate takes a rate r with 0 < r <= 1",
            ),
            (
                "slow_rate(0.5, 0s)",
                0,
                "slow_rate(0.5, 0s) is invalid: slow_rate takes a threshold t with t > 0",
            ),
            (
                "( avg_latency(0ms))",
                2,
                "avg_latency(0s) is invalid: avg_latency takes a latency t with t > 0",
            ),
            (
                "failure_count(0) | min_requests(0)",
                0,
                "failure_count(0) is invalid: failure_count takes a count n with n >= 1",
            ),
        ];
        for (text, position, message) in cases {
            assert_eq!(error(text), (position, message.to_owned()), "{text}");
        }
    }

    #[test]
    fn a_ninth_distinct_slow_threshold_points_at_its_leaf() {
        let eight: Vec<_> = (1..=8)
            .map(|ms| format!("slow_rate(0.5, {ms}ms)"))
            .collect();
        let eight = eight.join(" | ");
        assert!(parse(&eight).is_ok());
        assert!(parse(&format!("{eight} | slow_rate(0.1, 8ms)")).is_ok());
        let text = format!("{eight} | slow_rate(0.5, 9ms)");
        assert_eq!(
            error(&text),
            (
                eight.len() + 3,
                "slow_rate(0.5, 9ms) is invalid: a trip rule can track at most 8 distinct slow_rate thresholds"
                    .to_owned()
            )
        );
    }

    #[test]
    fn nesting_deeper_than_sixty_four_levels_is_an_error() {
        let too_deep = "the rule nests more than 64 levels deep".to_owned();
        assert!(parse(&format!("{}closed()", "!".repeat(63))).is_ok());
        assert_eq!(
            error(&format!("{}closed()", "!".repeat(64))),
            (0, too_deep.clone())
        );
        assert_eq!(error(&"!".repeat(100_000)), (64, too_deep.clone()));
        let parens = |n| format!("{}closed(){}", "(".repeat(n), ")".repeat(n));
        assert_eq!(parse(&parens(64)), Ok(closed()));
        assert_eq!(error(&parens(65)), (64, too_deep.clone()));
        let chain = |leaves: usize| format!("closed(){}", " & closed()".repeat(leaves - 1));
        assert!(parse(&chain(64)).is_ok());
        assert_eq!(error(&chain(65)), (11 * 64 - 2, too_deep));
    }

    #[test]
    fn display_shows_the_input_with_a_caret_under_the_position() {
        assert_eq!(
            parse("min_requests(5) & failur_rate(0.5)")
                .unwrap_err()
                .to_string(),
            "invalid trip rule at position 18: unknown rule \"failur_rate\"; expected one of \
             closed, half_opened, min_requests, failure_rate, failure_count, slow_rate, \
             avg_latency, failure_streak\n\
             \x20 min_requests(5) & failur_rate(0.5)\n\
             \x20                   ^"
        );
        assert_eq!(
            parse("failure_rate(0.5").unwrap_err().to_string(),
            "invalid trip rule at position 16: expected ')' after the arguments of failure_rate, \
             found end of input\n  failure_rate(0.5\n                  ^"
        );
    }

    #[test]
    fn display_keeps_the_caret_aligned_across_tabs_newlines_and_wide_characters() {
        assert_eq!(
            parse("closed() &\n\tbogus()").unwrap_err().to_string(),
            "invalid trip rule at position 12: unknown rule \"bogus\"; expected one of closed, \
             half_opened, min_requests, failure_rate, failure_count, slow_rate, avg_latency, \
             failure_streak\n  closed() &  bogus()\n              ^"
        );
        let err = parse("closed()\u{3000}&").unwrap_err();
        assert_eq!(err.position(), 12);
        assert_eq!(
            err.to_string(),
            "invalid trip rule at position 12: expected a rule after '&', found end of input\n  \
             closed() &\n            ^"
        );
    }

    fn rate() -> impl Strategy<Value = f64> {
        (1..=1000_u32).prop_map(|thousandths| f64::from(thousandths) / 1000.0)
    }

    fn count() -> impl Strategy<Value = u64> {
        prop_oneof![1..=1000_u64, 1..=u64::MAX]
    }

    fn millis() -> impl Strategy<Value = Duration> {
        (1..=10_000_000_u64).prop_map(Duration::from_millis)
    }

    fn valid_rule() -> impl Strategy<Value = TripRule> {
        let leaf = prop_oneof![
            Just(closed()),
            Just(half_opened()),
            count().prop_map(min_requests),
            rate().prop_map(failure_rate),
            count().prop_map(failure_count),
            (rate(), millis()).prop_map(|(r, t)| slow_rate(r, t)),
            millis().prop_map(avg_latency),
            count().prop_map(failure_streak),
        ];
        leaf.prop_recursive(6, 48, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a & b),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a | b),
                inner.prop_map(|a| !a),
            ]
        })
        .prop_filter("rules must be valid", |rule| rule.validate().is_ok())
    }

    proptest! {
        #[test]
        fn every_valid_rule_parses_back_from_its_text(rule in valid_rule()) {
            let text = rule.to_string();
            let parsed = parse(&text);
            prop_assert_eq!(parsed.as_ref().map(ToString::to_string), Ok(text));
            prop_assert_eq!(parsed, Ok(rule));
        }

        #[test]
        fn any_text_parses_to_a_valid_rule_or_points_inside_the_input(
            text in "[a-z_()&|!, .0-9-]{0,60}|\\PC{0,30}"
        ) {
            match parse(&text) {
                Ok(rule) => {
                    prop_assert_eq!(rule.validate(), Ok(()));
                    prop_assert_eq!(parse(&rule.to_string()), Ok(rule));
                }
                Err(err) => {
                    prop_assert!(err.position() <= text.len());
                    prop_assert!(text.is_char_boundary(err.position()));
                }
            }
        }
    }
}
