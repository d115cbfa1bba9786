//! Posting to `chat.postMessage`: the endpoint and bearer header made from the settings, and
//! the request itself, sent again after HTTP 429. What Slack's answer means is read in
//! `answer`.

use std::time::Duration;

use http::StatusCode;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::Url;

use super::answer::read_answer;
use super::error::SlackError;
use crate::ConfigError;
use crate::config::http_url;

/// The wait after a 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest wait after a 429: the listener's worker holds later signals meanwhile.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Slack asks for the charset; without it, it answers with a `missing_charset` warning.
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A checked way to post: everything that can be wrong with the settings was found when it
/// was made.
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) url: Url,
    pub(crate) authorization: HeaderValue,
    pub(crate) max_retries: u32,
    pub(crate) timeout: Duration,
}

impl Api {
    /// Posts `body`, sending it again after HTTP 429, and returns the message's `ts`.
    pub(crate) async fn post_message(&self, body: Vec<u8>) -> Result<String, SlackError> {
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let response = self
                .client
                .post(self.url.clone())
                .header(AUTHORIZATION, self.authorization.clone())
                .header(CONTENT_TYPE, JSON_UTF8)
                .timeout(self.timeout)
                .body(body.clone())
                .send()
                .await
                .map_err(|error| self.failed(error))?;
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
            let answer = response.bytes().await.map_err(|error| self.failed(error))?;
            return read_answer(status, &answer);
        }
    }

    fn failed(&self, error: reqwest::Error) -> SlackError {
        if error.is_timeout() {
            SlackError::Timeout {
                after: self.timeout,
            }
        } else {
            SlackError::Transport(error)
        }
    }
}

/// The `chat.postMessage` URL under `base`, which may end in `/api` or not:
/// `https://slack.com` and `https://slack.com/api` both give
/// `https://slack.com/api/chat.postMessage`.
pub(crate) fn endpoint(base: &str) -> Result<Url, ConfigError> {
    let mut url = http_url("base_url", base)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::Invalid {
            setting: "base_url",
            reason: "has a query or fragment; give the API's base URL only".into(),
        });
    }
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/api").unwrap_or(path);
    let path = format!("{path}/api/chat.postMessage");
    url.set_path(&path);
    Ok(url)
}

/// `Bearer <token>`, marked sensitive so that `http` and `reqwest` never show it.
pub(crate) fn authorization(token: &str) -> Result<HeaderValue, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        setting: "token",
        reason: reason.into(),
    };
    if token.trim().is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut value = HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| invalid("contains characters that cannot be sent in an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(base: &str) -> Result<String, ConfigError> {
        endpoint(base).map(String::from)
    }

    #[test]
    fn the_base_url_may_end_in_api_or_not() {
        let slack = "https://slack.com/api/chat.postMessage";
        assert_eq!(url("https://slack.com").as_deref(), Ok(slack));
        assert_eq!(url("https://slack.com/").as_deref(), Ok(slack));
        assert_eq!(url("https://slack.com/api").as_deref(), Ok(slack));
        assert_eq!(url("https://slack.com/api/").as_deref(), Ok(slack));
        assert_eq!(
            url("http://127.0.0.1:8080/proxy/slack/api").as_deref(),
            Ok("http://127.0.0.1:8080/proxy/slack/api/chat.postMessage")
        );
        assert_eq!(
            url("http://gateway.internal/apis").as_deref(),
            Ok("http://gateway.internal/apis/api/chat.postMessage")
        );
    }

    #[test]
    fn base_urls_that_cannot_be_one_are_refused() {
        assert_eq!(
            url("slack.com"),
            Err(ConfigError::Invalid {
                setting: "base_url",
                reason: "relative URL without a base".into()
            })
        );
        assert_eq!(
            url("https://slack.com/api?team=T1"),
            Err(ConfigError::Invalid {
                setting: "base_url",
                reason: "has a query or fragment; give the API's base URL only".into()
            })
        );
    }

    #[test]
    fn tokens_must_be_sendable_and_stay_hidden() {
        let value = authorization("xoxb-1-SECRET").unwrap();
        assert_eq!(value.as_bytes(), b"Bearer xoxb-1-SECRET");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("SECRET"));
        assert_eq!(
            authorization("xoxb-one\ntwo").unwrap_err().to_string(),
            "token is invalid (contains characters that cannot be sent in an HTTP header); \
             set it to the Bot User OAuth Token of your Slack app (xoxb-…, under OAuth & \
             Permissions)"
        );
        assert_eq!(
            authorization(" "),
            Err(ConfigError::Invalid {
                setting: "token",
                reason: "it is empty".into()
            })
        );
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
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("18446744073709551615"),
        );
        assert_eq!(retry_after(&headers), Duration::from_secs(30));
    }
}
