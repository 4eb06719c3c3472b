//! HiveMQ mqtt-cli `mqtt sub -J` (`--json-output`) output, read back: one pretty-printed JSON
//! object per message, one after another, each starting with `{` and ending with `}` alone on a
//! line (with `-T`, the first line is `<topic>: {`):
//!
//! ```json
//! {
//!   "topic": "sensors/t",
//!   "payload": {"celsius": 21.5},
//!   "qos": "AT_LEAST_ONCE",
//!   "receivedAt": "2024-03-05 14:22:31",
//!   "retain": false,
//!   "contentType": "application/json",
//!   "userProperties": [{"name": "site", "value": "north"}]
//! }
//! ```
//!
//! `payload` is the payload itself when it is JSON, else a string (base64 with `-b64`, which the
//! file does not say: read as text). JSON payloads come back compact: the same values, not the
//! same spaces. `receivedAt` is local time to the second. MQTT 5 fields: `contentType`,
//! `payloadFormatIndicator` (`UTF_8`, `UNSPECIFIED`), `messageExpiryInterval`, `responseTopic`,
//! `correlationData` (text), `userProperties`.

use super::{Entry, ImportOptions, Importer};
use crate::lines::{Line, LineReader, Problem, MAX_LINE};
use crate::message::{Direction, Message, Properties};
use serde::Deserialize;
use serde_json::Value;
use std::io::BufRead;

/// True for a (single-line) mqtt-cli object.
pub fn looks_like(value: &Value) -> bool {
    value.get("receivedAt").is_some() && value.get("topic").is_some()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Published {
    topic: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    qos: Value,
    #[serde(default)]
    received_at: Option<String>,
    #[serde(default)]
    retain: bool,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    payload_format_indicator: Option<Value>,
    #[serde(default)]
    message_expiry_interval: Option<u32>,
    #[serde(default)]
    response_topic: Option<String>,
    #[serde(default)]
    correlation_data: Option<String>,
    #[serde(default)]
    user_properties: Vec<NameValue>,
}

#[derive(Deserialize)]
struct NameValue {
    name: String,
    value: String,
}

fn qos(value: &Value) -> Result<u8, String> {
    match value {
        Value::Null => Ok(0),
        Value::String(s) => match s.as_str() {
            "AT_MOST_ONCE" => Ok(0),
            "AT_LEAST_ONCE" => Ok(1),
            "EXACTLY_ONCE" => Ok(2),
            other => Err(format!(
                "QoS '{other}' is not AT_MOST_ONCE, AT_LEAST_ONCE or EXACTLY_ONCE"
            )),
        },
        Value::Number(n) if n.as_u64().is_some_and(|q| q <= 2) => Ok(n.as_u64().unwrap_or(0) as u8),
        other => Err(format!("QoS {other} is not 0, 1 or 2")),
    }
}

fn parse(text: &[u8], options: &ImportOptions) -> Result<Message, String> {
    let raw: Published = serde_json::from_slice(text).map_err(|e| {
        let text = e.to_string();
        let text = text
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string();
        format!("not an mqtt-cli message: {text}")
    })?;
    workbench_wire::topic::validate_name(&raw.topic)
        .map_err(|e| format!("the topic '{}' is not valid: {e}", raw.topic))?;
    let payload = match raw.payload {
        Value::String(s) => s.into_bytes(),
        Value::Null => Vec::new(),
        other => serde_json::to_vec(&other).unwrap_or_default(),
    };
    let time_ms = match raw.received_at.as_deref() {
        Some(at) => Some(crate::time::parse_local(at, &options.time_zone)?),
        None => None,
    };
    let properties = Properties {
        payload_format_indicator: match raw.payload_format_indicator {
            Some(Value::String(s)) if s == "UTF_8" => Some(1),
            Some(Value::String(s)) if s == "UNSPECIFIED" => Some(0),
            Some(Value::Number(n)) => n.as_u64().map(|n| n.min(1) as u8),
            _ => None,
        },
        message_expiry_interval: raw.message_expiry_interval,
        content_type: raw.content_type,
        response_topic: raw.response_topic,
        correlation_data: raw.correlation_data.map(String::into_bytes),
        user_properties: raw
            .user_properties
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect(),
        subscription_identifiers: Vec::new(),
    };
    Ok(Message {
        time_ms,
        topic: raw.topic,
        payload: payload.into(),
        qos: qos(&raw.qos)?,
        retain: raw.retain,
        properties,
        direction: Some(Direction::In),
        client_id: None,
    })
}

/// mqtt-cli output, streamed object by object.
pub struct Reader {
    lines: LineReader<Box<dyn BufRead + Send>>,
    options: ImportOptions,
    /// The object being gathered: its first line and its text so far.
    open: Option<(u64, Vec<u8>)>,
    done: bool,
}

impl Reader {
    pub fn new(reader: Box<dyn BufRead + Send>, options: &ImportOptions) -> Reader {
        Reader {
            lines: LineReader::new(reader, MAX_LINE),
            options: options.clone(),
            open: None,
            done: false,
        }
    }

    fn finish(&mut self, line: u64, text: &[u8]) -> Entry {
        match parse(text, &self.options) {
            Ok(message) => Entry::Message(message),
            Err(reason) => Entry::Problem(Problem { line, reason }),
        }
    }
}

/// The object part of a line that starts one: `{…` or, with `-T`, `<topic>: {…`.
fn object_start(text: &[u8]) -> Option<&[u8]> {
    if text.first() == Some(&b'{') {
        return Some(text);
    }
    let at = text.windows(3).position(|w| w == b": {")?;
    Some(&text[at + 2..])
}

impl Iterator for Reader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        while !self.done {
            let line = match self.lines.next_line() {
                Ok(Line::End) => {
                    self.done = true;
                    let (start, _) = self.open.take()?;
                    return Some(Entry::Problem(Problem {
                        line: start,
                        reason: "the file ends inside this message".into(),
                    }));
                }
                Err(e) => {
                    self.done = true;
                    let line = self.lines.number() + 1;
                    return Some(Entry::Problem(Problem {
                        line,
                        reason: format!("reading stopped: {e}"),
                    }));
                }
                Ok(Line::TooLong(number)) => {
                    self.open = None;
                    return Some(Entry::Problem(Problem {
                        line: number,
                        reason: format!("longer than {MAX_LINE} bytes"),
                    }));
                }
                Ok(Line::Text(number, text)) => (number, text.to_vec()),
            };
            let (number, text) = line;
            if let Some((start, gathered)) = &mut self.open {
                if text.first() == Some(&b'{')
                    || object_start(&text).is_some_and(|o| o == b"{") && !text.starts_with(b" ")
                {
                    // A new object starts while one is open: the open one was cut short.
                    let start = *start;
                    self.open = Some((number, object_start(&text).unwrap_or(&text).to_vec()));
                    return Some(Entry::Problem(Problem {
                        line: start,
                        reason: "this message is cut short (a new one starts before it ends)"
                            .into(),
                    }));
                }
                if gathered.len() + text.len() > MAX_LINE {
                    let start = *start;
                    self.open = None;
                    return Some(Entry::Problem(Problem {
                        line: start,
                        reason: format!("a message over {MAX_LINE} bytes"),
                    }));
                }
                gathered.push(b'\n');
                gathered.extend_from_slice(&text);
                if text.as_slice() == b"}" {
                    let (start, gathered) = self.open.take()?;
                    return Some(self.finish(start, &gathered));
                }
                continue;
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match object_start(&text) {
                Some(object)
                    if object.ends_with(b"}")
                        && serde_json::from_slice::<Value>(object).is_ok() =>
                {
                    let object = object.to_vec();
                    return Some(self.finish(number, &object));
                }
                Some(object) => self.open = Some((number, object.to_vec())),
                None => {
                    return Some(Entry::Problem(Problem {
                        line: number,
                        reason: "not part of an mqtt-cli message".into(),
                    }))
                }
            }
        }
        None
    }
}

impl Importer for Reader {
    fn position(&self) -> u64 {
        self.lines.position
    }
}
