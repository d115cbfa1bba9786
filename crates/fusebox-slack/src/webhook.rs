//! [`WebhookListener`]: every transition as a JSON `POST` to any URL.
//!
//! The body's schema is documented at the crate root; it is built here and nowhere else.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use fusebox_core::Signal;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use tower_service::Service;

use crate::ResponseFuture;
use fusebox_core::wall::{rfc3339, unix_millis};

/// Requests that take longer than this fail with [`WebhookError::Transport`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs each transition as JSON to a URL: chat tools' incoming webhooks (through an
/// adapter), Alertmanager bridges, your own receivers.
///
/// The body is the [signal as JSON](crate#webhook-body), sent with
/// `Content-Type: application/json` and the headers given to
/// [`header`](WebhookListener::header). Any 2xx status is success; other statuses fail with
/// [`WebhookError::Status`], requests that do not complete (including after the
/// [`timeout`](WebhookListener::timeout), default 10 s) with [`WebhookError::Transport`].
/// Redirects are followed. Registration signals are skipped unless
/// [`include_registrations`](WebhookListener::include_registrations) asks for them.
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
///     let webhook = WebhookListener::new("https://alerts.example.com/hooks/circuits")
///         .header(AUTHORIZATION, HeaderValue::from_static("Bearer s3cr3t"))
///         .timeout(Duration::from_secs(5));
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
    client: Result<reqwest::Client, Arc<str>>,
    url: Arc<str>,
    headers: Arc<HeaderMap>,
    timeout: Duration,
    include_registrations: bool,
}

impl WebhookListener {
    /// A listener posting to `url`, with no extra headers, a 10 s timeout and its own
    /// `reqwest` client. An invalid URL makes every delivery fail with
    /// [`WebhookError::Transport`].
    ///
    /// ```
    /// use fusebox_slack::WebhookListener;
    ///
    /// let listener = WebhookListener::new("https://alerts.example.com/hooks/T0123/s3cr3t");
    /// assert_eq!(
    ///     format!("{listener:?}"),
    ///     "WebhookListener { url: \"https://alerts.example.com/…(redacted)\", headers: [], \
    ///      timeout: 10s, include_registrations: false, .. }"
    /// );
    /// ```
    pub fn new(url: impl Into<String>) -> WebhookListener {
        WebhookListener {
            client: reqwest::Client::builder()
                .build()
                .map_err(|error| Arc::from(crate::error_chain(&error))),
            url: Arc::from(url.into()),
            headers: Arc::default(),
            timeout: DEFAULT_TIMEOUT,
            include_registrations: false,
        }
    }

    /// Sends the header `name: value` with every request, replacing an earlier value of the
    /// same name (including `Content-Type`). The value is marked sensitive and never shown.
    ///
    /// ```
    /// use fusebox_slack::WebhookListener;
    /// use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
    ///
    /// let listener = WebhookListener::new("https://alerts.example.com/hooks")
    ///     .header(AUTHORIZATION, HeaderValue::from_static("Bearer s3cr3t"))
    ///     .header(HeaderName::from_static("x-team"), HeaderValue::from_static("payments"));
    /// let debug = format!("{listener:?}");
    /// assert!(debug.contains("headers: [\"authorization\", \"x-team\"]"));
    /// assert!(!debug.contains("s3cr3t"));
    /// ```
    pub fn header(mut self, name: HeaderName, mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        Arc::make_mut(&mut self.headers).insert(name, value);
        self
    }

    /// How long one request may take before it fails with [`WebhookError::Transport`]
    /// (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use fusebox_slack::WebhookListener;
    ///
    /// let listener = WebhookListener::new("http://127.0.0.1:9000/").timeout(Duration::from_millis(500));
    /// assert!(format!("{listener:?}").contains("timeout: 500ms"));
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
    /// # fn main() -> Result<(), reqwest::Error> {
    /// let client = reqwest::Client::builder().no_proxy().build()?;
    /// let listener = WebhookListener::new("http://127.0.0.1:9000/").client(client);
    /// # let _ = listener;
    /// # Ok(())
    /// # }
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Ok(client);
        self
    }

    /// Whether registration signals (`"cause": "registered"`, `from == to`) are posted too
    /// (default `false`), for receivers that track every circuit from its creation.
    ///
    /// ```
    /// use fusebox_slack::WebhookListener;
    ///
    /// let listener = WebhookListener::new("http://127.0.0.1:9000/").include_registrations(true);
    /// assert!(format!("{listener:?}").contains("include_registrations: true"));
    /// ```
    pub fn include_registrations(mut self, include: bool) -> Self {
        self.include_registrations = include;
        self
    }

    async fn deliver(self, signal: Signal) -> Result<(), WebhookError> {
        if signal.is_registration() && !self.include_registrations {
            return Ok(());
        }
        let client = self
            .client
            .as_ref()
            .map_err(|reason| WebhookError::Client {
                reason: reason.to_string(),
            })?;
        let response = client
            .post(&*self.url)
            .header(CONTENT_TYPE, "application/json")
            .headers(HeaderMap::clone(&self.headers))
            .timeout(self.timeout)
            .body(body(&signal).to_string())
            .send()
            .await
            .map_err(|error| WebhookError::Transport(error.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(WebhookError::Status { status })
        }
    }
}

/// The signal as the crate root documents it.
fn body(signal: &Signal) -> Value {
    let metrics = &signal.metrics;
    json!({
        "circuit": &*signal.circuit,
        "from": signal.from.as_str(),
        "to": signal.to.as_str(),
        "at": rfc3339(signal.at),
        "at_unix_ms": unix_millis(signal.at),
        "cause": signal.cause.as_str(),
        "rule": signal.cause.rule(),
        "metrics": {
            "total": metrics.total(),
            "failures": metrics.failures(),
            "failure_rate": metrics.failure_rate(),
            "avg_latency_ms": metrics.avg_latency().map(|latency| latency.as_secs_f64() * 1000.0),
            "consecutive_failures": metrics.consecutive_failures(),
        }
    })
}

impl Service<Signal> for WebhookListener {
    type Response = ();
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
        let headers: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("WebhookListener")
            .field("url", &redacted(&self.url))
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("include_registrations", &self.include_registrations)
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
    /// The listener's default HTTP client could not be created (its TLS backend failed to
    /// initialise); pass one with [`WebhookListener::client`].
    Client {
        /// Why the client could not be created.
        reason: String,
    },
    /// The request did not complete: invalid URL, connection refused, DNS, TLS or the
    /// timeout. The cause, without the URL, is this error's [`source`](Error::source).
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
            WebhookError::Client { reason } => write!(
                f,
                "could not create an HTTP client for the webhook ({reason}); pass one with \
                 WebhookListener::client"
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
}
