//! DISCONNECT (§3.14): empty in 3.1.1; in MQTT 5 a reason code and properties, both optional.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::{put_fixed_header, DecodeError, Level};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// 0 (Normal disconnection) when the packet carried none.
    pub reason: u8,
    pub properties: Properties,
}

impl Disconnect {
    pub fn new(reason: u8) -> Disconnect {
        Disconnect {
            reason,
            properties: Properties::default(),
        }
    }

    pub fn decode(body: &[u8], level: Level) -> Result<Disconnect, DecodeError> {
        let mut r = Reader::new(body);
        let mut disconnect = Disconnect::default();
        if level.is_v5() {
            if !r.is_empty() {
                disconnect.reason = r.u8()?;
            }
            if !r.is_empty() {
                disconnect.properties = Properties::decode(&mut r, Context::Disconnect)?;
            }
        }
        if !r.is_empty() {
            return Err(DecodeError::Malformed(
                "bytes after the end of the DISCONNECT",
            ));
        }
        Ok(disconnect)
    }

    /// Appends the packet; a 3.1.1 DISCONNECT has no body whatever the reason.
    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        if !level.is_v5() || (self.reason == 0 && self.properties.is_empty()) {
            put_fixed_header(out, 0xE0, 0);
        } else if self.properties.is_empty() {
            put_fixed_header(out, 0xE0, 1);
            out.push(self.reason);
        } else {
            put_fixed_header(out, 0xE0, 1 + self.properties.encoded_len());
            out.push(self.reason);
            self.properties.encode(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    #[test]
    fn disconnects_round_trip() {
        let mut d = Disconnect::new(0x8E);
        let mut bytes = Vec::new();
        d.encode(Level::V5, &mut bytes);
        assert_eq!(bytes, [0xE0, 0x01, 0x8E]);
        d.properties.session_expiry_interval = Some(5);
        let mut bytes = Vec::new();
        d.encode(Level::V5, &mut bytes);
        assert_eq!(decode(&bytes, Level::V5), Ok(Packet::Disconnect(d.clone())));
        let mut bytes = Vec::new();
        d.encode(Level::V3_1_1, &mut bytes);
        assert_eq!(bytes, [0xE0, 0x00]);
        assert!(decode(&[0xE0, 0x01, 0x00], Level::V3_1_1).is_err());
    }
}
