//! The listener stack and the log listener, as users see them: delivery, isolation of slow,
//! failing and panicking listeners, flush and shutdown, and the exact log output.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers of tests, where a failed unwrap is a failed test, and listeners that panic on purpose"
)]

use std::convert::Infallible;
use std::future::{pending, ready};
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use fusebox::Fusebox;
use fusebox::listener::{BuildError, Handled, ListenerStack, ListenerStats, LogListener};
use fusebox_core::{Cause, Signal, State};
use tokio::sync::Notify;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
use tracing::field::{Field, Visit};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};

// ---------------------------------------------------------------------------------------
// Signals and listeners for the tests

fn signal(circuit: &str, from: State, to: State, cause: Cause) -> Signal {
    Signal::new(circuit, from, to, cause).with_at(SystemTime::UNIX_EPOCH)
}

/// Circuit `db` registered, then opened by hand, then probing.
fn registration_trip_and_probe() -> [Signal; 3] {
    [
        signal("db", State::Closed, State::Closed, Cause::Registered),
        signal("db", State::Closed, State::Open, Cause::MANUAL),
        signal("db", State::Open, State::HalfOpen, Cause::Probe),
    ]
}

/// Signal number `n`, for checking order: its circuit is named `c<n>`.
fn numbered(n: usize) -> Signal {
    signal(&format!("c{n}"), State::Closed, State::Open, Cause::MANUAL)
}

fn number(signal: &Signal) -> usize {
    signal.circuit[1..].parse().unwrap()
}

type Seen = Arc<Mutex<Vec<String>>>;

/// A listener that records the circuit name of every signal it receives.
fn recorder() -> (
    impl Service<Signal, Response = (), Error = Infallible, Future: Send> + Send + 'static,
    Seen,
) {
    let seen = Seen::default();
    let listener = service_fn({
        let seen = Arc::clone(&seen);
        move |signal: Signal| {
            let seen = Arc::clone(&seen);
            async move {
                // Give other tasks a chance to run between signals.
                tokio::task::yield_now().await;
                seen.lock().unwrap().push(signal.circuit.to_string());
                Ok(())
            }
        }
    });
    (listener, seen)
}

fn names(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("c{n}")).collect()
}

/// A listener whose every call stays pending forever; `called` is notified on each call.
fn stuck(
    called: Arc<Notify>,
) -> impl Service<Signal, Response = (), Error = Infallible, Future: Send> + Send + 'static {
    service_fn(move |_: Signal| {
        called.notify_one();
        pending::<Result<(), Infallible>>()
    })
}

type Counted = (String, u64, u64, u64, u64, u64, u64);

fn stats(
    name: &str,
    delivered: u64,
    skipped: u64,
    dropped: u64,
    failed: u64,
    panicked: u64,
    queued: u64,
) -> Counted {
    (
        name.to_owned(),
        delivered,
        skipped,
        dropped,
        failed,
        panicked,
        queued,
    )
}

fn counters(stats: &[ListenerStats]) -> Vec<Counted> {
    stats
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.delivered,
                s.skipped,
                s.dropped,
                s.failed,
                s.panicked,
                s.queued,
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Capturing `tracing` output

#[derive(Clone, Debug, PartialEq)]
struct Captured {
    target: String,
    level: Level,
    fields: Vec<(String, String)>,
}

fn captured(target: &str, level: Level, fields: &[(&str, &str)]) -> Captured {
    Captured {
        target: target.to_owned(),
        level,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl Capture {
    /// Installs a subscriber that records every event on this thread.
    fn install() -> (Capture, DefaultGuard) {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    /// The events from fusebox, oldest first.
    fn events(&self) -> Vec<Captured> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.target.starts_with("fusebox"))
            .cloned()
            .collect()
    }
}

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields: fields.0,
        });
    }
}

/// Installs `tracing_subscriber`'s text formatter writing into a buffer.
fn install_text_log() -> (Arc<Mutex<Vec<u8>>>, DefaultGuard) {
    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    let bytes = Arc::new(Mutex::new(Vec::new()));
    let buffer = Buffer(Arc::clone(&bytes));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || buffer.clone())
        .without_time()
        .with_ansi(false)
        .with_max_level(Level::TRACE)
        .finish();
    (bytes, tracing::subscriber::set_default(subscriber))
}

fn text(bytes: &Mutex<Vec<u8>>) -> String {
    String::from_utf8(bytes.lock().unwrap().clone()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Sending never waits

#[tokio::test(flavor = "current_thread")]
async fn send_never_waits_for_a_stuck_listener_and_counts_overflow_exactly() {
    let called = Arc::new(Notify::new());
    let stack = ListenerStack::builder()
        .queue_capacity(4)
        .listener("stuck", stuck(Arc::clone(&called)))
        .build()
        .unwrap();

    let started = Instant::now();
    for n in 0..10_000 {
        stack.send(numbered(n));
    }
    let elapsed = started.elapsed();
    // 10 000 sends in well under 10 000 ms, i.e. each in well under a millisecond; the
    // worker has not even run yet on this single-threaded runtime.
    assert!(elapsed < Duration::from_millis(100), "{elapsed:?}");
    assert_eq!(
        counters(&stack.stats()),
        [stats("stuck", 0, 0, 9_996, 0, 0, 4)]
    );

    // The worker takes the first signal and hangs on it; nothing else changes.
    called.notified().await;
    assert_eq!(
        counters(&stack.stats()),
        [stats("stuck", 0, 0, 9_996, 0, 0, 4)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_never_waits_for_a_stuck_listener_on_a_multi_thread_runtime() {
    let called = Arc::new(Notify::new());
    let stack = ListenerStack::builder()
        .queue_capacity(4)
        .listener("stuck", stuck(Arc::clone(&called)))
        .build()
        .unwrap();

    // The first signal is in flight (taken off the queue), so four more fit.
    stack.send(numbered(0));
    called.notified().await;
    let started = Instant::now();
    for n in 1..10_000 {
        stack.send(numbered(n));
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(100), "{elapsed:?}");
    assert_eq!(
        counters(&stack.stats()),
        [stats("stuck", 0, 0, 10_000 - 4 - 1, 0, 0, 5)]
    );
}

#[test]
fn send_works_from_a_thread_outside_the_runtime_while_holding_a_lock() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (listener, seen) = recorder();
    let stack = runtime.block_on(async {
        ListenerStack::builder()
            .listener("recorder", listener)
            .build()
    });
    let stack = stack.unwrap();

    let lock = Mutex::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut guard = lock.lock().unwrap();
            for n in 0..10 {
                stack.send(numbered(n));
                *guard += 1;
            }
        });
    });

    runtime
        .block_on(stack.flush(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), names(0..10));
    assert_eq!(
        counters(&stack.stats()),
        [stats("recorder", 10, 0, 0, 0, 0, 0)]
    );
}

// ---------------------------------------------------------------------------------------
// Order

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_listener_receives_1000_signals_in_the_order_they_were_sent() {
    let (first, first_seen) = recorder();
    let (second, second_seen) = recorder();
    let stack = ListenerStack::builder()
        .queue_capacity(1000)
        .listener("first", first)
        .listener("second", second)
        .build()
        .unwrap();

    for n in 0..1000 {
        stack.send(numbered(n));
    }
    stack.flush(Duration::from_secs(5)).await.unwrap();

    assert_eq!(*first_seen.lock().unwrap(), names(0..1000));
    assert_eq!(*second_seen.lock().unwrap(), names(0..1000));
    assert_eq!(
        counters(&stack.stats()),
        [
            stats("first", 1000, 0, 0, 0, 0, 0),
            stats("second", 1000, 0, 0, 0, 0, 0)
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_listener_is_called_only_after_its_previous_call_finished() {
    let busy = Arc::new(Mutex::new(false));
    let overlaps = Arc::new(Mutex::new(0));
    let listener = service_fn({
        let (busy, overlaps) = (Arc::clone(&busy), Arc::clone(&overlaps));
        move |_: Signal| {
            let (busy, overlaps) = (Arc::clone(&busy), Arc::clone(&overlaps));
            if std::mem::replace(&mut *busy.lock().unwrap(), true) {
                *overlaps.lock().unwrap() += 1;
            }
            async move {
                tokio::task::yield_now().await;
                *busy.lock().unwrap() = false;
                Ok::<_, Infallible>(())
            }
        }
    });
    let stack = ListenerStack::builder()
        .listener("sequential", listener)
        .build()
        .unwrap();
    for n in 0..50 {
        stack.send(numbered(n));
    }
    stack.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!(*overlaps.lock().unwrap(), 0);
    assert_eq!(stack.stats()[0].delivered, 50);
}

// ---------------------------------------------------------------------------------------
// Failing and panicking listeners

/// Panics in `poll_ready` the first time it is polled, then works.
struct PanicsWhenFirstPolled {
    polled: bool,
    seen: Seen,
}

impl Service<Signal> for PanicsWhenFirstPolled {
    type Response = ();
    type Error = Infallible;
    type Future = std::future::Ready<Result<(), Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if !std::mem::replace(&mut self.polled, true) {
            panic!("not ready, and badly");
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, signal: Signal) -> Self::Future {
        self.seen.lock().unwrap().push(signal.circuit.to_string());
        ready(Ok(()))
    }
}

async fn panicking_listeners_do_not_disturb_their_neighbours() {
    let (recorder, seen) = recorder();
    let in_call = service_fn(|signal: Signal| {
        if number(&signal) % 3 == 0 {
            panic!("panic in call for {}", signal.circuit);
        }
        ready(Ok::<_, Infallible>(()))
    });
    let in_future = service_fn(|signal: Signal| async move {
        tokio::task::yield_now().await;
        if number(&signal) % 4 == 0 {
            panic!("panic in the future for {}", signal.circuit);
        }
        Ok::<_, Infallible>(())
    });
    let ready_seen = Seen::default();
    let in_poll_ready = PanicsWhenFirstPolled {
        polled: false,
        seen: Arc::clone(&ready_seen),
    };
    let stack = ListenerStack::builder()
        .listener("in_call", in_call)
        .listener("recorder", recorder)
        .listener("in_future", in_future)
        .listener("in_poll_ready", in_poll_ready)
        .build()
        .unwrap();

    for n in 0..100 {
        stack.send(numbered(n));
    }
    stack.flush(Duration::from_secs(5)).await.unwrap();

    assert_eq!(*seen.lock().unwrap(), names(0..100));
    // The poll_ready panic cost the first signal only.
    assert_eq!(*ready_seen.lock().unwrap(), names(1..100));
    assert_eq!(
        counters(&stack.stats()),
        [
            // 0, 3, …, 99: 34 panics.
            stats("in_call", 66, 0, 0, 0, 34, 0),
            stats("recorder", 100, 0, 0, 0, 0, 0),
            // 0, 4, …, 96: 25 panics.
            stats("in_future", 75, 0, 0, 0, 25, 0),
            stats("in_poll_ready", 99, 0, 0, 0, 1, 0),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn panicking_listeners_do_not_disturb_their_neighbours_on_one_thread() {
    panicking_listeners_do_not_disturb_their_neighbours().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_listeners_do_not_disturb_their_neighbours_on_many_threads() {
    panicking_listeners_do_not_disturb_their_neighbours().await;
}

#[tokio::test(flavor = "current_thread")]
async fn listener_errors_are_counted_and_logged_on_the_listener_target() {
    let (capture, _guard) = Capture::install();
    let failing = service_fn(|signal: Signal| async move {
        if number(&signal) % 2 == 1 {
            Err(format!("webhook answered 500 for {}", signal.circuit))
        } else {
            Ok(())
        }
    });
    let stack = ListenerStack::builder()
        .listener("webhook", failing)
        .build()
        .unwrap();
    for n in 0..4 {
        stack.send(numbered(n));
    }
    stack.flush(Duration::from_secs(5)).await.unwrap();

    assert_eq!(
        counters(&stack.stats()),
        [stats("webhook", 2, 0, 0, 2, 0, 0)]
    );
    let failure = |n: usize| {
        captured(
            "fusebox::listener",
            Level::WARN,
            &[
                ("message", "listener failed to handle a signal"),
                ("listener", "webhook"),
                ("circuit", &format!("c{n}")),
                ("transition", "closed -> open"),
                ("error", &format!("webhook answered 500 for c{n}")),
            ],
        )
    };
    assert_eq!(capture.events(), [failure(1), failure(3)]);
}

#[tokio::test(flavor = "current_thread")]
async fn listener_errors_read_well_in_text_logs() {
    let (bytes, _guard) = install_text_log();
    let failing = service_fn(|_: Signal| ready(Err::<(), _>("connection refused")));
    let stack = ListenerStack::builder()
        .listener("slack", failing)
        .build()
        .unwrap();
    stack.send(signal(
        "payments",
        State::HalfOpen,
        State::Closed,
        Cause::Recovered,
    ));
    stack.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        text(&bytes),
        " WARN fusebox::listener: listener failed to handle a signal listener=slack \
         circuit=payments transition=half_open -> closed error=connection refused\n"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn listener_panics_are_logged_with_the_panic_message() {
    let (capture, _guard) = Capture::install();
    let panicking = service_fn(|signal: Signal| async move {
        panic!("no template for {}", signal.to);
        #[allow(unreachable_code)]
        Ok::<(), Infallible>(())
    });
    let stack = ListenerStack::builder()
        .listener("slack", panicking)
        .build()
        .unwrap();
    stack.send(signal(
        "payments",
        State::Closed,
        State::ForcedOpen,
        Cause::MANUAL,
    ));
    stack.flush(Duration::from_secs(5)).await.unwrap();

    assert_eq!(
        capture.events(),
        [captured(
            "fusebox::listener",
            Level::ERROR,
            &[
                (
                    "message",
                    "listener panicked while handling a signal; it keeps receiving later signals"
                ),
                ("listener", "slack"),
                ("circuit", "payments"),
                ("transition", "closed -> forced_open"),
                ("panic", "no template for FORCED_OPEN"),
                ("during", "the response future"),
            ],
        )]
    );
    assert_eq!(counters(&stack.stats()), [stats("slack", 0, 0, 0, 0, 1, 0)]);
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_signals_are_reported_when_the_listener_catches_up() {
    let (capture, _guard) = Capture::install();
    let (recorder, seen) = recorder();
    let stack = ListenerStack::builder()
        .queue_capacity(1)
        .listener("recorder", recorder)
        .build()
        .unwrap();
    // The worker has not run yet: the queue takes the first signal and refuses the others.
    for n in 0..3 {
        stack.send(numbered(n));
    }
    stack.flush(Duration::from_secs(5)).await.unwrap();

    assert_eq!(*seen.lock().unwrap(), names(0..1));
    assert_eq!(
        counters(&stack.stats()),
        [stats("recorder", 1, 0, 2, 0, 0, 0)]
    );
    assert_eq!(capture.events(), [drop_warning("recorder", 2)]);
}

fn drop_warning(listener: &str, dropped: u64) -> Captured {
    captured(
        "fusebox::listener",
        Level::WARN,
        &[
            (
                "message",
                "listener queue was full; the newest signals were dropped",
            ),
            ("listener", listener),
            ("dropped", &dropped.to_string()),
        ],
    )
}

/// Lets every task that is ready run.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// A stack whose one listener, `stuck`, hangs on signal 0 while signal 1 fills its queue of
/// one: every further signal is dropped.
async fn stuck_with_a_full_queue() -> ListenerStack {
    let called = Arc::new(Notify::new());
    let stack = ListenerStack::builder()
        .queue_capacity(1)
        .listener("stuck", stuck(Arc::clone(&called)))
        .build()
        .unwrap();
    stack.send(numbered(0));
    called.notified().await;
    stack.send(numbered(1));
    stack
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_hung_listener_warns_at_the_first_drop_then_at_most_every_ten_seconds() {
    let (capture, _guard) = Capture::install();
    let stack = stuck_with_a_full_queue().await;
    assert_eq!(capture.events(), []);

    stack.send(numbered(2));
    settle().await;
    assert_eq!(capture.events(), [drop_warning("stuck", 1)]);

    // Drops during the next ten seconds are summed up in one warning when they are over.
    tokio::time::sleep(Duration::from_secs(4)).await;
    stack.send(numbered(3));
    stack.send(numbered(4));
    tokio::time::sleep(Duration::from_millis(5_999)).await;
    settle().await;
    assert_eq!(capture.events(), [drop_warning("stuck", 1)]);
    tokio::time::sleep(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(
        capture.events(),
        [drop_warning("stuck", 1), drop_warning("stuck", 2)]
    );

    // A drop long after the last warning is reported at once again.
    tokio::time::sleep(Duration::from_secs(60)).await;
    stack.send(numbered(5));
    settle().await;
    assert_eq!(
        capture.events(),
        [
            drop_warning("stuck", 1),
            drop_warning("stuck", 2),
            drop_warning("stuck", 1)
        ]
    );
    assert_eq!(counters(&stack.stats()), [stats("stuck", 0, 0, 4, 0, 0, 2)]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn drops_not_yet_warned_about_are_warned_about_at_shutdown() {
    let (capture, _guard) = Capture::install();
    let stack = stuck_with_a_full_queue().await;
    stack.send(numbered(2));
    settle().await;
    stack.send(numbered(3));
    stack.send(numbered(4));
    stack.send(numbered(5));
    let _ = stack.shutdown(Duration::from_millis(10)).await;
    assert_eq!(
        capture.events(),
        [drop_warning("stuck", 1), drop_warning("stuck", 3)]
    );
}

// ---------------------------------------------------------------------------------------
// Middleware

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_timeout_turns_a_hanging_listener_into_a_counted_logged_failure() {
    let (capture, _guard) = Capture::install();
    let seen = Seen::default();
    let hangs_on_first = service_fn({
        let seen = Arc::clone(&seen);
        move |signal: Signal| {
            let seen = Arc::clone(&seen);
            async move {
                if &*signal.circuit == "hangs" {
                    pending::<()>().await;
                }
                seen.lock().unwrap().push(signal.circuit.to_string());
                Ok::<_, Infallible>(())
            }
        }
    });
    let stack = ListenerStack::builder()
        .listener(
            "webhook",
            ServiceBuilder::new()
                .timeout(Duration::from_secs(2))
                .service(hangs_on_first),
        )
        .build()
        .unwrap();

    let started = tokio::time::Instant::now();
    for circuit in ["hangs", "after", "later"] {
        stack.send(signal(circuit, State::Closed, State::Open, Cause::MANUAL));
    }
    stack.flush(Duration::from_secs(10)).await.unwrap();

    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(*seen.lock().unwrap(), ["after", "later"]);
    assert_eq!(
        counters(&stack.stats()),
        [stats("webhook", 2, 0, 0, 1, 0, 0)]
    );
    assert_eq!(
        capture.events(),
        [captured(
            "fusebox::listener",
            Level::WARN,
            &[
                ("message", "listener failed to handle a signal"),
                ("listener", "webhook"),
                ("circuit", "hangs"),
                ("transition", "closed -> open"),
                ("error", "request timed out"),
            ],
        )]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn skipped_answers_are_counted_as_skipped_through_middleware() {
    let opens_only = service_fn(|signal: Signal| async move {
        Ok::<_, Infallible>(if signal.to == State::Open {
            Handled::Delivered
        } else {
            Handled::Skipped
        })
    });
    let stack = ListenerStack::builder()
        .listener(
            "opens",
            ServiceBuilder::new()
                .timeout(Duration::from_secs(1))
                .service(opens_only),
        )
        .build()
        .unwrap();
    for signal in registration_trip_and_probe() {
        stack.send(signal);
    }
    stack.flush(Duration::from_secs(1)).await.unwrap();
    assert_eq!(counters(&stack.stats()), [stats("opens", 1, 2, 0, 0, 0, 0)]);
}

// ---------------------------------------------------------------------------------------
// Flush and shutdown

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn flush_times_out_naming_only_the_listeners_still_behind() {
    let (recorder, seen) = recorder();
    let stack = ListenerStack::builder()
        .listener("recorder", recorder)
        .listener("stuck", stuck(Arc::new(Notify::new())))
        .build()
        .unwrap();
    for n in 0..3 {
        stack.send(numbered(n));
    }

    let started = tokio::time::Instant::now();
    let err = stack.flush(Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    assert_eq!(err.listeners(), ["stuck"]);
    assert_eq!(
        err.to_string(),
        "listeners still behind after 300ms: stuck (3 signals pending)"
    );
    assert_eq!(*seen.lock().unwrap(), names(0..3));
    assert_eq!(
        counters(&stack.stats()),
        [
            stats("recorder", 3, 0, 0, 0, 0, 0),
            stats("stuck", 0, 0, 0, 0, 0, 3)
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn flush_with_nothing_sent_returns_at_once() {
    let (recorder, _) = recorder();
    let stack = ListenerStack::builder()
        .listener("recorder", recorder)
        .build()
        .unwrap();
    stack.flush(Duration::ZERO).await.unwrap();
    ListenerStack::default()
        .flush(Duration::ZERO)
        .await
        .unwrap();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn shutdown_delivers_what_was_queued_and_drops_what_comes_after() {
    let seen = Seen::default();
    let slow = service_fn({
        let seen = Arc::clone(&seen);
        move |signal: Signal| {
            let seen = Arc::clone(&seen);
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                seen.lock().unwrap().push(signal.circuit.to_string());
                Ok::<_, Infallible>(())
            }
        }
    });
    let stack = ListenerStack::builder()
        .listener("slow", slow)
        .build()
        .unwrap();
    for n in 0..5 {
        stack.send(numbered(n));
    }

    let started = tokio::time::Instant::now();
    stack.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(50));
    assert_eq!(*seen.lock().unwrap(), names(0..5));

    stack.send(numbered(5));
    stack.clone().send(numbered(6));
    assert_eq!(counters(&stack.stats()), [stats("slow", 5, 0, 2, 0, 0, 0)]);
    // Again: nothing left to do.
    stack.shutdown(Duration::from_secs(1)).await.unwrap();
    stack.flush(Duration::from_secs(1)).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), names(0..5));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn shutdown_gives_up_on_a_stuck_listener_and_counts_its_backlog_as_dropped() {
    let (recorder, seen) = recorder();
    let stack = ListenerStack::builder()
        .listener("stuck", stuck(Arc::new(Notify::new())))
        .listener("recorder", recorder)
        .build()
        .unwrap();
    for n in 0..3 {
        stack.send(numbered(n));
    }

    let err = stack
        .shutdown(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "listeners still behind after 100ms: stuck (3 signals pending)"
    );
    assert_eq!(*seen.lock().unwrap(), names(0..3));
    // The signal in flight and the two queued are abandoned.
    assert_eq!(
        counters(&stack.stats()),
        [
            stats("stuck", 0, 0, 3, 0, 0, 0),
            stats("recorder", 3, 0, 0, 0, 0, 0)
        ]
    );
    stack.flush(Duration::from_millis(100)).await.unwrap();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_listener_finishing_as_shutdown_gives_up_has_its_signal_counted_delivered() {
    let slow = service_fn(|_: Signal| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, Infallible>(())
    });
    let stack = ListenerStack::builder()
        .listener("slow", slow)
        .build()
        .unwrap();
    stack.send(numbered(0));
    // The listener finishes at the very instant the shutdown timeout runs out.
    let _ = stack.shutdown(Duration::from_millis(100)).await;
    assert_eq!(counters(&stack.stats()), [stats("slow", 1, 0, 0, 0, 0, 0)]);
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_stack_lets_workers_finish_their_queues() {
    let (recorder, seen) = recorder();
    let stack = ListenerStack::builder()
        .listener("recorder", recorder)
        .build()
        .unwrap();
    for n in 0..3 {
        stack.send(numbered(n));
    }
    drop(stack);
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert_eq!(*seen.lock().unwrap(), names(0..3));
}

// ---------------------------------------------------------------------------------------
// Building

#[test]
fn building_listeners_without_a_runtime_says_where_to_build() {
    let err = ListenerStack::builder()
        .listener("log", LogListener::new())
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::NoRuntime);
    assert_eq!(
        err.to_string(),
        "build the listener stack inside a tokio runtime (e.g. in #[tokio::main]): \
         each listener gets a worker task, and no runtime is running on this thread"
    );
}

#[test]
fn a_queue_capacity_of_zero_is_refused() {
    let err = ListenerStack::builder()
        .queue_capacity(0)
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::ZeroCapacity);
    assert_eq!(
        err.to_string(),
        "queue_capacity must be at least 1 (the default is 1024)"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_queue_capacity_beyond_what_tokio_can_hold_is_a_build_error_naming_the_field() {
    let max = tokio::sync::Semaphore::MAX_PERMITS;
    for capacity in [max + 1, usize::MAX] {
        let err = ListenerStack::builder()
            .queue_capacity(capacity)
            .listener("log", LogListener::new())
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::CapacityTooLarge { capacity, max });
        assert_eq!(
            err.to_string(),
            format!(
                "queue_capacity {capacity} is more than a tokio channel can hold; use at most \
                 {max} (the default is 1024; a queue only fills while its listener is behind)"
            )
        );
        let err = Fusebox::builder()
            .queue_capacity(capacity)
            .listener("log", LogListener::new())
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::CapacityTooLarge { capacity, max });
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_largest_queue_capacity_builds_and_delivers() {
    let (recorder, seen) = recorder();
    let stack = ListenerStack::builder()
        .queue_capacity(tokio::sync::Semaphore::MAX_PERMITS)
        .listener("recorder", recorder)
        .build()
        .unwrap();
    assert_eq!(stack.queue_capacity(), tokio::sync::Semaphore::MAX_PERMITS);
    for n in 0..3 {
        stack.send(numbered(n));
    }
    stack.flush(Duration::MAX).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), names(0..3));
    stack.shutdown(Duration::MAX).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn two_listeners_with_one_name_are_refused() {
    let err = ListenerStack::builder()
        .listener("log", LogListener::new())
        .listener("log", LogListener::new())
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::DuplicateName("log".to_owned()));
}

#[test]
fn a_stack_without_listeners_needs_no_runtime() {
    let stack = ListenerStack::builder().queue_capacity(8).build().unwrap();
    stack.send(numbered(0));
    assert_eq!(stack.stats(), []);
    ListenerStack::default().send(numbered(0));
    assert_eq!(stack.queue_capacity(), 8);
}

// ---------------------------------------------------------------------------------------
// The log listener

fn log_fields(circuit: &str, from: State, to: State, cause: &str) -> Vec<(String, String)> {
    [
        (
            "message",
            format!(
                "Circuit Breaker '{circuit}' transitioned from {} to {}",
                from.as_upper_str(),
                to.as_upper_str()
            ),
        ),
        ("circuit_name", circuit.to_owned()),
        ("old_state", from.as_str().to_owned()),
        ("new_state", to.as_str().to_owned()),
        ("cause", cause.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn log_event(
    target: &str,
    level: Level,
    circuit: &str,
    from: State,
    to: State,
    cause: &str,
) -> Captured {
    Captured {
        target: target.to_owned(),
        level,
        fields: log_fields(circuit, from, to, cause),
    }
}

async fn log(listener: &LogListener, signal: Signal) -> Handled {
    listener.clone().oneshot(signal).await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_warns_when_a_circuit_opens() {
    let (capture, _guard) = Capture::install();
    let rule = "min_requests(4) & failure_rate(0.5)";
    log(
        &LogListener::new(),
        signal(
            "inventory",
            State::Closed,
            State::Open,
            Cause::Tripped { rule: rule.into() },
        ),
    )
    .await;
    assert_eq!(
        capture.events(),
        [log_event(
            "fusebox",
            Level::WARN,
            "inventory",
            State::Closed,
            State::Open,
            "tripped"
        )]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_informs_about_probes_and_recovery_and_warns_on_forced_open() {
    let (capture, _guard) = Capture::install();
    let listener = LogListener::default();
    log(
        &listener,
        signal("inventory", State::Open, State::HalfOpen, Cause::Probe),
    )
    .await;
    log(
        &listener,
        signal(
            "inventory",
            State::HalfOpen,
            State::Closed,
            Cause::Recovered,
        ),
    )
    .await;
    log(
        &listener,
        signal("inventory", State::Closed, State::ForcedOpen, Cause::MANUAL),
    )
    .await;
    log(
        &listener,
        signal(
            "inventory",
            State::ForcedOpen,
            State::Disabled,
            Cause::MANUAL,
        ),
    )
    .await;
    assert_eq!(
        capture.events(),
        [
            log_event(
                "fusebox",
                Level::INFO,
                "inventory",
                State::Open,
                State::HalfOpen,
                "probe"
            ),
            log_event(
                "fusebox",
                Level::INFO,
                "inventory",
                State::HalfOpen,
                State::Closed,
                "recovered"
            ),
            log_event(
                "fusebox",
                Level::WARN,
                "inventory",
                State::Closed,
                State::ForcedOpen,
                "manual"
            ),
            log_event(
                "fusebox",
                Level::INFO,
                "inventory",
                State::ForcedOpen,
                State::Disabled,
                "manual"
            ),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_levels_can_be_overridden_per_target_state() {
    let (capture, _guard) = Capture::install();
    let listener = LogListener::new()
        .level(State::Open, Level::ERROR)
        .level(State::Closed, Level::DEBUG);
    log(
        &listener,
        signal("db", State::Closed, State::Open, Cause::MANUAL),
    )
    .await;
    log(
        &listener,
        signal("db", State::Open, State::HalfOpen, Cause::Probe),
    )
    .await;
    log(
        &listener,
        signal("db", State::HalfOpen, State::Closed, Cause::Recovered),
    )
    .await;
    log(
        &listener,
        signal("db", State::Closed, State::ForcedOpen, Cause::MANUAL),
    )
    .await;
    assert_eq!(
        capture.events(),
        [
            log_event(
                "fusebox",
                Level::ERROR,
                "db",
                State::Closed,
                State::Open,
                "manual"
            ),
            log_event(
                "fusebox",
                Level::INFO,
                "db",
                State::Open,
                State::HalfOpen,
                "probe"
            ),
            log_event(
                "fusebox",
                Level::DEBUG,
                "db",
                State::HalfOpen,
                State::Closed,
                "recovered"
            ),
            log_event(
                "fusebox",
                Level::WARN,
                "db",
                State::Closed,
                State::ForcedOpen,
                "manual"
            ),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_skips_registrations() {
    let (capture, _guard) = Capture::install();
    let handled = log(
        &LogListener::new(),
        signal("db", State::Closed, State::Closed, Cause::Registered),
    )
    .await;
    assert_eq!(handled, Handled::Skipped);
    assert_eq!(capture.events(), []);
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_events_are_selected_by_a_filter_on_the_fusebox_target() {
    let capture = Capture::default();
    let filter = Targets::new().with_target("fusebox", Level::WARN);
    let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(filter));
    let _guard = tracing::subscriber::set_default(subscriber);

    let listener = LogListener::new();
    log(
        &listener,
        signal("db", State::Closed, State::Open, Cause::MANUAL),
    )
    .await;
    log(
        &listener,
        signal("db", State::Open, State::HalfOpen, Cause::Probe),
    )
    .await;
    assert_eq!(
        capture.events(),
        [log_event(
            "fusebox",
            Level::WARN,
            "db",
            State::Closed,
            State::Open,
            "manual"
        )]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_levels_cover_every_tracing_level() {
    let (capture, _guard) = Capture::install();
    let levels = [
        Level::ERROR,
        Level::WARN,
        Level::INFO,
        Level::DEBUG,
        Level::TRACE,
    ];
    for level in levels {
        let listener = LogListener::new().level(State::Disabled, level);
        log(
            &listener,
            signal("db", State::Closed, State::Disabled, Cause::MANUAL),
        )
        .await;
    }
    let logged: Vec<Level> = capture.events().iter().map(|e| e.level).collect();
    assert_eq!(logged, levels);
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_reads_well_in_text_logs() {
    let (bytes, _guard) = install_text_log();
    log(
        &LogListener::new(),
        signal(
            "inventory",
            State::Closed,
            State::Open,
            Cause::Tripped {
                rule: "failure_rate(0.5)".into(),
            },
        ),
    )
    .await;
    assert_eq!(
        text(&bytes),
        " WARN fusebox: Circuit Breaker 'inventory' transitioned from CLOSED to OPEN \
         circuit_name=\"inventory\" old_state=\"closed\" new_state=\"open\" cause=\"tripped\"\n"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn log_listener_in_a_stack_logs_every_transition_in_order() {
    let (capture, _guard) = Capture::install();
    let stack = ListenerStack::builder()
        .listener("log", LogListener::new())
        .build()
        .unwrap();
    for signal in registration_trip_and_probe() {
        stack.send(signal);
    }
    stack.shutdown(Duration::from_secs(1)).await.unwrap();

    assert_eq!(
        capture.events(),
        [
            log_event(
                "fusebox",
                Level::WARN,
                "db",
                State::Closed,
                State::Open,
                "manual"
            ),
            log_event(
                "fusebox",
                Level::INFO,
                "db",
                State::Open,
                State::HalfOpen,
                "probe"
            ),
        ]
    );
    // The registration reached the listener, which skipped it.
    assert_eq!(counters(&stack.stats()), [stats("log", 2, 1, 0, 0, 0, 0)]);
}
