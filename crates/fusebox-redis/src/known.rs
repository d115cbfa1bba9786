//! What this replica knows of the fleet (the overrides standing, the shared trips in
//! progress), readable by the registry without I/O, and how fleet state is applied to a local
//! circuit. The session task writes it; the registry reads it to refuse local commands and to
//! adopt circuits it creates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fusebox::fleet::Override;
use fusebox::{Cause, Circuit, Command, Scope, State};
use tokio::time::Instant;

/// The fleet's state as this replica last heard it.
#[derive(Debug, Default)]
pub(crate) struct Known {
    pub(crate) overrides: HashMap<Arc<str>, Override>,
    /// Shared circuits the fleet holds open, and until when a follower waits before it
    /// probes on its own (`None`: until a command).
    pub(crate) opened: HashMap<Arc<str>, Opened>,
}

/// A shared trip in progress.
#[derive(Clone, Debug)]
pub(crate) struct Opened {
    pub(crate) origin: Arc<str>,
    pub(crate) hold_until: Option<Instant>,
}

impl Opened {
    /// How long from now the circuit stays held.
    pub(crate) fn hold(&self) -> Option<Duration> {
        self.hold_until
            .map(|until| until.saturating_duration_since(Instant::now()))
    }
}

impl Known {
    /// Brings a circuit just created up to date: its override, else its shared trip.
    pub(crate) fn adopt(&self, circuit: &Circuit, me: &str) {
        if let Some(standing) = self.overrides.get(&**circuit.name()) {
            apply_command(circuit, standing.state, origin_of(&standing.origin, me));
        } else if let Some(opened) = self.opened.get(&**circuit.name()) {
            hold_open(circuit, origin_of(&opened.origin, me), opened.hold());
        }
    }
}

/// `origin`, unless it is this replica: a signal names only other replicas.
pub(crate) fn origin_of(origin: &Arc<str>, me: &str) -> Option<Arc<str>> {
    (&**origin != me).then(|| origin.clone())
}

fn command(to: State, cause: Cause, origin: Option<Arc<str>>) -> Command {
    let command = Command::new(to, cause);
    match origin {
        Some(origin) => command.origin(origin),
        None => command,
    }
}

/// A fleet-wide manual command on a local circuit.
pub(crate) fn apply_command(circuit: &Circuit, to: State, origin: Option<Arc<str>>) -> bool {
    let cause = Cause::Manual {
        scope: Scope::Fleet,
    };
    circuit.apply(command(to, cause, origin))
}

/// Whether fleet trips may move a circuit in `state`: manual states stay until a command.
fn follows_trips(state: State) -> bool {
    matches!(state, State::Closed | State::Open | State::HalfOpen)
}

/// Opens a shared circuit for the fleet (cause `fleet`), or, already open, moves its probe
/// deadline: no probe of its own until `hold` has passed (`None`: until a command).
pub(crate) fn hold_open(circuit: &Circuit, origin: Option<Arc<str>>, hold: Option<Duration>) {
    if follows_trips(circuit.state()) {
        let wait = hold.unwrap_or(Duration::MAX);
        circuit.apply(command(State::Open, Cause::Fleet, origin).probe_after(wait));
    }
}

/// Lets an open circuit probe now: this replica holds the probe lease.
pub(crate) fn allow_probe(circuit: &Circuit) {
    if circuit.state() == State::Open {
        circuit.apply(Command::new(State::Open, Cause::Fleet).probe_after(Duration::ZERO));
    }
}

/// Closes a shared circuit the fleet recovered.
pub(crate) fn close(circuit: &Circuit, origin: Option<Arc<str>>) {
    if matches!(circuit.state(), State::Open | State::HalfOpen) {
        circuit.apply(command(State::Closed, Cause::Fleet, origin));
    }
}
