//! The upstream over WebSocket and secure WebSocket: the embedded broker's ws and wss listeners
//! (mosquitto's test configuration has none) reached through the proxy by mosquitto_pub, an
//! MQTT 5 device included, with the message seen by a mosquitto_sub subscriber on the broker.

mod common;

use common::Running;
use workbench_broker::{BrokerSettings, TlsSettings};
use workbench_proxy::ProxySettings;
use workbench_testkit::mosquitto::{free_port, TestCa};
use workbench_testkit::peers::{mosquitto_pub, ReadySub, TestBroker};

fn through(upstream: &str, configure: impl FnOnce(&mut ProxySettings), broker: &TestBroker) {
    let mut settings = ProxySettings::new(0, upstream);
    configure(&mut settings);
    let running = Running::start(settings);
    let subscriber = ReadySub::start(&broker.port(), "proxy/ws-up", 2, &[]);
    for (id, version) in [("ws-311", "mqttv311"), ("ws-5", "mqttv5")] {
        let out = mosquitto_pub(
            &running.port(),
            &[
                "-V",
                version,
                "-i",
                id,
                "-t",
                "proxy/ws-up",
                "-m",
                id,
                "-q",
                "1",
            ],
        );
        assert!(out.status.success(), "{out:?}");
    }
    assert_eq!(
        subscriber.finish(),
        "proxy/ws-up ws-311\nproxy/ws-up ws-5\n"
    );
}

#[test]
fn a_websocket_upstream_is_reached() {
    let broker = TestBroker::start(BrokerSettings {
        websocket_port: Some(free_port()),
        ..BrokerSettings::default()
    });
    let ws = broker.port_of("ws");
    through(&format!("ws://127.0.0.1:{ws}/mqtt"), |_| {}, &broker);
}

#[test]
fn a_secure_websocket_upstream_is_reached_with_the_users_ca() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::create(dir.path());
    let broker = TestBroker::start(BrokerSettings {
        tls: Some(TlsSettings {
            port: free_port(),
            wss_port: Some(free_port()),
            cert_path: ca.server_cert.clone(),
            key_path: ca.server_key.clone(),
        }),
        ..BrokerSettings::default()
    });
    let wss = broker.port_of("wss");
    let ca_file = ca.ca.display().to_string();
    through(
        &format!("wss://localhost:{wss}/mqtt"),
        |s| s.upstream.ca_file = Some(ca_file),
        &broker,
    );
}
