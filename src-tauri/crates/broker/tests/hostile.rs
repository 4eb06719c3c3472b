//! The broker under hostile and heavy load, with raw-socket clients as an attacker or a careless
//! device would be: nothing lost that must not be, memory bounded, no client stalling the rest.
//! Each test is bounded in time and memory; none depends on how fast the machine is (bounds on
//! time are only ever lower bounds, or generous deadlines for what must happen at all).

use std::collections::HashSet;
use std::time::{Duration, Instant};
use workbench_broker::{BrokerSettings, Limits};
use workbench_testkit::peers::{wait_until, TestBroker};
use workbench_testkit::raw::{self, Connect, RawClient, V311, V5};

fn with_limits(limits: Limits) -> TestBroker {
    TestBroker::start(BrokerSettings {
        limits,
        ..BrokerSettings::default()
    })
}

/// Sends `packets` in large writes, then waits for a PINGRESP: the broker has handled them all
/// (it handles one connection's packets in order).
fn send_all(client: &mut RawClient, packets: impl Iterator<Item = Vec<u8>>) {
    let mut batch = Vec::with_capacity(128 * 1024);
    for packet in packets {
        batch.extend_from_slice(&packet);
        if batch.len() >= 64 * 1024 {
            client.send(&batch);
            batch.clear();
        }
    }
    batch.extend_from_slice(&raw::PINGREQ);
    client.send(&batch);
    while let Some(packet) = client.read_packet() {
        if packet[0] == 0xD0 {
            return;
        }
    }
    panic!("the broker closed the connection");
}

#[test]
fn every_matching_retained_message_reaches_a_new_wildcard_subscriber() {
    const COUNT: usize = 50_000;
    let broker = TestBroker::default_settings();
    let mut publisher = RawClient::connected(
        broker.address,
        Connect {
            client_id: "retainer",
            ..Connect::default()
        },
    );
    // QoS 1 retained publishes, pipelined (their PUBACKs are read past by the PINGRESP wait).
    send_all(
        &mut publisher,
        (0..COUNT).map(|i| {
            let topic = format!("ret/{}/{i}", i % 100);
            raw::publish(V311, &topic, b"v", 1, true, (i % 65_535) as u16 + 1)
        }),
    );
    assert_eq!(broker.broker().retained_count(), COUNT);
    // At every QoS and in both versions, a new subscriber gets every one, flagged retained.
    for (qos, level) in [(0u8, V311), (1, V5), (2, V311)] {
        let client_id = format!("ret-sub-{qos}");
        let mut subscriber = RawClient::connected(
            broker.address,
            Connect {
                level,
                client_id: &client_id,
                ..Connect::default()
            },
        );
        subscriber.send(&raw::subscribe(level, 1, &[("ret/#", qos)]));
        let got = subscriber.receive_publishes(COUNT, level);
        assert_eq!(got.len(), COUNT, "QoS {qos}: retained messages lost");
        let topics: HashSet<&str> = got.iter().map(|p| p.topic.as_str()).collect();
        assert_eq!(topics.len(), COUNT, "QoS {qos}: some arrived twice");
        assert!(got.iter().all(|p| p.retain), "flagged retained");
        assert!(
            got.iter().all(|p| p.qos == qos.min(1)),
            "delivered at the lower of the publish and subscription QoS"
        );
    }
    let mut narrow = RawClient::connected(
        broker.address,
        Connect {
            client_id: "ret-narrow",
            ..Connect::default()
        },
    );
    narrow.send(&raw::subscribe(V311, 1, &[("ret/50/#", 1)]));
    assert_eq!(narrow.receive_publishes(500, V311).len(), 500);
}

#[test]
fn one_client_with_a_flood_of_filters_stalls_nobody() {
    let broker = TestBroker::default_settings();
    let limit = Limits::default().max_subscriptions_per_client;
    let mut flooder = RawClient::connected(
        broker.address,
        Connect {
            level: V5,
            client_id: "flooder",
            ..Connect::default()
        },
    );
    // 100,000 filters in 100 SUBSCRIBEs, sent from another thread while others go about their
    // business.
    let flood = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        for batch in 0..100u16 {
            let names: Vec<String> = (0..1000).map(|i| format!("flood/{batch}/{i}/+")).collect();
            let filters: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 1)).collect();
            bytes.extend(raw::subscribe(V5, batch + 1, &filters));
        }
        flooder.send(&bytes);
        let mut codes = Vec::new();
        while codes.len() < 100_000 {
            let Some(packet) = flooder.read_packet() else {
                break;
            };
            if packet[0] == 0x90 {
                // Fixed header, packet id, an empty property block, then the codes.
                let at = packet
                    .iter()
                    .skip(1)
                    .position(|b| b & 0x80 == 0)
                    .unwrap_or(0)
                    + 2;
                codes.extend_from_slice(&packet[at + 3..]);
            }
        }
        // The client goes back to the test, still connected, for the count below.
        (codes, flooder)
    });
    let mut subscriber = RawClient::connected(
        broker.address,
        Connect {
            client_id: "bystander-sub",
            ..Connect::default()
        },
    );
    subscriber.send(&raw::subscribe(V311, 1, &[("calm/#", 1)]));
    let mut publisher = RawClient::connected(
        broker.address,
        Connect {
            client_id: "bystander-pub",
            ..Connect::default()
        },
    );
    publisher.send(&raw::publish(V311, "calm/x", b"still here", 1, false, 1));
    let got = subscriber.receive_publishes(1, V311);
    assert_eq!(got.first().map(|p| p.topic.as_str()), Some("calm/x"));
    let (codes, _flooder) = flood.join().expect("the flooding thread");
    assert_eq!(codes.len(), 100_000, "every filter is answered");
    assert_eq!(codes.iter().filter(|c| **c == 1).count(), limit);
    assert_eq!(
        codes.iter().filter(|c| **c == 0x97).count(),
        100_000 - limit,
        "beyond the limit: 0x97 quota exceeded"
    );
    assert_eq!(broker.broker().router().subscription_count(), limit + 1);
}

#[test]
fn unfinished_packets_are_closed_after_their_time() {
    let broker = with_limits(Limits {
        packet_timeout: Duration::from_secs(2),
        max_packet_size: 1 << 20,
        ..Limits::default()
    });
    // A CONNECT announced as 900 kB, 200 kB of it sent.
    let mut connecting = RawClient::connect(broker.address);
    let mut header = vec![0x10];
    workbench_wire::encode_varint(900 * 1024, &mut header);
    connecting.send(&header);
    connecting.send(&vec![0u8; 200 * 1024]);
    // After a keep-alive 0 CONNECT (no keep-alive timeout to help), a PUBLISH started.
    let mut publishing = RawClient::connected(
        broker.address,
        Connect {
            client_id: "half-a-publish",
            keep_alive: 0,
            ..Connect::default()
        },
    );
    let mut header = vec![0x30];
    workbench_wire::encode_varint(900 * 1024, &mut header);
    publishing.send(&header);
    publishing.send(&vec![0u8; 100 * 1024]);
    let started = Instant::now();
    assert!(connecting.closed_by_broker(), "the half CONNECT is closed");
    assert!(publishing.closed_by_broker(), "the half PUBLISH is closed");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "closed for taking too long, not at once"
    );
}

#[test]
fn unfinished_packets_share_a_bounded_budget() {
    // Room for two large unfinished packets at once; the packet timeout is out of the way.
    let broker = with_limits(Limits {
        packet_timeout: Duration::from_secs(300),
        max_packet_size: 1 << 20,
        max_unfinished_bytes_total: 2 << 20,
        ..Limits::default()
    });
    let mut clients: Vec<RawClient> = (0..5)
        .map(|i| {
            let id = format!("big-{i}");
            let mut client = RawClient::connected(
                broker.address,
                Connect {
                    level: V5,
                    client_id: &id,
                    keep_alive: 0,
                    ..Connect::default()
                },
            );
            let mut header = vec![0x30];
            workbench_wire::encode_varint(1000 * 1024, &mut header);
            client.send(&header);
            client.send(&vec![b'x'; 700 * 1024]);
            client
        })
        .collect();
    let mut refused = 0;
    for client in &mut clients {
        client
            .stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        if let Some(packet) = client.read_packet() {
            assert_eq!(packet[0], 0xE0, "only a DISCONNECT comes back");
            assert_eq!(packet[2], 0x97, "quota exceeded");
            refused += 1;
        }
    }
    assert!(
        (3..=4).contains(&refused),
        "at most two hold their 700 kB, the others are refused: {refused} refused"
    );
}

#[test]
fn clients_that_come_and_go_leave_nothing_behind() {
    let broker = TestBroker::default_settings();
    let long = "x".repeat(1000);
    for i in 0..2000 {
        let id = format!("{long}-{i}");
        let mut client = RawClient::connected(
            broker.address,
            Connect {
                client_id: &id,
                ..Connect::default()
            },
        );
        client.send(&raw::subscribe(V311, 1, &[("come/and/go", 1)]));
        client.read_packet();
        client.send(&raw::DISCONNECT);
    }
    // Persistent MQTT 5 sessions that expire after a second go too.
    for i in 0..200 {
        let id = format!("brief-{i}");
        let mut client = RawClient::connect(broker.address);
        let mut connect =
            workbench_wire::codec::Connect::new(workbench_wire::codec::Level::V5, &id, 30);
        connect.properties.session_expiry_interval = Some(1);
        let mut bytes = Vec::new();
        connect.encode(&mut bytes);
        client.send(&bytes);
        client.read_packet();
        client.send(&raw::subscribe(V5, 1, &[("brief/#", 1)]));
        client.read_packet();
        client.send(&raw::DISCONNECT);
    }
    let router = broker.broker().router().clone();
    wait_until("every session gone", || {
        router.session_counts() == (0, 0)
            && router.subscription_count() == 0
            && broker.broker().clients().is_empty()
    });
}

#[test]
fn many_sys_filters_are_answered_at_once() {
    let broker = TestBroker::default_settings();
    let mut client = RawClient::connected(
        broker.address,
        Connect {
            client_id: "sys-flood",
            ..Connect::default()
        },
    );
    // 9,000 `$SYS` filters (under the limit of 10,000 per client), then one that has a value.
    let mut bytes = Vec::new();
    for batch in 0..9u16 {
        let names: Vec<String> = (0..1000).map(|i| format!("$SYS/x/{batch}/{i}")).collect();
        let filters: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 0)).collect();
        bytes.extend(raw::subscribe(V311, batch + 1, &filters));
    }
    bytes.extend(raw::subscribe(V311, 10, &[("$SYS/broker/uptime", 0)]));
    client.send(&bytes);
    let mut subacks = 0;
    let mut uptime = false;
    while subacks < 10 || !uptime {
        let packet = client
            .read_packet()
            .unwrap_or_else(|| panic!("answers: {subacks} SUBACKs, uptime {uptime}"));
        match packet[0] >> 4 {
            9 => subacks += 1,
            3 => {
                uptime |= raw::parse_publish(&packet, V311)
                    .is_some_and(|p| p.topic == "$SYS/broker/uptime")
            }
            _ => {}
        }
    }
}

#[test]
fn wrong_passwords_are_answered_slowly() {
    let broker = TestBroker::start(BrokerSettings {
        users: [("alice".to_string(), "secret".to_string())].into(),
        limits: Limits {
            failed_login_delay: Duration::from_millis(200),
            ..Limits::default()
        },
        ..BrokerSettings::default()
    });
    let started = Instant::now();
    for _ in 0..5 {
        let mut client = RawClient::connect(broker.address);
        client.send(
            &Connect {
                login: Some(("alice", "guess")),
                ..Connect::default()
            }
            .encode(),
        );
        let connack = client.read_packet().expect("a CONNACK");
        assert_eq!(connack[3], 0x04, "bad user name or password");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(5 * 200),
        "each failure waits at least the configured delay"
    );
}

#[test]
fn a_subscriber_that_reads_too_slowly_loses_qos0_and_is_counted_not_the_others() {
    const COUNT: usize = 20_000;
    let broker = with_limits(Limits {
        max_queued_messages: 1_000,
        ..Limits::default()
    });
    let mut slow = RawClient::connected(
        broker.address,
        Connect {
            client_id: "slow",
            ..Connect::default()
        },
    );
    slow.send(&raw::subscribe(V311, 1, &[("flood/#", 0)]));
    slow.read_packet();
    let mut fast = RawClient::connected(
        broker.address,
        Connect {
            client_id: "fast",
            ..Connect::default()
        },
    );
    fast.send(&raw::subscribe(V311, 1, &[("flood/#", 0)]));
    fast.read_packet();
    let reader = std::thread::spawn(move || fast.receive_publishes(COUNT, V311).len());
    let mut publisher = RawClient::connected(
        broker.address,
        Connect {
            client_id: "flooder",
            ..Connect::default()
        },
    );
    let payload = vec![b'p'; 1024];
    send_all(
        &mut publisher,
        (0..COUNT).map(|i| raw::publish(V311, &format!("flood/{}", i % 10), &payload, 0, false, 0)),
    );
    assert_eq!(
        reader.join().expect("reader"),
        COUNT,
        "the fast reader lost nothing"
    );
    let dropped = broker
        .broker()
        .clients()
        .into_iter()
        .find(|c| c.client_id == "slow")
        .map(|c| c.dropped_qos0)
        .expect("the slow client is still connected");
    assert!(dropped > 0, "the slow reader's losses are counted");
    let sys: std::collections::HashMap<String, String> =
        broker.broker().sys_values().into_iter().collect();
    assert_ne!(sys["$SYS/broker/publish/messages/dropped"], "0");
    assert_eq!(
        sys.get("$SYS/broker/clients/dropped/slow/qos0"),
        Some(&dropped.to_string()),
        "the slow reader's losses are in $SYS under its id"
    );
    assert!(
        !sys.contains_key("$SYS/broker/clients/dropped/fast/qos0"),
        "the fast reader lost nothing"
    );
    drop(slow);
}

#[test]
fn a_connection_over_the_limit_is_told_why_in_its_own_version() {
    let broker = with_limits(Limits {
        max_connections: 2,
        ..Limits::default()
    });
    let address = broker.address;
    let _first = RawClient::connected(
        address,
        Connect {
            client_id: "first",
            ..Connect::default()
        },
    );
    let _second = RawClient::connected(
        address,
        Connect {
            client_id: "second",
            ..Connect::default()
        },
    );
    // MQTT 5: CONNACK 0x97 Quota exceeded, with the reason in words.
    let mut third = RawClient::connect(address);
    third.send(
        &Connect {
            level: V5,
            client_id: "third",
            ..Connect::default()
        }
        .encode(),
    );
    let connack = third.read_packet().expect("a CONNACK, not a silent close");
    assert_eq!(connack[0], 0x20, "{connack:?}");
    assert_eq!(connack[3], 0x97, "Quota exceeded: {connack:?}");
    let text = String::from_utf8_lossy(&connack);
    assert!(text.contains("maximum number of connections"), "{text}");
    assert!(third.closed_by_broker());
    // MQTT 3.1.1: return code 3, Server unavailable.
    let mut fourth = RawClient::connect(address);
    fourth.send(
        &Connect {
            client_id: "fourth",
            ..Connect::default()
        }
        .encode(),
    );
    assert_eq!(fourth.read_packet(), Some(vec![0x20, 2, 0, 3]));
    assert!(fourth.closed_by_broker());
    // Not an MQTT client at all: closed without an answer.
    let mut stranger = RawClient::connect(address);
    stranger.send(b"GET / HTTP/1.1\r\n\r\n");
    assert!(stranger.closed_by_broker());
}
