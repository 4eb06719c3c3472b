//! Ports, WebSocket and TLS listeners, and the app's own requests through the door.

use super::*;

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
