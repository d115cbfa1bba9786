//! Listeners for [fusebox](https://docs.rs/fusebox) that reach people: a Slack incident thread
//! per circuit ([`SlackListener`]) and a JSON webhook ([`WebhookListener`]).
//!
//! Both are tower services of [`Signal`](fusebox_core::Signal), so they plug into
//! `Fusebox::builder().listener(..)` and compose with tower middleware (`timeout`,
//! `rate_limit`). fusebox delivers signals to each listener from its own worker task through a
//! bounded queue: a slow, failing or rate-limited Slack never slows the protected service down.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rustls` | yes | TLS for `https://` URLs (Slack itself), with `rustls` and the platform's certificate roots. Without it, only `http://` URLs work (a local proxy, tests). |
//!
//! # Slack
//!
//! ```no_run
//! use std::time::Duration;
//! use fusebox::Fusebox;
//! use fusebox_core::Policy;
//! use fusebox_core::trip::{failure_rate, min_requests};
//! use fusebox_slack::SlackListener;
//! use tower::ServiceBuilder;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // SLACK_BOT_TOKEN=xoxb-…  SLACK_CHANNEL_ID=C…
//!     let slack = SlackListener::from_env()?;
//!     let fusebox = Fusebox::builder()
//!         .default_policy(Policy::builder().trip(min_requests(20) & failure_rate(0.5)).build()?)
//!         .listener(
//!             "slack",
//!             ServiceBuilder::new()
//!                 .timeout(Duration::from_secs(10))
//!                 .rate_limit(1, Duration::from_secs(1))
//!                 .service(slack),
//!         )
//!         .build()?;
//!     // ... protect services with `CircuitBreakerLayer::new(fusebox.circuit("payments"))` ...
//!     fusebox.shutdown(Duration::from_secs(15)).await?;
//!     Ok(())
//! }
//! ```
//!
//! When `payments` trips, the channel gets *🚨 Circuit Breaker Triggered* with the circuit,
//! `closed → open`, the cause (`tripped: min_requests(20) & failure_rate(0.5)`), the failure
//! rate at that moment and the time; recovery attempts follow in that message's thread, and
//! *✅ Circuit Breaker Recovered* closes the thread and is also shown in the channel. See
//! [`SlackListener`] for the thread rules and [`Templates`] to change the words.
//!
//! ## Troubleshooting
//!
//! What is wrong with the settings is found when a listener is built:
//! [`SlackListener::from_env`] and the builders return a [`ConfigError`] naming the variable
//! or setting to fix. What goes wrong while posting is logged by fusebox (target
//! `fusebox::listener`) and counted in `Fusebox::listener_stats`. The usual ones:
//!
//! - `invalid_auth`: `SLACK_BOT_TOKEN` is not a valid bot token. Use the *Bot User OAuth Token*
//!   (`xoxb-…`) and check the app is still installed.
//! - `not_in_channel`: invite the bot: `/invite @yourbot` in the channel.
//! - `channel_not_found`: `SLACK_CHANNEL_ID` must be the channel's ID (`C…`, at the bottom of
//!   the channel details), not its name, and the bot must see the channel.
//! - rate limits: Slack takes about one message per second per channel; the listener waits
//!   `Retry-After` and retries, and `rate_limit(1, 1 s)` in front of it avoids most 429s.
//! - `Slack is failing`: Slack answered 5xx; see <https://slack-status.com>.
//! - `Slack did not answer within 10s`: the request timed out (the listener's `timeout`).
//!
//! # Webhook body
//!
//! [`WebhookListener`] POSTs each signal as one JSON object, the
//! [signal JSON of `fusebox-core`](fusebox_core#json-feature-serde) (whose table says what
//! each field means); the admin API of `fusebox-axum` shows circuits in the same terms:
//!
//! ```json
//! {
//!   "circuit": "payments",
//!   "from": "closed",
//!   "to": "open",
//!   "at": "2026-11-21T12:00:00.250Z",
//!   "at_unix_ms": 1795262400250,
//!   "cause": "tripped",
//!   "rule": "min_requests(20) & failure_rate(0.5)",
//!   "scope": null,
//!   "origin": null,
//!   "details": {},
//!   "metrics": {
//!     "total": 24,
//!     "failures": 15,
//!     "failure_rate": 0.625,
//!     "avg_latency_ms": null,
//!     "consecutive_failures": 3,
//!     "slow": []
//!   }
//! }
//! ```
//!
//! Field order is not significant; new fields may be added.
//!
//! With [`WebhookFormat::TeamsCard`] the listener posts an Adaptive Card for a Microsoft
//! Teams *workflow* webhook instead (`{"type": "message", "attachments": [{"contentType":
//! "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", ...}}]}`),
//! with the same facts and details.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod future;
mod slack;
mod teams;
mod webhook;

pub use config::ConfigError;
pub use future::ResponseFuture;
pub use slack::error::SlackError;
pub use slack::templates::{Labels, Template, Templates};
pub use slack::{SlackListener, SlackListenerBuilder};
pub use teams::WebhookFormat;
pub use webhook::{WebhookError, WebhookListener, WebhookListenerBuilder};
