//! The sign-in page: what a browser opening the dashboard without a session gets instead of
//! a JSON `401`, saying how to sign in (`?token=`) and why it is asked (no session yet, a
//! wrong token, a session that ended). API clients, which do not ask for HTML, keep the JSON
//! answer. Who is admitted is [`auth`](super::auth)'s decision; this only words the refusal.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, Query, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use http::header::{ACCEPT, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::auth::session_cookies;
use super::dashboard::{ROOT, asset, asset_root, escape_html, html};

/// The page, with [`ROOT`], `{{reason}}`, `{{message}}` and `{{address}}` to fill in.
const PAGE: &str = include_str!("sign_in.html");
const STYLE: &str = include_str!("sign_in.css");

/// The sign-in page's style sheet, which a browser without a session can load.
pub(super) fn assets() -> Router {
    Router::new().route(
        "/assets/sign-in.css",
        get(|| asset("text/css; charset=utf-8", STYLE)),
    )
}

/// Why a browser is asked to sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    SignedOut,
    WrongToken,
    SessionEnded,
}

impl Reason {
    /// Why `request` would be refused, if it comes from a browser opening the page.
    fn of(request: &Request, uri: &http::Uri) -> Option<Reason> {
        if !matches!(*request.method(), Method::GET | Method::HEAD)
            || !accepts_html(request.headers())
        {
            return None;
        }
        let token = Query::<HashMap<String, String>>::try_from_uri(uri)
            .is_ok_and(|Query(query)| query.contains_key("token"));
        Some(if token {
            Reason::WrongToken
        } else if session_cookies(request.headers()).next().is_some() {
            Reason::SessionEnded
        } else {
            Reason::SignedOut
        })
    }

    fn name(self) -> &'static str {
        match self {
            Reason::SignedOut => "signed-out",
            Reason::WrongToken => "wrong-token",
            Reason::SessionEnded => "session-ended",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Reason::SignedOut => {
                "This dashboard needs the admin token, and this browser has no session yet."
            }
            Reason::WrongToken => "The token in the address is not this dashboard's admin token.",
            Reason::SessionEnded => {
                "This browser's session ended: it expired, or the admin token changed."
            }
        }
    }
}

/// Whether a request asks for HTML, as a browser opening a page does (`fetch` and API
/// clients ask for JSON or anything).
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("text/html") && !refused
        })
}

/// Middleware of the dashboard page, outside the token exchange and the guard: a browser's
/// `401` becomes the sign-in page, with the same status and `WWW-Authenticate`.
pub(super) async fn offer(OriginalUri(uri): OriginalUri, request: Request, next: Next) -> Response {
    let reason = Reason::of(&request, &uri);
    let response = next.run(request).await;
    match reason {
        Some(reason) if response.status() == StatusCode::UNAUTHORIZED => page(reason, uri.path()),
        _ => response,
    }
}

fn page(reason: Reason, path: &str) -> Response {
    let mut response = html(StatusCode::UNAUTHORIZED, body(reason, path));
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The page for a browser refused at `path`.
fn body(reason: Reason, path: &str) -> String {
    PAGE.replace(ROOT, &asset_root(path))
        .replace("{{reason}}", reason.name())
        .replace("{{message}}", reason.message())
        .replace("{{address}}", &escape_html(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::test_headers as headers;

    #[test]
    fn browsers_opening_a_page_ask_for_html_and_api_clients_do_not() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        for (accept, html) in [
            (browser, true),
            ("TEXT/HTML", true),
            ("application/json, text/html;q=0.5", true),
            ("application/json", false),
            ("*/*", false),
            ("text/html;q=0", false),
            ("text/htmlx", false),
        ] {
            assert_eq!(
                accepts_html(&headers(&[("accept", accept)])),
                html,
                "{accept}"
            );
        }
        assert!(!accepts_html(&headers(&[])));
    }

    #[test]
    fn the_page_fills_in_every_placeholder_and_escapes_the_address() {
        let response = page(Reason::WrongToken, "/ops/<b>");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
        let body = body(Reason::WrongToken, "/ops/<b>");
        for part in [
            r#"<link rel="stylesheet" href="./&lt;b&gt;/assets/sign-in.css">"#,
            r#"<main class="sign-in" data-sign-in="wrong-token">"#,
            r#"<p class="reason">The token in the address is not this dashboard's admin token.</p>"#,
            r#"<code class="address">/ops/&lt;b&gt;?token=&lt;admin token&gt;</code>"#,
        ] {
            assert!(body.contains(part), "{part}");
        }
        assert!(!body.contains("{{"));
        assert!(!PAGE.contains("<script"));
        assert!(!PAGE.contains(" style="));
    }
}
