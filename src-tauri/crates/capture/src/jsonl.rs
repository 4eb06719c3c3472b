//! The recording format: JSON Lines, one message per line, each line complete in itself (a
//! recording can be cut, concatenated, grepped, or read with `jq`), version 1:
//!
//! ```json
//! {"v":1,"time":"2026-12-01T10:00:00.123Z","time_ms":1764583200123,"offset_ms":1520,
//!  "topic":"home/kitchen/temp","qos":1,"retain":false,"payload":"MjEuNQ==","text":"21.5",
//!  "properties":{"content_type":"text/plain","user_properties":[["site","north"]]},
//!  "direction":"in","client_id":"sensor-1"}
//! ```
//!
//! (one line in the file). `payload` is the payload in standard base64, always; `text` is the
//! same payload as a string, present only when it is UTF-8. `time` and `time_ms` are when the
//! message was seen, `offset_ms` how long after the recording started. `properties` (MQTT 5),
//! `direction` (`in`: into the source recorded, `out`: out of it) and `client_id` are present
//! where known. Readers ignore fields they do not know; a line with a `v` above 1 is reported,
//! not guessed at.

use crate::message::{Direction, Message, Properties};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The version this code writes, and the highest it reads.
pub const VERSION: u32 = 1;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `Option<Vec<u8>>` as a base64 string in JSON.
pub mod base64_option {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => s.serialize_str(&super::BASE64.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            super::BASE64
                .decode(t.trim())
                .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
        })
        .transpose()
    }
}

#[derive(Serialize)]
struct LineOut<'a> {
    v: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset_ms: Option<u64>,
    topic: &'a str,
    qos: u8,
    retain: bool,
    payload: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    properties: &'a Properties,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct LineIn {
    #[serde(default)]
    v: Option<u32>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    time_ms: Option<u64>,
    topic: String,
    #[serde(default)]
    qos: u8,
    #[serde(default)]
    retain: bool,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    properties: Properties,
    #[serde(default)]
    direction: Option<Direction>,
    #[serde(default)]
    client_id: Option<String>,
}

/// One message as a line (without its newline). `started_ms`: when the recording started, for
/// `offset_ms`.
pub fn encode(message: &Message, started_ms: Option<u64>) -> String {
    let line = LineOut {
        v: VERSION,
        time: message.time_ms.map(crate::time::rfc3339),
        time_ms: message.time_ms,
        offset_ms: match (message.time_ms, started_ms) {
            (Some(at), Some(start)) => Some(at.saturating_sub(start)),
            _ => None,
        },
        topic: &message.topic,
        qos: message.qos,
        retain: message.retain,
        payload: BASE64.encode(&message.payload),
        text: message.text(),
        properties: &message.properties,
        direction: message.direction,
        client_id: message.client_id.as_deref(),
    };
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// Reads one line back, or says what is wrong with it.
pub fn decode(line: &[u8]) -> Result<Message, String> {
    let parsed: LineIn = serde_json::from_slice(line).map_err(|e| {
        let text = e.to_string();
        // serde_json's own " at line 1 column N": the caller names the line.
        match text.find(" at line ") {
            Some(cut) => format!("not a recorded message: {}", &text[..cut]),
            None => format!("not a recorded message: {text}"),
        }
    })?;
    if let Some(v) = parsed.v.filter(|&v| v > VERSION) {
        return Err(format!(
            "written in recording format version {v}; this version reads up to {VERSION}"
        ));
    }
    let payload = match (parsed.payload, parsed.text) {
        (Some(b64), _) => BASE64
            .decode(b64.trim())
            .map_err(|e| format!("the payload is not base64: {e}"))?,
        (None, Some(text)) => text.into_bytes(),
        (None, None) => return Err("the line has neither a payload nor a text".into()),
    };
    if parsed.qos > 2 {
        return Err(format!("QoS {} (must be 0, 1 or 2)", parsed.qos));
    }
    workbench_wire::topic::validate_name(&parsed.topic)
        .map_err(|e| format!("the topic is not valid: {e}"))?;
    let time_ms = match (parsed.time_ms, parsed.time) {
        (Some(ms), _) => Some(ms),
        (None, Some(text)) => Some(crate::time::parse_rfc3339(&text)?),
        (None, None) => None,
    };
    Ok(Message {
        time_ms,
        topic: parsed.topic,
        payload: payload.into(),
        qos: parsed.qos,
        retain: parsed.retain,
        properties: parsed.properties,
        direction: parsed.direction,
        client_id: parsed.client_id,
    })
}

/// A recording's first and last message times apart, read from its first lines and its last
/// (the file is not read through: a replay's progress knows its length at once).
pub fn span(path: &std::path::Path) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let mut head = vec![0u8; 64 * 1024];
    let n = file.read(&mut head).ok()?;
    let first = head[..n]
        .split(|&b| b == b'\n')
        .find_map(|line| decode(line).ok()?.time_ms)?;
    let len = file.metadata().ok()?.len();
    let back = len.min(1024 * 1024);
    file.seek(SeekFrom::Start(len - back)).ok()?;
    let mut tail = Vec::with_capacity(back as usize);
    file.take(back).read_to_end(&mut tail).ok()?;
    let last = tail
        .split(|&b| b == b'\n')
        .rev()
        .find_map(|line| decode(line).ok()?.time_ms)?;
    Some(last.saturating_sub(first))
}

/// True when a line looks like a recorded message (for recognising the format).
pub fn looks_like(line: &serde_json::Value) -> bool {
    let Some(object) = line.as_object() else {
        return false;
    };
    object.contains_key("topic")
        && (object.contains_key("v") || object.contains_key("offset_ms"))
        && (object.contains_key("payload") || object.contains_key("text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_with_binary_payloads_and_properties() {
        let message = Message {
            time_ms: Some(1_764_583_200_123),
            topic: "home/kitchen/temp".into(),
            payload: vec![0u8, 0xff, b'a'].into(),
            qos: 2,
            retain: true,
            properties: Properties {
                content_type: Some("application/octet-stream".into()),
                correlation_data: Some(vec![9, 8]),
                user_properties: vec![("k".into(), "v".into())],
                ..Properties::default()
            },
            direction: Some(Direction::In),
            client_id: Some("sensor-1".into()),
        };
        let line = encode(&message, Some(1_764_583_200_000));
        assert!(
            line.starts_with("{\"v\":1,\"time\":\"2025-12-01T10:00:00.123Z\""),
            "{line}"
        );
        assert!(line.contains("\"offset_ms\":123"), "{line}");
        assert!(!line.contains("\"text\""), "binary: no text field: {line}");
        assert_eq!(decode(line.as_bytes()), Ok(message));

        let text = Message::new("a/b", "héllo");
        let line = encode(&text, None);
        assert!(line.contains("\"text\":\"héllo\""), "{line}");
        assert!(!line.contains("time"), "{line}");
        assert_eq!(decode(line.as_bytes()), Ok(text));
    }

    #[test]
    fn broken_lines_say_why() {
        let e = decode(b"{\"topic\":\"a\"}").unwrap_err();
        assert!(e.contains("neither a payload nor a text"), "{e}");
        let e = decode(b"{\"v\":2,\"topic\":\"a\",\"payload\":\"\"}").unwrap_err();
        assert!(e.contains("version 2"), "{e}");
        let e = decode(b"{\"topic\":\"a/#\",\"text\":\"x\"}").unwrap_err();
        assert!(e.contains("topic is not valid"), "{e}");
        let e = decode(b"{\"topic\":\"a\",\"payload\":\"*\"}").unwrap_err();
        assert!(e.contains("not base64"), "{e}");
        let e = decode(b"{\"topic\":").unwrap_err();
        assert!(e.starts_with("not a recorded message"), "{e}");
        // A hand-written line with only text and an RFC 3339 time.
        let m =
            decode(b"{\"topic\":\"a\",\"text\":\"x\",\"time\":\"2025-12-01T10:00:00.5+01:00\"}")
                .expect("valid");
        assert_eq!(m.time_ms, Some(1_764_579_600_500));
    }
}
