//! MQTT 5 properties (§2.2.2): decoded into [`Properties`] with the checks the specification
//! asks for (each property only where its packet allows it, at most once unless it may repeat,
//! values in range), and encoded back in a stable order.

use super::read::{utf8, Reader};
use super::write::{encode_varint, put_binary, put_string, put_u16, put_u32, varint_len};
use super::DecodeError;

/// Property identifiers.
pub mod id {
    pub const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
    pub const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
    pub const CONTENT_TYPE: u8 = 0x03;
    pub const RESPONSE_TOPIC: u8 = 0x08;
    pub const CORRELATION_DATA: u8 = 0x09;
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    pub const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
    pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub const AUTHENTICATION_METHOD: u8 = 0x15;
    pub const AUTHENTICATION_DATA: u8 = 0x16;
    pub const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
    pub const WILL_DELAY_INTERVAL: u8 = 0x18;
    pub const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
    pub const RESPONSE_INFORMATION: u8 = 0x1A;
    pub const SERVER_REFERENCE: u8 = 0x1C;
    pub const REASON_STRING: u8 = 0x1F;
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    pub const TOPIC_ALIAS: u8 = 0x23;
    pub const MAXIMUM_QOS: u8 = 0x24;
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    pub const USER_PROPERTY: u8 = 0x26;
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
    pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;
}

/// The packet (or will) a property block belongs to: it decides which properties are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Connect,
    ConnAck,
    Publish,
    Will,
    /// PUBACK, PUBREC, PUBREL, PUBCOMP.
    Ack,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

/// True when property `id` may appear in `context` (§2.2.2.2's table).
fn allowed(context: Context, property: u8) -> bool {
    use id::*;
    use Context::*;
    match property {
        PAYLOAD_FORMAT_INDICATOR
        | MESSAGE_EXPIRY_INTERVAL
        | CONTENT_TYPE
        | RESPONSE_TOPIC
        | CORRELATION_DATA => matches!(context, Publish | Will),
        SUBSCRIPTION_IDENTIFIER => matches!(context, Publish | Subscribe),
        SESSION_EXPIRY_INTERVAL => matches!(context, Connect | ConnAck | Disconnect),
        ASSIGNED_CLIENT_IDENTIFIER
        | SERVER_KEEP_ALIVE
        | RESPONSE_INFORMATION
        | MAXIMUM_QOS
        | RETAIN_AVAILABLE
        | WILDCARD_SUBSCRIPTION_AVAILABLE
        | SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | SHARED_SUBSCRIPTION_AVAILABLE => context == ConnAck,
        AUTHENTICATION_METHOD | AUTHENTICATION_DATA => matches!(context, Connect | ConnAck | Auth),
        REQUEST_PROBLEM_INFORMATION | REQUEST_RESPONSE_INFORMATION => context == Connect,
        WILL_DELAY_INTERVAL => context == Will,
        SERVER_REFERENCE => matches!(context, ConnAck | Disconnect),
        REASON_STRING => !matches!(context, Connect | Publish | Will | Subscribe | Unsubscribe),
        RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | MAXIMUM_PACKET_SIZE => {
            matches!(context, Connect | ConnAck)
        }
        TOPIC_ALIAS => context == Publish,
        USER_PROPERTY => true,
        _ => false,
    }
}

/// True for the property identifiers MQTT 5 defines.
pub fn is_known(property: u8) -> bool {
    matches!(property, 0x01..=0x03 | 0x08 | 0x09 | 0x0B | 0x11..=0x13 | 0x15..=0x19 | 0x1A | 0x1C | 0x1F | 0x21..=0x2A)
}

/// Every MQTT 5 property, each where it was present. Repeatable ones are lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Vec<u8>>,
    pub subscription_identifiers: Vec<u32>,
    pub session_expiry_interval: Option<u32>,
    pub assigned_client_identifier: Option<String>,
    pub server_keep_alive: Option<u16>,
    pub authentication_method: Option<String>,
    pub authentication_data: Option<Vec<u8>>,
    pub request_problem_information: Option<u8>,
    pub will_delay_interval: Option<u32>,
    pub request_response_information: Option<u8>,
    pub response_information: Option<String>,
    pub server_reference: Option<String>,
    pub reason_string: Option<String>,
    pub receive_maximum: Option<u16>,
    pub topic_alias_maximum: Option<u16>,
    pub topic_alias: Option<u16>,
    pub maximum_qos: Option<u8>,
    pub retain_available: Option<u8>,
    pub user_properties: Vec<(String, String)>,
    pub maximum_packet_size: Option<u32>,
    pub wildcard_subscription_available: Option<u8>,
    pub subscription_identifier_available: Option<u8>,
    pub shared_subscription_available: Option<u8>,
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::Protocol(
            "a property that may appear once appears twice",
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn flag(value: u8) -> Result<u8, DecodeError> {
    if value > 1 {
        return Err(DecodeError::Protocol(
            "a property that must be 0 or 1 is not",
        ));
    }
    Ok(value)
}

impl Properties {
    /// True when no property is set.
    pub fn is_empty(&self) -> bool {
        *self == Properties::default()
    }

    /// Reads a property block (its length, then the properties) for `context`.
    pub fn decode(reader: &mut Reader<'_>, context: Context) -> Result<Properties, DecodeError> {
        let len = reader.varint()? as usize;
        let mut block = Reader::new(reader.take(len)?);
        let mut p = Properties::default();
        use id::*;
        while !block.is_empty() {
            let property = block.varint()?;
            let property = u8::try_from(property)
                .map_err(|_| DecodeError::Malformed("unknown property identifier"))?;
            if !allowed(context, property) {
                return Err(if is_known(property) {
                    DecodeError::Protocol("a property appears in a packet that does not allow it")
                } else {
                    DecodeError::Malformed("unknown property identifier")
                });
            }
            match property {
                PAYLOAD_FORMAT_INDICATOR => {
                    set_once(&mut p.payload_format_indicator, flag(block.u8()?)?)?
                }
                MESSAGE_EXPIRY_INTERVAL => set_once(&mut p.message_expiry_interval, block.u32()?)?,
                CONTENT_TYPE => set_once(&mut p.content_type, block.string()?.to_owned())?,
                RESPONSE_TOPIC => {
                    let topic = block.string()?;
                    if topic.is_empty() || topic.contains(['+', '#']) {
                        return Err(DecodeError::Protocol(
                            "the response topic is not a valid topic name",
                        ));
                    }
                    set_once(&mut p.response_topic, topic.to_owned())?
                }
                CORRELATION_DATA => set_once(&mut p.correlation_data, block.binary()?.to_vec())?,
                SUBSCRIPTION_IDENTIFIER => {
                    let value = block.varint()?;
                    if value == 0 {
                        return Err(DecodeError::Protocol("a subscription identifier of 0"));
                    }
                    if context == Context::Subscribe && !p.subscription_identifiers.is_empty() {
                        return Err(DecodeError::Protocol(
                            "a SUBSCRIBE carries more than one subscription identifier",
                        ));
                    }
                    p.subscription_identifiers.push(value);
                }
                SESSION_EXPIRY_INTERVAL => set_once(&mut p.session_expiry_interval, block.u32()?)?,
                ASSIGNED_CLIENT_IDENTIFIER => set_once(
                    &mut p.assigned_client_identifier,
                    block.string()?.to_owned(),
                )?,
                SERVER_KEEP_ALIVE => set_once(&mut p.server_keep_alive, block.u16()?)?,
                AUTHENTICATION_METHOD => {
                    set_once(&mut p.authentication_method, block.string()?.to_owned())?
                }
                AUTHENTICATION_DATA => {
                    set_once(&mut p.authentication_data, block.binary()?.to_vec())?
                }
                REQUEST_PROBLEM_INFORMATION => {
                    set_once(&mut p.request_problem_information, flag(block.u8()?)?)?
                }
                WILL_DELAY_INTERVAL => set_once(&mut p.will_delay_interval, block.u32()?)?,
                REQUEST_RESPONSE_INFORMATION => {
                    set_once(&mut p.request_response_information, flag(block.u8()?)?)?
                }
                RESPONSE_INFORMATION => {
                    set_once(&mut p.response_information, block.string()?.to_owned())?
                }
                SERVER_REFERENCE => set_once(&mut p.server_reference, block.string()?.to_owned())?,
                REASON_STRING => set_once(&mut p.reason_string, block.string()?.to_owned())?,
                RECEIVE_MAXIMUM => {
                    let value = block.u16()?;
                    if value == 0 {
                        return Err(DecodeError::Protocol("a receive maximum of 0"));
                    }
                    set_once(&mut p.receive_maximum, value)?
                }
                TOPIC_ALIAS_MAXIMUM => set_once(&mut p.topic_alias_maximum, block.u16()?)?,
                // 0 is checked by the receiver, which answers it with Topic Alias invalid.
                TOPIC_ALIAS => set_once(&mut p.topic_alias, block.u16()?)?,
                MAXIMUM_QOS => set_once(&mut p.maximum_qos, flag(block.u8()?)?)?,
                RETAIN_AVAILABLE => set_once(&mut p.retain_available, flag(block.u8()?)?)?,
                USER_PROPERTY => {
                    let key = block.string()?.to_owned();
                    let value = block.string()?.to_owned();
                    p.user_properties.push((key, value));
                }
                MAXIMUM_PACKET_SIZE => {
                    let value = block.u32()?;
                    if value == 0 {
                        return Err(DecodeError::Protocol("a maximum packet size of 0"));
                    }
                    set_once(&mut p.maximum_packet_size, value)?
                }
                WILDCARD_SUBSCRIPTION_AVAILABLE => {
                    set_once(&mut p.wildcard_subscription_available, flag(block.u8()?)?)?
                }
                SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                    set_once(&mut p.subscription_identifier_available, flag(block.u8()?)?)?
                }
                SHARED_SUBSCRIPTION_AVAILABLE => {
                    set_once(&mut p.shared_subscription_available, flag(block.u8()?)?)?
                }
                _ => return Err(DecodeError::Malformed("unknown property identifier")),
            }
        }
        Ok(p)
    }

    /// Calls `f` with each property's encoding, in identifier order (user properties last, in
    /// the order given). Shared by [`Properties::encoded_len`] and [`Properties::encode`].
    fn each(&self, mut f: impl FnMut(&[u8])) {
        use id::*;
        let mut scratch = Vec::new();
        let emit = |scratch: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])| {
            f(scratch);
            scratch.clear();
        };
        macro_rules! byte {
            ($field:ident, $id:expr) => {
                if let Some(v) = self.$field {
                    scratch.push($id);
                    scratch.push(v);
                    emit(&mut scratch, &mut f);
                }
            };
        }
        macro_rules! two {
            ($field:ident, $id:expr) => {
                if let Some(v) = self.$field {
                    scratch.push($id);
                    put_u16(&mut scratch, v);
                    emit(&mut scratch, &mut f);
                }
            };
        }
        macro_rules! four {
            ($field:ident, $id:expr) => {
                if let Some(v) = self.$field {
                    scratch.push($id);
                    put_u32(&mut scratch, v);
                    emit(&mut scratch, &mut f);
                }
            };
        }
        macro_rules! text {
            ($field:ident, $id:expr) => {
                if let Some(v) = &self.$field {
                    scratch.push($id);
                    put_string(&mut scratch, v);
                    emit(&mut scratch, &mut f);
                }
            };
        }
        macro_rules! binary {
            ($field:ident, $id:expr) => {
                if let Some(v) = &self.$field {
                    scratch.push($id);
                    put_binary(&mut scratch, v);
                    emit(&mut scratch, &mut f);
                }
            };
        }
        byte!(payload_format_indicator, PAYLOAD_FORMAT_INDICATOR);
        four!(message_expiry_interval, MESSAGE_EXPIRY_INTERVAL);
        text!(content_type, CONTENT_TYPE);
        text!(response_topic, RESPONSE_TOPIC);
        binary!(correlation_data, CORRELATION_DATA);
        for value in &self.subscription_identifiers {
            scratch.push(SUBSCRIPTION_IDENTIFIER);
            encode_varint(*value as usize, &mut scratch);
            emit(&mut scratch, &mut f);
        }
        four!(session_expiry_interval, SESSION_EXPIRY_INTERVAL);
        text!(assigned_client_identifier, ASSIGNED_CLIENT_IDENTIFIER);
        two!(server_keep_alive, SERVER_KEEP_ALIVE);
        text!(authentication_method, AUTHENTICATION_METHOD);
        binary!(authentication_data, AUTHENTICATION_DATA);
        byte!(request_problem_information, REQUEST_PROBLEM_INFORMATION);
        four!(will_delay_interval, WILL_DELAY_INTERVAL);
        byte!(request_response_information, REQUEST_RESPONSE_INFORMATION);
        text!(response_information, RESPONSE_INFORMATION);
        text!(server_reference, SERVER_REFERENCE);
        text!(reason_string, REASON_STRING);
        two!(receive_maximum, RECEIVE_MAXIMUM);
        two!(topic_alias_maximum, TOPIC_ALIAS_MAXIMUM);
        two!(topic_alias, TOPIC_ALIAS);
        byte!(maximum_qos, MAXIMUM_QOS);
        byte!(retain_available, RETAIN_AVAILABLE);
        four!(maximum_packet_size, MAXIMUM_PACKET_SIZE);
        byte!(
            wildcard_subscription_available,
            WILDCARD_SUBSCRIPTION_AVAILABLE
        );
        byte!(
            subscription_identifier_available,
            SUBSCRIPTION_IDENTIFIER_AVAILABLE
        );
        byte!(shared_subscription_available, SHARED_SUBSCRIPTION_AVAILABLE);
        for (key, value) in &self.user_properties {
            scratch.push(USER_PROPERTY);
            put_string(&mut scratch, key);
            put_string(&mut scratch, value);
            emit(&mut scratch, &mut f);
        }
    }

    /// The length of the properties themselves (without the length prefix).
    pub fn body_len(&self) -> usize {
        let mut len = 0;
        self.each(|bytes| len += bytes.len());
        len
    }

    /// The whole block's length: the length prefix plus the properties.
    pub fn encoded_len(&self) -> usize {
        let body = self.body_len();
        varint_len(body) + body
    }

    /// Appends the block: the length prefix, then the properties.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_varint(self.body_len(), out);
        self.each(|bytes| out.extend_from_slice(bytes));
    }
}

/// Checks raw property bytes (without their length prefix) as a PUBLISH or will block would be
/// checked, without keeping them: for code that forwards properties as bytes.
pub fn validate_raw(bytes: &[u8], context: Context) -> Result<(), DecodeError> {
    let mut framed = Vec::with_capacity(bytes.len() + 4);
    encode_varint(bytes.len(), &mut framed);
    framed.extend_from_slice(bytes);
    Properties::decode(&mut Reader::new(&framed), context).map(|_| ())
}

/// Reads past one property's value, checking its strings (used to copy properties through
/// unchanged).
pub(crate) fn skip_value(reader: &mut Reader<'_>, property: u8) -> Result<(), DecodeError> {
    use id::*;
    match property {
        PAYLOAD_FORMAT_INDICATOR
        | REQUEST_PROBLEM_INFORMATION
        | REQUEST_RESPONSE_INFORMATION
        | MAXIMUM_QOS
        | RETAIN_AVAILABLE
        | WILDCARD_SUBSCRIPTION_AVAILABLE
        | SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | SHARED_SUBSCRIPTION_AVAILABLE => {
            reader.u8()?;
        }
        SERVER_KEEP_ALIVE | RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | TOPIC_ALIAS => {
            reader.u16()?;
        }
        MESSAGE_EXPIRY_INTERVAL
        | SESSION_EXPIRY_INTERVAL
        | WILL_DELAY_INTERVAL
        | MAXIMUM_PACKET_SIZE => {
            reader.u32()?;
        }
        CONTENT_TYPE
        | RESPONSE_TOPIC
        | ASSIGNED_CLIENT_IDENTIFIER
        | AUTHENTICATION_METHOD
        | RESPONSE_INFORMATION
        | SERVER_REFERENCE
        | REASON_STRING => {
            utf8(reader.binary()?)?;
        }
        CORRELATION_DATA | AUTHENTICATION_DATA => {
            reader.binary()?;
        }
        SUBSCRIPTION_IDENTIFIER => {
            reader.varint()?;
        }
        USER_PROPERTY => {
            utf8(reader.binary()?)?;
            utf8(reader.binary()?)?;
        }
        _ => return Err(DecodeError::Malformed("unknown property identifier")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(p: &Properties, context: Context) -> Properties {
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(out.len(), p.encoded_len());
        Properties::decode(&mut Reader::new(&out), context).expect("decodes")
    }

    #[test]
    fn properties_round_trip() {
        let p = Properties {
            session_expiry_interval: Some(99_999),
            receive_maximum: Some(2),
            topic_alias_maximum: Some(10),
            maximum_packet_size: Some(64),
            user_properties: vec![("a".into(), "2".into()), ("c".into(), "3".into())],
            ..Properties::default()
        };
        assert_eq!(round_trip(&p, Context::Connect), p);
        let p = Properties {
            payload_format_indicator: Some(1),
            message_expiry_interval: Some(6),
            content_type: Some("My name".into()),
            response_topic: Some("reply/here".into()),
            correlation_data: Some(b"334".to_vec()),
            subscription_identifiers: vec![2, 268_435_455],
            topic_alias: Some(1),
            ..Properties::default()
        };
        assert_eq!(round_trip(&p, Context::Publish), p);
        assert!(Properties::default().is_empty());
        assert_eq!(Properties::default().encoded_len(), 1);
    }

    #[test]
    fn misplaced_repeated_and_out_of_range_properties_are_refused() {
        let decode = |bytes: &[u8], context| {
            let mut framed = vec![bytes.len() as u8];
            framed.extend_from_slice(bytes);
            Properties::decode(&mut Reader::new(&framed), context)
        };
        // Topic Alias in a CONNECT.
        assert!(matches!(
            decode(&[0x23, 0, 1], Context::Connect),
            Err(DecodeError::Protocol(_))
        ));
        // Session expiry twice.
        assert!(matches!(
            decode(&[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2], Context::Connect),
            Err(DecodeError::Protocol(_))
        ));
        // Payload format indicator 2.
        assert!(decode(&[0x01, 2], Context::Publish).is_err());
        // Receive maximum 0.
        assert!(decode(&[0x21, 0, 0], Context::Connect).is_err());
        // An unknown identifier.
        assert!(matches!(
            decode(&[0x7F, 0], Context::Publish),
            Err(DecodeError::Malformed(_))
        ));
        // Two subscription identifiers in a SUBSCRIBE, but several are fine in a PUBLISH.
        assert!(decode(&[0x0B, 1, 0x0B, 2], Context::Subscribe).is_err());
        assert!(decode(&[0x0B, 1, 0x0B, 2], Context::Publish).is_ok());
        // A user property whose value runs past the block.
        assert!(decode(&[0x26, 0, 1, b'a', 0, 5, b'b'], Context::Publish).is_err());
        assert!(validate_raw(&[0x26, 0, 1, b'a', 0, 1, b'b'], Context::Publish).is_ok());
    }
}
