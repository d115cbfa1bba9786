//! [`WebhookListener`]: every transition as a JSON `POST` to any URL.
//!
//! The body is the signal's JSON from `fusebox-core` (feature `serde`), the shape the admin
//! API's snapshots share; the crate root shows it to webhook receivers.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use fusebox::listener::Handled;
use fusebox_core::Signal;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use tower_service::Service;

use crate::config::{self, http_url};
use crate::teams::{self, WebhookFormat};
use crate::{ConfigError, ResponseFuture};

/// Requests that take longer than this fail with [`WebhookError::Timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs each transition as JSON to a URL: chat tools' incoming webhooks (through an
/// adapter), Alertmanager bridges, your own receivers.
///
/// The body is the [signal as JSON](crate#webhook-body), sent with
/// `Content-Type: application/json` and the headers given to
/// [`header`](WebhookListenerBuilder::header). Any 2xx status is success; other statuses fail
/// with [`WebhookError::Status`], requests that get no answer within the
/// [`timeout`](WebhookListenerBuilder::timeout) (default 10 s) with
/// [`WebhookError::Timeout`], and requests that do not complete otherwise with
/// [`WebhookError::Transport`]. Redirects are followed. Registration signals are skipped
/// (answered with [`Handled::Skipped`]) unless
/// [`include_registrations`](WebhookListenerBuilder::include_registrations) asks for them.
///
/// Header values and the URL's path and query (where webhook secrets usually live) never
/// appear in `Debug` output or errors.
///
/// ```no_run
/// use std::time::Duration;
/// use fusebox::Fusebox;
/// use fusebox_slack::WebhookListener;
/// use http::header::{AUTHORIZATION, HeaderValue};
/// use tower::ServiceBuilder;
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let webhook = WebhookListener::builder("https://alerts.example.com/hooks/circuits")
///         .header(AUTHORIZATION, HeaderValue::from_static("Bearer s3cr3t"))
///         .timeout(Duration::from_secs(5))
///         .build()?;
///     let fusebox = Fusebox::builder()
///         .listener("alerts", ServiceBuilder::new().rate_limit(5, Duration::from_secs(1)).service(webhook))
///         .build()?;
///     fusebox.circuit("payments").force_open();
///     fusebox.shutdown(Duration::from_secs(10)).await?;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct WebhookListener {
    client: reqwest::Client,
    url: Arc<Url>,
    headers: Arc<HeaderMap>,
    timeout: Duration,
    include_registrations: bool,
    format: WebhookFormat,
}

impl WebhookListener {
    /// Starts building a listener posting to `url`, with no extra headers, a 10 s timeout and
    /// its own `reqwest` client.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_slack::WebhookListener;
    ///
    /// let listener = WebhookListener::builder("https://alerts.example.com/hooks/T0123/s3cr3t").build()?;
    /// assert_eq!(listener.url(), "https://alerts.example.com/hooks/T0123/s3cr3t");
    /// assert_eq!(listener.timeout(), Duration::from_secs(10));
    /// assert!(listener.header_names().is_empty());
    /// assert!(!listener.includes_registrations());
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn builder(url: impl Into<String>) -> WebhookListenerBuilder {
        WebhookListenerBuilder {
            url: url.into(),
            headers: HeaderMap::new(),
            timeout: DEFAULT_TIMEOUT,
            client: None,
            include_registrations: false,
            format: WebhookFormat::Json,
        }
    }

    /// The URL signals are posted to. It holds the webhook's secret if its URL does: unlike
    /// `Debug`, which shows only its origin, this is the whole URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The names of the headers sent with every request (their values stay hidden).
    ///
    /// ```
    /// use fusebox_slack::WebhookListener;
    /// use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
    ///
    /// let listener = WebhookListener::builder("https://alerts.example.com/hooks")
    ///     .header(AUTHORIZATION, HeaderValue::from_static("Bearer s3cr3t"))
    ///     .header(HeaderName::from_static("x-team"), HeaderValue::from_static("payments"))
    ///     .build()?;
    /// assert_eq!(listener.header_names(), ["authorization", "x-team"]);
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.keys().map(HeaderName::as_str).collect()
    }

    /// How long one request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether registration signals are posted too.
    pub fn includes_registrations(&self) -> bool {
        self.include_registrations
    }

    /// What the listener posts.
    pub fn format(&self) -> WebhookFormat {
        self.format
    }

    async fn deliver(self, signal: Signal) -> Result<Handled, WebhookError> {
        if signal.is_registration() && !self.include_registrations {
            return Ok(Handled::Skipped);
        }
        let request = self
            .client
            .post(Url::clone(&self.url))
            .headers(HeaderMap::clone(&self.headers));
        // `Content-Type: application/json` unless a configured header says otherwise.
        let request = match self.format {
            WebhookFormat::Json => request.json(&signal),
            WebhookFormat::TeamsCard => request.json(&teams::card(&signal)),
        };
        let response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|error| {
                if error.is_timeout() {
                    WebhookError::Timeout {
                        after: self.timeout,
                    }
                } else {
                    WebhookError::Transport(error.without_url())
                }
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(Handled::Delivered)
        } else {
            Err(WebhookError::Status { status })
        }
    }
}

/// Configures and builds a [`WebhookListener`]; see [`WebhookListener::builder`].
///
/// The setters only record; [`build`](WebhookListenerBuilder::build) checks everything.
#[must_use]
pub struct WebhookListenerBuilder {
    url: String,
    headers: HeaderMap,
    timeout: Duration,
    client: Option<reqwest::Client>,
    include_registrations: bool,
    format: WebhookFormat,
}

impl WebhookListenerBuilder {
    /// Sends the header `name: value` with every request, replacing an earlier value of the
    /// same name (including `Content-Type`). The value is marked sensitive and never shown.
    ///
    /// ```
    /// use fusebox_slack::WebhookListener;
    /// use http::header::{AUTHORIZATION, HeaderValue};
    ///
    /// let builder = WebhookListener::builder("https://alerts.example.com/hooks")
    ///     .header(AUTHORIZATION, HeaderValue::from_static("Bearer s3cr3t"));
    /// assert!(!format!("{builder:?}").contains("s3cr3t"));
    /// ```
    pub fn header(mut self, name: HeaderName, mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        self.headers.insert(name, value);
        self
    }

    /// How long one request may take before it fails with [`WebhookError::Timeout`]
    /// (default 10 s, above zero).
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_slack::WebhookListener;
    ///
    /// let listener = WebhookListener::builder("http://127.0.0.1:9000/")
    ///     .timeout(Duration::from_millis(500))
    ///     .build()?;
    /// assert_eq!(listener.timeout(), Duration::from_millis(500));
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Posts with this `reqwest` client, for proxies, custom TLS roots or shared connection
    /// pools.
    ///
    /// ```
    /// use fusebox_slack::WebhookListener;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = reqwest::Client::builder().no_proxy().build()?;
    /// let listener = WebhookListener::builder("http://127.0.0.1:9000/").client(client).build()?;
    /// # let _ = listener;
    /// # Ok(())
    /// # }
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Whether registration signals (`"cause": "registered"`, `from == to`) are posted too
    /// (default `false`), for receivers that track every circuit from its creation.
    ///
    /// ```
    /// use fusebox_slack::WebhookListener;
    ///
    /// let listener = WebhookListener::builder("http://127.0.0.1:9000/")
    ///     .include_registrations(true)
    ///     .build()?;
    /// assert!(listener.includes_registrations());
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn include_registrations(mut self, include: bool) -> Self {
        self.include_registrations = include;
        self
    }

    /// What to post (default [`WebhookFormat::Json`]): [`WebhookFormat::TeamsCard`] for a
    /// Microsoft Teams workflow webhook.
    ///
    /// ```
    /// use fusebox_slack::{WebhookFormat, WebhookListener};
    ///
    /// let json = WebhookListener::builder("http://127.0.0.1:9000/").build()?;
    /// assert_eq!(json.format(), WebhookFormat::Json);
    /// # Ok::<(), fusebox_slack::ConfigError>(())
    /// ```
    pub fn format(mut self, format: WebhookFormat) -> Self {
        self.format = format;
        self
    }

    /// Checks the settings and builds the listener.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `url` (not an absolute `http`/`https` URL) or
    /// `timeout` (zero); [`ConfigError::Client`] when no client was given and the default one
    /// cannot be created. The URL itself is never repeated: it may hold a secret.
    ///
    /// ```
    /// use fusebox_slack::{ConfigError, WebhookListener};
    ///
    /// let err = WebhookListener::builder("alerts.example.com/hooks/s3cr3t").build().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "url is invalid (relative URL without a base); set it to the receiver's http:// or \
    ///      https:// URL"
    /// );
    /// ```
    pub fn build(self) -> Result<WebhookListener, ConfigError> {
        Ok(WebhookListener {
            url: Arc::new(http_url("url", &self.url)?),
            timeout: config::timeout(self.timeout)?,
            client: config::client(self.client)?,
            headers: Arc::new(self.headers),
            include_registrations: self.include_registrations,
            format: self.format,
        })
    }
}

impl fmt::Debug for WebhookListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("WebhookListenerBuilder")
            .field("url", &redacted(&self.url))
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("include_registrations", &self.include_registrations)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Service<Signal> for WebhookListener {
    type Response = Handled;
    type Error = WebhookError;
    type Future = ResponseFuture<WebhookError>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, signal: Signal) -> Self::Future {
        ResponseFuture::new(self.clone().deliver(signal))
    }
}

impl fmt::Debug for WebhookListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookListener")
            .field("url", &redacted(self.url()))
            .field("headers", &self.header_names())
            .field("timeout", &self.timeout)
            .field("include_registrations", &self.include_registrations)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// The URL's origin only: webhook URLs often carry their secret in the path or query.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) if url.path() == "/" && url.query().is_none() => url.to_string(),
        Ok(url) => format!("{}/…(redacted)", url.origin().ascii_serialization()),
        Err(_) => "(invalid URL)".into(),
    }
}

/// Why a signal did not reach the webhook.
///
/// ```
/// use fusebox_slack::WebhookError;
/// use http::StatusCode;
///
/// let error = WebhookError::Status { status: StatusCode::UNAUTHORIZED };
/// assert_eq!(
///     error.to_string(),
///     "the webhook answered HTTP 401 Unauthorized; check its URL, the headers it expects \
///      (such as Authorization) and the receiver's logs"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookError {
    /// The receiver answered with a status outside 2xx.
    Status {
        /// The HTTP status.
        status: StatusCode,
    },
    /// The receiver did not answer within the listener's
    /// [`timeout`](WebhookListenerBuilder::timeout).
    Timeout {
        /// The timeout that ran out.
        after: Duration,
    },
    /// The request did not complete: connection refused, DNS or TLS. The cause, without the
    /// URL, is this error's [`source`](Error::source).
    Transport(reqwest::Error),
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::Status { status } => write!(
                f,
                "the webhook answered HTTP {status}; check its URL, the headers it expects \
                 (such as Authorization) and the receiver's logs"
            ),
            WebhookError::Timeout { after } => write!(
                f,
                "the webhook did not answer within {after:?}, the listener's timeout; check \
                 that the receiver is up, or raise the timeout"
            ),
            WebhookError::Transport(_) => f.write_str(
                "could not deliver the signal to the webhook; check its URL, network access \
                 and proxies",
            ),
        }
    }
}

impl Error for WebhookError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WebhookError::Transport(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_the_origin_of_urls_with_a_path_or_query() {
        assert_eq!(
            redacted("https://hooks.example.com/"),
            "https://hooks.example.com/"
        );
        assert_eq!(
            redacted("https://hooks.example.com/services/T0/B0/secret"),
            "https://hooks.example.com/…(redacted)"
        );
        assert_eq!(
            redacted("http://127.0.0.1:9000/?token=secret"),
            "http://127.0.0.1:9000/…(redacted)"
        );
        assert_eq!(redacted("not a url"), "(invalid URL)");
    }

    #[test]
    fn builder_debug_hides_header_values_and_the_url_path() {
        let builder = WebhookListener::builder("https://hooks.example.com/T0/s3cr3t").header(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer t0k3n"),
        );
        let debug = format!("{builder:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(!debug.contains("t0k3n"), "{debug}");
        let debug = format!("{:?}", builder.build().unwrap());
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(!debug.contains("t0k3n"), "{debug}");
    }

    #[test]
    fn timeouts_say_they_timed_out() {
        assert_eq!(
            WebhookError::Timeout {
                after: Duration::from_secs(2)
            }
            .to_string(),
            "the webhook did not answer within 2s, the listener's timeout; check that the \
             receiver is up, or raise the timeout"
        );
    }
}
