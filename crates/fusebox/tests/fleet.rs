//! The registry's side of the fleet seam, against an in-memory fleet: precedence of fleet
//! overrides over local commands, adoption of new circuits, and which transitions reach the
//! fleet. The Redis fleet itself is tested in `fusebox-redis` against a real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fusebox::fleet::{CommandError, Fleet, FleetError, FleetFuture, Override};
use fusebox::trip::failure_streak;
use fusebox::{
    Cause, Circuit, Command, Fusebox, ManualClock, Outcome, Policy, Retry, Scope, Signal, State,
    WeakFusebox,
};

/// A transition as the fleet heard it: circuit, from, to, cause.
type Heard = (String, State, State, &'static str);

/// A fleet of one process: what a store would hold, in memory.
#[derive(Debug, Default, Clone)]
struct MemoryFleet {
    overrides: Arc<Mutex<HashMap<String, Override>>>,
    transitions: Arc<Mutex<Vec<Heard>>>,
    attached: Arc<Mutex<Option<WeakFusebox>>>,
    /// Whether the store takes commands.
    down: Arc<Mutex<bool>>,
}

impl Fleet for MemoryFleet {
    fn attach(&self, circuits: WeakFusebox) {
        *self.attached.lock().unwrap() = Some(circuits);
    }

    fn command(&self, circuit: &str, to: State) -> FleetFuture {
        let fleet = self.clone();
        let circuit = circuit.to_owned();
        Box::pin(async move {
            if *fleet.down.lock().unwrap() {
                return Err(FleetError::new("the store at memory:// is unreachable"));
            }
            let mut overrides = fleet.overrides.lock().unwrap();
            if to == State::Closed {
                overrides.remove(&circuit);
            } else {
                let standing = Override::new(to, "here", SystemTime::UNIX_EPOCH);
                overrides.insert(circuit.clone(), standing);
            }
            drop(overrides);
            let fusebox = fleet.attached.lock().unwrap().clone().unwrap();
            let local = fusebox.upgrade().unwrap().get(&circuit).unwrap();
            let cause = Cause::Manual {
                scope: Scope::Fleet,
            };
            Ok(local.apply(Command::new(to, cause)))
        })
    }

    fn transition(&self, signal: &Signal) {
        self.transitions.lock().unwrap().push((
            signal.circuit.to_string(),
            signal.from,
            signal.to,
            signal.cause.as_str(),
        ));
    }

    fn override_of(&self, circuit: &str) -> Option<Override> {
        self.overrides.lock().unwrap().get(circuit).cloned()
    }

    fn adopt(&self, circuit: &Circuit) {
        if let Some(standing) = self.override_of(circuit.name()) {
            let cause = Cause::Manual {
                scope: Scope::Fleet,
            };
            circuit.apply(Command::new(standing.state, cause).origin(standing.origin));
        }
    }
}

fn registry(fleet: &MemoryFleet) -> Fusebox {
    let policy = Policy::builder()
        .trip(failure_streak(1))
        .retry(Retry::cooldown(Duration::from_secs(5)))
        .build()
        .unwrap();
    Fusebox::builder()
        .default_policy(policy)
        .clock(ManualClock::new())
        .fleet(fleet.clone())
        .share_trips("shared")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_local_command_under_a_fleet_override_is_refused_naming_it() {
    let fleet = MemoryFleet::default();
    let fusebox = registry(&fleet);
    fusebox.circuit("payments");
    let changed = fusebox
        .command("payments", State::ForcedOpen, Scope::Fleet)
        .await
        .unwrap();
    assert!(changed);
    assert_eq!(fusebox.circuit("payments").state(), State::ForcedOpen);

    let refused = fusebox.reset("payments").unwrap_err();
    assert_eq!(
        refused.to_string(),
        "circuit \"payments\" is under a fleet-wide force_open issued by replica \"here\" at \
         1970-01-01T00:00:00.000Z; only a fleet-wide command changes it (reset it with scope fleet first)"
    );
    let local = fusebox.command("payments", State::Disabled, Scope::Local);
    assert!(matches!(
        local.await,
        Err(CommandError::Overridden { standing, .. }) if standing.origin.as_ref() == "here"
    ));
    assert_eq!(fusebox.circuit("payments").state(), State::ForcedOpen);

    assert!(
        fusebox
            .command("payments", State::Closed, Scope::Fleet)
            .await
            .unwrap()
    );
    assert_eq!(fusebox.fleet_override("payments"), None);
    assert!(fusebox.disable("payments").unwrap());
}

#[tokio::test]
async fn fleet_commands_are_refused_without_a_store_or_into_open() {
    let fleet = MemoryFleet::default();
    let fusebox = registry(&fleet);
    fusebox.circuit("payments");
    let open = fusebox.command("payments", State::Open, Scope::Fleet).await;
    assert_eq!(
        open.unwrap_err().to_string(),
        "no command with scope fleet moves circuits into open; such commands are reset, \
         force_open, disable and metrics_only"
    );
    *fleet.down.lock().unwrap() = true;
    let down = fusebox
        .command("payments", State::ForcedOpen, Scope::Fleet)
        .await;
    assert_eq!(
        down.unwrap_err().to_string(),
        "fleet-wide command not stored: the store at memory:// is unreachable"
    );
    assert_eq!(fusebox.circuit("payments").state(), State::Closed);
    let unknown = fusebox
        .command("billing", State::ForcedOpen, Scope::Fleet)
        .await;
    assert!(matches!(unknown, Err(CommandError::Unknown(_))));
}

#[tokio::test]
async fn a_circuit_created_under_an_override_starts_under_it() {
    let fleet = MemoryFleet::default();
    fleet.overrides.lock().unwrap().insert(
        "payments".to_owned(),
        Override::new(State::Disabled, "replica-b", SystemTime::UNIX_EPOCH),
    );
    let fusebox = registry(&fleet);
    let payments = fusebox.circuit("payments");
    assert_eq!(payments.state(), State::Disabled);
    assert!(payments.try_acquire().is_ok());
}

#[tokio::test]
async fn only_the_transitions_of_shared_circuits_reach_the_fleet() {
    let fleet = MemoryFleet::default();
    let fusebox = registry(&fleet);
    for name in ["shared", "local"] {
        let circuit = fusebox.circuit(name);
        circuit.try_acquire().unwrap().finish(Outcome::Failure);
        assert_eq!(circuit.state(), State::Open);
    }
    assert!(fusebox.shares_trips("shared"));
    assert!(!fusebox.shares_trips("local"));
    assert_eq!(
        *fleet.transitions.lock().unwrap(),
        vec![("shared".to_owned(), State::Closed, State::Open, "tripped")]
    );
}

#[tokio::test]
async fn the_fleet_handle_does_not_keep_the_registry_alive() {
    let fleet = MemoryFleet::default();
    let fusebox = registry(&fleet);
    let weak = fleet.attached.lock().unwrap().clone().unwrap();
    assert!(weak.upgrade().is_some());
    drop(fusebox);
    assert!(weak.upgrade().is_none());
}
