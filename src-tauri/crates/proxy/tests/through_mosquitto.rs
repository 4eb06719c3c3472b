//! The proxy between real devices (mosquitto_pub and mosquitto_sub, paho, a raw socket client)
//! and mosquitto as the upstream: a QoS 2 exchange passes unchanged and in order, the upstream's
//! refusal reaches the device with its code and shows in words, an unreachable upstream is
//! answered in the device's version, MQTT 5 devices pass, and the WebSocket listener serves.

mod common;

use common::{upstream_of, Running};
use std::process::Command;
use std::time::{Duration, Instant};
use workbench_proxy::{ClientState, ListenKind, ProxySettings};
use workbench_testkit::mosquitto::{free_port, Mosquitto};
use workbench_testkit::peers::{mosquitto_pub, wait_until, ReadySub};
use workbench_testkit::raw::{self, Connect as RawConnect, RawClient};
use workbench_wire::{Direction, PacketKind, ProtocolVersion};

#[test]
fn every_packet_of_a_qos2_exchange_passes_unchanged_and_in_order() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    let port = running.port();
    let subscriber = ReadySub::start(&port, "proxy/q2", 1, &["-q", "2", "-i", "sub-q2"]);

    let payload = "exactly these bytes: ✓ 中文 \t end".as_bytes();
    let mut device = RawClient::connected(
        running.proxy().local_addr(),
        RawConnect {
            client_id: "pub-q2",
            ..RawConnect::default()
        },
    );
    let publish = raw::publish(raw::V311, "proxy/q2", payload, 2, false, 42);
    device.send(&publish);
    let pubrec = device.read_packet().expect("PUBREC");
    assert_eq!(
        pubrec,
        vec![0x50, 2, 0, 42],
        "the upstream's PUBREC, unchanged"
    );
    device.send(&[0x62, 2, 0, 42]);
    let pubcomp = device.read_packet().expect("PUBCOMP");
    assert_eq!(
        pubcomp,
        vec![0x70, 2, 0, 42],
        "the upstream's PUBCOMP, unchanged"
    );
    device.send(&raw::DISCONNECT);
    let out = subscriber.finish();
    assert_eq!(
        out.trim_end().as_bytes(),
        [b"proxy/q2 ".as_slice(), payload].concat(),
        "the subscriber behind the proxy got the payload unchanged"
    );

    wait_until("the publisher's DISCONNECT is in the log", || {
        running
            .packets_of("pub-q2")
            .iter()
            .any(|p| p.1 == PacketKind::Disconnect)
    });
    let (i, o) = (Direction::Inbound, Direction::Outbound);
    let kinds: Vec<_> = running
        .packets_of("pub-q2")
        .into_iter()
        .map(|(d, k, id, _)| (d, k, id))
        .collect();
    use PacketKind::*;
    assert_eq!(
        kinds,
        vec![
            (i, Connect, None),
            (o, ConnAck, None),
            (i, Publish, Some(42)),
            (o, PubRec, Some(42)),
            (i, PubRel, Some(42)),
            (o, PubComp, Some(42)),
            (i, Disconnect, None),
        ],
        "every packet of the publisher's exchange, in order"
    );
    let logged = running.packets_of("pub-q2")[2].3;
    assert_eq!(
        logged,
        publish.len(),
        "the PUBLISH logged at its size on the wire"
    );

    // The subscriber's side of the same message: PUBLISH to it, then PUBREC, PUBREL, PUBCOMP.
    wait_until("the subscriber's PUBCOMP is in the log", || {
        running.packets_of("sub-q2").iter().any(|p| p.1 == PubComp)
    });
    let sub: Vec<_> = running
        .packets_of("sub-q2")
        .into_iter()
        .filter(|(_, k, _, _)| matches!(k, Publish | PubRec | PubRel | PubComp))
        .map(|(d, k, _, _)| (d, k))
        .collect();
    let tail = &sub[sub.len() - 4..];
    assert_eq!(
        tail,
        &[(o, Publish), (i, PubRec), (o, PubRel), (i, PubComp)],
        "{sub:?}"
    );
    let everything = running.everything();
    assert!(
        everything.contains("Subscribed { client_id: \"sub-q2\", filter: \"proxy/q2\", qos: 2 }"),
        "{everything}"
    );
}

#[test]
fn an_upstream_refusal_reaches_the_device_with_its_code_and_shows_in_words() {
    let mosquitto = Mosquitto::start(&[("alice", "right-password")], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    let port = running.port();
    let refused = mosquitto_pub(
        &port,
        &[
            "-t",
            "a",
            "-m",
            "x",
            "-i",
            "wrong-pw",
            "-u",
            "alice",
            "-P",
            "wrong-secret-9",
        ],
    );
    assert!(!refused.status.success(), "mosquitto_pub was refused");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("not authorised"),
        "mosquitto_pub says: {said}"
    );

    wait_until("the refused client's row", || {
        running
            .row("wrong-pw")
            .is_some_and(|r| r.state == ClientState::Refused && !r.detail.is_empty())
    });
    let row = running.row("wrong-pw").expect("row");
    assert!(row.detail.contains("not authorized"), "{}", row.detail);
    assert!(
        row.detail.contains("0x05"),
        "the code as well: {}",
        row.detail
    );
    wait_until("the Refused notice", || {
        running.everything().contains("Refused {")
    });
    let everything = running.everything();
    assert!(
        !everything.contains("wrong-secret-9") && !format!("{row:?}").contains("wrong-secret-9"),
        "the password is never shown"
    );

    // The right password passes.
    let accepted = mosquitto_pub(
        &port,
        &[
            "-t",
            "a",
            "-m",
            "x",
            "-i",
            "right-pw",
            "-u",
            "alice",
            "-P",
            "right-password",
        ],
    );
    assert!(accepted.status.success(), "{accepted:?}");
}

#[test]
fn an_unreachable_upstream_is_answered_server_unavailable_in_the_devices_version() {
    let nowhere = format!("mqtt://127.0.0.1:{}", free_port());
    let running = Running::start(ProxySettings::new(0, &nowhere));
    let address = running.proxy().local_addr();

    let out = mosquitto_pub(&running.port(), &["-t", "a", "-m", "x", "-i", "dev-311"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("unavailable"), "mosquitto_pub says: {said}");

    let mut v5 = RawClient::connect(address);
    v5.send(
        &RawConnect {
            level: raw::V5,
            client_id: "dev-5",
            ..RawConnect::default()
        }
        .encode(),
    );
    assert_eq!(v5.read_packet(), Some(vec![0x20, 3, 0, 0x88, 0]));
    assert_eq!(v5.read_packet(), None, "then closed");

    wait_until("both rows in words", || {
        ["dev-311", "dev-5"].iter().all(|id| {
            running.row(id).is_some_and(|r| {
                r.state == ClientState::Refused && r.detail.contains("cannot be reached")
            })
        })
    });
    let row = running.row("dev-311").expect("row");
    assert!(row.detail.contains("connection refused"), "{}", row.detail);
}

#[test]
fn an_mqtt5_device_passes_with_its_properties() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = Running::start(ProxySettings::new(0, &upstream_of(&mosquitto)));
    let port = running.port();
    let subscriber = ReadySub::start(
        &port,
        "proxy/v5",
        1,
        &["-V", "mqttv5", "-i", "sub-v5", "-F", "%t %p %P"],
    );
    let out = mosquitto_pub(
        &port,
        &[
            "-V",
            "mqttv5",
            "-i",
            "pub-v5",
            "-t",
            "proxy/v5",
            "-m",
            "five",
            "-q",
            "1",
            "-D",
            "publish",
            "user-property",
            "colour",
            "blue",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let got = subscriber.finish();
    assert!(got.contains("proxy/v5 five colour:blue"), "{got}");
    wait_until("the publisher's PUBACK", || {
        running
            .packets_of("pub-v5")
            .iter()
            .any(|p| p.1 == PacketKind::PubAck)
    });
    let everything = running.everything();
    assert!(everything.contains("version: V5"), "{everything}");
    assert!(
        everything.contains("colour"),
        "the user property is decoded: {everything}"
    );
    let _ = ProtocolVersion::V5;
}

#[test]
fn the_websocket_listener_serves_paho() {
    let mosquitto = Mosquitto::start(&[], None);
    let mut settings = ProxySettings::new(0, &upstream_of(&mosquitto));
    settings.listen = ListenKind::Ws;
    let running = Running::start(settings);
    let direct = mosquitto.port.to_string();
    let subscriber = ReadySub::start(&direct, "proxy/ws", 1, &[]);
    let script = r#"
import sys, paho.mqtt.client as mqtt
port = int(sys.argv[1])
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-ws", transport="websockets")
c.ws_set_options(path="/mqtt")
c.connect("127.0.0.1", port, 30)
c.loop_start()
info = c.publish("proxy/ws", b"over websocket", qos=1)
info.wait_for_publish(20)
c.disconnect()
c.loop_stop()
print("published" if info.is_published() else "not published")
"#;
    let output = Command::new("python3")
        .args(["-c", script, &running.port()])
        .output()
        .expect("python3 with paho-mqtt 2");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains("published") && !said.contains("not"),
        "{said} {output:?}"
    );
    assert_eq!(subscriber.finish().trim_end(), "proxy/ws over websocket");
    let started = Instant::now();
    wait_until("paho's PUBACK in the log", || {
        running
            .packets_of("paho-ws")
            .iter()
            .any(|p| p.1 == PacketKind::PubAck)
    });
    assert!(started.elapsed() < Duration::from_secs(60));
}
