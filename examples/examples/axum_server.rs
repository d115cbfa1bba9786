//! An axum server with one circuit per route, its transitions in the log:
//! `cargo run -p examples --example axum_server` (add `-- --serve` to keep serving).
//!
//! It listens on 127.0.0.1 (port `PORT`, or any free one), prints its address, calls its own
//! `/flaky` route until that route's circuit opens, shows the `503` the route then answers and
//! that `/hello` is unaffected, and exits. The log listener reports the route's circuit
//! opening through `tracing`: without the subscriber installed first thing, its lines would go
//! nowhere.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use fusebox::trip::failure_streak;
use fusebox::{BoxError, Fusebox, LogListener, Policy, Retry};
use fusebox_axum::route_breaker;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let colors = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(colors)
        .compact()
        .init();
    let serve = std::env::args().skip(1).any(|arg| arg == "--serve");
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 0,
    };

    let policy = Policy::builder()
        .trip(failure_streak(3))
        .retry(Retry::cooldown(Duration::from_secs(10)))
        .build()?;
    let fusebox = Fusebox::builder()
        .default_policy(policy)
        .listener("log", LogListener::default())
        .build()?;
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/flaky",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "database down") }),
        )
        // One circuit per route (`GET /hello`, `GET /flaky`); 5xx answers are failures.
        .route_layer(route_breaker(&fusebox));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("listening on http://{address} (GET /hello, GET /flaky)");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    if serve {
        println!("--serve: serving until Ctrl-C");
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }

    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for path in ["/flaky", "/flaky", "/flaky", "/flaky", "/hello"] {
        let response = client.get(format!("http://{address}{path}")).send().await?;
        let status = response.status();
        println!("GET {path:<7} → {status}  {}", response.text().await?);
        statuses.push(status.as_u16());
        // Lets the log line of a transition appear right after the call that caused it.
        fusebox.flush(Duration::from_secs(1)).await?;
    }
    fusebox.shutdown(Duration::from_secs(1)).await?;
    server.abort();
    if statuses != [500, 500, 500, 503, 200] {
        return Err(format!("expected 500 ×3, 503, 200; got {statuses:?}").into());
    }
    Ok(())
}
