//! Where a request comes from: the scheme browsers reach the router by ([`Scheme`]) and
//! whether a state-changing request comes from the router's own origin.
//!
//! `SameSite=Strict` keeps the cookie from other *sites*, but every origin of the same site
//! (another port or subdomain of the same host) still gets it sent; only the browser's own
//! `Sec-Fetch-Site` and `Origin` headers, which a page cannot set, tell them apart. What this
//! does not do: CORS (the router answers no preflight, so other origins cannot read its
//! answers or send it custom headers).

use std::fmt;

use headers::{HeaderMapExt, Host, Origin};
use http::header::ORIGIN;
use http::{HeaderMap, HeaderName, Uri};

/// How browsers reach the [admin router](super::router): it decides whether the session
/// cookie is `Secure` and which origin state-changing requests must come from.
///
/// ```
/// use fusebox_axum::admin::{AdminAuth, Scheme};
///
/// // Behind a TLS proxy that sends no `X-Forwarded-Proto`:
/// let auth = AdminAuth::bearer("correct-horse-battery-staple")?.scheme(Scheme::Https);
/// # Ok::<(), fusebox_axum::admin::InvalidToken>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// HTTPS when the request says so: its URI has the `https` scheme (HTTP/2 over TLS) or
    /// it has `X-Forwarded-Proto: https`, as TLS-terminating proxies send; HTTP otherwise.
    /// A client can send that header itself, but it can only mark its own cookie `Secure`:
    /// a page on another origin cannot make a browser send it without a CORS preflight the
    /// router never allows.
    #[default]
    Detect,
    /// Always plain HTTP: on a trusted network or on 127.0.0.1.
    Http,
    /// Always HTTPS: the cookie is `Secure`, and requests must come from an `https://`
    /// origin (or say `Sec-Fetch-Site: same-origin`).
    Https,
}

impl Scheme {
    /// The scheme of this request, `"http"` or `"https"`.
    pub(super) fn of(self, uri: &Uri, headers: &HeaderMap) -> &'static str {
        let https = match self {
            Scheme::Http => false,
            Scheme::Https => true,
            Scheme::Detect => {
                uri.scheme() == Some(&http::uri::Scheme::HTTPS)
                    || headers
                        .get(X_FORWARDED_PROTO)
                        .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
            }
        };
        if https { "https" } else { "http" }
    }
}

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Why a request was not shown to be same-origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CrossOrigin {
    /// Neither `Sec-Fetch-Site` nor `Origin`: not a browser's request (or a very old one).
    Unknown,
    /// `Sec-Fetch-Site` other than `same-origin`: the browser says another origin sent it.
    FetchSite(String),
    /// `Origin: null`: a sandboxed frame, a `data:` page, a redirect from another origin.
    NullOrigin,
    /// An `Origin` that is not this router's, or not an origin at all.
    OtherOrigin(String),
}

impl CrossOrigin {
    /// Whether a browser marked the request as coming from another origin (rather than
    /// the request carrying no mark at all).
    pub(super) fn marked_by_browser(&self) -> bool {
        !matches!(self, CrossOrigin::Unknown)
    }
}

impl fmt::Display for CrossOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrossOrigin::Unknown => f.write_str("it has neither Sec-Fetch-Site nor Origin"),
            CrossOrigin::FetchSite(site) => write!(f, "it has Sec-Fetch-Site: {site}"),
            CrossOrigin::NullOrigin => f.write_str("it has Origin: null"),
            CrossOrigin::OtherOrigin(origin) => {
                write!(f, "its Origin {origin} is not this router's")
            }
        }
    }
}

/// Whether the request comes from the router's own origin. The browser's `Sec-Fetch-Site`
/// decides when present (it also tells `http://host` from `https://host`, which `Origin`
/// against a misconfigured [`Scheme`] would not); otherwise `Origin` must equal
/// `scheme://host[:port]` of the request, default ports implied.
pub(super) fn check(scheme: Scheme, uri: &Uri, headers: &HeaderMap) -> Result<(), CrossOrigin> {
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        return if site == "same-origin" {
            Ok(())
        } else {
            Err(CrossOrigin::FetchSite(
                String::from_utf8_lossy(site.as_bytes()).into_owned(),
            ))
        };
    }
    let Some(raw) = headers.get(ORIGIN) else {
        return Err(CrossOrigin::Unknown);
    };
    let other = || CrossOrigin::OtherOrigin(String::from_utf8_lossy(raw.as_bytes()).into_owned());
    let origin = headers.typed_get::<Origin>().ok_or_else(other)?;
    if origin.is_null() {
        return Err(CrossOrigin::NullOrigin);
    }
    let host = headers
        .typed_get::<Host>()
        .or_else(|| uri.authority().cloned().map(Host::from))
        .ok_or_else(other)?;
    let scheme = scheme.of(uri, headers);
    let same = origin.scheme().eq_ignore_ascii_case(scheme)
        && origin.hostname().eq_ignore_ascii_case(host.hostname())
        && port_or_default(origin.port(), scheme) == port_or_default(host.port(), scheme);
    if same { Ok(()) } else { Err(other()) }
}

/// The port a URL with `scheme` means when it names none.
fn port_or_default(port: Option<u16>, scheme: &str) -> Option<u16> {
    port.or(match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::test_headers as headers;

    fn check_http(pairs: &[(&'static str, &str)]) -> Result<(), CrossOrigin> {
        check(Scheme::Http, &Uri::from_static("/x"), &headers(pairs))
    }

    #[test]
    fn origin_must_equal_scheme_host_and_port_of_the_request() {
        let host = ("host", "admin.example.test:8080");
        assert_eq!(
            check_http(&[host, ("origin", "http://admin.example.test:8080")]),
            Ok(())
        );
        assert_eq!(
            check_http(&[host, ("origin", "http://ADMIN.example.test:8080")]),
            Ok(())
        );
        for other in [
            "http://admin.example.test:8081",
            "http://admin.example.test",
            "https://admin.example.test:8080",
            "http://app.example.test:8080",
            "http://example.test:8080",
            "http://admin.example.test:8080/path",
            "not an origin",
        ] {
            assert_eq!(
                check_http(&[host, ("origin", other)]),
                Err(CrossOrigin::OtherOrigin(other.to_owned())),
                "{other}"
            );
        }
        assert_eq!(
            check_http(&[host, ("origin", "null")]),
            Err(CrossOrigin::NullOrigin)
        );
        assert_eq!(check_http(&[host]), Err(CrossOrigin::Unknown));
    }

    #[test]
    fn default_ports_are_implied_on_either_side() {
        assert_eq!(
            check_http(&[
                ("host", "example.test"),
                ("origin", "http://example.test:80")
            ]),
            Ok(())
        );
        assert_eq!(
            check_http(&[
                ("host", "example.test:80"),
                ("origin", "http://example.test")
            ]),
            Ok(())
        );
        let https = |pairs: &[(&'static str, &str)]| {
            check(Scheme::Https, &Uri::from_static("/x"), &headers(pairs))
        };
        assert_eq!(
            https(&[
                ("host", "example.test"),
                ("origin", "https://example.test:443")
            ]),
            Ok(())
        );
        assert_eq!(
            https(&[("host", "example.test"), ("origin", "http://example.test")]),
            Err(CrossOrigin::OtherOrigin("http://example.test".to_owned()))
        );
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(check_http(&[("sec-fetch-site", "same-origin")]), Ok(()));
        for site in ["same-site", "cross-site", "none"] {
            assert_eq!(
                check_http(&[
                    host,
                    ("sec-fetch-site", site),
                    ("origin", "http://127.0.0.1:8080")
                ]),
                Err(CrossOrigin::FetchSite(site.to_owned())),
                "{site}"
            );
        }
    }

    #[test]
    fn the_authority_of_an_http2_request_stands_in_for_host() {
        let uri = Uri::from_static("https://example.test:8443/circuits/a/reset");
        let origin = headers(&[("origin", "https://example.test:8443")]);
        assert_eq!(check(Scheme::Detect, &uri, &origin), Ok(()));
    }

    #[test]
    fn detect_trusts_the_uri_and_x_forwarded_proto() {
        let path = Uri::from_static("/x");
        assert_eq!(Scheme::Detect.of(&path, &HeaderMap::new()), "http");
        assert_eq!(
            Scheme::Detect.of(&path, &headers(&[("x-forwarded-proto", "HTTPS")])),
            "https"
        );
        assert_eq!(
            Scheme::Detect.of(&path, &headers(&[("x-forwarded-proto", "http")])),
            "http"
        );
        assert_eq!(
            Scheme::Detect.of(
                &Uri::from_static("https://example.test/x"),
                &HeaderMap::new()
            ),
            "https"
        );
        let forwarded = headers(&[("x-forwarded-proto", "https")]);
        assert_eq!(Scheme::Http.of(&path, &forwarded), "http");
        assert_eq!(Scheme::Https.of(&path, &HeaderMap::new()), "https");
    }
}
