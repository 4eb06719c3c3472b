//! Writing messages out, streamed (one message at a time, memory flat): our recording format,
//! and MQTTX's *Export Data* as JSON and as CSV, laid out as [`crate::formats::mqttx`] reads them
//! (MQTTX's own layout: local `createAt` times, `out` for direction, text payloads marked
//! `Plaintext` and binary ones written in base64 and marked `Base64`, MQTT 5 properties by
//! MQTTX's names). MQTTX's CSV has no column for a payload's encoding: a binary payload is
//! written there in base64 and reads back as that text (binary correlation data likewise).

use crate::formats::mqttx::CSV_HEADER;
use crate::formats::Format;
use crate::message::{Direction, Message};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::io::Write;

/// The formats messages can be written in.
pub const WRITABLE: [Format; 3] = [Format::Recording, Format::MqttxJson, Format::MqttxCsv];

/// MQTTX's time layout: local wall-clock time with milliseconds after a colon.
const MQTTX_TIME: &str = "%Y-%m-%d %H:%M:%S:%3f";

/// A stream of messages being written in one format.
pub struct Exporter<W: Write> {
    out: W,
    format: Format,
    zone: jiff::tz::TimeZone,
    written: u64,
    started_ms: Option<u64>,
}

impl<W: Write> Exporter<W> {
    /// Starts writing `format` to `out`; local times are written in `zone`. Fails for a format
    /// that is only read.
    pub fn new(out: W, format: Format, zone: jiff::tz::TimeZone) -> Result<Exporter<W>, String> {
        if !WRITABLE.contains(&format) {
            return Err(format!("{} can be read but not written", format.describe()));
        }
        let mut exporter = Exporter {
            out,
            format,
            zone,
            written: 0,
            started_ms: None,
        };
        match format {
            Format::MqttxJson => {
                let head = json!({
                    "id": "mqtt-workbench-export",
                    "name": "MQTT Workbench export",
                    "clientId": "mqtt-workbench",
                });
                // The connection object, left open for its messages.
                let head = head.to_string();
                let head = head.trim_end_matches('}');
                write!(exporter.out, "[{head},\"messages\":[").map_err(io)?;
            }
            Format::MqttxCsv => {
                let header = csv_line(&CSV_HEADER)?;
                exporter.out.write_all(&header).map_err(io)?;
            }
            _ => {}
        }
        Ok(exporter)
    }

    /// Writes one message.
    pub fn write(&mut self, message: &Message) -> Result<(), String> {
        match self.format {
            Format::Recording => {
                let started = *self.started_ms.get_or_insert(message.time_ms.unwrap_or(0));
                let line = crate::jsonl::encode(message, message.time_ms.map(|_| started));
                writeln!(self.out, "{line}").map_err(io)?;
            }
            Format::MqttxJson => {
                let comma = if self.written == 0 { "" } else { "," };
                let object = mqttx_object(message, &self.zone);
                write!(self.out, "{comma}\n{object}").map_err(io)?;
            }
            _ => {
                let row = csv_line(&self.csv_row(message))?;
                self.out.write_all(&row).map_err(io)?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the file and returns how many messages it holds.
    pub fn finish(mut self) -> Result<u64, String> {
        if self.format == Format::MqttxJson {
            write!(self.out, "\n]}}]\n").map_err(io)?;
        }
        self.out.flush().map_err(io)?;
        Ok(self.written)
    }

    fn csv_row(&self, m: &Message) -> Vec<String> {
        let (payload, _) = mqttx_payload(m);
        let p = &m.properties;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let number = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        let user = if p.user_properties.is_empty() {
            String::new()
        } else {
            Value::Object(user_properties(&p.user_properties)).to_string()
        };
        vec![
            m.client_id.clone().unwrap_or_default(),
            "MQTT Workbench export".into(),
            m.topic.clone(),
            payload,
            m.qos.to_string(),
            m.retain.to_string(),
            if m.direction == Some(Direction::Out) {
                "publish".into()
            } else {
                "received".into()
            },
            m.time_ms
                .map(|ms| crate::time::format_local(ms, &self.zone, MQTTX_TIME))
                .unwrap_or_default(),
            p.payload_format_indicator
                .map(|f| (f == 1).to_string())
                .unwrap_or_default(),
            number(p.message_expiry_interval),
            String::new(),
            text(&p.response_topic),
            p.correlation_data
                .as_ref()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .unwrap_or_default(),
            p.subscription_identifiers
                .first()
                .map(u32::to_string)
                .unwrap_or_default(),
            text(&p.content_type),
            user,
        ]
    }
}

/// One CSV row with its line end, quoted where needed.
fn csv_line<T: AsRef<[u8]>>(fields: &[T]) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields).map_err(|e| e.to_string())?;
    writer.into_inner().map_err(|e| e.to_string())
}

fn io(e: std::io::Error) -> String {
    format!("writing failed: {e}")
}

/// The payload as MQTTX writes it, and its `msgType`: text as it is, anything else in base64.
fn mqttx_payload(m: &Message) -> (String, &'static str) {
    match m.text() {
        Some(text) => (text.to_string(), "Plaintext"),
        None => (
            base64::engine::general_purpose::STANDARD.encode(&m.payload),
            "Base64",
        ),
    }
}

/// User properties as MQTTX keeps them: an object, a repeated name holding a list.
fn user_properties(list: &[(String, String)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in list {
        match map.get_mut(key) {
            None => {
                map.insert(key.clone(), Value::String(value.clone()));
            }
            Some(Value::Array(values)) => values.push(Value::String(value.clone())),
            Some(previous) => {
                let first = previous.take();
                *previous = Value::Array(vec![first, Value::String(value.clone())]);
            }
        }
    }
    map
}

fn mqttx_object(m: &Message, zone: &jiff::tz::TimeZone) -> Value {
    let (payload, msg_type) = mqttx_payload(m);
    let mut object = json!({
        "createAt": m.time_ms.map(|ms| crate::time::format_local(ms, zone, MQTTX_TIME)),
        "out": m.direction == Some(Direction::Out),
        "payload": payload,
        "qos": m.qos,
        "retain": m.retain,
        "topic": m.topic,
        "meta": json!({ "msgType": msg_type }).to_string(),
    });
    let p = &m.properties;
    if !p.is_empty() {
        let mut props = Map::new();
        if let Some(f) = p.payload_format_indicator {
            props.insert("payloadFormatIndicator".into(), json!(f == 1));
        }
        if let Some(e) = p.message_expiry_interval {
            props.insert("messageExpiryInterval".into(), json!(e));
        }
        if let Some(t) = &p.response_topic {
            props.insert("responseTopic".into(), json!(t));
        }
        if let Some(c) = &p.correlation_data {
            props.insert(
                "correlationData".into(),
                json!({"type": "Buffer", "data": c}),
            );
        }
        if !p.user_properties.is_empty() {
            props.insert(
                "userProperties".into(),
                Value::Object(user_properties(&p.user_properties)),
            );
        }
        if let Some(id) = p.subscription_identifiers.first() {
            props.insert("subscriptionIdentifier".into(), json!(id));
        }
        if let Some(c) = &p.content_type {
            props.insert("contentType".into(), json!(c));
        }
        object["properties"] = Value::Object(props);
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{open, Entry, ImportOptions};
    use crate::message::Properties;

    fn sample() -> Vec<Message> {
        let mut text = Message::new("plant/a", "21.5");
        text.time_ms = Some(1_764_583_200_123);
        text.qos = 1;
        text.retain = true;
        text.direction = Some(Direction::Out);
        text.client_id = Some("dev-1".into());
        text.properties = Properties {
            content_type: Some("text/plain".into()),
            user_properties: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
            correlation_data: Some(b"req-1".to_vec()),
            message_expiry_interval: Some(30),
            ..Properties::default()
        };
        let mut binary = Message::new("plant/b", vec![0u8, 0xff, b',', b'"', b'\n']);
        binary.time_ms = Some(1_764_583_201_000);
        binary.qos = 2;
        binary.direction = Some(Direction::In);
        binary.client_id = Some("dev-1".into());
        vec![text, binary]
    }

    #[test]
    fn mqttx_json_and_csv_read_back_as_written() {
        let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
        for format in [Format::MqttxJson, Format::MqttxCsv, Format::Recording] {
            let mut bytes = Vec::new();
            let mut exporter = Exporter::new(&mut bytes, format, zone.clone()).unwrap();
            for m in sample() {
                exporter.write(&m).unwrap();
            }
            assert_eq!(exporter.finish().unwrap(), 2);
            let text = String::from_utf8(bytes).unwrap();
            assert_eq!(Format::detect(text.as_bytes()), Some(format), "{text}");
            let options = ImportOptions {
                time_zone: zone.clone(),
                recorder_base64: false,
            };
            let read: Vec<Entry> = open(
                format,
                Box::new(std::io::Cursor::new(text.clone().into_bytes())),
                &options,
            )
            .collect();
            let expected: Vec<Entry> = sample()
                .into_iter()
                .map(|mut m| {
                    if format != Format::Recording {
                        // MQTTX files name no publisher per message but the connection.
                        m.client_id = m.client_id.filter(|_| format == Format::MqttxCsv);
                    }
                    if format == Format::MqttxCsv && m.text().is_none() {
                        // MQTTX's CSV says nothing of a payload's encoding: binary ones are
                        // written in base64 and read back as that text.
                        m.payload = base64::engine::general_purpose::STANDARD
                            .encode(&m.payload)
                            .into_bytes()
                            .into();
                    }
                    Entry::Message(m)
                })
                .collect();
            if format == Format::MqttxJson {
                // The connection's client id applies to every message.
                let read: Vec<Entry> = read
                    .into_iter()
                    .map(|e| match e {
                        Entry::Message(mut m) => {
                            m.client_id = None;
                            Entry::Message(m)
                        }
                        other => other,
                    })
                    .collect();
                assert_eq!(read, expected, "{text}");
            } else {
                assert_eq!(read, expected, "{format:?}: {text}");
            }
        }
        assert!(Exporter::new(Vec::new(), Format::HivemqJson, zone).is_err());
    }
}
