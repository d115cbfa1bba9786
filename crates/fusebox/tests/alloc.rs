//! Keyed routing allocates nothing once a key's circuit exists, counted by a global allocator
//! that counts the allocations of the measuring thread only.
// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use fusebox::Fusebox;
use fusebox::key::{Key, Keyed, SelectCircuit};

/// Keys a request by its own text, borrowed: the key costs no allocation.
#[derive(Clone)]
struct ByName;

impl Key<String> for ByName {
    fn key<'r>(&self, request: &'r String) -> Cow<'r, str> {
        Cow::Borrowed(request)
    }
}

#[test]
fn a_keyed_hit_over_a_thousand_circuits_allocates_nothing() {
    let fusebox = Fusebox::builder().build().unwrap();
    let keyed = Keyed::new(fusebox.clone(), ByName);
    let keys: Vec<String> = (0..1_000).map(|n| format!("host-{n}.example")).collect();
    for key in &keys {
        drop(keyed.acquire(key).unwrap()); // creates every circuit
    }
    assert_eq!(fusebox.snapshot().len(), 1_000);

    let hits = allocation_counter::measure(|| {
        for key in keys.iter().cycle().take(10_000) {
            let admission = keyed.acquire(key).unwrap();
            drop(admission);
        }
    });
    assert_eq!(hits.count_total, 0);

    // A miss creates a circuit, so it does allocate: the counter sees allocations at all.
    let miss = allocation_counter::measure(|| {
        drop(keyed.acquire(&"host-new.example".to_owned()).unwrap());
    });
    assert!(miss.count_total > 0);
}
