//! A circuit around plain function calls, with no tower and no async runtime:
//! `cargo run -p examples --example sync_calls`.
//!
//! `Circuit::call` acquires, runs the closure, records `Ok` as a success and `Err` as a
//! failure, and returns the value or a `CallError` (rejected, or the closure's own error).
//! `Circuit::call_with` takes a classifier for results that count otherwise. Four threads
//! share one circuit around a flaky "exchange rate" lookup; transitions print as they happen.
//! (`Circuit::call_async` does the same for a future, on any executor.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use fusebox::trip::{failure_rate, min_requests};
use fusebox::{CallError, Circuit, Outcome, Policy, Retry, State, Window};

#[derive(Debug)]
enum RateError {
    Unknown,
    Unavailable,
}

/// The lookup being protected: fails every call after the 30th, as if its backend went away.
fn exchange_rate(currency: &str, served: &AtomicU32) -> Result<f64, RateError> {
    if served.fetch_add(1, Ordering::Relaxed) >= 30 {
        return Err(RateError::Unavailable);
    }
    match currency {
        "EUR" => Ok(1.08),
        "GBP" => Ok(1.27),
        _ => Err(RateError::Unknown),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = Policy::builder()
        .window(Window::count(20))
        .trip(min_requests(10) & failure_rate(0.5))
        .retry(Retry::cooldown(Duration::from_secs(60)))
        .build()?;
    let circuit = Circuit::builder("exchange rates")
        .policy(policy)
        .on_signal(|signal| {
            if !signal.is_registration() {
                println!(
                    "  circuit '{}': {} → {} ({})",
                    signal.circuit, signal.from, signal.to, signal.cause
                );
            }
        })
        .build();

    // An unknown currency is the caller's mistake: ignored, it never trips the circuit.
    let classify = |result: &Result<f64, RateError>| match result {
        Ok(_) => Outcome::Success,
        Err(RateError::Unknown) => Outcome::Ignored,
        Err(RateError::Unavailable) => Outcome::Failure,
    };
    let unknown = circuit.call_with(classify, || exchange_rate("XYZ", &AtomicU32::new(0)));
    println!("XYZ: {unknown:?}");

    let served = Arc::new(AtomicU32::new(0));
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let (circuit, served) = (circuit.clone(), served.clone());
            thread::spawn(move || {
                let mut tally = [0u32; 3]; // rates, failures, rejections
                for n in 0..25 {
                    let currency = if (worker + n) % 2 == 0 { "EUR" } else { "GBP" };
                    match circuit.call(|| exchange_rate(currency, &served)) {
                        Ok(_rate) => tally[0] += 1,
                        Err(CallError::Inner(_)) => tally[1] += 1,
                        Err(CallError::Rejected(_)) => tally[2] += 1,
                    }
                }
                tally
            })
        })
        .collect();
    for (worker, handle) in workers.into_iter().enumerate() {
        let [rates, failures, rejections] = handle.join().map_err(|_| "a worker panicked")?;
        println!("worker {worker}: {rates} rates, {failures} failures, {rejections} rejected");
    }

    let snapshot = circuit.snapshot();
    println!("circuit is {}; calls: {:?}", snapshot.state, snapshot.calls);
    let calls = snapshot.calls;
    if snapshot.state != State::Open || calls.ignored != 1 || calls.success != 30 {
        return Err("expected 30 rates, one ignored lookup and an open circuit".into());
    }
    Ok(())
}
