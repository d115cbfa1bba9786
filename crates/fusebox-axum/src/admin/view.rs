//! The JSON shape of a circuit in the admin API: the core's snapshot JSON (the shape webhook
//! signals share, see `fusebox_core`'s feature `serde`) plus the circuit's policy.

use fusebox_core::{Policy, Snapshot};
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct CircuitView<'a> {
    #[serde(flatten)]
    snapshot: &'a Snapshot,
    policy: String,
}

impl<'a> CircuitView<'a> {
    pub(super) fn new(snapshot: &'a Snapshot, policy: &Policy) -> Self {
        CircuitView {
            snapshot,
            policy: policy.to_string(),
        }
    }
}
