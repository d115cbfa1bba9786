//! The operator surface: [`router`] serves a JSON API and a live HTML dashboard over a
//! [`Fusebox`] registry, behind [`AdminAuth`].
//!
//! | route | answers |
//! |---|---|
//! | `GET /` | the dashboard: every circuit as a card, refreshed every second, with its recent transitions, a failure-rate sparkline and the manual commands that fit its state (force open and disable ask to confirm); configured policies no circuit used yet are listed as "not used yet". A browser without a session gets a sign-in page (`401`) instead |
//! | `GET /assets/dashboard.js`, `GET /assets/dashboard.css` | the dashboard's script and style sheet |
//! | `GET /assets/sign-in.css` | the sign-in page's style sheet, the one route that needs no token |
//! | `GET /circuits` | every circuit, sorted by name, as a JSON array |
//! | `GET /circuits/{name}` | one circuit, or `404` |
//! | `POST /circuits/{name}/{command}?scope=local\|fleet` | `reset`, `force-open`, `disable` or `metrics-only`, for this process (`local`, the default) or every replica of the fleet (`fleet`): the circuit afterwards, with `"changed"`; `400` for another command or scope, `404` for an unknown circuit, `409` for a local command while a fleet-wide override stands, `503` when the fleet's store did not take a fleet-wide command |
//! | `GET /unused-policies` | the names with a policy of their own that no circuit has used yet ([`Fusebox::unused_policies`]), sorted, as a JSON array; the first answer that lists any also logs them once |
//!
//! Nest it with `Router::nest_service("/admin", router(..))`, and `/admin` and `/admin/`
//! both serve the dashboard. `Router::nest` works too, but serves `/admin` only: axum 0.8
//! never routes `/admin/` to a router nested at `/admin`.
//!
//! A circuit in JSON:
//!
//! ```json
//! {
//!   "name": "payments",
//!   "state": "open",
//!   "since": "2025-05-06T07:08:09.010Z",
//!   "time_in_state_secs": 12.5,
//!   "generation": 4,
//!   "reopens": 0,
//!   "retry_after_secs": 18,
//!   "probes_in_flight": 0,
//!   "metrics": {"total": 0, "failures": 0, "failure_rate": null, "avg_latency_ms": null, "consecutive_failures": 0, "slow": []},
//!   "calls": {"success": 120, "failure": 14, "ignored": 0, "rejected": 37},
//!   "policy": "window=count(100) trip=... retry=... permit=... max_concurrent_probes=... close_after=... max_wait=60s",
//!   "history": [
//!     {"at": "2025-05-06T07:08:09.010Z", "from": "closed", "to": "open", "cause": "tripped",
//!      "rule": "min_requests(20) & failure_rate(0.5)", "origin": null, "failure_rate": 0.5,
//!      "summary": "tripped: min_requests(20) & failure_rate(0.5), failure rate 50%"}
//!   ],
//!   "failure_rates": {"interval_secs": 15, "points": [null, "...", {"failure_rate": 0.5, "state": "open"}]},
//!   "override": {"command": "force_open", "scope": "fleet", "origin": "replica-b", "since": "2025-05-06T07:08:00.000Z"}
//! }
//! ```
//!
//! This is `fusebox-core`'s [snapshot JSON](fusebox_core#json-feature-serde), in the terms
//! webhook signals use too, plus the circuit's `policy`. `since` is RFC 3339 in UTC;
//! `retry_after_secs` is the `Retry-After` a rejected call gets now (whole seconds, rounded
//! up, at least 1), `null` outside `open` or when the retry policy never probes; `failure_rate` and `avg_latency_ms` are `null` on an empty window (and
//! `avg_latency_ms` when the policy does not measure latency). `metrics` is the current
//! window; `calls` counts since the circuit was created. `history` is
//! [`Fusebox::history`], newest first: `cause` is `tripped`, `probe`, `recovered`,
//! `reopened`, `probe_timeout`, `manual` or `fleet`, `rule` the trip rule's text for
//! `tripped` and `reopened`, `failure_rate` that of the window the transition found.
//! `failure_rates` is [`Fusebox::failure_rates`]: forty points, oldest first, the last one
//! now, each the highest rate sampled in its interval and the state at its last sample, or
//! `null` where nothing was sampled. `override` is the fleet-wide command standing on the
//! circuit (see `fusebox::fleet`), `null` when none does. Circuit names are one path segment:
//! percent-encode them (`GET%20%2Fusers%2F%7Bid%7D` for the route circuit `GET /users/{id}`).
//!
//! Errors are JSON too: `{"error": "not_found" | "unknown_command" | "unknown_scope" |
//! "unsupported_scope" | "overridden" | "fleet_unavailable" | "unauthorized" |
//! "cross_origin", "message": "..."}`.
//!
//! # Authentication
//!
//! With [`AdminAuth::bearer`], every route, the dashboard page and its assets included,
//! requires the token (at least [16 bytes](AdminAuth::MIN_TOKEN_LEN)); without it the answer
//! is `401` with `WWW-Authenticate: Bearer`. API clients send `Authorization: Bearer <token>`.
//! A browser cannot send that header when it opens a page, so the dashboard also takes the
//! token once in its address: `GET /admin?token=<token>` (the token percent-encoded) answers
//! `303 See Other` back to the page with a session cookie ([`SESSION_COOKIE`]), and from then
//! on the page and its API calls authenticate with the cookie. A browser that opens the page
//! without a session (or with a wrong token, or after its session ended) gets a sign-in page
//! that says so and how to sign in, with status `401` and the same Content-Security-Policy;
//! clients that do not ask for `text/html` get the JSON `401`.
//!
//!
//! ```text
//! Set-Cookie: fusebox_admin=<expiry>.<HMAC-SHA256 of it keyed by the token>; HttpOnly;
//!             SameSite=Strict; Secure; Path=/admin; Max-Age=28800
//! ```
//!
//! - The cookie holds a session, never the token: its expiry (Unix seconds) and a tag only
//!   the token's holder can make. Every replica sharing the token accepts it, nothing is
//!   stored, and changing the token ends every session. The router checks the expiry too.
//! - `Max-Age` is [`AdminAuth::session_lifetime`] (8 hours by default).
//! - `Secure` when the router is reached over HTTPS: see [`Scheme`] for how that is known
//!   (by default from the request, `X-Forwarded-Proto` included) and how to say it.
//! - HttpOnly (scripts cannot read it), SameSite=Strict (other *sites* cannot make the
//!   browser send it), scoped to the router's path.
//!
//! SameSite does not stop another *origin* of the same site (another port of the same host,
//! another subdomain of the same domain) from making the browser send the cookie, so a state-changing request
//! (any method but `GET`, `HEAD`, `OPTIONS`, `TRACE`) authenticated by the cookie must also
//! be same-origin: `Sec-Fetch-Site: same-origin` when the browser sends that header, or else
//! an `Origin` equal to the request's own `scheme://host:port`. Anything else (`Origin:
//! null`, another port, another subdomain, neither header) is `403` with
//! `{"error": "cross_origin", "message": "..."}` saying why, and nothing changes. Requests
//! with the bearer token are not checked: a page cannot attach that header to another
//! origin's request.
//!
//! Tokens and sessions are compared in constant time. Every response carries
//! `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`; the page's
//! Content-Security-Policy allows scripts and style sheets from its own origin only (no
//! inline script, handler or style) and no framing.
//!
//! Serve the router over TLS (or only on a trusted network): the token and the session
//! travel in every request.
//!
//! [`AdminAuth::none_i_understand_the_risk`] opts out of tokens and sessions; commands a
//! browser marks as sent by another origin are still refused.
//!
//! What the router does not do: create circuits (a name nobody used yet is `404`), change
//! policies, end one session early, or rate-limit token guesses (put tower middleware in
//! front for that).

mod auth;
mod dashboard;
mod origin;
mod session;
mod sign_in;
mod view;

use axum::extract::{Path, Query, State};
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fusebox::fleet::CommandError;
use fusebox::{Fusebox, Scope};
use http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

pub use self::auth::{AdminAuth, InvalidToken, SESSION_COOKIE};
pub use self::origin::Scheme;
use self::view::CircuitView;

/// The admin router over `fusebox`: the JSON API and the dashboard described in the
/// [module docs](self), every route behind `auth`. Nest it under a prefix of your choice,
/// with `nest_service` so that the page answers with and without a trailing slash.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use fusebox::Fusebox;
/// use fusebox_axum::admin::{self, AdminAuth};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder().build()?;
/// let token = std::env::var("ADMIN_TOKEN")?;
/// let app = Router::new()
///     .route("/", get(|| async { "shop" }))
///     .nest_service("/admin", admin::router(fusebox.clone(), AdminAuth::bearer(token)?));
///
/// // Operators open http://127.0.0.1:3000/admin/?token=<token> once; the API answers
/// // `curl -H "Authorization: Bearer $ADMIN_TOKEN" http://127.0.0.1:3000/admin/circuits`.
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
pub fn router(fusebox: Fusebox, auth: AdminAuth) -> Router {
    if !auth.requires_token() {
        tracing::warn!(
            target: "fusebox",
            "the fusebox admin router requires no token: anyone who can reach it can force circuits open"
        );
    }
    let guard = from_fn_with_state(auth.clone(), auth::guard);
    let api = Router::new()
        .route("/circuits", get(list))
        .route("/circuits/{name}", get(one))
        .route("/circuits/{name}/{command}", post(command))
        .route("/unused-policies", get(unused_policies))
        .with_state(fusebox)
        .merge(dashboard::assets())
        .route_layer(guard.clone());
    // The login runs first: a `?token=` request has no credential yet. Outside it, a
    // browser's refusal becomes the sign-in page.
    let page = Router::new()
        .route("/", get(dashboard::page))
        .route_layer(guard)
        .route_layer(from_fn_with_state(auth, auth::login))
        .route_layer(from_fn(sign_in::offer));
    api.merge(page)
        .merge(sign_in::assets())
        .layer(map_response(harden))
}

/// Headers of every answer, errors and axum's own rejections included: nothing is
/// sniffed into another type (a JSON array read as a script, say) or cached.
async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The body of every error answer.
#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

fn json(status: StatusCode, body: impl Serialize) -> Response {
    (status, Json(body)).into_response()
}

/// An error answer: `{"error": code, "message": message}`.
fn error(status: StatusCode, code: &'static str, message: String) -> Response {
    json(
        status,
        ErrorBody {
            error: code,
            message,
        },
    )
}

fn error_of(status: StatusCode, code: &'static str, cause: &dyn std::error::Error) -> Response {
    error(status, code, cause.to_string())
}

fn not_found(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no circuit named {name:?}"),
    )
}

async fn list(State(fusebox): State<Fusebox>) -> Response {
    let snapshots = fusebox.snapshot();
    let views: Vec<CircuitView<'_>> = snapshots
        .iter()
        .filter_map(|snapshot| {
            let circuit = fusebox.get(&snapshot.name)?;
            Some(
                CircuitView::new(&fusebox, snapshot, circuit.policy())
                    .with_override(fusebox.fleet_override(&snapshot.name)),
            )
        })
        .collect();
    json(StatusCode::OK, views)
}

async fn one(State(fusebox): State<Fusebox>, Path(name): Path<String>) -> Response {
    match fusebox.get(&name) {
        Some(circuit) => json(
            StatusCode::OK,
            CircuitView::new(&fusebox, &circuit.snapshot(), circuit.policy())
                .with_override(fusebox.fleet_override(&name)),
        ),
        None => not_found(&name),
    }
}

async fn unused_policies(State(fusebox): State<Fusebox>) -> Response {
    json(StatusCode::OK, fusebox.unused_policies())
}

#[derive(Serialize)]
struct CommandResult<'a> {
    #[serde(flatten)]
    circuit: CircuitView<'a>,
    changed: bool,
}

/// The query of a command: `?scope=local|fleet`.
#[derive(Deserialize)]
struct CommandQuery {
    scope: Option<String>,
}

async fn command(
    State(fusebox): State<Fusebox>,
    Path((name, command)): Path<(String, String)>,
    Query(query): Query<CommandQuery>,
) -> Response {
    use fusebox::State as To;
    let to = match command.as_str() {
        "reset" => To::Closed,
        "force-open" => To::ForcedOpen,
        "disable" => To::Disabled,
        "metrics-only" => To::MetricsOnly,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "unknown_command",
                format!(
                    "no command named {command:?}; commands are reset, force-open, disable and metrics-only"
                ),
            );
        }
    };
    let scope = match query.scope.as_deref().map(str::parse::<Scope>) {
        None => Scope::Local,
        Some(Ok(scope)) => scope,
        Some(Err(error)) => {
            return error_of(StatusCode::BAD_REQUEST, "unknown_scope", &error);
        }
    };
    let Some(circuit) = fusebox.get(&name) else {
        return not_found(&name);
    };
    let changed = match fusebox.command(&name, to, scope).await {
        Ok(changed) => changed,
        Err(CommandError::Unknown(_)) => return not_found(&name),
        Err(refused @ CommandError::Overridden { .. }) => {
            return error_of(StatusCode::CONFLICT, "overridden", &refused);
        }
        Err(refused @ CommandError::Unsupported { .. }) => {
            return error_of(StatusCode::BAD_REQUEST, "unsupported_scope", &refused);
        }
        Err(failed) => {
            return error_of(
                StatusCode::SERVICE_UNAVAILABLE,
                "fleet_unavailable",
                &failed,
            );
        }
    };
    let snapshot = circuit.snapshot();
    tracing::info!(
        target: "fusebox",
        circuit = %name,
        command = %command,
        scope = scope.as_str(),
        changed,
        state = snapshot.state.as_str(),
        "admin command"
    );
    json(
        StatusCode::OK,
        CommandResult {
            circuit: CircuitView::new(&fusebox, &snapshot, circuit.policy())
                .with_override(fusebox.fleet_override(&name)),
            changed,
        },
    )
}

/// A header map from name-value pairs, for the unit tests of this module's parts.
#[cfg(test)]
fn test_headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (name, value) in pairs {
        headers.append(*name, HeaderValue::from_str(value).unwrap());
    }
    headers
}
