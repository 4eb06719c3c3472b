//! Property tests of the packet decoders, the wire's and the door's full ones: whatever bytes a
//! peer may send, never a panic, only a result or a precise error.

use proptest::prelude::*;
use workbench_broker::codec;
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
    if frame.kind() == Some(PacketKind::ConnAck) {
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
}
