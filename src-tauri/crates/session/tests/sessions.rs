//! Client sessions driven as the IPC commands drive them (through `SessionManager`), against the
//! embedded broker and a mosquitto started by each test, with mosquitto_pub/sub as independent
//! peers. Every error case checks its specific message, and that the session manager goes on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workbench_broker::BrokerSettings;
use workbench_core::hub::TrafficHub;
use workbench_session::payload::PayloadInput;
use workbench_session::profile::{MessageProperties, UserProperty, Will};
use workbench_session::secrets::Secrets;
use workbench_session::{
    AnswerPacket, ConnectionState, MqttVersion, Profile, PublishRequest, SessionError,
    SessionManager, SessionView, Subscription, SubscriptionStatus, TransportKind,
};
use workbench_testkit::mosquitto::{Mosquitto, MosquittoTls, TestCa};
use workbench_testkit::peers::{
    finish, mosquitto_pub, mosquitto_sub, wait_until, ReadySub, TestBroker, PATIENCE,
};
use workbench_traffic::source::SourceLimits;
use workbench_wire::{Coded, ErrorCode};
use workbench_wire::{Direction, PacketKind};

/// Sessions and the traffic model they feed, on their own runtime, as the app assembles them.
struct Harness {
    runtime: tokio::runtime::Runtime,
    sessions: Arc<SessionManager>,
    hub: Arc<TrafficHub>,
}

impl Harness {
    fn new() -> Harness {
        workbench_core::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let hub = TrafficHub::new(SourceLimits::default());
        runtime.spawn(hub.clone().ingest_sessions(rx));
        let sessions = Arc::new(SessionManager::new(None, Secrets::memory_only("tests"), tx));
        Harness {
            runtime,
            sessions,
            hub,
        }
    }

    fn add(&self, profile: Profile, password: Option<&str>) -> String {
        let (view, _) = self
            .sessions
            .save(profile, password.map(str::to_string))
            .expect("profile saved");
        view.profile.id
    }

    fn connect(&self, id: &str) {
        let _guard = self.runtime.enter();
        self.sessions.connect(id).expect("connect starts");
    }

    /// Waits until the session's state passes `accept`, failing with the last state seen.
    fn wait_state(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&ConnectionState) -> bool,
    ) -> SessionView {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let view = self.sessions.get(id).expect("session exists");
            if accept(&view.state) {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; state is {:?}",
                view.state
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_connected(&self, id: &str) -> SessionView {
        self.wait_state(id, "connected", |s| {
            matches!(s, ConnectionState::Connected { .. })
        })
    }

    /// Connects and waits until every subscription is granted.
    fn online(&self, id: &str) {
        self.connect(id);
        self.ready(id);
    }

    /// Waits until connected with every subscription granted.
    fn ready(&self, id: &str) {
        self.wait_connected(id);
        wait_until("subscriptions granted", || {
            self.sessions
                .get(id)
                .expect("session")
                .subscriptions
                .iter()
                .all(|s| matches!(s.status, SubscriptionStatus::Granted { .. }))
        });
    }

    fn subscribe(&self, id: &str, sub: Subscription) -> Result<SessionView, SessionError> {
        self.runtime.block_on(self.sessions.subscribe(id, sub))
    }

    fn publish(&self, id: &str, request: PublishRequest) -> Result<usize, SessionError> {
        self.runtime.block_on(self.sessions.publish(id, request))
    }

    fn publish_text(&self, id: &str, topic: &str, text: &str, qos: u8, retain: bool) {
        self.publish(
            id,
            PublishRequest {
                topic: topic.into(),
                payload: PayloadInput::Text(text.into()),
                qos,
                retain,
                properties: MessageProperties::default(),
            },
        )
        .expect("published");
    }

    /// The latest payload and message count of `topic` in the session's topic tree.
    fn received(&self, id: &str, topic: &str) -> Option<(Vec<u8>, u64, bool)> {
        self.hub.with_source(&format!("session:{id}"), |s| {
            let tree = &s.model.tree;
            let node = tree.node(tree.find(topic)?)?;
            let latest = node.history.latest()?;
            Some((latest.payload.to_vec(), node.own_count, latest.retain))
        })
    }

    fn wait_received(&self, id: &str, topic: &str, count: u64) -> (Vec<u8>, u64, bool) {
        let mut last = None;
        wait_until(&format!("{count} message(s) on {topic}"), || {
            last = self.received(id, topic);
            last.as_ref().is_some_and(|(_, n, _)| *n >= count)
        });
        last.expect("received")
    }

    /// The session's packet log: (direction, kind) in order.
    fn packets(&self, id: &str) -> Vec<(Direction, PacketKind)> {
        self.hub.with_source(&format!("session:{id}"), |s| {
            s.model
                .packets()
                .map(|p| (p.direction, p.summary.kind))
                .collect()
        })
    }

    fn stop(&self, id: &str, graceful: bool) {
        self.sessions.disconnect(id, graceful).expect("disconnect");
        self.runtime.block_on(self.sessions.wait_stopped(id));
    }
}

fn profile(name: &str, port: u16, version: MqttVersion) -> Profile {
    let mut p = Profile::new(name, "127.0.0.1", port, version);
    p.client_id = format!(
        "{name}-{}",
        if version == MqttVersion::V5 {
            "v5"
        } else {
            "v311"
        }
    );
    p
}

fn text(request_topic: &str, payload: &str, qos: u8) -> PublishRequest {
    PublishRequest {
        topic: request_topic.into(),
        payload: PayloadInput::Text(payload.into()),
        qos,
        retain: false,
        properties: MessageProperties::default(),
    }
}

/// QoS 0, 1 and 2 both ways between two sessions and mosquitto_pub/sub, on one broker.
fn round_trips(port: u16, broker: &str) {
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let h = Harness::new();
        let mut dash = profile(&format!("dash-{broker}"), port, version);
        dash.subscriptions.push(Subscription::new("rt/#", 2));
        let dash = h.add(dash, None);
        let sensor = h.add(profile(&format!("sensor-{broker}"), port, version), None);
        h.online(&dash);
        h.online(&sensor);
        let independent = ReadySub::start(&port.to_string(), "rt/#", 3, &["-q", "2"]);
        for qos in 0..=2u8 {
            h.publish(
                &sensor,
                text(&format!("rt/q{qos}"), &format!("qos {qos}"), qos),
            )
            .expect("publish");
            let (payload, count, _) = h.wait_received(&dash, &format!("rt/q{qos}"), 1);
            assert_eq!(
                (payload, count),
                (format!("qos {qos}").into_bytes(), 1),
                "{broker} {version:?}"
            );
        }
        assert_eq!(
            independent.finish(),
            "rt/q0 qos 0\nrt/q1 qos 1\nrt/q2 qos 2\n",
            "{broker} {version:?}"
        );
        // From an independent publisher into the session.
        assert!(mosquitto_pub(
            &port.to_string(),
            &["-t", "rt/ext", "-m", "from mosquitto_pub", "-q", "1"]
        )
        .status
        .success());
        assert_eq!(h.wait_received(&dash, "rt/ext", 1).0, b"from mosquitto_pub");

        // The sensor's log holds every packet of the exchange, CONNECT first.
        let log = h.packets(&sensor);
        assert_eq!(
            log.first(),
            Some(&(Direction::Outbound, PacketKind::Connect)),
            "{log:?}"
        );
        for expected in [
            (Direction::Inbound, PacketKind::ConnAck),
            (Direction::Outbound, PacketKind::Publish),
            (Direction::Inbound, PacketKind::PubAck),
            (Direction::Inbound, PacketKind::PubRec),
            (Direction::Outbound, PacketKind::PubRel),
            (Direction::Inbound, PacketKind::PubComp),
        ] {
            assert!(
                log.contains(&expected),
                "{broker} {version:?}: {expected:?} missing from {log:?}"
            );
        }
        let dash_log = h.packets(&dash);
        for expected in [
            (Direction::Outbound, PacketKind::Subscribe),
            (Direction::Inbound, PacketKind::SubAck),
            (Direction::Inbound, PacketKind::Publish),
            (Direction::Outbound, PacketKind::PubRec),
            (Direction::Inbound, PacketKind::PubRel),
            (Direction::Outbound, PacketKind::PubComp),
        ] {
            assert!(
                dash_log.contains(&expected),
                "{broker} {version:?}: {expected:?} missing from {dash_log:?}"
            );
        }
        h.stop(&sensor, true);
        h.stop(&dash, true);
        assert_eq!(
            h.sessions.get(&dash).expect("dash").state,
            ConnectionState::Disconnected
        );
        assert_eq!(
            h.packets(&dash).last(),
            Some(&(Direction::Outbound, PacketKind::Disconnect))
        );
    }
}

#[test]
fn qos_0_1_2_round_trips_on_the_embedded_broker() {
    let broker = TestBroker::default_settings();
    round_trips(broker.address.port(), "embedded");
}

#[test]
fn qos_0_1_2_round_trips_on_mosquitto() {
    let mosquitto = Mosquitto::start(&[], None);
    round_trips(mosquitto.port, "mosquitto");
}

#[test]
fn retained_messages_arrive_with_the_retain_flag() {
    let mosquitto = Mosquitto::start(&[], None);
    let broker = TestBroker::default_settings();
    for port in [mosquitto.port, broker.address.port()] {
        let h = Harness::new();
        assert!(mosquitto_pub(
            &port.to_string(),
            &["-t", "ret/state", "-m", "on", "-r", "-q", "1"]
        )
        .status
        .success());
        let mut p = profile("retained", port, MqttVersion::V5);
        p.subscriptions.push(Subscription::new("ret/#", 1));
        let id = h.add(p, None);
        h.online(&id);
        let (payload, _, retain) = h.wait_received(&id, "ret/state", 1);
        assert_eq!((payload.as_slice(), retain), (&b"on"[..], true));
        // A retained publish from a session reaches a later subscriber too.
        let publisher = h.add(profile("ret-pub", port, MqttVersion::V311), None);
        h.online(&publisher);
        h.publish_text(&publisher, "ret/from-session", "kept", 1, true);
        let late = mosquitto_sub(
            &port.to_string(),
            &["-t", "ret/from-session", "-C", "1", "-v"],
        );
        assert_eq!(finish(late), "ret/from-session kept\n");
        // Clean up for the next broker run (empty retained deletes).
        h.publish(
            &publisher,
            PublishRequest {
                retain: true,
                ..text("ret/from-session", "", 1)
            },
        )
        .expect("clear");
    }
}

#[test]
fn the_will_is_published_on_an_abnormal_close_only() {
    let mosquitto = Mosquitto::start(&[], None);
    let broker = TestBroker::default_settings();
    for (port, version) in [
        (mosquitto.port, MqttVersion::V5),
        (broker.address.port(), MqttVersion::V311),
    ] {
        let h = Harness::new();
        let watcher = ReadySub::start(&port.to_string(), "wills/#", 1, &[]);
        let with_will = |name: &str, payload: &str| {
            let mut p = profile(name, port, version);
            p.will = Some(Will {
                topic: format!("wills/{name}"),
                payload: payload.into(),
                qos: 1,
                retain: false,
                properties: MessageProperties::default(),
            });
            h.add(p, None)
        };
        let polite = with_will("polite", "polite left");
        let crashing = with_will("crashing", "crashing died");
        h.online(&polite);
        h.online(&crashing);
        h.stop(&polite, true); // DISCONNECT: no will
        h.stop(&crashing, false); // dropped: the broker publishes the will
        assert_eq!(
            watcher.finish(),
            "wills/crashing crashing died\n",
            "{version:?}"
        );
    }
}

#[test]
fn a_session_reconnects_after_the_broker_restarts_and_resubscribes() {
    let mut mosquitto = Mosquitto::start(&[], None);
    let h = Harness::new();
    let mut p = profile("survivor", mosquitto.port, MqttVersion::V311);
    p.subscriptions.push(Subscription::new("restart/#", 1));
    let id = h.add(p, None);
    h.online(&id);
    mosquitto.stop();
    let view = h.wait_state(&id, "reconnecting", |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    });
    let ConnectionState::Reconnecting { reason, code, .. } = view.state else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::Unreachable, "{reason}");
    mosquitto.restart();
    // Backoff is at most a few seconds here; then connected and subscribed again (clean session).
    h.ready(&id);
    assert!(mosquitto_pub(
        &mosquitto.port.to_string(),
        &["-t", "restart/after", "-m", "back", "-q", "1"]
    )
    .status
    .success());
    assert_eq!(h.wait_received(&id, "restart/after", 1).0, b"back");
    let connects = h
        .packets(&id)
        .iter()
        .filter(|p| **p == (Direction::Outbound, PacketKind::Connect))
        .count();
    assert!(connects >= 2, "a second CONNECT is logged ({connects})");
}

#[test]
fn five_megabyte_payloads_cross_both_brokers() {
    let mosquitto = Mosquitto::start(&[], None);
    let broker = TestBroker::default_settings();
    let payload: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
    for port in [broker.address.port(), mosquitto.port] {
        for version in [MqttVersion::V311, MqttVersion::V5] {
            let h = Harness::new();
            let mut rx = profile("big-rx", port, version);
            rx.subscriptions.push(Subscription::new("big/#", 1));
            let rx = h.add(rx, None);
            let tx = h.add(profile("big-tx", port, version), None);
            h.online(&rx);
            h.online(&tx);
            let sent = h
                .publish(
                    &tx,
                    PublishRequest {
                        payload: PayloadInput::Hex(hex.clone()),
                        ..text("big/blob", "", 1)
                    },
                )
                .expect("5 MB publish");
            assert_eq!(sent, payload.len());
            let (got, _, _) = h.wait_received(&rx, "big/blob", 1);
            assert!(
                got == payload,
                "{port} {version:?}: received {} bytes, not the 5 MB sent",
                got.len()
            );
            assert!(matches!(
                h.sessions.get(&tx).expect("tx").state,
                ConnectionState::Connected { .. }
            ));
        }
    }
}

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
fn bad_credentials_fail_with_the_connack_code_in_words() {
    let broker = TestBroker::start(BrokerSettings {
        users: HashMap::from([("alice".to_string(), "secret".to_string())]),
        ..BrokerSettings::default()
    });
    let mosquitto = Mosquitto::start(&[("alice", "secret")], None);
    let h = Harness::new();
    // The embedded broker answers "bad user name or password"; mosquitto "not authorized".
    for (port, codes) in [
        (broker.address.port(), ["0x04", "0x86"]),
        (mosquitto.port, ["0x05", "0x87"]),
    ] {
        for (version, code) in [MqttVersion::V311, MqttVersion::V5].into_iter().zip(codes) {
            let mut p = profile(&format!("wrong-{port}"), port, version);
            p.username = Some("alice".into());
            let id = h.add(p.clone(), Some("not the password"));
            h.connect(&id);
            let view = h.wait_state(&id, "failed", |s| {
                matches!(s, ConnectionState::Failed { .. })
            });
            let ConnectionState::Failed {
                code: class,
                reason,
                answer,
            } = view.state
            else {
                unreachable!()
            };
            assert_eq!(class, ErrorCode::AuthFailed, "{reason}");
            // The code itself travels beside the words, for the UI's other languages.
            let answer = answer.expect("the broker's answer");
            assert_eq!(answer.packet, AnswerPacket::Connack);
            assert_eq!(format!("0x{:02x}", answer.code), code);
            assert!(
                reason.contains(&format!("[CONNACK code {code}]")),
                "{reason}"
            );
            if port == broker.address.port() {
                assert!(reason.contains("wrong username or password"), "{reason}");
            }
            // The right password (kept in the store, never in the profile) connects.
            h.sessions
                .save(view.profile, Some("secret".into()))
                .expect("save");
            h.online(&id);
        }
    }
}

#[test]
fn a_broker_disconnect_is_explained_with_its_reason_code() {
    // The embedded broker ends an MQTT 5 connection whose client id another connection takes,
    // with DISCONNECT "session taken over".
    let broker = TestBroker::default_settings();
    let h = Harness::new();
    let mut p = profile("taken", broker.address.port(), MqttVersion::V5);
    p.auto_reconnect = false;
    let id = h.add(p, None);
    h.online(&id);
    let _thief = workbench_testkit::raw::RawClient::connected(
        broker.address,
        workbench_testkit::raw::Connect {
            level: workbench_testkit::raw::V5,
            client_id: "taken-v5",
            ..Default::default()
        },
    );
    let view = h.wait_state(&id, "failed", |s| {
        matches!(s, ConnectionState::Failed { .. })
    });
    let ConnectionState::Failed { reason, answer, .. } = view.state else {
        unreachable!()
    };
    assert!(reason.contains("[DISCONNECT code 0x8E]"), "{reason}");
    let answer = answer.expect("the broker's answer");
    assert_eq!(
        (answer.packet, answer.code),
        (AnswerPacket::Disconnect, 0x8E)
    );
}

#[test]
fn unreachable_brokers_are_explained_and_retried() {
    let h = Harness::new();
    let closed = workbench_testkit::mosquitto::free_port();
    let refused = h.add(profile("nobody-home", closed, MqttVersion::V311), None);
    h.connect(&refused);
    let view = h.wait_state(&refused, "reconnecting", |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    });
    let ConnectionState::Reconnecting {
        code,
        reason,
        attempt,
        answer,
        ..
    } = view.state
    else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::Unreachable);
    assert_eq!(answer, None, "a refused port is not a broker's answer");
    assert!(
        reason.contains("connection refused") && reason.contains(&closed.to_string()),
        "{reason}"
    );
    assert_eq!(attempt, 2);

    let mut p = profile("no-such-host", 1883, MqttVersion::V5);
    p.host = "no-such-host.invalid".into();
    let dns = h.add(p, None);
    h.connect(&dns);
    let view = h.wait_state(&dns, "reconnecting", |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    });
    let ConnectionState::Reconnecting { reason, .. } = view.state else {
        unreachable!()
    };
    assert!(
        reason.contains("cannot resolve the host name 'no-such-host.invalid'"),
        "{reason}"
    );

    // Something that is not an MQTT broker (an HTTP server's answer) on the port.
    let http = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let http_port = http.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in http.incoming().take(3) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 64];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let not_mqtt = h.add(profile("not-mqtt", http_port, MqttVersion::V311), None);
    h.connect(&not_mqtt);
    let view = h.wait_state(&not_mqtt, "reconnecting", |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    });
    let ConnectionState::Reconnecting { code, reason, .. } = view.state else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::Protocol, "{reason}");
    assert!(reason.contains("is this an MQTT port"), "{reason}");
    h.stop(&not_mqtt, true);

    // Publishing from a session that is not connected says so.
    let e = h.publish(&refused, text("a/b", "x", 0)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidState, "{e}");
    h.stop(&refused, true);
    h.stop(&dns, true);
    assert_eq!(
        h.sessions.get(&dns).expect("dns").state,
        ConnectionState::Disconnected
    );
}

#[test]
fn bad_filters_and_topics_are_refused_before_anything_is_sent() {
    // A broker that allows two subscriptions per client, to see its refusal of a third.
    let broker = TestBroker::start(BrokerSettings {
        limits: workbench_broker::Limits {
            max_subscriptions_per_client: 2,
            ..workbench_broker::Limits::default()
        },
        ..BrokerSettings::default()
    });
    let h = Harness::new();
    let id = h.add(
        profile("strict", broker.address.port(), MqttVersion::V5),
        None,
    );
    h.online(&id);
    let before = h.packets(&id).len();
    let e = h
        .subscribe(&id, Subscription::new("sport/+/player#", 1))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidTopicFilter);
    let message = e.to_string();
    assert!(
        message.contains("'sport/+/player#'") && message.contains("'#' must be the last"),
        "{message}"
    );
    let e = h.publish(&id, text("sport/+/score", "1", 0)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidTopic);
    assert!(e.to_string().contains("wildcard '+'"), "{e}");
    let e = h
        .publish(
            &id,
            PublishRequest {
                payload: PayloadInput::Json("{\"a\":".into()),
                ..text("t", "", 0)
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    assert_eq!(h.packets(&id).len(), before, "nothing reached the wire");
    assert!(matches!(
        h.sessions.get(&id).expect("s").state,
        ConnectionState::Connected { .. }
    ));

    // The broker's own refusal (its limit of two subscriptions) shows per subscription, and the
    // session stays connected.
    for filter in ["one/#", "two/#", "three/#"] {
        h.subscribe(&id, Subscription::new(filter, 1))
            .expect("sent");
    }
    wait_until("a refused subscription", || {
        h.sessions.get(&id).expect("s").subscriptions.iter().any(|s| {
            matches!(&s.status, SubscriptionStatus::Refused { reason, code: 0x97 } if reason.contains("quota"))
        })
    });
    for filter in ["one/#", "two/#", "three/#"] {
        h.runtime
            .block_on(h.sessions.unsubscribe(&id, filter))
            .expect("unsubscribe");
    }
    // Live change and removal.
    h.subscribe(&id, Subscription::new("live/#", 0))
        .expect("subscribe");
    wait_until("granted", || {
        h.sessions
            .get(&id)
            .expect("s")
            .subscriptions
            .iter()
            .any(|s| {
                s.subscription.filter == "live/#"
                    && s.status == SubscriptionStatus::Granted { qos: 0 }
            })
    });
    h.subscribe(&id, Subscription::new("live/#", 1))
        .expect("change QoS");
    wait_until("regranted at QoS 1", || {
        h.sessions
            .get(&id)
            .expect("s")
            .subscriptions
            .iter()
            .any(|s| {
                s.subscription.filter == "live/#"
                    && s.status == SubscriptionStatus::Granted { qos: 1 }
            })
    });
    h.runtime
        .block_on(h.sessions.unsubscribe(&id, "live/#"))
        .expect("unsubscribe");
    assert!(
        h.packets(&id)
            .contains(&(Direction::Outbound, PacketKind::Unsubscribe))
            || {
                wait_until("UNSUBSCRIBE logged", || {
                    h.packets(&id)
                        .contains(&(Direction::Outbound, PacketKind::Unsubscribe))
                });
                true
            }
    );
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
    let fields = h.hub.with_source(&format!("session:{rx}"), |s| {
        s.model
            .packets()
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
    let stored = h.hub.with_source(&format!("session:{rx}"), |s| {
        let tree = &s.model.tree;
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

#[test]
fn a_persistent_session_gets_what_was_published_while_it_was_away() {
    let mosquitto = Mosquitto::start(&[], None);
    let broker = TestBroker::default_settings();
    for port in [mosquitto.port, broker.address.port()] {
        let h = Harness::new();
        let mut p = profile(&format!("persistent-{port}"), port, MqttVersion::V5);
        p.clean_start = false;
        p.session_expiry = Some(300);
        p.subscriptions.push(Subscription::new("away/#", 1));
        let id = h.add(p, None);
        h.online(&id);
        h.stop(&id, true);
        assert!(mosquitto_pub(
            &port.to_string(),
            &["-t", "away/note", "-m", "while you were out", "-q", "1"]
        )
        .status
        .success());
        h.connect(&id);
        let view = h.wait_connected(&id);
        assert!(
            matches!(view.state, ConnectionState::Connected { resumed: true, .. }),
            "the broker resumed the session: {:?}",
            view.state
        );
        assert_eq!(
            h.wait_received(&id, "away/note", 1).0,
            b"while you were out"
        );
        // Resumed: the subscription was not sent again.
        let subscribes = h
            .packets(&id)
            .iter()
            .filter(|p| **p == (Direction::Outbound, PacketKind::Subscribe))
            .count();
        assert_eq!(subscribes, 1, "{port}");
    }
}

#[test]
fn many_subscriptions_are_each_granted_even_when_packet_ids_wrap() {
    let mosquitto = Mosquitto::start(&[], None);
    let broker = TestBroker::default_settings();
    for port in [mosquitto.port, broker.address.port()] {
        for version in [MqttVersion::V311, MqttVersion::V5] {
            let h = Harness::new();
            let mut p = profile("many", port, version);
            // More than rumqttc's packet-id window (its inflight limit, or the broker's
            // Receive Maximum), so ids are reused while earlier SUBACKs are outstanding.
            for i in 0..130 {
                p.subscriptions
                    .push(Subscription::new(&format!("many/{i}/#"), (i % 3) as u8));
            }
            let id = h.add(p, None);
            h.online(&id);
            let view = h.sessions.get(&id).expect("view");
            for s in &view.subscriptions {
                assert_eq!(
                    s.status,
                    SubscriptionStatus::Granted {
                        qos: s.subscription.qos
                    },
                    "{port} {version:?} {}",
                    s.subscription.filter
                );
            }
            h.stop(&id, true);
        }
    }
}

#[test]
fn a_packet_over_the_sessions_limit_stops_it_with_the_reason_instead_of_looping() {
    let broker = TestBroker::default_settings();
    let h = Harness::new();
    let mut p = profile("small", broker.address.port(), MqttVersion::V311);
    p.max_packet_size = 2048;
    p.subscriptions.push(Subscription::new("big/#", 0));
    let id = h.add(p, None);
    h.online(&id);
    let big = "x".repeat(10_000);
    assert!(mosquitto_pub(&broker.port(), &["-t", "big/x", "-m", &big])
        .status
        .success());
    let view = h.wait_state(&id, "failed", |s| {
        matches!(s, ConnectionState::Failed { .. })
    });
    let ConnectionState::Failed { code, reason, .. } = view.state else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::Protocol, "{reason}");
    assert!(
        reason.contains("larger than allowed") && reason.contains("2048"),
        "{reason}"
    );
}
