//! Fault rules armed on a proxied client: a cut (no DISCONNECT) makes the upstream publish the
//! will to a mosquitto_sub subscriber; a dropped PUBACK makes a paho QoS 1 publisher send the
//! PUBLISH again with DUP after it reconnects; a refusal answers the CONNECT without the
//! upstream. Every injected fault is marked in the packet log.

mod common;

use common::{upstream_of, Running};
use std::process::Command;
use workbench_faults::{mark_of, Fault, Toward};
use workbench_proxy::{ClientState, ProxySettings};
use workbench_testkit::mosquitto::Mosquitto;
use workbench_testkit::peers::{wait_until, ReadySub};
use workbench_testkit::raw::{self, Connect, RawClient};
use workbench_wire::{Direction, PacketKind};

#[test]
fn a_cut_fires_the_will_at_a_subscriber() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    let subscriber = ReadySub::start(&mosquitto.port.to_string(), "proxy/will", 1, &[]);
    let mut device = RawClient::connected(
        running.proxy().local_addr(),
        Connect {
            client_id: "dev-cut",
            will: Some(("proxy/will", b"dev-cut is gone", 0)),
            ..Connect::default()
        },
    );
    wait_until("dev-cut connected", || {
        running
            .row("dev-cut")
            .is_some_and(|r| r.state == ClientState::Connected)
    });
    running
        .proxy()
        .faults()
        .arm("dev-cut", Fault::Cut)
        .expect("armed");
    assert_eq!(device.read_packet(), None, "the device's connection is cut");
    assert_eq!(subscriber.finish().trim_end(), "proxy/will dev-cut is gone");
    wait_until("the cut in words", || {
        running.row("dev-cut").is_some_and(|r| {
            r.state == ClientState::Closed && r.detail.contains("cut by a fault rule")
        })
    });
}

#[test]
fn a_dropped_puback_makes_paho_send_again_with_dup_after_reconnecting() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    running
        .proxy()
        .faults()
        .arm(
            "paho-drop",
            Fault::Drop {
                kind: PacketKind::PubAck,
                toward: Toward::Client,
                count: 1,
            },
        )
        .expect("armed");
    let script = r#"
import sys, time, paho.mqtt.client as mqtt
port = int(sys.argv[1])
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-drop", clean_session=False)
c.reconnect_delay_set(min_delay=1, max_delay=1)
c.connect("127.0.0.1", port, 30)
c.loop_start()
info = c.publish("proxy/drop", b"once", qos=1)
time.sleep(1.5)
print("acked early" if info.is_published() else "no puback")
c.socket().close()
info.wait_for_publish(20)
print("published" if info.is_published() else "never published")
c.disconnect()
c.loop_stop()
"#;
    let output = Command::new("python3")
        .args(["-c", script, &running.port()])
        .output()
        .expect("python3 with paho-mqtt 2");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("no puback"), "{said} {output:?}");
    assert!(
        said.contains("published") && !said.contains("never"),
        "{said} {output:?}"
    );

    // Events reach the views in batches after the packets went: wait for the marked one.
    wait_until("the dropped PUBACK in the log", || {
        running
            .events_of("paho-drop")
            .iter()
            .any(|e| e.summary.kind == PacketKind::PubAck && mark_of(&e.summary.fields).is_some())
    });
    let events = running.events_of("paho-drop");
    let dropped: Vec<_> = events
        .iter()
        .filter(|e| e.summary.kind == PacketKind::PubAck && e.direction == Direction::Outbound)
        .map(|e| mark_of(&e.summary.fields).map(str::to_string))
        .collect();
    assert_eq!(
        dropped.first(),
        Some(&Some("drop".to_string())),
        "{events:#?}"
    );
    let publishes: Vec<_> = events
        .iter()
        .filter(|e| e.summary.kind == PacketKind::Publish && e.direction == Direction::Inbound)
        .map(|e| (e.summary.packet_id, e.summary.dup))
        .collect();
    assert!(publishes.len() >= 2, "{publishes:?}");
    assert!(!publishes[0].1, "the first is not a duplicate");
    assert_eq!(
        publishes[1],
        (publishes[0].0, true),
        "sent again with DUP: {publishes:?}"
    );
}

#[test]
fn a_refusal_rule_answers_the_connect_without_the_upstream() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    running
        .proxy()
        .faults()
        .arm("dev-no", Fault::Refuse { code: 0x87 })
        .expect("armed");
    let mut device = RawClient::connect(running.proxy().local_addr());
    device.send(
        &Connect {
            level: raw::V5,
            client_id: "dev-no",
            ..Connect::default()
        }
        .encode(),
    );
    assert_eq!(device.read_packet(), Some(vec![0x20, 3, 0, 0x87, 0]));
    wait_until("the refusal's row", || {
        running
            .row("dev-no")
            .is_some_and(|r| r.state == ClientState::Refused && r.detail.contains("fault rule"))
    });
    wait_until("the refusal's mark in the log", || {
        running
            .events_of("dev-no")
            .iter()
            .any(|e| mark_of(&e.summary.fields).is_some())
    });
    let marks: Vec<_> = running
        .events_of("dev-no")
        .iter()
        .filter_map(|e| mark_of(&e.summary.fields).map(str::to_string))
        .collect();
    assert_eq!(marks, vec!["refuse 0x87".to_string()]);
}

#[test]
fn a_duplicate_reaches_the_subscriber_twice_with_dup_and_a_delay_holds_it_back() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    let address = running.proxy().local_addr();
    let mut subscriber = RawClient::connected(
        address,
        Connect {
            client_id: "dup-sub",
            ..Connect::default()
        },
    );
    subscriber.send(&raw::subscribe(raw::V311, 1, &[("proxy/dup", 1)]));
    assert_eq!(subscriber.read_packet().map(|p| p[0]), Some(0x90), "SUBACK");
    let book = running.proxy().faults();
    book.arm(
        "dup-sub",
        Fault::Duplicate {
            toward: Toward::Client,
            count: 1,
        },
    )
    .expect("armed");
    let delay = book
        .arm(
            "dup-sub",
            Fault::Delay {
                toward: Toward::Client,
                fixed_ms: 300,
                jitter_ms: 0,
            },
        )
        .expect("armed");
    let sent = std::time::Instant::now();
    let out = workbench_testkit::peers::mosquitto_pub(
        &mosquitto.port.to_string(),
        &["-t", "proxy/dup", "-m", "twice", "-q", "1"],
    );
    assert!(out.status.success());
    let got = subscriber.receive_publishes(2, raw::V311);
    assert!(
        sent.elapsed() >= std::time::Duration::from_millis(300),
        "held at least the delay"
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].payload, got[1].payload);
    assert!(!got[0].dup && got[1].dup, "the copy has DUP set: {got:?}");
    book.clear(delay);
    wait_until("both marks in the log", || {
        let marks: Vec<String> = running
            .events_of("dup-sub")
            .iter()
            .filter_map(|e| mark_of(&e.summary.fields).map(str::to_string))
            .collect();
        marks.iter().any(|m| m == "duplicate") && marks.iter().any(|m| m == "delay 300")
    });
    let marks: Vec<_> = running
        .events_of("dup-sub")
        .iter()
        .filter_map(|e| mark_of(&e.summary.fields).map(str::to_string))
        .collect();
    assert!(marks.contains(&"duplicate".to_string()), "{marks:?}");
    assert!(marks.iter().any(|m| m == "delay 300"), "{marks:?}");
}

#[test]
fn a_pause_stops_reading_the_device_until_cleared() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    let mut device = RawClient::connected(
        running.proxy().local_addr(),
        Connect {
            client_id: "paused",
            ..Connect::default()
        },
    );
    wait_until("paused connected", || {
        running
            .row("paused")
            .is_some_and(|r| r.state == ClientState::Connected)
    });
    let pause = running
        .proxy()
        .faults()
        .arm("paused", Fault::Pause)
        .expect("armed");
    device.send(&raw::PINGREQ);
    device
        .stream
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .expect("timeout");
    assert_eq!(device.read_packet(), None, "no PINGRESP while paused");
    assert!(running.proxy().faults().clear(pause).is_some());
    device
        .stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    assert_eq!(
        device.read_packet(),
        Some(vec![0xD0, 0]),
        "PINGRESP once cleared"
    );
}
