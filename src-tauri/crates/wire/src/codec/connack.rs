//! CONNACK (§3.2): the server's answer to a CONNECT.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::{put_fixed_header, DecodeError, Level};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    pub session_present: bool,
    /// The MQTT 5 reason code, or the 3.1.1 return code.
    pub code: u8,
    pub properties: Properties,
}

impl ConnAck {
    pub fn new(session_present: bool, code: u8) -> ConnAck {
        ConnAck {
            session_present,
            code,
            properties: Properties::default(),
        }
    }

    pub fn decode(body: &[u8], level: Level) -> Result<ConnAck, DecodeError> {
        let mut r = Reader::new(body);
        let flags = r.u8()?;
        if flags & 0xFE != 0 {
            return Err(DecodeError::Malformed("reserved CONNACK flags are set"));
        }
        let code = r.u8()?;
        let properties = if level.is_v5() {
            Properties::decode(&mut r, Context::ConnAck)?
        } else {
            Properties::default()
        };
        if !r.is_empty() {
            return Err(DecodeError::Malformed("bytes after the end of the CONNACK"));
        }
        Ok(ConnAck {
            session_present: flags & 1 != 0,
            code,
            properties,
        })
    }

    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        let properties = if level.is_v5() {
            self.properties.encoded_len()
        } else {
            0
        };
        put_fixed_header(out, 0x20, 2 + properties);
        out.push(u8::from(self.session_present));
        out.push(self.code);
        if level.is_v5() {
            self.properties.encode(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    #[test]
    fn connacks_round_trip() {
        let mut ack = ConnAck::new(true, 0);
        let mut bytes = Vec::new();
        ack.encode(Level::V3_1_1, &mut bytes);
        assert_eq!(bytes, [0x20, 0x02, 0x01, 0x00]);
        ack.properties.server_keep_alive = Some(60);
        ack.properties.assigned_client_identifier = Some("auto-1".into());
        let mut bytes = Vec::new();
        ack.encode(Level::V5, &mut bytes);
        assert_eq!(decode(&bytes, Level::V5), Ok(Packet::ConnAck(ack)));
        assert!(decode(&[0x20, 0x02, 0x02, 0x00], Level::V3_1_1).is_err());
    }
}
