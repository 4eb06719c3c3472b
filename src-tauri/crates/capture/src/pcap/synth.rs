//! MQTT bytes for a logged packet. The packet log keeps what each packet was (its summary and
//! decoded fields), not its bytes, so a capture of the log encodes each packet again from those:
//! the same type, packet id, flags, topic, filters, codes and client id, in the connection's
//! protocol version. What the log does not keep is marked in the packet's comment: a payload
//! the caller cannot find (in the topic's history) is written as zeros of its length, and a
//! password is never written.

use workbench_wire::codec::{
    Ack, AckKind, Auth, ConnAck, Connect, Disconnect, Level, Properties, PublishOut, QoS, SubAck,
    Subscribe, SubscribeFilter, UnsubAck, Unsubscribe, Will,
};
use workbench_wire::{PacketEvent, PacketKind, ProtocolVersion};

/// A packet's bytes, and what about them is not the original's.
pub struct Synthesized {
    pub bytes: Vec<u8>,
    pub note: Option<String>,
}

fn field<'a>(event: &'a PacketEvent, name: &str) -> Option<&'a str> {
    event
        .summary
        .fields
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

fn yes(event: &PacketEvent, name: &str) -> bool {
    field(event, name) == Some("yes")
}

fn qos(bits: u8) -> QoS {
    QoS::from_bits(bits.min(2)).unwrap_or(QoS::AtMostOnce)
}

/// Codes as the describer writes them: "0x00, 0x80".
fn codes(text: &str) -> Vec<u8> {
    text.split(',')
        .filter_map(|c| u8::from_str_radix(c.trim().trim_start_matches("0x"), 16).ok())
        .collect()
}

/// The filters of a SUBSCRIBE with the QoS each asked for, from its decoded fields (the
/// describer writes each as "a/b (QoS 1, ...)").
pub fn subscribed_filters(fields: &[workbench_wire::Field]) -> Vec<(String, u8)> {
    fields
        .iter()
        .filter(|(name, _)| *name == "Filter")
        .filter_map(|(_, value)| {
            let (filter, options) = value.rsplit_once(" (QoS ")?;
            Some((
                filter.to_string(),
                options.chars().next()?.to_digit(10)? as u8,
            ))
        })
        .collect()
}

/// The protocol version of a connection, from its CONNECT's fields.
pub fn connect_version(event: &PacketEvent) -> Option<ProtocolVersion> {
    match field(event, "Protocol Level")? {
        "5" => Some(ProtocolVersion::V5),
        _ => Some(ProtocolVersion::V311),
    }
}

/// Encodes `event` again. `payload` is the PUBLISH's payload when the caller knows it better
/// than the event does.
pub fn synthesize(
    event: &PacketEvent,
    version: ProtocolVersion,
    payload: Option<&[u8]>,
) -> Synthesized {
    let level = match version {
        ProtocolVersion::V5 => Level::V5,
        ProtocolVersion::V311 => Level::V3_1_1,
    };
    let s = &event.summary;
    let id = s.packet_id.unwrap_or(1);
    let reason = s.reason.unwrap_or(0);
    let mut out = Vec::with_capacity(s.size.min(1 << 20) + 16);
    let mut note = None;
    match s.kind {
        PacketKind::Connect => {
            let client_id = field(event, "Client Identifier").unwrap_or(&event.client_id);
            let keep_alive = field(event, "Keep Alive")
                .and_then(|k| k.trim_end_matches(" s").parse().ok())
                .unwrap_or(60);
            let mut connect = Connect::new(level, client_id, keep_alive);
            connect.clean_start = field(event, "Clean Start").is_none_or(|v| v == "yes");
            connect.username = field(event, "User Name").map(str::to_owned);
            if let Some(topic) = field(event, "Will Topic") {
                let length = field(event, "Will Payload")
                    .and_then(|p| p.trim_end_matches(" bytes").parse::<usize>().ok())
                    .unwrap_or(0);
                connect.will = Some(Will {
                    topic: topic.to_owned(),
                    payload: vec![0; length.min(65_535)],
                    qos: qos(field(event, "Will QoS")
                        .and_then(|q| q.parse().ok())
                        .unwrap_or(0)),
                    retain: yes(event, "Will Retain"),
                    properties: Properties::default(),
                });
            }
            if field(event, "Password") == Some("(set)") {
                note = Some("password left out".to_string());
            }
            connect.encode(&mut out);
        }
        PacketKind::ConnAck => {
            ConnAck::new(yes(event, "Session Present"), reason).encode(level, &mut out)
        }
        PacketKind::Publish => {
            let zeros;
            let payload = match (payload, &s.payload) {
                (Some(p), _) => p,
                (None, Some(p)) => p.as_ref(),
                (None, None) => {
                    note =
                        Some("payload not kept by the packet log: zeros of its length".to_string());
                    zeros = vec![0; s.payload_len.min(16 << 20)];
                    &zeros
                }
            };
            PublishOut {
                dup: s.dup,
                qos: qos(s.qos),
                retain: s.retain,
                topic: s.topic.as_deref().unwrap_or(""),
                packet_id: s.packet_id,
                payload,
                ..PublishOut::default()
            }
            .encode(level, &mut out);
        }
        PacketKind::PubAck | PacketKind::PubRec | PacketKind::PubRel | PacketKind::PubComp => {
            let kind = match s.kind {
                PacketKind::PubAck => AckKind::PubAck,
                PacketKind::PubRec => AckKind::PubRec,
                PacketKind::PubRel => AckKind::PubRel,
                _ => AckKind::PubComp,
            };
            Ack::new(kind, id, reason).encode(level, &mut out);
        }
        PacketKind::Subscribe => {
            let mut filters: Vec<SubscribeFilter> = subscribed_filters(&event.summary.fields)
                .into_iter()
                .map(|(filter, bits)| SubscribeFilter::new(&filter, qos(bits)))
                .collect();
            if filters.is_empty() {
                filters.push(SubscribeFilter::new(
                    s.topic.as_deref().unwrap_or("#"),
                    qos(s.qos),
                ));
            }
            Subscribe {
                packet_id: id,
                properties: Properties::default(),
                filters,
            }
            .encode(level, &mut out);
        }
        PacketKind::Unsubscribe => {
            let mut filters: Vec<String> = event
                .summary
                .fields
                .iter()
                .filter(|(n, _)| *n == "Filter")
                .map(|(_, v)| v.clone())
                .collect();
            if filters.is_empty() {
                filters.push(s.topic.clone().unwrap_or_else(|| "#".into()));
            }
            Unsubscribe {
                packet_id: id,
                properties: Properties::default(),
                filters,
            }
            .encode(level, &mut out);
        }
        PacketKind::SubAck | PacketKind::UnsubAck => {
            let mut list = field(event, "Reason Codes").map(codes).unwrap_or_default();
            if list.is_empty() {
                list.push(reason);
            }
            if s.kind == PacketKind::SubAck {
                SubAck {
                    packet_id: id,
                    properties: Properties::default(),
                    codes: list,
                }
                .encode(level, &mut out);
            } else {
                UnsubAck {
                    packet_id: id,
                    properties: Properties::default(),
                    codes: list,
                }
                .encode(level, &mut out);
            }
        }
        PacketKind::PingReq => out.extend_from_slice(&[0xC0, 0]),
        PacketKind::PingResp => out.extend_from_slice(&[0xD0, 0]),
        PacketKind::Disconnect => Disconnect::new(reason).encode(level, &mut out),
        PacketKind::Auth => Auth {
            reason,
            properties: Properties::default(),
        }
        .encode(&mut out),
    }
    // A fault the workbench injected on this packet (dropped, delayed, duplicated...).
    if let Some(fault) = field(event, "fault") {
        let text = format!("fault injected by MQTT Workbench: {fault}");
        note = Some(match note {
            Some(other) => format!("{text}; {other}"),
            None => text,
        });
    }
    Synthesized { bytes: out, note }
}
