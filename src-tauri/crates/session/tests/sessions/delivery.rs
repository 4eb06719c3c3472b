//! What sessions send and receive, and what survives a restart or an absence.

use super::*;

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
