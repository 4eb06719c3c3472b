//! Property tests: the wildcard matcher against a literal reading of the specification, the
//! topic tree's counts against the messages that built it, and the packet decoders against
//! whatever bytes a peer may send (never a panic, only a result or a precise error).

use mqtt_workbench::broker::{codec, wire};
use mqtt_workbench::topic;
use mqtt_workbench::traffic::history::HistoryLimits;
use mqtt_workbench::traffic::tree::{Incoming, TopicTree, ROOT};
use mqtt_workbench::traffic::ProtocolVersion;
use proptest::prelude::*;

/// MQTT 3.1.1 §4.7 and MQTT 5 §4.7, level by level, written as plainly as possible.
fn spec_matches(filter: &[&str], topic: &[&str], first: bool) -> bool {
    match (filter.first(), topic.first()) {
        (None, None) => true,
        // '#' matches the parent and any number of child levels, but not a leading '$' level.
        (Some(&"#"), _) => !(first && topic.first().is_some_and(|l| l.starts_with('$'))),
        (Some(&"+"), Some(level)) => {
            !(first && level.starts_with('$')) && spec_matches(&filter[1..], &topic[1..], false)
        }
        (Some(f), Some(t)) => f == t && spec_matches(&filter[1..], &topic[1..], false),
        _ => false,
    }
}

fn topic_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "", "$SYS", "c1"]), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("a topic is not empty", |t| !t.is_empty())
}

fn filter_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "", "+", "$SYS", "c1"]),
            0..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#");
            }
            let filter = levels.join("/");
            // A lone empty level is the empty string, which is not a filter.
            if filter.is_empty() {
                "#".to_string()
            } else {
                filter
            }
        })
}

/// A well-framed packet of any type and flags whose body is arbitrary bytes: gets past the framing
/// so that every decoder behind it meets garbage.
fn framed_garbage() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), prop::collection::vec(any::<u8>(), 0..200)).prop_map(|(first, body)| {
        let mut packet = vec![first];
        wire::encode_varint(body.len(), &mut packet);
        packet.extend(body);
        packet
    })
}

/// A packet that starts the way a real one does (a CONNECT's protocol name and level, a
/// SUBSCRIBE's or PUBLISH's usual first bytes) and goes on with arbitrary bytes: reaches deeper
/// into the decoders than garbage does.
fn plausible_garbage() -> impl Strategy<Value = Vec<u8>> {
    let starts: Vec<(u8, Vec<u8>)> = vec![
        (0x10, b"\x00\x04MQTT\x04".to_vec()),
        (0x10, b"\x00\x04MQTT\x05".to_vec()),
        (0x10, b"\x00\x06MQIsdp\x03".to_vec()),
        (0x82, vec![0, 1]),
        (0xA2, vec![0, 1]),
        (0x90, vec![0, 1]),
        (0x20, vec![0]),
        (0x32, vec![0, 3, b'a', b'/', b'b', 0, 1]),
    ];
    (
        prop::sample::select(starts),
        prop::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(|((first, start), tail)| {
            let mut body = start;
            body.extend(tail);
            let mut packet = vec![first];
            wire::encode_varint(body.len(), &mut packet);
            packet.extend(body);
            packet
        })
}

/// Runs every decoder of the wire module over the first packet in `bytes`.
fn decode_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    const MAX: usize = 1 << 20;
    let frame = match wire::frame(bytes, MAX) {
        Ok(Some(frame)) => frame,
        Ok(None) | Err(_) => return Ok(()),
    };
    prop_assert!((2..=5).contains(&frame.header_len));
    prop_assert!(frame.len() <= bytes.len() && frame.remaining_len <= MAX);
    let packet = &bytes[..frame.len()];
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        if let Ok(summary) = wire::summarize(packet, &frame, version) {
            prop_assert_eq!(summary.size, frame.len());
            prop_assert!(summary.payload_len <= frame.remaining_len);
        }
        let _ = wire::describe(packet, &frame, version);
        if let Ok(publish) = wire::parse_publish(packet, &frame, version) {
            prop_assert!(publish.payload.len() <= frame.remaining_len);
            let _ = wire::walk_publish_properties(publish.properties, |_, _| {});
        }
        let _ = wire::subscription_filters(packet, &frame, version);
        let _ = wire::ack_codes(packet, &frame, version);
    }
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        // The door's full decoders (rumqttc's codecs behind them).
        if let Ok(connect) = codec::ConnectPacket::decode(packet, version) {
            let _ = (connect.client_id(), connect.login(), connect.has_will());
        }
        if let Ok(subscribe) = codec::SubscribePacket::decode(packet, version) {
            let filters = subscribe.filters();
            let keep: Vec<bool> = (0..filters.len()).map(|i| i % 2 == 0).collect();
            let _ = subscribe.encode_subset(&keep);
        }
        let _ = codec::decode_unsubscribe(packet, version);
        let _ = codec::suback_codes(&packet[frame.header_len..], version);
    }
    if frame.kind() == Some(mqtt_workbench::traffic::PacketKind::ConnAck) {
        let _ = codec::connack_for_v5_client(packet, Some("assigned"));
        let _ = codec::connack_v5_to_v4(packet);
    }
    let _ = wire::publish_properties(packet, &frame);
    let _ = wire::connect_protocol_level(packet, &frame);
    if let Ok(rewritten) = wire::insert_empty_properties(packet, &frame) {
        let again = wire::frame(&rewritten, usize::MAX).expect("a rewrite frames");
        prop_assert_eq!(again.map(|f| f.len()), Some(rewritten.len()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoders_never_panic_on_framed_garbage(packet in framed_garbage()) {
        decode_everything(&packet)?;
    }

    #[test]
    fn decoders_never_panic_on_plausible_garbage(packet in plausible_garbage()) {
        decode_everything(&packet)?;
    }

    #[test]
    fn decoders_never_panic_on_raw_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        decode_everything(&bytes)?;
    }

    #[test]
    fn value_charts_read_any_payload_without_panicking(
        payload in prop::collection::vec(any::<u8>(), 0..64),
        pointer in "(/[a-z0-9~]{0,3}){0,3}",
    ) {
        let value = mqtt_workbench::traffic::values::value_of(&payload, &pointer);
        prop_assert!(value.is_none_or(f64::is_finite));
    }

    #[test]
    fn matcher_agrees_with_the_specification(filter in filter_strategy(), topic in topic_strategy()) {
        prop_assert!(topic::validate_filter(&filter).is_ok(), "generated an invalid filter {}", filter);
        let f: Vec<&str> = filter.split('/').collect();
        let t: Vec<&str> = topic.split('/').collect();
        prop_assert_eq!(topic::matches(&filter, &topic), spec_matches(&f, &t, true), "{} vs {}", filter, topic);
    }

    #[test]
    fn a_filter_without_wildcards_matches_only_itself(a in topic_strategy(), b in topic_strategy()) {
        prop_assert_eq!(topic::matches(&a, &b), a == b);
    }

    #[test]
    fn hash_matches_every_topic_not_starting_with_dollar(t in topic_strategy()) {
        prop_assert_eq!(topic::matches("#", &t), !t.starts_with('$'));
    }

    #[test]
    fn tree_counts_add_up(topics in prop::collection::vec(topic_strategy(), 1..200)) {
        let mut tree = TopicTree::new(HistoryLimits::default());
        for (i, t) in topics.iter().enumerate() {
            tree.record(&Incoming { topic: t, payload: b"x", qos: 0, retain: false, time_ms: i as u64 });
        }
        prop_assert_eq!(tree.node(ROOT).unwrap().subtree_count, topics.len() as u64);
        for id in tree.ids().chain([ROOT]) {
            let node = tree.node(id).unwrap();
            let children: u64 = node.children.iter().map(|c| tree.node(*c).unwrap().subtree_count).sum();
            prop_assert_eq!(node.subtree_count, node.own_count + children);
        }
        for t in &topics {
            let id = tree.find(t).expect("every published topic has a node");
            prop_assert_eq!(&tree.topic_of(id), t);
            let expected = topics.iter().filter(|x| *x == t).count() as u64;
            prop_assert_eq!(tree.node(id).unwrap().own_count, expected);
        }
    }
}
