//! Every way a session can fail, each with its specific message; the manager goes on.

use super::*;

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
