//! The axum "hello" route called in process, without sockets, for counting instructions per
//! request under valgrind: bare, behind a pass-through route layer (`--noop`), or behind
//! `route_breaker` (`--breaker`). `N` (default 100,000) requests run one after another; the
//! difference between two runs with different `N` is the cost of `N` requests, free of
//! start-up.
//!
//! ```sh
//! cargo build --release -p benches --example route_calls
//! N=1000  valgrind --tool=callgrind target/release/examples/route_calls --breaker
//! N=11000 valgrind --tool=callgrind target/release/examples/route_calls --breaker
//! ```

use axum::body::Body;
use axum::http::Request;
use axum::{Router, routing::get};
use fusebox::Fusebox;
use fusebox_axum::route_breaker;
use tower::{Service, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests: usize = match std::env::var("N") {
        Ok(n) => n.parse().map_err(|error| format!("N={n:?}: {error}"))?,
        Err(_) => 100_000,
    };
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut app = Router::new().route("/", get(|| async { "hello" }));
    let fusebox = Fusebox::builder().build()?;
    match mode.as_str() {
        "" => {}
        "--breaker" => app = app.route_layer(route_breaker(&fusebox)),
        "--noop" => {
            app = app.route_layer(tower::util::MapRequestLayer::new(
                std::convert::identity::<Request<Body>>,
            ));
        }
        other => {
            return Err(format!("unknown argument {other:?}; use [--breaker | --noop]").into());
        }
    }
    // As `axum::serve` does: handlers become routes once, not per request.
    let app: Router = app.with_state(());
    let mut bytes = 0;
    for _ in 0..requests {
        let request = Request::get("/").body(Body::empty())?;
        let mut service = app.clone();
        let response = ServiceExt::<Request<Body>>::ready(&mut service)
            .await?
            .call(request)
            .await?;
        bytes += axum::body::to_bytes(response.into_body(), 1024)
            .await?
            .len();
    }
    println!("{requests} requests, {bytes} bytes of body");
    Ok(())
}
