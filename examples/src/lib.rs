//! Runnable examples of fusebox live in `examples/`: `cargo run -p examples --example <name>`.
//! Each ends by itself (servers exercise themselves over 127.0.0.1 and exit unless told to
//! keep serving), and CI runs every one.
//!
//! | example | what it shows |
//! |---|---|
//! | `demo` | the tour: a gateway with route and upstream circuits, a scripted outage, the dashboard, `/metrics`, Slack |
//! | `axum_server` | one circuit per axum route, transitions in the `tracing` log (`-- --serve` keeps serving) |
//! | `reqwest_client` | an outbound reqwest client with one circuit per host, tripping and recovering |
//! | `hyper_client` | a hyper-util client behind a fixed circuit, 5xx responses as failures |
//! | `fallback` | `FallbackLayer`: values for rejected and failed calls |
//! | `sync_calls` | `Circuit::call` around plain functions, from several threads, no runtime |
//! | `config_file` | policies from a TOML file, and the error a bad value gets |
//! | `alert_once` | "alert once when the same error happens 100 times in a minute" |
//! | `outage` | a hard outage served as Prometheus metrics, for the alerting check |
//!
//! The library only compiles the README's examples as doc tests: this is the one package that
//! depends on every fusebox crate.

/// The README's examples, compiled (and run where they bind no socket) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
