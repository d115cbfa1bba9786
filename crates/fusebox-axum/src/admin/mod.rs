//! The operator surface: [`router`] serves a JSON API and a live HTML dashboard over a
//! [`Fusebox`] registry, behind [`AdminAuth`].
//!
//! | route | answers |
//! |---|---|
//! | `GET /` | the dashboard: every circuit as a card, refreshed every second, with buttons for the manual commands |
//! | `GET /circuits` | every circuit, sorted by name, as a JSON array |
//! | `GET /circuits/{name}` | one circuit, or `404` |
//! | `POST /circuits/{name}/{command}` | `reset`, `force-open`, `disable` or `metrics-only`: the circuit afterwards, with `"changed"`; `400` for another command, `404` for an unknown circuit |
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
//!   "metrics": {"total": 0, "failures": 0, "failure_rate": null, "avg_latency_ms": null, "consecutive_failures": 0},
//!   "calls": {"success": 120, "failure": 14, "ignored": 0, "rejected": 37},
//!   "policy": "window=count(100) trip=... retry=... permit=... max_concurrent_probes=... close_after=... max_wait=60s"
//! }
//! ```
//!
//! `since` is RFC 3339 in UTC; `retry_after_secs` is the `Retry-After` a rejected call gets
//! now (whole seconds, rounded up, at least 1), `null` outside `open` or when the retry policy
//! never probes; `failure_rate` and `avg_latency_ms` are `null` on an empty window (and
//! `avg_latency_ms` when the policy does not measure latency). `metrics` is the current
//! window; `calls` counts since the circuit was created. Circuit names are one path segment:
//! percent-encode them (`GET%20%2Fusers%2F%7Bid%7D` for the route circuit `GET /users/{id}`).
//!
//! Errors are JSON too: `{"error": "not_found" | "unknown_command" | "unauthorized",
//! "message": "..."}`.
//!
//! # Authentication
//!
//! With [`AdminAuth::bearer`], every route, the dashboard page included, requires
//! `Authorization: Bearer <token>`; without it the answer is `401` with
//! `WWW-Authenticate: Bearer`. A browser cannot send that header when it opens a page, so the
//! dashboard also takes the token once in its address: `GET /admin?token=<token>` (the token
//! percent-encoded; nested under `/admin`, the page is `/admin`, without a trailing slash) answers `303 See Other` back to the page with a
//! `fusebox_admin=<token>; HttpOnly; SameSite=Strict; Path=/admin` cookie ([`TOKEN_COOKIE`]),
//! and from then on the page and its API calls authenticate with the cookie. The cookie is
//! HttpOnly (scripts cannot read it), SameSite=Strict (other sites cannot make the browser
//! send it, so they cannot press the buttons), scoped to the router's path, and ends with the
//! browser session. Both the header and the cookie are compared in constant time. Serve the
//! admin router over TLS (or only on a trusted network): the token travels in every request.
//!
//! [`AdminAuth::none_i_understand_the_risk`] opts out of all of this.
//!
//! What the router does not do: create circuits (a name nobody used yet is `404`), change
//! policies, or rate-limit token guesses (put tower middleware in front for that).

mod auth;
mod view;

use axum::extract::{Path, State};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fusebox::{Fusebox, UnknownCircuit};
use http::StatusCode;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use serde::Serialize;

pub use self::auth::{AdminAuth, InvalidToken, TOKEN_COOKIE};
use self::view::CircuitView;

/// The dashboard page: HTML, CSS and JavaScript in one file, so it works under any prefix
/// without asset routes.
const DASHBOARD: &str = include_str!("dashboard.html");

/// What the page may do: run its own inline script and style, call its own origin, and
/// nothing else; no other site may frame it (its buttons must not be clickjacked).
const DASHBOARD_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The admin router over `fusebox`: the JSON API and the dashboard described in the
/// [module docs](self), every route behind `auth`. Nest it under a prefix of your choice.
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
///     .nest("/admin", admin::router(fusebox.clone(), AdminAuth::bearer(token)?));
///
/// // Operators open http://127.0.0.1:3000/admin?token=<token> once; the API answers
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
    let api = Router::new()
        .route("/circuits", get(list))
        .route("/circuits/{name}", get(one))
        .route("/circuits/{name}/{command}", post(command))
        .with_state(fusebox)
        .route_layer(from_fn_with_state(auth.clone(), auth::require_token));
    let page = Router::new()
        .route("/", get(dashboard))
        .route_layer(from_fn_with_state(auth, auth::dashboard_login));
    api.merge(page)
}

/// The body of every error answer.
#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

fn json(status: StatusCode, body: impl Serialize) -> Response {
    (status, [(CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn not_found(name: &str) -> Response {
    json(
        StatusCode::NOT_FOUND,
        ErrorBody {
            error: "not_found",
            message: format!("no circuit named {name:?}"),
        },
    )
}

async fn list(State(fusebox): State<Fusebox>) -> Response {
    let snapshots = fusebox.snapshot();
    let views: Vec<CircuitView<'_>> = snapshots
        .iter()
        .filter_map(|snapshot| {
            let circuit = fusebox.get(&snapshot.name)?;
            Some(CircuitView::new(snapshot, circuit.policy()))
        })
        .collect();
    json(StatusCode::OK, views)
}

async fn one(State(fusebox): State<Fusebox>, Path(name): Path<String>) -> Response {
    match fusebox.get(&name) {
        Some(circuit) => json(
            StatusCode::OK,
            CircuitView::new(&circuit.snapshot(), circuit.policy()),
        ),
        None => not_found(&name),
    }
}

#[derive(Serialize)]
struct CommandResult<'a> {
    #[serde(flatten)]
    circuit: CircuitView<'a>,
    changed: bool,
}

async fn command(
    State(fusebox): State<Fusebox>,
    Path((name, command)): Path<(String, String)>,
) -> Response {
    let run: fn(&Fusebox, &str) -> Result<bool, UnknownCircuit> = match command.as_str() {
        "reset" => Fusebox::reset,
        "force-open" => Fusebox::force_open,
        "disable" => Fusebox::disable,
        "metrics-only" => Fusebox::metrics_only,
        _ => {
            return json(
                StatusCode::BAD_REQUEST,
                ErrorBody {
                    error: "unknown_command",
                    message: format!(
                        "no command named {command:?}; commands are reset, force-open, disable and metrics-only"
                    ),
                },
            );
        }
    };
    let (Some(circuit), Ok(changed)) = (fusebox.get(&name), run(&fusebox, &name)) else {
        return not_found(&name);
    };
    let snapshot = circuit.snapshot();
    tracing::info!(
        target: "fusebox",
        circuit = %name,
        command = %command,
        changed,
        state = snapshot.state.as_str(),
        "admin command"
    );
    json(
        StatusCode::OK,
        CommandResult {
            circuit: CircuitView::new(&snapshot, circuit.policy()),
            changed,
        },
    )
}

async fn dashboard() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
            (CONTENT_SECURITY_POLICY, DASHBOARD_CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (X_FRAME_OPTIONS, "DENY"),
            (REFERRER_POLICY, "no-referrer"),
        ],
        DASHBOARD,
    )
        .into_response()
}
