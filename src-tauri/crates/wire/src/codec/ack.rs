//! PUBACK, PUBREC, PUBREL and PUBCOMP (§3.4 to §3.7): four packets of one shape, a packet
//! identifier and, in MQTT 5, a reason code and properties that may be left out.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::{put_fixed_header, put_u16, DecodeError, Level};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckKind {
    PubAck,
    PubRec,
    PubRel,
    PubComp,
}

impl AckKind {
    /// The kind for packet type 4 to 7 (any other number reads as PUBACK).
    pub fn from_type(packet_type: u8) -> AckKind {
        match packet_type {
            5 => AckKind::PubRec,
            6 => AckKind::PubRel,
            7 => AckKind::PubComp,
            _ => AckKind::PubAck,
        }
    }

    /// The first byte of the packet (PUBREL carries flags 0b0010).
    pub fn first_byte(self) -> u8 {
        match self {
            AckKind::PubAck => 0x40,
            AckKind::PubRec => 0x50,
            AckKind::PubRel => 0x62,
            AckKind::PubComp => 0x70,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub kind: AckKind,
    pub packet_id: u16,
    /// 0 (Success) when the packet carried none.
    pub reason: u8,
    pub properties: Properties,
}

impl Ack {
    pub fn new(kind: AckKind, packet_id: u16, reason: u8) -> Ack {
        Ack {
            kind,
            packet_id,
            reason,
            properties: Properties::default(),
        }
    }

    pub fn decode(kind: AckKind, body: &[u8], level: Level) -> Result<Ack, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = r.u16()?;
        if packet_id == 0 {
            return Err(DecodeError::Protocol("packet identifier 0"));
        }
        let mut ack = Ack::new(kind, packet_id, 0);
        if level.is_v5() {
            if !r.is_empty() {
                ack.reason = r.u8()?;
            }
            if !r.is_empty() {
                ack.properties = Properties::decode(&mut r, Context::Ack)?;
            }
        }
        if !r.is_empty() {
            return Err(DecodeError::Malformed(
                "bytes after the end of an acknowledgement",
            ));
        }
        Ok(ack)
    }

    /// Appends the packet in its shortest form (reason and properties left out when they are
    /// Success and empty).
    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        let first = self.kind.first_byte();
        if !level.is_v5() || (self.reason == 0 && self.properties.is_empty()) {
            put_fixed_header(out, first, 2);
            put_u16(out, self.packet_id);
        } else if self.properties.is_empty() {
            put_fixed_header(out, first, 3);
            put_u16(out, self.packet_id);
            out.push(self.reason);
        } else {
            put_fixed_header(out, first, 3 + self.properties.encoded_len());
            put_u16(out, self.packet_id);
            out.push(self.reason);
            self.properties.encode(out);
        }
    }
}

/// The four bytes of an acknowledgement without reason code or properties.
pub fn short(kind: AckKind, packet_id: u16) -> [u8; 4] {
    let id = packet_id.to_be_bytes();
    [kind.first_byte(), 0x02, id[0], id[1]]
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    #[test]
    fn acks_round_trip_in_every_form() {
        for kind in [
            AckKind::PubAck,
            AckKind::PubRec,
            AckKind::PubRel,
            AckKind::PubComp,
        ] {
            let mut ack = Ack::new(kind, 7, 0);
            let mut bytes = Vec::new();
            ack.encode(Level::V5, &mut bytes);
            assert_eq!(bytes, short(kind, 7));
            assert_eq!(decode(&bytes, Level::V5), Ok(Packet::Ack(ack.clone())));
            ack.reason = 0x10;
            let mut bytes = Vec::new();
            ack.encode(Level::V5, &mut bytes);
            assert_eq!(bytes.len(), 5);
            assert_eq!(decode(&bytes, Level::V5), Ok(Packet::Ack(ack.clone())));
            ack.properties.reason_string = Some("no one listens".into());
            let mut bytes = Vec::new();
            ack.encode(Level::V5, &mut bytes);
            assert_eq!(decode(&bytes, Level::V5), Ok(Packet::Ack(ack)));
        }
        assert!(decode(&[0x40, 0x02, 0, 0], Level::V3_1_1).is_err(), "id 0");
        assert!(
            decode(&[0x40, 0x03, 0, 1, 0], Level::V3_1_1).is_err(),
            "3.1.1 is 2 bytes"
        );
        assert!(
            decode(&[0x60, 0x02, 0, 1], Level::V3_1_1).is_err(),
            "PUBREL flags"
        );
    }
}
