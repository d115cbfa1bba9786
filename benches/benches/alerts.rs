//! The error-burst layer's cost per `error!` of a known fingerprint: the same event through a
//! subscriber without the layer and with it, measured in the same run. Two baselines: the bare
//! `Registry` (what dispatching costs at all) and the `fmt` layer writing to a sink (what
//! logging an error costs an application that logs). Two paths of the layer: counting (the
//! circuit is `closed` and records a failure) and suppressed (the alert stands).

#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark whose setup fails has nothing to measure"
)]
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fusebox::alerts::ErrorBursts;
use fusebox::trip::failure_count;
use fusebox::{Fusebox, Policy, Window};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

fn log_error(order: u64) {
    tracing::error!(
        order,
        "order {order} failed: card declined for user \"bob\""
    );
}

/// Runs `error!` under `dispatch`.
fn bench(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    dispatch: &Dispatch,
) {
    tracing::dispatcher::with_default(dispatch, || {
        let mut order = 0_u64;
        log_error(order); // creates the fingerprint
        c.bench_function(name, |b| {
            b.iter(|| {
                order = order.wrapping_add(1);
                log_error(black_box(order));
            });
        });
    });
}

/// The layer on a registry of its own, counting every event on a closed circuit (`counting`)
/// or with its alert standing (`suppressed`). Outside a runtime, its background check is a
/// thread that wakes once a second.
fn layer(suppressed: bool) -> ErrorBursts {
    let fusebox = Fusebox::builder().build().unwrap();
    let trip = if suppressed { 1 } else { u64::MAX };
    let policy = Policy::builder()
        .window(Window::time(std::time::Duration::from_secs(60)))
        .trip(failure_count(trip))
        .build()
        .unwrap();
    ErrorBursts::builder(&fusebox).policy("*", policy).build()
}

fn alerts(c: &mut Criterion) {
    let mut group = c.benchmark_group("error_event_parts");
    let message = "order 123456 failed: card declined for user \"bob\"";
    let mut out = String::with_capacity(128);
    group.bench_function("normalize_message", |b| {
        b.iter(|| {
            out.clear();
            fusebox::alerts::normalize(black_box(message), &mut out);
        });
    });
    let words = "order placed failed: card declined for user with some more";
    group.bench_function("normalize_words", |b| {
        b.iter(|| {
            out.clear();
            fusebox::alerts::normalize(black_box(words), &mut out);
        });
    });
    group.finish();

    let sink = || tracing_subscriber::fmt::layer().with_writer(std::io::sink);

    let mut group = c.benchmark_group("error_event_registry");
    bench(
        &mut group,
        "without_layer",
        &Dispatch::new(tracing_subscriber::registry()),
    );
    let with = tracing_subscriber::registry().with(layer(false));
    bench(&mut group, "with_layer_counting", &Dispatch::new(with));
    let with = tracing_subscriber::registry().with(layer(true));
    bench(&mut group, "with_layer_suppressed", &Dispatch::new(with));
    group.finish();

    let mut group = c.benchmark_group("error_event_fmt_sink");
    bench(
        &mut group,
        "without_layer",
        &Dispatch::new(tracing_subscriber::registry().with(sink())),
    );
    let with = tracing_subscriber::registry()
        .with(sink())
        .with(layer(false));
    bench(&mut group, "with_layer_counting", &Dispatch::new(with));
    let with = tracing_subscriber::registry()
        .with(sink())
        .with(layer(true));
    bench(&mut group, "with_layer_suppressed", &Dispatch::new(with));
    group.finish();
}

criterion_group!(benches, alerts);
criterion_main!(benches);
