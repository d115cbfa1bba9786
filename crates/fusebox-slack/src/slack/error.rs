//! What posting to Slack can fail with ([`SlackError`]) and what reading the configuration
//! from the environment can fail with ([`ConfigError`]).
//!
//! Every message says what to do about it. None of them contains the token.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// Why a message did not reach Slack.
///
/// ```
/// use fusebox_slack::SlackError;
///
/// let error = SlackError::api("not_in_channel");
/// assert_eq!(
///     error.to_string(),
///     "Slack refused the message: not_in_channel; the bot is not a member of the channel: \
///      invite it by typing `/invite @yourbot` in the channel"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SlackError {
    /// Slack answered `"ok": false` with this error code.
    Api {
        /// Slack's error code, such as `invalid_auth` or `channel_not_found`.
        error: String,
        /// How to fix it, for the codes a misconfiguration causes.
        hint: Option<&'static str>,
    },
    /// Slack answered HTTP 429 more often than the listener retries.
    RateLimited {
        /// Requests made, all answered with 429.
        attempts: u32,
        /// The wait Slack asked for in its last answer (`Retry-After`).
        retry_after: Duration,
    },
    /// Slack answered with an error status and no Slack error code, as when it or a proxy in
    /// front of it fails.
    Http {
        /// The HTTP status.
        status: StatusCode,
    },
    /// Slack answered with a success status but not with a `chat.postMessage` answer.
    InvalidResponse {
        /// The HTTP status.
        status: StatusCode,
        /// What was wrong with the body.
        reason: String,
    },
    /// The token cannot be sent in an HTTP header (it contains a line break or another
    /// control character).
    InvalidToken,
    /// The listener's default HTTP client could not be created (its TLS backend failed to
    /// initialise); pass one with [`SlackListener::client`](crate::SlackListener::client).
    Client {
        /// Why the client could not be created.
        reason: String,
    },
    /// The request did not complete: connection refused, DNS, TLS or the request timeout.
    /// The cause is this error's [`source`](Error::source).
    Transport(reqwest::Error),
}

impl SlackError {
    /// The error for Slack's error code `error`, with a hint when the code has a known fix.
    ///
    /// ```
    /// use fusebox_slack::SlackError;
    ///
    /// assert!(matches!(SlackError::api("invalid_auth"), SlackError::Api { hint: Some(_), .. }));
    /// assert!(matches!(SlackError::api("msg_too_long"), SlackError::Api { hint: None, .. }));
    /// ```
    pub fn api(error: impl Into<String>) -> SlackError {
        let error = error.into();
        let hint = hint(&error);
        SlackError::Api { error, hint }
    }

    /// Slack's error code, for [`SlackError::Api`].
    ///
    /// ```
    /// use fusebox_slack::SlackError;
    ///
    /// assert_eq!(SlackError::api("channel_not_found").api_error(), Some("channel_not_found"));
    /// assert_eq!(SlackError::InvalidToken.api_error(), None);
    /// ```
    pub fn api_error(&self) -> Option<&str> {
        match self {
            SlackError::Api { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// How to fix the error codes a misconfiguration causes (fluxgate's troubleshooting list).
fn hint(error: &str) -> Option<&'static str> {
    Some(match error {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            "check that SLACK_BOT_TOKEN is the Bot User OAuth Token of your Slack app \
             (it starts with xoxb-) and that the app is still installed in the workspace"
        }
        "not_in_channel" => {
            "the bot is not a member of the channel: invite it by typing `/invite @yourbot` \
             in the channel"
        }
        "channel_not_found" => {
            "check that SLACK_CHANNEL_ID is the channel's ID (C…, at the bottom of the \
             channel details), not its name, and that the bot can see the channel (invite it \
             to private channels)"
        }
        "missing_scope" => "add the chat:write scope to the bot token and reinstall the app",
        _ => return None,
    })
}

impl fmt::Display for SlackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlackError::Api {
                error,
                hint: Some(hint),
            } => write!(f, "Slack refused the message: {error}; {hint}"),
            SlackError::Api { error, hint: None } => write!(
                f,
                "Slack refused the message: {error}; see the errors of \
                 https://api.slack.com/methods/chat.postMessage"
            ),
            SlackError::RateLimited {
                attempts,
                retry_after,
            } => write!(
                f,
                "Slack rate-limited the message {attempts} times in a row (last Retry-After: \
                 {}s) and the listener gave up; Slack takes about one message per second per \
                 channel: rate-limit the listener or give busy circuits their own channel",
                retry_after.as_secs()
            ),
            SlackError::Http { status } => write!(
                f,
                "Slack answered HTTP {status} without a Slack error; Slack or a proxy in front \
                 of it is failing (see https://slack-status.com, and check SLACK_API_URL)"
            ),
            SlackError::InvalidResponse { status, reason } => write!(
                f,
                "Slack answered HTTP {status} but not with a chat.postMessage response \
                 ({reason}); check that SLACK_API_URL points at a Slack-compatible API"
            ),
            SlackError::InvalidToken => f.write_str(
                "the Slack token cannot be sent in an HTTP header; check SLACK_BOT_TOKEN for \
                 line breaks or other stray characters",
            ),
            SlackError::Client { reason } => write!(
                f,
                "could not create an HTTP client for Slack ({reason}); pass one with \
                 SlackListener::client"
            ),
            SlackError::Transport(_) => f.write_str(
                "could not reach Slack; check network access, proxies and SLACK_API_URL",
            ),
        }
    }
}

impl Error for SlackError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SlackError::Transport(error) => Some(error),
            _ => None,
        }
    }
}

/// Why [`SlackListener::from_env`](crate::SlackListener::from_env) could not build a listener.
///
/// ```
/// use fusebox_slack::ConfigError;
///
/// let error = ConfigError::Missing { variable: "SLACK_CHANNEL_ID" };
/// assert_eq!(
///     error.to_string(),
///     "SLACK_CHANNEL_ID is not set; set it to the ID of the channel to post to \
///      (C…, at the bottom of the channel details)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The variable is not set, or is empty.
    Missing {
        /// The variable's name.
        variable: &'static str,
    },
    /// The variable is set but its value cannot be used.
    Invalid {
        /// The variable's name.
        variable: &'static str,
        /// What is wrong with the value (never the value itself).
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing { variable } => {
                write!(f, "{variable} is not set; set it to {}", expected(variable))
            }
            ConfigError::Invalid { variable, reason } => {
                write!(
                    f,
                    "{variable} is invalid ({reason}); set it to {}",
                    expected(variable)
                )
            }
        }
    }
}

impl Error for ConfigError {}

fn expected(variable: &str) -> &'static str {
    match variable {
        "SLACK_BOT_TOKEN" => {
            "the Bot User OAuth Token of your Slack app (xoxb-…, under OAuth & Permissions)"
        }
        "SLACK_CHANNEL_ID" => {
            "the ID of the channel to post to (C…, at the bottom of the channel details)"
        }
        _ => "the base URL of a Slack-compatible API, such as https://slack.com",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misconfiguration_codes_say_how_to_fix_them() {
        assert_eq!(
            SlackError::api("invalid_auth").to_string(),
            "Slack refused the message: invalid_auth; check that SLACK_BOT_TOKEN is the Bot \
             User OAuth Token of your Slack app (it starts with xoxb-) and that the app is \
             still installed in the workspace"
        );
        assert_eq!(
            SlackError::api("channel_not_found").to_string(),
            "Slack refused the message: channel_not_found; check that SLACK_CHANNEL_ID is the \
             channel's ID (C…, at the bottom of the channel details), not its name, and that \
             the bot can see the channel (invite it to private channels)"
        );
    }

    #[test]
    fn other_codes_pass_through_with_a_pointer_to_slacks_list() {
        let error = SlackError::api("msg_too_long");
        assert_eq!(error.api_error(), Some("msg_too_long"));
        assert_eq!(
            error.to_string(),
            "Slack refused the message: msg_too_long; see the errors of \
             https://api.slack.com/methods/chat.postMessage"
        );
        assert!(error.source().is_none());
    }

    #[test]
    fn rate_limits_and_statuses_say_what_happened() {
        let limited = SlackError::RateLimited {
            attempts: 4,
            retry_after: Duration::from_secs(30),
        };
        assert_eq!(
            limited.to_string(),
            "Slack rate-limited the message 4 times in a row (last Retry-After: 30s) and the \
             listener gave up; Slack takes about one message per second per channel: \
             rate-limit the listener or give busy circuits their own channel"
        );
        let http = SlackError::Http {
            status: StatusCode::BAD_GATEWAY,
        };
        assert_eq!(
            http.to_string(),
            "Slack answered HTTP 502 Bad Gateway without a Slack error; Slack or a proxy in \
             front of it is failing (see https://slack-status.com, and check SLACK_API_URL)"
        );
    }

    #[test]
    fn config_errors_name_the_variable_without_its_value() {
        let invalid = ConfigError::Invalid {
            variable: "SLACK_API_URL",
            reason: "relative URL without a base".into(),
        };
        assert_eq!(
            invalid.to_string(),
            "SLACK_API_URL is invalid (relative URL without a base); set it to the base URL \
             of a Slack-compatible API, such as https://slack.com"
        );
    }
}
