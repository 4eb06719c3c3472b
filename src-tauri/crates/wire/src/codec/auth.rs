//! AUTH (§3.15, MQTT 5 only): extended authentication exchanges.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::{put_fixed_header, DecodeError};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    pub reason: u8,
    pub properties: Properties,
}

impl Auth {
    pub fn decode(body: &[u8]) -> Result<Auth, DecodeError> {
        let mut r = Reader::new(body);
        let mut auth = Auth::default();
        if !r.is_empty() {
            auth.reason = r.u8()?;
        }
        if !r.is_empty() {
            auth.properties = Properties::decode(&mut r, Context::Auth)?;
        }
        if !r.is_empty() {
            return Err(DecodeError::Malformed("bytes after the end of the AUTH"));
        }
        Ok(auth)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_fixed_header(out, 0xF0, 1 + self.properties.encoded_len());
        out.push(self.reason);
        self.properties.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Level, Packet};
    use super::*;

    #[test]
    fn auth_round_trips() {
        let mut auth = Auth {
            reason: 0x18,
            properties: Properties::default(),
        };
        auth.properties.authentication_method = Some("SCRAM-SHA-1".into());
        let mut bytes = Vec::new();
        auth.encode(&mut bytes);
        assert_eq!(decode(&bytes, Level::V5), Ok(Packet::Auth(auth)));
    }
}
