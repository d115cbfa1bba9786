//! Which events are "the same error": [`Fingerprint`], the key of an event, and [`normalize`],
//! which makes the values inside a message (ids, counts, names) not split it.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use tracing::Event;
use tracing::field::{Field, Visit};

/// Bytes of a normalised message a fingerprint keeps: messages that differ only further on are
/// one error, and a message of kilobytes does not make a circuit name of kilobytes.
const MAX_TEMPLATE: usize = 200;

/// Bytes of a message normalised: placeholders are never longer than what they replace by
/// more than a few bytes, so this is plenty for [`MAX_TEMPLATE`] bytes of template.
const MAX_TEMPLATE_INPUT: usize = 4 * 1024;

/// What makes two events the same error. The default is
/// [`callsite_and_message`](Fingerprint::callsite_and_message).
///
/// Every fingerprint starts with the event's level, so fingerprints never take the name of
/// a circuit that protects a service, and reads like the log line it counts:
/// `ERROR shop::orders: order {n} failed (src/orders.rs:42)`.
///
/// ```
/// use fusebox::alerts::{ErrorBursts, Fingerprint};
/// use fusebox::Fusebox;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), fusebox::BuildError> {
/// let fusebox = Fusebox::builder().build()?;
/// // One alert per error code, wherever it is logged.
/// let layer = ErrorBursts::builder(&fusebox)
///     .fingerprint(Fingerprint::custom(|event, key| {
///         struct Code<'a>(&'a mut String);
///         impl tracing::field::Visit for Code<'_> {
///             fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
///                 if field.name() == "code" {
///                     use std::fmt::Write;
///                     let _ = write!(self.0, "code {value:?}");
///                 }
///             }
///         }
///         event.record(&mut Code(key));
///     }))
///     .build();
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Fingerprint(By);

type Custom = Arc<dyn Fn(&Event<'_>, &mut String) + Send + Sync>;

#[derive(Clone)]
enum By {
    CallsiteAndMessage,
    Callsite,
    Message,
    Custom(Custom),
}

impl Fingerprint {
    /// The callsite (target, file and line) and the normalised message:
    /// `ERROR shop::orders: order {n} failed (src/orders.rs:42)`. The same message logged in
    /// two places is two errors; `order 123 failed` and `order 456 failed` from one place are
    /// one.
    pub fn callsite_and_message() -> Fingerprint {
        Fingerprint(By::CallsiteAndMessage)
    }

    /// The callsite alone: `ERROR shop::orders (src/orders.rs:42)`. Whatever the message says,
    /// one place in the code is one error. The message is not even formatted.
    pub fn callsite() -> Fingerprint {
        Fingerprint(By::Callsite)
    }

    /// The normalised message alone: `ERROR order {n} failed`, wherever it is logged.
    pub fn message() -> Fingerprint {
        Fingerprint(By::Message)
    }

    /// Your own: `key` arrives holding the level and a space (`ERROR `); write the rest of the
    /// fingerprint after it. Events with the same key are one error. The closure runs for
    /// every counted event, so it should not allocate: `key` keeps its capacity from one
    /// event to the next. [`normalize`] helps with message text.
    pub fn custom(key: impl Fn(&Event<'_>, &mut String) + Send + Sync + 'static) -> Fingerprint {
        Fingerprint(By::Custom(Arc::new(key)))
    }

    /// Whether the message is part of the key.
    pub(super) fn reads_message(&self) -> bool {
        matches!(self.0, By::CallsiteAndMessage | By::Message)
    }

    /// Writes the key of `event` into `key` (cleared first); `message` is scratch space.
    pub(super) fn write_key(&self, event: &Event<'_>, message: &mut String, key: &mut String) {
        let metadata = event.metadata();
        key.clear();
        key.push_str(metadata.level().as_str());
        key.push(' ');
        match &self.0 {
            By::CallsiteAndMessage => {
                key.push_str(metadata.target());
                let before = key.len();
                key.push_str(": ");
                if !write_template(event, message, key) {
                    key.truncate(before);
                }
                write_location(event, key);
            }
            By::Callsite => {
                key.push_str(metadata.target());
                write_location(event, key);
            }
            By::Message => {
                write_template(event, message, key);
            }
            By::Custom(custom) => custom(event, key),
        }
    }
}

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint::callsite_and_message()
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            By::CallsiteAndMessage => "Fingerprint::callsite_and_message",
            By::Callsite => "Fingerprint::callsite",
            By::Message => "Fingerprint::message",
            By::Custom(_) => "Fingerprint::custom",
        })
    }
}

/// ` (src/orders.rs:42)`, or nothing when the event does not say where it comes from.
fn write_location(event: &Event<'_>, key: &mut String) {
    let metadata = event.metadata();
    if let Some(file) = metadata.file() {
        key.push_str(" (");
        key.push_str(file);
        if let Some(line) = metadata.line() {
            let _ = write!(key, ":{line}");
        }
        key.push(')');
    }
}

/// `target file:line`, as the alert shows where the error is logged.
pub(super) fn callsite(event: &Event<'_>) -> String {
    let metadata = event.metadata();
    let mut text = metadata.target().to_owned();
    write_location(event, &mut text);
    text
}

/// Appends the normalised message of `event` to `out`, at most [`MAX_TEMPLATE`] bytes of it;
/// whether there was a message.
fn write_template(event: &Event<'_>, message: &mut String, out: &mut String) -> bool {
    message.clear();
    event.record(&mut MessageOnly(message));
    let start = out.len();
    // Only the start of a long message can make it into the template: normalise no more.
    let mut end = message.len().min(MAX_TEMPLATE_INPUT);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    normalize(&message[..end], out);
    if out.len() - start > MAX_TEMPLATE {
        let mut end = start + MAX_TEMPLATE;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    !message.is_empty()
}

/// The normalised message of `event`, on its own.
pub(super) fn template(event: &Event<'_>) -> String {
    let mut template = String::new();
    write_template(event, &mut String::new(), &mut template);
    template.shrink_to_fit();
    template
}

/// Writes the `message` field of an event, nothing else.
struct MessageOnly<'a>(&'a mut String);

impl Visit for MessageOnly<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

/// The message and the other fields of one event, as its alert shows them.
#[derive(Default)]
pub(super) struct Sample {
    pub(super) message: String,
    /// `order_id=123 user="bob"`.
    pub(super) fields: String,
}

/// Characters of a sample message, and of its fields, an alert keeps: enough to recognise
/// the error, and a megabyte logged once does not stay a megabyte per fingerprint.
const MAX_SAMPLE_CHARS: usize = 1_000;

impl Sample {
    pub(super) fn of(event: &Event<'_>) -> Sample {
        let mut sample = Sample::default();
        event.record(&mut sample);
        shorten(&mut sample.message);
        shorten(&mut sample.fields);
        sample
    }
}

/// Cuts `text` to [`MAX_SAMPLE_CHARS`] characters, with `…` when cut, and drops spare room.
fn shorten(text: &mut String) {
    if let Some((cut, _)) = text.char_indices().nth(MAX_SAMPLE_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text.shrink_to_fit();
}

impl Visit for Sample {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        if name == "message" {
            let _ = write!(self.message, "{value:?}");
        } else if !name.starts_with("log.") {
            // `log.*` fields come from `tracing-log` and repeat the callsite.
            if !self.fields.is_empty() {
                self.fields.push(' ');
            }
            let _ = write!(self.fields, "{name}={value:?}");
        }
    }
}

/// Appends `message` to `out` with the values that vary inside one error replaced: UUIDs by
/// `{uuid}`, hex ids by `{hex}`, numbers by `{n}`, and the contents of quotes by `{s}`.
///
/// | in the message | becomes |
/// |---|---|
/// | `order 123 failed`, `took 1.5s`, `user42` | `order {n} failed`, `took {n}s`, `user{n}` |
/// | `67e55044-10b1-426f-9247-bb680e5fe0c8` | `{uuid}` |
/// | `0x1f`, `3fa2c1d9`, `req_ab12` (hex with a digit and a letter, at least 4) | `{hex}`, `{hex}`, `req_{hex}` |
/// | `user "bob" not found`, `key 'a b'`, `` `x` `` | `user "{s}" not found`, `key '{s}'`, `` `{s}` `` |
///
/// A quote opens only after a character that is not a letter or digit, and closes before
/// one, so apostrophes (`can't`) stay as they are; `\"` inside double quotes is part of the
/// value, as in `Debug` output. Nothing allocates when `out` has room.
///
/// ```
/// let mut template = String::new();
/// fusebox::alerts::normalize(
///     "payment 7d3f9a21 for user \"bob\" failed after 3 tries (id 67e55044-10b1-426f-9247-bb680e5fe0c8)",
///     &mut template,
/// );
/// assert_eq!(template, "payment {hex} for user \"{s}\" failed after {n} tries (id {uuid})");
/// ```
pub fn normalize(message: &str, out: &mut String) {
    let bytes = message.as_bytes();
    let (mut at, mut literal) = (0, 0);
    while at < bytes.len() {
        let byte = bytes[at];
        let boundary = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        // Most bytes start nothing: decide from the byte itself before trying any shape.
        let replaced = match byte {
            b'"' | b'\'' | b'`' if boundary => quoted(bytes, at),
            b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' if boundary => uuid(bytes, at)
                .or_else(|| hex(bytes, at))
                .or_else(|| number(bytes, at)),
            b'0'..=b'9' => number(bytes, at),
            _ => None,
        };
        match replaced {
            Some((end, placeholder)) => {
                // Every cut is next to an ASCII byte, so at a character boundary.
                out.push_str(&message[literal..at]);
                out.push_str(placeholder);
                at = end;
                literal = end;
            }
            None => {
                at += 1;
                if byte.is_ascii_alphabetic() {
                    // Inside a word only digits start something: skip its letters at once.
                    while bytes.get(at).is_some_and(u8::is_ascii_alphabetic) {
                        at += 1;
                    }
                }
            }
        }
    }
    out.push_str(&message[literal..]);
}

/// Whether a token ending at `end` ends there: the text ends or goes on with a non-alphanumeric.
fn ends_token(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric())
}

fn quoted(bytes: &[u8], at: usize) -> Option<(usize, &'static str)> {
    let quote = bytes[at];
    let placeholder = match quote {
        b'"' => "\"{s}\"",
        b'\'' => "'{s}'",
        b'`' => "`{s}`",
        _ => return None,
    };
    let mut end = at + 1;
    while end < bytes.len() {
        match bytes[end] {
            b'\\' if quote == b'"' => end += 2,
            b if b == quote && ends_token(bytes, end + 1) => return Some((end + 1, placeholder)),
            _ => end += 1,
        }
    }
    None
}

fn uuid(bytes: &[u8], at: usize) -> Option<(usize, &'static str)> {
    if bytes.get(at + 8) != Some(&b'-') {
        return None; // the common case, decided at once
    }
    let candidate = bytes.get(at..at + 36)?;
    let shaped = candidate.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    (shaped && ends_token(bytes, at + 36)).then_some((at + 36, "{uuid}"))
}

fn hex(bytes: &[u8], at: usize) -> Option<(usize, &'static str)> {
    if bytes[at] == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X')) {
        let digits = bytes[at + 2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let end = at + 2 + digits;
        if digits > 0 && ends_token(bytes, end) {
            return Some((end, "{hex}"));
        }
    }
    let (mut end, mut digits, mut letters) = (at, false, false);
    while let Some(&b) = bytes.get(end) {
        match b {
            b'0'..=b'9' => digits = true,
            b'a'..=b'f' | b'A'..=b'F' => letters = true,
            b if b.is_ascii_alphanumeric() => return None, // a word, not hex
            _ => break,
        }
        end += 1;
    }
    (end - at >= 4 && digits && letters).then_some((end, "{hex}"))
}

fn number(bytes: &[u8], at: usize) -> Option<(usize, &'static str)> {
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(at);
    if whole == 0 {
        return None;
    }
    let mut end = at + whole;
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1 + digits(end + 1);
    }
    Some((end, "{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(message: &str) -> String {
        let mut out = String::new();
        normalize(message, &mut out);
        out
    }

    #[test]
    fn numbers_become_n_wherever_they_are() {
        assert_eq!(normalized("order 123 failed"), "order {n} failed");
        assert_eq!(normalized("order 456 failed"), "order {n} failed");
        assert_eq!(
            normalized("took 1.25s, retry 3/5"),
            "took {n}s, retry {n}/{n}"
        );
        assert_eq!(normalized("user42 at 10.0.0.1"), "user{n} at {n}.{n}");
        assert_eq!(normalized("-7 left"), "-{n} left");
    }

    #[test]
    fn uuids_and_hex_ids_become_placeholders() {
        assert_eq!(
            normalized("job 67E55044-10b1-426f-9247-bb680e5fe0c8 died"),
            "job {uuid} died"
        );
        assert_eq!(
            normalized("ptr 0xdeadBEEF, flags 0x1"),
            "ptr {hex}, flags {hex}"
        );
        assert_eq!(
            normalized("commit 3fa2c1d9 / req_ab12"),
            "commit {hex} / req_{hex}"
        );
        // Words that only look like hex, and short ones, stay words or numbers.
        assert_eq!(normalized("a facade of deadbeef"), "a facade of deadbeef");
        assert_eq!(normalized("e2e"), "e{n}e");
        // Not a UUID: one group too short.
        assert_eq!(
            normalized("67e55044-10b1-426f-9247-bb680e5fe0c"),
            "{hex}-{hex}-{hex}-{n}-{hex}"
        );
    }

    #[test]
    fn quoted_values_become_s_and_apostrophes_stay() {
        assert_eq!(
            normalized(r#"user "bob" not found"#),
            r#"user "{s}" not found"#
        );
        assert_eq!(normalized(r#"path "C:\\x \"y\"" bad"#), r#"path "{s}" bad"#);
        assert_eq!(normalized("key 'a b' and `x`"), "key '{s}' and `{s}`");
        assert_eq!(
            normalized("can't read user's file"),
            "can't read user's file"
        );
        assert_eq!(normalized("unclosed \"quote 12"), "unclosed \"quote {n}");
        assert_eq!(normalized("é \"ü\" 1 ß"), "é \"{s}\" {n} ß");
    }
}
