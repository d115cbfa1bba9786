//! Reading what users write in config files: windows, retry and permit policies as chains of
//! calls (`count(100)`, `backoff(1s, 2, 60s).jitter(0.1)`, `ramp_up(0.1, 1, 60s)`), and the
//! [`Cursor`] and caret display that these chains and trip rules share.
//!
//! A chain is calls `name(arg, ...)` joined by `.`; what the names and arguments mean lives with
//! each type (`Window`, `Retry`, `Permit`). Trip rules have a grammar of their own in
//! `trip::parse`. Every error keeps the byte offset of what it is about, so that it can show
//! the input with a caret under it.

use std::fmt;
use std::time::Duration;

use crate::duration;

/// The error returned when text is not a valid window, retry or permit policy: where it goes
/// wrong and why.
///
/// Its `Display` quotes the input, says at which byte offset it goes wrong, then repeats it
/// with a caret under the offending token.
///
/// ```
/// use fusebox_core::Retry;
///
/// let err = "cooldown(0s)".parse::<Retry>().unwrap_err();
/// assert_eq!(err.what(), "retry");
/// assert_eq!(err.position(), 9);
/// assert_eq!(err.message(), "cooldown(d) needs d > 0");
/// assert_eq!(
///     err.to_string(),
///     "invalid retry \"cooldown(0s)\": at position 9: cooldown(d) needs d > 0\n  \
///      cooldown(0s)\n           ^",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePolicyError {
    what: &'static str,
    text: String,
    position: usize,
    message: String,
}

impl ParsePolicyError {
    /// What was being read: `window`, `retry` or `permit`.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Byte offset in the input of what the error is about.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What is wrong, without the position and the input, like `cooldown(d) needs d > 0`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid {} {:?}: at position {}: {}",
            self.what, self.text, self.position, self.message
        )?;
        write_caret(f, &self.text, self.position)
    }
}

impl std::error::Error for ParsePolicyError {}

/// Writes `input` indented on one line and a caret under the character at byte `position`
/// on the next.
pub(crate) fn write_caret(f: &mut fmt::Formatter<'_>, input: &str, position: usize) -> fmt::Result {
    // Tabs and newlines would move the caret off its column, so every kind of whitespace is
    // shown as one space.
    let shown: String = input
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let column = input.get(..position).unwrap_or(input).chars().count();
    write!(f, "  {shown}\n  {:column$}^", "")
}

/// A reading position in text: the byte offset of the next unread character, always on a
/// character boundary.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    input: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Cursor { input, position: 0 }
    }

    pub(crate) fn input(&self) -> &'a str {
        self.input
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.position..).unwrap_or_default()
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Moves past `expected` if it is the next character.
    pub(crate) fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.position = self.position.saturating_add(expected.len_utf8());
        }
        found
    }

    pub(crate) fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.position = self
            .position
            .saturating_add(rest.len().saturating_sub(rest.trim_start().len()));
    }

    /// Moves past the longest run of characters that `keep` accepts and returns it.
    pub(crate) fn take_while(&mut self, keep: fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c| !keep(c)).unwrap_or(rest.len());
        self.position = self.position.saturating_add(end);
        rest.get(..end).unwrap_or_default()
    }

    /// Describes what comes next, for "found ..." in messages: `end of input`, the quoted run
    /// of `token` characters, or the one quoted character.
    pub(crate) fn found(&self, token: fn(char) -> bool) -> String {
        let rest = self.rest();
        match rest.chars().next() {
            None => "end of input".to_owned(),
            Some(c) if token(c) => {
                let end = rest.find(|c| !token(c)).unwrap_or(rest.len());
                format!("{:?}", rest.get(..end).unwrap_or_default())
            }
            Some(c) => format!("'{c}'"),
        }
    }
}

/// A value outside its allowed range: what is allowed, and which argument of the value's text
/// form holds it (counting from 0 across the whole chain), so a parse error can point at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) allowed: &'static str,
    pub(crate) argument: usize,
}

/// Text read as a chain of calls, with what it is read as (`window`, `retry`, `permit`), so
/// that every later error can point into it.
#[derive(Debug)]
pub(crate) struct Chain<'a> {
    what: &'static str,
    text: &'a str,
    first: Call<'a>,
    rest: Vec<Call<'a>>,
}

/// One `name(arg, ...)` of a chain.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) name: &'a str,
    /// Byte offset of the name.
    pub(crate) at: usize,
    args: Vec<Arg<'a>>,
    /// Byte offset of the closing `)`.
    close: usize,
}

/// One argument of a call, as written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arg<'a> {
    text: &'a str,
    /// Byte offset of the argument.
    at: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_argument_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | ',')
}

/// Reads one `name(arg, ...)`, or says what is wrong at the cursor.
fn call<'a>(cursor: &mut Cursor<'a>) -> Result<Call<'a>, String> {
    cursor.skip_whitespace();
    let at = cursor.position();
    let name = cursor.take_while(is_name_char);
    if name.is_empty() {
        return Err(format!(
            "expected a name, found {}",
            cursor.found(is_argument_char)
        ));
    }
    cursor.skip_whitespace();
    if !cursor.eat('(') {
        return Err(format!(
            "expected '(' after {name}, found {}",
            cursor.found(is_argument_char)
        ));
    }
    let mut args = Vec::new();
    cursor.skip_whitespace();
    if cursor.peek() != Some(')') {
        loop {
            cursor.skip_whitespace();
            let arg_at = cursor.position();
            let text = cursor.take_while(is_argument_char);
            if text.is_empty() {
                return Err(format!(
                    "expected an argument of {name}, found {}",
                    cursor.found(is_argument_char)
                ));
            }
            args.push(Arg { text, at: arg_at });
            cursor.skip_whitespace();
            if cursor.peek() == Some(')') {
                break;
            }
            if !cursor.eat(',') {
                return Err(format!(
                    "expected ',' or ')' after an argument of {name}, found {}",
                    cursor.found(is_argument_char)
                ));
            }
        }
    }
    let close = cursor.position();
    cursor.eat(')');
    Ok(Call {
        name,
        at,
        args,
        close,
    })
}

impl<'a> Chain<'a> {
    /// Splits `text`, read as a `what`, into its chain of calls, or says what is malformed.
    pub(crate) fn parse(what: &'static str, text: &'a str) -> Result<Self, ParsePolicyError> {
        let mut cursor = Cursor::new(text);
        let error = |cursor: &Cursor<'_>, message: String| ParsePolicyError {
            what,
            text: text.to_owned(),
            position: cursor.position(),
            message,
        };
        cursor.skip_whitespace();
        if cursor.peek().is_none() {
            return Err(error(&cursor, "empty text".to_owned()));
        }
        let first = call(&mut cursor).map_err(|message| error(&cursor, message))?;
        let mut rest: Vec<Call<'a>> = Vec::new();
        loop {
            cursor.skip_whitespace();
            if cursor.peek().is_none() {
                return Ok(Chain {
                    what,
                    text,
                    first,
                    rest,
                });
            }
            if !cursor.eat('.') {
                let last = rest.last().unwrap_or(&first).name;
                let found = cursor.found(is_argument_char);
                return Err(error(
                    &cursor,
                    format!("expected '.' or the end after {last}(...), found {found}"),
                ));
            }
            rest.push(call(&mut cursor).map_err(|message| error(&cursor, message))?);
        }
    }

    /// The first call, which says what kind of policy this is.
    pub(crate) fn first(&self) -> &Call<'a> {
        &self.first
    }

    /// The calls after the first, like `.jitter(0.1)`.
    pub(crate) fn rest(&self) -> &[Call<'a>] {
        &self.rest
    }

    /// An error about what is at byte `position`.
    pub(crate) fn error(&self, position: usize, message: impl Into<String>) -> ParsePolicyError {
        ParsePolicyError {
            what: self.what,
            text: self.text.to_owned(),
            position,
            message: message.into(),
        }
    }

    /// The error for a first call of no known name, like `unknown retry policy "cooldwn"`,
    /// followed by what is `expected`.
    pub(crate) fn unknown(&self, kind: &str, expected: &str) -> ParsePolicyError {
        let name = self.first.name;
        self.error(
            self.first.at,
            format!("unknown {kind} {name:?}; {expected}"),
        )
    }

    /// The error for a call after the first when `expected` allows none, if there is one.
    pub(crate) fn only_first(&self, expected: &str) -> Result<(), ParsePolicyError> {
        match self.rest.first() {
            Some(extra) => Err(self.error(extra.at, expected)),
            None => Ok(()),
        }
    }

    /// The arguments of `call`, if there are exactly `N`; otherwise an error pointing at the
    /// first extra argument, or at the `)` where one is missing.
    pub(crate) fn args<const N: usize>(
        &self,
        call: &Call<'a>,
        signature: &str,
    ) -> Result<[Arg<'a>; N], ParsePolicyError> {
        <[Arg<'a>; N]>::try_from(call.args.as_slice()).map_err(|_| {
            let position = call.args.get(N).map_or(call.close, |extra| extra.at);
            self.error(
                position,
                format!(
                    "{} takes {N} argument{}: {signature}",
                    call.name,
                    if N == 1 { "" } else { "s" }
                ),
            )
        })
    }

    pub(crate) fn number(&self, arg: Arg<'_>) -> Result<f64, ParsePolicyError> {
        arg.text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| self.error(arg.at, format!("expected a number, found {:?}", arg.text)))
    }

    pub(crate) fn count(&self, arg: Arg<'_>) -> Result<usize, ParsePolicyError> {
        arg.text.parse::<usize>().map_err(|_| {
            self.error(
                arg.at,
                format!("expected a whole number, found {:?}", arg.text),
            )
        })
    }

    pub(crate) fn duration(&self, arg: Arg<'_>) -> Result<Duration, ParsePolicyError> {
        duration::parse(arg.text)
            .map_err(|err| self.error(arg.at.saturating_add(err.position()), err.to_string()))
    }

    /// The error for a parsed value that is out of range, pointing at the argument holding it.
    pub(crate) fn invalid(&self, invalid: Invalid) -> ParsePolicyError {
        let position = std::iter::once(&self.first)
            .chain(&self.rest)
            .flat_map(|call| &call.args)
            .nth(invalid.argument)
            .map_or(self.first.at, |arg| arg.at);
        self.error(position, invalid.allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain(text: &str) -> Chain<'_> {
        Chain::parse("window", text).unwrap()
    }

    /// Every call of `text` as `name@offset(argument@offset, ...)`.
    fn calls(text: &str) -> Vec<String> {
        let chain = chain(text);
        std::iter::once(&chain.first)
            .chain(&chain.rest)
            .map(|call| {
                let args: Vec<_> = call
                    .args
                    .iter()
                    .map(|arg| format!("{}@{}", arg.text, arg.at))
                    .collect();
                format!("{}@{}({})", call.name, call.at, args.join(", "))
            })
            .collect()
    }

    /// The position and message of the error splitting `text`.
    fn error(text: &str) -> (usize, String) {
        let err = Chain::parse("window", text).unwrap_err();
        (err.position(), err.message().to_owned())
    }

    #[test]
    fn chains_split_into_calls_with_the_offsets_of_names_and_arguments() {
        assert_eq!(
            calls(" backoff( 1s , 2,60s ) . jitter(0.1) "),
            ["backoff@1(1s@10, 2@15, 60s@17)", "jitter@25(0.1@32)"]
        );
        assert_eq!(calls("all()"), ["all@0()"]);
        assert_eq!(calls("all( )"), ["all@0()"]);
    }

    #[test]
    fn malformed_chains_point_at_what_is_wrong() {
        assert_eq!(error(""), (0, "empty text".to_owned()));
        assert_eq!(error("  "), (2, "empty text".to_owned()));
        assert_eq!(
            error("count"),
            (5, "expected '(' after count, found end of input".to_owned())
        );
        assert_eq!(
            error("count 5"),
            (6, "expected '(' after count, found \"5\"".to_owned())
        );
        assert_eq!(
            error("count(5"),
            (
                7,
                "expected ',' or ')' after an argument of count, found end of input".to_owned()
            )
        );
        assert_eq!(
            error("count(5 s)"),
            (
                8,
                "expected ',' or ')' after an argument of count, found \"s\"".to_owned()
            )
        );
        assert_eq!(
            error("backoff(1s,,2s)"),
            (11, "expected an argument of backoff, found ','".to_owned())
        );
        assert_eq!(
            error("count("),
            (
                6,
                "expected an argument of count, found end of input".to_owned()
            )
        );
        assert_eq!(
            error("count(5) x"),
            (
                9,
                "expected '.' or the end after count(...), found \"x\"".to_owned()
            )
        );
        assert_eq!(
            error("count(5)."),
            (9, "expected a name, found end of input".to_owned())
        );
        assert_eq!(error("(5)"), (0, "expected a name, found '('".to_owned()));
    }

    #[test]
    fn argument_counts_point_at_the_extra_argument_or_the_missing_one() {
        let text = "cooldown(1s, 2s)";
        let chain = chain(text);
        let err = chain.args::<1>(chain.first(), "cooldown(d)").unwrap_err();
        assert_eq!(
            (err.position(), err.message()),
            (13, "cooldown takes 1 argument: cooldown(d)")
        );
        let err = chain
            .args::<3>(chain.first(), "backoff(a, b, c)")
            .unwrap_err();
        assert_eq!(
            (err.position(), err.message()),
            (15, "cooldown takes 3 arguments: backoff(a, b, c)")
        );
    }

    #[test]
    fn bad_arguments_point_at_the_argument_and_durations_into_it() {
        let chain = chain("f(x, 1.5, 10q)");
        let [x, fraction, duration] = chain.args(chain.first(), "f(a, b, c)").unwrap();
        let err = chain.number(x).unwrap_err();
        assert_eq!(
            (err.position(), err.message()),
            (2, "expected a number, found \"x\"")
        );
        let err = chain.count(fraction).unwrap_err();
        assert_eq!(
            (err.position(), err.message()),
            (5, "expected a whole number, found \"1.5\"")
        );
        let err = chain.duration(duration).unwrap_err();
        assert_eq!(err.position(), 12);
        assert!(
            err.message()
                .starts_with("invalid duration \"10q\": unknown unit \"q\""),
            "{err}"
        );
    }

    #[test]
    fn invalid_values_point_at_their_argument_across_the_chain() {
        let chain = chain("backoff(1s, 2, 60s).jitter(3)");
        let at = |argument| {
            chain
                .invalid(Invalid {
                    allowed: "no",
                    argument,
                })
                .position()
        };
        assert_eq!([at(0), at(1), at(2), at(3)], [8, 12, 15, 27]);
    }

    #[test]
    fn windows_parse_and_their_errors_point_at_what_to_fix() {
        use crate::Window;
        assert_eq!("count(100)".parse(), Ok(Window::count(100)));
        assert_eq!(
            " time( 1m ) ".parse(),
            Ok(Window::time(Duration::from_secs(60)))
        );
        let error = |text: &str| {
            let err = text.parse::<Window>().unwrap_err();
            assert_eq!(err.what(), "window");
            (err.position(), err.message().to_owned())
        };
        let cases = [
            ("count(0)", 6, "count(n) needs 1 <= n <= 1000000"),
            (
                "time(1500ms)",
                5,
                "time(d) needs whole seconds with 1s <= d <= 86400s",
            ),
            ("count(-1)", 6, "expected a whole number, found \"-1\""),
            ("count(1, 2)", 9, "count takes 1 argument: count(n)"),
            (
                "size(5)",
                0,
                "unknown window \"size\"; expected count(n) or time(d)",
            ),
            ("count(5).time(1s)", 9, "expected count(n) or time(d)"),
        ];
        for (text, position, message) in cases {
            assert_eq!(error(text), (position, message.to_owned()), "{text}");
        }
        let (position, message) = error("time(10)");
        assert_eq!(position, 7);
        assert!(
            message.starts_with("invalid duration \"10\": missing unit"),
            "{message}"
        );
    }

    #[test]
    fn display_quotes_the_input_and_puts_a_caret_under_the_position() {
        let err = Chain::parse("retry", "cooldown(5s) x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid retry \"cooldown(5s) x\": at position 13: expected '.' or the end after \
             cooldown(...), found \"x\"\n  cooldown(5s) x\n               ^"
        );
        let err = Chain::parse("permit", "\tall()\nx").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid permit \"\\tall()\\nx\": at position 7: expected '.' or the end after \
             all(...), found \"x\"\n   all() x\n         ^"
        );
    }

    proptest! {
        #[test]
        fn any_text_reads_as_a_policy_or_points_inside_the_input(
            text in "[a-z_(),. 0-9-]{0,40}|\\PC{0,30}"
        ) {
            let positions = [
                text.parse::<crate::Window>().err().map(|err| err.position()),
                text.parse::<crate::Retry>().err().map(|err| err.position()),
                text.parse::<crate::Permit>().err().map(|err| err.position()),
            ];
            for position in positions.into_iter().flatten() {
                prop_assert!(position <= text.len());
                prop_assert!(text.is_char_boundary(position));
            }
        }
    }
}
