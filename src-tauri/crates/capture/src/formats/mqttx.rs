//! MQTTX's *Export Data*, read back.
//!
//! JSON: an array of connections, each with its settings (`clientId`, `name`...) and its
//! `messages`, each message `{"createAt": "2024-03-05 14:22:31:456", "out": false, "payload":
//! "…", "qos": 1, "retain": false, "topic": "…", "meta": "{\"msgType\":\"Plaintext\"}",
//! "properties": {"contentType": …, "userProperties": {"k": "v"}, …}}`. `createAt` is local time
//! without a zone; `meta.msgType` says how the payload string is written (`Plaintext`, `JSON`,
//! `Base64`, `Hex`; `CBOR` and `MsgPack` were shown as JSON and come back as that text).
//!
//! CSV, as MQTTX writes it since its streaming export: a header `client_id, connection_name,
//! topic, payload, qos, retain, direction, createAt, payload_format_indicator,
//! message_expiry_interval, topic_alias, response_topic, correlation_data,
//! subscription_identifier, content_type, user_properties` and one message per row (`direction`
//! is `publish` or `received`; `user_properties` is JSON). Older versions wrote one connection per
//! row with its messages as JSON in a `messages` column: read as well.

use super::json_scan::{Found, Scanner};
use super::{Entry, ImportOptions, Importer};
use crate::lines::{Problem, MAX_LINE};
use crate::message::{Direction, Message, Properties};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::BufRead;

/// The CSV header MQTTX writes (and the exporter here writes).
pub const CSV_HEADER: [&str; 16] = [
    "client_id",
    "connection_name",
    "topic",
    "payload",
    "qos",
    "retain",
    "direction",
    "createAt",
    "payload_format_indicator",
    "message_expiry_interval",
    "topic_alias",
    "response_topic",
    "correlation_data",
    "subscription_identifier",
    "content_type",
    "user_properties",
];

/// True for the first line of an MQTTX CSV export (either kind).
pub fn is_csv_header(line: &str) -> bool {
    let names: Vec<String> = line
        .split(',')
        .map(|n| n.trim().trim_matches('"').to_string())
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    (has("topic") && has("payload") && has("createAt")) || (has("clientId") && has("messages"))
}

/// One message object of an MQTTX export.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MqttxMessage {
    #[serde(default)]
    create_at: Option<String>,
    #[serde(default)]
    out: Option<Value>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    qos: Option<Value>,
    #[serde(default)]
    retain: Option<Value>,
    topic: String,
    #[serde(default)]
    meta: Option<String>,
    #[serde(default)]
    properties: Option<MqttxProperties>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MqttxProperties {
    payload_format_indicator: Option<Value>,
    message_expiry_interval: Option<u32>,
    response_topic: Option<String>,
    correlation_data: Option<Value>,
    user_properties: Option<Value>,
    subscription_identifier: Option<Value>,
    content_type: Option<String>,
}

/// `true`, `"true"`, `1` as a flag.
fn flag(value: &Option<Value>) -> Result<bool, String> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) => Ok(n.as_u64() == Some(1)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") || s == "1" => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s == "0" || s.is_empty() => {
            Ok(false)
        }
        Some(other) => Err(format!("{other} is not true or false")),
    }
}

fn qos(value: &Option<Value>) -> Result<u8, String> {
    let n = match value {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(q @ 0..=2) => Ok(q as u8),
        _ => Err(format!(
            "QoS {} (must be 0, 1 or 2)",
            value.as_ref().map(Value::to_string).unwrap_or_default()
        )),
    }
}

/// MQTTX's `userProperties`: `{"k": "v", "k2": ["a", "b"]}` (a JSON text in CSV).
fn user_properties(value: &Value) -> Result<Vec<(String, String)>, String> {
    let value = match value {
        Value::String(text) if text.trim().is_empty() => return Ok(Vec::new()),
        Value::String(text) => {
            serde_json::from_str(text).map_err(|e| format!("user properties are not JSON: {e}"))?
        }
        other => other.clone(),
    };
    let mut out = Vec::new();
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::Array(values) => {
                        for v in values {
                            out.push((key.clone(), scalar_text(&v)));
                        }
                    }
                    v => out.push((key, scalar_text(&v))),
                }
            }
        }
        other => return Err(format!("user properties {other} are not an object")),
    }
    Ok(out)
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Correlation data: a string, or a Node Buffer as JSON (`{"type":"Buffer","data":[…]}`).
fn binary(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(map) => map.get("data").and_then(Value::as_array).map(|data| {
            data.iter()
                .filter_map(|b| b.as_u64().map(|b| b as u8))
                .collect()
        }),
        other => Some(other.to_string().into_bytes()),
    }
}

fn optional_number(value: &Option<Value>) -> Option<u64> {
    match value {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The payload's bytes from its string and MQTTX's `msgType`.
fn payload(text: &str, msg_type: Option<&str>) -> Result<Vec<u8>, String> {
    match msg_type {
        Some("Base64") => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("the payload is marked Base64 and is not: {e}")),
        Some("Hex") => workbench_session::payload::decode_hex(text)
            .map_err(|e| format!("the payload is marked Hex and is not: {e}")),
        _ => Ok(text.as_bytes().to_vec()),
    }
}

fn message_from(
    raw: MqttxMessage,
    client_id: Option<&str>,
    options: &ImportOptions,
) -> Result<Message, String> {
    workbench_wire::topic::validate_name(&raw.topic)
        .map_err(|e| format!("the topic '{}' is not valid: {e}", raw.topic))?;
    let msg_type = raw
        .meta
        .as_deref()
        .and_then(|meta| serde_json::from_str::<Value>(meta).ok())
        .and_then(|meta| {
            meta.get("msgType")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let text = match &raw.payload {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let time_ms = match raw.create_at.as_deref().filter(|t| !t.is_empty()) {
        Some(at) => Some(crate::time::parse_local(at, &options.time_zone)?),
        None => None,
    };
    let props = raw.properties.unwrap_or_default();
    let properties = Properties {
        payload_format_indicator: match props.payload_format_indicator {
            Some(Value::Bool(true)) => Some(1),
            Some(Value::Bool(false)) => Some(0),
            Some(Value::Number(n)) => n.as_u64().map(|n| n.min(1) as u8),
            _ => None,
        },
        message_expiry_interval: props.message_expiry_interval,
        content_type: props.content_type.filter(|s| !s.is_empty()),
        response_topic: props.response_topic.filter(|s| !s.is_empty()),
        correlation_data: props.correlation_data.as_ref().and_then(binary),
        user_properties: match &props.user_properties {
            Some(v) => user_properties(v)?,
            None => Vec::new(),
        },
        subscription_identifiers: optional_number(&props.subscription_identifier)
            .map(|id| vec![id as u32])
            .unwrap_or_default(),
    };
    Ok(Message {
        time_ms,
        topic: raw.topic,
        payload: payload(&text, msg_type.as_deref())?.into(),
        qos: qos(&raw.qos)?,
        retain: flag(&raw.retain)?,
        properties,
        direction: Some(if flag(&raw.out)? {
            Direction::Out
        } else {
            Direction::In
        }),
        client_id: client_id.map(str::to_string),
    })
}

fn parse_message(
    bytes: &[u8],
    client_id: Option<&str>,
    options: &ImportOptions,
) -> Result<Message, String> {
    let raw: MqttxMessage = serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        let text = text
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string();
        format!("not an MQTTX message: {text}")
    })?;
    message_from(raw, client_id, options)
}

/// MQTTX JSON, streamed.
pub struct JsonReader {
    scanner: Scanner<Box<dyn BufRead + Send>>,
    options: ImportOptions,
}

impl JsonReader {
    pub fn new(reader: Box<dyn BufRead + Send>, options: &ImportOptions) -> JsonReader {
        JsonReader {
            scanner: Scanner::new(reader),
            options: options.clone(),
        }
    }
}

impl Iterator for JsonReader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        let problem = |line, reason: String| Some(Entry::Problem(Problem { line, reason }));
        match self.scanner.next_found() {
            Found::End => None,
            Found::Broken { line, reason } => problem(line, reason),
            Found::TooLarge { line } => problem(line, format!("a message over {MAX_LINE} bytes")),
            Found::Object { line, bytes } => {
                let client = self.scanner.client_id.clone();
                Some(
                    match parse_message(&bytes, client.as_deref(), &self.options) {
                        Ok(message) => Entry::Message(message),
                        Err(reason) => Entry::Problem(Problem { line, reason }),
                    },
                )
            }
        }
    }
}

impl Importer for JsonReader {
    fn position(&self) -> u64 {
        self.scanner.position
    }
}

/// MQTTX CSV (either kind), streamed.
pub struct CsvReader {
    csv: csv::Reader<Box<dyn BufRead + Send>>,
    columns: Option<Vec<String>>,
    options: ImportOptions,
    record: csv::StringRecord,
    /// Messages of an older export's row, waiting.
    pending: VecDeque<Entry>,
    done: bool,
}

impl CsvReader {
    pub fn new(reader: Box<dyn BufRead + Send>, options: &ImportOptions) -> CsvReader {
        CsvReader {
            csv: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(reader),
            columns: None,
            options: options.clone(),
            record: csv::StringRecord::new(),
            pending: VecDeque::new(),
            done: false,
        }
    }

    fn field(&self, name: &str) -> Option<&str> {
        let at = self.columns.as_ref()?.iter().position(|c| c == name)?;
        self.record.get(at)
    }

    fn row(&mut self, line: u64) {
        let problem = |reason: String| Entry::Problem(Problem { line, reason });
        if let Some(messages) = self.field("messages").map(str::to_string) {
            // An older export: a connection per row.
            let client = self.field("clientId").map(str::to_string);
            let list: Vec<Value> = match serde_json::from_str(&messages) {
                Ok(Value::Array(list)) => list,
                Ok(_) | Err(_) if messages.trim().is_empty() => Vec::new(),
                Ok(_) => {
                    return self
                        .pending
                        .push_back(problem("the messages column is not a list".into()))
                }
                Err(e) => {
                    return self
                        .pending
                        .push_back(problem(format!("the messages column is not JSON: {e}")))
                }
            };
            for (index, value) in list.into_iter().enumerate() {
                let entry = serde_json::from_value::<MqttxMessage>(value)
                    .map_err(|e| e.to_string())
                    .and_then(|raw| message_from(raw, client.as_deref(), &self.options));
                self.pending.push_back(match entry {
                    Ok(message) => Entry::Message(message),
                    Err(reason) => problem(format!("message {} of the row: {reason}", index + 1)),
                });
            }
            return;
        }
        let text = |name: &str| self.field(name).map(|v| Value::String(v.to_string()));
        let props = MqttxProperties {
            payload_format_indicator: self
                .field("payload_format_indicator")
                .filter(|v| !v.is_empty())
                .map(|v| Value::Bool(v == "true" || v == "1")),
            message_expiry_interval: self
                .field("message_expiry_interval")
                .and_then(|v| v.trim().parse().ok()),
            response_topic: self.field("response_topic").map(str::to_string),
            correlation_data: text("correlation_data"),
            user_properties: text("user_properties"),
            subscription_identifier: text("subscription_identifier"),
            content_type: self.field("content_type").map(str::to_string),
        };
        let Some(topic) = self.field("topic").map(str::to_string) else {
            return self
                .pending
                .push_back(problem("the row has no topic".into()));
        };
        let raw = MqttxMessage {
            create_at: self.field("createAt").map(str::to_string),
            out: Some(Value::Bool(self.field("direction") == Some("publish"))),
            payload: text("payload"),
            qos: text("qos"),
            retain: text("retain"),
            topic,
            meta: None,
            properties: Some(props),
        };
        let client = self.field("client_id").map(str::to_string);
        self.pending
            .push_back(match message_from(raw, client.as_deref(), &self.options) {
                Ok(message) => Entry::Message(message),
                Err(reason) => problem(reason),
            });
    }
}

impl Iterator for CsvReader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            if let Some(entry) = self.pending.pop_front() {
                return Some(entry);
            }
            if self.done {
                return None;
            }
            let line = self.csv.position().line();
            match self.csv.read_record(&mut self.record) {
                Ok(false) => self.done = true,
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        self.done = true;
                    }
                    return Some(Entry::Problem(Problem {
                        line,
                        reason: format!("not a CSV row: {e}"),
                    }));
                }
                Ok(true) => {
                    let line = self.record.position().map_or(line, |p| p.line());
                    if self.columns.is_none() {
                        let header: Vec<String> =
                            self.record.iter().map(|c| c.trim().to_string()).collect();
                        if !is_csv_header(&header.join(",")) {
                            self.done = true;
                            return Some(Entry::Problem(Problem {
                                line,
                                reason: "the first row is not MQTTX's header (topic, payload, createAt…)".into(),
                            }));
                        }
                        self.columns = Some(header);
                        continue;
                    }
                    if self.record.iter().all(|f| f.trim().is_empty()) {
                        continue;
                    }
                    self.row(line);
                }
            }
        }
    }
}

impl Importer for CsvReader {
    fn position(&self) -> u64 {
        self.csv.position().byte()
    }
}
