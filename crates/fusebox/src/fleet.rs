//! The seam between a [`Fusebox`] registry and a store shared by the replicas of a service:
//! fleet-wide manual commands ("overrides") and shared trips (SPEC §13).
//!
//! fusebox itself knows no store. A [`Fleet`] (the `fusebox-redis` crate has one) is given to
//! [`FuseboxBuilder::fleet`](crate::FuseboxBuilder::fleet); the registry then
//! - hands it commands issued with [`Scope::Fleet`] ([`Fusebox::command`]),
//! - refuses a local command on a circuit under a fleet [`Override`] ([`CommandError::Overridden`]),
//! - tells it every transition of a circuit whose trips are shared
//!   ([`FuseboxBuilder::share_trips`](crate::FuseboxBuilder::share_trips)), from the signal
//!   path, never from a call,
//! - lets it [adopt](Fleet::adopt) each circuit it creates, before any call can use it, so a
//!   circuit created while an override or a fleet trip stands starts under it.
//!
//! The fleet applies what other replicas did to local circuits with
//! [`Circuit::apply`](crate::Circuit::apply): listeners see those transitions like any other,
//! with cause `fleet` or `manual` (scope `fleet`) and the origin replica in the signal.
//!
//! What is not here: the store, its protocol, and when it is reachable.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use fusebox_core::{Circuit, Scope, Signal, State};

use crate::registry::{Fusebox, UnknownCircuit, WeakFusebox};

/// What [`Fleet::command`] returns: resolves once the store took the command.
pub type FleetFuture = Pin<Box<dyn Future<Output = Result<bool, FleetError>> + Send + 'static>>;

/// A store the replicas of a service share circuit state through. See the [module docs](self).
///
/// Every method but [`Fleet::command`] is called from inside the registry, some with a
/// circuit's transition lock held: they must return at once, without I/O (queue the work).
pub trait Fleet: fmt::Debug + Send + Sync + 'static {
    /// Starts the fleet's work for `circuits`; called once, by
    /// [`FuseboxBuilder::build`](crate::FuseboxBuilder::build). The handle is weak, so the
    /// fleet's work can end when the registry is dropped.
    fn attach(&self, circuits: WeakFusebox);

    /// Stores a fleet-wide manual command into `to` (`closed` clears the override) and tells
    /// every replica. Resolves once the store took it and this replica applied it, with
    /// whether this replica's circuit changed state.
    fn command(&self, circuit: &str, to: State) -> FleetFuture;

    /// A transition of a circuit whose trips are shared (never a registration). Called with
    /// the circuit's transition lock held: queue it.
    fn transition(&self, signal: &Signal);

    /// The fleet-wide override standing on `circuit`, if any.
    fn override_of(&self, circuit: &str) -> Option<Override>;

    /// Brings a circuit the registry just created up to what the fleet knows (an override
    /// standing, a shared trip in progress); called before the circuit is reachable.
    fn adopt(&self, circuit: &Circuit);
}

/// A fleet-wide manual command standing on a circuit: every replica keeps the circuit in
/// [`Override::state`] until a fleet-wide `reset`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Override {
    /// `forced_open`, `disabled` or `metrics_only`.
    pub state: State,
    /// The replica that issued the command.
    pub origin: Arc<str>,
    /// When the replica issued it (its wall clock: for people, never for deadlines).
    pub since: SystemTime,
}

impl Override {
    /// An override into `state`, issued by `origin` at `since`.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use fusebox::State;
    /// use fusebox::fleet::Override;
    ///
    /// let standing = Override::new(State::ForcedOpen, "replica-b", SystemTime::UNIX_EPOCH);
    /// assert_eq!(standing.command(), "force_open");
    /// ```
    pub fn new(state: State, origin: impl Into<Arc<str>>, since: SystemTime) -> Override {
        Override {
            state,
            origin: origin.into(),
            since,
        }
    }

    /// The command's name: `force_open`, `disable`, `metrics_only` (or `reset`).
    pub fn command(&self) -> &'static str {
        command_name(self.state)
    }

    /// Where the command applies: always the fleet.
    pub fn scope(&self) -> Scope {
        Scope::Fleet
    }
}

/// The manual command that moves a circuit into `state`.
fn command_name(state: State) -> &'static str {
    match state {
        State::Closed => "reset",
        State::ForcedOpen => "force_open",
        State::Disabled => "disable",
        State::MetricsOnly => "metrics_only",
        State::Open => "open",
        State::HalfOpen => "half_open",
    }
}

/// States a fleet-wide command may move circuits into: the four manual commands'.
pub(crate) fn is_fleet_command(state: State) -> bool {
    matches!(
        state,
        State::Closed | State::ForcedOpen | State::Disabled | State::MetricsOnly
    )
}

/// The store could not take a fleet-wide command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetError {
    message: String,
}

impl FleetError {
    /// An error saying `message`; name the store and what to do.
    pub fn new(message: impl Into<String>) -> FleetError {
        FleetError {
            message: message.into(),
        }
    }
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FleetError {}

/// A manual command the registry did not carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// No circuit has that name.
    Unknown(UnknownCircuit),
    /// A local command on a circuit under a fleet-wide override: only a fleet-wide command
    /// changes it.
    Overridden {
        /// The circuit.
        circuit: String,
        /// The override standing on it.
        standing: Override,
    },
    /// The command cannot apply in that scope: [`Scope::Fleet`] without a fleet, or a state
    /// no manual command moves to (`open`, `half_open`) fleet-wide.
    Unsupported {
        /// The scope asked for.
        scope: Scope,
        /// The state asked for.
        to: State,
    },
    /// The fleet's store did not take the command; nothing changed anywhere.
    Fleet(FleetError),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(unknown) => unknown.fmt(f),
            CommandError::Overridden { circuit, standing } => write!(
                f,
                "circuit {circuit:?} is under a fleet-wide {} issued by replica {:?} at {}; \
                 only a fleet-wide command changes it (reset it with scope fleet first)",
                standing.command(),
                standing.origin,
                fusebox_core::wall::rfc3339_millis(standing.since),
            ),
            CommandError::Unsupported {
                scope: Scope::Fleet,
                to,
            } if is_fleet_command(*to) => f.write_str(
                "scope fleet needs a fleet: give the registry one with `FuseboxBuilder::fleet`",
            ),
            CommandError::Unsupported { scope, to } if is_fleet_command(*to) => {
                write!(
                    f,
                    "no command takes scope {scope}; scopes are local and fleet"
                )
            }
            CommandError::Unsupported { scope, to } => write!(
                f,
                "no command with scope {scope} moves circuits into {}; such commands are reset, \
                 force_open, disable and metrics_only",
                to.as_str()
            ),
            CommandError::Fleet(error) => write!(f, "fleet-wide command not stored: {error}"),
        }
    }
}

impl std::error::Error for CommandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CommandError::Unknown(unknown) => Some(unknown),
            CommandError::Fleet(error) => Some(error),
            _ => None,
        }
    }
}

impl From<UnknownCircuit> for CommandError {
    fn from(unknown: UnknownCircuit) -> CommandError {
        CommandError::Unknown(unknown)
    }
}

/// Which circuits share their trips with the fleet: named ones, or every circuit.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sharing {
    pub(crate) all: bool,
    pub(crate) circuits: std::collections::HashMap<String, bool>,
}

impl Sharing {
    pub(crate) fn shares(&self, circuit: &str) -> bool {
        self.circuits.get(circuit).copied().unwrap_or(self.all)
    }
}

/// The registry's side of the seam: its fleet, if any, and which circuits share trips.
#[derive(Debug, Default)]
pub(crate) struct Membership {
    pub(crate) fleet: Option<Arc<dyn Fleet>>,
    pub(crate) sharing: Sharing,
}

impl Membership {
    /// Where a new circuit's signals go besides `listeners`: the fleet too, for a circuit
    /// whose trips are shared.
    pub(crate) fn sink(
        &self,
        circuit: &str,
        listeners: crate::ListenerStack,
    ) -> impl Fn(Signal) + Send + Sync + 'static {
        let fleet = self.fleet.clone().filter(|_| self.sharing.shares(circuit));
        move |signal: Signal| {
            match &fleet {
                Some(fleet) if !signal.is_registration() => fleet.transition(&signal),
                _ => {}
            }
            listeners.send(signal);
        }
    }

    pub(crate) fn adopt(&self, circuit: &Circuit) {
        if let Some(fleet) = &self.fleet {
            fleet.adopt(circuit);
        }
    }

    pub(crate) fn override_of(&self, circuit: &str) -> Option<Override> {
        self.fleet.as_ref()?.override_of(circuit)
    }

    /// A local command may change `circuit` unless a fleet override stands on it.
    pub(crate) fn allow_local(&self, circuit: &str) -> Result<(), CommandError> {
        match self.override_of(circuit) {
            Some(standing) => Err(CommandError::Overridden {
                circuit: circuit.to_owned(),
                standing,
            }),
            None => Ok(()),
        }
    }

    /// Carries out a fleet-wide command on `fusebox`'s circuit `name`.
    pub(crate) async fn command(
        &self,
        fusebox: &Fusebox,
        name: &str,
        to: State,
    ) -> Result<bool, CommandError> {
        fusebox.get(name).ok_or_else(|| UnknownCircuit::new(name))?;
        let unsupported = CommandError::Unsupported {
            scope: Scope::Fleet,
            to,
        };
        if !is_fleet_command(to) {
            return Err(unsupported);
        }
        let fleet = self.fleet.as_ref().ok_or(unsupported)?;
        fleet.command(name, to).await.map_err(CommandError::Fleet)
    }
}
