//! What the replicas write to Redis and say to each other: key names, the JSON of stored
//! values and of pub/sub messages, and the probe lease scripts. Nothing here does I/O.
//!
//! | key | value | lifetime |
//! |---|---|---|
//! | `<prefix>store` | a random id, written once | no TTL: a new id means the store lost its data |
//! | `<prefix>override:<circuit>` | `{"state","origin","since_ms"}` | until a fleet-wide `reset` |
//! | `<prefix>trip:<circuit>` | `{"origin"}` | TTL: the time to the shared probe deadline |
//! | `<prefix>lease:<circuit>` | the probing replica's id; after a recovery, `recovered by <id>` | TTL: the probe lease |
//!
//! Every change is published on `<prefix>events` in the same transaction (`MULTI`), so a
//! replica that reads the keys after subscribing misses nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fusebox::State;
use serde::{Deserialize, Serialize};

/// The key names of one fleet.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: impl Into<String>) -> Keys {
        Keys {
            prefix: prefix.into(),
        }
    }

    pub(crate) fn store(&self) -> String {
        format!("{}store", self.prefix)
    }

    pub(crate) fn channel(&self) -> String {
        format!("{}events", self.prefix)
    }

    pub(crate) fn of(&self, kind: Kind, circuit: &str) -> String {
        format!("{}{}:{circuit}", self.prefix, kind.as_str())
    }

    /// A `SCAN MATCH` pattern for every key of `kind`: the prefix's glob characters escaped.
    pub(crate) fn pattern(&self, kind: Kind) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 16);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(kind.as_str());
        pattern.push_str(":*");
        pattern
    }

    /// The circuit a key of `kind` is about.
    pub(crate) fn circuit<'k>(&self, kind: Kind, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.prefix.as_str())?
            .strip_prefix(kind.as_str())?
            .strip_prefix(':')
    }
}

/// The kinds of per-circuit keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Override,
    Trip,
    Lease,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Override => "override",
            Kind::Trip => "trip",
            Kind::Lease => "lease",
        }
    }
}

/// What `<prefix>override:<circuit>` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredOverride {
    pub(crate) state: String,
    pub(crate) origin: String,
    pub(crate) since_ms: u64,
}

/// What `<prefix>trip:<circuit>` holds; the key's TTL is the time left to the probe deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredTrip {
    pub(crate) origin: String,
}

/// A message on `<prefix>events`. Deadlines travel as durations, read relative to the
/// receiver's own clock: replicas' wall clocks may disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Message {
    /// A fleet-wide manual command: into `closed` (a reset, which ends the override and any
    /// shared trip), `forced_open`, `disabled` or `metrics_only`.
    Command {
        circuit: String,
        state: String,
        origin: String,
        since_ms: u64,
    },
    /// A replica's shared circuit opened (a trip, a reopening, a probe timeout); a probe is
    /// due in `wait_ms` (`None`: only a command closes it).
    Trip {
        circuit: String,
        origin: String,
        wait_ms: Option<u64>,
    },
    /// The probing replica's shared circuit closed again.
    Recovered { circuit: String, origin: String },
}

impl Message {
    pub(crate) fn to_json(&self) -> String {
        // A message is strings and integers: serialising it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The state a fleet-wide command names, if it is one.
pub(crate) fn command_state(text: &str) -> Option<State> {
    match text.parse::<State>().ok()? {
        state @ (State::Closed | State::ForcedOpen | State::Disabled | State::MetricsOnly) => {
            Some(state)
        }
        _ => None,
    }
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, millis)
}

pub(crate) fn from_unix_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH)
}

/// What the lease key holds for a lease period after a recovery: no replica id, since ids
/// have no spaces.
pub(crate) fn recovered_by(replica: &str) -> String {
    format!("recovered by {replica}")
}

pub(crate) fn is_tombstone(holder: &str) -> bool {
    holder.contains(' ')
}

/// Takes the probe lease, or keeps it for another `ARGV[2]` ms if this replica holds it:
/// `0`. Held by another replica: the ms it still has (at least 1).
pub(crate) const ACQUIRE_LEASE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then return 1 end
return left
";

/// Gives the probe lease back if this replica holds it.
pub(crate) const RELEASE_LEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Republishes an override the store lost, unless the store has one for the circuit again.
pub(crate) const RESTORE_OVERRIDE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('PUBLISH', KEYS[2], ARGV[2])
  return 1
end
return 0
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_the_prefix_and_patterns_escape_it() {
        let keys = Keys::new("shop[eu]:");
        assert_eq!(keys.of(Kind::Lease, "GET /a"), "shop[eu]:lease:GET /a");
        assert_eq!(keys.pattern(Kind::Override), "shop\\[eu\\]:override:*");
        assert_eq!(
            keys.circuit(Kind::Trip, "shop[eu]:trip:a:b"),
            Some("a:b"),
            "names may hold colons"
        );
        assert_eq!(keys.circuit(Kind::Trip, "shop[eu]:lease:a"), None);
    }

    #[test]
    fn messages_are_tagged_json() {
        let trip = Message::Trip {
            circuit: "work".to_owned(),
            origin: "a".to_owned(),
            wait_ms: Some(5000),
        };
        let json = trip.to_json();
        assert_eq!(
            json,
            r#"{"kind":"trip","circuit":"work","origin":"a","wait_ms":5000}"#
        );
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), trip);
        assert_eq!(command_state("forced_open"), Some(State::ForcedOpen));
        assert_eq!(command_state("open"), None);
        assert_eq!(command_state("bogus"), None);
    }
}
