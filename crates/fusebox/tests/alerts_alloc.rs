//! The error-burst layer's costs, counted by a global allocator that counts the allocations
//! of the measuring thread only: nothing per event once a fingerprint is known, and memory
//! bounded by the registry's cap whatever the number of distinct messages.
#![cfg(feature = "alerts")]
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests, where a failed unwrap is a failed test"
)]

use fusebox::Fusebox;
use fusebox::alerts::{ErrorBursts, OVERFLOW_FINGERPRINT};
use fusebox::{State, Window};
use tracing_subscriber::layer::SubscriberExt;

fn order_failed(order: u32) {
    tracing::error!(order, user = "bob", "order {order} failed for user \"bob\"");
}

fn disk_full(disk: u32) {
    tracing::error!("disk {disk} full");
}

#[test]
fn counting_an_error_whose_fingerprint_is_known_allocates_nothing() {
    let fusebox = Fusebox::builder().build().unwrap();
    let layer = ErrorBursts::new(&fusebox);
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(layer.clone()));
    for order in 0..150 {
        order_failed(order); // known, then tripped, then suppressed
    }
    disk_full(0); // known, closed
    let bursts = layer.bursts();
    assert_eq!(bursts.len(), 2);
    assert_eq!(bursts[1].state, State::Open, "{bursts:?}");

    let counted = allocation_counter::measure(|| {
        for n in 0..10_000 {
            order_failed(n); // while the alert stands
            if n % 200 == 0 {
                disk_full(n); // recorded on a closed circuit; 50 stay below the rule
            }
        }
    });
    assert_eq!(counted.count_total, 0);
    assert_eq!(layer.bursts()[0].events, 51);

    // A new fingerprint does allocate: the counter sees allocations at all.
    let miss = allocation_counter::measure(|| tracing::error!("a new error"));
    assert!(miss.count_total > 0);
}

/// `n` as letters only, so that normalisation keeps every message distinct.
fn word(mut n: u32) -> String {
    let mut word = String::new();
    loop {
        word.push(char::from(b'g' + u8::try_from(n % 20).unwrap()));
        n /= 20;
        if n == 0 {
            return word;
        }
    }
}

/// Logs `distinct` errors of distinct messages into a fresh registry of at most 100 keyed
/// circuits; the bytes the measuring thread still holds afterwards, and the most it held.
fn distinct_errors(distinct: u32) -> (i64, u64) {
    let messages: Vec<String> = (0..distinct)
        .map(|n| format!("no route to {}", word(n)))
        .collect();
    let fusebox = Fusebox::builder().max_keyed_circuits(100).build().unwrap();
    let layer = ErrorBursts::new(&fusebox);
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    let _subscriber = tracing::subscriber::set_default(subscriber);
    let info = allocation_counter::measure(|| {
        for message in &messages {
            tracing::error!("{message}");
        }
    });
    let bursts = layer.bursts();
    assert_eq!(bursts.len(), 101);
    assert_eq!(&*bursts[100].fingerprint, OVERFLOW_FINGERPRINT);
    assert_eq!(bursts[100].events, u64::from(distinct) - 100);
    assert_eq!(fusebox.snapshot().len(), 101);
    let window = fusebox.get(OVERFLOW_FINGERPRINT).unwrap().policy().window();
    assert_eq!(window, Window::time(std::time::Duration::from_secs(60)));
    (info.bytes_current, info.bytes_max)
}

#[test]
fn a_hundred_thousand_distinct_messages_hold_no_more_memory_than_a_thousand() {
    let (held_1k, peak_1k) = distinct_errors(1_000);
    let (held_100k, peak_100k) = distinct_errors(100_000);
    println!(
        "1,000 distinct: {held_1k} bytes held, {peak_1k} at most; \
         100,000 distinct: {held_100k} bytes held, {peak_100k} at most"
    );
    assert!(
        held_100k <= held_1k + held_1k / 10,
        "{held_100k} vs {held_1k}"
    );
    assert!(
        peak_100k <= peak_1k + peak_1k / 10,
        "{peak_100k} vs {peak_1k}"
    );
}

#[test]
fn a_huge_message_does_not_pin_its_size_in_the_thread() {
    let fusebox = Fusebox::builder().build().unwrap();
    let layer = ErrorBursts::new(&fusebox);
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(layer.clone()));
    let huge = "x".repeat(1 << 20);
    tracing::error!("{huge}"); // warms up the thread's buffers with a megabyte
    let held = allocation_counter::measure(|| {
        let huge = "y".repeat(1 << 20);
        tracing::error!("{huge}");
        drop(huge);
    });
    assert!(held.bytes_current < 64 * 1024, "{held:?}");
    let details = fusebox
        .get(&layer.bursts()[1].fingerprint)
        .unwrap()
        .details();
    let sample = &details
        .iter()
        .find(|(label, _)| label == "sample")
        .unwrap()
        .1;
    assert_eq!(sample.chars().count(), 1_001, "a thousand characters and …");
}
