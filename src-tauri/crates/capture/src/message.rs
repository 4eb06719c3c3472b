//! One captured MQTT message as every tool here carries it (recorded, imported, replayed,
//! exported), with its MQTT 5 properties in plain fields, and the conversions from what the
//! traffic views saw (a [`PacketEvent`]'s decoded fields) and to the bytes a PUBLISH carries.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use workbench_wire::codec;
use workbench_wire::{PacketEvent, PacketKind};

/// Which way a message travelled, seen from the source that captured it: into it (a client
/// publishing to the broker, a broker delivering to a session) or out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl From<workbench_wire::Direction> for Direction {
    fn from(direction: workbench_wire::Direction) -> Direction {
        match direction {
            workbench_wire::Direction::Inbound => Direction::In,
            workbench_wire::Direction::Outbound => Direction::Out,
        }
    }
}

/// The MQTT 5 properties a PUBLISH carries for its receivers. Absent ones are `None` or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Properties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_format_indicator: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_expiry_interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    /// Bytes; written as base64 in files.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::jsonl::base64_option"
    )]
    pub correlation_data: Option<Vec<u8>>,
    /// Name and value pairs, in order; names may repeat.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<(String, String)>,
    /// The subscriptions that matched, as the broker told a subscriber (never sent on replay:
    /// a client may not).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscription_identifiers: Vec<u32>,
}

impl Properties {
    pub fn is_empty(&self) -> bool {
        *self == Properties::default()
    }

    /// From the packet log's decoded fields of a PUBLISH (`Content Type`, `User Property`
    /// `k = v`...). Correlation data shown as `"text"` or as hex bytes comes back as bytes.
    pub fn from_fields(fields: &[workbench_wire::Field]) -> Properties {
        let mut p = Properties::default();
        for (name, value) in fields {
            match *name {
                "Payload Format Indicator" => p.payload_format_indicator = value.parse().ok(),
                "Message Expiry Interval" => p.message_expiry_interval = value.parse().ok(),
                "Content Type" => p.content_type = Some(value.clone()),
                "Response Topic" => p.response_topic = Some(value.clone()),
                "Correlation Data" => p.correlation_data = Some(shown_binary(value)),
                "Subscription Identifier" => {
                    if let Ok(id) = value.parse() {
                        p.subscription_identifiers.push(id);
                    }
                }
                "User Property" => {
                    // Shown as "name = value"; a name holding " = " itself cannot be told apart.
                    let (key, val) = value.split_once(" = ").unwrap_or((value.as_str(), ""));
                    p.user_properties.push((key.to_string(), val.to_string()));
                }
                _ => {}
            }
        }
        p
    }

    /// From properties the codec decoded.
    pub fn from_codec(props: &codec::Properties) -> Properties {
        Properties {
            payload_format_indicator: props.payload_format_indicator,
            message_expiry_interval: props.message_expiry_interval,
            content_type: props.content_type.clone(),
            response_topic: props.response_topic.clone(),
            correlation_data: props.correlation_data.clone(),
            user_properties: props.user_properties.clone(),
            subscription_identifiers: props.subscription_identifiers.clone(),
        }
    }

    /// The property bytes a client's PUBLISH carries (no length prefix, no message expiry:
    /// the encoder writes that one itself), leaving out what a client may not send.
    pub fn publish_bytes(&self) -> Vec<u8> {
        let props = codec::Properties {
            payload_format_indicator: self.payload_format_indicator,
            content_type: self.content_type.clone(),
            response_topic: self.response_topic.clone(),
            correlation_data: self.correlation_data.clone(),
            user_properties: self.user_properties.clone(),
            ..codec::Properties::default()
        };
        let mut framed = Vec::with_capacity(props.encoded_len());
        props.encode(&mut framed);
        let prefix = codec::varint_len(props.body_len());
        framed.split_off(prefix)
    }

    /// What is too long for MQTT (strings and binary data carry a two-byte length), in words.
    pub fn check(&self) -> Result<(), String> {
        let limit = usize::from(u16::MAX);
        let too_long = [
            ("content type", self.content_type.as_ref().map(String::len)),
            (
                "response topic",
                self.response_topic.as_ref().map(String::len),
            ),
            (
                "correlation data",
                self.correlation_data.as_ref().map(Vec::len),
            ),
        ];
        for (name, len) in too_long {
            if len.is_some_and(|len| len > limit) {
                return Err(format!("the {name} is longer than 65,535 bytes"));
            }
        }
        if self
            .user_properties
            .iter()
            .any(|(k, v)| k.len() > limit || v.len() > limit)
        {
            return Err("a user property is longer than 65,535 bytes".into());
        }
        if let Some(topic) = self.response_topic.as_deref() {
            workbench_wire::topic::validate_name(topic)
                .map_err(|e| format!("the response topic: {e}"))?;
        }
        Ok(())
    }
}

/// Correlation data as the packet log shows it: `"text"` for printable text, hex bytes
/// separated by spaces otherwise.
fn shown_binary(value: &str) -> Vec<u8> {
    if let Some(text) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return text.as_bytes().to_vec();
    }
    let hex: Option<Vec<u8>> = value
        .split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).ok())
        .collect();
    hex.unwrap_or_else(|| value.as_bytes().to_vec())
}

/// One MQTT message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// When it was seen, in milliseconds since the Unix epoch; `None` when the file it came from
    /// did not say (mqttui writes no time for retained messages).
    pub time_ms: Option<u64>,
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    pub properties: Properties,
    pub direction: Option<Direction>,
    pub client_id: Option<String>,
}

impl Message {
    /// A message with a topic and payload, QoS 0, nothing else known.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> Message {
        Message {
            topic: topic.into(),
            payload: payload.into(),
            ..Message::default()
        }
    }

    /// The message a PUBLISH packet event carried, when it carried its payload (the broker's
    /// inbound publishes and a session's received ones do; deliveries out of the broker do not).
    pub fn from_event(event: &PacketEvent) -> Option<Message> {
        let summary = &event.summary;
        if summary.kind != PacketKind::Publish {
            return None;
        }
        let topic = summary.topic.as_deref().filter(|t| !t.is_empty())?;
        let payload = summary.payload.clone()?;
        let time_ms = event
            .time
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .ok();
        Some(Message {
            time_ms,
            topic: topic.to_string(),
            payload,
            qos: summary.qos,
            retain: summary.retain,
            properties: Properties::from_fields(&summary.fields),
            direction: Some(event.direction.into()),
            client_id: (!event.client_id.is_empty()).then(|| event.client_id.to_string()),
        })
    }

    /// The payload as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// Bytes this message weighs in memory, for queue budgets.
    pub fn weight(&self) -> usize {
        self.payload.len() + self.topic.len() + 128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_come_back_from_the_packet_logs_fields() {
        let fields: Vec<workbench_wire::Field> = vec![
            ("Payload Format Indicator", "1".into()),
            ("Message Expiry Interval", "60".into()),
            ("Content Type", "application/json".into()),
            ("Correlation Data", "00 ff 10".into()),
            ("User Property", "site = north = 2".into()),
            ("User Property", "empty = ".into()),
            ("Subscription Identifier", "7".into()),
        ];
        let p = Properties::from_fields(&fields);
        assert_eq!(p.payload_format_indicator, Some(1));
        assert_eq!(p.message_expiry_interval, Some(60));
        assert_eq!(p.content_type.as_deref(), Some("application/json"));
        assert_eq!(p.correlation_data, Some(vec![0, 0xff, 0x10]));
        assert_eq!(
            p.user_properties,
            vec![
                ("site".to_string(), "north = 2".to_string()),
                ("empty".to_string(), String::new())
            ]
        );
        assert_eq!(p.subscription_identifiers, vec![7]);
        let text = Properties::from_fields(&[("Correlation Data", "\"req-1\"".into())]);
        assert_eq!(text.correlation_data, Some(b"req-1".to_vec()));
    }

    #[test]
    fn publish_bytes_decode_as_the_same_properties() {
        let p = Properties {
            payload_format_indicator: Some(1),
            message_expiry_interval: Some(30),
            content_type: Some("text/plain".into()),
            response_topic: Some("reply/here".into()),
            correlation_data: Some(vec![1, 2, 3]),
            user_properties: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
            subscription_identifiers: vec![4],
        };
        let raw = p.publish_bytes();
        let mut framed = Vec::new();
        codec::encode_varint(raw.len(), &mut framed);
        framed.extend_from_slice(&raw);
        let decoded = codec::Properties::decode(
            &mut codec::Reader::new(&framed),
            codec::properties::Context::Publish,
        )
        .expect("valid properties");
        let back = Properties::from_codec(&decoded);
        assert_eq!(back.content_type, p.content_type);
        assert_eq!(back.user_properties, p.user_properties);
        assert_eq!(back.correlation_data, p.correlation_data);
        assert_eq!(
            back.message_expiry_interval, None,
            "the encoder adds expiry"
        );
        assert!(back.subscription_identifiers.is_empty(), "never sent");
    }
}
