//! The embedded broker against independent clients: mosquitto_pub/mosquitto_sub and raw sockets.
//! Each test starts its own broker on a free loopback port.

use std::collections::HashMap;
use workbench_broker::BrokerSettings;
use workbench_testkit::peers::{finish, mosquitto_pub, mosquitto_sub, wait_until, TestBroker};
use workbench_testkit::raw::{self, Connect, RawClient, V311, V5};

fn with_users() -> TestBroker {
    TestBroker::start(BrokerSettings {
        users: HashMap::from([("alice".to_string(), "secret".to_string())]),
        ..BrokerSettings::default()
    })
}

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

#[test]
fn persistent_sessions_queue_qos1_while_away() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let first = mosquitto_sub(
        &port,
        &["-c", "-i", "durable", "-q", "1", "-t", "queue/t", "-C", "1"],
    );
    broker.wait_for_subscription("durable", "queue/t");
    assert!(
        mosquitto_pub(&port, &["-q", "1", "-t", "queue/t", "-m", "online"])
            .status
            .success()
    );
    assert_eq!(finish(first), "online\n");
    broker.wait_for_departure("durable");

    assert!(
        mosquitto_pub(&port, &["-q", "1", "-t", "queue/t", "-m", "while away"])
            .status
            .success()
    );
    let back = mosquitto_sub(
        &port,
        &["-c", "-i", "durable", "-q", "1", "-t", "queue/t", "-C", "1"],
    );
    assert_eq!(finish(back), "while away\n");
}

#[test]
fn wills_fire_on_abnormal_disconnect_only() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let watcher = mosquitto_sub(&port, &["-i", "watcher", "-t", "wills/#", "-C", "1", "-v"]);
    broker.wait_for_subscription("watcher", "wills/#");

    // A clean DISCONNECT: no will.
    let mut polite = RawClient::connected(
        broker.address,
        Connect {
            client_id: "polite",
            will: Some(("wills/polite", b"gone", 0)),
            ..Connect::default()
        },
    );
    polite.send(&raw::DISCONNECT);
    broker.wait_for_departure("polite");

    // The socket just drops: the will fires.
    let rude = RawClient::connected(
        broker.address,
        Connect {
            client_id: "rude",
            will: Some(("wills/rude", b"lost", 0)),
            ..Connect::default()
        },
    );
    drop(rude);

    assert_eq!(finish(watcher), "wills/rude lost\n");
}

#[test]
fn clients_and_their_subscriptions_are_visible() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let sub = mosquitto_sub(
        &port,
        &[
            "-V", "mqttv5", "-i", "observer", "-k", "42", "-q", "1", "-t", "a/+", "-t", "b/#",
            "-C", "1",
        ],
    );
    broker.wait_for_subscription("observer", "b/#");
    let clients = broker.broker().clients();
    let observer = clients
        .iter()
        .find(|c| c.client_id == "observer")
        .expect("listed");
    assert_eq!(observer.keep_alive, 42);
    assert_eq!(observer.version, workbench_wire::ProtocolVersion::V5);
    assert_eq!(observer.subscriptions.get("a/+"), Some(&1));
    assert_eq!(observer.subscriptions.get("b/#"), Some(&1));
    assert!(mosquitto_pub(&port, &["-t", "a/x", "-m", "1"])
        .status
        .success());
    assert_eq!(finish(sub), "1\n");
    wait_until("publish counted", || {
        broker
            .broker()
            .clients()
            .iter()
            .all(|c| c.client_id != "observer")
    });
}

/// The QoS a subscriber received, as `mosquitto_sub -d` reports it ("q0", "q1", "q2").
fn delivered_qos(debug_output: &str) -> Option<String> {
    let line = debug_output
        .lines()
        .find(|l| l.contains("received PUBLISH"))?;
    let start = line.find(", q")? + 2;
    Some(line[start..start + 2].to_string())
}

#[test]
fn delivered_qos_is_the_minimum_of_publish_and_subscription() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    for sub_qos in 0..=2u8 {
        for pub_qos in 0..=2u8 {
            let id = format!("q{sub_qos}{pub_qos}");
            let topic = format!("qos/{sub_qos}/{pub_qos}");
            let sub_q = sub_qos.to_string();
            let pub_q = pub_qos.to_string();
            let sub = mosquitto_sub(
                &port,
                &["-d", "-i", &id, "-q", &sub_q, "-t", &topic, "-C", "1"],
            );
            broker.wait_for_subscription(&id, &topic);
            assert!(
                mosquitto_pub(&port, &["-q", &pub_q, "-t", &topic, "-m", "x"])
                    .status
                    .success()
            );
            let expected = format!("q{}", sub_qos.min(pub_qos));
            let output = finish(sub);
            assert_eq!(
                delivered_qos(&output).as_deref(),
                Some(expected.as_str()),
                "subscribed at {sub_qos}, published at {pub_qos}:\n{output}"
            );
        }
    }
}

#[test]
fn only_a_retained_empty_publish_clears_the_retained_message() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    assert!(
        mosquitto_pub(&port, &["-q", "1", "-r", "-t", "kept", "-m", "state"])
            .status
            .success()
    );

    // QoS 1 throughout: mosquitto_pub then returns only once the broker has taken each message.
    // A non-retained empty publish reaches subscribers empty, and leaves the retained message.
    let live = mosquitto_sub(
        &port,
        &[
            "-i",
            "live",
            "-t",
            "kept",
            "-C",
            "2",
            "-F",
            "[%p] retained=%r",
        ],
    );
    broker.wait_for_subscription("live", "kept");
    assert!(mosquitto_pub(&port, &["-q", "1", "-t", "kept", "-n"])
        .status
        .success());
    assert_eq!(finish(live), "[state] retained=1\n[] retained=0\n");
    let later = mosquitto_sub(&port, &["-t", "kept", "-C", "1"]);
    assert_eq!(finish(later), "state\n");

    // A retained empty publish deletes it: a new subscriber gets nothing retained, only the
    // next live message.
    assert!(mosquitto_pub(&port, &["-q", "1", "-r", "-t", "kept", "-n"])
        .status
        .success());
    let fresh = mosquitto_sub(&port, &["-i", "fresh", "-t", "kept", "-C", "1"]);
    broker.wait_for_subscription("fresh", "kept");
    assert!(mosquitto_pub(&port, &["-t", "kept", "-m", "new"])
        .status
        .success());
    assert_eq!(finish(fresh), "new\n");
}

#[test]
fn qos2_flows_complete_in_both_versions() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    for version in ["mqttv311", "mqttv5"] {
        let id = format!("exactly-{version}");
        let topic = format!("exactly/{version}");
        let sub = mosquitto_sub(
            &port,
            &["-V", version, "-i", &id, "-q", "2", "-t", &topic, "-C", "3"],
        );
        broker.wait_for_subscription(&id, &topic);
        for i in 1..=3 {
            let payload = format!("m{i}");
            let sent = mosquitto_pub(
                &port,
                &["-V", version, "-q", "2", "-t", &topic, "-m", &payload],
            );
            assert!(
                sent.status.success(),
                "{}",
                String::from_utf8_lossy(&sent.stderr)
            );
        }
        assert_eq!(finish(sub), "m1\nm2\nm3\n");
    }
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

#[test]
fn mqtt5_properties_and_paho_semantics() {
    let broker = TestBroker::default_settings();
    for probe in [
        "user-properties",
        "message-expiry",
        "keepalive-zero",
        "assigned-id",
        "session-expiry",
        "subscription-options",
        "max-packet-size",
    ] {
        paho_probe(&[probe, &broker.port()]);
    }
}

#[test]
fn a_taken_port_is_reported_or_skipped() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = holder.local_addr().expect("addr").port();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let strict = BrokerSettings {
        port: taken,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let error = runtime
        .block_on(workbench_broker::Broker::start(strict, None))
        .err()
        .expect("a taken port is an error");
    assert_eq!(
        workbench_wire::Coded::code(&error),
        workbench_wire::ErrorCode::PortInUse
    );
    assert!(error.to_string().contains(&taken.to_string()), "{error}");

    let lenient = BrokerSettings {
        port: taken,
        port_fallback: true,
        ..BrokerSettings::default()
    };
    let broker = runtime
        .block_on(workbench_broker::Broker::start(lenient, None))
        .expect("falls back to the next free port");
    assert_ne!(broker.local_addr().port(), taken);
    runtime.block_on(broker.stop());
}

#[test]
fn websocket_clients_use_the_same_broker() {
    let broker = TestBroker::start(BrokerSettings {
        websocket_port: Some(0),
        ..BrokerSettings::default()
    });
    let ws_port = broker.port_of("ws");
    // A TCP subscriber sees what WebSocket clients publish, and the other way round.
    let tcp_sub = mosquitto_sub(
        &broker.port(),
        &["-i", "tcp-side", "-t", "ws/from-ws", "-C", "2"],
    );
    broker.wait_for_subscription("tcp-side", "ws/from-ws");
    paho_probe(&["websocket", &ws_port, &broker.port()]);
    assert_eq!(finish(tcp_sub), "hello from ws v311\nhello from ws v5\n");
}

#[test]
fn tls_clients_use_the_same_broker() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let broker = TestBroker::start(BrokerSettings {
        tls: Some(workbench_broker::TlsSettings {
            port: 0,
            wss_port: None,
            cert_path: cert.clone(),
            key_path: key,
        }),
        ..BrokerSettings::default()
    });
    let tls_port = broker.port_of("mqtts");
    let cafile = cert.to_str().expect("utf-8 path");
    for version in ["mqttv311", "mqttv5"] {
        let id = format!("tls-{version}");
        let sub = mosquitto_sub(
            &tls_port,
            &[
                "--cafile", cafile, "-V", version, "-i", &id, "-t", "secure/t", "-C", "1",
            ],
        );
        broker.wait_for_subscription(&id, "secure/t");
        assert!(
            mosquitto_pub(&broker.port(), &["-t", "secure/t", "-m", "over tls"])
                .status
                .success()
        );
        assert_eq!(finish(sub), "over tls\n");
    }
    // A client that does not trust the certificate cannot connect.
    let untrusted = mosquitto_pub(
        &tls_port,
        &[
            "--cafile",
            "/etc/ssl/certs/ca-certificates.crt",
            "-t",
            "t",
            "-m",
            "x",
        ],
    );
    assert!(
        !untrusted.status.success(),
        "an untrusted certificate was accepted"
    );
}

#[test]
fn a_missing_certificate_is_a_clear_error() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let settings = BrokerSettings {
        port: 0,
        tls: Some(workbench_broker::TlsSettings {
            port: 0,
            wss_port: None,
            cert_path: "/nonexistent/cert.pem".into(),
            key_path: "/nonexistent/key.pem".into(),
        }),
        ..BrokerSettings::default()
    };
    let error = runtime
        .block_on(workbench_broker::Broker::start(settings, None))
        .err()
        .expect("a missing certificate is an error");
    let text = error.to_string();
    assert!(text.contains("/nonexistent/cert.pem"), "{text}");
    assert_eq!(
        workbench_wire::Coded::code(&error),
        workbench_wire::ErrorCode::InvalidInput
    );
}

#[test]
fn the_app_deletes_retained_messages_through_the_door_even_with_passwords() {
    let broker = with_users();
    let port = broker.port();
    for topic in ["keep/a/1", "keep/a/2", "keep/b"] {
        let sent = mosquitto_pub(
            &port,
            &[
                "-u", "alice", "-P", "secret", "-q", "1", "-r", "-t", topic, "-m", "v",
            ],
        );
        assert!(sent.status.success());
    }
    let topics = vec!["keep/a/1".to_string(), "keep/a/2".to_string()];
    let deleted = broker.broker().delete_retained(&topics);
    assert_eq!(deleted, 2);
    // Only keep/b is still retained: a new subscriber to keep/# gets exactly it.
    let sub = mosquitto_sub(
        &port,
        &[
            "-u", "alice", "-P", "secret", "-t", "keep/#", "-C", "1", "-v",
        ],
    );
    assert_eq!(finish(sub), "keep/b v\n");
    let values: HashMap<String, String> = broker.broker().sys_values().into_iter().collect();
    assert_eq!(values["$SYS/broker/retained messages/count"], "1");
}

#[test]
fn unsubscribe_gets_one_answer_with_a_code_per_filter() {
    let broker = TestBroker::default_settings();
    let mut client = RawClient::connected(
        broker.address,
        Connect {
            level: V5,
            client_id: "unsub",
            ..Connect::default()
        },
    );
    client.send(&raw::subscribe(V5, 1, &[("known/#", 1)]));
    assert_eq!(client.read_packet().map(|p| p[0]), Some(0x90));
    // UNSUBSCRIBE (id 2) for an unknown filter and the known one.
    let mut body = vec![0, 2, 0];
    for filter in ["unknown/t", "known/#"] {
        body.extend_from_slice(&(filter.len() as u16).to_be_bytes());
        body.extend_from_slice(filter.as_bytes());
    }
    client.send(&raw::packet(0xA2, &body));
    let unsuback = client.read_packet().expect("UNSUBACK");
    assert_eq!(unsuback, vec![0xB0, 0x05, 0x00, 0x02, 0x00, 0x11, 0x00]);
    // Nothing else arrives before the PINGRESP: no second UNSUBACK.
    client.send(&raw::PINGREQ);
    assert_eq!(client.read_packet(), Some(vec![0xD0, 0x00]));
}

#[test]
fn packets_sent_together_with_connect_are_not_lost() {
    let broker = TestBroker::default_settings();
    let mut client = RawClient::connect(broker.address);
    let mut burst = Connect {
        client_id: "eager",
        ..Connect::default()
    }
    .encode();
    burst.extend(raw::subscribe(V311, 9, &[("eager/#", 0)]));
    burst.extend(raw::PINGREQ);
    client.send(&burst);
    assert_eq!(client.read_packet().map(|p| p[0]), Some(0x20), "CONNACK");
    assert_eq!(
        client.read_packet(),
        Some(vec![0x90, 0x03, 0x00, 0x09, 0x00]),
        "SUBACK"
    );
    assert_eq!(client.read_packet(), Some(vec![0xD0, 0x00]), "PINGRESP");
}

#[test]
fn wills_are_delivered_at_the_minimum_qos_like_any_publish() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    let watcher = mosquitto_sub(
        &port,
        &[
            "-d",
            "-i",
            "will-watcher",
            "-q",
            "2",
            "-t",
            "lastwill/#",
            "-C",
            "1",
        ],
    );
    broker.wait_for_subscription("will-watcher", "lastwill/#");
    let rude = RawClient::connected(
        broker.address,
        Connect {
            client_id: "will-qos0",
            will: Some(("lastwill/x", b"gone", 0)),
            ..Connect::default()
        },
    );
    drop(rude);
    let output = finish(watcher);
    assert_eq!(delivered_qos(&output).as_deref(), Some("q0"), "{output}");
}
