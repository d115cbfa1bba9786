//! [`SlackListener`]: one Slack thread per incident, posted with `chat.postMessage`.
//!
//! This module builds the listener and runs one delivery. The rest is split by concern:
//! `env` reads the environment, `thread` decides where a message goes and what it does to
//! the incident thread, `message` lays out its JSON, `api` posts it (with 429 retries) and
//! `answer` reads Slack's answer. [`templates`] holds the words and colours, [`error`] what
//! can go wrong.

mod answer;
mod api;
mod env;
pub(crate) mod error;
pub(crate) mod message;
pub(crate) mod templates;
mod thread;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use fusebox::listener::Handled;
use fusebox_core::Signal;
use tower_service::Service;

use self::api::{Api, authorization, endpoint};
use self::error::SlackError;
use self::templates::Templates;
use self::thread::{ThreadChange, Threads, place};
use crate::{ConfigError, ResponseFuture, config};

/// Slack's own API, the default base URL.
const DEFAULT_BASE_URL: &str = "https://slack.com";
/// Requests that take longer than this fail with [`SlackError::Timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an HTTP 429 is retried by default.
const DEFAULT_MAX_RETRIES: u32 = 3;

/// Posts circuit transitions to a Slack channel, one thread per incident.
///
/// Build it with [`SlackListener::builder`] or [`SlackListener::from_env`]; everything wrong
/// with the settings is a [`ConfigError`] then, not at the first signal.
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
/// says how to fix `invalid_auth`, `not_in_channel` and `channel_not_found`. A 5xx status is
/// [`SlackError::ServerError`]: Slack is failing. HTTP 429 is retried after `Retry-After`
/// seconds (1 s when missing, at most 30 s), up to
/// [`max_retries`](SlackListenerBuilder::max_retries) times. Each request has a
/// [`timeout`](SlackListenerBuilder::timeout); running out of it is
/// [`SlackError::Timeout`]. The token never appears in `Debug` output, errors or logs.
///
/// Registrations post nothing and answer [`Handled::Skipped`], so fusebox counts them as
/// skipped; every message posted answers [`Handled::Delivered`].
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
    api: Arc<Api>,
    channel: Arc<str>,
    templates: Arc<Templates>,
    threads: Threads,
    /// The token's type prefix (`xoxb-`), the only part of the token `Debug` shows.
    token_kind: &'static str,
}

impl SlackListener {
    /// Starts building a listener posting to `channel` (its ID, `C…`) with the bot token
    /// `token` (`xoxb-…`).
    ///
    /// By default it posts to Slack itself, with the default [`Templates`], 3 retries after
    /// HTTP 429, a 10 s timeout per request and its own `reqwest` client.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::builder("xoxb-123-456-abc", "C0123456789").build()?;
    /// assert_eq!(listener.url(), "https://slack.com/api/chat.postMessage");
    /// assert_eq!(listener.channel(), "C0123456789");
    /// assert_eq!(listener.max_retries(), 3);
    /// assert_eq!(listener.timeout(), Duration::from_secs(10));
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn builder(token: impl Into<String>, channel: impl Into<String>) -> SlackListenerBuilder {
        SlackListenerBuilder {
            token: token.into(),
            channel: channel.into(),
            base_url: None,
            templates: Templates::default(),
            client: None,
            max_retries: DEFAULT_MAX_RETRIES,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A listener configured by the environment, with the defaults of
    /// [`builder`](SlackListener::builder) otherwise; see
    /// [`SlackListenerBuilder::from_env`] for the variables, and to change other settings.
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
        SlackListenerBuilder::from_env()?.build()
    }

    /// The URL messages are posted to.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789")
    ///     .base_url("http://127.0.0.1:8080/api")
    ///     .build()?;
    /// assert_eq!(listener.url(), "http://127.0.0.1:8080/api/chat.postMessage");
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn url(&self) -> &str {
        self.api.url.as_str()
    }

    /// The ID of the channel messages are posted to.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789").build()?;
    /// assert_eq!(listener.channel(), "C0123456789");
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// How often a message answered with HTTP 429 is sent again.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789").max_retries(0).build()?;
    /// assert_eq!(listener.max_retries(), 0);
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn max_retries(&self) -> u32 {
        self.api.max_retries
    }

    /// How long one request may take.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789")
    ///     .timeout(Duration::from_secs(3))
    ///     .build()?;
    /// assert_eq!(listener.timeout(), Duration::from_secs(3));
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.api.timeout
    }

    /// The words and colours messages are posted with.
    ///
    /// ```
    /// use fusebox_slack::{SlackListener, Templates};
    ///
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789").build()?;
    /// assert_eq!(*listener.templates(), Templates::default());
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The `ts` of the parent message of `circuit`'s open incident thread, if it has one:
    /// with the channel, it links to the thread.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789").build()?;
    /// assert_eq!(listener.thread("payments"), None);
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn thread(&self, circuit: &str) -> Option<String> {
        self.threads.get(circuit)
    }

    async fn deliver(self, signal: Signal) -> Result<Handled, SlackError> {
        if signal.is_registration() {
            return Ok(Handled::Skipped);
        }
        let thread = self.threads.get(&signal.circuit);
        let placement = place(thread.as_deref(), signal.from, signal.to);
        if placement.thread == ThreadChange::Ends {
            // Before posting: a post that fails, or is abandoned by a timeout, must not keep
            // a finished incident's thread for the next one.
            self.threads.end(&signal.circuit);
        }
        let template = self.templates.for_transition(signal.from, signal.to);
        let body = message::body(
            &self.channel,
            &signal,
            template,
            &self.templates.labels,
            placement.post,
        );
        let ts = self.api.post_message(body.to_string().into_bytes()).await?;
        tracing::debug!(
            circuit = &*signal.circuit,
            from = signal.from.as_str(),
            to = signal.to.as_str(),
            ts = ts.as_str(),
            "posted to Slack"
        );
        if placement.thread == ThreadChange::StartsHere {
            self.threads.start(signal.circuit, ts);
        }
        Ok(Handled::Delivered)
    }
}

impl Service<Signal> for SlackListener {
    type Response = Handled;
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
            .field("url", &self.url())
            .field("channel", &self.channel)
            .field("token", &Redacted(self.token_kind))
            .field("max_retries", &self.api.max_retries)
            .field("timeout", &self.api.timeout)
            .field("open_threads", &self.threads.open())
            .finish_non_exhaustive()
    }
}

/// Configures and builds a [`SlackListener`]; see [`SlackListener::builder`].
///
/// The setters only record; [`build`](SlackListenerBuilder::build) checks everything, so a
/// listener that builds has nothing wrong with its settings.
///
/// ```
/// use std::time::Duration;
/// use fusebox_slack::{SlackListener, Templates};
///
/// let mut templates = Templates::default();
/// templates.triggered.title = "🚨 Payments breaker open".into();
/// let listener = SlackListener::builder("xoxb-token", "C0123456789")
///     .base_url("https://slack.example.com")
///     .templates(templates)
///     .max_retries(5)
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// assert_eq!(listener.templates().triggered.title, "🚨 Payments breaker open");
/// # Ok::<(), fusebox_slack::ConfigError>(())
/// ```
#[must_use]
pub struct SlackListenerBuilder {
    token: String,
    channel: String,
    base_url: Option<String>,
    templates: Templates,
    client: Option<reqwest::Client>,
    max_retries: u32,
    timeout: Duration,
}

impl SlackListenerBuilder {
    /// A builder holding the environment's settings: `SLACK_BOT_TOKEN` (required),
    /// `SLACK_CHANNEL_ID` (required) and `SLACK_API_URL` (optional, the base URL of a
    /// Slack-compatible API or proxy, with or without `/api`; default `https://slack.com`).
    /// Surrounding whitespace is ignored. Other settings can still be changed before
    /// [`build`](SlackListenerBuilder::build).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing, empty or unusable (never its
    /// value).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use fusebox_slack::SlackListenerBuilder;
    ///
    /// # fn main() -> Result<(), fusebox_slack::ConfigError> {
    /// let listener = SlackListenerBuilder::from_env()?.timeout(Duration::from_secs(3)).build()?;
    /// # let _ = listener;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_env() -> Result<SlackListenerBuilder, ConfigError> {
        env::from_vars(std::env::var_os)
    }

    /// Posts to the Slack-compatible API at `base` (posting to `{base}/api/chat.postMessage`;
    /// a `base` that ends in `/api` is taken as is) instead of `https://slack.com`: a proxy, a
    /// test server, an enterprise gateway.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789")
    ///     .base_url("http://127.0.0.1:8080/")
    ///     .build()?;
    /// assert_eq!(listener.url(), "http://127.0.0.1:8080/api/chat.postMessage");
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base_url = Some(base.into());
        self
    }

    /// Posts with these templates instead of the default English ones (see [`Templates`] for a
    /// Korean set).
    pub fn templates(mut self, templates: Templates) -> Self {
        self.templates = templates;
        self
    }

    /// Posts with this `reqwest` client, for proxies, custom TLS roots or connection pools
    /// shared with the rest of the application.
    ///
    /// ```
    /// use fusebox_slack::SlackListener;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = reqwest::Client::builder().no_proxy().build()?;
    /// let listener = SlackListener::builder("xoxb-token", "C0123456789").client(client).build()?;
    /// # let _ = listener;
    /// # Ok(())
    /// # }
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// How often a message answered with HTTP 429 is sent again (default 3; 0 gives up at the
    /// first 429) before failing with [`SlackError::RateLimited`].
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// How long one request may take before it fails with [`SlackError::Timeout`] (default
    /// 10 s, above zero). Waits after HTTP 429 are not part of it; bound the whole delivery
    /// with tower's `timeout` middleware.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the settings and builds the listener.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `token` (empty, or not sendable in an HTTP header),
    /// `channel` (empty), `base_url` (not an absolute `http`/`https` URL, or with a query)
    /// or `timeout` (zero); [`ConfigError::Client`] when no client was given and the default
    /// one cannot be created.
    ///
    /// ```
    /// use fusebox_slack::{ConfigError, SlackListener};
    ///
    /// let err = SlackListener::builder("xoxb-token", "").build().unwrap_err();
    /// assert_eq!(err, ConfigError::Invalid { setting: "channel", reason: "it is empty".into() });
    /// ```
    pub fn build(self) -> Result<SlackListener, ConfigError> {
        let authorization = authorization(&self.token)?;
        if self.channel.trim().is_empty() {
            return Err(ConfigError::Invalid {
                setting: "channel",
                reason: "it is empty".into(),
            });
        }
        let url = endpoint(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let timeout = config::timeout(self.timeout)?;
        Ok(SlackListener {
            api: Arc::new(Api {
                client: config::client(self.client)?,
                url,
                authorization,
                max_retries: self.max_retries,
                timeout,
            }),
            channel: Arc::from(self.channel),
            templates: Arc::new(self.templates),
            threads: Threads::default(),
            token_kind: token_kind(&self.token),
        })
    }
}

impl fmt::Debug for SlackListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackListenerBuilder")
            .field("base_url", &self.base_url)
            .field("channel", &self.channel)
            .field("token", &Redacted(token_kind(&self.token)))
            .field("max_retries", &self.max_retries)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A token in `Debug` output: its type prefix only, `"xoxb-…(redacted)"`.
struct Redacted(&'static str);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}…(redacted)\"", self.0)
    }
}

/// `xoxb-` and its siblings name the token's type, which is safe to show.
fn token_kind(token: &str) -> &'static str {
    ["xoxb-", "xoxp-", "xoxa-", "xoxe-", "xapp-"]
        .into_iter()
        .find(|kind| token.starts_with(kind))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_token_kind_only() {
        let builder = SlackListener::builder("xoxb-123-456-SECRET", "C1");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(!debug.contains("123"), "{debug}");
        assert!(debug.contains("token: \"xoxb-…(redacted)\""), "{debug}");

        let listener = builder.build().unwrap();
        let debug = format!("{listener:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(!debug.contains("123"), "{debug}");
        assert!(debug.contains("token: \"xoxb-…(redacted)\""), "{debug}");

        let unknown = format!(
            "{:?}",
            SlackListener::builder("hunter2", "C1").build().unwrap()
        );
        assert!(unknown.contains("token: \"…(redacted)\""), "{unknown}");
        assert!(!unknown.contains("hunter2"), "{unknown}");
    }

    #[test]
    fn every_setting_is_checked_when_building() {
        let err = |builder: SlackListenerBuilder| builder.build().unwrap_err();
        assert_eq!(
            err(SlackListener::builder("", "C1")),
            ConfigError::Invalid {
                setting: "token",
                reason: "it is empty".into()
            }
        );
        assert_eq!(
            err(SlackListener::builder("xoxb-1", " ")),
            ConfigError::Invalid {
                setting: "channel",
                reason: "it is empty".into()
            }
        );
        assert_eq!(
            err(SlackListener::builder("xoxb-1", "C1").base_url("ftp://slack.com")),
            ConfigError::Invalid {
                setting: "base_url",
                reason: "scheme \"ftp\" is not http or https".into()
            }
        );
        assert_eq!(
            err(SlackListener::builder("xoxb-1", "C1").timeout(Duration::ZERO)),
            ConfigError::Invalid {
                setting: "timeout",
                reason: "zero fails every request before it is sent".into()
            }
        );
    }

    #[test]
    fn extreme_settings_build() {
        let listener = SlackListener::builder("xoxb-1", "C1")
            .max_retries(u32::MAX)
            .timeout(Duration::MAX)
            .build()
            .unwrap();
        assert_eq!(
            (listener.max_retries(), listener.timeout()),
            (u32::MAX, Duration::MAX)
        );
    }
}
