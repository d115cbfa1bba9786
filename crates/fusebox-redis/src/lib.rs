//! Fleet-wide fusebox circuits through Redis: the replicas of a service share manual
//! overrides and, per circuit, their trips.
//!
//! Give a [`RedisFleet`] to [`FuseboxBuilder::fleet`](fusebox::FuseboxBuilder::fleet) and
//! - a manual command issued with [`Scope::Fleet`](fusebox::Scope::Fleet) (`force_open`,
//!   `disable`, `metrics_only`, `reset`; from the admin API, `?scope=fleet`) reaches every
//!   replica within a second, stands until a fleet-wide `reset`, is adopted by replicas that
//!   start later, and refuses local commands on the circuit meanwhile;
//! - a circuit named in [`share_trips`](fusebox::FuseboxBuilder::share_trips) (config:
//!   `fleet = "shared"`) that trips on one replica opens on all of them (cause `fleet`, the
//!   tripping replica as the signal's origin) until the same probe deadline; then one replica
//!   takes the probe lease (`SET NX PX`) and probes for the fleet, and its recovery or
//!   reopening reaches every replica.
//!
//! Nothing on the call path touches the network. One background task per registry holds a
//! RESP3 connection: fleet state arrives as pub/sub messages on the same connection and as
//! keys read after each (re)connection, and is applied to local circuits as transitions, so
//! listeners, metrics and Slack see them like any other. When Redis is unreachable (down,
//! partitioned, wrong password) every replica keeps working on its own: the task logs the
//! outage once, sets `circuit_breaker_fleet_connected{replica}` to 0, reconnects with
//! backoff and re-syncs. A partition that closes no connection is noticed by a `PING` every
//! second that must answer within the [timeout](RedisFleetBuilder::timeout).
//!
//! `docs/FLEET.md` in the repository says what this costs Redis and what holds in each failure
//! mode. The keys are listed in the source (`wire.rs`); all of them start with the
//! [key prefix](RedisFleetBuilder::key_prefix).
//!
//! | feature | what it adds |
//! |---|---|
//! | `tls` (default) | `rediss://` URLs: rustls, the platform's roots or [your own](RedisFleetBuilder::tls_root_certificate) |
//!
//! ```no_run
//! use std::time::Duration;
//! use fusebox::{Fusebox, Scope, State};
//! use fusebox_redis::RedisFleet;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fleet = RedisFleet::builder("redis://:s3cret@127.0.0.1:6379")
//!     .replica("checkout-7f9c")
//!     .key_prefix("checkout:fusebox:")
//!     .build()?;
//! let fusebox = Fusebox::builder()
//!     .fleet(fleet.clone())
//!     .share_trips("payments")
//!     .build()?;
//! if let Err(error) = fleet.ready(Duration::from_secs(2)).await {
//!     // Wrong password, Redis down: circuits work locally; the fleet keeps reconnecting.
//!     eprintln!("running without the fleet for now: {error}");
//! }
//! fusebox.circuit("payments");
//! fusebox.command("payments", State::ForcedOpen, Scope::Fleet).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The client is [redis-rs](https://docs.rs/redis) (the `redis` crate): the most used Redis
//! client for Rust, kept by the Redis organisation, on tokio, with RESP3 pushes on a
//! multiplexed connection, TLS through rustls, and Lua scripts. Its multiplexed connection is
//! used directly rather than through its `ConnectionManager`, whose reconnections are
//! invisible to the caller: this crate must know when a connection is new, to re-subscribe,
//! re-sync and report the outage.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod known;
mod session;
mod wire;

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use fusebox::fleet::{Fleet, FleetError, FleetFuture, Override};
use fusebox::{Cause, Circuit, Signal, State, WeakFusebox};
use tokio::sync::{mpsc, oneshot, watch};

use self::known::Known;
use self::wire::Keys;

/// The gauge: 1 while this replica's connection to the store is up and synced, else 0.
pub const CONNECTED_METRIC: &str = "circuit_breaker_fleet_connected";

/// Events the registry hands the session task; a bound, so a stalled task cannot grow memory.
const QUEUE: usize = 4096;

/// A fleet of replicas sharing circuits through one Redis; cheap to clone. See the
/// [crate docs](crate).
#[derive(Clone)]
pub struct RedisFleet {
    shared: Arc<Shared>,
}

/// What the handles, the registry and the session task share.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) known: Mutex<Known>,
    connected: AtomicBool,
    status: watch::Sender<Status>,
    events: mpsc::Sender<Event>,
    receiver: Mutex<Option<mpsc::Receiver<Event>>>,
    dropped: AtomicU64,
}

/// How the session task reaches and uses the store.
pub(crate) struct Settings {
    pub(crate) replica: Arc<str>,
    pub(crate) keys: Keys,
    /// The URL without its password, for messages.
    pub(crate) target: String,
    pub(crate) client: redis::Client,
    pub(crate) timeout: Duration,
    pub(crate) ping_every: Duration,
    pub(crate) backoff: (Duration, Duration),
    pub(crate) lease: Duration,
}

/// What the registry asks of the session task.
pub(crate) enum Event {
    /// A shared circuit of this replica tripped (or reopened) or recovered.
    Shared { circuit: Arc<str>, news: News },
    Command {
        circuit: String,
        to: State,
        reply: oneshot::Sender<Result<bool, FleetError>>,
    },
}

/// What the fleet hears of a shared circuit's own transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum News {
    /// Opened by its trip rule, a reopening or a probe timeout.
    Opened,
    /// Closed by its probes.
    Recovered,
}

impl News {
    /// The news in a signal of this replica's own, if it is any.
    fn of(signal: &Signal) -> Option<News> {
        if signal.origin.is_some() {
            return None; // another replica's news, applied here: not ours to spread
        }
        match (signal.to, &signal.cause) {
            (State::Open, Cause::Tripped { .. } | Cause::Reopened { .. } | Cause::ProbeTimeout) => {
                Some(News::Opened)
            }
            (State::Closed, Cause::Recovered) => Some(News::Recovered),
            _ => None,
        }
    }
}

/// The connection as [`RedisFleet::ready`] sees it.
#[derive(Clone, Debug)]
pub(crate) enum Status {
    Starting,
    Up,
    Down(ConnectError),
}

impl Shared {
    pub(crate) fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_status(&self, status: Status) {
        let up = matches!(status, Status::Up);
        self.connected.store(up, Ordering::Release);
        self.record_connected();
        self.status.send_replace(status);
    }

    /// Sets the gauge from the connection's state; also on every ping, because a recorder
    /// installed after the connection came up (an application often builds its fleet before
    /// its metrics exporter) would otherwise never see it.
    pub(crate) fn record_connected(&self) {
        metrics::describe_gauge!(
            CONNECTED_METRIC,
            "Whether this replica's connection to the fleet's store (Redis) is up and synced: \
             1, or 0 while it works on its own"
        );
        let up = self.connected.load(Ordering::Acquire);
        metrics::gauge!(CONNECTED_METRIC, "replica" => self.settings.replica.to_string())
            .set(if up { 1.0 } else { 0.0 });
    }
}

impl RedisFleet {
    /// A builder for a fleet whose store is at `url`: `redis://[[user]:password@]host[:port][/db]`,
    /// `rediss://...` for TLS (feature `tls`), or `unix:///path/to/redis.sock`. The password
    /// never appears in `Debug` output, errors or logs.
    pub fn builder(url: impl Into<String>) -> RedisFleetBuilder {
        RedisFleetBuilder {
            url: url.into(),
            replica: None,
            prefix: "fusebox:".to_owned(),
            timeout: Duration::from_secs(2),
            ping_every: Duration::from_secs(1),
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
            lease: Duration::from_secs(10),
            root_certificate: None,
        }
    }

    /// This replica's id, as other replicas' signals and dashboards name it.
    pub fn replica(&self) -> &str {
        &self.shared.settings.replica
    }

    /// Whether the connection to the store is up and synced now.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Waits, at most `timeout`, for the first connection to the store; the registry must
    /// have been built with this fleet. The registry works locally whatever this says, and the
    /// fleet keeps reconnecting in the background.
    ///
    /// # Errors
    /// [`ConnectError`] saying why the store could not be used (wrong password, nothing
    /// listening, TLS, no answer in time).
    pub async fn ready(&self, timeout: Duration) -> Result<(), ConnectError> {
        let mut status = self.shared.status.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                match &*status.borrow_and_update() {
                    Status::Up => return Ok(()),
                    Status::Down(error) => return Err(error.clone()),
                    Status::Starting => {}
                }
                if status.changed().await.is_err() {
                    return Err(ConnectError::new("the fleet's session task ended"));
                }
            }
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(ConnectError::new(format!(
                "no connection to {} within {timeout:?}{}",
                self.shared.settings.target,
                if self.shared.receiver_taken() {
                    ""
                } else {
                    "; build a registry with this fleet first (`FuseboxBuilder::fleet`)"
                }
            )))
        })
    }

    /// Queues `event` for the session task without waiting; false if the queue is full.
    fn send(&self, event: Event) -> bool {
        self.shared.events.try_send(event).is_ok()
    }
}

impl Shared {
    fn receiver_taken(&self) -> bool {
        self.receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
}

impl Fleet for RedisFleet {
    fn attach(&self, circuits: WeakFusebox) {
        let receiver = self
            .shared
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(receiver) = receiver else {
            tracing::error!(
                target: "fusebox::fleet",
                replica = %self.shared.settings.replica,
                "this RedisFleet already serves a registry; build one RedisFleet per registry"
            );
            return;
        };
        self.shared.set_status(Status::Starting);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(session::run(self.shared.clone(), circuits, receiver));
            }
            Err(_) => {
                let error = ConnectError::new(
                    "no tokio runtime: build the registry inside one to share it with the fleet",
                );
                tracing::error!(target: "fusebox::fleet", "{error}");
                self.shared.set_status(Status::Down(error));
            }
        }
    }

    fn command(&self, circuit: &str, to: State) -> FleetFuture {
        let (reply, answer) = oneshot::channel();
        let event = Event::Command {
            circuit: circuit.to_owned(),
            to,
            reply,
        };
        let sent = self.send(event);
        let target = self.shared.settings.target.clone();
        // A connection attempt and one command, each bounded by the timeout.
        let patience = self.shared.settings.timeout.saturating_mul(3);
        Box::pin(async move {
            if !sent {
                return Err(FleetError::new(format!(
                    "the fleet's queue to {target} is full or closed; try again"
                )));
            }
            match tokio::time::timeout(patience, answer).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(FleetError::new("the fleet's session task ended")),
                Err(_) => Err(FleetError::new(format!(
                    "{target} did not take the command within {patience:?}"
                ))),
            }
        })
    }

    fn transition(&self, signal: &Signal) {
        let Some(news) = News::of(signal) else {
            return;
        };
        let circuit = signal.circuit.clone();
        if !self.send(Event::Shared { circuit, news })
            && self.shared.dropped.fetch_add(1, Ordering::Relaxed) == 0
        {
            tracing::warn!(
                target: "fusebox::fleet",
                circuit = %signal.circuit,
                "the fleet's queue is full: a transition of a shared circuit stays local (logged once)"
            );
        }
    }

    fn override_of(&self, circuit: &str) -> Option<Override> {
        self.shared.known().overrides.get(circuit).cloned()
    }

    fn adopt(&self, circuit: &Circuit) {
        self.shared
            .known()
            .adopt(circuit, &self.shared.settings.replica);
    }
}

impl fmt::Debug for RedisFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.shared.settings;
        f.debug_struct("RedisFleet")
            .field("replica", &settings.replica)
            .field("url", &settings.target)
            .field("keys", &settings.keys)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisFleet`]; see [`RedisFleet::builder`].
#[must_use]
pub struct RedisFleetBuilder {
    url: String,
    replica: Option<String>,
    prefix: String,
    timeout: Duration,
    ping_every: Duration,
    backoff: (Duration, Duration),
    lease: Duration,
    root_certificate: Option<Vec<u8>>,
}

impl RedisFleetBuilder {
    /// This replica's id (default: `$HOSTNAME`, a pod's name on Kubernetes, else a random
    /// id): it names the origin of the commands and trips this replica spreads.
    pub fn replica(mut self, id: impl Into<String>) -> Self {
        self.replica = Some(id.into());
        self
    }

    /// What every key and the channel start with (default `fusebox:`): one prefix per
    /// service, so several services share a Redis without sharing circuits.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a connection attempt or a command may take (default 2 s). It is also how
    /// long after the shared probe deadline a follower waits for the lease decision before it
    /// probes on its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often the connection is checked with `PING` (default 1 s): a partition that
    /// closes no connection is noticed within this plus the timeout.
    pub fn ping_every(mut self, interval: Duration) -> Self {
        self.ping_every = interval;
        self
    }

    /// The wait before the first reconnection attempt, doubled after each failure up to `max`
    /// (defaults 100 ms and 5 s), with ±20 % jitter so a fleet does not reconnect in step.
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = (min, max);
        self
    }

    /// How long the probe lease lasts (default 10 s): the prober renews it while its circuit
    /// probes; if the prober goes away, another replica probes after this.
    pub fn probe_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// A root certificate (PEM) to trust for `rediss://` instead of the platform's roots:
    /// for a Redis with a certificate from a private authority.
    #[cfg(feature = "tls")]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    /// Checks the settings and prepares the client; connecting starts when a registry is
    /// built with the fleet.
    ///
    /// ```
    /// let error = fusebox_redis::RedisFleet::builder("http://:hunter2@cache:6379")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "invalid Redis URL \"http://:***@cache:6379\": Redis URL did not parse; \
    ///      write redis://[[user]:password@]host[:port][/db], rediss://... for TLS, or unix:///path"
    /// );
    /// ```
    ///
    /// # Errors
    /// [`BuildError`] naming the setting to fix: a URL that does not parse, an empty replica
    /// id, a zero duration.
    pub fn build(self) -> Result<RedisFleet, BuildError> {
        let target = redact(&self.url);
        let invalid_url = |error: &dyn fmt::Display| {
            BuildError::new(format!(
                "invalid Redis URL {target:?}: {error}; write \
                 redis://[[user]:password@]host[:port][/db], rediss://... for TLS, or unix:///path"
            ))
        };
        let info = redis::IntoConnectionInfo::into_connection_info(self.url.as_str()).map_err(
            |error| {
                // "Invalid database number - InvalidClientConfig": the kind is noise here.
                let text = error.to_string();
                invalid_url(&text.trim_end_matches(" - InvalidClientConfig"))
            },
        )?;
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let info = info.set_redis_settings(resp3);
        let client = match self.root_certificate {
            #[cfg(feature = "tls")]
            Some(root) => redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                },
            ),
            _ => redis::Client::open(info),
        }
        .map_err(|error| invalid_url(&error))?;

        let replica = self.replica.unwrap_or_else(default_replica);
        if replica.is_empty() || replica.chars().any(char::is_whitespace) {
            return Err(BuildError::new(format!(
                "replica: {replica:?} is not a replica id; use a non-empty id without spaces, such as the pod name"
            )));
        }
        for (field, value) in [
            ("timeout", self.timeout),
            ("ping_every", self.ping_every),
            ("probe_lease", self.lease),
            ("reconnect_backoff (min)", self.backoff.0),
        ] {
            if value.is_zero() {
                return Err(BuildError::new(format!("{field}: must be longer than 0s")));
            }
        }
        if self.backoff.1 < self.backoff.0 {
            return Err(BuildError::new(
                "reconnect_backoff: max must be at least min",
            ));
        }
        let (events, receiver) = mpsc::channel(QUEUE);
        Ok(RedisFleet {
            shared: Arc::new(Shared {
                settings: Settings {
                    replica: replica.into(),
                    keys: Keys::new(self.prefix),
                    target,
                    client,
                    timeout: self.timeout,
                    ping_every: self.ping_every,
                    backoff: self.backoff,
                    lease: self.lease,
                },
                known: Mutex::default(),
                connected: AtomicBool::new(false),
                status: watch::Sender::new(Status::Starting),
                events,
                receiver: Mutex::new(Some(receiver)),
                dropped: AtomicU64::new(0),
            }),
        })
    }
}

impl fmt::Debug for RedisFleetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisFleetBuilder")
            .field("url", &redact(&self.url))
            .field("replica", &self.replica)
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("ping_every", &self.ping_every)
            .field("reconnect_backoff", &self.backoff)
            .field("probe_lease", &self.lease)
            .field("tls_root_certificate", &self.root_certificate.is_some())
            .finish()
    }
}

/// `$HOSTNAME`, else `replica-` and 8 random hex digits.
fn default_replica() -> String {
    match std::env::var("HOSTNAME") {
        Ok(host) if !host.trim().is_empty() => host.trim().to_owned(),
        _ => {
            let seed = (SystemTime::now(), std::process::id());
            format!("replica-{:08x}", RandomState::new().hash_one(seed) as u32)
        }
    }
}

/// `url` with its password (`:password@`, or `pass=` in a `unix://` query) as `***`.
fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            // `redis://secret@host`: what stands before `@` may be a password.
            None => format!("***@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("pass" | "password", _)) => {
                        format!("{}=***", pair.split('=').next().unwrap_or_default())
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

/// Settings a [`RedisFleet`] cannot run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    message: String,
}

impl BuildError {
    fn new(message: impl Into<String>) -> BuildError {
        BuildError {
            message: message.into(),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

/// Why the store could not be used: see [`RedisFleet::ready`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectError {
    message: String,
}

impl ConnectError {
    pub(crate) fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_wherever_they_stand() {
        assert_eq!(
            redact("redis://:hunter2@cache:6379/2"),
            "redis://:***@cache:6379/2"
        );
        assert_eq!(
            redact("rediss://app:hunter2@cache/#insecure"),
            "rediss://app:***@cache/#insecure"
        );
        assert_eq!(redact("redis://hunter2@cache"), "redis://***@cache");
        assert_eq!(
            redact("unix:///run/redis.sock?db=1&pass=hunter2"),
            "unix:///run/redis.sock?db=1&pass=***"
        );
        assert_eq!(redact("redis://cache:6379"), "redis://cache:6379");
    }

    #[test]
    fn the_password_is_in_no_debug_output() {
        let builder = RedisFleet::builder("redis://app:hunter2@127.0.0.1:6379").replica("a");
        assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
        let fleet = builder.build().unwrap();
        let debug = format!("{fleet:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("redis://app:***@127.0.0.1:6379"), "{debug}");
    }

    #[test]
    fn settings_are_checked_at_build() {
        let error = |builder: RedisFleetBuilder| builder.build().unwrap_err().to_string();
        let builder = || RedisFleet::builder("redis://127.0.0.1").replica("a");
        assert_eq!(
            error(builder().replica("")),
            "replica: \"\" is not a replica id; use a non-empty id without spaces, such as the pod name"
        );
        assert_eq!(
            error(builder().probe_lease(Duration::ZERO)),
            "probe_lease: must be longer than 0s"
        );
        assert_eq!(
            error(builder().reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1))),
            "reconnect_backoff: max must be at least min"
        );
        assert_eq!(
            error(RedisFleet::builder("redis://:pw@127.0.0.1/x")),
            "invalid Redis URL \"redis://:***@127.0.0.1/x\": Invalid database number; write \
             redis://[[user]:password@]host[:port][/db], rediss://... for TLS, or unix:///path"
        );
    }
}
