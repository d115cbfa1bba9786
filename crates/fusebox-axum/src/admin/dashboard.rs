//! The dashboard: an HTML page and the script and style sheet it loads from `assets/`, so
//! its Content-Security-Policy allows no inline script, handler or style. Everything is
//! compiled in: no build step, no files to deploy. What is not here: the API the page
//! calls (the parent module) and who may load it ([`auth`](super::auth)).

use axum::Router;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_FRAME_OPTIONS};

/// The page, with [`ROOT`] where its own assets are referenced.
const PAGE: &str = include_str!("dashboard.html");
const SCRIPT: &str = include_str!("dashboard.js");
const STYLE: &str = include_str!("dashboard.css");

/// Replaced, in [`PAGE`], by a relative reference to the router's root (`./admin/` for the
/// page at `/admin`), so the assets load under any prefix.
pub(super) const ROOT: &str = "{{root}}";

/// What the page may do: run the script and style sheet from its own origin, call its own
/// origin, and nothing else (no inline script, handler or style; no plugin, frame, form or
/// `<base>`); no other site may frame it, so its buttons cannot be clickjacked.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The asset routes, relative to the router's root.
pub(super) fn assets() -> Router {
    Router::new()
        .route(
            "/assets/dashboard.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/assets/dashboard.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
}

pub(super) async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /`: the page, its asset references resolved against the address it was loaded from.
pub(super) async fn page(OriginalUri(uri): OriginalUri) -> Response {
    html(StatusCode::OK, PAGE.replace(ROOT, &asset_root(uri.path())))
}

/// An HTML answer of the router, under [`CSP`] and never framed.
pub(super) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CONTENT_SECURITY_POLICY, CSP),
            (X_FRAME_OPTIONS, "DENY"),
            (REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// What replaces [`ROOT`] in a page served at `path`: a relative reference to the router's
/// root, escaped for an attribute.
pub(super) fn asset_root(path: &str) -> String {
    escape_html(&root_reference(path))
}

/// A relative reference from the page at `path` to itself: `./admin` for `/admin`, `./`
/// for `/admin/` or `/`. Starting with `./`, it can never name another host or scheme.
pub(super) fn page_reference(path: &str) -> String {
    match last_segment(path) {
        Some(last) => format!("./{last}"),
        None => "./".to_owned(),
    }
}

/// A relative reference from the page at `path` to the router's root: `./admin/` for
/// `/admin`, `./` for `/admin/` or `/`.
fn root_reference(path: &str) -> String {
    match last_segment(path) {
        Some(last) => format!("./{last}/"),
        None => "./".to_owned(),
    }
}

/// The last segment of a path that does not end with `/`.
fn last_segment(path: &str) -> Option<&str> {
    match path.rsplit_once('/') {
        Some((_, "")) | None => None,
        Some((_, last)) => Some(last),
    }
}

/// `text` safe as HTML text or inside a double-quoted attribute: a parsed path may hold
/// `"`, `&` and `<`.
pub(super) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for char in text.chars() {
        match char {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_from_the_page_stay_relative_under_any_prefix() {
        let cases = [
            ("/", "./", "./"),
            ("/admin", "./admin", "./admin/"),
            ("/admin/", "./", "./"),
            ("/ops/fusebox", "./fusebox", "./fusebox/"),
        ];
        for (path, page, root) in cases {
            assert_eq!(page_reference(path), page, "{path}");
            assert_eq!(root_reference(path), root, "{path}");
        }
    }

    #[test]
    fn the_page_references_its_assets_and_nothing_inline() {
        assert_eq!(PAGE.matches(ROOT).count(), 2);
        assert!(PAGE.contains(r#"<link rel="stylesheet" href="{{root}}assets/dashboard.css">"#));
        assert!(PAGE.contains(r#"<script src="{{root}}assets/dashboard.js" defer></script>"#));
        // One script element, with a source; no inline style, and no handler attribute.
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert!(!PAGE.contains("<style"));
        assert!(!PAGE.contains(" style="));
        let handler = PAGE.match_indices(" on").any(|(at, _)| {
            let rest = &PAGE[at + 3..];
            let name = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            name > 0 && rest[name..].starts_with('=')
        });
        assert!(!handler, "an inline handler attribute");
        assert!(!CSP.contains("unsafe"));
    }

    #[test]
    fn a_quote_in_the_path_cannot_leave_the_attribute() {
        assert_eq!(escape_html("./a\"b&c<d>/"), "./a&quot;b&amp;c&lt;d&gt;/");
        assert_eq!(escape_html("./admin/"), "./admin/");
        assert_eq!(asset_root("/a\"b"), "./a&quot;b/");
    }
}
