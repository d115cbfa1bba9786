//! Answering calls a circuit rejects, or that fail, with a fallback value:
//! `cargo run -p examples --example fallback`.
//!
//! A recommendation service is down. `FallbackLayer`, outside the breaker, answers its failed
//! calls with bestsellers (the circuit still counts them as failures), and once the circuit
//! opens, answers the rejected calls too, without calling the service at all. The fallback
//! gets the `Rejected` (which circuit, which state, when to retry) or the error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fusebox::trip::failure_streak;
use fusebox::{BoxError, Circuit, CircuitBreakerLayer, FallbackLayer, Policy, Rejected, Retry};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// What callers get when the real answer is missing.
fn bestsellers(why: &str) -> Vec<String> {
    println!("  fallback: {why}");
    vec![
        "The Rust Programming Language".to_owned(),
        "Zero to Production".to_owned(),
    ]
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let policy = Policy::builder()
        .trip(failure_streak(2))
        .retry(Retry::cooldown(Duration::from_secs(30)))
        .build()?;
    let circuit = Circuit::new("recommendations", policy);
    let reached = Arc::new(AtomicU32::new(0));

    let model_server = {
        let reached = reached.clone();
        service_fn(move |user: u64| {
            reached.fetch_add(1, Ordering::Relaxed);
            async move {
                if user == 0 {
                    return Ok(vec!["(a guest gets no recommendations)".to_owned()]);
                }
                Err::<Vec<String>, _>(std::io::Error::other("model server unreachable"))
            }
        })
    };
    let recommendations = ServiceBuilder::new()
        .layer(
            FallbackLayer::new(|rejected: Rejected| bestsellers(&rejected.to_string()))
                .on_error(|error: BoxError| bestsellers(&format!("the call failed: {error}"))),
        )
        .layer(CircuitBreakerLayer::new(circuit.clone()))
        .timeout(Duration::from_secs(1))
        .service(model_server);

    for user in [0, 7, 8, 9, 10] {
        let books = recommendations.clone().oneshot(user).await?;
        println!("user {user}: {books:?} (circuit {})", circuit.state());
    }
    let calls = circuit.snapshot().calls;
    println!(
        "the model server got {} calls; the circuit counted {} successes, {} failures, {} rejections",
        reached.load(Ordering::Relaxed),
        calls.success,
        calls.failure,
        calls.rejected
    );
    if (reached.load(Ordering::Relaxed), calls.rejected) != (3, 2) {
        return Err("expected 3 calls to reach the model server and 2 rejections".into());
    }
    Ok(())
}
