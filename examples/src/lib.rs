//! Runnable examples of fusebox live in `examples/`: `cargo run -p examples --example demo`.
//! This library is empty on purpose: the package exists for its examples.
