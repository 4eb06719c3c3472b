//! MQTT 5 and 3.1.1 as the specifications say, checked by an independent client: every probe
//! of tests/peers/mqtt_conformance.py (Eclipse Paho and raw sockets, written from the OASIS
//! specifications) against one embedded broker. Each probe names the section it checks; a
//! failure prints the probe's reason and what the broker sent.
//!
//! The probes use their own client ids and topics, so they run side by side (a few at a time:
//! some wait seconds for wills and expiries).

use std::collections::VecDeque;
use std::process::Command;
use std::sync::{Arc, Mutex};
use workbench_testkit::peers::TestBroker;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/mqtt_conformance.py"
);
/// Probes running at once.
const LANES: usize = 4;

fn probes() -> Vec<String> {
    let output = Command::new("python3")
        .args([SCRIPT, "list"])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "the probe list");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs one probe; its report when it failed.
fn run(probe: &str, port: &str) -> Option<String> {
    let mut command = Command::new("python3");
    command.args([SCRIPT, probe, port]).env("PROBE_SLACK", "2");
    if probe == "server-keep-alive" {
        // The broker's default maximum keep-alive for MQTT 5 clients.
        command.arg("60");
    }
    let output = command.output().expect("python3 runs");
    (!output.status.success()).then(|| {
        format!(
            "{probe}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn the_broker_behaves_as_the_specifications_say() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let names = probes();
    assert!(names.len() >= 18, "probes: {names:?}");
    let queue = Arc::new(Mutex::new(VecDeque::from(names)));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let lanes: Vec<_> = (0..LANES)
        .map(|_| {
            let (queue, failures, port) = (queue.clone(), failures.clone(), port.clone());
            std::thread::spawn(move || loop {
                let next = queue.lock().expect("queue").pop_front();
                let Some(probe) = next else {
                    return;
                };
                if let Some(report) = run(&probe, &port) {
                    failures.lock().expect("failures").push(report);
                }
            })
        })
        .collect();
    for lane in lanes {
        lane.join().expect("a probe lane");
    }
    let failures = failures.lock().expect("failures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
