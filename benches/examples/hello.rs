//! The axum "hello" route for `benches/wrk.sh`: bare, behind `route_breaker` (one circuit per
//! route, the JSON 503 mode) or behind a pass-through route layer (what any route layer costs),
//! on one thread so that a load generator pinned to the other
//! core measures the server's cost per request.
//!
//! `cargo run --release -p benches --example hello -- [--breaker | --noop] [--port N]` prints
//! `listening on http://127.0.0.1:N` and serves until killed.

use axum::{Router, routing::get};
use fusebox::Fusebox;
use fusebox_axum::route_breaker;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut breaker = false;
    let mut noop = false;
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--breaker" => breaker = true,
            "--noop" => noop = true,
            "--port" => {
                port = args
                    .next()
                    .ok_or("--port needs a number")?
                    .parse()
                    .map_err(|error| format!("--port: {error}"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; use [--breaker | --noop] [--port N]"
                )
                .into());
            }
        }
    }
    let mut app = Router::new().route("/", get(|| async { "hello" }));
    // Kept alive while serving: the registry owns the circuits.
    let fusebox = Fusebox::builder().build()?;
    if breaker {
        app = app.route_layer(route_breaker(&fusebox));
    } else if noop {
        // The cost of any route layer: axum boxes the layered route and clones it per request.
        app = app.route_layer(tower::util::MapRequestLayer::new(
            std::convert::identity::<axum::extract::Request>,
        ));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
