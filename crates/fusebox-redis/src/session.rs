//! The session task: one per registry. It connects (RESP3, with pushes), subscribes,
//! re-syncs from the keys, then serves until the connection is lost: messages from other
//! replicas, the registry's commands and shared transitions, probe lease timers, and a `PING`
//! that notices a silent partition. Lost, it reports the outage once and reconnects with
//! backoff. Callers never wait on it: the registry only queues events.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fusebox::fleet::{FleetError, Override};
use fusebox::{Circuit, Fusebox, State, WeakFusebox};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, RedisError, Script, Value};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, sleep_until};

use crate::known::{Opened, allow_probe, apply_command, close, hold_open, origin_of};
use crate::wire::{self, Kind, Message, StoredOverride, StoredTrip};
use crate::{ConnectError, Event, News, Shared, Status};

/// Why a session ended.
enum End {
    /// The registry is gone: the task ends.
    Closed,
    /// The connection failed; reconnect.
    Lost(String),
}

/// Runs until the registry is dropped.
pub(crate) async fn run(
    shared: Arc<Shared>,
    registry: WeakFusebox,
    mut events: mpsc::Receiver<Event>,
) {
    let settings = &shared.settings;
    let (min, max) = settings.backoff;
    let mut backoff = min;
    let mut store_id: Option<String> = None;
    // Whether the current outage was logged: once per outage, not once per attempt.
    let mut outage_logged = false;
    loop {
        match Session::open(&shared, &registry, &mut store_id).await {
            Ok(mut session) => {
                backoff = min;
                shared.set_status(Status::Up);
                if outage_logged {
                    tracing::info!(
                        target: "fusebox::fleet",
                        replica = %settings.replica,
                        store = %settings.target,
                        "the fleet store is back: re-synced, circuits follow the fleet again"
                    );
                }
                match session.serve(&mut events).await {
                    End::Closed => return,
                    End::Lost(reason) => {
                        let error = ConnectError::new(format!(
                            "lost the connection to {}: {reason}",
                            settings.target
                        ));
                        tracing::warn!(
                            target: "fusebox::fleet",
                            replica = %settings.replica,
                            "{error}; circuits keep working on their own; reconnecting with backoff"
                        );
                        outage_logged = true;
                        shared.set_status(Status::Down(error));
                    }
                }
            }
            Err(error) => {
                if !outage_logged {
                    tracing::error!(
                        target: "fusebox::fleet",
                        replica = %settings.replica,
                        "{error}; circuits keep working on their own; retrying with backoff"
                    );
                    outage_logged = true;
                } else {
                    tracing::debug!(target: "fusebox::fleet", "{error}");
                }
                shared.set_status(Status::Down(error));
            }
        }
        if !wait(&shared, &registry, &mut events, jitter(backoff)).await {
            return;
        }
        backoff = backoff.saturating_mul(2).min(max);
    }
}

/// Waits `pause` before reconnecting, answering commands meanwhile; false once the registry
/// is gone.
async fn wait(
    shared: &Shared,
    registry: &WeakFusebox,
    events: &mut mpsc::Receiver<Event>,
    pause: Duration,
) -> bool {
    let until = Instant::now() + pause;
    loop {
        tokio::select! {
            () = sleep_until(until) => return registry.upgrade().is_some(),
            event = events.recv() => match event {
                None => return false,
                Some(Event::Command { reply, .. }) => {
                    let _ = reply.send(Err(FleetError::new(format!(
                        "the fleet store at {} is unreachable; nothing changed \
                         (a local command still works)",
                        shared.settings.target
                    ))));
                }
                // A trip during an outage stays local; the store wins after reconnecting.
                Some(Event::Shared { .. }) => {}
            },
        }
    }
}

/// `pause` scaled by a factor in [0.8, 1.2).
fn jitter(pause: Duration) -> Duration {
    let draw = RandomState::new().hash_one(Instant::now()) % 1000;
    pause.mul_f64(0.8 + 0.4 * (draw as f64 / 1000.0))
}

/// What this replica does next for a shared circuit the fleet holds open.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Try the probe lease at `at`: the shared probe deadline, or when the holder's lease
    /// runs out.
    Waiting { at: Instant },
    /// This replica holds the lease since `since`; renew it at `renew_at`.
    Holding { since: Instant, renew_at: Instant },
}

impl Phase {
    fn due(&self) -> Instant {
        match *self {
            Phase::Waiting { at } => at,
            Phase::Holding { renew_at, .. } => renew_at,
        }
    }
}

/// One connection's life.
struct Session<'a> {
    shared: &'a Shared,
    registry: &'a WeakFusebox,
    connection: MultiplexedConnection,
    pushes: mpsc::UnboundedReceiver<PushInfo>,
    phases: HashMap<Arc<str>, Phase>,
    acquire: Script,
    release: Script,
    /// Whether a message that did not parse was logged already.
    garbled_logged: bool,
}

impl<'a> Session<'a> {
    /// Connects, subscribes and re-syncs.
    async fn open(
        shared: &'a Shared,
        registry: &'a WeakFusebox,
        store_id: &mut Option<String>,
    ) -> Result<Session<'a>, ConnectError> {
        let settings = &shared.settings;
        let (sender, pushes) = mpsc::unbounded_channel();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_push_sender(sender);
        let connecting = settings
            .client
            .get_multiplexed_async_connection_with_config(&config);
        // The connection timeout bounds each address tried; this bounds the whole attempt.
        let connection = tokio::time::timeout(settings.timeout.saturating_mul(2), connecting)
            .await
            .map_err(|_| {
                ConnectError::new(format!(
                    "{} did not answer within {:?}",
                    settings.target, settings.timeout
                ))
            })?
            .map_err(|error| connect_error(&settings.target, &error))?;
        let mut session = Session {
            shared,
            registry,
            connection,
            pushes,
            phases: HashMap::new(),
            acquire: Script::new(wire::ACQUIRE_LEASE),
            release: Script::new(wire::RELEASE_LEASE),
            garbled_logged: false,
        };
        let channel = settings.keys.channel();
        session
            .connection
            .subscribe(&channel)
            .await
            .map_err(|error| connect_error(&settings.target, &error))?;
        session
            .sync(store_id)
            .await
            .map_err(|error| connect_error(&settings.target, &error))?;
        Ok(session)
    }

    fn me(&self) -> &Arc<str> {
        &self.shared.settings.replica
    }

    fn registry(&self) -> Option<Fusebox> {
        self.registry.upgrade()
    }

    fn circuit(&self, name: &str) -> Option<Circuit> {
        self.registry()?.get(name)
    }

    /// Serves until the connection is lost or the registry is gone.
    async fn serve(&mut self, events: &mut mpsc::Receiver<Event>) -> End {
        let settings = &self.shared.settings;
        let mut ping = tokio::time::interval(settings.ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.tick().await; // the first tick is immediate; the connection was just checked
        loop {
            let due = self.phases.values().map(Phase::due).min();
            let result = tokio::select! {
                biased;
                push = self.pushes.recv() => match push {
                    Some(push) if push.kind == PushKind::Disconnection => {
                        return End::Lost("the connection closed".to_owned());
                    }
                    Some(push) => {
                        self.on_push(push);
                        Ok(())
                    }
                    None => return End::Lost("the connection closed".to_owned()),
                },
                event = events.recv() => match event {
                    Some(event) => self.on_event(event).await,
                    None => return End::Closed,
                },
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.on_due().await
                }
                _ = ping.tick() => {
                    if self.registry().is_none() {
                        return End::Closed;
                    }
                    let pong = redis::cmd("PING").query_async::<()>(&mut self.connection).await;
                    self.shared.record_connected();
                    pong
                }
            };
            if let Err(error) = result {
                if is_fatal(&error) {
                    return End::Lost(describe(&error, settings));
                }
                tracing::warn!(
                    target: "fusebox::fleet",
                    store = %settings.target,
                    "a fleet store command failed: {error}"
                );
            }
        }
    }

    async fn on_event(&mut self, event: Event) -> Result<(), RedisError> {
        match event {
            Event::Command { circuit, to, reply } => {
                let result = self.publish_command(&circuit, to).await;
                let answer = match &result {
                    Ok(changed) => Ok(*changed),
                    Err(error) => Err(FleetError::new(describe(error, &self.shared.settings))),
                };
                let _ = reply.send(answer);
                result.map(|_| ())
            }
            Event::Shared { circuit, news } => match news {
                News::Opened => self.publish_trip(&circuit).await,
                News::Recovered => self.publish_recovery(&circuit).await,
            },
        }
    }

    /// Stores and announces a fleet-wide command, then applies it here.
    async fn publish_command(&mut self, circuit: &str, to: State) -> Result<bool, RedisError> {
        let keys = &self.shared.settings.keys;
        let since = SystemTime::now();
        let message = Message::Command {
            circuit: circuit.to_owned(),
            state: to.as_str().to_owned(),
            origin: self.me().to_string(),
            since_ms: wire::unix_millis(since),
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        if to == State::Closed {
            // A reset ends the override and any shared trip of the circuit.
            for kind in [Kind::Override, Kind::Trip, Kind::Lease] {
                pipe.del(keys.of(kind, circuit)).ignore();
            }
        } else {
            let stored = StoredOverride {
                state: to.as_str().to_owned(),
                origin: self.me().to_string(),
                since_ms: wire::unix_millis(since),
            };
            pipe.set(keys.of(Kind::Override, circuit), wire::to_json(&stored))
                .ignore();
        }
        pipe.publish(keys.channel(), message.to_json()).ignore();
        pipe.query_async::<()>(&mut self.connection).await?;
        let origin = self.me().clone();
        Ok(self.on_command(circuit, to, &origin, since))
    }

    /// A fleet-wide command (this replica's or another's): remembered, then applied.
    fn on_command(
        &mut self,
        circuit: &str,
        to: State,
        origin: &Arc<str>,
        since: SystemTime,
    ) -> bool {
        let name: Arc<str> = circuit.into();
        {
            let mut known = self.shared.known();
            known.opened.remove(&name);
            if to == State::Closed {
                known.overrides.remove(&name);
            } else {
                let standing = Override::new(to, origin.clone(), since);
                known.overrides.insert(name.clone(), standing);
            }
        }
        self.phases.remove(&name);
        let origin = origin_of(origin, self.me());
        self.circuit(circuit)
            .is_some_and(|local| apply_command(&local, to, origin))
    }

    /// Announces this replica's trip of a shared circuit, and holds the circuit until the
    /// lease decides who probes.
    async fn publish_trip(&mut self, circuit: &str) -> Result<(), RedisError> {
        let Some(local) = self.circuit(circuit) else {
            return Ok(());
        };
        let snapshot = local.snapshot();
        if snapshot.state != State::Open || self.shared.known().overrides.contains_key(circuit) {
            return Ok(()); // moved on since, or under an override
        }
        let wait = snapshot.retry_after;
        let keys = &self.shared.settings.keys;
        let stored = StoredTrip {
            origin: self.me().to_string(),
        };
        let message = Message::Trip {
            circuit: circuit.to_owned(),
            origin: self.me().to_string(),
            wait_ms: wait.map(wire::millis),
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        let set = pipe
            .cmd("SET")
            .arg(keys.of(Kind::Trip, circuit))
            .arg(wire::to_json(&stored));
        if let Some(wait) = wait {
            set.arg("PX").arg(wire::millis(wait).max(1));
        }
        set.ignore();
        pipe.del(keys.of(Kind::Lease, circuit)).ignore();
        pipe.publish(keys.channel(), message.to_json()).ignore();
        pipe.query_async::<()>(&mut self.connection).await?;
        let origin = self.me().clone();
        self.open_for_fleet(circuit, &origin, wait);
        Ok(())
    }

    /// Announces that this replica's shared circuit recovered. The lease key becomes a
    /// tombstone for one lease period, so a replica whose lease attempt was already on its
    /// way (it has not read this message yet) cannot take the lease and probe again.
    async fn publish_recovery(&mut self, circuit: &str) -> Result<(), RedisError> {
        let keys = &self.shared.settings.keys;
        let message = Message::Recovered {
            circuit: circuit.to_owned(),
            origin: self.me().to_string(),
        };
        let lease = wire::millis(self.shared.settings.lease).max(1);
        redis::pipe()
            .atomic()
            .del(keys.of(Kind::Trip, circuit))
            .ignore()
            .cmd("SET")
            .arg(keys.of(Kind::Lease, circuit))
            .arg(wire::recovered_by(self.me()))
            .arg("PX")
            .arg(lease)
            .ignore()
            .publish(keys.channel(), message.to_json())
            .ignore()
            .query_async::<()>(&mut self.connection)
            .await?;
        self.shared.known().opened.remove(circuit);
        self.phases.remove(circuit);
        Ok(())
    }

    /// A shared trip by `origin` with a probe due in `wait`: remembered for circuits created
    /// later, and applied here with the follower's grace.
    fn open_for_fleet(&mut self, circuit: &str, origin: &Arc<str>, wait: Option<Duration>) {
        let name: Arc<str> = circuit.into();
        let now = Instant::now();
        let hold = wait.map(|wait| wait.saturating_add(self.shared.settings.timeout));
        self.shared.known().opened.insert(
            name.clone(),
            Opened {
                origin: origin.clone(),
                hold_until: hold.and_then(|hold| now.checked_add(hold)),
            },
        );
        match wait.and_then(|wait| now.checked_add(wait)) {
            Some(at) => self.phases.insert(name, Phase::Waiting { at }),
            None => self.phases.remove(&name),
        };
        if let Some(local) = self.circuit(circuit) {
            hold_open(&local, origin_of(origin, self.me()), hold);
        }
    }

    /// A message from the channel: another replica's news, or the echo of this one's.
    fn on_push(&mut self, push: PushInfo) {
        if push.kind != PushKind::Message {
            return; // subscription confirmations
        }
        let payload = match push.data.get(1) {
            Some(Value::BulkString(bytes)) => serde_json::from_slice::<Message>(bytes).ok(),
            _ => None,
        };
        let Some(message) = payload else {
            if !self.garbled_logged {
                self.garbled_logged = true;
                tracing::warn!(
                    target: "fusebox::fleet",
                    channel = %self.shared.settings.keys.channel(),
                    "ignoring a message on the fleet channel that is not a fusebox message \
                     (another version, or another program using the prefix?); logged once"
                );
            }
            return;
        };
        match message {
            Message::Command {
                circuit,
                state,
                origin,
                since_ms,
            } => {
                if let Some(to) = wire::command_state(&state) {
                    let since = wire::from_unix_millis(since_ms);
                    self.on_command(&circuit, to, &origin.into(), since);
                }
            }
            Message::Trip {
                circuit,
                origin,
                wait_ms,
            } => {
                let follows = *origin != **self.me()
                    && self.registry().is_some_and(|r| r.shares_trips(&circuit))
                    && !self.shared.known().overrides.contains_key(&*circuit);
                if follows {
                    let wait = wait_ms.map(Duration::from_millis);
                    self.open_for_fleet(&circuit, &origin.into(), wait);
                }
            }
            Message::Recovered { circuit, origin } => {
                if *origin == **self.me() {
                    return;
                }
                self.shared.known().opened.remove(&*circuit);
                self.phases.remove(&*circuit);
                if let Some(local) = self.circuit(&circuit) {
                    close(&local, Some(origin.into()));
                }
            }
        }
    }

    /// Runs the lease steps that are due.
    async fn on_due(&mut self) -> Result<(), RedisError> {
        let now = Instant::now();
        let due: Vec<(Arc<str>, Phase)> = self
            .phases
            .iter()
            .filter(|(_, phase)| phase.due() <= now)
            .map(|(name, phase)| (name.clone(), *phase))
            .collect();
        for (name, phase) in due {
            self.step(&name, phase).await?;
        }
        Ok(())
    }

    /// One lease step for `name`: contend for the lease at the deadline, renew it while
    /// probing, give it back when this replica cannot probe.
    async fn step(&mut self, name: &Arc<str>, phase: Phase) -> Result<(), RedisError> {
        let lease = self.shared.settings.lease;
        let grace = self.shared.settings.timeout;
        let Some(local) = self.circuit(name) else {
            self.phases.remove(name); // no such circuit here: nothing to probe with
            return Ok(());
        };
        let state = local.state();
        let now = Instant::now();
        let contend = match phase {
            Phase::Waiting { .. } => state == State::Open,
            Phase::Holding { since, .. } => {
                state == State::HalfOpen || (state == State::Open && now - since < lease)
            }
        };
        if !contend {
            if let Phase::Holding { .. } = phase {
                self.release_lease(name).await?;
            }
            if state == State::Open {
                // Held for a lease without a call to probe with: let another replica try.
                hold_open(&local, None, Some(lease.saturating_add(grace)));
                self.phases
                    .insert(name.clone(), Phase::Waiting { at: now + lease });
            } else {
                self.phases.remove(name);
            }
            return Ok(());
        }
        let left: u64 = self
            .acquire
            .key(self.shared.settings.keys.of(Kind::Lease, name))
            .arg(&**self.me())
            .arg(wire::millis(lease))
            .invoke_async(&mut self.connection)
            .await?;
        let now = Instant::now();
        if left == 0 {
            let since = match phase {
                Phase::Holding { since, .. } => since,
                Phase::Waiting { .. } => {
                    allow_probe(&local);
                    now
                }
            };
            let renew_at = now + lease / 3;
            self.phases
                .insert(name.clone(), Phase::Holding { since, renew_at });
        } else {
            let left = Duration::from_millis(left);
            if state == State::Open {
                hold_open(&local, None, Some(left.saturating_add(grace)));
            }
            self.phases
                .insert(name.clone(), Phase::Waiting { at: now + left });
        }
        Ok(())
    }

    async fn release_lease(&mut self, name: &str) -> Result<(), RedisError> {
        self.release
            .key(self.shared.settings.keys.of(Kind::Lease, name))
            .arg(&**self.me())
            .invoke_async::<i64>(&mut self.connection)
            .await
            .map(|_| ())
    }

    /// After (re)connecting: the store wins where it holds state; where it lost everything
    /// (a new store id), this replica first re-publishes the overrides it issued.
    async fn sync(&mut self, store_id: &mut Option<String>) -> Result<(), RedisError> {
        let keys = self.shared.settings.keys.clone();
        let fresh = format!("{:016x}", RandomState::new().hash_one(SystemTime::now()));
        let (id,): (String,) = redis::pipe()
            .cmd("SET")
            .arg(keys.store())
            .arg(&fresh)
            .arg("NX")
            .ignore()
            .get(keys.store())
            .query_async(&mut self.connection)
            .await?;
        let lost = store_id.as_ref().is_some_and(|old| *old != id);
        *store_id = Some(id);
        if lost {
            self.restore_overrides().await?;
        }

        // Overrides.
        let names = self.scan(Kind::Override).await?;
        let mut overrides: HashMap<Arc<str>, Override> = HashMap::new();
        if !names.is_empty() {
            let key_list: Vec<String> = names.iter().map(|n| keys.of(Kind::Override, n)).collect();
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&key_list)
                .query_async(&mut self.connection)
                .await?;
            for (name, value) in names.iter().zip(values) {
                let stored = value.and_then(|v| serde_json::from_str::<StoredOverride>(&v).ok());
                let Some(stored) = stored else { continue };
                let Some(state) = wire::command_state(&stored.state) else {
                    continue;
                };
                let since = wire::from_unix_millis(stored.since_ms);
                overrides.insert(
                    name.as_str().into(),
                    Override::new(state, stored.origin, since),
                );
            }
        }
        let previous = std::mem::replace(&mut self.shared.known().overrides, overrides.clone());
        for (name, standing) in &overrides {
            if let Some(local) = self.circuit(name) {
                apply_command(
                    &local,
                    standing.state,
                    origin_of(&standing.origin, self.me()),
                );
            }
        }
        for (name, gone) in previous {
            let ended = !overrides.contains_key(&name);
            if let Some(local) = self
                .circuit(&name)
                .filter(|c| ended && c.state() == gone.state)
            {
                apply_command(&local, State::Closed, None);
            }
        }

        // Shared trips: the trip keys, then the leases of trips whose deadline passed.
        self.phases.clear();
        self.shared.known().opened.clear();
        let registry = self.registry();
        let follows = |name: &str| {
            registry.as_ref().is_some_and(|r| r.shares_trips(name)) && !overrides.contains_key(name)
        };
        let trips = self.read_with_ttl(Kind::Trip).await?;
        let mut tripped = HashSet::new();
        for (name, value, ttl) in trips {
            let Some(stored) = serde_json::from_str::<StoredTrip>(&value).ok() else {
                continue;
            };
            if follows(&name) {
                tripped.insert(name.clone());
                let wait = u64::try_from(ttl).ok().map(Duration::from_millis);
                self.open_for_fleet(&name, &stored.origin.into(), wait);
            }
        }
        let leases = self.read_with_ttl(Kind::Lease).await?;
        for (name, holder, ttl) in leases {
            if tripped.contains(&name) || !follows(&name) || wire::is_tombstone(&holder) {
                continue;
            }
            let left = Duration::from_millis(u64::try_from(ttl).unwrap_or(0));
            let holder: Arc<str> = holder.into();
            if holder == *self.me() {
                // Still ours from before the outage: renew it now, or give it back.
                let now = Instant::now();
                self.phases.insert(
                    name.as_str().into(),
                    Phase::Holding {
                        since: now,
                        renew_at: now,
                    },
                );
            } else {
                self.open_for_fleet(&name, &holder, Some(left));
            }
        }
        Ok(())
    }

    /// The store lost its data: put back the overrides this replica issued.
    async fn restore_overrides(&mut self) -> Result<(), RedisError> {
        let keys = self.shared.settings.keys.clone();
        let mine: Vec<(Arc<str>, Override)> = self
            .shared
            .known()
            .overrides
            .iter()
            .filter(|(_, standing)| standing.origin == *self.me())
            .map(|(name, standing)| (name.clone(), standing.clone()))
            .collect();
        let script = Script::new(wire::RESTORE_OVERRIDE);
        for (name, standing) in &mine {
            let since_ms = wire::unix_millis(standing.since);
            let stored = StoredOverride {
                state: standing.state.as_str().to_owned(),
                origin: standing.origin.to_string(),
                since_ms,
            };
            let message = Message::Command {
                circuit: name.to_string(),
                state: standing.state.as_str().to_owned(),
                origin: standing.origin.to_string(),
                since_ms,
            };
            script
                .key(keys.of(Kind::Override, name))
                .key(keys.channel())
                .arg(wire::to_json(&stored))
                .arg(message.to_json())
                .invoke_async::<i64>(&mut self.connection)
                .await?;
        }
        tracing::info!(
            target: "fusebox::fleet",
            replica = %self.me(),
            restored = mine.len(),
            "the fleet store lost its data (restarted without persistence?): re-published the overrides this replica issued"
        );
        Ok(())
    }

    /// The circuit names of every key of `kind`.
    async fn scan(&mut self, kind: Kind) -> Result<Vec<String>, RedisError> {
        let keys = &self.shared.settings.keys;
        let pattern = keys.pattern(kind);
        let mut cursor: u64 = 0;
        let mut names = HashSet::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut self.connection)
                .await?;
            names.extend(
                batch
                    .iter()
                    .filter_map(|key| keys.circuit(kind, key))
                    .map(str::to_owned),
            );
            if next == 0 {
                return Ok(names.into_iter().collect());
            }
            cursor = next;
        }
    }

    /// Every key of `kind`: its circuit, value and TTL in ms (-1: none); keys that expired
    /// between the scan and the read are left out.
    async fn read_with_ttl(
        &mut self,
        kind: Kind,
    ) -> Result<Vec<(String, String, i64)>, RedisError> {
        let names = self.scan(kind).await?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.shared.settings.keys.clone();
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.get(keys.of(kind, name)).pttl(keys.of(kind, name));
        }
        let values: Vec<(Option<String>, i64)> = pipe.query_async(&mut self.connection).await?;
        Ok(names
            .into_iter()
            .zip(values)
            .filter_map(|(name, (value, ttl))| Some((name, value?, ttl)))
            .collect())
    }
}

/// Whether `error` means the connection is gone, rather than one command failing.
fn is_fatal(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
}

fn describe(error: &RedisError, settings: &crate::Settings) -> String {
    if error.is_timeout() {
        format!(
            "{} did not answer within {:?}",
            settings.target, settings.timeout
        )
    } else {
        format!("{}: {error}", settings.target)
    }
}

/// Why connecting to `target` failed, saying what to fix.
fn connect_error(target: &str, error: &RedisError) -> ConnectError {
    let code = error.code().unwrap_or_default();
    let message = if matches!(error.kind(), redis::ErrorKind::AuthenticationFailed)
        || code == "WRONGPASS"
    {
        format!(
            "{target} refused the credentials ({code}): check the user name and password in the URL"
        )
    } else if code == "NOAUTH" {
        format!("{target} needs a password: put it in the URL, as redis://:<password>@host:port")
    } else if error.is_connection_refusal() {
        format!("nothing accepts connections at {target}: is Redis running there?")
    } else if error.is_timeout() {
        format!("{target} did not answer in time")
    } else if matches!(error.kind(), redis::ErrorKind::RESP3NotSupported) {
        format!("{target} does not speak RESP3: the fleet needs Redis 6 or newer")
    } else {
        format!("cannot use {target}: {error}")
    };
    ConnectError::new(message)
}
