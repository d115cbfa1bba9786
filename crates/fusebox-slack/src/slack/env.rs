//! Reading the Slack settings from the environment: `SLACK_BOT_TOKEN`, `SLACK_CHANNEL_ID`
//! and `SLACK_API_URL`. Errors name the variable, never its value.

use std::ffi::OsString;

use super::SlackListenerBuilder;
use super::api::{authorization, endpoint};
use crate::ConfigError;

/// A builder holding the environment's settings, each checked and named by its variable.
pub(super) fn from_vars(
    lookup: impl Fn(&'static str) -> Option<OsString>,
) -> Result<SlackListenerBuilder, ConfigError> {
    let var = |variable: &'static str| match lookup(variable).map(OsString::into_string) {
        None => Ok(None),
        Some(Err(_)) => Err(ConfigError::Invalid {
            setting: variable,
            reason: "not valid Unicode".into(),
        }),
        Some(Ok(value)) => {
            let value = value.trim();
            Ok((!value.is_empty()).then(|| value.to_owned()))
        }
    };
    let required = |variable: &'static str| var(variable)?.ok_or(ConfigError::Missing { variable });
    let token = required("SLACK_BOT_TOKEN")?;
    authorization(&token).map_err(named("SLACK_BOT_TOKEN"))?;
    let channel = required("SLACK_CHANNEL_ID")?;
    let mut builder = super::SlackListener::builder(token, channel);
    if let Some(base) = var("SLACK_API_URL")? {
        endpoint(&base).map_err(named("SLACK_API_URL"))?;
        builder = builder.base_url(base);
    }
    Ok(builder)
}

/// The same error, naming the variable instead of the builder method.
fn named(variable: &'static str) -> impl Fn(ConfigError) -> ConfigError {
    move |error| match error {
        ConfigError::Invalid { reason, .. } => ConfigError::Invalid {
            setting: variable,
            reason,
        },
        other => other,
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

    fn error(pairs: &[(&'static str, &'static str)]) -> ConfigError {
        match from_vars(vars(pairs)) {
            Ok(builder) => panic!("expected an error, got {builder:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn from_env_names_the_missing_variable() {
        let err = error(&[]);
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
        assert_eq!(
            error(&[("SLACK_BOT_TOKEN", "xoxb-1")]),
            ConfigError::Missing {
                variable: "SLACK_CHANNEL_ID"
            }
        );
        assert_eq!(
            error(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_CHANNEL_ID", "  ")]),
            ConfigError::Missing {
                variable: "SLACK_CHANNEL_ID"
            }
        );
    }

    #[test]
    fn from_env_reads_trims_and_checks_every_variable() {
        let listener = from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-secret-value\n"),
            ("SLACK_CHANNEL_ID", " C0123456789 "),
            ("SLACK_API_URL", "http://slack.internal:8080"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(
            listener.url(),
            "http://slack.internal:8080/api/chat.postMessage"
        );
        assert_eq!(listener.channel(), "C0123456789");
        assert_eq!(
            listener.api.authorization.as_bytes(),
            b"Bearer xoxb-secret-value"
        );

        let defaults = from_vars(vars(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_CHANNEL_ID", "C1"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(defaults.url(), "https://slack.com/api/chat.postMessage");
    }

    #[test]
    fn from_env_accepts_the_api_url_with_or_without_api() {
        for base in ["https://slack.com/api", "https://slack.com/api/"] {
            let listener = from_vars(vars(&[
                ("SLACK_BOT_TOKEN", "xoxb-1"),
                ("SLACK_CHANNEL_ID", "C1"),
                ("SLACK_API_URL", base),
            ]))
            .unwrap()
            .build()
            .unwrap();
            assert_eq!(listener.url(), "https://slack.com/api/chat.postMessage");
        }
    }

    #[test]
    fn from_env_rejects_unusable_values_naming_the_variable_without_the_value() {
        let err = error(&[
            ("SLACK_BOT_TOKEN", "xoxb-one\ntwo"),
            ("SLACK_CHANNEL_ID", "C1"),
        ]);
        assert_eq!(
            err.to_string(),
            "SLACK_BOT_TOKEN is invalid (contains characters that cannot be sent in an HTTP \
             header); set it to the Bot User OAuth Token of your Slack app (xoxb-…, under \
             OAuth & Permissions)"
        );
        assert_eq!(
            error(&[
                ("SLACK_BOT_TOKEN", "xoxb-1"),
                ("SLACK_CHANNEL_ID", "C1"),
                ("SLACK_API_URL", "slack.com"),
            ]),
            ConfigError::Invalid {
                setting: "SLACK_API_URL",
                reason: "relative URL without a base".into()
            }
        );
        let err = error(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_CHANNEL_ID", "C1"),
            ("SLACK_API_URL", "ftp://slack.com"),
        ]);
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

        let err = from_vars(|name| {
            (name == "SLACK_BOT_TOKEN").then(|| OsString::from_vec(vec![0x78, 0xff]))
        })
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                setting: "SLACK_BOT_TOKEN",
                reason: "not valid Unicode".into()
            }
        );
    }
}
