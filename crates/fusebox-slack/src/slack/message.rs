//! The JSON body of one `chat.postMessage` request, built from a signal and a template.
//!
//! A signal with [`details`](Signal::details) (a burst of logged errors: its fingerprint,
//! callsite and sample message) gets one more section with a field per detail.

use fusebox_core::Signal;
use fusebox_core::wall::rfc3339;
use serde_json::{Value, json};

use super::templates::{Labels, Template};
use super::thread::Post;

/// The request body: `channel`, the plain fallback `text`, one attachment with the template's
/// colour and blocks for the title, description and fields, and the thread fields.
pub(crate) fn body(
    channel: &str,
    signal: &Signal,
    template: &Template,
    labels: &Labels,
    post: Post<'_>,
) -> Value {
    let transition = format!("{} → {}", signal.from.as_str(), signal.to.as_str());
    let failure_rate = failure_rate(signal).unwrap_or_else(|| escape(&labels.not_available));
    let field = |label: &str, value: String| json!({ "type": "mrkdwn", "text": format!("*{}*\n{value}", escape(label)) });
    let mut body = json!({
        "channel": channel,
        "text": format!("{}: {} ({transition})", template.title, escape(&signal.circuit)),
        "attachments": [{
            "color": template.color,
            "blocks": [
                {
                    "type": "header",
                    "text": { "type": "plain_text", "text": template.title, "emoji": true }
                },
                {
                    "type": "section",
                    "text": { "type": "mrkdwn", "text": template.description }
                },
                {
                    "type": "section",
                    "fields": [
                        field(&labels.circuit, code(&signal.circuit)),
                        field(&labels.transition, code(&transition)),
                        field(&labels.cause, code(&signal.cause.to_string())),
                        field(&labels.failure_rate, failure_rate),
                        field(&labels.time, rfc3339(signal.at)),
                    ]
                }
            ]
        }]
    });
    if !signal.details.is_empty() {
        let details: Vec<Value> = signal
            .details
            .iter()
            .take(MAX_FIELDS)
            .map(|(label, value)| field(&title_case(label), code(&shortened(value))))
            .collect();
        if let Some(blocks) = body["attachments"][0]["blocks"].as_array_mut() {
            blocks.push(json!({ "type": "section", "fields": details }));
        }
    }
    let thread = match post {
        Post::Channel => None,
        Post::Reply(ts) => Some((ts, false)),
        Post::ReplyAndChannel(ts) => Some((ts, true)),
    };
    if let (Some((ts, broadcast)), Some(fields)) = (thread, body.as_object_mut()) {
        fields.insert("thread_ts".into(), ts.into());
        if broadcast {
            fields.insert("reply_broadcast".into(), true.into());
        }
    }
    body
}

/// Slack shows at most ten fields per section.
const MAX_FIELDS: usize = 10;

/// Characters of a detail shown: a field holds 2,000, with room for the label and quotes.
const MAX_DETAIL_CHARS: usize = 1_500;

/// `62.5% (5/8)`: the failure rate with the failures and calls (the count of errors in the
/// window, for a burst of logged errors); `None` for an empty window.
pub(crate) fn failure_rate(signal: &Signal) -> Option<String> {
    let rate = signal.metrics.failure_rate()?;
    Some(format!(
        "{} ({}/{})",
        percent(rate),
        signal.metrics.failures(),
        signal.metrics.total()
    ))
}

/// `sample` as `Sample`: detail labels are written for machines, shown to people.
pub(crate) fn title_case(label: &str) -> String {
    let mut chars = label.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// At most [`MAX_DETAIL_CHARS`] characters, with `…` when cut.
pub(crate) fn shortened(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `0.625` as `62.5%`: one decimal, none when it is zero.
fn percent(rate: f64) -> String {
    let tenths = (rate * 1000.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0}%")
    } else {
        format!("{tenths:.1}%")
    }
}

/// Inline code, so that `_` and `*` in names do not turn into formatting.
fn code(text: &str) -> String {
    format!("`{}`", escape(text))
}

/// Slack's three control characters, escaped as its `mrkdwn` requires.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_keep_one_decimal_only_when_needed() {
        assert_eq!(percent(0.625), "62.5%");
        assert_eq!(percent(2.0 / 3.0), "66.7%");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.0004), "0%");
    }

    #[test]
    fn details_are_title_cased_and_long_ones_shortened() {
        assert_eq!(title_case("sample"), "Sample");
        assert_eq!(title_case("élan"), "Élan");
        assert_eq!(title_case(""), "");
        let long = "x".repeat(MAX_DETAIL_CHARS + 5);
        assert_eq!(shortened(&long).chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(shortened(&long).ends_with('…'));
        assert_eq!(shortened("short"), "short");
    }

    #[test]
    fn control_characters_are_escaped_and_names_are_code() {
        assert_eq!(escape("a & <b>"), "a &amp; &lt;b&gt;");
        assert_eq!(
            code("min_requests(20) & failure_rate(0.5)"),
            "`min_requests(20) &amp; failure_rate(0.5)`"
        );
    }
}
