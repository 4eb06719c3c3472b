//! The CSV of mqtt-recorder (the Python tool, `pip install mqtt-recorder`), read back: no header,
//! one message per row, `topic, payload, qos, retain, time, delta`:
//!
//! ```text
//! sensors/t,21.5,0,False,1709648551.4567,0.25
//! ```
//!
//! `retain` is Python's `True`/`False`, `time` seconds since the epoch (`time.time()`), `delta`
//! seconds since the previous message. The payload is text, or base64 when the recording was
//! made with `--encode_b64` (which the file does not say: [`ImportOptions::recorder_base64`]).

use super::{Entry, ImportOptions, Importer};
use crate::lines::Problem;
use crate::message::{Direction, Message};
use base64::Engine;
use std::io::BufRead;

/// True for a first line that reads as an mqtt-recorder row.
pub fn looks_like(line: &str) -> bool {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    matches!(reader.read_record(&mut record), Ok(true))
        && record.len() == 6
        && parse_row(&record, false).is_ok()
}

fn parse_row(record: &csv::StringRecord, base64: bool) -> Result<Message, String> {
    if record.len() != 6 {
        return Err(format!(
            "{} columns; mqtt-recorder writes 6 (topic, payload, qos, retain, time, delta)",
            record.len()
        ));
    }
    let topic = &record[0];
    workbench_wire::topic::validate_name(topic)
        .map_err(|e| format!("the topic '{topic}' is not valid: {e}"))?;
    let payload = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(record[1].trim())
            .map_err(|e| format!("the payload is not base64: {e}"))?
    } else {
        record[1].as_bytes().to_vec()
    };
    let qos = match record[2].trim() {
        "0" => 0,
        "1" => 1,
        "2" => 2,
        other => return Err(format!("QoS '{other}' (must be 0, 1 or 2)")),
    };
    let retain = match record[3].trim() {
        "True" | "true" | "1" => true,
        "False" | "false" | "0" => false,
        other => return Err(format!("retain '{other}' is not True or False")),
    };
    let time_ms = crate::time::parse_epoch_seconds(&record[4])?;
    if record[5].trim().parse::<f64>().is_err() {
        return Err(format!(
            "the delta '{}' is not a number of seconds",
            record[5].trim()
        ));
    }
    Ok(Message {
        time_ms: Some(time_ms),
        topic: topic.to_string(),
        payload: payload.into(),
        qos,
        retain,
        direction: Some(Direction::In),
        ..Message::default()
    })
}

/// mqtt-recorder's CSV, streamed.
pub struct Reader {
    csv: csv::Reader<Box<dyn BufRead + Send>>,
    record: csv::StringRecord,
    base64: bool,
    done: bool,
}

impl Reader {
    pub fn new(reader: Box<dyn BufRead + Send>, options: &ImportOptions) -> Reader {
        Reader {
            // Rows end with "\r\n" (Python's csv module): split at "\n" only, so each row's
            // position is its own line (the "\r" is left on the last field, which is trimmed).
            csv: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_reader(reader),
            record: csv::StringRecord::new(),
            base64: options.recorder_base64,
            done: false,
        }
    }
}

impl Iterator for Reader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        while !self.done {
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
                    if self.record.iter().all(|f| f.trim().is_empty()) {
                        continue;
                    }
                    let line = self.record.position().map_or(line, |p| p.line());
                    return Some(match parse_row(&self.record, self.base64) {
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
        self.csv.position().byte()
    }
}
