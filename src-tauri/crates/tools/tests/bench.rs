//! The load generator against real brokers: its counts agree with what the embedded broker
//! counted itself (`$SYS/broker/publish/messages/received` and `.../sent`, read by
//! mosquitto_sub), its latencies come from the payloads' timestamps, and a connection load
//! against mosquitto connects every client.

use std::time::Duration;
use workbench_testkit::mosquitto::Mosquitto;
use workbench_testkit::peers::{finish, mosquitto_sub, TestBroker};
use workbench_tools::bench::{Bench, BenchSpec, Mode};
use workbench_tools::Target;
use workbench_wire::codec::QoS;

/// The broker's publish counters, as `$SYS` reports them to an independent client.
fn sys_counters(port: &str) -> (u64, u64) {
    let out = finish(mosquitto_sub(
        port,
        &[
            "-t",
            "$SYS/broker/publish/messages/received",
            "-t",
            "$SYS/broker/publish/messages/sent",
            "-C",
            "2",
            "-v",
        ],
    ));
    let value = |name: &str| -> u64 {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    (
        value("$SYS/broker/publish/messages/received "),
        value("$SYS/broker/publish/messages/sent "),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn bench_counts_match_the_brokers_sys_counters() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let (received_before, sent_before) = sys_counters(&port);
    let spec = BenchSpec {
        mode: Mode::Pub,
        clients: 4,
        rate: 0.0,
        qos: QoS::AtLeastOnce,
        subscribers: 2,
        count: Some(2_500),
        duration: None,
        ..BenchSpec::default()
    };
    spec.check().expect("valid");
    let runtime = runtime();
    let stats = runtime.block_on(async {
        let mut bench = Bench::start(spec, Target::tcp(broker.address));
        tokio::time::timeout(Duration::from_secs(120), bench.wait())
            .await
            .expect("the run ends by itself")
    });
    eprintln!("{stats:#?}");
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    assert_eq!(stats.sent, 10_000.0);
    assert_eq!(stats.acked, 10_000.0, "every QoS 1 publish acknowledged");
    assert_eq!(
        stats.received, 20_000.0,
        "two subscribers, every message each"
    );
    assert_eq!(
        stats.latency.count, 20_000.0,
        "every delivery carried its send time"
    );
    assert!(stats.latency.p50 > 0.0 && stats.latency.p50 <= stats.latency.p99);
    assert!(stats.latency.p99 <= stats.latency.max);

    let (received_after, sent_after) = sys_counters(&port);
    assert_eq!(
        received_after - received_before,
        stats.sent as u64,
        "the broker received what the bench sent"
    );
    // The first $SYS reading delivered its own two messages after it was taken.
    assert_eq!(
        sent_after - sent_before,
        stats.received as u64 + 2,
        "the broker sent what the bench received"
    );
}

#[test]
fn connection_load_against_mosquitto() {
    let mosquitto = Mosquitto::start(&[], None);
    let spec = BenchSpec {
        mode: Mode::Conn,
        clients: 300,
        connect_rate: 2_000.0,
        count: None,
        duration: Some(Duration::from_secs(2)),
        ..BenchSpec::default()
    };
    let runtime = runtime();
    let stats = runtime.block_on(async {
        let mut bench = Bench::start(spec, Target::tcp(mosquitto.address()));
        bench.wait().await
    });
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    assert_eq!(stats.connected, 300.0);
    assert_eq!(stats.connect_time.count, 300.0);
    assert!(stats.connect_rate > 0.0);
}

#[test]
fn a_sub_bench_measures_another_bench_pub() {
    let broker = TestBroker::default_settings();
    let runtime = runtime();
    let target = Target::tcp(broker.address);
    let stats = runtime.block_on(async {
        let sub = BenchSpec {
            mode: Mode::Sub,
            clients: 1,
            topic: "paced/+".into(),
            count: Some(200),
            duration: Some(Duration::from_secs(60)),
            ..BenchSpec::default()
        };
        let mut sub = Bench::start(sub, target.clone());
        while sub.stats().connected < 1.0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let publisher = BenchSpec {
            mode: Mode::Pub,
            clients: 2,
            rate: 100.0,
            topic: "paced/%i".into(),
            subscribers: 0,
            count: Some(100),
            duration: None,
            ..BenchSpec::default()
        };
        let mut publisher = Bench::start(publisher, target);
        let sent = publisher.wait().await;
        assert_eq!(sent.sent, 200.0);
        // 100 msg/s per publisher: 100 messages take about a second, never much less.
        assert!(
            sent.send_rate <= 230.0,
            "paced at 2 x 100/s, sent at {}",
            sent.send_rate
        );
        sub.wait().await
    });
    assert_eq!(stats.received, 200.0);
    assert_eq!(stats.latency.count, 200.0);
}
