//! Reading Slack's answer to `chat.postMessage`: the posted message's `ts`, or why there is
//! none.

use http::StatusCode;
use serde::Deserialize;

use super::error::SlackError;

#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

/// The `ts` of the posted message, from the status and body of Slack's answer (429s are
/// handled before).
///
/// A 5xx status means Slack is failing, whatever the body says. Otherwise `ok` decides, not
/// the status: Slack answers logical errors with HTTP 200, and some Slack-compatible servers
/// answer them with 4xx and the same JSON.
pub(crate) fn read_answer(status: StatusCode, body: &[u8]) -> Result<String, SlackError> {
    let answer = serde_json::from_slice::<Answer>(body);
    if status.is_server_error() {
        return Err(SlackError::ServerError {
            status,
            error: answer.ok().and_then(|answer| answer.error),
        });
    }
    match answer {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = read_answer(StatusCode::NOT_FOUND, b"no such route").unwrap_err();
        assert!(
            matches!(err, SlackError::Http { status } if status == StatusCode::NOT_FOUND),
            "{err:?}"
        );
        let err = read_answer(StatusCode::OK, b"<html>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Slack answered HTTP 200 OK but not with a chat.postMessage response (expected \
             JSON with \"ok\": expected value at line 1 column 1); check that SLACK_API_URL \
             points at a Slack-compatible API"
        );
    }

    #[test]
    fn server_errors_are_slack_failing_with_or_without_a_slack_answer() {
        let err = read_answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"ok":false,"error":"fatal_error"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(
                &err,
                SlackError::ServerError { status, error: Some(error) }
                    if *status == StatusCode::INTERNAL_SERVER_ERROR && error == "fatal_error"
            ),
            "{err:?}"
        );
        let err = read_answer(StatusCode::SERVICE_UNAVAILABLE, b"upstream down").unwrap_err();
        assert!(
            matches!(
                err,
                SlackError::ServerError { status, error: None }
                    if status == StatusCode::SERVICE_UNAVAILABLE
            ),
            "{err:?}"
        );
    }
}
