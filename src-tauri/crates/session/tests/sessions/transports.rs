//! TLS (a test CA, client certificates, untrusted brokers), WebSocket, MQTT 5 properties and
//! saved profiles.

use super::*;

#[test]
fn tls_with_a_test_ca_client_certificates_and_untrusted_brokers() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::create(dir.path());
    let open = Mosquitto::start(
        &[],
        Some(MosquittoTls {
            ca: &ca.ca,
            cert: &ca.server_cert,
            key: &ca.server_key,
            require_client_cert: false,
        }),
    );
    let strict = Mosquitto::start(
        &[],
        Some(MosquittoTls {
            ca: &ca.ca,
            cert: &ca.server_cert,
            key: &ca.server_key,
            require_client_cert: true,
        }),
    );
    let h = Harness::new();
    let tls_profile = |name: &str, port: u16, host: &str| {
        let mut p = profile(name, port, MqttVersion::V5);
        p.host = host.into();
        p.transport = TransportKind::Tls;
        p
    };
    let path = |p: &std::path::Path| Some(p.to_string_lossy().into_owned());

    // Trusted through the CA file, by name and by address.
    for host in ["localhost", "127.0.0.1"] {
        let mut p = tls_profile(&format!("tls-ok-{host}"), open.tls_port.expect("tls"), host);
        p.tls.ca_file = path(&ca.ca);
        p.subscriptions.push(Subscription::new("secure/#", 1));
        let id = h.add(p, None);
        h.online(&id);
        assert!(
            mosquitto_pub(&open.port.to_string(), &["-t", "secure/x", "-m", "sealed"])
                .status
                .success()
        );
        assert_eq!(h.wait_received(&id, "secure/x", 1).0, b"sealed");
    }

    // Not trusted: the system roots do not know the test CA. Fails (no retry loop) with words.
    let untrusted = h.add(
        tls_profile("tls-untrusted", open.tls_port.expect("tls"), "localhost"),
        None,
    );
    h.connect(&untrusted);
    let view = h.wait_state(&untrusted, "failed", |s| {
        matches!(s, ConnectionState::Failed { .. })
    });
    let ConnectionState::Failed { code, reason, .. } = view.state else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::Tls);
    assert!(reason.contains("not signed by a trusted CA"), "{reason}");

    // The explicit switch accepts it.
    let mut p = tls_profile("tls-insecure", open.tls_port.expect("tls"), "localhost");
    p.tls.accept_invalid_certs = true;
    let insecure = h.add(p, None);
    h.online(&insecure);

    // A broker that requires a client certificate: refused without one, accepted with one.
    let mut p = tls_profile("tls-no-cert", strict.tls_port.expect("tls"), "localhost");
    p.tls.ca_file = path(&ca.ca);
    p.auto_reconnect = false;
    let no_cert = h.add(p.clone(), None);
    h.connect(&no_cert);
    let view = h.wait_state(&no_cert, "refused", |s| {
        matches!(s, ConnectionState::Failed { .. })
    });
    let ConnectionState::Failed { reason, .. } = view.state else {
        unreachable!()
    };
    assert!(
        reason.contains("may require a client certificate"),
        "{reason}"
    );
    p.name = "tls-with-cert".into();
    p.client_id = "tls-with-cert".into();
    p.tls.client_cert_file = path(&ca.client_cert);
    p.tls.client_key_file = path(&ca.client_key);
    let with_cert = h.add(p, None);
    h.online(&with_cert);

    // A TLS profile pointed at a plain port explains itself.
    let mut p = tls_profile("tls-plain-port", open.port, "localhost");
    p.tls.ca_file = path(&ca.ca);
    let wrong = h.add(p, None);
    h.connect(&wrong);
    let view = h.wait_state(&wrong, "failed", |s| {
        matches!(s, ConnectionState::Failed { .. })
    });
    let ConnectionState::Failed { code, .. } = view.state else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::Tls);
}

#[test]
fn mqtt5_properties_and_websocket_sessions() {
    let broker = TestBroker::start(BrokerSettings {
        websocket_port: Some(0),
        ..BrokerSettings::default()
    });
    let ws_port: u16 = broker.port_of("ws").parse().expect("port");
    let h = Harness::new();
    let mut rx = profile("ws-rx", ws_port, MqttVersion::V5);
    rx.transport = TransportKind::Ws;
    rx.subscriptions.push(Subscription::new("props/#", 1));
    let rx = h.add(rx, None);
    let mut tx = profile("ws-tx", ws_port, MqttVersion::V311);
    tx.transport = TransportKind::Ws;
    let tx = h.add(tx, None);
    let v5 = h.add(
        profile("tcp-v5", broker.address.port(), MqttVersion::V5),
        None,
    );
    for id in [&rx, &tx, &v5] {
        h.online(id);
    }
    h.publish_text(&tx, "props/plain", "over websocket", 1, false);
    assert_eq!(h.wait_received(&rx, "props/plain", 1).0, b"over websocket");

    let properties = MessageProperties {
        content_type: Some("application/json".into()),
        payload_is_utf8: true,
        message_expiry: Some(60),
        response_topic: Some("props/reply".into()),
        correlation_data: Some("req-42".into()),
        user_properties: vec![UserProperty {
            key: "unit".into(),
            value: "celsius".into(),
        }],
        will_delay: None,
    };
    h.publish(
        &v5,
        PublishRequest {
            properties: properties.clone(),
            payload: PayloadInput::Json("{\"t\": 21.5}".into()),
            ..text("props/json", "", 1)
        },
    )
    .expect("publish with properties");
    h.wait_received(&rx, "props/json", 1);
    let fields = h
        .hub
        .read_source(&workbench_wire::SourceId::Session(rx.to_string()), |s| {
            s.packets()
                .find(|p| {
                    p.direction == Direction::Inbound
                        && p.summary.topic.as_deref() == Some("props/json")
                })
                .map(|p| p.summary.fields.clone())
                .expect("PUBLISH logged")
        });
    for (name, value) in [
        ("Content Type", "application/json"),
        ("Response Topic", "props/reply"),
        ("Correlation Data", "\"req-42\""),
        ("User Property", "unit = celsius"),
        ("Payload Format Indicator", "1"),
    ] {
        assert!(
            fields.iter().any(|(n, v)| *n == name && v == value),
            "{name} missing: {fields:?}"
        );
    }
    // The topic's stored message keeps them too (the inspector shows them).
    let stored = h
        .hub
        .read_source(&workbench_wire::SourceId::Session(rx.to_string()), |s| {
            let tree = &s.tree;
            let node = tree
                .node(tree.find("props/json").expect("topic"))
                .expect("node");
            node.history.latest().and_then(|m| m.properties.clone())
        });
    let stored = stored.expect("properties stored with the message");
    assert!(
        stored
            .iter()
            .any(|(n, v)| *n == "Content Type" && v == "application/json"),
        "{stored:?}"
    );
    // Properties on a 3.1.1 session are refused with the reason.
    let e = h
        .publish(
            &tx,
            PublishRequest {
                properties,
                ..text("props/x", "1", 0)
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("need an MQTT 5 session"), "{e}");
}

#[test]
fn profiles_are_saved_without_passwords_and_read_back() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("profiles.json");
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let first = SessionManager::new(Some(path.clone()), Secrets::memory_only("t"), tx.clone());
    let mut p = Profile::new("plant", "broker.example", 8883, MqttVersion::V5);
    p.transport = TransportKind::Tls;
    p.username = Some("operator".into());
    p.subscriptions.push(Subscription::new("plant/#", 1));
    let (saved, _) = first.save(p, Some("hunter2".into())).expect("save");
    assert!(saved.has_password);
    let text = std::fs::read_to_string(&path).expect("file");
    assert!(
        text.contains("\"plant/#\"") && text.contains("operator"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "no password in the file: {text}");
    let second = SessionManager::new(Some(path.clone()), Secrets::memory_only("t"), tx.clone());
    let overview = second.overview();
    assert_eq!(overview.sessions.len(), 1);
    assert_eq!(overview.sessions[0].profile, saved.profile);
    assert_eq!(
        overview.sessions[0].url,
        "mqtts://operator@broker.example:8883"
    );
    // A broken file is moved aside with a warning, not lost.
    std::fs::write(&path, "{ broken").expect("write");
    let third = SessionManager::new(Some(path.clone()), Secrets::memory_only("t"), tx);
    let warning = third.overview().warning.expect("warning");
    assert!(
        warning.contains("not a valid profiles file") && warning.contains(".broken"),
        "{warning}"
    );
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains("profiles.json.broken-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read_to_string(&kept[0]).expect("kept"), "{ broken");
    // New profiles go to a fresh file.
    third
        .save(
            Profile::new("fresh", "localhost", 1883, MqttVersion::V311),
            None,
        )
        .expect("save");
    assert!(std::fs::read_to_string(&path)
        .expect("new file")
        .contains("fresh"));
}

#[test]
fn secure_websocket_sessions_reach_the_embedded_broker() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::create(dir.path());
    let broker = TestBroker::start(BrokerSettings {
        tls: Some(workbench_broker::TlsSettings {
            port: 0,
            wss_port: Some(0),
            cert_path: ca.server_cert.clone(),
            key_path: ca.server_key.clone(),
        }),
        ..BrokerSettings::default()
    });
    let wss_port: u16 = broker.port_of("wss").parse().expect("port");
    let h = Harness::new();
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let mut p = profile("wss", wss_port, version);
        p.host = "localhost".into();
        p.transport = TransportKind::Wss;
        p.tls.ca_file = Some(ca.ca.to_string_lossy().into_owned());
        p.subscriptions.push(Subscription::new("wss/#", 1));
        let id = h.add(p, None);
        h.online(&id);
        assert!(mosquitto_pub(
            &broker.port(),
            &["-t", "wss/in", "-m", "through tls and websocket", "-q", "1"]
        )
        .status
        .success());
        assert_eq!(
            h.wait_received(&id, "wss/in", 1).0,
            b"through tls and websocket"
        );
        h.stop(&id, true);
    }
}
