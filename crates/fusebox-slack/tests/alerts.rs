//! The error-burst layer of `fusebox::alerts` end to end: logged errors in, one alert out
//! through the log, Slack, JSON webhook and Teams listeners, and the recovery in the same
//! Slack thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fusebox::alerts::ErrorBursts;
use fusebox::{Fusebox, LogListener, ManualClock, State};
use fusebox_slack::{SlackListener, WebhookFormat, WebhookListener};
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

type Bodies = Arc<Mutex<Vec<Value>>>;

/// A local server on 127.0.0.1 with a Slack `chat.postMessage` (answers `ok` with increasing
/// `ts`), a JSON webhook, and a Teams workflow webhook that answers 400 to any body that is
/// not a well-formed Adaptive Card message.
struct Receivers {
    addr: SocketAddr,
    slack: Bodies,
    webhook: Bodies,
    teams: Bodies,
}

impl Receivers {
    async fn start() -> Receivers {
        let (slack, webhook, teams) = (Bodies::default(), Bodies::default(), Bodies::default());
        let app = Router::new()
            .route(
                "/api/chat.postMessage",
                post(slack_post).with_state(Arc::clone(&slack)),
            )
            .route(
                "/hooks/json",
                post(json_post).with_state(Arc::clone(&webhook)),
            )
            .route(
                "/hooks/teams",
                post(teams_post).with_state(Arc::clone(&teams)),
            );
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
        Receivers {
            addr,
            slack,
            webhook,
            teams,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn bodies(bodies: &Bodies) -> Vec<Value> {
    bodies.lock().unwrap().clone()
}

async fn slack_post(Shared(bodies): Shared<Bodies>, body: Bytes) -> Response {
    let mut bodies = bodies.lock().unwrap();
    bodies.push(serde_json::from_slice(&body).unwrap());
    let ts = format!("1700000000.{:06}", bodies.len());
    axum::Json(json!({ "ok": true, "channel": "C0ALERTS", "ts": ts })).into_response()
}

async fn json_post(Shared(bodies): Shared<Bodies>, body: Bytes) -> StatusCode {
    bodies
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    StatusCode::NO_CONTENT
}

async fn teams_post(Shared(bodies): Shared<Bodies>, body: Bytes) -> Response {
    let card: Value = match serde_json::from_slice(&body) {
        Ok(card) => card,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    match check_card(&card) {
        Ok(()) => {
            bodies.lock().unwrap().push(card);
            StatusCode::ACCEPTED.into_response()
        }
        Err(problem) => (StatusCode::BAD_REQUEST, problem).into_response(),
    }
}

/// What a Teams workflow webhook accepts: a `message` with one Adaptive Card attachment whose
/// body holds only elements of known types, each well formed.
fn check_card(message: &Value) -> Result<(), String> {
    let keys = |value: &Value, allowed: &[&str]| -> Result<(), String> {
        let object = value.as_object().ok_or(format!("not an object: {value}"))?;
        match object.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(format!("unknown field {key:?}")),
            None => Ok(()),
        }
    };
    let text = |value: &Value, what: &str| -> Result<(), String> {
        match value.as_str() {
            Some(text) if !text.is_empty() => Ok(()),
            _ => Err(format!("{what} is not a non-empty string: {value}")),
        }
    };
    let one_of = |value: &Value, allowed: &[&str], what: &str| -> Result<(), String> {
        match value {
            Value::Null => Ok(()),
            Value::String(s) if allowed.contains(&s.as_str()) => Ok(()),
            _ => Err(format!("{what} {value} is not one of {allowed:?}")),
        }
    };
    keys(message, &["type", "attachments"])?;
    if message["type"] != "message" {
        return Err("type is not \"message\"".into());
    }
    let attachments = message["attachments"].as_array().ok_or("no attachments")?;
    let [attachment] = attachments.as_slice() else {
        return Err(format!("{} attachments, not 1", attachments.len()));
    };
    keys(attachment, &["contentType", "contentUrl", "content"])?;
    if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
        return Err("contentType is not an Adaptive Card".into());
    }
    let card = &attachment["content"];
    keys(card, &["$schema", "type", "version", "body", "msteams"])?;
    if card["type"] != "AdaptiveCard" {
        return Err("content.type is not \"AdaptiveCard\"".into());
    }
    let versions = ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"];
    one_of(&card["version"], &versions, "version")?;
    text(&card["version"], "version")?;
    let body = card["body"].as_array().ok_or("no body")?;
    if body.is_empty() {
        return Err("empty body".into());
    }
    for element in body {
        match element["type"].as_str() {
            Some("TextBlock") => {
                keys(
                    element,
                    &["type", "text", "size", "weight", "color", "wrap"],
                )?;
                text(&element["text"], "TextBlock.text")?;
                let sizes = ["Default", "Small", "Medium", "Large", "ExtraLarge"];
                one_of(&element["size"], &sizes, "size")?;
                one_of(
                    &element["weight"],
                    &["Default", "Lighter", "Bolder"],
                    "weight",
                )?;
                let colors = [
                    "Default",
                    "Dark",
                    "Light",
                    "Accent",
                    "Good",
                    "Warning",
                    "Attention",
                ];
                one_of(&element["color"], &colors, "color")?;
            }
            Some("FactSet") => {
                keys(element, &["type", "facts"])?;
                let facts = element["facts"].as_array().ok_or("FactSet without facts")?;
                for fact in facts {
                    keys(fact, &["title", "value"])?;
                    text(&fact["title"], "fact title")?;
                    fact["value"].as_str().ok_or("fact value is not a string")?;
                }
            }
            _ => return Err(format!("unknown element {element}")),
        }
    }
    Ok(())
}

/// Keeps the message of every event of the target `fusebox` (the log listener's).
#[derive(Clone, Default)]
struct LogLines(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber> Layer<S> for LogLines {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        struct Message(String);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        if event.metadata().target() == "fusebox" {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
}

/// `(title, thread_ts, reply_broadcast)` of each Slack message.
fn threads(posts: &[Value]) -> Vec<(String, Option<String>, Option<bool>)> {
    posts
        .iter()
        .map(|post| {
            (
                post["attachments"][0]["blocks"][0]["text"]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                post["thread_ts"].as_str().map(str::to_owned),
                post["reply_broadcast"].as_bool(),
            )
        })
        .collect()
}

/// The text of the Slack message's detail fields.
fn slack_details(post: &Value) -> Vec<String> {
    post["attachments"][0]["blocks"][3]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["text"].as_str().unwrap().to_owned())
        .collect()
}

const RECOVERED: &str = "✅ Circuit Breaker Recovered";

#[tokio::test]
async fn a_burst_of_150_errors_is_one_alert_everywhere_and_its_recovery_one_reply() {
    let receivers = Receivers::start().await;
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .clock(clock.clone())
        .listener("log", LogListener::default())
        .listener(
            "slack",
            SlackListener::builder("xoxb-test-token", "C0ALERTS")
                .base_url(receivers.url(""))
                .build()
                .unwrap(),
        )
        .listener(
            "webhook",
            WebhookListener::builder(receivers.url("/hooks/json"))
                .build()
                .unwrap(),
        )
        .listener(
            "teams",
            WebhookListener::builder(receivers.url("/hooks/teams"))
                .format(WebhookFormat::TeamsCard)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let alerts = ErrorBursts::builder(&fusebox)
        .check_interval(Duration::from_millis(5))
        .build();
    let log = LogLines::default();
    let subscriber = tracing_subscriber::registry()
        .with(log.clone())
        .with(alerts.clone());
    let _subscriber = tracing::subscriber::set_default(subscriber);

    for attempt in 0..150 {
        tracing::error!(attempt, "payments: card declined by issuer");
    }
    let line = line!() - 2;
    fusebox.flush(Duration::from_secs(5)).await.unwrap();
    let bursts = alerts.bursts();
    assert_eq!(
        (
            bursts.len(),
            bursts[0].events,
            bursts[0].suppressed,
            bursts[0].state
        ),
        (1, 150, 50, State::Open)
    );
    let name = format!(
        "ERROR alerts: payments: card declined by issuer ({}:{line})",
        file!()
    );

    // The log: one line.
    let opened = format!("Circuit Breaker '{name}' transitioned from CLOSED to OPEN");
    assert_eq!(*log.0.lock().unwrap(), [opened]);

    // Slack: one message in the channel, with the details.
    let slack = bodies(&receivers.slack);
    assert_eq!(
        threads(&slack),
        [("🚨 Circuit Breaker Triggered".to_owned(), None, None)]
    );
    let callsite = format!("*Callsite*\n`alerts ({}:{line})`", file!());
    assert_eq!(
        slack_details(&slack[0]),
        [
            "*Fingerprint*\n`payments: card declined by issuer`",
            callsite.as_str(),
            "*Level*\n`ERROR`",
            "*Sample*\n`payments: card declined by issuer`",
            "*Fields*\n`attempt=0`",
        ]
    );
    let rate = &slack[0]["attachments"][0]["blocks"][2]["fields"][3]["text"];
    assert_eq!(rate, "*Failure rate*\n100% (100/100)");

    // The webhook: one POST, registrations not posted, with the details.
    let webhook = bodies(&receivers.webhook);
    assert_eq!(webhook.len(), 1);
    assert_eq!(webhook[0]["circuit"], name.as_str());
    assert_eq!(
        (&webhook[0]["from"], &webhook[0]["to"]),
        (&json!("closed"), &json!("open"))
    );
    assert_eq!(webhook[0]["metrics"]["failures"], 100);
    assert_eq!(
        webhook[0]["details"],
        json!({
            "fingerprint": "payments: card declined by issuer",
            "callsite": format!("alerts ({}:{line})", file!()),
            "level": "ERROR",
            "sample": "payments: card declined by issuer",
            "fields": "attempt=0",
        })
    );

    // Teams: one card the receiver accepted, with the same facts.
    let teams = bodies(&receivers.teams);
    assert_eq!(teams.len(), 1);
    let card = &teams[0]["attachments"][0]["content"];
    assert_eq!(card["body"][0]["text"], "🚨 Circuit Breaker Triggered");
    assert_eq!(card["body"][0]["color"], "Attention");
    let facts: Vec<(String, String)> = card["body"][2]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().into(),
                f["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(facts[0], ("Circuit".into(), name.clone()));
    assert_eq!(facts[3], ("Failure rate".into(), "100% (100/100)".into()));
    assert_eq!(
        facts[8],
        ("Sample".into(), "payments: card declined by issuer".into())
    );

    // Five quiet minutes later: the probe closes the circuit, and the recovery goes into
    // the alert's thread, also shown in the channel.
    clock.advance(Duration::from_secs(300));
    for _ in 0..400 {
        if alerts.bursts()[0].state == State::Closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fusebox.flush(Duration::from_secs(5)).await.unwrap();
    let parent = Some("1700000000.000001".to_owned());
    assert_eq!(
        threads(&bodies(&receivers.slack)),
        [
            ("🚨 Circuit Breaker Triggered".to_owned(), None, None),
            (
                "🔄 Attempting Circuit Breaker Recovery".to_owned(),
                parent.clone(),
                None
            ),
            (RECOVERED.to_owned(), parent, Some(true)),
        ]
    );
    let webhook: Vec<_> = bodies(&receivers.webhook)
        .iter()
        .map(|body| body["cause"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(webhook, ["tripped", "probe", "recovered"]);
    assert_eq!(bodies(&receivers.teams).len(), 3, "every card accepted");
    assert_eq!(
        bodies(&receivers.teams)[2]["attachments"][0]["content"]["body"][0]["color"],
        "Good"
    );
    fusebox.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[test]
fn the_teams_check_refuses_malformed_cards() {
    let good = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "type": "AdaptiveCard", "version": "1.4",
                "body": [{ "type": "TextBlock", "text": "hi" }]
            }
        }]
    });
    assert_eq!(check_card(&good), Ok(()));
    let mut bad = good.clone();
    bad["attachments"][0]["content"]["body"][0]["color"] = json!("red");
    assert!(check_card(&bad).unwrap_err().contains("color"));
    let mut bad = good.clone();
    bad["attachments"][0]["content"]["version"] = json!("2.0");
    assert!(check_card(&bad).is_err());
    let mut bad = good;
    bad["attachments"][0]["content"]["body"] =
        json!([{ "type": "FactSet", "facts": [{ "title": "x" }] }]);
    assert!(check_card(&bad).is_err());
}
