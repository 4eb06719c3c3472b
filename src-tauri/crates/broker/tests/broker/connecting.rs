//! Connecting, $SYS and input the broker refuses.

use super::*;

#[test]
fn one_port_serves_mqtt_311_and_5() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let v5_sub = mosquitto_sub(
        &port,
        &[
            "-V", "mqttv5", "-i", "sub5", "-t", "mixed/#", "-C", "2", "-v",
        ],
    );
    broker.wait_for_subscription("sub5", "mixed/#");
    let v311_sub = mosquitto_sub(
        &port,
        &[
            "-V", "mqttv311", "-i", "sub311", "-t", "mixed/#", "-C", "2", "-v",
        ],
    );
    broker.wait_for_subscription("sub311", "mixed/#");

    assert!(mosquitto_pub(
        &port,
        &[
            "-q",
            "1",
            "-V",
            "mqttv311",
            "-t",
            "mixed/a",
            "-m",
            "from 3.1.1"
        ]
    )
    .status
    .success());
    assert!(mosquitto_pub(
        &port,
        &["-q", "1", "-V", "mqttv5", "-t", "mixed/b", "-m", "from 5"]
    )
    .status
    .success());

    for output in [finish(v5_sub), finish(v311_sub)] {
        assert_eq!(output, "mixed/a from 3.1.1\nmixed/b from 5\n");
    }
}

#[test]
fn wrong_credentials_get_the_right_connack_codes() {
    let broker = with_users();
    // (protocol level, login, expected CONNACK return/reason code)
    type Login<'a> = Option<(&'a str, &'a str)>;
    let cases: [(u8, Login, u8); 6] = [
        (V311, Some(("alice", "wrong")), 0x04),
        (V311, None, 0x05),
        (V311, Some(("alice", "secret")), 0x00),
        (V5, Some(("alice", "wrong")), 0x86),
        (V5, None, 0x87),
        (V5, Some(("alice", "secret")), 0x00),
    ];
    for (level, login, expected) in cases {
        let mut client = RawClient::connect(broker.address);
        client.send(
            &Connect {
                level,
                login,
                ..Connect::default()
            }
            .encode(),
        );
        let connack = client
            .read_packet()
            .expect("a CONNACK, not a dropped socket");
        assert_eq!(connack[0], 0x20, "CONNACK expected, got {connack:02x?}");
        assert_eq!(
            connack[3], expected,
            "level {level}, login {login:?}: {connack:02x?}"
        );
        if expected != 0 {
            assert!(
                client.closed_by_broker(),
                "the socket stays open after a refusal"
            );
        }
    }
    // And as mosquitto_pub reports it.
    let refused = mosquitto_pub(
        &broker.port(),
        &["-u", "alice", "-P", "nope", "-t", "t", "-m", "x"],
    );
    assert!(!refused.status.success());
    let text = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        text.contains("bad user name or password"),
        "mosquitto_pub said: {text}"
    );
}

#[test]
fn keep_alive_zero_is_accepted() {
    let broker = TestBroker::default_settings();
    for level in [V311, V5] {
        let mut client = RawClient::connect(broker.address);
        client.send(
            &Connect {
                level,
                keep_alive: 0,
                client_id: "forever",
                ..Connect::default()
            }
            .encode(),
        );
        let connack = client.read_packet().expect("CONNACK");
        assert_eq!(connack[0], 0x20, "CONNACK expected: {connack:02x?}");
        assert_eq!(connack[3], 0, "keep-alive 0 refused: {connack:02x?}");
        client.send(&raw::PINGREQ);
        assert_eq!(client.read_packet(), Some(vec![0xD0, 0x00]), "PINGRESP");
        client.send(&raw::DISCONNECT);
    }
}

#[test]
fn sys_topics_report_broker_statistics() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let sub = mosquitto_sub(
        &port,
        &[
            "-i",
            "watcher",
            "-t",
            "$SYS/broker/clients/connected",
            "-t",
            "$SYS/broker/uptime",
            "-C",
            "2",
            "-v",
        ],
    );
    let output = finish(sub);
    assert!(
        output.contains("$SYS/broker/clients/connected 1\n"),
        "got: {output}"
    );
    assert!(output.contains("$SYS/broker/uptime "), "got: {output}");
    assert!(output.contains(" seconds"), "got: {output}");

    // A wildcard subscription does not see $SYS, as the specification requires.
    let all = mosquitto_sub(&port, &["-i", "everything", "-t", "#", "-C", "1", "-v"]);
    broker.wait_for_subscription("everything", "#");
    assert!(mosquitto_pub(&port, &["-t", "plain/topic", "-m", "x"])
        .status
        .success());
    assert_eq!(finish(all), "plain/topic x\n");
}

#[test]
fn sys_counts_messages_and_retained() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    for i in 0..3 {
        let topic = format!("keep/{i}");
        assert!(
            mosquitto_pub(&port, &["-q", "1", "-r", "-t", &topic, "-m", "v"])
                .status
                .success()
        );
    }
    // mosquitto_pub may exit before the broker has read its last packet: wait for the counts.
    let values =
        || -> HashMap<String, String> { broker.broker().sys_values().into_iter().collect() };
    wait_until("three publishes counted", || {
        values()["$SYS/broker/publish/messages/received"] == "3"
    });
    assert_eq!(values()["$SYS/broker/retained messages/count"], "3");
    assert_eq!(values()["$SYS/broker/publish/messages/received"], "3");
}

#[test]
fn invalid_filters_fail_alone_without_a_disconnect() {
    let broker = TestBroker::default_settings();
    for level in [V311, V5] {
        let mut client = RawClient::connected(
            broker.address,
            Connect {
                level,
                ..Connect::default()
            },
        );
        client.send(&raw::subscribe(
            level,
            7,
            &[("sport/+/player#", 0), ("sport/#", 1)],
        ));
        let suback = client.read_packet().expect("SUBACK");
        let codes = &suback[suback.len() - 2..];
        let invalid = if level == V5 { 0x8F } else { 0x80 };
        assert_eq!(codes, &[invalid, 0x01], "level {level}: {suback:02x?}");
        client.send(&raw::PINGREQ);
        assert_eq!(
            client.read_packet(),
            Some(vec![0xD0, 0x00]),
            "still connected"
        );
    }
}

#[test]
fn a_reused_packet_id_gets_each_subscribe_its_own_suback_in_order() {
    // Against the specification, but rumqttc does it past its inflight window: two SUBSCRIBEs
    // with the same id before the first SUBACK. Each must get its own answer, in order.
    let broker = TestBroker::default_settings();
    for level in [V311, V5] {
        let mut client = RawClient::connected(
            broker.address,
            Connect {
                level,
                ..Connect::default()
            },
        );
        let mut both = raw::subscribe(level, 3, &[("first/#", 2)]);
        both.extend(raw::subscribe(level, 3, &[("second/#", 0)]));
        client.send(&both);
        for expected in [0x02, 0x00] {
            let suback = client.read_packet().expect("SUBACK");
            assert_eq!(suback[0], 0x90, "{suback:02x?}");
            assert_eq!(
                suback[suback.len() - 1],
                expected,
                "level {level}: {suback:02x?}"
            );
        }
    }
}

#[test]
fn oversized_packets_are_refused_from_their_header() {
    let broker = TestBroker::start(BrokerSettings {
        limits: workbench_broker::Limits {
            max_packet_size: 1024,
            ..workbench_broker::Limits::default()
        },
        ..BrokerSettings::default()
    });
    let mut client = RawClient::connected(
        broker.address,
        Connect {
            level: V5,
            ..Connect::default()
        },
    );
    // Announce 200 MB; send only the header.
    client.send(&[0x30, 0x80, 0x80, 0x80, 0x64]);
    let disconnect = client.read_packet().expect("a DISCONNECT with a reason");
    assert_eq!(disconnect[0], 0xE0);
    assert_eq!(disconnect[2], 0x95, "reason: packet too large");
    assert!(client.closed_by_broker());
}

#[test]
fn hostile_input_never_stops_the_broker() {
    let broker = TestBroker::default_settings();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let mut client = RawClient::connect(broker.address);
        let bytes: Vec<u8> = match round % 4 {
            // Random bytes.
            0 => (0..(next() % 300)).map(|_| next() as u8).collect(),
            // A CONNECT cut short.
            1 => {
                let connect = Connect::default().encode();
                connect[..(next() as usize % connect.len())].to_vec()
            }
            // A good CONNECT, then a packet of the reserved type 0, then garbage.
            2 => {
                let mut bytes = Connect {
                    client_id: "junk",
                    ..Connect::default()
                }
                .encode();
                bytes.extend([0x00, 0x00]);
                bytes.extend((0..64).map(|_| next() as u8));
                bytes
            }
            // A 5-byte remaining length (malformed).
            _ => vec![0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
        };
        let _ = client.try_send(&bytes);
        // Random bytes may be the start of a valid packet (the broker then waits for the rest,
        // until its CONNECT timeout); the deterministic rounds must be closed at once.
        if round % 4 >= 2 {
            assert!(
                client.closed_by_broker(),
                "round {round}: connection not closed"
            );
        }
    }
    // Still serving.
    let port = broker.port();
    let sub = mosquitto_sub(&port, &["-i", "after", "-t", "after/flood", "-C", "1"]);
    broker.wait_for_subscription("after", "after/flood");
    assert!(mosquitto_pub(&port, &["-t", "after/flood", "-m", "alive"])
        .status
        .success());
    assert_eq!(finish(sub), "alive\n");
}
