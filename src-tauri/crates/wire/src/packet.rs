//! What one packet on the wire was: the event every packet-level view is built from. The broker's
//! front door and the client sessions both produce these.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// MQTT control packet types (the high nibble of the first byte).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, specta::Type,
)]
pub enum PacketKind {
    Connect,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    PingReq,
    PingResp,
    Disconnect,
    Auth,
}

impl PacketKind {
    /// The kind for a packet type number (1 to 15), or `None` for the reserved 0.
    pub fn from_type(packet_type: u8) -> Option<PacketKind> {
        use PacketKind::*;
        Some(match packet_type {
            1 => Connect,
            2 => ConnAck,
            3 => Publish,
            4 => PubAck,
            5 => PubRec,
            6 => PubRel,
            7 => PubComp,
            8 => Subscribe,
            9 => SubAck,
            10 => Unsubscribe,
            11 => UnsubAck,
            12 => PingReq,
            13 => PingResp,
            14 => Disconnect,
            15 => Auth,
            _ => return None,
        })
    }

    /// The name as the specification writes it (CONNECT, PUBACK, ...).
    pub fn name(self) -> &'static str {
        use PacketKind::*;
        match self {
            Connect => "CONNECT",
            ConnAck => "CONNACK",
            Publish => "PUBLISH",
            PubAck => "PUBACK",
            PubRec => "PUBREC",
            PubRel => "PUBREL",
            PubComp => "PUBCOMP",
            Subscribe => "SUBSCRIBE",
            SubAck => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            UnsubAck => "UNSUBACK",
            PingReq => "PINGREQ",
            PingResp => "PINGRESP",
            Disconnect => "DISCONNECT",
            Auth => "AUTH",
        }
    }
}

/// MQTT protocol version of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, specta::Type)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

impl ProtocolVersion {
    pub fn label(self) -> &'static str {
        match self {
            ProtocolVersion::V311 => "3.1.1",
            ProtocolVersion::V5 => "5.0",
        }
    }
}

/// Which way a packet travelled, seen from the source that reports it (the broker or a session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, specta::Type)]
pub enum Direction {
    /// Into the source: from a client to the broker, or from a broker to a session.
    Inbound,
    /// Out of the source: from the broker to a client, or from a session to its broker.
    Outbound,
}

/// The decoded essentials of one packet: enough for the packet log and the topic tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketSummary {
    pub kind: PacketKind,
    /// The packet identifier, for packets that carry one.
    pub packet_id: Option<u16>,
    /// QoS of a PUBLISH (0, 1 or 2).
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    /// The topic of a PUBLISH; the (first) filter of a SUBSCRIBE or UNSUBSCRIBE.
    pub topic: Option<String>,
    /// Payload bytes of a PUBLISH.
    pub payload_len: usize,
    /// Whole packet size on the wire, fixed header included.
    pub size: usize,
    /// The reason or return code of an acknowledgement (CONNACK, PUBACK, SUBACK's first, ...).
    pub reason: Option<u8>,
    /// The payload of a PUBLISH coming into the source (a copy; the tree keeps it in history).
    pub payload: Option<bytes::Bytes>,
    /// Decoded fields beyond the summary (client id, options, MQTT 5 properties), where the
    /// reporter decoded them; empty on the broker's hot path.
    pub fields: Vec<Field>,
}

impl PacketSummary {
    /// A packet of `kind` and `size` bytes with nothing else known yet.
    pub fn new(kind: PacketKind, size: usize) -> PacketSummary {
        PacketSummary {
            kind,
            packet_id: None,
            qos: 0,
            retain: false,
            dup: false,
            topic: None,
            payload_len: 0,
            size,
            reason: None,
            payload: None,
            fields: Vec::new(),
        }
    }
}

/// One decoded field of a packet, for the packet log's detail view: a name and its value.
pub type Field = (&'static str, String);

/// One packet, as observed at a source.
#[derive(Debug, Clone)]
pub struct PacketEvent {
    /// The connection it belongs to (unique per broker run or session).
    pub connection: u64,
    pub client_id: Arc<str>,
    pub remote: Option<SocketAddr>,
    pub direction: Direction,
    pub summary: PacketSummary,
    pub time: SystemTime,
}
