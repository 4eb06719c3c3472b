//! Routing explained, against real clients: for a message the broker routed, every connected
//! and persistent offline client with what became of it and why.

use super::*;
use workbench_broker::router::explain::{Explained, Outcome};

/// The explanation of the latest message on `topic`, by client id.
fn explained(broker: &TestBroker, topic: &str) -> HashMap<String, Explained> {
    let router = broker.broker().router();
    let record = router
        .routing
        .since(0, 256)
        .into_iter()
        .rev()
        .find(|r| &*r.topic == topic)
        .unwrap_or_else(|| panic!("a routing record for {topic}"));
    let (_, lines) = router.explain(record.serial).expect("still kept");
    lines
        .into_iter()
        .map(|l| (l.client_id.to_string(), l))
        .collect()
}

fn subscribed(
    address: std::net::SocketAddr,
    id: &str,
    level: u8,
    clean: bool,
    filters: &[(&str, u8)],
) -> RawClient {
    let mut client = RawClient::connected(
        address,
        Connect {
            level,
            client_id: id,
            clean,
            ..Connect::default()
        },
    );
    client.send(&raw::subscribe(level, 1, filters));
    let suback = client.read_packet().expect("a SUBACK");
    assert_eq!(suback[0], 0x90, "SUBACK expected, got {suback:02x?}");
    client
}

#[test]
fn every_client_gets_an_outcome_and_a_reason() {
    let broker = TestBroker::default_settings();
    let port = broker.port();
    // Two mosquitto_sub subscribers whose filters match, at QoS 1 and QoS 0.
    // Each waits for a second message, so both are still subscribed when the first is explained.
    let sub_a = ReadySub::start(&port, "class/+", 2, &["-i", "sub-a", "-q", "1"]);
    let sub_b = ReadySub::start(&port, "class/#", 2, &["-i", "sub-b", "-q", "0"]);
    // One whose filter does not match.
    let _sub_c = subscribed(broker.address, "sub-c", V311, true, &[("other/#", 1)]);
    // A persistent session whose client has gone.
    drop(subscribed(
        broker.address,
        "sub-off",
        V311,
        false,
        &[("class/x", 2)],
    ));
    broker.wait_for_departure("sub-off");
    // Two members of one shared group: one of them gets each message.
    let _sh1 = subscribed(broker.address, "sh-1", V5, true, &[("$share/g/class/x", 1)]);
    let _sh2 = subscribed(broker.address, "sh-2", V5, true, &[("$share/g/class/x", 1)]);

    let sent = mosquitto_pub(
        &port,
        &["-i", "pub-1", "-q", "2", "-t", "class/x", "-m", "hi"],
    );
    assert!(sent.status.success());
    let lines = explained(&broker, "class/x");
    let bye = mosquitto_pub(
        &port,
        &["-i", "pub-2", "-q", "1", "-t", "class/y", "-m", "bye"],
    );
    assert!(bye.status.success());
    assert_eq!(sub_a.finish(), "class/x hi\nclass/y bye\n");
    sub_b.finish();

    let a = &lines["sub-a"];
    assert_eq!(a.outcome, Outcome::Delivered);
    assert_eq!(a.qos.map(|q| q.bits()), Some(1), "min(2, 1)");
    assert_eq!(a.filters, vec!["class/+".to_string()]);
    assert_eq!(a.retain, Some(false));
    assert_eq!(lines["sub-b"].qos.map(|q| q.bits()), Some(0), "min(2, 0)");
    assert_eq!(lines["sub-c"].outcome, Outcome::NoMatchingFilter);
    assert_eq!(lines["sub-off"].outcome, Outcome::QueuedOffline);
    assert!(!lines["sub-off"].connected);
    assert_eq!(lines["sub-off"].qos.map(|q| q.bits()), Some(2));
    let (got, other) = match (&lines["sh-1"].outcome, &lines["sh-2"].outcome) {
        (Outcome::Delivered, other) => ("sh-1", other),
        (other, Outcome::Delivered) => ("sh-2", other),
        both => panic!("one shared member gets it: {both:?}"),
    };
    assert_eq!(
        other,
        &Outcome::SharedToOther {
            group: "g".to_string(),
            member: got.to_string()
        }
    );
}

#[test]
fn a_no_local_publisher_is_told_why_it_did_not_get_its_own_message() {
    let broker = TestBroker::default_settings();
    // No-local (bit 2 of the subscription options), QoS 1.
    let mut own = subscribed(broker.address, "self", V5, true, &[("echo/#", 0x04 | 1)]);
    let later = "late";
    own.send(&raw::publish(V5, "echo/1", b"x", 0, false, 0));
    wait_until("the message routed", || {
        broker
            .broker()
            .router()
            .routing
            .since(0, 256)
            .iter()
            .any(|r| &*r.topic == "echo/1")
    });
    // A client that subscribes after the message was routed.
    let _late = subscribed(broker.address, later, V311, true, &[("echo/#", 0)]);
    let lines = explained(&broker, "echo/1");
    assert_eq!(lines["self"].outcome, Outcome::NoLocal);
    assert_eq!(lines[later].outcome, Outcome::SubscribedLater);
}
