//! Fleets of registries on one real Redis (a `redis-server` each test starts and stops):
//! overrides, adoption, shared trips with one prober, store outages and restarts, silent
//! partitions and wrong passwords. Every wait is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fusebox::fleet::CommandError;
use fusebox::trip::failure_streak;
use fusebox::{Cause, Fusebox, Outcome, Permit, Policy, Retry, Scope, Signal, State};
use fusebox_redis::RedisFleet;
use support::RedisServer;
use tower::service_fn;

/// Every signal a registry's listener received.
#[derive(Clone, Default)]
struct Signals(Arc<Mutex<Vec<Signal>>>);

impl Signals {
    fn last(&self, circuit: &str) -> Option<Signal> {
        let signals = self.0.lock().unwrap();
        signals
            .iter()
            .rev()
            .find(|s| &*s.circuit == circuit)
            .cloned()
    }

    fn count(&self, circuit: &str, to: State) -> usize {
        let signals = self.0.lock().unwrap();
        signals
            .iter()
            .filter(|s| &*s.circuit == circuit && s.to == to && !s.is_registration())
            .count()
    }
}

/// One replica: a registry with a fleet, its `work` circuit sharing trips.
struct Replica {
    fusebox: Fusebox,
    fleet: RedisFleet,
    signals: Signals,
}

impl Replica {
    fn work(&self) -> fusebox::Circuit {
        self.fusebox.circuit("work")
    }
}

fn policy(cooldown: Duration) -> Policy {
    Policy::builder()
        .trip(failure_streak(1))
        .retry(Retry::cooldown(cooldown))
        .permit(Permit::all())
        .build()
        .unwrap()
}

/// A replica named `id` on the store at `url`, with short timings so outages show fast.
fn replica_with(url: &str, id: &str, cooldown: Duration) -> Replica {
    let fleet = RedisFleet::builder(url)
        .replica(id)
        .timeout(Duration::from_millis(500))
        .ping_every(Duration::from_millis(250))
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .probe_lease(Duration::from_secs(2))
        .build()
        .unwrap();
    let signals = Signals::default();
    let sink = signals.0.clone();
    let fusebox = Fusebox::builder()
        .default_policy(policy(cooldown))
        .fleet(fleet.clone())
        .share_trips("work")
        .listener(
            "recorder",
            service_fn(move |signal: Signal| {
                sink.lock().unwrap().push(signal);
                async { Ok::<_, Infallible>(()) }
            }),
        )
        .build()
        .unwrap();
    fusebox.circuit("work");
    Replica {
        fusebox,
        fleet,
        signals,
    }
}

async fn replica(url: &str, id: &str) -> Replica {
    let replica = replica_with(url, id, Duration::from_millis(300));
    replica.fleet.ready(Duration::from_secs(5)).await.unwrap();
    replica
}

/// Polls `check` every 5 ms until it holds, for at most `limit`; returns how long it took.
async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

/// Runs a test body with a hard bound, so a hang fails instead of blocking CI.
async fn bounded(body: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(30), body)
        .await
        .expect("the test took longer than 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_open_fleet_wide_reaches_every_replica_within_a_second_and_reset_closes_them() {
    bounded(async {
        let redis = RedisServer::start();
        let a = replica(&redis.url(), "a").await;
        let b = replica(&redis.url(), "b").await;
        let c = replica(&redis.url(), "c").await;
        let all = [&a, &b, &c];

        let start = Instant::now();
        let changed = a
            .fusebox
            .command("work", State::ForcedOpen, Scope::Fleet)
            .await
            .unwrap();
        assert!(changed);
        eventually(Duration::from_secs(1), "all forced_open", || {
            all.iter().all(|r| r.work().state() == State::ForcedOpen)
        })
        .await;
        println!("force-open reached 3 replicas in {:?}", start.elapsed());

        for other in [&b, &c] {
            let standing = other.fusebox.fleet_override("work").unwrap();
            assert_eq!((standing.command(), &*standing.origin), ("force_open", "a"));
            // A local command is refused while the fleet override stands.
            let refused = other.fusebox.reset("work").unwrap_err();
            assert!(
                matches!(refused, CommandError::Overridden { .. }),
                "{refused}"
            );
            assert!(refused.to_string().contains("replica \"a\""), "{refused}");
        }
        for other in [&b, &c] {
            other.fusebox.flush(Duration::from_secs(1)).await.unwrap();
            let signal = other.signals.last("work").unwrap();
            assert_eq!(
                (signal.to, &signal.cause, signal.origin.as_deref()),
                (
                    State::ForcedOpen,
                    &Cause::Manual {
                        scope: Scope::Fleet
                    },
                    Some("a")
                )
            );
        }
        a.fusebox.flush(Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            a.signals.last("work").unwrap().origin,
            None,
            "a's own command"
        );

        let start = Instant::now();
        c.fusebox
            .command("work", State::Closed, Scope::Fleet)
            .await
            .unwrap();
        eventually(Duration::from_secs(1), "all closed", || {
            all.iter().all(|r| r.work().state() == State::Closed)
        })
        .await;
        println!("reset reached 3 replicas in {:?}", start.elapsed());
        assert!(
            all.iter()
                .all(|r| r.fusebox.fleet_override("work").is_none())
        );
        assert!(
            b.fusebox.force_open("work").unwrap(),
            "local commands work again"
        );
        assert_eq!(a.work().state(), State::Closed, "and stay local");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_started_after_an_override_adopts_it() {
    bounded(async {
        let redis = RedisServer::start();
        let a = replica(&redis.url(), "a").await;
        a.fusebox.circuit("billing");
        a.fusebox
            .command("billing", State::Disabled, Scope::Fleet)
            .await
            .unwrap();

        let later = replica(&redis.url(), "later").await;
        // Created after the sync: adopted by the registry as it creates the circuit.
        let billing = later.fusebox.circuit("billing");
        assert_eq!(billing.state(), State::Disabled);
        let standing = later.fusebox.fleet_override("billing").unwrap();
        assert_eq!((standing.state, &*standing.origin), (State::Disabled, "a"));
        later.fusebox.flush(Duration::from_secs(1)).await.unwrap();
        let signal = later.signals.last("billing").unwrap();
        assert_eq!(signal.origin.as_deref(), Some("a"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_trip_opens_the_others_one_replica_probes_and_its_recovery_closes_all() {
    bounded(async {
        let redis = RedisServer::start();
        let a = replica(&redis.url(), "a").await;
        let b = replica(&redis.url(), "b").await;
        let c = replica(&redis.url(), "c").await;
        let all = [&a, &b, &c];

        a.work().try_acquire().unwrap().finish(Outcome::Failure);
        assert_eq!(a.work().state(), State::Open);
        eventually(Duration::from_secs(1), "b and c open", || {
            all.iter().all(|r| r.work().state() == State::Open)
        })
        .await;
        for other in [&b, &c] {
            other.fusebox.flush(Duration::from_secs(1)).await.unwrap();
            let signal = other.signals.last("work").unwrap();
            assert_eq!(
                (
                    signal.from,
                    signal.to,
                    &signal.cause,
                    signal.origin.as_deref()
                ),
                (State::Closed, State::Open, &Cause::Fleet, Some("a"))
            );
            // Open until the shared deadline (300 ms) and the grace for the lease (500 ms).
            let wait = other.work().snapshot().retry_after.unwrap();
            assert!(wait <= Duration::from_millis(800), "{wait:?}");
        }

        // Past the deadline every replica is called; exactly one gets a probe through.
        let mut probe = None;
        let start = Instant::now();
        while probe.is_none() {
            assert!(start.elapsed() < Duration::from_secs(3), "nobody probed");
            for (index, replica) in all.iter().enumerate() {
                if let Ok(admission) = replica.work().try_acquire_owned() {
                    probe = Some((index, admission));
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (prober, admission) = probe.unwrap();
        // For a while after, the others reject every call: they wait on the prober.
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            for (index, replica) in all.iter().enumerate() {
                if index != prober {
                    assert!(replica.work().try_acquire().is_err(), "a second prober");
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let half_open: usize = all
            .iter()
            .map(|r| r.signals.count("work", State::HalfOpen))
            .sum();
        assert_eq!(half_open, 1, "only the lease holder probed");

        admission.finish(Outcome::Success);
        let took = eventually(Duration::from_secs(1), "all closed after the probe", || {
            all.iter().all(|r| r.work().state() == State::Closed)
        })
        .await;
        println!("recovery reached every replica in {took:?}");
        for (index, replica) in all.iter().enumerate() {
            if index != prober {
                replica.fusebox.flush(Duration::from_secs(1)).await.unwrap();
                let signal = replica.signals.last("work").unwrap();
                assert_eq!((signal.to, &signal.cause), (State::Closed, &Cause::Fleet));
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopening_by_the_prober_reopens_the_fleet_until_a_new_deadline() {
    bounded(async {
        let redis = RedisServer::start();
        let a = replica(&redis.url(), "a").await;
        let b = replica(&redis.url(), "b").await;
        a.work().try_acquire().unwrap().finish(Outcome::Failure);
        eventually(Duration::from_secs(1), "b open", || {
            b.work().state() == State::Open
        })
        .await;
        let start = Instant::now();
        let (prober, other) = loop {
            assert!(start.elapsed() < Duration::from_secs(3), "nobody probed");
            if let Ok(probe) = a.work().try_acquire_owned() {
                break (probe, &b);
            }
            if let Ok(probe) = b.work().try_acquire_owned() {
                break (probe, &a);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        prober.finish(Outcome::Failure);
        // The other replica hears the reopening: still open, with a fresh deadline.
        eventually(Duration::from_secs(1), "a fresh shared deadline", || {
            other
                .work()
                .snapshot()
                .retry_after
                .is_some_and(|wait| wait > Duration::from_millis(600))
        })
        .await;
        assert_eq!(other.work().state(), State::Open);
    })
    .await;
}

/// Per-call latencies of calls through `circuit` for `period`, a failure every 50th call so
/// the shared circuit trips (a transition for the fleet) and recovers along the way.
fn call_latencies(circuit: &fusebox::Circuit, period: Duration) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(1 << 20);
    let end = Instant::now() + period;
    let mut n = 0u64;
    while Instant::now() < end {
        let start = Instant::now();
        if let Ok(admission) = circuit.try_acquire() {
            let outcome = if n % 50 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            admission.finish(outcome);
        }
        latencies.push(start.elapsed());
        n += 1;
    }
    latencies
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[latencies.len() * 99 / 100]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_keep_flowing_and_never_wait_when_the_store_dies() {
    bounded(async {
        let mut redis = RedisServer::start();
        // The same registry without a fleet: the baseline.
        let local = Fusebox::builder()
            .default_policy(policy(Duration::from_millis(1)))
            .build()
            .unwrap();
        let a = replica_with(&redis.url(), "a", Duration::from_millis(1));
        a.fleet.ready(Duration::from_secs(5)).await.unwrap();
        let period = Duration::from_millis(200);
        let baseline =
            tokio::task::block_in_place(|| call_latencies(&local.circuit("work"), period));

        redis.kill();
        let before = a.signals.count("work", State::Closed);
        let latencies = tokio::task::block_in_place(|| call_latencies(&a.work(), period));
        let calls = latencies.len();
        let worst = *latencies.iter().max().unwrap();
        let (fleet_p99, baseline_p99) = (p99(latencies), p99(baseline));
        println!(
            "{calls} calls in {period:?} with a dead store: p99 {fleet_p99:?} per call; \
             without a fleet p99 {baseline_p99:?}; slowest {worst:?}"
        );
        a.fusebox.flush(Duration::from_secs(1)).await.unwrap();
        let recoveries = a.signals.count("work", State::Closed) - before;
        assert!(
            recoveries >= 2,
            "the circuit tripped and recovered locally: {recoveries}"
        );
        // Nothing waited on the network: a wait would be the 500 ms timeout.
        assert!(
            worst < Duration::from_millis(100),
            "a call waited {worst:?}"
        );
        assert!(
            fleet_p99 <= baseline_p99 * 10 + Duration::from_micros(50),
            "p99 {fleet_p99:?} against {baseline_p99:?} without a fleet"
        );
        eventually(Duration::from_secs(3), "the outage is noticed", || {
            !a.fleet.is_connected()
        })
        .await;
        let refused = a
            .fusebox
            .command("work", State::ForcedOpen, Scope::Fleet)
            .await
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("is unreachable; nothing changed"),
            "{refused}"
        );
        assert!(
            a.fusebox.force_open("work").unwrap(),
            "local commands still work"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_resync_after_the_store_restarts_empty() {
    bounded(async {
        let mut redis = RedisServer::start();
        let a = replica(&redis.url(), "a").await;
        let b = replica(&redis.url(), "b").await;
        a.fusebox
            .command("work", State::ForcedOpen, Scope::Fleet)
            .await
            .unwrap();
        eventually(Duration::from_secs(1), "b forced_open", || {
            b.work().state() == State::ForcedOpen
        })
        .await;

        redis.restart(); // no persistence: the override is gone from the store
        eventually(Duration::from_secs(5), "both reconnected", || {
            a.fleet.is_connected() && b.fleet.is_connected()
        })
        .await;
        // a issued the override, so a put it back; b follows the store.
        eventually(
            Duration::from_secs(2),
            "the override is back in the store",
            || redis.query("EXISTS fusebox:override:work").trim() == ":1",
        )
        .await;
        eventually(
            Duration::from_secs(2),
            "b forced_open after the re-sync",
            || {
                b.work().state() == State::ForcedOpen
                    && b.fusebox
                        .fleet_override("work")
                        .is_some_and(|o| &*o.origin == "a")
            },
        )
        .await;
        assert_eq!(a.work().state(), State::ForcedOpen);

        // A reset after the restart reaches both again: the channel works.
        b.fusebox
            .command("work", State::Closed, Scope::Fleet)
            .await
            .unwrap();
        eventually(Duration::from_secs(1), "both closed", || {
            a.work().state() == State::Closed && b.work().state() == State::Closed
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_partition_is_noticed_within_five_seconds() {
    bounded(async {
        let redis = RedisServer::start();
        // Default timings: a PING every second that must answer within 2 s.
        let fleet = RedisFleet::builder(redis.url())
            .replica("a")
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
            .build()
            .unwrap();
        let _fusebox = Fusebox::builder().fleet(fleet.clone()).build().unwrap();
        fleet.ready(Duration::from_secs(5)).await.unwrap();
        redis.signal("STOP"); // the process stops answering; no connection closes
        let took = eventually(Duration::from_secs(5), "the partition is noticed", || {
            !fleet.is_connected()
        })
        .await;
        println!("silent partition noticed after {took:?}");
        redis.signal("CONT");
        eventually(Duration::from_secs(5), "reconnected", || {
            fleet.is_connected()
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_error_and_the_service_still_runs_locally() {
    bounded(async {
        let redis = RedisServer::start_with(&["--requirepass", "right-horse-battery"]);
        let url = format!("redis://:wrong-staple@127.0.0.1:{}", redis.port());
        let fleet = RedisFleet::builder(url.as_str()).replica("a").build().unwrap();
        let fusebox = Fusebox::builder().fleet(fleet.clone()).build().unwrap();
        let error = fleet.ready(Duration::from_secs(5)).await.unwrap_err();
        let message = error.to_string();
        assert_eq!(
            message,
            format!(
                "redis://:***@127.0.0.1:{} refused the credentials (WRONGPASS): check the user name and password in the URL",
                redis.port()
            )
        );
        assert!(!format!("{fleet:?}").contains("wrong-staple"));

        let circuit = fusebox.circuit("work");
        circuit.try_acquire().unwrap().finish(Outcome::Success);
        assert!(fusebox.force_open("work").unwrap());
        assert!(circuit.try_acquire().is_err());
        let refused = fusebox.command("work", State::Closed, Scope::Fleet).await;
        assert!(matches!(refused, Err(CommandError::Fleet(_))), "{refused:?}");

        let no_password = RedisFleet::builder(redis.url()).replica("b").build().unwrap();
        let _other = Fusebox::builder().fleet(no_password.clone()).build().unwrap();
        let error = no_password.ready(Duration::from_secs(5)).await.unwrap_err();
        assert!(error.to_string().contains("needs a password"), "{error}");

        let right = format!("redis://:right-horse-battery@127.0.0.1:{}", redis.port());
        let good = RedisFleet::builder(right).replica("c").build().unwrap();
        let _third = Fusebox::builder().fleet(good.clone()).build().unwrap();
        good.ready(Duration::from_secs(5)).await.unwrap();
    })
    .await;
}
