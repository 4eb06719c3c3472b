//! SUBACK (§3.9): one code per filter of the SUBSCRIBE, in order.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::write::put_u16;
use super::{put_fixed_header, DecodeError, Level};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub packet_id: u16,
    pub properties: Properties,
    /// Granted QoS (0 to 2) or a failure code (0x80 and up), one per filter.
    pub codes: Vec<u8>,
}

impl SubAck {
    pub fn decode(body: &[u8], level: Level) -> Result<SubAck, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = r.u16()?;
        let properties = if level.is_v5() {
            Properties::decode(&mut r, Context::SubAck)?
        } else {
            Properties::default()
        };
        let codes = r.rest().to_vec();
        if codes.is_empty() {
            return Err(DecodeError::Protocol("a SUBACK without codes"));
        }
        Ok(SubAck {
            packet_id,
            properties,
            codes,
        })
    }

    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        let properties = if level.is_v5() {
            self.properties.encoded_len()
        } else {
            0
        };
        put_fixed_header(out, 0x90, 2 + properties + self.codes.len());
        put_u16(out, self.packet_id);
        if level.is_v5() {
            self.properties.encode(out);
        }
        out.extend_from_slice(&self.codes);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    #[test]
    fn subacks_round_trip() {
        let ack = SubAck {
            packet_id: 4,
            properties: Properties::default(),
            codes: vec![0, 1, 2, 0x80],
        };
        for level in [Level::V3_1_1, Level::V5] {
            let mut bytes = Vec::new();
            ack.encode(level, &mut bytes);
            assert_eq!(decode(&bytes, level), Ok(Packet::SubAck(ack.clone())));
        }
    }
}
