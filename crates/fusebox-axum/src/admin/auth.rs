//! Who may use the admin router: [`AdminAuth`], the middleware that checks every request
//! (credentials, then the origin of state-changing ones) and the dashboard's one-time
//! exchange of the token for a session cookie.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{OriginalUri, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use fusebox_core::Clock;
use headers::authorization::Bearer;
use headers::{Authorization, HeaderMapExt};
use http::header::{COOKIE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

use super::dashboard::page_reference;
use super::error;
use super::origin::{self, CrossOrigin, Scheme};
use super::session::Secret;

/// The cookie the dashboard keeps its session in, after `GET /?token=...`.
pub const SESSION_COOKIE: &str = "fusebox_admin";

/// Who may use the [admin router](super::router): holders of a bearer token (and the
/// browsers it signed in), or, only when the application says so explicitly, anyone who
/// can reach it.
///
/// The token is compared in constant time, never stored in a cookie and never shown by
/// `Debug`.
///
/// ```
/// use std::time::Duration;
/// use fusebox_axum::admin::{AdminAuth, Scheme};
///
/// let auth = AdminAuth::bearer("correct-horse-battery-staple")?
///     .session_lifetime(Duration::from_secs(3600))
///     .scheme(Scheme::Https);
/// assert!(auth.requires_token());
/// assert_eq!(auth.session_max_age(), Duration::from_secs(3600));
/// assert_eq!(auth.browser_scheme(), Scheme::Https);
/// assert!(format!("{auth:?}").contains("token: <redacted>"));
/// assert!(!format!("{auth:?}").contains("correct-horse"));
/// assert!(AdminAuth::bearer("short").is_err());
/// # Ok::<(), fusebox_axum::admin::InvalidToken>(())
/// ```
#[derive(Clone)]
pub struct AdminAuth {
    secret: Option<Arc<Secret>>,
    session_lifetime: Duration,
    scheme: Scheme,
    /// `None`: the system's wall clock.
    clock: Option<Arc<dyn Clock>>,
}

impl AdminAuth {
    /// The fewest bytes a token may have: 16 random bytes cannot be guessed, fewer may be.
    pub const MIN_TOKEN_LEN: usize = 16;

    /// How long a dashboard session lasts unless [`session_lifetime`](Self::session_lifetime)
    /// says otherwise: a working day.
    pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

    /// Browsers keep no cookie longer than 400 days.
    const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(400 * 24 * 3600);

    /// Every route requires `token`: as `Authorization: Bearer <token>`, or the
    /// [`SESSION_COOKIE`] the dashboard's `?token=` exchange sets.
    ///
    /// # Errors
    /// [`InvalidToken`] if `token` has a character other than visible ASCII (`!` to `~`)
    /// or one of `"`, `,`, `;`, `\` (such a token could not travel in a header or an
    /// address), or has fewer than [`MIN_TOKEN_LEN`](Self::MIN_TOKEN_LEN) bytes.
    /// `openssl rand -hex 16` makes a good one.
    pub fn bearer(token: impl Into<String>) -> Result<AdminAuth, InvalidToken> {
        let token = token.into();
        let travels = |byte: &u8| matches!(byte, b'!'..=b'~') && !b"\",;\\".contains(byte);
        let reason = if token.is_empty() {
            Some(Reason::Empty)
        } else if !token.as_bytes().iter().all(travels) {
            Some(Reason::Character)
        } else if token.len() < Self::MIN_TOKEN_LEN {
            Some(Reason::TooShort(token.len()))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(InvalidToken { reason });
        }
        Ok(AdminAuth {
            secret: Some(Arc::new(Secret::new(&token))),
            ..AdminAuth::none_i_understand_the_risk()
        })
    }

    /// No token: anyone who can reach the router can read every circuit and force them open.
    /// Only for routers reachable from trusted networks alone (or guarded by your own
    /// middleware); the router logs a warning when it is built this way. Commands a browser
    /// marks as sent by another origin are still refused, so a web page an operator visits
    /// cannot press the buttons.
    ///
    /// ```
    /// use fusebox_axum::admin::AdminAuth;
    ///
    /// let auth = AdminAuth::none_i_understand_the_risk();
    /// assert!(!auth.requires_token());
    /// ```
    pub const fn none_i_understand_the_risk() -> AdminAuth {
        AdminAuth {
            secret: None,
            session_lifetime: Self::DEFAULT_SESSION_LIFETIME,
            scheme: Scheme::Detect,
            clock: None,
        }
    }

    /// How long the dashboard's session lasts after `?token=` (default
    /// [`DEFAULT_SESSION_LIFETIME`](Self::DEFAULT_SESSION_LIFETIME)): the cookie's
    /// `Max-Age`, also checked by the router. Whole seconds, at least one, at most the
    /// 400 days browsers keep a cookie.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        let secs = lifetime
            .as_secs()
            .saturating_add(u64::from(lifetime.subsec_nanos() > 0));
        self.session_lifetime =
            Duration::from_secs(secs).clamp(Duration::from_secs(1), Self::MAX_SESSION_LIFETIME);
        self
    }

    /// How browsers reach the router (default [`Scheme::Detect`]): whether the cookie is
    /// `Secure` and which origin commands must come from.
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The time source of session expiry (default: the system's wall clock); tests pass a
    /// `fusebox_core::ManualClock`.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Whether requests must carry the token.
    pub fn requires_token(&self) -> bool {
        self.secret.is_some()
    }

    /// How long a dashboard session lasts, as set by
    /// [`session_lifetime`](Self::session_lifetime) (rounded to whole seconds and clamped):
    /// the session cookie's `Max-Age`.
    pub fn session_max_age(&self) -> Duration {
        self.session_lifetime
    }

    /// How browsers reach the router, as set by [`scheme`](Self::scheme).
    pub fn browser_scheme(&self) -> Scheme {
        self.scheme
    }

    /// Unix seconds now.
    fn now(&self) -> u64 {
        let wall = self
            .clock
            .as_ref()
            .map_or_else(SystemTime::now, |clock| clock.wall());
        wall.duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    }

    /// How the request proves it may use the router, if it does.
    fn credential(&self, headers: &HeaderMap) -> Option<Credential> {
        let Some(secret) = &self.secret else {
            return Some(Credential::Open);
        };
        if headers
            .typed_get::<Authorization<Bearer>>()
            .is_some_and(|bearer| secret.is_token(bearer.token()))
        {
            return Some(Credential::Bearer);
        }
        let now = self.now();
        // Every session cookie is checked, not only the first: a sibling subdomain can add
        // a cookie of the same name, and must not lock the operator out with it.
        let session = session_cookies(headers).fold(false, |admitted, cookie| {
            secret.admits(cookie.value(), now, self.session_lifetime) | admitted
        });
        session.then_some(Credential::Session)
    }

    /// The `Set-Cookie` value of a new session for the page at `path`.
    fn session_cookie(&self, secret: &Secret, path: &str, secure: bool) -> String {
        let lifetime = self.session_lifetime.as_secs();
        let value = secret.issue(self.now().saturating_add(lifetime));
        let mut cookie = Cookie::build((SESSION_COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(cookie::time::Duration::seconds(
                i64::try_from(lifetime).unwrap_or(i64::MAX),
            ));
        // Scope the cookie to the router's own path, e.g. `/admin` for `/admin/`. A path with a
        // character that would end the attribute gets the browser's default scope instead.
        let scope = match path.trim_end_matches('/') {
            "" => "/",
            scope => scope,
        };
        if !scope.contains([';', ',']) {
            cookie = cookie.path(scope.to_owned());
        }
        cookie.to_string()
    }
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Redacted(bool);
        impl fmt::Debug for Redacted {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(if self.0 { "<redacted>" } else { "None" })
            }
        }
        f.debug_struct("AdminAuth")
            .field("token", &Redacted(self.requires_token()))
            .field("session_lifetime", &self.session_lifetime)
            .field("scheme", &self.scheme)
            .finish()
    }
}

/// The [`SESSION_COOKIE`]s a request carries, valid or not.
pub(super) fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == SESSION_COOKIE)
}

/// How a request proved it may use the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    /// `Authorization: Bearer <token>`: an API client, which a web page cannot imitate.
    Bearer,
    /// The session cookie, which the browser attaches to requests other origins send too.
    Session,
    /// Nothing: [`AdminAuth::none_i_understand_the_risk`].
    Open,
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
/// let error = AdminAuth::bearer("s3cret").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "invalid admin token: it has 6 bytes, fewer than the 16 required; \
///      use a random one, e.g. from `openssl rand -hex 16`",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidToken {
    reason: Reason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Empty,
    Character,
    TooShort(usize),
}

impl InvalidToken {
    /// Whether the token was empty (rather than too short or having a character it may not
    /// have).
    pub fn is_empty(&self) -> bool {
        self.reason == Reason::Empty
    }
}

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            Reason::Empty => f.write_str(
                "invalid admin token: it is empty; use a random one, e.g. from `openssl rand -hex 16`",
            ),
            Reason::Character => f.write_str(
                "invalid admin token: it may only have visible ASCII characters other than \" , ; \\",
            ),
            Reason::TooShort(len) => write!(
                f,
                "invalid admin token: it has {len} bytes, fewer than the {} required; \
                 use a random one, e.g. from `openssl rand -hex 16`",
                AdminAuth::MIN_TOKEN_LEN
            ),
        }
    }
}

impl std::error::Error for InvalidToken {}

/// The answer to a request without the token.
fn unauthorized() -> Response {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "send Authorization: Bearer <admin token>".to_owned(),
    );
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The answer to a command a browser may have been tricked into sending.
fn cross_origin(reason: &CrossOrigin) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "cross_origin",
        format!(
            "refused: a command must come from the dashboard's own origin, and {reason}; \
             API clients send Authorization: Bearer <admin token> instead"
        ),
    )
}

/// Middleware of every route: the token or a session, or 401; and a state-changing request
/// that a browser could have sent for another origin's page, 403.
pub(super) async fn guard(State(auth): State<AdminAuth>, request: Request, next: Next) -> Response {
    let Some(credential) = auth.credential(request.headers()) else {
        return unauthorized();
    };
    if !request.method().is_safe() {
        let verdict = origin::check(auth.scheme, request.uri(), request.headers());
        let refused = match (credential, verdict) {
            (Credential::Bearer, _) | (_, Ok(())) => None,
            (Credential::Session, Err(reason)) => Some(reason),
            // Without a token, only what a browser marks: curl and scripts send no Origin.
            (Credential::Open, Err(reason)) => reason.marked_by_browser().then_some(reason),
        };
        if let Some(reason) = refused {
            return cross_origin(&reason);
        }
    }
    next.run(request).await
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

/// Middleware of the dashboard page. A browser cannot send a header when it loads a page, so
/// the page also accepts `?token=`: a right token is exchanged for a session cookie, and the
/// browser is sent back to the page without the token in its address (or history, or
/// Referer). Anything else goes on to [`guard`].
pub(super) async fn login(
    State(auth): State<AdminAuth>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<TokenQuery>,
    request: Request,
    next: Next,
) -> Response {
    let (Some(token), Some(secret)) = (query.token, &auth.secret) else {
        return next.run(request).await;
    };
    if !secret.is_token(&token) {
        return unauthorized();
    }
    let secure = auth.scheme.of(request.uri(), request.headers()) == "https";
    let cookie = auth.session_cookie(secret, uri.path(), secure);
    match (
        HeaderValue::from_str(&cookie),
        HeaderValue::from_str(&page_reference(uri.path())),
    ) {
        (Ok(cookie), Ok(location)) => (
            StatusCode::SEE_OTHER,
            [(SET_COOKIE, cookie), (LOCATION, location)],
        )
            .into_response(),
        // Unreachable for a path from a parsed URI; refuse rather than guess.
        _ => unauthorized(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::test_headers as headers;
    use fusebox_core::ManualClock;

    const TOKEN: &str = "s3cret-Token_42-long";

    #[test]
    fn tokens_that_cannot_travel_or_are_short_are_refused() {
        let refused = |token: &str| AdminAuth::bearer(token).unwrap_err().reason;
        assert_eq!(refused(""), Reason::Empty);
        assert!(AdminAuth::bearer("").unwrap_err().is_empty());
        for token in [
            "two words, long enough",
            "semi;colon-long-enough",
            "quo\"te-long-enough-ok",
            "com,ma-long-enough-ok",
            "back\\slash-long-enough",
            "tab\t-long-enough-okay",
            "é-long-enough-okay-ok",
        ] {
            assert_eq!(refused(token), Reason::Character, "{token:?}");
        }
        assert_eq!(refused("x"), Reason::TooShort(1));
        assert_eq!(refused("fifteen-bytes-x"), Reason::TooShort(15));
        assert!(!AdminAuth::bearer("x").unwrap_err().is_empty());
        assert!(AdminAuth::bearer("sixteen-bytes-xy").is_ok());
        assert!(AdminAuth::bearer("aZ09-._~+/=!#$%&'()*:<>?@[]^`{|}").is_ok());
    }

    #[test]
    fn bearer_header_or_a_session_cookie_is_a_credential() {
        let clock = ManualClock::new();
        let auth = AdminAuth::bearer(TOKEN).unwrap().clock(clock.clone());
        let secret = auth.secret.clone().unwrap();
        let session = secret.issue(auth.now() + 60);
        let cookie = format!("theme=dark; fusebox_admin={session}");
        let credential = |pairs: &[(&'static str, &str)]| auth.credential(&headers(pairs));

        let bearer = format!("Bearer {TOKEN}");
        let lower = format!("bearer {TOKEN}");
        assert_eq!(
            credential(&[("authorization", &bearer)]),
            Some(Credential::Bearer)
        );
        assert_eq!(
            credential(&[("authorization", &lower)]),
            Some(Credential::Bearer)
        );
        assert_eq!(
            credential(&[("cookie", &cookie)]),
            Some(Credential::Session)
        );
        assert_eq!(
            credential(&[("authorization", "Bearer wrong"), ("cookie", &cookie)]),
            Some(Credential::Session)
        );
        // A cookie of the same name from a sibling subdomain does not hide the real one.
        let tossed = format!("fusebox_admin=1.abc; fusebox_admin={session}");
        assert_eq!(
            credential(&[("cookie", &tossed)]),
            Some(Credential::Session)
        );

        let basic = format!("Basic {TOKEN}");
        let token_cookie = format!("fusebox_admin={TOKEN}");
        let other_name = format!("other={session}");
        for refused in [
            vec![],
            vec![("authorization", "Bearer s3cret-Token_42-lon")],
            vec![("authorization", basic.as_str())],
            vec![("authorization", TOKEN)],
            vec![("cookie", token_cookie.as_str())],
            vec![("cookie", other_name.as_str())],
            vec![("cookie", "fusebox_admin=")],
        ] {
            assert_eq!(credential(&refused), None, "{refused:?}");
        }

        clock.advance(Duration::from_secs(60));
        assert_eq!(credential(&[("cookie", &cookie)]), None, "expired");
        assert_eq!(
            credential(&[("authorization", &bearer)]),
            Some(Credential::Bearer)
        );
    }

    #[test]
    fn no_auth_admits_everything_as_open() {
        let auth = AdminAuth::none_i_understand_the_risk();
        assert_eq!(auth.credential(&headers(&[])), Some(Credential::Open));
        assert_eq!(
            (
                auth.requires_token(),
                auth.session_max_age(),
                auth.browser_scheme()
            ),
            (false, Duration::from_secs(28_800), Scheme::Detect)
        );
    }

    #[test]
    fn session_lifetime_is_whole_seconds_between_one_and_400_days() {
        let lifetime = |duration| {
            AdminAuth::none_i_understand_the_risk()
                .session_lifetime(duration)
                .session_lifetime
        };
        assert_eq!(lifetime(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            lifetime(Duration::from_millis(1500)),
            Duration::from_secs(2)
        );
        assert_eq!(lifetime(Duration::from_secs(90)), Duration::from_secs(90));
        assert_eq!(
            lifetime(Duration::MAX),
            Duration::from_secs(400 * 24 * 3600)
        );
    }

    #[test]
    fn the_session_cookie_is_scoped_to_the_router_and_expires() {
        let auth = AdminAuth::bearer(TOKEN)
            .unwrap()
            .clock(ManualClock::new())
            .session_lifetime(Duration::from_secs(600));
        let secret = auth.secret.clone().unwrap();
        let value = secret.issue(1_700_000_600);
        let cases = [
            ("/", "/"),
            ("/admin", "/admin"),
            ("/admin/", "/admin"),
            ("/ops/fusebox", "/ops/fusebox"),
        ];
        for (path, scope) in cases {
            assert_eq!(
                auth.session_cookie(&secret, path, false),
                format!(
                    "fusebox_admin={value}; HttpOnly; SameSite=Strict; Path={scope}; Max-Age=600"
                ),
                "{path}"
            );
        }
        assert_eq!(
            auth.session_cookie(&secret, "/admin", true),
            format!(
                "fusebox_admin={value}; HttpOnly; SameSite=Strict; Secure; Path=/admin; Max-Age=600"
            )
        );
        assert_eq!(
            auth.session_cookie(&secret, "/a;b/admin", false),
            format!("fusebox_admin={value}; HttpOnly; SameSite=Strict; Max-Age=600")
        );
    }
}
