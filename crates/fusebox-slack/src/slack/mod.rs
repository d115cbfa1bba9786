//! [`SlackListener`]: one Slack thread per incident, posted with `chat.postMessage`.
//!
//! The words and colours live in [`templates`]; what can go wrong lives in [`error`]. How a
//! message is laid out lives in `message`.

pub(crate) mod error;
mod message;
pub(crate) mod templates;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use fusebox_core::{Signal, State};
use http::StatusCode;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use tower_service::Service;

use self::error::{ConfigError, SlackError};
use self::message::Placement;
use self::templates::Templates;
use crate::ResponseFuture;

/// Slack's own API, the default base URL.
const DEFAULT_BASE_URL: &str = "https://slack.com";
/// Requests that take longer than this fail with [`SlackError::Transport`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an HTTP 429 is retried by default.
const DEFAULT_MAX_RETRIES: u32 = 3;
/// The wait after a 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest wait after a 429: the listener's worker holds later signals meanwhile.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Slack asks for the charset; without it, it answers with a `missing_charset` warning.
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Posts circuit transitions to a Slack channel, one thread per incident.
///
/// Each transition becomes one `chat.postMessage` call: `POST {base}/api/chat.postMessage`
/// with `Authorization: Bearer <token>` and a JSON body holding the channel, a plain-text
/// fallback (`🚨 Circuit Breaker Triggered: payments (closed → open)`) and one attachment in
/// the template's colour with the title, the description and the fields *Circuit*,
/// *Transition* (`closed → open`), *Cause* (`tripped: min_requests(20) & failure_rate(0.5)`),
/// *Failure rate* at that moment (`62.5% (5/8)`, or `n/a` for an empty window) and *Time*
/// (RFC 3339, UTC). The words and colours come from [`Templates`].
///
/// # Threads
///
/// Each circuit has at most one open thread, the incident:
///
/// | the circuit enters | message | thread |
/// |---|---|---|
/// | `open`, no thread yet | in the channel | starts, with this message as parent |
/// | `open`, `half_open` or `forced_open` with a thread | reply | kept |
/// | `closed`, `disabled` or `metrics_only` with a thread | reply (`half_open → closed` also shown in the channel: `reply_broadcast`) | ends |
/// | anything else without a thread | in the channel | none |
///
/// So a whole incident, `closed → open → half_open → open → half_open → closed`, is one
/// thread of five messages, the last one also broadcast to the channel. `forced_open` does not
/// start a thread: it is an operator's decision, not an incident, and the operator's `reset`
/// would otherwise leave a thread of two. Registration signals are not transitions and post
/// nothing.
///
/// A failed post never leaves a stale thread: a thread ends when its circuit leaves the
/// incident, whether or not that last message got through, and a thread only starts when
/// Slack confirmed its first message. Threads are shared by clones and expect each circuit's
/// signals one at a time and in order, as a fusebox listener stack delivers them.
///
/// # Slack's answers
///
/// The listener reads the `ok` field of Slack's answer, not the HTTP status (Slack answers
/// logical errors with HTTP 200). `"ok": false` becomes [`SlackError::Api`], whose message
/// says how to fix `invalid_auth`, `not_in_channel` and `channel_not_found`. HTTP 429 is
/// retried after `Retry-After` seconds (1 s when missing, at most 30 s), up to
/// [`max_retries`](SlackListener::max_retries) times. Each request has a
/// [`timeout`](SlackListener::timeout). The token never appears in `Debug` output, errors or
/// logs.
///
/// # Use
///
/// As a fusebox listener it runs in its own worker task, off the request path; tower
/// middleware bounds it further:
///
/// ```no_run
/// use std::time::Duration;
/// use fusebox::Fusebox;
/// use fusebox_slack::SlackListener;
/// use tower::ServiceBuilder;
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let fusebox = Fusebox::builder()
///         .listener(
///             "slack",
///             ServiceBuilder::new()
///                 // Give up on a message that takes more than 10 s, retries included ...
///                 .timeout(Duration::from_secs(10))
///                 // ... and post at most one message a second, as Slack asks.
///                 .rate_limit(1, Duration::from_secs(1))
///                 .service(SlackListener::from_env()?),
///         )
///         .build()?;
///     let payments = fusebox.circuit("payments");
///     payments.force_open(); // posts "ℹ️ Circuit Breaker State Changed"
///     fusebox.shutdown(Duration::from_secs(15)).await?;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct SlackListener {
    client: Result<reqwest::Client, Arc<str>>,
    authorization: Option<HeaderValue>,
    /// The token's type prefix (`xoxb-`), the only part of the token `Debug` shows.
    token_kind: &'static str,
    channel: Arc<str>,
    url: Arc<str>,
    templates: Arc<Templates>,
    max_retries: u32,
    timeout: Duration,
    /// The `ts` of each circuit's open thread.
    threads: Arc<Mutex<HashMap<Arc<str>, String>>>,
}

impl SlackListener {
    /// A listener posting to `channel` (its ID, `C…`) with the bot token `token` (`xoxb-…`).
    ///
    /// It posts to Slack itself, with the default [`Templates`], 3 retries after HTTP 429,
    /// a 10 s timeout per request and its own `reqwest` client.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::new("xoxb-123-456-abc", "C0123456789");
    /// assert_eq!(
    ///     format!("{listener:?}"),
    ///     "SlackListener { url: \"https://slack.com/api/chat.postMessage\", \
    ///      channel: \"C0123456789\", token: \"xoxb-…(redacted)\", max_retries: 3, \
    ///      timeout: 10s, open_threads: 0, .. }"
    /// );
    /// ```
    pub fn new(token: impl AsRef<str>, channel: impl Into<String>) -> SlackListener {
        let token = token.as_ref();
        SlackListener {
            client: reqwest::Client::builder()
                .build()
                .map_err(|error| Arc::from(crate::error_chain(&error))),
            authorization: bearer(token),
            token_kind: token_kind(token),
            channel: Arc::from(channel.into()),
            url: endpoint(DEFAULT_BASE_URL),
            templates: Arc::new(Templates::default()),
            max_retries: DEFAULT_MAX_RETRIES,
            timeout: DEFAULT_TIMEOUT,
            threads: Arc::default(),
        }
    }

    /// A listener configured by the environment: `SLACK_BOT_TOKEN` (required), `SLACK_CHANNEL_ID`
    /// (required) and `SLACK_API_URL` (optional, the base URL of a Slack-compatible API or
    /// proxy, without `/api`; default `https://slack.com`). Surrounding whitespace is ignored.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing, empty or unusable (never its
    /// value).
    ///
    /// ```
    /// use fusebox_slack::{ConfigError, SlackListener};
    ///
    /// match SlackListener::from_env() {
    ///     Ok(listener) => println!("posting with {listener:?}"),
    ///     Err(ConfigError::Missing { variable }) => println!("set {variable} to post to Slack"),
    ///     Err(error) => println!("{error}"),
    /// }
    /// ```
    pub fn from_env() -> Result<SlackListener, ConfigError> {
        SlackListener::from_vars(std::env::var_os)
    }

    fn from_vars(
        lookup: impl Fn(&'static str) -> Option<OsString>,
    ) -> Result<SlackListener, ConfigError> {
        let var = |variable: &'static str| {
            let value = lookup(variable).map(|value| value.into_string());
            match value {
                None => Ok(None),
                Some(Err(_)) => Err(ConfigError::Invalid {
                    variable,
                    reason: "not valid Unicode".into(),
                }),
                Some(Ok(value)) => {
                    let value = value.trim();
                    Ok((!value.is_empty()).then(|| value.to_owned()))
                }
            }
        };
        let required =
            |variable: &'static str| var(variable)?.ok_or(ConfigError::Missing { variable });
        let token = required("SLACK_BOT_TOKEN")?;
        if bearer(&token).is_none() {
            return Err(ConfigError::Invalid {
                variable: "SLACK_BOT_TOKEN",
                reason: "contains characters that cannot be sent in an HTTP header".into(),
            });
        }
        let channel = required("SLACK_CHANNEL_ID")?;
        let mut listener = SlackListener::new(token, channel);
        if let Some(base) = var("SLACK_API_URL")? {
            let invalid = |reason: String| ConfigError::Invalid {
                variable: "SLACK_API_URL",
                reason,
            };
            let url = reqwest::Url::parse(&base).map_err(|error| invalid(error.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(invalid(format!(
                    "scheme {:?} is not http or https",
                    url.scheme()
                )));
            }
            listener = listener.base_url(base);
        }
        Ok(listener)
    }

    /// Posts to the Slack-compatible API at `base` (posting to `{base}/api/chat.postMessage`)
    /// instead of `https://slack.com`: a proxy, a test server, an enterprise gateway.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::new("xoxb-token", "C0123456789").base_url("http://127.0.0.1:8080/");
    /// assert_eq!(listener.url(), "http://127.0.0.1:8080/api/chat.postMessage");
    /// ```
    pub fn base_url(mut self, base: impl AsRef<str>) -> Self {
        self.url = endpoint(base.as_ref());
        self
    }

    /// Posts with these templates instead of the default English ones (see [`Templates`] for a
    /// Korean set).
    ///
    /// ```
    /// use fusebox_slack::{SlackListener, Templates};
    ///
    /// let mut templates = Templates::default();
    /// templates.triggered.title = "🚨 Payments breaker open".into();
    /// let listener = SlackListener::new("xoxb-token", "C0123456789").templates(templates);
    /// # let _ = listener;
    /// ```
    pub fn templates(mut self, templates: Templates) -> Self {
        self.templates = Arc::new(templates);
        self
    }

    /// Posts with this `reqwest` client, for proxies, custom TLS roots or connection pools
    /// shared with the rest of the application.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// # fn main() -> Result<(), reqwest::Error> {
    /// let client = reqwest::Client::builder().no_proxy().build()?;
    /// let listener = SlackListener::new("xoxb-token", "C0123456789").client(client);
    /// # let _ = listener;
    /// # Ok(())
    /// # }
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Ok(client);
        self
    }

    /// How often a message answered with HTTP 429 is sent again (default 3; 0 gives up at the
    /// first 429) before failing with [`SlackError::RateLimited`].
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::new("xoxb-token", "C0123456789").max_retries(0);
    /// assert!(format!("{listener:?}").contains("max_retries: 0"));
    /// ```
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// How long one request may take before it fails with [`SlackError::Transport`] (default
    /// 10 s). Waits after HTTP 429 are not part of it; bound the whole delivery with tower's
    /// `timeout` middleware.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::new("xoxb-token", "C0123456789").timeout(Duration::from_secs(3));
    /// assert!(format!("{listener:?}").contains("timeout: 3s"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URL messages are posted to.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::new("xoxb-token", "C0123456789");
    /// assert_eq!(listener.url(), "https://slack.com/api/chat.postMessage");
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `ts` of the parent message of `circuit`'s open incident thread, if it has one:
    /// with the channel, it links to the thread.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::new("xoxb-token", "C0123456789");
    /// assert_eq!(listener.thread("payments"), None);
    /// ```
    pub fn thread(&self, circuit: &str) -> Option<String> {
        lock(&self.threads).get(circuit).cloned()
    }

    async fn deliver(self, signal: Signal) -> Result<(), SlackError> {
        if signal.is_registration() {
            return Ok(());
        }
        let ends_thread = matches!(
            signal.to,
            State::Closed | State::Disabled | State::MetricsOnly
        );
        // Settled before posting: a post that fails, or is abandoned by a timeout, must not
        // keep a finished incident's thread for the next one.
        let thread = {
            let mut threads = lock(&self.threads);
            if ends_thread {
                threads.remove(&signal.circuit)
            } else {
                threads.get(&signal.circuit).cloned()
            }
        };
        let placement = match &thread {
            None => Placement::Channel,
            Some(ts) if (signal.from, signal.to) == (State::HalfOpen, State::Closed) => {
                Placement::ThreadAndChannel(ts)
            }
            Some(ts) => Placement::Thread(ts),
        };
        let template = self.templates.for_transition(signal.from, signal.to);
        let body = message::body(
            &self.channel,
            &signal,
            template,
            &self.templates.labels,
            placement,
        );
        let ts = self.post(body.to_string().into_bytes()).await?;
        tracing::debug!(
            circuit = &*signal.circuit,
            from = signal.from.as_str(),
            to = signal.to.as_str(),
            ts = ts.as_str(),
            "posted to Slack"
        );
        if thread.is_none() && signal.to == State::Open {
            lock(&self.threads).entry(signal.circuit).or_insert(ts);
        }
        Ok(())
    }

    /// Posts `body`, retrying after HTTP 429, and returns the message's `ts`.
    async fn post(&self, body: Vec<u8>) -> Result<String, SlackError> {
        let client = self.client.as_ref().map_err(|reason| SlackError::Client {
            reason: reason.to_string(),
        })?;
        let authorization = self.authorization.clone().ok_or(SlackError::InvalidToken)?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let response = client
                .post(&*self.url)
                .header(AUTHORIZATION, authorization.clone())
                .header(CONTENT_TYPE, JSON_UTF8)
                .timeout(self.timeout)
                .body(body.clone())
                .send()
                .await
                .map_err(SlackError::Transport)?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after = retry_after(response.headers());
                if attempts > self.max_retries {
                    return Err(SlackError::RateLimited {
                        attempts,
                        retry_after,
                    });
                }
                tracing::debug!(
                    retry_after_secs = retry_after.as_secs(),
                    attempts,
                    "Slack rate-limited the message; retrying"
                );
                tokio::time::sleep(retry_after).await;
                continue;
            }
            let answer = response.bytes().await.map_err(SlackError::Transport)?;
            return read_answer(status, &answer);
        }
    }
}

/// `ok` decides, not the status: Slack answers logical errors with HTTP 200, and some
/// Slack-compatible servers answer them with 4xx and the same JSON.
fn read_answer(status: StatusCode, body: &[u8]) -> Result<String, SlackError> {
    #[derive(Deserialize)]
    struct Answer {
        ok: bool,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        ts: Option<String>,
    }

    match serde_json::from_slice::<Answer>(body) {
        Ok(Answer {
            ok: true,
            ts: Some(ts),
            ..
        }) => Ok(ts),
        Ok(Answer {
            ok: true, ts: None, ..
        }) => Err(SlackError::InvalidResponse {
            status,
            reason: "\"ok\": true without \"ts\"".into(),
        }),
        Ok(Answer {
            ok: false, error, ..
        }) => Err(SlackError::api(
            error.unwrap_or_else(|| "(no error code)".into()),
        )),
        Err(_) if !status.is_success() => Err(SlackError::Http { status }),
        Err(error) => Err(SlackError::InvalidResponse {
            status,
            reason: format!("expected JSON with \"ok\": {error}"),
        }),
    }
}

/// The wait a 429 asks for: `Retry-After` in seconds, 1 s when missing or unreadable, at
/// most 30 s.
fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

fn endpoint(base: &str) -> Arc<str> {
    Arc::from(format!(
        "{}/api/chat.postMessage",
        base.trim_end_matches('/')
    ))
}

fn bearer(token: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `xoxb-` and its siblings name the token's type, which is safe to show.
fn token_kind(token: &str) -> &'static str {
    ["xoxb-", "xoxp-", "xoxa-", "xoxe-", "xapp-"]
        .into_iter()
        .find(|kind| token.starts_with(kind))
        .unwrap_or("")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The map is valid after any panic: every change is a single insert or remove.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Service<Signal> for SlackListener {
    type Response = ();
    type Error = SlackError;
    type Future = ResponseFuture<SlackError>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, signal: Signal) -> Self::Future {
        ResponseFuture::new(self.clone().deliver(signal))
    }
}

impl fmt::Debug for SlackListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackListener")
            .field("url", &self.url)
            .field("channel", &self.channel)
            .field("token", &format_args!("\"{}…(redacted)\"", self.token_kind))
            .field("max_retries", &self.max_retries)
            .field("timeout", &self.timeout)
            .field("open_threads", &lock(&self.threads).len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &'static str)]) -> impl Fn(&'static str) -> Option<OsString> {
        let pairs = pairs.to_vec();
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn from_env_names_the_missing_variable() {
        let err = SlackListener::from_vars(vars(&[])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                variable: "SLACK_BOT_TOKEN"
            }
        );
        assert_eq!(
            err.to_string(),
            "SLACK_BOT_TOKEN is not set; set it to the Bot User OAuth Token of your Slack app \
             (xoxb-…, under OAuth & Permissions)"
        );
        let err = SlackListener::from_vars(vars(&[("SLACK_BOT_TOKEN", "xoxb-1")])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                variable: "SLACK_CHANNEL_ID"
            }
        );
        let err = SlackListener::from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_CHANNEL_ID", "  "),
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                variable: "SLACK_CHANNEL_ID"
            }
        );
    }

    #[test]
    fn from_env_reads_trims_and_checks_every_variable() {
        let listener = SlackListener::from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-secret-value\n"),
            ("SLACK_CHANNEL_ID", " C0123456789 "),
            ("SLACK_API_URL", "http://slack.internal:8080"),
        ]))
        .unwrap();
        assert_eq!(
            listener.url(),
            "http://slack.internal:8080/api/chat.postMessage"
        );
        assert_eq!(&*listener.channel, "C0123456789");
        assert_eq!(
            listener
                .authorization
                .as_ref()
                .map(|v| v.as_bytes().to_vec()),
            Some(b"Bearer xoxb-secret-value".to_vec())
        );

        let defaults = SlackListener::from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_CHANNEL_ID", "C1"),
        ]))
        .unwrap();
        assert_eq!(defaults.url(), "https://slack.com/api/chat.postMessage");
    }

    #[test]
    fn from_env_rejects_unusable_values_without_echoing_them() {
        let err = SlackListener::from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-one\ntwo"),
            ("SLACK_CHANNEL_ID", "C1"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SLACK_BOT_TOKEN is invalid (contains characters that cannot be sent in an HTTP \
             header); set it to the Bot User OAuth Token of your Slack app (xoxb-…, under \
             OAuth & Permissions)"
        );
        let err = SlackListener::from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_CHANNEL_ID", "C1"),
            ("SLACK_API_URL", "slack.com"),
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                variable: "SLACK_API_URL",
                reason: "relative URL without a base".into()
            }
        );
        let err = SlackListener::from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_CHANNEL_ID", "C1"),
            ("SLACK_API_URL", "ftp://slack.com"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SLACK_API_URL is invalid (scheme \"ftp\" is not http or https); set it to the base \
             URL of a Slack-compatible API, such as https://slack.com"
        );
    }

    #[cfg(unix)]
    #[test]
    fn from_env_rejects_values_that_are_not_unicode() {
        use std::os::unix::ffi::OsStringExt;

        let err = SlackListener::from_vars(|name| {
            (name == "SLACK_BOT_TOKEN").then(|| OsString::from_vec(vec![0x78, 0xff]))
        })
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                variable: "SLACK_BOT_TOKEN",
                reason: "not valid Unicode".into()
            }
        );
    }

    #[test]
    fn debug_shows_the_token_kind_only() {
        let listener = SlackListener::new("xoxb-123-456-SECRET", "C1");
        let debug = format!("{listener:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(!debug.contains("123"), "{debug}");
        assert!(debug.contains("token: \"xoxb-…(redacted)\""), "{debug}");
        let unknown = format!("{:?}", SlackListener::new("hunter2", "C1"));
        assert!(unknown.contains("token: \"…(redacted)\""), "{unknown}");
        assert!(!unknown.contains("hunter2"), "{unknown}");
    }

    #[test]
    fn retry_after_reads_seconds_defaults_to_one_and_is_capped() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), Duration::from_secs(1));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Duration::from_secs(7));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Duration::from_secs(1));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(retry_after(&headers), Duration::from_secs(30));
    }

    #[test]
    fn answers_are_read_by_ok_not_by_status() {
        assert_eq!(
            read_answer(StatusCode::OK, br#"{"ok":true,"ts":"1.2","channel":"C1"}"#).unwrap(),
            "1.2"
        );
        let err = read_answer(
            StatusCode::UNAUTHORIZED,
            br#"{"ok":false,"error":"invalid_auth"}"#,
        )
        .unwrap_err();
        assert_eq!(err.api_error(), Some("invalid_auth"));
        let err = read_answer(StatusCode::OK, br#"{"ok":false}"#).unwrap_err();
        assert_eq!(err.api_error(), Some("(no error code)"));
        let err = read_answer(StatusCode::OK, br#"{"ok":true}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Slack answered HTTP 200 OK but not with a chat.postMessage response (\"ok\": true \
             without \"ts\"); check that SLACK_API_URL points at a Slack-compatible API"
        );
        let err = read_answer(StatusCode::SERVICE_UNAVAILABLE, b"upstream down").unwrap_err();
        assert!(
            matches!(err, SlackError::Http { status } if status == StatusCode::SERVICE_UNAVAILABLE)
        );
        let err = read_answer(StatusCode::OK, b"<html>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Slack answered HTTP 200 OK but not with a chat.postMessage response (expected \
             JSON with \"ok\": expected value at line 1 column 1); check that SLACK_API_URL \
             points at a Slack-compatible API"
        );
    }
}
