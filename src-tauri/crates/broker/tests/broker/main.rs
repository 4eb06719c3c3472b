//! The embedded broker against independent clients: mosquitto_pub/mosquitto_sub and raw sockets.
//! Each test starts its own broker on a free loopback port.
//!
//! - [`connecting`]: versions, credentials, keep-alive, $SYS, input the broker refuses.
//! - [`delivery`]: QoS, retained messages, wills, persistent sessions, MQTT 5 properties.
//! - [`faults`]: fault injection with Paho 2, mosquitto_sub and raw sockets as the devices.
//! - [`listeners`]: ports, WebSocket, TLS, and what the app does through the door.
//! - [`routing`]: routing explained, every client's outcome and reason.

mod connecting;
mod delivery;
mod faults;
mod listeners;
mod routing;

use std::collections::HashMap;
use workbench_broker::BrokerSettings;
use workbench_testkit::peers::{
    finish, mosquitto_pub, mosquitto_sub, wait_until, ReadySub, TestBroker,
};
use workbench_testkit::raw::{self, Connect, RawClient, V311, V5};

fn with_users() -> TestBroker {
    TestBroker::start(BrokerSettings {
        users: HashMap::from([("alice".to_string(), "secret".to_string())]),
        ..BrokerSettings::default()
    })
}

/// The QoS a subscriber received, as `mosquitto_sub -d` reports it ("q0", "q1", "q2").
fn delivered_qos(debug_output: &str) -> Option<String> {
    let line = debug_output
        .lines()
        .find(|l| l.contains("received PUBLISH"))?;
    let start = line.find(", q")? + 2;
    Some(line[start..start + 2].to_string())
}

/// Runs one probe of tests/peers/paho_probe.py (Eclipse Paho) and fails with its report.
fn paho_probe(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/paho_probe.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "paho probe {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
