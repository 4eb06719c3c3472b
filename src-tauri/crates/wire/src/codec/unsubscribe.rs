//! UNSUBSCRIBE (§3.10): the filters to remove.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::write::{put_string, put_u16};
use super::{put_fixed_header, DecodeError, Level};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub packet_id: u16,
    pub properties: Properties,
    pub filters: Vec<String>,
}

impl Unsubscribe {
    pub fn decode(body: &[u8], level: Level) -> Result<Unsubscribe, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = r.u16()?;
        if packet_id == 0 {
            return Err(DecodeError::Protocol("packet identifier 0"));
        }
        let properties = if level.is_v5() {
            Properties::decode(&mut r, Context::Unsubscribe)?
        } else {
            Properties::default()
        };
        let mut filters = Vec::new();
        while !r.is_empty() {
            filters.push(r.string()?.to_owned());
        }
        if filters.is_empty() {
            return Err(DecodeError::Protocol(
                "an UNSUBSCRIBE without topic filters",
            ));
        }
        Ok(Unsubscribe {
            packet_id,
            properties,
            filters,
        })
    }

    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        let mut remaining = 2;
        if level.is_v5() {
            remaining += self.properties.encoded_len();
        }
        for f in &self.filters {
            remaining += 2 + f.len();
        }
        put_fixed_header(out, 0xA2, remaining);
        put_u16(out, self.packet_id);
        if level.is_v5() {
            self.properties.encode(out);
        }
        for f in &self.filters {
            put_string(out, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    #[test]
    fn unsubscribes_round_trip() {
        let unsub = Unsubscribe {
            packet_id: 5,
            properties: Properties::default(),
            filters: vec!["a/#".into(), "b".into()],
        };
        for level in [Level::V3_1_1, Level::V5] {
            let mut bytes = Vec::new();
            unsub.encode(level, &mut bytes);
            assert_eq!(
                decode(&bytes, level),
                Ok(Packet::Unsubscribe(unsub.clone()))
            );
        }
        assert!(decode(&[0xA2, 0x02, 0, 1], Level::V3_1_1).is_err());
    }
}
