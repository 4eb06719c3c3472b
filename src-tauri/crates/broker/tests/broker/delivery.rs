//! What reaches whom, at which QoS, and what stays: retained messages, wills, sessions.

use super::*;

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
