//! CONNECT (§3.1): the first packet of every connection.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::write::{put_binary, put_string, put_u16, varint_len};
use super::{put_fixed_header, DecodeError, Level, QoS};

/// A decoded CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub level: Level,
    /// Clean start (MQTT 5) or clean session (3.1.1).
    pub clean_start: bool,
    /// Seconds; 0 turns the keep-alive mechanism off.
    pub keep_alive: u16,
    /// May be empty: the server then assigns one (or refuses, per protocol rules).
    pub client_id: String,
    pub will: Option<Will>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    pub properties: Properties,
}

/// The message a server publishes for a client that goes away without a DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub properties: Properties,
}

impl Connect {
    /// A CONNECT with defaults (clean start, no will, no login) for `client_id`.
    pub fn new(level: Level, client_id: &str, keep_alive: u16) -> Connect {
        Connect {
            level,
            clean_start: true,
            keep_alive,
            client_id: client_id.to_string(),
            will: None,
            username: None,
            password: None,
            properties: Properties::default(),
        }
    }

    /// Decodes the body (after the fixed header) of a CONNECT.
    pub fn decode(body: &[u8]) -> Result<Connect, DecodeError> {
        let mut r = Reader::new(body);
        let name = r.string()?;
        let level_byte = r.u8()?;
        let level = match (name, level_byte) {
            ("MQTT", 4) => Level::V3_1_1,
            ("MQTT", 5) => Level::V5,
            ("MQIsdp", 3) => Level::V3_1,
            ("MQTT", other) | ("MQIsdp", other) => {
                return Err(DecodeError::UnsupportedLevel(other))
            }
            (other, _) => {
                return Err(DecodeError::UnknownProtocol(
                    other.chars().take(32).collect(),
                ))
            }
        };
        let flags = r.u8()?;
        if flags & 0b0000_0001 != 0 {
            return Err(DecodeError::Malformed("the reserved CONNECT flag is set"));
        }
        let clean_start = flags & 0b0000_0010 != 0;
        let will_flag = flags & 0b0000_0100 != 0;
        let will_qos = QoS::from_bits((flags >> 3) & 0b11)
            .ok_or(DecodeError::Malformed("the will QoS is 3"))?;
        let will_retain = flags & 0b0010_0000 != 0;
        let has_password = flags & 0b0100_0000 != 0;
        let has_username = flags & 0b1000_0000 != 0;
        if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
            return Err(DecodeError::Malformed(
                "will QoS or will retain set without a will",
            ));
        }
        if has_password && !has_username && !level.is_v5() {
            return Err(DecodeError::Malformed(
                "a password without a user name (allowed only in MQTT 5)",
            ));
        }
        let keep_alive = r.u16()?;
        let properties = if level.is_v5() {
            Properties::decode(&mut r, Context::Connect)?
        } else {
            Properties::default()
        };
        let client_id = r.string()?.to_owned();
        let will = if will_flag {
            let properties = if level.is_v5() {
                Properties::decode(&mut r, Context::Will)?
            } else {
                Properties::default()
            };
            let topic = r.string()?.to_owned();
            let payload = r.binary()?.to_vec();
            Some(Will {
                topic,
                payload,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = if has_username {
            Some(r.string()?.to_owned())
        } else {
            None
        };
        let password = if has_password {
            Some(r.binary()?.to_vec())
        } else {
            None
        };
        if !r.is_empty() {
            return Err(DecodeError::Malformed("bytes after the end of the CONNECT"));
        }
        Ok(Connect {
            level,
            clean_start,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    /// Appends the whole packet.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let v5 = self.level.is_v5();
        let name: &str = if self.level == Level::V3_1 {
            "MQIsdp"
        } else {
            "MQTT"
        };
        let mut flags = 0u8;
        if self.clean_start {
            flags |= 0b10;
        }
        if let Some(will) = &self.will {
            flags |= 0b100 | (will.qos.bits() << 3);
            if will.retain {
                flags |= 0b0010_0000;
            }
        }
        if self.password.is_some() {
            flags |= 0b0100_0000;
        }
        if self.username.is_some() {
            flags |= 0b1000_0000;
        }
        let mut remaining = 2 + name.len() + 1 + 1 + 2 + 2 + self.client_id.len();
        if v5 {
            remaining += self.properties.encoded_len();
        }
        if let Some(will) = &self.will {
            remaining += 4 + will.topic.len() + will.payload.len();
            if v5 {
                remaining += will.properties.encoded_len();
            }
        }
        if let Some(username) = &self.username {
            remaining += 2 + username.len();
        }
        if let Some(password) = &self.password {
            remaining += 2 + password.len();
        }
        out.reserve(remaining + 1 + varint_len(remaining));
        put_fixed_header(out, 0x10, remaining);
        put_string(out, name);
        out.push(self.level.byte());
        out.push(flags);
        put_u16(out, self.keep_alive);
        if v5 {
            self.properties.encode(out);
        }
        put_string(out, &self.client_id);
        if let Some(will) = &self.will {
            if v5 {
                will.properties.encode(out);
            }
            put_string(out, &will.topic);
            put_binary(out, &will.payload);
        }
        if let Some(username) = &self.username {
            put_string(out, username);
        }
        if let Some(password) = &self.password {
            put_binary(out, password);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    fn round_trip(connect: &Connect) {
        let mut bytes = Vec::new();
        connect.encode(&mut bytes);
        match decode(&bytes, Level::V3_1_1) {
            Ok(Packet::Connect(decoded)) => assert_eq!(*decoded, *connect),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connects_round_trip_at_every_level() {
        for level in [Level::V3_1, Level::V3_1_1, Level::V5] {
            let mut connect = Connect::new(level, "dev-1", 30);
            round_trip(&connect);
            connect.clean_start = false;
            connect.username = Some("alice".into());
            connect.password = Some(b"secret".to_vec());
            connect.will = Some(Will {
                topic: "dev/1/status".into(),
                payload: b"offline".to_vec(),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: Properties::default(),
            });
            if level.is_v5() {
                connect.properties.session_expiry_interval = Some(3600);
                if let Some(will) = &mut connect.will {
                    will.properties.will_delay_interval = Some(5);
                    will.properties
                        .user_properties
                        .push(("a".into(), "2".into()));
                }
            }
            round_trip(&connect);
        }
    }

    #[test]
    fn bad_connects_are_refused_with_the_right_kind() {
        let mut bytes = Vec::new();
        Connect::new(Level::V3_1_1, "x", 0).encode(&mut bytes);
        // Level 6.
        let mut level6 = bytes.clone();
        level6[8] = 6;
        assert_eq!(
            decode(&level6, Level::V3_1_1),
            Err(DecodeError::UnsupportedLevel(6))
        );
        // The reserved flag.
        let mut reserved = bytes.clone();
        reserved[9] |= 1;
        assert!(matches!(
            decode(&reserved, Level::V3_1_1),
            Err(DecodeError::Malformed(_))
        ));
        // Will QoS without a will.
        let mut will_qos = bytes.clone();
        will_qos[9] |= 0b1000;
        assert!(decode(&will_qos, Level::V3_1_1).is_err());
        // Another protocol.
        let mut other = bytes.clone();
        other[4] = b'X';
        assert!(matches!(
            decode(&other, Level::V3_1_1),
            Err(DecodeError::UnknownProtocol(_))
        ));
        // Trailing garbage.
        let mut trailing = bytes.clone();
        trailing.push(0);
        trailing[1] += 1;
        assert!(decode(&trailing, Level::V3_1_1).is_err());
        // A password without a user name is fine in 5 only.
        let mut connect = Connect::new(Level::V3_1_1, "x", 0);
        connect.password = Some(b"p".to_vec());
        let mut bytes = Vec::new();
        connect.encode(&mut bytes);
        assert!(decode(&bytes, Level::V3_1_1).is_err());
        connect.level = Level::V5;
        let mut bytes = Vec::new();
        connect.encode(&mut bytes);
        assert!(decode(&bytes, Level::V5).is_ok());
    }
}
