//! Files in each peer's format, written by hand from the formats' documentation and source
//! (`tests/fixtures/`), each with one broken entry: recognised without being told the format,
//! read into messages, the broken entry reported with its line number and the rest kept.

use std::path::PathBuf;
use workbench_capture::formats::{open_file, Entry, Format, ImportOptions};
use workbench_capture::{Message, Problem};

fn read(name: &str) -> (Format, Vec<Message>, Vec<Problem>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let options = ImportOptions {
        time_zone: jiff::tz::TimeZone::UTC,
        recorder_base64: false,
    };
    let (format, entries, size) = open_file(&path, None, &options).expect("recognised");
    assert!(size > 0);
    let mut messages = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        match entry {
            Entry::Message(m) => messages.push(m),
            Entry::Problem(p) => problems.push(p),
        }
    }
    (format, messages, problems)
}

fn utc(text: &str) -> Option<u64> {
    Some(workbench_capture::time::parse_local(text, &jiff::tz::TimeZone::UTC).expect("a time"))
}

fn topics(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.topic.as_str()).collect()
}

#[test]
fn mqttx_json() {
    let (format, messages, problems) = read("mqttx-export.json");
    assert_eq!(format, Format::MqttxJson);
    assert_eq!(
        topics(&messages),
        ["greenhouse/temp", "greenhouse/raw", "greenhouse/hex"]
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 31, "{problems:?}");
    assert!(problems[0].reason.contains("QoS 7"), "{problems:?}");
    let temp = &messages[0];
    assert_eq!(temp.payload.as_ref(), b"{\n  \"celsius\": 21.5\n}");
    assert_eq!((temp.qos, temp.retain), (1, false));
    assert_eq!(temp.time_ms, utc("2024-03-05 14:22:31.456"));
    assert_eq!(temp.client_id.as_deref(), Some("mqttx_4f2a91"));
    let raw = &messages[1];
    assert_eq!(raw.payload.as_ref(), &[0u8, 0xff], "Base64 decoded");
    assert!(raw.retain);
    assert_eq!(raw.direction, Some(workbench_capture::Direction::Out));
    assert_eq!(
        raw.properties.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        raw.properties.user_properties,
        [("site".to_string(), "north".to_string())]
    );
    assert_eq!(messages[2].payload.as_ref(), b"hi", "Hex decoded");
}

#[test]
fn mqttx_csv() {
    let (format, messages, problems) = read("mqttx-export.csv");
    assert_eq!(format, Format::MqttxCsv);
    assert_eq!(
        topics(&messages),
        ["greenhouse/temp", "greenhouse/cmd", "greenhouse/last"]
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    // The quoted payload of row 3 spans two lines: the broken row starts on line 5.
    assert_eq!(problems[0].line, 5, "{problems:?}");
    let temp = &messages[0];
    assert_eq!(temp.payload.as_ref(), b"{\"celsius\": 21.5}");
    let p = &temp.properties;
    assert_eq!(p.payload_format_indicator, Some(1));
    assert_eq!(p.message_expiry_interval, Some(60));
    assert_eq!(p.response_topic.as_deref(), Some("greenhouse/reply"));
    assert_eq!(p.correlation_data.as_deref(), Some(&b"req-1"[..]));
    assert_eq!(p.subscription_identifiers, [3]);
    assert_eq!(
        p.user_properties,
        [("site".to_string(), "north".to_string())]
    );
    let cmd = &messages[1];
    assert_eq!(cmd.payload.as_ref(), b"line one\nline two");
    assert_eq!((cmd.qos, cmd.retain), (2, true));
    assert_eq!(cmd.direction, Some(workbench_capture::Direction::Out));
    assert_eq!(cmd.time_ms, utc("2024-03-05 14:22:32"));
}

#[test]
fn hivemq_mqtt_cli_sub_json() {
    let (format, messages, problems) = read("hivemq-sub-J.txt");
    assert_eq!(format, Format::HivemqJson);
    assert_eq!(topics(&messages), ["sensors/t", "sensors/j", "sensors/t"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 25, "{problems:?}");
    assert!(problems[0].reason.contains("SOMETIMES"), "{problems:?}");
    assert_eq!(messages[0].qos, 1);
    assert_eq!(messages[0].time_ms, utc("2024-03-05 14:22:31"));
    let json = &messages[1];
    assert_eq!(
        json.payload.as_ref(),
        b"{\"celsius\":21.5}",
        "JSON payloads come back compact"
    );
    assert!(json.retain);
    assert_eq!(json.properties.payload_format_indicator, Some(1));
    assert_eq!(
        json.properties.user_properties,
        [("site".to_string(), "north".to_string())]
    );
    assert_eq!(messages[2].qos, 2);
}

#[test]
fn mqttui_log_json() {
    let (format, messages, problems) = read("mqttui-log.jsonl");
    assert_eq!(format, Format::MqttuiJson);
    assert_eq!(
        topics(&messages),
        [
            "espHome/co2/state",
            "espHome/status",
            "espHome/raw",
            "espHome/json"
        ]
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 4, "{problems:?}");
    let retained = &messages[0];
    assert!(
        retained.retain && retained.time_ms.is_none(),
        "no time: retained"
    );
    assert_eq!(retained.payload.as_ref(), b"450.8");
    assert_eq!(messages[1].time_ms, utc("2024-03-05 14:22:31.123"));
    assert_eq!(
        messages[2].payload.as_ref(),
        &[0u8, 255, 16],
        "binary: its bytes"
    );
    // The same JSON value (mqttui wrote the value, not the text: spaces and key order differ).
    let json: serde_json::Value = serde_json::from_slice(&messages[3].payload).unwrap();
    assert_eq!(json, serde_json::json!({"on": true, "n": [1, 2]}));
    assert_eq!(messages[3].qos, 2);
}

#[test]
fn mqtt_recorder_csv() {
    let (format, messages, problems) = read("mqtt-recorder.csv");
    assert_eq!(format, Format::RecorderCsv);
    assert_eq!(topics(&messages), ["sensors/t", "sensors/h", "sensors/t"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 3, "{problems:?}");
    assert!(problems[0].reason.contains("QoS '3'"), "{problems:?}");
    assert_eq!(messages[1].payload.as_ref(), b"55,2");
    assert_eq!((messages[1].qos, messages[1].retain), (1, true));
    assert_eq!(messages[0].time_ms, Some(1_709_648_551_457));
}

#[test]
fn folders_and_fifos_are_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for path in [dir.path().to_path_buf(), fifo] {
        match open_file(&path, None, &ImportOptions::default()) {
            Err(e) => assert!(e.to_string().ends_with("is not a regular file"), "{e}"),
            Ok(_) => panic!("{} was opened", path.display()),
        }
    }
}
