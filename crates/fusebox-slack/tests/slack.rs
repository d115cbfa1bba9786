//! `SlackListener` against a local server that speaks Slack's `chat.postMessage` API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fusebox::Fusebox;
use fusebox::listener::Handled;
use fusebox_core::trip::failure_streak;
use fusebox_core::{Cause, Circuit, ManualClock, Outcome, Permit, Policy, Retry, Signal, State};
use fusebox_slack::{SlackError, SlackListener, SlackListenerBuilder};
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt};

const TOKEN: &str = "xoxb-test-1234-SECRET";
const CHANNEL: &str = "C0INCIDENTS";

/// How the fake Slack answers the next request.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Ok,
    Error(&'static str),
    RateLimited(Option<&'static str>),
    ServerError,
    ServerErrorWithCode(&'static str),
    NotJson,
    Hang,
}

#[derive(Default)]
struct Recorded {
    bodies: Vec<Value>,
    headers: Vec<HeaderMap>,
    script: VecDeque<Reply>,
    messages: u64,
}

/// A Slack on 127.0.0.1: checks the bearer token, records every request, answers `ok` with an
/// increasing `ts` unless told otherwise.
struct FakeSlack {
    addr: SocketAddr,
    recorded: Arc<Mutex<Recorded>>,
}

impl FakeSlack {
    async fn start() -> FakeSlack {
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let app = Router::new()
            .route("/api/chat.postMessage", post(post_message))
            .with_state(Arc::clone(&recorded));
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
        FakeSlack { addr, recorded }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn builder(&self) -> SlackListenerBuilder {
        SlackListener::builder(TOKEN, CHANNEL).base_url(self.url())
    }

    fn listener(&self) -> SlackListener {
        self.builder().build().unwrap()
    }

    fn then(&self, replies: impl IntoIterator<Item = Reply>) {
        self.recorded.lock().unwrap().script.extend(replies);
    }

    fn bodies(&self) -> Vec<Value> {
        self.recorded.lock().unwrap().bodies.clone()
    }

    fn headers(&self) -> Vec<HeaderMap> {
        self.recorded.lock().unwrap().headers.clone()
    }

    /// `(title, colour, thread_ts, reply_broadcast)` of every message, in order.
    fn posts(&self) -> Vec<(String, String, Option<String>, Option<bool>)> {
        self.bodies()
            .iter()
            .map(|body| {
                let attachment = &body["attachments"][0];
                (
                    attachment["blocks"][0]["text"]["text"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    attachment["color"].as_str().unwrap().to_owned(),
                    body.get("thread_ts")
                        .map(|ts| ts.as_str().unwrap().to_owned()),
                    body.get("reply_broadcast").map(|b| b.as_bool().unwrap()),
                )
            })
            .collect()
    }
}

async fn post_message(
    Shared(recorded): Shared<Arc<Mutex<Recorded>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (reply, ts) = {
        let mut recorded = recorded.lock().unwrap();
        recorded.bodies.push(serde_json::from_slice(&body).unwrap());
        recorded.headers.push(headers.clone());
        let bearer = format!("Bearer {TOKEN}");
        if headers.get(AUTHORIZATION).map(|v| v.as_bytes()) != Some(bearer.as_bytes()) {
            let answer = json!({ "ok": false, "error": "invalid_auth" });
            return (StatusCode::UNAUTHORIZED, axum::Json(answer)).into_response();
        }
        let reply = recorded.script.pop_front().unwrap_or(Reply::Ok);
        if let Reply::Ok = reply {
            recorded.messages += 1;
        }
        (reply, format!("1700000000.{:06}", recorded.messages))
    };
    match reply {
        Reply::Ok => {
            axum::Json(json!({ "ok": true, "channel": CHANNEL, "ts": ts })).into_response()
        }
        Reply::Error(error) => axum::Json(json!({ "ok": false, "error": error })).into_response(),
        Reply::RateLimited(retry_after) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({ "ok": false, "error": "ratelimited" })),
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, seconds.parse().unwrap());
            }
            response
        }
        Reply::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        Reply::ServerErrorWithCode(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "ok": false, "error": error })),
        )
            .into_response(),
        Reply::NotJson => "<html>maintenance</html>".into_response(),
        Reply::Hang => std::future::pending().await,
    }
}

fn ts(n: u64) -> String {
    format!("1700000000.{n:06}")
}

const TRIGGERED: (&str, &str) = ("🚨 Circuit Breaker Triggered", "#FF4C4C");
const RECOVERING: (&str, &str) = ("🔄 Attempting Circuit Breaker Recovery", "#FFA500");
const RETRIGGERED: (&str, &str) = ("⚠️ Circuit Breaker Re-triggered", "#FF4C4C");
const RECOVERED: (&str, &str) = ("✅ Circuit Breaker Recovered", "#36a64f");
const CHANGED: (&str, &str) = ("ℹ️ Circuit Breaker State Changed", "#808080");

fn post_of(
    (title, color): (&str, &str),
    thread: Option<String>,
    broadcast: Option<bool>,
) -> (String, String, Option<String>, Option<bool>) {
    (title.to_owned(), color.to_owned(), thread, broadcast)
}

/// A circuit that trips after 2 failures in a row and probes 10 s after opening, recording
/// its signals.
fn circuit(name: &str) -> (Circuit, ManualClock, Arc<Mutex<Vec<Signal>>>) {
    let clock = ManualClock::new();
    let signals = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&signals);
    let policy = Policy::builder()
        .trip(failure_streak(2))
        .retry(Retry::cooldown(Duration::from_secs(10)))
        .permit(Permit::all())
        .build()
        .unwrap();
    let circuit = Circuit::builder(name)
        .policy(policy)
        .clock(clock.clone())
        .on_signal(move |signal| sink.lock().unwrap().push(signal))
        .build();
    (circuit, clock, signals)
}

fn finish(circuit: &Circuit, outcomes: &[Outcome]) {
    for &outcome in outcomes {
        circuit.try_acquire().unwrap().finish(outcome);
    }
}

fn signal(circuit: &str, from: State, to: State) -> Signal {
    Signal::new(circuit, from, to, Cause::MANUAL)
        .with_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_262_400))
}

async fn deliver(
    listener: &SlackListener,
    signals: Vec<Signal>,
) -> Vec<Result<Handled, SlackError>> {
    let mut results = Vec::new();
    for signal in signals {
        results.push(listener.clone().oneshot(signal).await);
    }
    results
}

#[tokio::test]
async fn a_whole_incident_is_one_thread_with_the_recovery_broadcast() {
    let slack = FakeSlack::start().await;
    let (circuit, clock, signals) = circuit("payments");
    finish(
        &circuit,
        &[Outcome::Success, Outcome::Failure, Outcome::Failure],
    );
    clock.advance(Duration::from_secs(10));
    finish(&circuit, &[Outcome::Failure, Outcome::Failure]);
    clock.advance(Duration::from_secs(10));
    finish(&circuit, &[Outcome::Success]);
    assert_eq!(circuit.state(), State::Closed);
    let signals = signals.lock().unwrap().clone();
    let transitions: Vec<_> = signals.iter().map(|s| (s.from, s.to)).collect();
    assert_eq!(
        transitions,
        [
            (State::Closed, State::Closed),
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
        ]
    );

    let listener = slack.listener();
    let handled: Vec<Handled> = deliver(&listener, signals)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        handled,
        [
            Handled::Skipped,
            Handled::Delivered,
            Handled::Delivered,
            Handled::Delivered,
            Handled::Delivered,
            Handled::Delivered
        ]
    );

    assert_eq!(
        slack.posts(),
        [
            post_of(TRIGGERED, None, None),
            post_of(RECOVERING, Some(ts(1)), None),
            post_of(RETRIGGERED, Some(ts(1)), None),
            post_of(RECOVERING, Some(ts(1)), None),
            post_of(RECOVERED, Some(ts(1)), Some(true)),
        ]
    );
    assert_eq!(
        slack.bodies()[0],
        json!({
            "channel": CHANNEL,
            "text": "🚨 Circuit Breaker Triggered: payments (closed → open)",
            "attachments": [{
                "color": "#FF4C4C",
                "blocks": [
                    {
                        "type": "header",
                        "text": { "type": "plain_text", "text": "🚨 Circuit Breaker Triggered", "emoji": true }
                    },
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "The failure threshold was exceeded, so the circuit opened: calls to this \
                                     service are blocked to protect it and its callers. It will let trial \
                                     calls through once its wait is over."
                        }
                    },
                    {
                        "type": "section",
                        "fields": [
                            { "type": "mrkdwn", "text": "*Circuit*\n`payments`" },
                            { "type": "mrkdwn", "text": "*Transition*\n`closed → open`" },
                            { "type": "mrkdwn", "text": "*Cause*\n`tripped: failure_streak(2)`" },
                            { "type": "mrkdwn", "text": "*Failure rate*\n66.7% (2/3)" },
                            { "type": "mrkdwn", "text": "*Time*\n2023-11-14T22:13:20Z" }
                        ]
                    }
                ]
            }]
        })
    );
    let fields = |n: usize| slack.bodies()[n]["attachments"][0]["blocks"][2]["fields"].clone();
    assert_eq!(fields(1)[2]["text"], "*Cause*\n`probe`");
    assert_eq!(fields(1)[3]["text"], "*Failure rate*\nn/a");
    assert_eq!(fields(1)[4]["text"], "*Time*\n2023-11-14T22:13:30Z");
    assert_eq!(
        fields(2)[2]["text"],
        "*Cause*\n`reopened: failure_streak(2)`"
    );
    assert_eq!(fields(2)[3]["text"], "*Failure rate*\n100% (2/2)");
    assert_eq!(fields(4)[1]["text"], "*Transition*\n`half_open → closed`");
    assert_eq!(fields(4)[2]["text"], "*Cause*\n`recovered`");
    assert_eq!(fields(4)[4]["text"], "*Time*\n2023-11-14T22:13:40Z");
    assert_eq!(
        slack.bodies()[4]["text"],
        "✅ Circuit Breaker Recovered: payments (half_open → closed)"
    );
    assert_eq!(
        listener.thread("payments"),
        None,
        "recovery ends the thread"
    );

    let headers = slack.headers();
    assert_eq!(headers.len(), 5);
    for headers in headers {
        assert_eq!(headers[AUTHORIZATION], format!("Bearer {TOKEN}"));
        assert_eq!(headers[CONTENT_TYPE], "application/json; charset=utf-8");
    }
}

#[tokio::test]
async fn registrations_post_nothing_and_are_skipped() {
    let slack = FakeSlack::start().await;
    let mut registered = signal("payments", State::Closed, State::Closed);
    registered.cause = Cause::Registered;
    let handled = slack.listener().oneshot(registered).await.unwrap();
    assert_eq!(handled, Handled::Skipped);
    assert_eq!(slack.bodies(), Vec::<Value>::new());
}

#[tokio::test]
async fn a_base_url_ending_in_api_posts_to_chat_post_message_once() {
    let slack = FakeSlack::start().await;
    for base in [
        format!("{}/api", slack.url()),
        format!("{}/api/", slack.url()),
    ] {
        let listener = SlackListener::builder(TOKEN, CHANNEL)
            .base_url(base)
            .build()
            .unwrap();
        assert_eq!(
            listener.url(),
            format!("{}/api/chat.postMessage", slack.url())
        );
        let handled = listener
            .oneshot(signal("payments", State::Closed, State::Open))
            .await
            .unwrap();
        assert_eq!(handled, Handled::Delivered);
    }
    assert_eq!(slack.bodies().len(), 2);
}

#[tokio::test]
async fn two_circuits_keep_two_threads() {
    let slack = FakeSlack::start().await;
    let listener = slack.listener();
    let results = deliver(
        &listener,
        vec![
            signal("payments", State::Closed, State::Open),
            signal("search", State::Closed, State::Open),
            signal("payments", State::Open, State::HalfOpen),
            signal("search", State::Open, State::HalfOpen),
            signal("payments", State::HalfOpen, State::Closed),
            signal("search", State::HalfOpen, State::Open),
        ],
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        slack.posts(),
        [
            post_of(TRIGGERED, None, None),
            post_of(TRIGGERED, None, None),
            post_of(RECOVERING, Some(ts(1)), None),
            post_of(RECOVERING, Some(ts(2)), None),
            post_of(RECOVERED, Some(ts(1)), Some(true)),
            post_of(RETRIGGERED, Some(ts(2)), None),
        ]
    );
    assert_eq!(listener.thread("payments"), None);
    assert_eq!(listener.thread("search"), Some(ts(2)));
    assert_eq!(
        slack.bodies()[1]["text"],
        "🚨 Circuit Breaker Triggered: search (closed → open)"
    );
}

#[tokio::test]
async fn force_open_keeps_the_thread_and_disable_ends_it() {
    let slack = FakeSlack::start().await;
    let (circuit, _clock, signals) = circuit("payments");
    finish(&circuit, &[Outcome::Failure, Outcome::Failure]);
    assert!(circuit.force_open());
    assert!(circuit.disable());
    assert!(circuit.reset());
    finish(&circuit, &[Outcome::Failure, Outcome::Failure]);
    let signals = signals.lock().unwrap().clone();

    let listener = slack.listener();
    for result in deliver(&listener, signals).await {
        result.unwrap();
    }

    assert_eq!(
        slack.posts(),
        [
            post_of(TRIGGERED, None, None),
            post_of(CHANGED, Some(ts(1)), None),
            post_of(CHANGED, Some(ts(1)), None),
            post_of(CHANGED, None, None),
            post_of(TRIGGERED, None, None),
        ]
    );
    let transitions: Vec<_> = slack
        .bodies()
        .iter()
        .map(|body| body["attachments"][0]["blocks"][2]["fields"][1]["text"].clone())
        .collect();
    assert_eq!(
        transitions,
        [
            "*Transition*\n`closed → open`",
            "*Transition*\n`open → forced_open`",
            "*Transition*\n`forced_open → disabled`",
            "*Transition*\n`disabled → closed`",
            "*Transition*\n`closed → open`",
        ]
    );
    assert_eq!(
        listener.thread("payments"),
        Some(ts(5)),
        "the next incident has a new thread"
    );
}

#[tokio::test]
async fn forced_open_without_an_incident_posts_in_the_channel_and_starts_no_thread() {
    let slack = FakeSlack::start().await;
    let listener = slack.listener();
    let results = deliver(
        &listener,
        vec![
            signal("payments", State::Closed, State::ForcedOpen),
            signal("payments", State::ForcedOpen, State::Closed),
        ],
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        slack.posts(),
        [post_of(CHANGED, None, None), post_of(CHANGED, None, None)]
    );
    assert_eq!(listener.thread("payments"), None);
}

#[tokio::test]
async fn metrics_only_ends_the_thread() {
    let slack = FakeSlack::start().await;
    let listener = slack.listener();
    let results = deliver(
        &listener,
        vec![
            signal("payments", State::Closed, State::Open),
            signal("payments", State::Open, State::MetricsOnly),
            signal("payments", State::MetricsOnly, State::Open),
        ],
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        slack.posts(),
        [
            post_of(TRIGGERED, None, None),
            post_of(CHANGED, Some(ts(1)), None),
            post_of(CHANGED, None, None),
        ]
    );
    assert_eq!(
        listener.thread("payments"),
        Some(ts(3)),
        "any entry into open starts a thread"
    );
}

#[tokio::test]
async fn a_wrong_token_is_invalid_auth_with_a_fix_and_without_the_token() {
    let slack = FakeSlack::start().await;
    let listener = SlackListener::builder("xoxb-wrong-SECRET", CHANNEL)
        .base_url(slack.url())
        .build()
        .unwrap();
    let error = listener
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert_eq!(error.api_error(), Some("invalid_auth"));
    assert_eq!(
        error.to_string(),
        "Slack refused the message: invalid_auth; check that SLACK_BOT_TOKEN is the Bot User \
         OAuth Token of your Slack app (it starts with xoxb-) and that the app is still \
         installed in the workspace"
    );
    assert!(!format!("{error:?}").contains("SECRET"));
    assert_eq!(
        slack.headers()[0][AUTHORIZATION],
        "Bearer xoxb-wrong-SECRET"
    );
}

#[tokio::test]
async fn not_in_channel_says_to_invite_the_bot() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Error("not_in_channel")]);
    let error = slack
        .listener()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Slack refused the message: not_in_channel; the bot is not a member of the channel: \
         invite it by typing `/invite @yourbot` in the channel"
    );
}

#[tokio::test]
async fn channel_not_found_says_to_use_the_channel_id() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Error("channel_not_found")]);
    let error = slack
        .listener()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Slack refused the message: channel_not_found; check that SLACK_CHANNEL_ID is the \
         channel's ID (C…, at the bottom of the channel details), not its name, and that the \
         bot can see the channel (invite it to private channels)"
    );
}

#[tokio::test]
async fn other_slack_errors_pass_through() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Error("is_archived")]);
    let error = slack
        .listener()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert!(matches!(&error, SlackError::Api { error, hint: None } if error == "is_archived"));
}

#[tokio::test(start_paused = true)]
async fn rate_limited_messages_are_sent_again_after_retry_after() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::RateLimited(Some("3")), Reply::Ok]);
    let started = tokio::time::Instant::now();
    let listener = slack.listener();
    listener
        .clone()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap();
    assert_eq!(started.elapsed().as_secs(), 3, "waited Retry-After");
    let bodies = slack.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the same message was sent again");
    assert_eq!(listener.thread("payments"), Some(ts(1)));
}

#[tokio::test(start_paused = true)]
async fn rate_limits_beyond_max_retries_give_up() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::RateLimited(None); 3]);
    let started = tokio::time::Instant::now();
    let listener = slack.builder().max_retries(2).build().unwrap();
    let error = listener
        .clone()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert!(
        matches!(error, SlackError::RateLimited { attempts: 3, retry_after } if retry_after == Duration::from_secs(1)),
        "{error:?}"
    );
    assert_eq!(
        started.elapsed().as_secs(),
        2,
        "two waits of the default 1 s"
    );
    assert_eq!(slack.bodies().len(), 3);
    assert_eq!(listener.thread("payments"), None);
}

#[tokio::test]
async fn server_errors_say_slack_is_failing() {
    let slack = FakeSlack::start().await;
    slack.then([
        Reply::ServerError,
        Reply::ServerErrorWithCode("fatal_error"),
    ]);
    let listener = slack.listener();
    let results = deliver(
        &listener,
        vec![
            signal("payments", State::Closed, State::Open),
            signal("payments", State::Closed, State::Open),
        ],
    )
    .await;
    let errors: Vec<String> = results
        .into_iter()
        .map(|result| result.unwrap_err().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "Slack is failing: it answered HTTP 500 Internal Server Error and the message was \
             not posted; see https://slack-status.com, or the proxy in front of Slack if \
             SLACK_API_URL names one",
            "Slack is failing: it answered HTTP 500 Internal Server Error (fatal_error) and the \
             message was not posted; see https://slack-status.com, or the proxy in front of \
             Slack if SLACK_API_URL names one",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_slack_that_does_not_answer_in_time_is_a_timeout_that_says_so() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Hang]);
    let started = tokio::time::Instant::now();
    let error = slack
        .builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert!(
        matches!(error, SlackError::Timeout { after } if after == Duration::from_secs(2)),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "Slack did not answer within 2s, the listener's timeout; Slack or the network to it is \
         slow: see https://slack-status.com, or raise the timeout"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn answers_that_are_not_json_are_invalid_responses() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::NotJson]);
    let error = slack
        .listener()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SlackError::InvalidResponse { status, .. } if *status == StatusCode::OK),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unreachable_slack_is_a_transport_error() {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    let error = SlackListener::builder(TOKEN, CHANNEL)
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap()
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert!(matches!(error, SlackError::Transport(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "could not reach Slack; check network access, proxies and SLACK_API_URL"
    );
    assert!(error.source().is_some());
}

#[tokio::test(start_paused = true)]
async fn a_hanging_slack_is_cut_off_by_tower_timeout_and_the_listener_keeps_working() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Hang]);
    let listener = slack.listener();
    let mut bounded = ServiceBuilder::new()
        .timeout(Duration::from_millis(500))
        .service(listener.clone());
    let error = bounded
        .ready()
        .await
        .unwrap()
        .call(signal("payments", State::Closed, State::Open))
        .await
        .unwrap_err();
    assert!(error.is::<tower::timeout::error::Elapsed>(), "{error:?}");
    assert_eq!(listener.thread("payments"), None);

    bounded
        .ready()
        .await
        .unwrap()
        .call(signal("payments", State::Closed, State::Open))
        .await
        .unwrap();
    assert_eq!(slack.bodies().len(), 2);
    assert_eq!(listener.thread("payments"), Some(ts(1)));
}

#[tokio::test]
async fn a_failed_first_post_leaves_no_thread() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Error("channel_not_found")]);
    let listener = slack.listener();
    let results = deliver(
        &listener,
        vec![
            signal("payments", State::Closed, State::Open),
            signal("payments", State::Open, State::HalfOpen),
            signal("payments", State::HalfOpen, State::Open),
        ],
    )
    .await;
    assert_eq!(
        results[0].as_ref().unwrap_err().api_error(),
        Some("channel_not_found")
    );
    assert!(results[1..].iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        slack.posts(),
        [
            post_of(TRIGGERED, None, None),
            post_of(RECOVERING, None, None),
            post_of(RETRIGGERED, None, None),
        ]
    );
    assert_eq!(
        listener.thread("payments"),
        Some(ts(2)),
        "the re-trigger starts the thread"
    );
}

#[tokio::test]
async fn a_failed_recovery_post_still_ends_the_thread() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Ok, Reply::ServerError]);
    let listener = slack.listener();
    let results = deliver(
        &listener,
        vec![
            signal("payments", State::Closed, State::Open),
            signal("payments", State::HalfOpen, State::Closed),
            signal("payments", State::Closed, State::Open),
        ],
    )
    .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(results[1], Err(SlackError::ServerError { .. })),
        "{results:?}"
    );
    assert_eq!(
        slack.posts(),
        [
            post_of(TRIGGERED, None, None),
            post_of(RECOVERED, Some(ts(1)), Some(true)),
            post_of(TRIGGERED, None, None),
        ]
    );
    assert_eq!(listener.thread("payments"), Some(ts(2)));
}

#[tokio::test]
async fn names_with_slack_control_characters_are_escaped() {
    let slack = FakeSlack::start().await;
    let mut tripped = signal("a<b>&c", State::Closed, State::Open);
    tripped.cause = Cause::Tripped {
        rule: "min_requests(20) & failure_rate(0.5)".into(),
    };
    slack.listener().oneshot(tripped).await.unwrap();
    let body = &slack.bodies()[0];
    assert_eq!(
        body["text"],
        "🚨 Circuit Breaker Triggered: a&lt;b&gt;&amp;c (closed → open)"
    );
    let fields = &body["attachments"][0]["blocks"][2]["fields"];
    assert_eq!(fields[0]["text"], "*Circuit*\n`a&lt;b&gt;&amp;c`");
    assert_eq!(
        fields[2]["text"],
        "*Cause*\n`tripped: min_requests(20) &amp; failure_rate(0.5)`"
    );
    assert_eq!(fields[4]["text"], "*Time*\n2026-11-21T12:00:00Z");
}

#[tokio::test]
async fn replaced_templates_change_the_words_and_colours() {
    let slack = FakeSlack::start().await;
    let mut templates = fusebox_slack::Templates::default();
    templates.triggered.title = "🚨 서킷 브레이커 발동".into();
    templates.triggered.color = "#AA0000".into();
    templates.labels.circuit = "서킷".into();
    templates.labels.not_available = "없음".into();
    let listener = slack.builder().templates(templates).build().unwrap();
    listener
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap();
    let body = &slack.bodies()[0];
    assert_eq!(
        body["text"],
        "🚨 서킷 브레이커 발동: payments (closed → open)"
    );
    assert_eq!(body["attachments"][0]["color"], "#AA0000");
    let fields = &body["attachments"][0]["blocks"][2]["fields"];
    assert_eq!(fields[0]["text"], "*서킷*\n`payments`");
    assert_eq!(fields[3]["text"], "*Failure rate*\n없음");
}

#[test]
fn debug_never_shows_the_token() {
    let listener = SlackListener::builder(TOKEN, CHANNEL).build().unwrap();
    let debug = format!("{listener:?}");
    assert!(!debug.contains("1234"), "{debug}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(debug.contains("token: \"xoxb-…(redacted)\""), "{debug}");
}

#[tokio::test]
async fn end_to_end_through_a_fusebox_listener_stack() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::Ok, Reply::Error("not_in_channel")]);
    let listener = slack.listener();
    let fusebox = Fusebox::builder()
        .clock(ManualClock::new())
        .default_policy(
            Policy::builder()
                .trip(failure_streak(2))
                .retry(Retry::never())
                .build()
                .unwrap(),
        )
        .listener(
            "slack",
            ServiceBuilder::new()
                .timeout(Duration::from_secs(5))
                .service(listener.clone()),
        )
        .build()
        .unwrap();
    let payments = fusebox.circuit("payments");
    finish(&payments, &[Outcome::Failure, Outcome::Failure]);
    assert!(payments.reset());
    fusebox.flush(Duration::from_secs(5)).await.unwrap();

    assert_eq!(
        slack.posts(),
        [
            post_of(TRIGGERED, None, None),
            post_of(CHANGED, Some(ts(1)), None)
        ]
    );
    assert_eq!(listener.thread("payments"), None);
    let stats = &fusebox.listener_stats()[0];
    assert_eq!(
        (
            stats.name.as_str(),
            stats.delivered,
            stats.skipped,
            stats.failed
        ),
        ("slack", 1, 1, 1),
        "the trip delivered, the registration skipped, the reset refused by Slack"
    );
    fusebox.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn the_largest_timeout_and_retry_count_post_without_panicking() {
    let slack = FakeSlack::start().await;
    slack.then([Reply::RateLimited(Some("0")), Reply::Ok]);
    let listener = slack
        .builder()
        .timeout(Duration::MAX)
        .max_retries(u32::MAX)
        .build()
        .unwrap();
    let handled = listener
        .oneshot(signal("payments", State::Closed, State::Open))
        .await
        .unwrap();
    assert_eq!(handled, Handled::Delivered);
    assert_eq!(slack.bodies().len(), 2);
}
