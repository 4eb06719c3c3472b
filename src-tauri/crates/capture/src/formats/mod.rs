//! Reading captures in the formats users already have, as a stream of messages and problems:
//!
//! - [`Format::Recording`]: our own JSON Lines ([`crate::jsonl`]).
//! - [`Format::MqttxJson`], [`Format::MqttxCsv`]: MQTTX's *Export Data* (a JSON array of
//!   connections, each with its `messages`; a CSV with one message per row, or the older one
//!   connection per row with its messages as JSON in a column) ([`mqttx`]).
//! - [`Format::HivemqJson`]: HiveMQ mqtt-cli `mqtt sub -J` output, pretty-printed JSON objects
//!   one after another ([`hivemq`]).
//! - [`Format::MqttuiJson`]: mqttui `log --json`, one JSON object per line ([`mqttui`]).
//! - [`Format::RecorderCsv`]: the CSV of mqtt-recorder (topic, payload, QoS, retain, time,
//!   delta; no header) ([`recorder`]).
//!
//! Every reader streams (memory stays flat for files of any size) and never stops at a broken
//! entry: it yields a [`Problem`] with the entry's line number and goes on with the next.

pub mod hivemq;
mod json_scan;
pub mod mqttui;
pub mod mqttx;
mod pcapfile;
pub mod recorder;
mod recording;

use crate::lines::Problem;
use crate::message::Message;
use serde::{Deserialize, Serialize};
use std::io::BufRead;

/// A capture file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// MQTT Workbench's recording (JSON Lines).
    Recording,
    /// MQTTX *Export Data* as JSON.
    MqttxJson,
    /// MQTTX *Export Data* as CSV.
    MqttxCsv,
    /// HiveMQ mqtt-cli `sub -J`.
    HivemqJson,
    /// mqttui `log --json`.
    MqttuiJson,
    /// mqtt-recorder's CSV.
    RecorderCsv,
    /// A pcap or pcapng capture (tcpdump, Wireshark): the PUBLISH packets clients sent.
    Pcap,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Recording,
        Format::MqttxJson,
        Format::MqttxCsv,
        Format::HivemqJson,
        Format::MqttuiJson,
        Format::RecorderCsv,
        Format::Pcap,
    ];

    /// The name options and the UI use (`recording`, `mqttx-json`...).
    pub fn id(self) -> &'static str {
        match self {
            Format::Recording => "recording",
            Format::MqttxJson => "mqttx-json",
            Format::MqttxCsv => "mqttx-csv",
            Format::HivemqJson => "hivemq-json",
            Format::MqttuiJson => "mqttui-json",
            Format::RecorderCsv => "recorder-csv",
            Format::Pcap => "pcap",
        }
    }

    /// What it is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Recording => "MQTT Workbench recording (JSON Lines)",
            Format::MqttxJson => "MQTTX export (JSON)",
            Format::MqttxCsv => "MQTTX export (CSV)",
            Format::HivemqJson => "HiveMQ mqtt-cli sub -J",
            Format::MqttuiJson => "mqttui log --json",
            Format::RecorderCsv => "mqtt-recorder CSV",
            Format::Pcap => "pcap or pcapng capture (tcpdump, Wireshark)",
        }
    }

    pub fn from_id(id: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.id() == id)
    }

    /// Recognises a format from the start of a file (a few kilobytes are enough).
    pub fn detect(head: &[u8]) -> Option<Format> {
        if let Some(magic) = head.get(..4) {
            let pcap = [
                [0xD4, 0xC3, 0xB2, 0xA1],
                [0xA1, 0xB2, 0xC3, 0xD4],
                [0x4D, 0x3C, 0xB2, 0xA1],
                [0xA1, 0xB2, 0x3C, 0x4D],
                [0x0A, 0x0D, 0x0D, 0x0A],
            ];
            if pcap.iter().any(|m| m == magic) {
                return Some(Format::Pcap);
            }
        }
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}');
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            return Some(Format::MqttxJson);
        }
        let first_line = trimmed.lines().next().unwrap_or_default().trim_end();
        if first_line.starts_with('{') {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(first_line) {
                if crate::jsonl::looks_like(&value) {
                    return Some(Format::Recording);
                }
                if mqttui::looks_like(&value) {
                    return Some(Format::MqttuiJson);
                }
                if value.get("messages").is_some() {
                    return Some(Format::MqttxJson);
                }
                if hivemq::looks_like(&value) {
                    return Some(Format::HivemqJson);
                }
                return None;
            }
            // An object spread over lines: mqtt-cli pretty-prints, MQTTX exports one connection.
            if trimmed.contains("\"receivedAt\"") {
                return Some(Format::HivemqJson);
            }
            if trimmed.contains("\"messages\"") || trimmed.contains("\"clientId\"") {
                return Some(Format::MqttxJson);
            }
            return None;
        }
        if first_line.ends_with(": {") && trimmed.contains("\"receivedAt\"") {
            // mqtt-cli -J -T: each object after its topic.
            return Some(Format::HivemqJson);
        }
        if mqttx::is_csv_header(first_line) {
            return Some(Format::MqttxCsv);
        }
        if recorder::looks_like(first_line) {
            return Some(Format::RecorderCsv);
        }
        None
    }
}

/// How to read files whose content leaves something open.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The zone of local times without one (MQTTX, mqtt-cli, mqttui): the system's by default.
    pub time_zone: jiff::tz::TimeZone,
    /// mqtt-recorder's payloads are base64 (it was run with `--encode_b64 True`).
    pub recorder_base64: bool,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            time_zone: crate::time::system_zone(),
            recorder_base64: false,
        }
    }
}

/// One thing read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
// Entries pass one at a time (or a few hundred in a channel): boxing every message to save the
// size of a problem would cost an allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Entry {
    Message(Message),
    Problem(Problem),
}

/// A stream of entries read from a file.
pub trait Importer: Iterator<Item = Entry> + Send {
    /// Bytes of the file read so far.
    fn position(&self) -> u64;
}

/// Reads `reader` as `format`.
pub fn open(
    format: Format,
    reader: Box<dyn BufRead + Send>,
    options: &ImportOptions,
) -> Box<dyn Importer> {
    match format {
        Format::Recording => Box::new(recording::RecordingReader::new(reader)),
        Format::MqttxJson => Box::new(mqttx::JsonReader::new(reader, options)),
        Format::MqttxCsv => Box::new(mqttx::CsvReader::new(reader, options)),
        Format::HivemqJson => Box::new(hivemq::Reader::new(reader, options)),
        Format::MqttuiJson => Box::new(mqttui::Reader::new(reader, options)),
        Format::RecorderCsv => Box::new(recorder::Reader::new(reader, options)),
        Format::Pcap => Box::new(pcapfile::Reader::new(reader)),
    }
}

/// Why a file could not be opened for reading.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path} is not a regular file")]
    NotAFile { path: String },
    #[error("{path} is in no format this version reads (a recording, MQTTX JSON or CSV, HiveMQ mqtt-cli sub -J, mqttui log --json, mqtt-recorder CSV); name the format to read it anyway")]
    Unknown { path: String },
}

/// How much to look at to recognise a format.
const DETECT_BYTES: usize = 64 * 1024;

/// Opens a file, recognising its format unless `format` names it. Returns the format and the
/// stream of its entries.
pub fn open_file(
    path: &std::path::Path,
    format: Option<Format>,
    options: &ImportOptions,
) -> Result<(Format, Box<dyn Importer>, u64), OpenError> {
    let shown = || path.display().to_string();
    // Looked at before opening: opening a FIFO would wait for a writer.
    let before = std::fs::metadata(path).map_err(|error| OpenError::Io {
        path: shown(),
        error,
    })?;
    if !before.is_file() {
        return Err(OpenError::NotAFile { path: shown() });
    }
    let file = std::fs::File::open(path).map_err(|error| OpenError::Io {
        path: shown(),
        error,
    })?;
    let meta = file.metadata().map_err(|error| OpenError::Io {
        path: shown(),
        error,
    })?;
    if !meta.is_file() {
        return Err(OpenError::NotAFile { path: shown() });
    }
    let mut reader = std::io::BufReader::with_capacity(DETECT_BYTES, file);
    let format = match format {
        Some(format) => format,
        None => {
            let head = reader.fill_buf().map_err(|error| OpenError::Io {
                path: shown(),
                error,
            })?;
            Format::detect(head).ok_or(OpenError::Unknown { path: shown() })?
        }
    };
    Ok((format, open(format, Box::new(reader), options), meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_from_their_first_bytes() {
        let cases: [(&str, Option<Format>); 9] = [
            ("{\"v\":1,\"topic\":\"a\",\"payload\":\"\"}\n", Some(Format::Recording)),
            ("[\n  {\n    \"id\": \"x\",\n", Some(Format::MqttxJson)),
            ("{\"time\":null,\"qos\":0,\"topic\":\"a\",\"size\":1,\"payload\":1}\n", Some(Format::MqttuiJson)),
            ("{\n  \"topic\": \"a\",\n  \"payload\": \"x\",\n  \"qos\": \"AT_MOST_ONCE\",\n  \"receivedAt\": \"2024-01-01 10:00:00\",\n", Some(Format::HivemqJson)),
            ("a/b: {\n  \"topic\": \"a/b\",\n  \"receivedAt\": \"2024-01-01 10:00:00\",\n", Some(Format::HivemqJson)),
            ("\"client_id\",\"connection_name\",\"topic\",\"payload\",\"qos\",\"retain\",\"direction\",\"createAt\"\n", Some(Format::MqttxCsv)),
            ("client_id,connection_name,topic,payload,qos,retain,direction,createAt,payload_format_indicator\n", Some(Format::MqttxCsv)),
            ("sensors/t,21.5,0,False,1700000000.5,0.0\r\n", Some(Format::RecorderCsv)),
            ("hello world\n", None),
        ];
        for (head, expected) in cases {
            assert_eq!(Format::detect(head.as_bytes()), expected, "{head}");
        }
        for format in Format::ALL {
            assert_eq!(Format::from_id(format.id()), Some(format));
        }
    }
}
