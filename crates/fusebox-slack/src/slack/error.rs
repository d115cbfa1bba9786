//! [`SlackError`]: why a message did not reach Slack. Every message says what to do about
//! it; none contains the token. What the configuration can get wrong is found at
//! construction time instead ([`ConfigError`](crate::ConfigError)).

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
    /// Slack answered with a 5xx status: it, or a proxy in front of it, is failing.
    ServerError {
        /// The HTTP status.
        status: StatusCode,
        /// Slack's error code, when the answer carried one.
        error: Option<String>,
    },
    /// Slack answered with another error status and no Slack error code, as a server that is
    /// not Slack's API does.
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
    /// Slack did not answer within the listener's
    /// [`timeout`](crate::SlackListenerBuilder::timeout).
    Timeout {
        /// The timeout that ran out.
        after: Duration,
    },
    /// The request did not complete: connection refused, DNS or TLS. The cause is this
    /// error's [`source`](Error::source).
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

    /// Slack's error code, for [`SlackError::Api`] and [`SlackError::ServerError`].
    ///
    /// ```
    /// use fusebox_slack::SlackError;
    /// use std::time::Duration;
    ///
    /// assert_eq!(SlackError::api("channel_not_found").api_error(), Some("channel_not_found"));
    /// assert_eq!(SlackError::Timeout { after: Duration::from_secs(10) }.api_error(), None);
    /// ```
    pub fn api_error(&self) -> Option<&str> {
        match self {
            SlackError::Api { error, .. } => Some(error),
            SlackError::ServerError { error, .. } => error.as_deref(),
            _ => None,
        }
    }
}

/// How to fix the error codes a misconfiguration causes.
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
        "unknown_method" => {
            "the URL does not lead to chat.postMessage: check that SLACK_API_URL is the base \
             URL of a Slack-compatible API, such as https://slack.com"
        }
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
            SlackError::ServerError { status, error } => {
                write!(f, "Slack is failing: it answered HTTP {status}")?;
                if let Some(error) = error {
                    write!(f, " ({error})")?;
                }
                f.write_str(
                    " and the message was not posted; see https://slack-status.com, or the \
                     proxy in front of Slack if SLACK_API_URL names one",
                )
            }
            SlackError::Http { status } => write!(
                f,
                "Slack answered HTTP {status} without a Slack error; check that SLACK_API_URL \
                 points at a Slack-compatible API"
            ),
            SlackError::InvalidResponse { status, reason } => write!(
                f,
                "Slack answered HTTP {status} but not with a chat.postMessage response \
                 ({reason}); check that SLACK_API_URL points at a Slack-compatible API"
            ),
            SlackError::Timeout { after } => write!(
                f,
                "Slack did not answer within {after:?}, the listener's timeout; Slack or the \
                 network to it is slow: see https://slack-status.com, or raise the timeout"
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
        assert_eq!(
            SlackError::api("unknown_method").to_string(),
            "Slack refused the message: unknown_method; the URL does not lead to \
             chat.postMessage: check that SLACK_API_URL is the base URL of a Slack-compatible \
             API, such as https://slack.com"
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
            status: StatusCode::NOT_FOUND,
        };
        assert_eq!(
            http.to_string(),
            "Slack answered HTTP 404 Not Found without a Slack error; check that SLACK_API_URL \
             points at a Slack-compatible API"
        );
    }

    #[test]
    fn server_errors_say_slack_is_failing() {
        let failing = SlackError::ServerError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: Some("fatal_error".into()),
        };
        assert_eq!(failing.api_error(), Some("fatal_error"));
        assert_eq!(
            failing.to_string(),
            "Slack is failing: it answered HTTP 500 Internal Server Error (fatal_error) and the \
             message was not posted; see https://slack-status.com, or the proxy in front of \
             Slack if SLACK_API_URL names one"
        );
        let bare = SlackError::ServerError {
            status: StatusCode::BAD_GATEWAY,
            error: None,
        };
        assert_eq!(
            bare.to_string(),
            "Slack is failing: it answered HTTP 502 Bad Gateway and the message was not \
             posted; see https://slack-status.com, or the proxy in front of Slack if \
             SLACK_API_URL names one"
        );
    }

    #[test]
    fn timeouts_say_they_timed_out() {
        assert_eq!(
            SlackError::Timeout {
                after: Duration::from_millis(2500)
            }
            .to_string(),
            "Slack did not answer within 2.5s, the listener's timeout; Slack or the network to \
             it is slow: see https://slack-status.com, or raise the timeout"
        );
    }
}
