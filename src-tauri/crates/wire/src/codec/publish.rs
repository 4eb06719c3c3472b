//! PUBLISH (§3.3), the packet that carries messages, decoded without copying: the broker reads
//! the topic and a few properties, and forwards the rest as bytes.

use super::properties::{id, skip_value};
use super::read::{utf8, Reader};
use super::write::{encode_varint, put_u16, put_u32, varint_len};
use super::{put_fixed_header, DecodeError, Level, QoS};

/// A PUBLISH, borrowed from the bytes it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishView<'a> {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// Empty when an MQTT 5 sender used a topic alias alone.
    pub topic: &'a str,
    pub packet_id: Option<u16>,
    /// MQTT 5 property bytes without their length prefix; empty for 3.1.1. Checked by
    /// [`PublishView::meta`], not at decoding.
    pub properties: &'a [u8],
    pub payload: &'a [u8],
}

/// The properties of a PUBLISH that a broker acts on, read from its raw property bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishMeta {
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub topic_alias: Option<u16>,
    /// Subscription identifiers are present (a client must not send them).
    pub has_subscription_identifiers: bool,
    /// The property bytes hold something besides the three properties above, so forwarding
    /// must copy them.
    pub has_other_properties: bool,
}

impl<'a> PublishView<'a> {
    /// Decodes the body of a PUBLISH whose fixed header flags were `flags`.
    pub fn decode(flags: u8, body: &'a [u8], level: Level) -> Result<PublishView<'a>, DecodeError> {
        let qos = QoS::from_bits((flags >> 1) & 0b11)
            .ok_or(DecodeError::Malformed("a PUBLISH with QoS 3"))?;
        let dup = flags & 0b1000 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::Malformed("a QoS 0 PUBLISH with the DUP flag"));
        }
        let mut r = Reader::new(body);
        let topic = utf8(r.binary()?)?;
        let packet_id = if qos == QoS::AtMostOnce {
            None
        } else {
            let id = r.u16()?;
            if id == 0 {
                return Err(DecodeError::Protocol("packet identifier 0"));
            }
            Some(id)
        };
        let properties = if level.is_v5() {
            let len = r.varint()? as usize;
            r.take(len)?
        } else {
            &[]
        };
        Ok(PublishView {
            dup,
            qos,
            retain: flags & 1 != 0,
            topic,
            packet_id,
            properties,
            payload: r.rest(),
        })
    }

    /// Checks the property bytes (only PUBLISH properties, each single one at most once, values
    /// in range) and reads the ones a broker acts on.
    pub fn meta(&self) -> Result<PublishMeta, DecodeError> {
        let mut meta = PublishMeta::default();
        if self.properties.is_empty() {
            return Ok(meta);
        }
        let mut r = Reader::new(self.properties);
        let mut seen = 0u64;
        while !r.is_empty() {
            let property = u8::try_from(r.varint()?)
                .map_err(|_| DecodeError::Malformed("unknown property identifier"))?;
            if property != id::USER_PROPERTY && property != id::SUBSCRIPTION_IDENTIFIER {
                let bit = 1u64 << (property & 63);
                if seen & bit != 0 {
                    return Err(DecodeError::Protocol(
                        "a property that may appear once appears twice",
                    ));
                }
                seen |= bit;
            }
            match property {
                id::PAYLOAD_FORMAT_INDICATOR => {
                    let value = r.u8()?;
                    if value > 1 {
                        return Err(DecodeError::Protocol("a payload format indicator above 1"));
                    }
                    meta.payload_format_indicator = Some(value);
                    meta.has_other_properties = true;
                }
                id::MESSAGE_EXPIRY_INTERVAL => meta.message_expiry_interval = Some(r.u32()?),
                id::TOPIC_ALIAS => meta.topic_alias = Some(r.u16()?),
                id::SUBSCRIPTION_IDENTIFIER => {
                    if r.varint()? == 0 {
                        return Err(DecodeError::Protocol("a subscription identifier of 0"));
                    }
                    meta.has_subscription_identifiers = true;
                }
                id::RESPONSE_TOPIC => {
                    let topic = utf8(r.binary()?)?;
                    if topic.is_empty() || topic.contains(['+', '#']) {
                        return Err(DecodeError::Protocol(
                            "the response topic is not a valid topic name",
                        ));
                    }
                    meta.has_other_properties = true;
                }
                id::CONTENT_TYPE | id::CORRELATION_DATA | id::USER_PROPERTY => {
                    skip_value(&mut r, property)?;
                    meta.has_other_properties = true;
                }
                other => {
                    // A known property that PUBLISH does not allow, or an unknown one.
                    return Err(if super::properties::is_known(other) {
                        DecodeError::Protocol("a property that PUBLISH does not allow")
                    } else {
                        DecodeError::Malformed("unknown property identifier")
                    });
                }
            }
        }
        Ok(meta)
    }

    /// Appends the properties a broker forwards unchanged: all but topic alias, message expiry
    /// (re-sent with the time left) and subscription identifiers (the receiver's own). The
    /// properties must have passed [`PublishView::meta`].
    pub fn forwarded_properties(&self, meta: &PublishMeta, out: &mut Vec<u8>) {
        if !meta.has_other_properties {
            return;
        }
        let stripped = meta.topic_alias.is_some()
            || meta.message_expiry_interval.is_some()
            || meta.has_subscription_identifiers;
        if !stripped {
            out.extend_from_slice(self.properties);
            return;
        }
        let mut r = Reader::new(self.properties);
        while !r.is_empty() {
            let before = r.clone();
            let Ok(property) = r.varint() else { return };
            let property = property as u8;
            if skip_value(&mut r, property).is_err() {
                return;
            }
            if !matches!(
                property,
                id::TOPIC_ALIAS | id::MESSAGE_EXPIRY_INTERVAL | id::SUBSCRIPTION_IDENTIFIER
            ) {
                let used = before.remaining() - r.remaining();
                let mut whole = before;
                if let Ok(bytes) = whole.take(used) {
                    out.extend_from_slice(bytes);
                }
            }
        }
    }
}

/// A PUBLISH to encode: the message's parts plus what each receiver gets of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublishOut<'a> {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// Empty when `topic_alias` names a topic the receiver already knows.
    pub topic: &'a str,
    pub packet_id: Option<u16>,
    pub payload: &'a [u8],
    /// MQTT 5 only: seconds left before the message expires.
    pub message_expiry_interval: Option<u32>,
    pub topic_alias: Option<u16>,
    pub subscription_identifiers: &'a [u32],
    /// Further MQTT 5 property bytes (no length prefix), copied as they are.
    pub properties: &'a [u8],
}

impl PublishOut<'_> {
    fn properties_len(&self) -> usize {
        let mut len = self.properties.len();
        if self.message_expiry_interval.is_some() {
            len += 5;
        }
        if self.topic_alias.is_some() {
            len += 3;
        }
        for id in self.subscription_identifiers {
            len += 1 + varint_len(*id as usize);
        }
        len
    }

    fn remaining_len(&self, level: Level) -> usize {
        let mut len = 2 + self.topic.len() + self.payload.len();
        if self.qos != QoS::AtMostOnce {
            len += 2;
        }
        if level.is_v5() {
            let properties = self.properties_len();
            len += varint_len(properties) + properties;
        }
        len
    }

    /// The whole packet's length at `level`.
    pub fn encoded_len(&self, level: Level) -> usize {
        let remaining = self.remaining_len(level);
        1 + varint_len(remaining) + remaining
    }

    /// Appends the whole packet.
    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        let remaining = self.remaining_len(level);
        out.reserve(remaining + 5);
        let mut first = 0x30 | (self.qos.bits() << 1);
        if self.dup {
            first |= 0b1000;
        }
        if self.retain {
            first |= 1;
        }
        put_fixed_header(out, first, remaining);
        put_u16(out, self.topic.len() as u16);
        out.extend_from_slice(self.topic.as_bytes());
        if self.qos != QoS::AtMostOnce {
            put_u16(out, self.packet_id.unwrap_or(1));
        }
        if level.is_v5() {
            encode_varint(self.properties_len(), out);
            if let Some(expiry) = self.message_expiry_interval {
                out.push(id::MESSAGE_EXPIRY_INTERVAL);
                put_u32(out, expiry);
            }
            if let Some(alias) = self.topic_alias {
                out.push(id::TOPIC_ALIAS);
                put_u16(out, alias);
            }
            for sub in self.subscription_identifiers {
                out.push(id::SUBSCRIPTION_IDENTIFIER);
                encode_varint(*sub as usize, out);
            }
            out.extend_from_slice(self.properties);
        }
        out.extend_from_slice(self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet, Properties};
    use super::*;

    fn body_of(properties: &Properties) -> Vec<u8> {
        let mut block = Vec::new();
        properties.encode(&mut block);
        let prefix = varint_len(properties.body_len());
        block.split_off(prefix)
    }

    #[test]
    fn publishes_round_trip_and_keep_their_properties() {
        let user = Properties {
            user_properties: vec![("a".into(), "2".into())],
            content_type: Some("text/plain".into()),
            ..Properties::default()
        };
        let raw = body_of(&user);
        let out = PublishOut {
            qos: QoS::ExactlyOnce,
            dup: true,
            retain: true,
            topic: "a/b",
            packet_id: Some(9),
            payload: b"hello",
            message_expiry_interval: Some(5),
            topic_alias: Some(2),
            subscription_identifiers: &[3, 456_789],
            properties: &raw,
        };
        let mut bytes = Vec::new();
        out.encode(Level::V5, &mut bytes);
        assert_eq!(bytes.len(), out.encoded_len(Level::V5));
        let Ok(Packet::Publish(view)) = decode(&bytes, Level::V5) else {
            panic!("not a publish");
        };
        assert_eq!(
            (
                view.topic,
                view.packet_id,
                view.payload,
                view.dup,
                view.retain,
                view.qos
            ),
            ("a/b", Some(9), &b"hello"[..], true, true, QoS::ExactlyOnce)
        );
        let meta = view.meta().expect("valid properties");
        assert_eq!(meta.message_expiry_interval, Some(5));
        assert_eq!(meta.topic_alias, Some(2));
        assert!(meta.has_subscription_identifiers && meta.has_other_properties);
        let mut forwarded = Vec::new();
        view.forwarded_properties(&meta, &mut forwarded);
        assert_eq!(
            forwarded, raw,
            "only the receiver-specific properties are dropped"
        );

        // The same message for a 3.1.1 receiver has no properties at all.
        let mut bytes = Vec::new();
        out.encode(Level::V3_1_1, &mut bytes);
        let Ok(Packet::Publish(view)) = decode(&bytes, Level::V3_1_1) else {
            panic!("not a publish");
        };
        assert!(view.properties.is_empty());
        assert_eq!(view.payload, b"hello");
    }

    #[test]
    fn invalid_publishes_are_refused() {
        // QoS 3, DUP on QoS 0, packet id 0, a topic that is not UTF-8.
        assert!(decode(&[0x36, 0x05, 0, 1, b'a', 0, 1], Level::V3_1_1).is_err());
        assert!(decode(&[0x38, 0x03, 0, 1, b'a'], Level::V3_1_1).is_err());
        assert!(decode(&[0x32, 0x05, 0, 1, b'a', 0, 0], Level::V3_1_1).is_err());
        assert!(decode(&[0x30, 0x03, 0, 1, 0xFF], Level::V3_1_1).is_err());
        // A CONNECT-only property in a PUBLISH, and a topic alias twice.
        for props in [&[0x11u8, 0, 0, 0, 1][..], &[0x23, 0, 1, 0x23, 0, 2][..]] {
            let mut bytes = vec![0x30, (3 + 1 + props.len()) as u8, 0, 1, b'a'];
            bytes.push(props.len() as u8);
            bytes.extend_from_slice(props);
            let Ok(Packet::Publish(view)) = decode(&bytes, Level::V5) else {
                panic!("decodes");
            };
            assert!(view.meta().is_err(), "{props:?}");
        }
    }
}
