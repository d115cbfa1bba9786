//! Criterion benchmarks of fusebox live in `benches/`; run them with
//! `cargo bench -p benches`. This library is empty on purpose: the package exists for its
//! bench targets.
