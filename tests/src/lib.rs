//! End-to-end tests of fusebox across its crates live in `tests/`: `cargo test -p end-to-end`.
//! Each builds a whole service on 127.0.0.1 (an axum app with route circuits, an outbound
//! client, `/metrics`, the admin API, the Slack listener) and drives it through an incident.
//!
//! This library holds what those tests run against: [`FakeSlack`], a Slack Web API that
//! records the messages it gets, and [`serve`], which starts a router on a free port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// Serves `app` on 127.0.0.1 at a free port until the runtime stops; returns the address.
///
/// # Errors
/// The port could not be bound.
pub async fn serve(app: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// Slack's `chat.postMessage` on 127.0.0.1, as `fusebox-slack`'s own tests fake it: it
/// checks the bearer token, records every message and answers `ok` with an increasing `ts`
/// (`1700000000.000001`, `...002`, ...), so threads can be followed.
#[derive(Clone, Debug)]
pub struct FakeSlack {
    address: SocketAddr,
    messages: Arc<Mutex<Vec<Value>>>,
}

/// One message as Slack received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The header block's text: the template's title.
    pub title: String,
    /// The plain-text fallback: `<title>: <circuit> (<from> → <to>)`.
    pub text: String,
    /// The thread it replies to, if any.
    pub thread_ts: Option<String>,
    /// Whether the reply is also sent to the channel.
    pub reply_broadcast: bool,
}

impl FakeSlack {
    /// Starts the fake Slack, accepting `token` only.
    ///
    /// # Errors
    /// The port could not be bound.
    pub async fn start(token: &str) -> std::io::Result<FakeSlack> {
        let messages = Arc::new(Mutex::new(Vec::new()));
        let state = (format!("Bearer {token}"), messages.clone());
        let app = Router::new()
            .route("/api/chat.postMessage", post(post_message))
            .with_state(Arc::new(state));
        let address = serve(app).await?;
        Ok(FakeSlack { address, messages })
    }

    /// The base URL to give `SlackListenerBuilder::base_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The `ts` Slack answered for the `n`th accepted message (from 1).
    pub fn ts(n: usize) -> String {
        format!("1700000000.{n:06}")
    }

    /// Every accepted message, in order.
    pub fn posted(&self) -> Vec<Posted> {
        let messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        messages
            .iter()
            .map(|body| Posted {
                title: text(&body["attachments"][0]["blocks"][0]["text"]["text"]),
                text: text(&body["text"]),
                thread_ts: body["thread_ts"].as_str().map(str::to_owned),
                reply_broadcast: body["reply_broadcast"].as_bool().unwrap_or(false),
            })
            .collect()
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

type Shared = Arc<(String, Arc<Mutex<Vec<Value>>>)>;

async fn post_message(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let (bearer, messages) = &*state;
    if headers.get(AUTHORIZATION).map(|value| value.as_bytes()) != Some(bearer.as_bytes()) {
        let answer = json!({ "ok": false, "error": "invalid_auth" });
        return (StatusCode::UNAUTHORIZED, axum::Json(answer)).into_response();
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        let answer = json!({ "ok": false, "error": "invalid_json" });
        return axum::Json(answer).into_response();
    };
    let mut messages = messages.lock().unwrap_or_else(PoisonError::into_inner);
    messages.push(body);
    let ts = FakeSlack::ts(messages.len());
    axum::Json(json!({ "ok": true, "channel": "C0INCIDENTS", "ts": ts })).into_response()
}
