//! What a fleet costs Redis, measured: 20 registries in one process on one real Redis, 100
//! shared circuits each. Counts the commands Redis executes (`INFO commandstats`) per
//! fleet-wide command, per shared trip and per idle second, and times propagation. The
//! numbers are printed (`-- --nocapture`) and go into docs/FLEET.md; the assertions bound
//! propagation and the per-transition command counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fusebox::trip::failure_streak;
use fusebox::{Fusebox, Outcome, Permit, Policy, Retry, Scope, State};
use fusebox_redis::RedisFleet;
use support::RedisServer;

const REPLICAS: usize = 20;
const CIRCUITS: usize = 100;

/// Commands Redis executed so far, by name.
async fn command_counts(
    connection: &mut redis::aio::MultiplexedConnection,
) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(connection)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats.split(',').next()?.strip_prefix("calls=")?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

/// What ran between two counts, without the `INFO` calls of the measurement itself.
fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut ran: Vec<(String, u64)> = after
        .iter()
        .filter(|(name, _)| name.as_str() != "info")
        .map(|(name, calls)| (name.clone(), calls - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, calls)| *calls > 0)
        .collect();
    ran.sort();
    ran
}

fn total(ran: &[(String, u64)]) -> u64 {
    ran.iter().map(|(_, calls)| calls).sum()
}

async fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_replicas_with_a_hundred_shared_circuits_each() {
    tokio::time::timeout(Duration::from_secs(60), measure())
        .await
        .expect("the measurement took longer than 60 s");
}

async fn measure() {
    let redis = RedisServer::start();
    let mut probe = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let names: Vec<String> = (0..CIRCUITS).map(|n| format!("upstream-{n:03}")).collect();
    let policy = Policy::builder()
        .trip(failure_streak(1))
        .retry(Retry::cooldown(Duration::from_millis(500)))
        .permit(Permit::all())
        .build()
        .unwrap();

    let before = command_counts(&mut probe).await;
    let start = Instant::now();
    let mut replicas = Vec::new();
    for n in 0..REPLICAS {
        let fleet = RedisFleet::builder(redis.url())
            .replica(format!("r{n:02}"))
            .build()
            .unwrap();
        let mut builder = Fusebox::builder()
            .default_policy(policy.clone())
            .fleet(fleet.clone());
        for name in &names {
            builder = builder.share_trips(name.clone());
        }
        let fusebox = builder.build().unwrap();
        for name in &names {
            fusebox.circuit(name);
        }
        replicas.push((fusebox, fleet));
    }
    for (_, fleet) in &replicas {
        fleet.ready(Duration::from_secs(10)).await.unwrap();
    }
    let joined = start.elapsed();
    let startup = delta(&before, &command_counts(&mut probe).await);
    println!(
        "{REPLICAS} replicas x {CIRCUITS} shared circuits joined in {joined:?}; \
         startup commands {}: {startup:?}",
        total(&startup)
    );

    // Fleet-wide commands: every circuit forced open from replica r00, then reset.
    let before = command_counts(&mut probe).await;
    let start = Instant::now();
    for name in &names {
        replicas[0]
            .0
            .command(name, State::ForcedOpen, Scope::Fleet)
            .await
            .unwrap();
    }
    let issued = start.elapsed();
    let reached = wait_for(Duration::from_secs(5), "every circuit forced open", || {
        replicas.iter().all(|(fusebox, _)| {
            names
                .iter()
                .all(|name| fusebox.circuit(name).state() == State::ForcedOpen)
        })
    })
    .await;
    let commands = delta(&before, &command_counts(&mut probe).await);
    println!(
        "{CIRCUITS} fleet-wide force-opens: issued in {issued:?}, on all {REPLICAS} replicas \
         {reached:?} later; Redis commands {} ({} per command): {commands:?}",
        total(&commands),
        total(&commands) as f64 / CIRCUITS as f64
    );
    assert_eq!(
        total(&commands),
        4 * CIRCUITS as u64,
        "MULTI SET PUBLISH EXEC"
    );
    for name in &names {
        replicas[0]
            .0
            .command(name, State::Closed, Scope::Fleet)
            .await
            .unwrap();
    }
    wait_for(Duration::from_secs(5), "every circuit closed", || {
        replicas.iter().all(|(fusebox, _)| {
            names
                .iter()
                .all(|name| fusebox.circuit(name).state() == State::Closed)
        })
    })
    .await;

    // Shared trips: each circuit trips on one replica; the others open; one probes each.
    let before = command_counts(&mut probe).await;
    let start = Instant::now();
    for (n, name) in names.iter().enumerate() {
        let (tripper, _) = &replicas[n % REPLICAS];
        tripper
            .circuit(name)
            .try_acquire()
            .unwrap()
            .finish(Outcome::Failure);
    }
    let opened = wait_for(Duration::from_secs(5), "every replica open", || {
        replicas.iter().all(|(fusebox, _)| {
            names
                .iter()
                .all(|name| fusebox.circuit(name).state() == State::Open)
        })
    })
    .await;
    let trips = delta(&before, &command_counts(&mut probe).await);
    println!(
        "{CIRCUITS} shared trips: open on all {REPLICAS} replicas after {:?}; Redis commands {} \
         ({} per trip): {trips:?}",
        start.elapsed(),
        total(&trips),
        total(&trips) as f64 / CIRCUITS as f64
    );
    assert!(opened < Duration::from_secs(1), "{opened:?}");
    assert_eq!(
        total(&trips),
        5 * CIRCUITS as u64,
        "MULTI SET DEL PUBLISH EXEC"
    );

    // The deadline: every replica contends for each lease; the winners probe and recover.
    let before = command_counts(&mut probe).await;
    let start = Instant::now();
    let mut probes = 0;
    while start.elapsed() < Duration::from_secs(10) {
        for (fusebox, _) in &replicas {
            for name in &names {
                if let Ok(admission) = fusebox.circuit(name).try_acquire() {
                    admission.finish(Outcome::Success);
                    probes += 1;
                }
            }
        }
        let closed = replicas.iter().all(|(fusebox, _)| {
            names
                .iter()
                .all(|name| fusebox.circuit(name).state() == State::Closed)
        });
        if closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recovery = delta(&before, &command_counts(&mut probe).await);
    let lease_calls: u64 = recovery
        .iter()
        .filter(|(name, _)| name.starts_with("eval"))
        .map(|(_, calls)| calls)
        .sum();
    println!(
        "lease and recovery of {CIRCUITS} circuits: all closed after {:?} (deadline 500 ms), \
         {probes} calls admitted; Redis commands {} ({} per circuit, lease scripts {lease_calls}): \
         {recovery:?}",
        start.elapsed(),
        total(&recovery),
        total(&recovery) as f64 / CIRCUITS as f64
    );
    assert!(replicas.iter().all(|(fusebox, _)| {
        names
            .iter()
            .all(|name| fusebox.circuit(name).state() == State::Closed)
    }));
    let recoveries = recovery.iter().find(|(name, _)| name == "publish");
    assert_eq!(
        recoveries.map(|(_, calls)| *calls),
        Some(CIRCUITS as u64),
        "one replica probed and recovered each circuit"
    );

    // Idle: only the PINGs.
    let before = command_counts(&mut probe).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = delta(&before, &command_counts(&mut probe).await);
    println!(
        "idle for 2 s: Redis commands {} ({} per replica per second): {idle:?}",
        total(&idle),
        total(&idle) as f64 / 2.0 / REPLICAS as f64
    );
    let memory: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut probe)
        .await
        .unwrap();
    let used = memory
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .unwrap_or("?");
    let clients: String = redis::cmd("INFO")
        .arg("clients")
        .query_async(&mut probe)
        .await
        .unwrap();
    let connected = clients
        .lines()
        .find_map(|line| line.strip_prefix("connected_clients:"))
        .unwrap_or("?");
    println!("Redis: used_memory {used} bytes, connected_clients {connected}");
}
