//! The machine-readable shape of the core's values (feature `serde`), written once for every
//! crate that shows them: a webhook's body and an admin API's answer are the same JSON.
//!
//! - States, outcomes, causes and scopes are their lowercase snake-case names
//!   ([`State::as_str`], [`Outcome::as_str`], [`Cause::as_str`], [`Scope::as_str`]).
//! - Durations are numbers whose field name says the unit: `_secs` or `_ms`.
//! - Times are RFC 3339 in UTC with milliseconds ([`wall::rfc3339_millis`](crate::wall)).
//! - A cause is three fields side by side: `cause`, `rule` (the trip rule's text for `tripped`
//!   and `reopened`, else `null`) and `scope` (`local` or `fleet` for `manual`, else `null`).
//!
//! What is plain data reads back too: [`State`], [`Outcome`], [`Scope`], [`Cause`] and
//! [`CallCounts`] implement `Deserialize`. [`Metrics`], [`Snapshot`] and [`Signal`] only
//! serialize: their JSON holds derived values (rates, averages, time in state) from which the
//! value itself cannot be rebuilt.

use std::time::Duration;

use serde::de::{self, Deserializer, Unexpected};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::duration::retry_after_secs;
use crate::wall::{Rfc3339Millis, unix_millis};
use crate::{CallCounts, Cause, Details, Metrics, Outcome, Scope, Signal, Snapshot, State};

/// Cause names, as [`Cause::as_str`] writes them, for error messages.
const CAUSES: &[&str] = &[
    "registered",
    "tripped",
    "probe",
    "recovered",
    "reopened",
    "probe_timeout",
    "manual",
    "fleet",
];

/// Milliseconds, with the sub-millisecond part as a fraction (exact to the nanosecond below
/// 2^53 ns, 104 days).
#[allow(clippy::cast_precision_loss)]
fn millis(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1e6
}

/// Seconds to the millisecond: a dashboard's "time in state" has no use for finer digits.
#[allow(clippy::cast_precision_loss)]
fn secs(duration: Duration) -> f64 {
    duration.as_millis() as f64 / 1e3
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for State {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(de::Error::custom)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        [Outcome::Success, Outcome::Failure, Outcome::Ignored]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
            .ok_or_else(|| {
                de::Error::invalid_value(Unexpected::Str(&text), &"success, failure or ignored")
            })
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(de::Error::custom)
    }
}

/// Writes a cause's three fields into the struct being serialized: the cause's own JSON, and
/// a signal's, which holds them beside its other fields.
fn cause_fields<S: SerializeStruct>(fields: &mut S, cause: &Cause) -> Result<(), S::Error> {
    fields.serialize_field("cause", cause.as_str())?;
    fields.serialize_field("rule", &cause.rule())?;
    fields.serialize_field("scope", &cause.scope())
}

/// `{"cause": "tripped", "rule": "failure_streak(3)", "scope": null}`.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Cause", 3)?;
        cause_fields(&mut fields, self)?;
        fields.end()
    }
}

#[derive(Deserialize)]
struct CauseFields {
    cause: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
}

/// Reads what [`Serialize`] writes; `rule` is required for `tripped` and `reopened`, and a
/// `manual` cause without a `scope` is local.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for Cause {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let CauseFields { cause, rule, scope } = CauseFields::deserialize(deserializer)?;
        let rule = || {
            rule.map(Into::into)
                .ok_or_else(|| de::Error::missing_field("rule"))
        };
        Ok(match cause.as_str() {
            "registered" => Cause::Registered,
            "tripped" => Cause::Tripped { rule: rule()? },
            "probe" => Cause::Probe,
            "recovered" => Cause::Recovered,
            "reopened" => Cause::Reopened { rule: rule()? },
            "probe_timeout" => Cause::ProbeTimeout,
            "manual" => Cause::Manual {
                scope: scope.unwrap_or_default(),
            },
            "fleet" => Cause::Fleet,
            other => return Err(de::Error::unknown_variant(other, CAUSES)),
        })
    }
}

/// `{"success": 120, "failure": 14, "ignored": 0, "rejected": 37}`.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for CallCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("CallCounts", 4)?;
        for (outcome, calls) in self.by_outcome() {
            fields.serialize_field(outcome, &calls)?;
        }
        fields.end()
    }
}

#[derive(Deserialize)]
struct CallCountFields {
    success: u64,
    failure: u64,
    ignored: u64,
    rejected: u64,
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for CallCounts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = CallCountFields::deserialize(deserializer)?;
        Ok(CallCounts {
            success: fields.success,
            failure: fields.failure,
            ignored: fields.ignored,
            rejected: fields.rejected,
        })
    }
}

/// Slow-call counts: `[{"threshold_ms": 500.0, "calls": 3}]`.
struct SlowCalls<'a>(&'a Metrics);

impl Serialize for SlowCalls<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for (threshold, calls) in self.0.slow() {
            seq.serialize_element(&SlowCount {
                threshold_ms: millis(threshold),
                calls,
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct SlowCount {
    threshold_ms: f64,
    calls: u64,
}

/// `{"total", "failures", "failure_rate", "avg_latency_ms", "consecutive_failures", "slow"}`;
/// the rate and the average are `null` on an empty window, the average also when latency is
/// not measured.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Metrics", 6)?;
        fields.serialize_field("total", &self.total())?;
        fields.serialize_field("failures", &self.failures())?;
        fields.serialize_field("failure_rate", &self.failure_rate())?;
        fields.serialize_field("avg_latency_ms", &self.avg_latency().map(millis))?;
        fields.serialize_field("consecutive_failures", &self.consecutive_failures())?;
        fields.serialize_field("slow", &SlowCalls(self))?;
        fields.end()
    }
}

impl Serialize for Rfc3339Millis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A circuit's details as one object, label to value, in their order.
struct DetailsMap<'a>(&'a Details);

impl Serialize for DetailsMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (label, value) in self.0.iter() {
            map.serialize_entry(label, value)?;
        }
        map.end()
    }
}

/// The shape is in the [crate docs](crate#json-feature-serde).
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Snapshot", 10)?;
        fields.serialize_field("name", &*self.name)?;
        fields.serialize_field("state", &self.state)?;
        fields.serialize_field("since", &Rfc3339Millis(self.since))?;
        fields.serialize_field("time_in_state_secs", &secs(self.time_in_state))?;
        fields.serialize_field("generation", &self.generation)?;
        fields.serialize_field("reopens", &self.reopens)?;
        fields.serialize_field("retry_after_secs", &self.retry_after.map(retry_after_secs))?;
        fields.serialize_field("probes_in_flight", &self.probes_in_flight)?;
        fields.serialize_field("metrics", &self.metrics)?;
        fields.serialize_field("calls", &self.calls)?;
        fields.end()
    }
}

/// The shape is in the [crate docs](crate#json-feature-serde).
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Signal", 11)?;
        fields.serialize_field("circuit", &*self.circuit)?;
        fields.serialize_field("from", &self.from)?;
        fields.serialize_field("to", &self.to)?;
        fields.serialize_field("at", &Rfc3339Millis(self.at))?;
        fields.serialize_field("at_unix_ms", &unix_millis(self.at))?;
        cause_fields(&mut fields, &self.cause)?;
        fields.serialize_field("origin", &self.origin.as_deref())?;
        fields.serialize_field("details", &DetailsMap(&self.details))?;
        fields.serialize_field("metrics", &self.metrics)?;
        fields.end()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde_json::{from_value, json, to_value};

    use super::*;
    use crate::trip::{failure_streak, slow_rate};
    use crate::{Circuit, ManualClock, Policy, Retry};

    #[test]
    fn states_outcomes_and_scopes_are_their_machine_names_both_ways() {
        for state in State::ALL {
            assert_eq!(to_value(state).unwrap(), json!(state.as_str()));
            assert_eq!(from_value::<State>(json!(state.as_str())).unwrap(), state);
        }
        for outcome in [Outcome::Success, Outcome::Failure, Outcome::Ignored] {
            assert_eq!(to_value(outcome).unwrap(), json!(outcome.as_str()));
            assert_eq!(
                from_value::<Outcome>(json!(outcome.as_str())).unwrap(),
                outcome
            );
        }
        for scope in [Scope::Local, Scope::Fleet] {
            assert_eq!(to_value(scope).unwrap(), json!(scope.as_str()));
            assert_eq!(from_value::<Scope>(json!(scope.as_str())).unwrap(), scope);
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_names_that_exist() {
        let error = |value: Result<State, serde_json::Error>| value.unwrap_err().to_string();
        assert_eq!(
            error(from_value(json!("HALF_OPEN"))),
            "unknown circuit state \"HALF_OPEN\"; expected one of closed, open, half_open, \
             metrics_only, disabled, forced_open"
        );
        assert_eq!(
            from_value::<Outcome>(json!("timeout"))
                .unwrap_err()
                .to_string(),
            "invalid value: string \"timeout\", expected success, failure or ignored"
        );
        assert_eq!(
            from_value::<Cause>(json!({"cause": "melted"}))
                .unwrap_err()
                .to_string(),
            "unknown variant `melted`, expected one of `registered`, `tripped`, `probe`, \
             `recovered`, `reopened`, `probe_timeout`, `manual`, `fleet`"
        );
        assert_eq!(
            from_value::<Cause>(json!({"cause": "tripped"}))
                .unwrap_err()
                .to_string(),
            "missing field `rule`"
        );
    }

    #[test]
    fn every_cause_round_trips_with_its_rule_and_scope() {
        let rule: Arc<str> = Arc::from("failure_streak(3)");
        let causes = [
            (
                Cause::Registered,
                json!({"cause": "registered", "rule": null, "scope": null}),
            ),
            (
                Cause::Tripped { rule: rule.clone() },
                json!({"cause": "tripped", "rule": "failure_streak(3)", "scope": null}),
            ),
            (
                Cause::Probe,
                json!({"cause": "probe", "rule": null, "scope": null}),
            ),
            (
                Cause::Recovered,
                json!({"cause": "recovered", "rule": null, "scope": null}),
            ),
            (
                Cause::Reopened { rule },
                json!({"cause": "reopened", "rule": "failure_streak(3)", "scope": null}),
            ),
            (
                Cause::ProbeTimeout,
                json!({"cause": "probe_timeout", "rule": null, "scope": null}),
            ),
            (
                Cause::MANUAL,
                json!({"cause": "manual", "rule": null, "scope": "local"}),
            ),
            (
                Cause::Manual {
                    scope: Scope::Fleet,
                },
                json!({"cause": "manual", "rule": null, "scope": "fleet"}),
            ),
            (
                Cause::Fleet,
                json!({"cause": "fleet", "rule": null, "scope": null}),
            ),
        ];
        let mut names: Vec<_> = causes.iter().map(|(cause, _)| cause.as_str()).collect();
        names.dedup(); // two scopes of `manual`
        assert_eq!(names, CAUSES);
        for (cause, shape) in causes {
            assert_eq!(to_value(&cause).unwrap(), shape);
            assert_eq!(from_value::<Cause>(shape).unwrap(), cause);
        }
        assert_eq!(
            from_value::<Cause>(json!({"cause": "manual"})).unwrap(),
            Cause::MANUAL
        );
    }

    #[test]
    fn call_counts_round_trip_under_their_outcome_labels() {
        let calls = CallCounts {
            success: 120,
            failure: 14,
            ignored: 2,
            rejected: 37,
        };
        let shape = json!({"success": 120, "failure": 14, "ignored": 2, "rejected": 37});
        assert_eq!(to_value(calls).unwrap(), shape);
        assert_eq!(from_value::<CallCounts>(shape).unwrap(), calls);
    }

    /// A circuit that trips on two slow failures; its signals, and the clock it runs on.
    fn tripped() -> (Circuit, ManualClock, Vec<Signal>) {
        let clock = ManualClock::new();
        let signals = Arc::new(Mutex::new(Vec::new()));
        let sink = signals.clone();
        let second = Duration::from_secs(1);
        let circuit = Circuit::builder("payments")
            .policy(
                Policy::builder()
                    .trip(failure_streak(2) | slow_rate(0.9, second))
                    .retry(Retry::cooldown(Duration::from_millis(17_500)))
                    .build()
                    .unwrap(),
            )
            .clock(clock.clone())
            .on_signal(move |signal| sink.lock().unwrap().push(signal))
            .build();
        circuit.set_details(vec![
            ("fingerprint".to_owned(), "order {n} failed".to_owned()),
            ("sample".to_owned(), "order 7 failed".to_owned()),
        ]);
        for millis in [100, 1_250] {
            let admission = circuit.try_acquire().unwrap();
            clock.advance(Duration::from_millis(millis));
            admission.finish(Outcome::Failure);
        }
        let signals = signals.lock().unwrap().clone();
        (circuit, clock, signals)
    }

    #[test]
    fn a_tripped_signal_has_the_documented_shape() {
        let (_, _, signals) = tripped();
        assert_eq!(
            to_value(&signals[1]).unwrap(),
            json!({
                "circuit": "payments",
                "from": "closed",
                "to": "open",
                "at": "2023-11-14T22:13:21.350Z",
                "at_unix_ms": 1_700_000_001_350_i64,
                "cause": "tripped",
                "rule": "failure_streak(2) | slow_rate(0.9, 1s)",
                "scope": null,
                "origin": null,
                "details": {"fingerprint": "order {n} failed", "sample": "order 7 failed"},
                "metrics": {
                    "total": 2,
                    "failures": 2,
                    "failure_rate": 1.0,
                    "avg_latency_ms": 675.0,
                    "consecutive_failures": 2,
                    "slow": [{"threshold_ms": 1000.0, "calls": 1}]
                }
            })
        );
    }

    #[test]
    fn a_signal_from_another_replica_names_it() {
        let signal = Signal::new("payments", State::Closed, State::ForcedOpen, Cause::MANUAL)
            .with_at(UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789))
            .with_origin("replica-b");
        let value = to_value(&signal).unwrap();
        assert_eq!(
            [
                &value["at"],
                &value["at_unix_ms"],
                &value["origin"],
                &value["scope"]
            ],
            [
                &json!("2023-11-14T22:13:20.123Z"),
                &json!(1_700_000_000_123_i64),
                &json!("replica-b"),
                &json!("local")
            ]
        );
        assert_eq!(value["details"], json!({}));
    }

    #[test]
    fn a_snapshot_has_the_documented_shape() {
        let (circuit, clock, _) = tripped();
        clock.advance(Duration::from_millis(2_500));
        assert!(circuit.try_acquire().is_err());
        assert_eq!(
            to_value(circuit.snapshot()).unwrap(),
            json!({
                "name": "payments",
                "state": "open",
                "since": "2023-11-14T22:13:21.350Z",
                "time_in_state_secs": 2.5,
                "generation": 1,
                "reopens": 0,
                "retry_after_secs": 15,
                "probes_in_flight": 0,
                "metrics": {
                    "total": 0,
                    "failures": 0,
                    "failure_rate": null,
                    "avg_latency_ms": null,
                    "consecutive_failures": 0,
                    "slow": []
                },
                "calls": {"success": 0, "failure": 2, "ignored": 0, "rejected": 1}
            })
        );
    }

    #[test]
    fn durations_keep_their_sub_millisecond_digits_and_times_their_milliseconds() {
        assert_eq!(millis(Duration::from_micros(1_500)), 1.5);
        assert_eq!(secs(Duration::from_micros(12_345_678)), 12.345);
        let at = SystemTime::UNIX_EPOCH + Duration::from_nanos(999_999_999);
        assert_eq!(
            to_value(Rfc3339Millis(at)).unwrap(),
            json!("1970-01-01T00:00:00.999Z")
        );
    }
}
