//! mqttui `log --json`, read back: one JSON object per line,
//!
//! ```json
//! {"time":"2024-03-05T14:22:31.123456789","qos":1,"topic":"sensors/t","size":4,"payload":21.5}
//! ```
//!
//! `time` is local wall-clock time without a zone, or `null` for a retained message (mqttui
//! writes no time for those, and no retain flag: a `null` time is how retain shows). `payload`
//! is the payload as mqttui understood it: a JSON string for text, the JSON value itself for a
//! JSON payload (it comes back compact: the same values, not the same spaces or key order), an array of byte
//! values for binary data (told apart from a JSON array by `size`, the payload's length).
//! MessagePack payloads are written as the decoded value and cannot be turned back into their
//! bytes: read as the JSON text of that value.

use super::{Entry, ImportOptions, Importer};
use crate::lines::{Line, LineReader, Problem, MAX_LINE};
use crate::message::{Direction, Message};
use serde::Deserialize;
use serde_json::Value;
use std::io::BufRead;

/// True for a line of mqttui's JSON log.
pub fn looks_like(value: &Value) -> bool {
    let Some(object) = value.as_object() else {
        return false;
    };
    ["time", "qos", "topic", "size", "payload"]
        .iter()
        .all(|key| object.contains_key(*key))
}

#[derive(Deserialize)]
struct Logged {
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    qos: u8,
    topic: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    payload: Value,
}

/// The bytes of the payload mqttui wrote.
fn payload(value: Value, size: Option<u64>) -> Vec<u8> {
    match value {
        Value::String(text) => text.into_bytes(),
        Value::Null => Vec::new(),
        Value::Array(items)
            if size == Some(items.len() as u64)
                && items.iter().all(|b| b.as_u64().is_some_and(|b| b <= 255)) =>
        {
            // Binary: a JSON array of n numbers is at least 2n + 1 bytes as text, never n.
            items
                .iter()
                .map(|b| b.as_u64().unwrap_or_default() as u8)
                .collect()
        }
        other => serde_json::to_vec(&other).unwrap_or_default(),
    }
}

fn parse(text: &[u8], options: &ImportOptions) -> Result<Message, String> {
    let raw: Logged = serde_json::from_slice(text).map_err(|e| {
        let text = e.to_string();
        let text = text
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string();
        format!("not an mqttui log line: {text}")
    })?;
    workbench_wire::topic::validate_name(&raw.topic)
        .map_err(|e| format!("the topic '{}' is not valid: {e}", raw.topic))?;
    if raw.qos > 2 {
        return Err(format!("QoS {} (must be 0, 1 or 2)", raw.qos));
    }
    let time_ms = match raw.time.as_deref() {
        Some(at) => Some(crate::time::parse_local(at, &options.time_zone)?),
        None => None,
    };
    Ok(Message {
        time_ms,
        retain: time_ms.is_none(),
        topic: raw.topic,
        payload: payload(raw.payload, raw.size).into(),
        qos: raw.qos,
        direction: Some(Direction::In),
        ..Message::default()
    })
}

/// mqttui's log, streamed line by line.
pub struct Reader {
    lines: LineReader<Box<dyn BufRead + Send>>,
    options: ImportOptions,
    done: bool,
}

impl Reader {
    pub fn new(reader: Box<dyn BufRead + Send>, options: &ImportOptions) -> Reader {
        Reader {
            lines: LineReader::new(reader, MAX_LINE),
            options: options.clone(),
            done: false,
        }
    }
}

impl Iterator for Reader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        while !self.done {
            let problem = |line, reason: String| Some(Entry::Problem(Problem { line, reason }));
            match self.lines.next_line() {
                Ok(Line::End) => self.done = true,
                Err(e) => {
                    self.done = true;
                    let line = self.lines.number() + 1;
                    return problem(line, format!("reading stopped: {e}"));
                }
                Ok(Line::TooLong(line)) => {
                    return problem(line, format!("longer than {MAX_LINE} bytes"));
                }
                Ok(Line::Text(_, text)) if text.iter().all(u8::is_ascii_whitespace) => {}
                Ok(Line::Text(line, text)) => {
                    return Some(match parse(text, &self.options) {
                        Ok(message) => Entry::Message(message),
                        Err(reason) => Entry::Problem(Problem { line, reason }),
                    });
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
