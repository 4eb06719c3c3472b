//! Fault injection on the embedded broker, with real devices: Eclipse Paho 2 (tests/peers/
//! paho_faults.py), mosquitto_sub and raw sockets. Each test starts its own broker, with its
//! packet log, on a free loopback port; rules are armed through the router as the app does.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use workbench_broker::{Broker, BrokerEvent, BrokerSettings};
use workbench_faults::{mark_of, Fault, Toward};
use workbench_testkit::peers::{wait_until, ReadySub};
use workbench_testkit::raw::{self, Connect, RawClient, V311};
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// The broker with its packet log and connection notices collected.
struct Harness {
    runtime: tokio::runtime::Runtime,
    broker: Option<Broker>,
    packets: Arc<Mutex<Vec<PacketEvent>>>,
    notices: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    fn start() -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, mut rx) = mpsc::channel(100_000);
        let settings = BrokerSettings {
            bind: std::net::Ipv4Addr::LOCALHOST.into(),
            port: 0,
            port_fallback: false,
            ..BrokerSettings::default()
        };
        let broker = runtime
            .block_on(Broker::start(settings, Some(tx)))
            .expect("start the broker");
        let packets = Arc::new(Mutex::new(Vec::new()));
        let notices = Arc::new(Mutex::new(Vec::new()));
        let (p, n) = (packets.clone(), notices.clone());
        runtime.spawn(async move {
            while let Some(event) = rx.recv().await {
                match event {
                    BrokerEvent::Packets(batch) => {
                        p.lock().expect("lock").extend(batch.into_events())
                    }
                    BrokerEvent::Disconnected {
                        client_id, reason, ..
                    } => n
                        .lock()
                        .expect("lock")
                        .push(format!("{client_id}: {reason}")),
                    BrokerEvent::Refused {
                        client_id, reason, ..
                    } => n
                        .lock()
                        .expect("lock")
                        .push(format!("{client_id}: {reason}")),
                    _ => {}
                }
            }
        });
        Harness {
            runtime,
            broker: Some(broker),
            packets,
            notices,
        }
    }

    fn broker(&self) -> &Broker {
        self.broker.as_ref().expect("running")
    }

    fn port(&self) -> String {
        self.broker().local_addr().port().to_string()
    }

    fn arm(&self, client_id: &str, fault: Fault) -> u32 {
        self.broker()
            .router()
            .arm_fault(client_id, fault)
            .expect("a valid rule")
    }

    /// The packets of `client_id` that match.
    fn packets(&self, client_id: &str, matches: impl Fn(&PacketEvent) -> bool) -> Vec<PacketEvent> {
        self.packets
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| &*p.client_id == client_id && matches(p))
            .cloned()
            .collect()
    }

    fn marked(&self, client_id: &str, kind: PacketKind, mark: &str) -> usize {
        self.packets(client_id, |p| {
            p.summary.kind == kind && mark_of(&p.summary.fields) == Some(mark)
        })
        .len()
    }

    fn wait_connected(&self, client_id: &str) {
        wait_until(&format!("{client_id} connected"), || {
            self.broker()
                .clients()
                .iter()
                .any(|c| c.client_id == client_id)
        });
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(broker) = self.broker.take() {
            self.runtime.block_on(broker.stop());
        }
    }
}

fn paho(args: &[&str]) -> std::process::Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/paho_faults.py");
    Command::new("python3")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs")
}

fn succeeded(child: std::process::Child, what: &str) -> String {
    let output = child.wait_with_output().expect("paho finished");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "paho {what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn a_dropped_puback_makes_a_paho_publisher_send_again_with_dup_after_it_reconnects() {
    let h = Harness::start();
    h.arm(
        "faulty-pub",
        Fault::Drop {
            kind: PacketKind::PubAck,
            toward: Toward::Client,
            count: 1,
        },
    );
    let device = paho(&["puback", &h.port()]);
    wait_until("the dropped PUBACK in the log", || {
        h.marked("faulty-pub", PacketKind::PubAck, "drop") == 1
    });
    // The device waits for an acknowledgement that never comes; a lost network follows.
    h.arm("faulty-pub", Fault::Cut);
    succeeded(device, "puback");
    // Events reach the log a moment after the device saw the packets.
    wait_until("the acknowledged retransmission in the log", || {
        h.packets("faulty-pub", |p| {
            p.summary.kind == PacketKind::PubAck && mark_of(&p.summary.fields).is_none()
        })
        .len()
            == 1
    });
    let publishes = h.packets("faulty-pub", |p| {
        p.direction == Direction::Inbound && p.summary.kind == PacketKind::Publish
    });
    assert_eq!(
        publishes.len(),
        2,
        "the PUBLISH, then once more: {publishes:?}"
    );
    assert!(!publishes[0].summary.dup);
    assert!(publishes[1].summary.dup, "the retransmission has DUP set");
    assert_eq!(
        publishes[0].summary.packet_id,
        publishes[1].summary.packet_id
    );
    assert!(
        publishes[0].connection < publishes[1].connection,
        "after it reconnected"
    );
    let acked = h.packets("faulty-pub", |p| {
        p.summary.kind == PacketKind::PubAck && mark_of(&p.summary.fields).is_none()
    });
    assert_eq!(acked.len(), 1, "the second PUBLISH is acknowledged");
    assert!(h.broker().router().faults.is_empty(), "both rules used up");
}

#[test]
fn a_cut_connection_fires_the_will_at_a_mosquitto_sub_subscriber() {
    let h = Harness::start();
    let port = h.port();
    let watcher = ReadySub::start(&port, "faults/will", 1, &[]);
    let mut device = RawClient::connected(
        h.broker().local_addr(),
        Connect {
            client_id: "faulty-will",
            will: Some(("faults/will", b"gone", 1)),
            ..Connect::default()
        },
    );
    h.wait_connected("faulty-will");
    h.arm("faulty-will", Fault::Cut);
    assert!(device.closed_by_broker(), "the broker closed the socket");
    assert_eq!(watcher.finish().trim(), "faults/will gone");
    wait_until("the close and why", || {
        h.notices
            .lock()
            .expect("lock")
            .iter()
            .any(|n| n.starts_with("faulty-will: connection lost: cut by a fault rule"))
    });
    // No DISCONNECT was sent to it.
    assert!(h
        .packets("faulty-will", |p| p.summary.kind == PacketKind::Disconnect)
        .is_empty());
}

#[test]
fn a_refused_connect_gets_the_chosen_code_once() {
    let h = Harness::start();
    for version in ["5", "4"] {
        h.arm("faulty-connect", Fault::Refuse { code: 0x87 });
        succeeded(paho(&["refuse", &h.port(), "0x87", version]), "refuse");
    }
    wait_until("both refusals marked in the log", || {
        h.marked("faulty-connect", PacketKind::ConnAck, "refuse 0x87") == 2
    });
    assert!(h.broker().router().faults.is_empty());
}

#[test]
fn a_duplicated_publish_arrives_twice_at_paho_with_dup() {
    let h = Harness::start();
    h.arm(
        "faulty-sub",
        Fault::Duplicate {
            toward: Toward::Client,
            count: 1,
        },
    );
    let device = paho(&["duplicate", &h.port()]);
    wait_until("the subscription", || {
        h.broker()
            .clients()
            .iter()
            .any(|c| c.client_id == "faulty-sub" && c.subscriptions.contains_key("faults/dup"))
    });
    let publish = workbench_testkit::peers::mosquitto_pub(
        &h.port(),
        &["-t", "faults/dup", "-m", "twice", "-q", "1"],
    );
    assert!(publish.status.success());
    succeeded(device, "duplicate");
    wait_until("the copy marked in the log", || {
        h.marked("faulty-sub", PacketKind::Publish, "duplicate") == 1
    });
}

/// A subscriber at the raw socket level, subscribed to `filter` at QoS 1.
fn subscriber(h: &Harness, client_id: &str, filter: &str) -> RawClient {
    let mut client = RawClient::connected(
        h.broker().local_addr(),
        Connect {
            client_id,
            ..Connect::default()
        },
    );
    client.send(&raw::subscribe(V311, 1, &[(filter, 1)]));
    let suback = client.read_packet().expect("a SUBACK");
    assert_eq!(suback[0], 0x90);
    client
}

#[test]
fn a_delayed_client_does_not_delay_another() {
    let h = Harness::start();
    let mut slow = subscriber(&h, "slow-sub", "faults/delay");
    let mut quick = subscriber(&h, "quick-sub", "faults/delay");
    // Far longer than delivering to the other subscriber can take, even on a loaded machine.
    let rule = h.arm(
        "slow-sub",
        Fault::Delay {
            toward: Toward::Client,
            fixed_ms: 60_000,
            jitter_ms: 0,
        },
    );
    let port = h.port();
    let publish = workbench_testkit::peers::mosquitto_pub(
        &port,
        &["-t", "faults/delay", "-m", "m", "-q", "1"],
    );
    assert!(publish.status.success());
    let got = quick.receive_publishes(1, V311);
    assert_eq!(got.len(), 1, "the other subscriber got it at once");
    wait_until("the held PUBLISH marked in the log", || {
        h.marked("slow-sub", PacketKind::Publish, "delay 60000") == 1
    });
    // Cleared: what is held goes at once.
    assert!(h.broker().router().clear_fault(rule));
    let late = slow.receive_publishes(1, V311);
    assert_eq!(
        late.len(),
        1,
        "the delayed subscriber gets it once the rule is cleared"
    );
}

#[test]
fn a_paused_client_is_not_read_while_others_are_and_is_read_again_when_cleared() {
    let h = Harness::start();
    let mut watcher = subscriber(&h, "watcher", "faults/pause/#");
    let mut paused = RawClient::connected(
        h.broker().local_addr(),
        Connect {
            client_id: "paused-pub",
            ..Connect::default()
        },
    );
    h.wait_connected("paused-pub");
    let rule = h.arm("paused-pub", Fault::Pause);
    // The broker reads nothing from it now; its message waits in the socket.
    paused.send(&raw::publish(V311, "faults/pause/a", b"first", 0, false, 0));
    let other = workbench_testkit::peers::mosquitto_pub(
        &h.port(),
        &["-t", "faults/pause/b", "-m", "second", "-q", "1"],
    );
    assert!(other.status.success());
    let got = watcher.receive_publishes(1, V311);
    assert_eq!(
        got[0].topic, "faults/pause/b",
        "the other client went first"
    );
    assert!(h.broker().router().clear_fault(rule));
    let got = watcher.receive_publishes(1, V311);
    assert_eq!(got[0].topic, "faults/pause/a", "read again once resumed");
}

#[test]
fn a_disconnect_with_a_chosen_reason_reaches_an_mqtt5_client() {
    let h = Harness::start();
    let mut device = RawClient::connected(
        h.broker().local_addr(),
        Connect {
            level: raw::V5,
            client_id: "faulty-v5",
            ..Connect::default()
        },
    );
    h.wait_connected("faulty-v5");
    h.arm("faulty-v5", Fault::Disconnect { code: 0x89 });
    let packet = device.read_packet().expect("a DISCONNECT");
    assert_eq!(packet[0], 0xE0);
    assert_eq!(packet.get(2), Some(&0x89), "the chosen reason code");
    wait_until("the marked DISCONNECT in the log", || {
        h.marked("faulty-v5", PacketKind::Disconnect, "disconnect 0x89") == 1
    });
}

#[test]
fn packets_from_a_client_can_be_dropped_and_delayed_on_their_way_in() {
    let h = Harness::start();
    let mut watcher = subscriber(&h, "watcher-in", "faults/in/#");
    let mut device = RawClient::connected(
        h.broker().local_addr(),
        Connect {
            client_id: "lossy-in",
            ..Connect::default()
        },
    );
    h.wait_connected("lossy-in");
    h.arm(
        "lossy-in",
        Fault::Drop {
            kind: PacketKind::Publish,
            toward: Toward::Broker,
            count: 1,
        },
    );
    h.arm(
        "lossy-in",
        Fault::Delay {
            toward: Toward::Broker,
            fixed_ms: 300,
            jitter_ms: 0,
        },
    );
    device.send(&raw::publish(V311, "faults/in/a", b"lost", 0, false, 0));
    device.send(&raw::publish(V311, "faults/in/b", b"late", 0, false, 0));
    let got = watcher.receive_publishes(1, V311);
    assert_eq!(
        got[0].topic, "faults/in/b",
        "the first never reached the broker"
    );
    wait_until("both marks in the log", || {
        h.marked("lossy-in", PacketKind::Publish, "drop") == 1
            && h.marked("lossy-in", PacketKind::Publish, "delay 300") == 1
    });
    let inbound = h.packets("lossy-in", |p| p.summary.kind == PacketKind::Publish);
    assert!(inbound.iter().all(|p| p.direction == Direction::Inbound));
}
