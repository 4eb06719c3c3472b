//! Property tests of the packet decoders: whatever bytes a peer may send, never a panic, only a
//! result or a precise error; and every packet the codec encodes decodes back to itself.

use proptest::prelude::*;
use workbench_wire::codec::{
    self, Ack, AckKind, ConnAck, Connect, Disconnect, Level, Packet, Properties, PublishOut, QoS,
    RetainHandling, SubAck, Subscribe, SubscribeFilter, Unsubscribe, Will,
};
use workbench_wire::{self as wire, PacketKind, ProtocolVersion};

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
        let _ = wire::subscription_filters(packet, &frame, version);
        let _ = wire::ack_codes(packet, &frame, version);
    }
    for level in [Level::V3_1_1, Level::V5] {
        if let Ok(Packet::Publish(publish)) = codec::decode(packet, level) {
            if let Ok(meta) = publish.meta() {
                let mut forwarded = Vec::new();
                publish.forwarded_properties(&meta, &mut forwarded);
                prop_assert!(forwarded.len() <= publish.properties.len());
            }
        }
    }
    if frame.kind() == Some(PacketKind::ConnAck) {
        let _ = codec::decode(packet, Level::V5);
    }
    let _ = wire::publish_properties(packet, &frame);
    Ok(())
}

fn qos() -> impl Strategy<Value = QoS> {
    prop::sample::select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9/+#$ é]{0,12}"
}

fn topic() -> impl Strategy<Value = String> {
    "[a-z0-9/$é]{1,12}"
}

fn properties(v5: bool) -> impl Strategy<Value = Properties> {
    (
        prop::option::of(any::<u32>()),
        prop::collection::vec((text(), text()), 0..3),
        prop::option::of(topic()),
    )
        .prop_map(move |(expiry, user, response)| {
            if !v5 {
                return Properties::default();
            }
            Properties {
                message_expiry_interval: expiry,
                user_properties: user,
                response_topic: response.filter(|t| !t.contains(['+', '#'])),
                ..Properties::default()
            }
        })
}

fn level() -> impl Strategy<Value = Level> {
    prop::sample::select(vec![Level::V3_1, Level::V3_1_1, Level::V5])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn connects_round_trip(
        level in level(),
        clean in any::<bool>(),
        keep_alive in any::<u16>(),
        client_id in text(),
        login in prop::option::of((text(), prop::collection::vec(any::<u8>(), 0..8))),
        will in prop::option::of((topic(), prop::collection::vec(any::<u8>(), 0..16), qos(), any::<bool>())),
        expiry in prop::option::of(any::<u32>()),
    ) {
        let v5 = level == Level::V5;
        let mut connect = Connect::new(level, &client_id, keep_alive);
        connect.clean_start = clean;
        if let Some((user, password)) = login {
            connect.username = Some(user);
            connect.password = Some(password);
        }
        connect.will = will.map(|(topic, payload, qos, retain)| Will {
            topic,
            payload,
            qos,
            retain,
            properties: Properties::default(),
        });
        if v5 {
            connect.properties.session_expiry_interval = expiry;
        }
        let mut bytes = Vec::new();
        connect.encode(&mut bytes);
        prop_assert_eq!(codec::decode(&bytes, Level::V3_1_1), Ok(Packet::Connect(Box::new(connect))));
    }

    #[test]
    fn publishes_round_trip(
        level in level(),
        qos in qos(),
        retain in any::<bool>(),
        dup in any::<bool>(),
        topic in topic(),
        id in 1u16..,
        payload in prop::collection::vec(any::<u8>(), 0..64),
        props in properties(true),
        alias in prop::option::of(1u16..),
        ids in prop::collection::vec(1u32..268_435_455, 0..3),
    ) {
        let mut raw = Vec::new();
        props.encode(&mut raw);
        let prefix = codec::varint_len(props.body_len());
        let raw = raw.split_off(prefix);
        let v5 = level == Level::V5;
        let out = PublishOut {
            dup: dup && qos != QoS::AtMostOnce,
            qos,
            retain,
            topic: &topic,
            packet_id: (qos != QoS::AtMostOnce).then_some(id),
            payload: &payload,
            message_expiry_interval: None,
            topic_alias: alias.filter(|_| v5),
            subscription_identifiers: if v5 { &ids } else { &[] },
            properties: if v5 { &raw } else { &[] },
        };
        let mut bytes = Vec::new();
        out.encode(level, &mut bytes);
        prop_assert_eq!(bytes.len(), out.encoded_len(level));
        let Ok(Packet::Publish(view)) = codec::decode(&bytes, level) else {
            return Err(TestCaseError::fail("does not decode as a PUBLISH"));
        };
        prop_assert_eq!(view.topic, topic.as_str());
        prop_assert_eq!(view.payload, &payload[..]);
        prop_assert_eq!((view.qos, view.retain, view.packet_id), (out.qos, retain, out.packet_id));
        let meta = view.meta().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(meta.topic_alias, out.topic_alias);
        let mut forwarded = Vec::new();
        view.forwarded_properties(&meta, &mut forwarded);
        let expected: &[u8] = if v5 { &raw } else { &[] };
        if props.message_expiry_interval.is_none() {
            prop_assert_eq!(&forwarded[..], expected);
        }
    }

    #[test]
    fn subscriptions_and_acks_round_trip(
        level in level(),
        id in 1u16..,
        filters in prop::collection::vec((topic(), qos(), any::<bool>(), any::<bool>(), 0u8..3), 1..5),
        reason in any::<u8>(),
    ) {
        let v5 = level == Level::V5;
        let subscribe = Subscribe {
            packet_id: id,
            properties: Properties::default(),
            filters: filters
                .iter()
                .map(|(f, q, nl, rap, rh)| SubscribeFilter {
                    filter: f.clone(),
                    qos: *q,
                    no_local: *nl && v5,
                    retain_as_published: *rap && v5,
                    retain_handling: match (v5, rh) {
                        (true, 1) => RetainHandling::SendIfNew,
                        (true, 2) => RetainHandling::DoNotSend,
                        _ => RetainHandling::SendAtSubscribe,
                    },
                })
                .collect(),
        };
        let mut bytes = Vec::new();
        subscribe.encode(level, &mut bytes);
        prop_assert_eq!(codec::decode(&bytes, level), Ok(Packet::Subscribe(subscribe.clone())));
        let unsubscribe = Unsubscribe {
            packet_id: id,
            properties: Properties::default(),
            filters: subscribe.filters.iter().map(|f| f.filter.clone()).collect(),
        };
        let mut bytes = Vec::new();
        unsubscribe.encode(level, &mut bytes);
        prop_assert_eq!(codec::decode(&bytes, level), Ok(Packet::Unsubscribe(unsubscribe)));
        let suback = SubAck { packet_id: id, properties: Properties::default(), codes: vec![reason] };
        let mut bytes = Vec::new();
        suback.encode(level, &mut bytes);
        prop_assert_eq!(codec::decode(&bytes, level), Ok(Packet::SubAck(suback)));
        for kind in [AckKind::PubAck, AckKind::PubRec, AckKind::PubRel, AckKind::PubComp] {
            let ack = Ack::new(kind, id, if v5 { reason } else { 0 });
            let mut bytes = Vec::new();
            ack.encode(level, &mut bytes);
            prop_assert_eq!(codec::decode(&bytes, level), Ok(Packet::Ack(ack)));
        }
        let connack = ConnAck::new(reason % 2 == 0, reason);
        let mut bytes = Vec::new();
        connack.encode(level, &mut bytes);
        prop_assert_eq!(codec::decode(&bytes, level), Ok(Packet::ConnAck(connack)));
        let disconnect = Disconnect::new(if v5 { reason } else { 0 });
        let mut bytes = Vec::new();
        disconnect.encode(level, &mut bytes);
        prop_assert_eq!(codec::decode(&bytes, level), Ok(Packet::Disconnect(disconnect)));
    }

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
}
