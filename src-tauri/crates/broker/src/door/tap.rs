//! Packet events for the traffic views: what each packet was, read from its bytes (for the
//! rare packets) or from what the door already decoded (for PUBLISH, the hot path).

use wire::codec::{self, Level, PublishView};
use wire::{PacketKind, PacketSummary, ProtocolVersion};

fn version(level: Level) -> ProtocolVersion {
    if level.is_v5() {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    }
}

/// The summary of one whole packet, with its decoded fields (client id, filters, codes,
/// MQTT 5 properties; never a password). `None` when the bytes are not a packet.
pub fn summarize(bytes: &[u8], level: Level) -> Option<PacketSummary> {
    let frame = wire::frame(bytes, usize::MAX).ok()??;
    let version = version(level);
    let mut summary = match wire::summarize(bytes, &frame, version) {
        Ok(summary) => summary,
        Err(_) => {
            let kind = PacketKind::from_type(bytes.first()? >> 4)?;
            return Some(PacketSummary::new(kind, bytes.len()));
        }
    };
    if summary.kind != PacketKind::Publish {
        summary.fields = wire::describe(bytes, &frame, version).unwrap_or_default();
    }
    Some(summary)
}

/// The summary of a client's PUBLISH, from its decoded parts (`topic` after alias lookup).
pub fn publish_summary(publish: &PublishView<'_>, topic: &str, size: usize) -> PacketSummary {
    let mut summary = PacketSummary::new(PacketKind::Publish, size);
    summary.packet_id = publish.packet_id;
    summary.qos = publish.qos.bits();
    summary.retain = publish.retain;
    summary.dup = publish.dup;
    summary.topic = Some(topic.to_string());
    summary.payload_len = publish.payload.len();
    summary
}

/// MQTT 5 properties as named fields, for the packet log's detail view.
pub fn property_fields(raw: &[u8]) -> Vec<wire::Field> {
    // Frame the bare properties as an empty-topic QoS 0 PUBLISH and reuse the describer.
    let mut packet = Vec::with_capacity(raw.len() + 8);
    let remaining = 2 + codec::varint_len(raw.len()) + raw.len();
    packet.push(0x30);
    codec::encode_varint(remaining, &mut packet);
    packet.extend_from_slice(&[0, 0]);
    codec::encode_varint(raw.len(), &mut packet);
    packet.extend_from_slice(raw);
    match wire::frame(&packet, usize::MAX) {
        Ok(Some(frame)) => wire::publish_properties(&packet, &frame).unwrap_or_default(),
        _ => Vec::new(),
    }
}
