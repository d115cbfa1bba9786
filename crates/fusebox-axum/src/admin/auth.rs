//! Who may use the admin router: [`AdminAuth`], the token check and the dashboard's
//! token-to-cookie exchange.

use std::fmt;
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::ErrorBody;

/// The cookie the dashboard page stores the admin token in, after `GET /?token=...`.
pub const TOKEN_COOKIE: &str = "fusebox_admin";

/// Who may use the [admin router](super::router): holders of a bearer token, or, only when
/// the application says so explicitly, anyone who can reach it.
///
/// The token is compared in constant time and never shown by `Debug`.
///
/// ```
/// use fusebox_axum::admin::AdminAuth;
///
/// let auth = AdminAuth::bearer("correct-horse-battery-staple")?;
/// assert!(auth.requires_token());
/// assert_eq!(format!("{auth:?}"), "AdminAuth::Bearer(<redacted>)");
/// assert!(AdminAuth::bearer("").is_err());
/// # Ok::<(), fusebox_axum::admin::InvalidToken>(())
/// ```
#[derive(Clone)]
pub struct AdminAuth {
    token: Option<Arc<str>>,
}

impl AdminAuth {
    /// Every route requires `token`: as `Authorization: Bearer <token>`, or (after the
    /// dashboard's `?token=` exchange) as the [`TOKEN_COOKIE`] cookie.
    ///
    /// # Errors
    /// [`InvalidToken`] if `token` is empty, or has a character other than visible ASCII
    /// (`!` to `~`) or one of `"`, `,`, `;`, `\`: such a token could not travel in the
    /// header or the cookie.
    pub fn bearer(token: impl Into<String>) -> Result<AdminAuth, InvalidToken> {
        let token = token.into();
        if token.is_empty() {
            return Err(InvalidToken { empty: true });
        }
        let travels = |byte: &u8| matches!(byte, b'!'..=b'~') && !b"\",;\\".contains(byte);
        if !token.as_bytes().iter().all(travels) {
            return Err(InvalidToken { empty: false });
        }
        Ok(AdminAuth {
            token: Some(Arc::from(token)),
        })
    }

    /// No token: anyone who can reach the router can read every circuit and force them open.
    /// Only for routers reachable from trusted networks alone (or guarded by your own
    /// middleware); the router logs a warning when it is built this way.
    ///
    /// ```
    /// use fusebox_axum::admin::AdminAuth;
    ///
    /// let auth = AdminAuth::none_i_understand_the_risk();
    /// assert!(!auth.requires_token());
    /// ```
    pub const fn none_i_understand_the_risk() -> AdminAuth {
        AdminAuth { token: None }
    }

    /// Whether requests must carry the token.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    fn accepts(&self, candidate: &str) -> bool {
        self.token
            .as_deref()
            .is_none_or(|token| bool::from(token.as_bytes().ct_eq(candidate.as_bytes())))
    }

    /// Whether the request carries the token, in the `Authorization` header or the cookie.
    fn admits(&self, headers: &HeaderMap) -> bool {
        if !self.requires_token() {
            return true;
        }
        let bearer = headers
            .get_all(AUTHORIZATION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let cookie = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == TOKEN_COOKIE)
            .map(|(_, token)| token);
        // Check every candidate rather than stopping at the first match, so timing does not
        // tell which one was right.
        bearer.chain(cookie).fold(false, |admitted, candidate| {
            self.accepts(candidate) | admitted
        })
    }
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.token {
            Some(_) => f.write_str("AdminAuth::Bearer(<redacted>)"),
            None => f.write_str("AdminAuth::None"),
        }
    }
}

/// An admin token [`AdminAuth::bearer`] refused.
///
/// ```
/// use fusebox_axum::admin::AdminAuth;
///
/// let error = AdminAuth::bearer("two words").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "invalid admin token: it may only have visible ASCII characters other than \" , ; \\",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidToken {
    empty: bool,
}

impl InvalidToken {
    /// Whether the token was empty (rather than having a character it may not have).
    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.empty {
            f.write_str("invalid admin token: it is empty")
        } else {
            f.write_str(
                "invalid admin token: it may only have visible ASCII characters other than \" , ; \\",
            )
        }
    }
}

impl std::error::Error for InvalidToken {}

/// The answer to a request without the token.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, "Bearer"), (CACHE_CONTROL, "no-store")],
        Json(ErrorBody {
            error: "unauthorized",
            message: "send Authorization: Bearer <admin token>".to_owned(),
        }),
    )
        .into_response()
}

/// Middleware of the API routes: the token in the header or the cookie, or 401.
pub(super) async fn require_token(
    State(auth): State<AdminAuth>,
    request: Request,
    next: Next,
) -> Response {
    if auth.admits(request.headers()) {
        next.run(request).await
    } else {
        unauthorized()
    }
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

/// Middleware of the dashboard page. A browser cannot send a header when it loads a page, so
/// the page also accepts `?token=`: a right token is exchanged for an HttpOnly, SameSite=Strict
/// cookie scoped to the admin router's path, and the browser is sent back to the page without
/// the token in its address (or history, or Referer).
pub(super) async fn dashboard_login(
    State(auth): State<AdminAuth>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<TokenQuery>,
    request: Request,
    next: Next,
) -> Response {
    match query.token {
        Some(token) if auth.requires_token() => {
            if auth.accepts(&token) {
                login(uri.path(), &token)
            } else {
                unauthorized()
            }
        }
        _ if auth.admits(request.headers()) => next.run(request).await,
        _ => unauthorized(),
    }
}

/// `303 See Other` back to the page at `path`, setting the token cookie.
fn login(path: &str, token: &str) -> Response {
    // Scope the cookie to the router's own path, e.g. `/admin` for `/admin/`. A path with a
    // character that would end the attribute gets the browser's default scope instead.
    let scope = match path.trim_end_matches('/') {
        "" => "/",
        scope => scope,
    };
    let mut cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict");
    if !scope.contains([';', ',']) {
        cookie.push_str("; Path=");
        cookie.push_str(scope);
    }
    // A relative reference starting with `./` can never name another host or scheme.
    let location = match path.rsplit_once('/') {
        Some((_, "")) | None => "./".to_owned(),
        Some((_, last)) => format!("./{last}"),
    };
    match (
        HeaderValue::from_str(&cookie),
        HeaderValue::from_str(&location),
    ) {
        (Ok(cookie), Ok(location)) => (
            StatusCode::SEE_OTHER,
            [
                (SET_COOKIE, cookie),
                (LOCATION, location),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        // Unreachable for a path from a parsed URI and a token `bearer` accepted; refuse
        // rather than guess.
        _ => unauthorized(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn tokens_that_cannot_travel_are_refused() {
        assert_eq!(
            AdminAuth::bearer("").unwrap_err(),
            InvalidToken { empty: true }
        );
        for token in [
            "two words",
            "semi;colon",
            "quo\"te",
            "com,ma",
            "back\\slash",
            "tab\t",
            "é",
        ] {
            assert_eq!(
                AdminAuth::bearer(token).unwrap_err(),
                InvalidToken { empty: false },
                "{token:?}"
            );
        }
        assert!(AdminAuth::bearer("aZ09-._~+/=!#$%&'()*:<>?@[]^`{|}").is_ok());
    }

    #[test]
    fn token_is_accepted_from_bearer_header_or_cookie_only() {
        let auth = AdminAuth::bearer("s3cret").unwrap();
        assert!(auth.admits(&headers(&[("authorization", "Bearer s3cret")])));
        assert!(auth.admits(&headers(&[("authorization", "bearer s3cret")])));
        assert!(auth.admits(&headers(&[("cookie", "theme=dark; fusebox_admin=s3cret")])));
        assert!(auth.admits(&headers(&[
            ("authorization", "Bearer wrong"),
            ("cookie", "fusebox_admin=s3cret"),
        ])));

        assert!(!auth.admits(&headers(&[])));
        assert!(!auth.admits(&headers(&[("authorization", "Bearer s3cre")])));
        assert!(!auth.admits(&headers(&[("authorization", "Bearer s3cret2")])));
        assert!(!auth.admits(&headers(&[("authorization", "Basic s3cret")])));
        assert!(!auth.admits(&headers(&[("authorization", "s3cret")])));
        assert!(!auth.admits(&headers(&[("cookie", "other=s3cret")])));
        assert!(!auth.admits(&headers(&[("cookie", "fusebox_admin=")])));
    }

    #[test]
    fn no_auth_admits_everything() {
        let auth = AdminAuth::none_i_understand_the_risk();
        assert!(auth.admits(&headers(&[])));
        assert_eq!(format!("{auth:?}"), "AdminAuth::None");
    }

    #[test]
    fn login_scopes_the_cookie_and_redirects_relatively() {
        let cases = [
            ("/", "/", "./"),
            ("/admin", "/admin", "./admin"),
            ("/admin/", "/admin", "./"),
            ("/ops/fusebox", "/ops/fusebox", "./fusebox"),
        ];
        for (path, scope, location) in cases {
            let response = login(path, "s3cret");
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(
                response.headers()[SET_COOKIE],
                format!("fusebox_admin=s3cret; HttpOnly; SameSite=Strict; Path={scope}"),
                "{path}"
            );
            assert_eq!(response.headers()[LOCATION], location, "{path}");
        }
        let response = login("/a;b/admin", "s3cret");
        assert_eq!(
            response.headers()[SET_COOKIE],
            "fusebox_admin=s3cret; HttpOnly; SameSite=Strict"
        );
    }
}
