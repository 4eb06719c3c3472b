//! MQTT 3.1, 3.1.1 and 5 control packets: decoded from bytes with every check the
//! specification asks of a receiver, and encoded back. One file per packet type; the shared
//! pieces (reading, writing, properties, reason codes) beside them.
//!
//! Decoding never panics and never trusts a length: every field is read through [`Reader`], which
//! fails on short input. A PUBLISH decodes to a borrowed [`PublishView`] (the broker's hot path
//! copies nothing it does not keep); the rarer packets decode to owned structs.
//!
//! This module knows the wire format only. What a broker or a client does with a packet (who may
//! connect, where a message goes) is decided above it.

pub mod ack;
pub mod auth;
pub mod connack;
pub mod connect;
pub mod disconnect;
pub mod properties;
pub mod publish;
mod read;
pub mod reason;
pub mod suback;
pub mod subscribe;
pub mod unsuback;
pub mod unsubscribe;
mod write;

pub use ack::{Ack, AckKind};
pub use auth::Auth;
pub use connack::ConnAck;
pub use connect::{Connect, Will};
pub use disconnect::Disconnect;
pub use properties::Properties;
pub use publish::{PublishMeta, PublishOut, PublishView};
pub use read::Reader;
pub use suback::SubAck;
pub use subscribe::{RetainHandling, Subscribe, SubscribeFilter};
pub use unsuback::UnsubAck;
pub use unsubscribe::Unsubscribe;
pub use write::{encode_varint, put_binary, put_string, put_u16, put_u32, varint_len};

/// The protocol level of a connection: what the CONNECT asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// MQTT 3.1 (protocol name "MQIsdp", level 3): served as 3.1.1.
    V3_1,
    /// MQTT 3.1.1 (level 4).
    V3_1_1,
    /// MQTT 5 (level 5).
    V5,
}

impl Level {
    pub fn from_byte(level: u8) -> Option<Level> {
        match level {
            3 => Some(Level::V3_1),
            4 => Some(Level::V3_1_1),
            5 => Some(Level::V5),
            _ => None,
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Level::V3_1 => 3,
            Level::V3_1_1 => 4,
            Level::V5 => 5,
        }
    }

    pub fn is_v5(self) -> bool {
        self == Level::V5
    }
}

/// Quality of service of a message or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum QoS {
    #[default]
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    pub fn from_bits(bits: u8) -> Option<QoS> {
        match bits {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// Why bytes are not a valid packet. Each kind maps to the MQTT 5 reason code a server sends in
/// its DISCONNECT (or CONNACK) when it refuses them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes break the packet's grammar (0x81 Malformed Packet).
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// The packet is well formed but breaks a protocol rule (0x82 Protocol Error).
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// A CONNECT for a protocol level this codec does not speak.
    #[error("unsupported protocol level {0}")]
    UnsupportedLevel(u8),
    /// A CONNECT naming a protocol other than MQTT.
    #[error("the CONNECT names the protocol {0:?}, not MQTT")]
    UnknownProtocol(String),
    /// A packet longer than the receiver accepts (0x95 Packet Too Large).
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    TooLarge { size: usize, max: usize },
}

impl DecodeError {
    /// The MQTT 5 reason code for this error.
    pub fn reason_code(&self) -> u8 {
        match self {
            DecodeError::Malformed(_) => reason::MALFORMED_PACKET,
            DecodeError::Protocol(_) => reason::PROTOCOL_ERROR,
            DecodeError::UnsupportedLevel(_) | DecodeError::UnknownProtocol(_) => {
                reason::UNSUPPORTED_PROTOCOL_VERSION
            }
            DecodeError::TooLarge { .. } => reason::PACKET_TOO_LARGE,
        }
    }
}

/// Control packet types (the high nibble of the first byte).
pub mod packet_type {
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const PUBACK: u8 = 4;
    pub const PUBREC: u8 = 5;
    pub const PUBREL: u8 = 6;
    pub const PUBCOMP: u8 = 7;
    pub const SUBSCRIBE: u8 = 8;
    pub const SUBACK: u8 = 9;
    pub const UNSUBSCRIBE: u8 = 10;
    pub const UNSUBACK: u8 = 11;
    pub const PINGREQ: u8 = 12;
    pub const PINGRESP: u8 = 13;
    pub const DISCONNECT: u8 = 14;
    pub const AUTH: u8 = 15;
}

/// Where a packet starts and ends in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    pub packet_type: u8,
    /// The low nibble of the first byte.
    pub flags: u8,
    /// Length of the fixed header (1 byte plus 1 to 4 bytes of remaining length).
    pub header_len: usize,
    pub remaining_len: usize,
}

impl FixedHeader {
    /// The whole packet's length.
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining_len
    }
}

/// Reads the fixed header at the start of `buf`. `Ok(None)`: more bytes are needed. A packet
/// announced as larger than `max` is refused as soon as its length is known, before its body
/// arrives, so a peer cannot make the reader buffer it.
pub fn fixed_header(buf: &[u8], max: usize) -> Result<Option<FixedHeader>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut remaining_len = 0usize;
    let mut header_len = 1;
    for shift in [0u32, 7, 14, 21] {
        let Some(&byte) = buf.get(header_len) else {
            return Ok(None);
        };
        header_len += 1;
        remaining_len += usize::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            let packet_type = first >> 4;
            if packet_type == 0 {
                return Err(DecodeError::Malformed("packet type 0 is reserved"));
            }
            let size = header_len + remaining_len;
            if size > max {
                return Err(DecodeError::TooLarge { size, max });
            }
            return Ok(Some(FixedHeader {
                packet_type,
                flags: first & 0x0F,
                header_len,
                remaining_len,
            }));
        }
    }
    Err(DecodeError::Malformed(
        "the remaining length is longer than 4 bytes",
    ))
}

/// One decoded packet. PUBLISH borrows from the bytes it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet<'a> {
    Connect(Box<Connect>),
    ConnAck(ConnAck),
    Publish(PublishView<'a>),
    Ack(Ack),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    Auth(Auth),
}

/// Decodes one whole packet (`bytes` is exactly the packet, as framed by [`fixed_header`]) sent
/// at protocol `level`. A CONNECT decodes at the level it names itself.
pub fn decode(bytes: &[u8], level: Level) -> Result<Packet<'_>, DecodeError> {
    let header = fixed_header(bytes, usize::MAX)?.ok_or(DecodeError::Malformed(
        "the packet is shorter than its fixed header",
    ))?;
    if bytes.len() != header.packet_len() {
        return Err(DecodeError::Malformed(
            "the packet's length differs from its remaining length",
        ));
    }
    let body = &bytes[header.header_len..];
    let flags = header.flags;
    use packet_type::*;
    let expect_flags = |expected: u8| {
        if flags == expected {
            Ok(())
        } else {
            Err(DecodeError::Malformed(
                "reserved flags in the fixed header are not as the specification requires",
            ))
        }
    };
    Ok(match header.packet_type {
        CONNECT => {
            expect_flags(0)?;
            Packet::Connect(Box::new(Connect::decode(body)?))
        }
        CONNACK => {
            expect_flags(0)?;
            Packet::ConnAck(ConnAck::decode(body, level)?)
        }
        PUBLISH => Packet::Publish(PublishView::decode(flags, body, level)?),
        PUBACK | PUBREC | PUBCOMP => {
            expect_flags(0)?;
            Packet::Ack(Ack::decode(
                AckKind::from_type(header.packet_type),
                body,
                level,
            )?)
        }
        PUBREL => {
            expect_flags(0b0010)?;
            Packet::Ack(Ack::decode(AckKind::PubRel, body, level)?)
        }
        SUBSCRIBE => {
            expect_flags(0b0010)?;
            Packet::Subscribe(Subscribe::decode(body, level)?)
        }
        SUBACK => {
            expect_flags(0)?;
            Packet::SubAck(SubAck::decode(body, level)?)
        }
        UNSUBSCRIBE => {
            expect_flags(0b0010)?;
            Packet::Unsubscribe(Unsubscribe::decode(body, level)?)
        }
        UNSUBACK => {
            expect_flags(0)?;
            Packet::UnsubAck(UnsubAck::decode(body, level)?)
        }
        PINGREQ | PINGRESP => {
            expect_flags(0)?;
            if !body.is_empty() {
                return Err(DecodeError::Malformed("PINGREQ and PINGRESP have no body"));
            }
            if header.packet_type == PINGREQ {
                Packet::PingReq
            } else {
                Packet::PingResp
            }
        }
        DISCONNECT => {
            expect_flags(0)?;
            Packet::Disconnect(Disconnect::decode(body, level)?)
        }
        AUTH => {
            expect_flags(0)?;
            if !level.is_v5() {
                return Err(DecodeError::Malformed("AUTH exists only in MQTT 5"));
            }
            Packet::Auth(Auth::decode(body)?)
        }
        _ => return Err(DecodeError::Malformed("packet type 0 is reserved")),
    })
}

/// A PINGREQ, whole.
pub const PINGREQ: [u8; 2] = [0xC0, 0x00];
/// A PINGRESP, whole.
pub const PINGRESP: [u8; 2] = [0xD0, 0x00];

/// Appends a fixed header (first byte and remaining length) to `out`.
pub(crate) fn put_fixed_header(out: &mut Vec<u8>, first: u8, remaining: usize) {
    out.push(first);
    encode_varint(remaining, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_wait_for_their_length_and_refuse_oversized_packets_early() {
        assert_eq!(fixed_header(&[], 100), Ok(None));
        assert_eq!(fixed_header(&[0x30], 100), Ok(None));
        assert_eq!(fixed_header(&[0x30, 0x80], 100), Ok(None));
        let header = fixed_header(&[0x30, 0x05], 100).unwrap().unwrap();
        assert_eq!(header.packet_len(), 7);
        // 200 MB announced, only the header sent.
        let mut big = vec![0x30];
        encode_varint(200 << 20, &mut big);
        assert!(matches!(
            fixed_header(&big, 1 << 20),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            fixed_header(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], usize::MAX),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            fixed_header(&[0x00, 0x00], 10),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn reserved_flags_are_checked() {
        // SUBSCRIBE must carry flags 0b0010.
        let bad = [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00];
        assert!(matches!(
            decode(&bad, Level::V3_1_1),
            Err(DecodeError::Malformed(_))
        ));
        let good = [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00];
        assert!(matches!(
            decode(&good, Level::V3_1_1),
            Ok(Packet::Subscribe(_))
        ));
        assert_eq!(decode(&PINGREQ, Level::V5), Ok(Packet::PingReq));
        assert!(decode(&[0xC1, 0x00], Level::V5).is_err());
        assert!(
            decode(&[0xF0, 0x00], Level::V3_1_1).is_err(),
            "no AUTH in 3.1.1"
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..50_000 {
            let len = (next() % 48) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(first) = bytes.first_mut() {
                // Mostly valid packet types, so the decoders themselves are exercised.
                *first = (*first & 0x0F) | (((next() % 15) as u8 + 1) << 4);
            }
            if bytes.len() > 1 {
                bytes[1] = (bytes.len() - 2).min(127) as u8;
                bytes.truncate(2 + usize::from(bytes[1]));
            }
            for level in [Level::V3_1_1, Level::V5] {
                let _ = decode(&bytes, level);
            }
        }
    }
}
