//! The Microsoft Teams body of [`WebhookFormat::TeamsCard`]: an Adaptive Card, as the
//! *Post to a channel when a webhook request is received* workflow of Teams expects it.

use fusebox_core::wall::rfc3339;
use fusebox_core::{Signal, State};
use serde_json::{Value, json};

use crate::slack::message::{failure_rate, shortened, title_case};
use crate::slack::templates::Templates;

/// What a [`WebhookListener`](crate::WebhookListener) posts.
///
/// ```
/// use fusebox_slack::{WebhookFormat, WebhookListener};
///
/// // A Teams channel's "When a Teams webhook request is received" workflow URL.
/// let teams = WebhookListener::builder("https://example.webhook.office.com/workflows/abc")
///     .format(WebhookFormat::TeamsCard)
///     .build()?;
/// assert_eq!(teams.format(), WebhookFormat::TeamsCard);
/// # Ok::<(), fusebox_slack::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookFormat {
    /// The signal as JSON (the [webhook body](crate#webhook-body)).
    #[default]
    Json,
    /// A Teams message with one Adaptive Card (version 1.4): the title and description of
    /// the Slack listener's default [`Templates`], in a colour by transition, then a fact set
    /// with the circuit, the transition, the cause, the failure rate with its counts, the time
    /// and every [detail](fusebox_core::Signal::details) of the signal.
    TeamsCard,
}

/// The Adaptive Card schema version used: one every Teams client renders.
const CARD_VERSION: &str = "1.4";

/// The Teams message of `signal`.
pub(crate) fn card(signal: &Signal) -> Value {
    let templates = Templates::default();
    let template = templates.for_transition(signal.from, signal.to);
    let labels = &templates.labels;
    let fact = |title: &str, value: String| json!({ "title": title, "value": value });
    let mut facts = vec![
        fact(&labels.circuit, signal.circuit.to_string()),
        fact(
            &labels.transition,
            format!("{} → {}", signal.from.as_str(), signal.to.as_str()),
        ),
        fact(&labels.cause, signal.cause.to_string()),
        fact(
            &labels.failure_rate,
            failure_rate(signal).unwrap_or_else(|| labels.not_available.clone()),
        ),
        fact(&labels.time, rfc3339(signal.at)),
    ];
    facts.extend(
        signal
            .details
            .iter()
            .map(|(label, value)| fact(&title_case(label), shortened(value))),
    );
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": CARD_VERSION,
                "msteams": { "width": "Full" },
                "body": [
                    {
                        "type": "TextBlock",
                        "text": template.title,
                        "size": "Large",
                        "weight": "Bolder",
                        "color": color(signal.from, signal.to),
                        "wrap": true
                    },
                    { "type": "TextBlock", "text": template.description, "wrap": true },
                    { "type": "FactSet", "facts": facts }
                ]
            }
        }]
    })
}

/// The title's colour, among those Adaptive Cards name: an incident red, recovery under way
/// amber, recovered green.
fn color(from: State, to: State) -> &'static str {
    match (from, to) {
        (State::Closed | State::HalfOpen, State::Open) => "Attention",
        (State::Open, State::HalfOpen) => "Warning",
        (State::HalfOpen, State::Closed) => "Good",
        _ => "Default",
    }
}
