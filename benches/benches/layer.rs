//! The tower layer on the closed path: a trivial `service_fn`, bare and behind
//! `CircuitBreakerLayer`, measured in the same run; and a keyed layer routing over 1,000
//! circuits (a hit: the key's circuit exists) and a keyed miss that creates the circuit.
//! Futures are polled once with a no-op waker: no runtime, only the layer's cost.

#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fusebox::key::key_fn;
use fusebox::{Circuit, Policy};
use fusebox::{CircuitBreakerLayer, Fusebox};
use tower::{Layer, Service, service_fn};

fn echo(x: u64) -> Ready<Result<u64, Infallible>> {
    ready(Ok(x))
}

/// Drives one call to completion; every service here is always ready and resolves at once.
fn call<S: Service<u64>>(service: &mut S, x: u64) {
    let mut cx = Context::from_waker(Waker::noop());
    if let Poll::Ready(Ok(())) = service.poll_ready(&mut cx) {
        let future = pin!(service.call(black_box(x)));
        if let Poll::Ready(result) = future.poll(&mut cx) {
            let _ = black_box(result.is_ok());
        }
    }
}

fn layer(c: &mut Criterion) {
    let mut group = c.benchmark_group("layer_closed_call");

    let mut bare = service_fn(echo);
    group.bench_function("bare_service_fn", |b| b.iter(|| call(&mut bare, 7)));

    let circuit = Circuit::new("bench", Policy::default());
    let mut guarded = CircuitBreakerLayer::new(circuit).layer(service_fn(echo));
    group.bench_function("circuit_breaker_layer", |b| {
        b.iter(|| call(&mut guarded, 7));
    });

    // The same layer on a circuit whose registry has the Prometheus listener and a Slack
    // listener whose server accepts connections and never answers: listeners are never on
    // the call path, so this must match `circuit_breaker_layer`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime for the listeners");
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let slack_url = format!("http://{}", hanging.local_addr().expect("its address"));
    std::thread::spawn(move || {
        // Accept and hold every connection, answering nothing.
        let held: Vec<_> = hanging.incoming().collect();
        drop(held);
    });
    let (with_listeners, _exporter) = runtime.block_on(async {
        let fusebox = Fusebox::builder()
            .listener("prometheus", fusebox_prometheus::PrometheusListener::new())
            .listener(
                "slack",
                fusebox_slack::SlackListener::builder("xoxb-bench", "C0BENCH")
                    .base_url(slack_url)
                    .build()
                    .expect("a valid Slack configuration"),
            )
            .build()
            .expect("listeners build inside a runtime");
        let exporter =
            fusebox_prometheus::PrometheusExporter::install(&fusebox).expect("one recorder");
        (fusebox, exporter)
    });
    let listened = with_listeners.circuit("bench");
    listened.force_open(); // a transition, so Slack is now hanging on a post
    listened.reset();
    let mut guarded_listened = CircuitBreakerLayer::new(listened).layer(service_fn(echo));
    group.bench_function(
        "circuit_breaker_layer_with_prometheus_and_hanging_slack",
        |b| {
            b.iter(|| call(&mut guarded_listened, 7));
        },
    );

    let fusebox = Fusebox::builder()
        .max_keyed_circuits(1_000)
        .build()
        .expect("a registry without listeners needs no runtime");
    let mut keyed =
        CircuitBreakerLayer::keyed(fusebox.clone(), KeyByNumber).layer(service_fn(echo));
    for key in 0..1_000 {
        call(&mut keyed, key);
    }
    assert_eq!(fusebox.snapshot().len(), 1_000);
    let mut next = 0u64;
    group.bench_function("keyed_layer_1000_circuits", |b| {
        b.iter(|| {
            next = (next + 1) % 1_000;
            call(&mut keyed, next);
        });
    });

    let mut keyed_fn = CircuitBreakerLayer::keyed(fusebox, key_fn(|x: &u64| format!("{x}")))
        .layer(service_fn(echo));
    group.bench_function("keyed_layer_1000_circuits_key_fn_string", |b| {
        b.iter(|| {
            next = (next + 1) % 1_000;
            call(&mut keyed_fn, next);
        });
    });

    // A key seen for the first time: the registry creates its circuit (policy, listener
    // hook, a new copy of the name map) before the call runs.
    group.bench_function("keyed_layer_miss_creates_circuit", |b| {
        b.iter_batched(
            || {
                let fusebox = Fusebox::builder()
                    .build()
                    .expect("a registry without listeners needs no runtime");
                CircuitBreakerLayer::keyed(fusebox, KeyByNumber).layer(service_fn(echo))
            },
            |mut fresh| {
                call(&mut fresh, 7);
                fresh // dropped outside the measurement
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// Keys `u64` requests by their decimal text without allocating: the names are made once.
#[derive(Clone)]
struct KeyByNumber;

static NAMES: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| (0..1_000).map(|n| n.to_string()).collect());

impl fusebox::key::Key<u64> for KeyByNumber {
    fn key<'r>(&self, request: &'r u64) -> std::borrow::Cow<'r, str> {
        let index = usize::try_from(*request % 1_000).unwrap_or(0);
        std::borrow::Cow::Borrowed(NAMES[index].as_str())
    }
}

criterion_group!(benches, layer);
criterion_main!(benches);
