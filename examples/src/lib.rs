//! Runnable examples of fusebox live in `examples/`: `cargo run -p examples --example demo`.
//! The library only compiles the README's examples as doc tests: this is the one package that
//! depends on every fusebox crate.

/// The README's examples, compiled (and run where they bind no socket) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
