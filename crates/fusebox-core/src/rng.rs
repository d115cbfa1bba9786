//! A tiny lock-free random source (SplitMix64) for permits and jitter.
//!
//! Statistical quality is ample for "admit with probability p" and jitter factors; it is not for
//! anything secret. Seeding it makes probabilistic behaviour reproducible in tests.

use std::sync::atomic::{AtomicU64, Ordering};

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Debug)]
pub(crate) struct Rng {
    state: AtomicU64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng {
            state: AtomicU64::new(seed),
        }
    }

    /// A seed that differs between circuits and runs: `std`'s randomly keyed hasher (seeded
    /// from the operating system once per thread, then varied per use) over the name.
    pub(crate) fn seed_from(name: &str) -> u64 {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(name)
    }

    pub(crate) fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly
    pub(crate) fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough_and_in_range() {
        let rng = Rng::new(7);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let below_half = draws.iter().filter(|d| **d < 0.5).count();
        assert!((4_700..=5_300).contains(&below_half), "{below_half}");
    }

    #[test]
    fn same_seed_same_sequence() {
        let (a, b) = (Rng::new(42), Rng::new(42));
        let a: Vec<_> = (0..5).map(|_| a.next_u64()).collect();
        let b: Vec<_> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(a, b);
    }
}
