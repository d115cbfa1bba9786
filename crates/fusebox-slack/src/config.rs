//! [`ConfigError`]: what the builders and [`SlackListener::from_env`] refuse, and the checks
//! both listeners share. A listener that builds can post: nothing found wrong here waits for
//! the first signal.
//!
//! [`SlackListener::from_env`]: crate::SlackListener::from_env

use std::error::Error;
use std::fmt;
use std::time::Duration;

use fusebox::listener::error_chain;
use reqwest::Url;

/// Why a listener could not be built from its settings or the environment.
///
/// `setting` names what to change as the user wrote it: the builder method (`base_url`) for
/// the builders, the environment variable (`SLACK_API_URL`) for
/// [`SlackListener::from_env`](crate::SlackListener::from_env). Messages never contain the
/// value, which may be a secret.
///
/// ```
/// use fusebox_slack::{ConfigError, SlackListener};
///
/// let err = SlackListener::builder("xoxb-token", "C0123456789")
///     .base_url("slack.com")
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     err,
///     ConfigError::Invalid { setting: "base_url", reason: "relative URL without a base".into() }
/// );
/// assert_eq!(
///     err.to_string(),
///     "base_url is invalid (relative URL without a base); set it to the base URL of a \
///      Slack-compatible API, such as https://slack.com"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable is not set, or is empty.
    Missing {
        /// The variable's name.
        variable: &'static str,
    },
    /// A setting is present but its value cannot be used.
    Invalid {
        /// The builder method or environment variable that set it.
        setting: &'static str,
        /// What is wrong with the value (never the value itself).
        reason: String,
    },
    /// The listener's default HTTP client could not be created (its TLS backend failed to
    /// initialise).
    Client {
        /// Why, with the causes.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing { variable } => {
                write!(f, "{variable} is not set; set it to {}", expected(variable))
            }
            ConfigError::Invalid { setting, reason } => {
                write!(
                    f,
                    "{setting} is invalid ({reason}); set it to {}",
                    expected(setting)
                )
            }
            ConfigError::Client { reason } => write!(
                f,
                "could not create an HTTP client ({reason}); pass one with the builder's \
                 `client` method"
            ),
        }
    }
}

impl Error for ConfigError {}

/// What a setting should hold, by any of its names.
fn expected(setting: &str) -> &'static str {
    match setting {
        "token" | "SLACK_BOT_TOKEN" => {
            "the Bot User OAuth Token of your Slack app (xoxb-…, under OAuth & Permissions)"
        }
        "channel" | "SLACK_CHANNEL_ID" => {
            "the ID of the channel to post to (C…, at the bottom of the channel details)"
        }
        "base_url" | "SLACK_API_URL" => {
            "the base URL of a Slack-compatible API, such as https://slack.com"
        }
        "timeout" => "a duration above zero",
        _ => "the receiver's http:// or https:// URL",
    }
}

/// `text` as an absolute `http://` or `https://` URL; the error says why it is not one,
/// without repeating it.
pub(crate) fn http_url(setting: &'static str, text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { setting, reason };
    let url = Url::parse(text).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    Ok(url)
}

/// Refuses a zero timeout, which would fail every request before it is sent.
pub(crate) fn timeout(timeout: Duration) -> Result<Duration, ConfigError> {
    if timeout.is_zero() {
        return Err(ConfigError::Invalid {
            setting: "timeout",
            reason: "zero fails every request before it is sent".into(),
        });
    }
    Ok(timeout)
}

/// The given client, or a new one with `reqwest`'s defaults.
pub(crate) fn client(client: Option<reqwest::Client>) -> Result<reqwest::Client, ConfigError> {
    match client {
        Some(client) => Ok(client),
        None => reqwest::Client::builder()
            .build()
            .map_err(|error| ConfigError::Client {
                reason: error_chain(&error).to_string(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_or_https() {
        assert_eq!(
            http_url("url", "https://hooks.example.com/a?b=c").map(String::from),
            Ok("https://hooks.example.com/a?b=c".to_owned())
        );
        assert_eq!(
            http_url("url", "hooks.example.com/a"),
            Err(ConfigError::Invalid {
                setting: "url",
                reason: "relative URL without a base".into()
            })
        );
        let err = http_url("url", "ftp://hooks.example.com/s3cr3t").unwrap_err();
        assert_eq!(
            err.to_string(),
            "url is invalid (scheme \"ftp\" is not http or https); set it to the receiver's \
             http:// or https:// URL"
        );
    }

    #[test]
    fn a_zero_timeout_is_refused_and_any_other_kept() {
        assert_eq!(
            timeout(Duration::ZERO).unwrap_err().to_string(),
            "timeout is invalid (zero fails every request before it is sent); set it to a \
             duration above zero"
        );
        assert_eq!(timeout(Duration::MAX), Ok(Duration::MAX));
    }

    #[test]
    fn missing_variables_say_what_to_set() {
        assert_eq!(
            ConfigError::Missing {
                variable: "SLACK_CHANNEL_ID"
            }
            .to_string(),
            "SLACK_CHANNEL_ID is not set; set it to the ID of the channel to post to (C…, at \
             the bottom of the channel details)"
        );
    }
}
