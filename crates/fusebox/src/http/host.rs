//! [`ByHost`]: one circuit per host an outbound request goes to.

use std::borrow::Cow;

use crate::key::Key;

/// Keys outbound requests by the host they go to (`api.example.com`, `127.0.0.1:8080` with
/// the port when the URI has one), for `http::Request` (feature `http`) and `reqwest::Request`
/// (feature `reqwest`). A request without a host (a relative URI without `Host` header) is
/// keyed `unknown_host`.
///
/// ```
/// use fusebox::key::{ByHost, Key};
///
/// let request = http::Request::get("http://api.example.com:8443/v1/quotes").body(()).unwrap();
/// assert_eq!(ByHost.key(&request), "api.example.com:8443");
/// let inbound = http::Request::get("/v1/quotes").header("host", "shop.test").body(()).unwrap();
/// assert_eq!(ByHost.key(&inbound), "shop.test");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct ByHost;

/// The key of a request without a host.
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub const UNKNOWN_HOST: &str = "unknown_host";

impl<B> Key<http::Request<B>> for ByHost {
    fn key<'r>(&self, request: &'r http::Request<B>) -> Cow<'r, str> {
        if let Some(authority) = request.uri().authority() {
            // Credentials are never part of a circuit name.
            let text = authority.as_str();
            return Cow::Borrowed(text.rsplit_once('@').map_or(text, |(_, host)| host));
        }
        request
            .headers()
            .get(http::header::HOST)
            .and_then(|host| host.to_str().ok())
            .map_or(Cow::Borrowed(UNKNOWN_HOST), Cow::Borrowed)
    }
}

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
impl Key<reqwest::Request> for ByHost {
    fn key<'r>(&self, request: &'r reqwest::Request) -> Cow<'r, str> {
        let url = request.url();
        match (url.host_str(), url.port()) {
            (Some(host), None) => Cow::Borrowed(host),
            (Some(host), Some(port)) => Cow::Owned(format!("{host}:{port}")),
            (None, _) => Cow::Borrowed(UNKNOWN_HOST),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_host_strips_credentials_and_falls_back_to_unknown() {
        let request = http::Request::get("http://user:secret@db.internal:5984/x")
            .body(())
            .unwrap();
        assert_eq!(ByHost.key(&request), "db.internal:5984");
        let request = http::Request::get("/x").body(()).unwrap();
        assert_eq!(ByHost.key(&request), UNKNOWN_HOST);
    }
}
