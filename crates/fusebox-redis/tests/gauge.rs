//! The connected gauge reaches a metrics recorder installed after the fleet came up: an
//! application often builds its fleet (which connects at once) before its exporter. A test
//! binary of its own, because it installs the process's global recorder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use fusebox::Fusebox;
use fusebox_redis::RedisFleet;
use metrics_exporter_prometheus::PrometheusBuilder;
use support::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_installed_after_the_fleet_connected_sees_the_connected_gauge() {
    tokio::time::timeout(Duration::from_secs(20), async {
        let redis = RedisServer::start();
        let fleet = RedisFleet::builder(redis.url())
            .replica("late")
            .ping_every(Duration::from_millis(100))
            .build()
            .unwrap();
        let _fusebox = Fusebox::builder().fleet(fleet.clone()).build().unwrap();
        fleet.ready(Duration::from_secs(5)).await.unwrap();

        let handle = PrometheusBuilder::new().install_recorder().unwrap();
        let start = Instant::now();
        while !handle
            .render()
            .lines()
            .any(|line| line == "circuit_breaker_fleet_connected{replica=\"late\"} 1")
        {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "no connected gauge within 3 s:\n{}",
                handle.render()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the test took longer than 20 s");
}
