//! UNSUBACK (§3.11): in MQTT 5, one reason code per filter; in 3.1.1, only the packet id.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::write::put_u16;
use super::{put_fixed_header, DecodeError, Level};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    pub packet_id: u16,
    pub properties: Properties,
    /// MQTT 5 only: Success (0x00), No subscription existed (0x11), or a failure.
    pub codes: Vec<u8>,
}

impl UnsubAck {
    pub fn decode(body: &[u8], level: Level) -> Result<UnsubAck, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = r.u16()?;
        let (properties, codes) = if level.is_v5() {
            (
                Properties::decode(&mut r, Context::UnsubAck)?,
                r.rest().to_vec(),
            )
        } else {
            (Properties::default(), Vec::new())
        };
        if !r.is_empty() {
            return Err(DecodeError::Malformed(
                "bytes after the end of the UNSUBACK",
            ));
        }
        Ok(UnsubAck {
            packet_id,
            properties,
            codes,
        })
    }

    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        if level.is_v5() {
            put_fixed_header(
                out,
                0xB0,
                2 + self.properties.encoded_len() + self.codes.len(),
            );
            put_u16(out, self.packet_id);
            self.properties.encode(out);
            out.extend_from_slice(&self.codes);
        } else {
            put_fixed_header(out, 0xB0, 2);
            put_u16(out, self.packet_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    #[test]
    fn unsubacks_round_trip() {
        let ack = UnsubAck {
            packet_id: 6,
            properties: Properties::default(),
            codes: vec![0x00, 0x11],
        };
        let mut bytes = Vec::new();
        ack.encode(Level::V5, &mut bytes);
        assert_eq!(decode(&bytes, Level::V5), Ok(Packet::UnsubAck(ack)));
        assert_eq!(
            decode(&[0xB0, 0x02, 0, 6], Level::V3_1_1),
            Ok(Packet::UnsubAck(UnsubAck {
                packet_id: 6,
                properties: Properties::default(),
                codes: vec![]
            }))
        );
    }
}
