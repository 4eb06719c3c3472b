//! Protobuf by schema against an independent implementation: the test's `.proto` files (nested
//! messages, an imported file in another package, enums, a map, a oneof, Any and Timestamp) are
//! compiled by PyPI grpcio-tools and payloads encoded by Python's protobuf
//! (`peers/protobuf_peer.py`); the workbench compiles the same files at run time, decodes those
//! payloads through a source's topic mappings, saves the mappings, and encodes JSON that Python
//! then reads back.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use workbench_core::decoders::Decoders;
use workbench_core::hub::TrafficHub;
use workbench_decode::schema::{SchemaConfig, TopicMapping};
use workbench_traffic::source::SourceLimits;
use workbench_traffic::SourceId;

fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

fn python(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(peers().join("protobuf_peer.py"))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the Python peer (grpcio-tools and protobuf; make deps-python installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn mapping(filter: &str, message_type: &str) -> TopicMapping {
    TopicMapping {
        filter: filter.into(),
        message_type: message_type.into(),
    }
}

#[test]
fn payloads_encoded_by_python_protobuf_decode_through_the_topic_mappings() {
    let proto = peers().join("proto");
    let proto_dir = proto.to_str().expect("UTF-8 path");
    let payloads = tempfile::tempdir().expect("payloads");
    python(&["encode", proto_dir, payloads.path().to_str().expect("path")]);
    let read = |name: &str| std::fs::read(payloads.path().join(name)).expect("payload");

    let config_dir = tempfile::tempdir().expect("config");
    let decoders = Decoders::load(Some(config_dir.path().to_path_buf()));
    let hub = TrafficHub::new(SourceLimits::default());
    let source = SourceId::Session("plant".into());
    let config = SchemaConfig {
        files: vec![proto.join("factory/reading.proto").display().to_string()],
        include_dirs: vec![proto_dir.to_owned()],
        mappings: vec![
            mapping("factory/+/reading", "factory.v1.Reading"),
            mapping("factory/+/alarm", ".factory.v1.Alarm"),
            mapping("factory/+/missing", "factory.v1.Nope"),
        ],
    };
    let view = decoders
        .set(&source, config.clone())
        .expect("settings accepted");
    assert_eq!(view.error, None);
    for name in [
        "factory.v1.Reading",
        "factory.v1.Reading.Location",
        "factory.v1.Alarm",
        "factory.common.Measurement",
    ] {
        assert!(
            view.message_types.iter().any(|t| t == name),
            "{name} in {:?}",
            view.message_types
        );
    }

    let decoded = decoders.decode(
        &hub,
        &source,
        "factory/press7/reading",
        &read("reading.bin"),
    );
    let reading = decoded.protobuf.expect("the topic is mapped");
    assert_eq!(reading.message_type, "factory.v1.Reading");
    let value: Value = serde_json::from_str(
        &reading
            .json
            .unwrap_or_else(|| panic!("{:?}", reading.error)),
    )
    .expect("JSON");
    assert_eq!(value["sensor"], "press-7");
    assert_eq!(value["location"], json!({ "line": "L2", "station": 4 }));
    assert_eq!(
        value["measurements"],
        json!([{ "value": 81.5, "unit": "CELSIUS" }, { "value": 2.25, "unit": "BAR" }]),
        "imported messages, enums by name"
    );
    assert_eq!(value["labels"], json!({ "site": "north" }));
    assert_eq!(
        value["extra"],
        json!({ "@type": "type.googleapis.com/factory.v1.Alarm", "code": "E42", "unit": "BAR" }),
        "Any unpacked: its type is in the schema"
    );
    assert_eq!(
        value["counter"], "9007199254740993",
        "64-bit integers exact, as strings"
    );
    assert_eq!(value["at"], "2023-11-14T22:13:20.123Z");
    assert_eq!(value["fault"], "overheat");
    assert!(decoded.sparkplug.is_none() && decoded.compressed.is_none());

    let alarm = decoders
        .decode(&hub, &source, "factory/press7/alarm", &read("alarm.bin"))
        .protobuf
        .expect("mapped");
    let alarm: Value = serde_json::from_str(&alarm.json.expect("decodes")).expect("JSON");
    assert_eq!(alarm, json!({ "code": "E1", "unit": "CELSIUS" }));

    // A payload that does not parse: a clear error naming the type, per message.
    let truncated = decoders
        .decode(
            &hub,
            &source,
            "factory/press7/reading",
            &read("truncated.bin"),
        )
        .protobuf
        .expect("mapped");
    assert!(truncated.json.is_none());
    let error = truncated.error.expect("an error");
    assert!(error.contains("not a factory.v1.Reading"), "{error}");
    let missing = decoders
        .decode(&hub, &source, "factory/press7/missing", &read("alarm.bin"))
        .protobuf
        .expect("mapped");
    assert!(missing
        .error
        .expect("error")
        .contains("no message type factory.v1.Nope"));
    // Unmapped topics and other sources are left alone.
    assert!(decoders
        .decode(&hub, &source, "other/reading", &read("alarm.bin"))
        .protobuf
        .is_none());
    assert!(decoders
        .decode(
            &hub,
            &SourceId::Broker,
            "factory/press7/reading",
            &read("reading.bin")
        )
        .protobuf
        .is_none());

    // Saved: a new start has the same settings.
    let again = Decoders::load(Some(config_dir.path().to_path_buf()));
    assert_eq!(again.view(&source).config, config);

    // JSON encoded as a type is what Python's protobuf reads.
    let bytes = decoders
        .encode(
            &source,
            "factory.v1.Reading",
            r#"{"sensor": "s1", "location": {"station": 9}, "measurements": [{"value": 1.5, "unit": "BAR"}], "counter": "-5", "ok": "fine"}"#,
        )
        .expect("encodes");
    let file = payloads.path().join("ours.bin");
    std::fs::write(&file, bytes).expect("write");
    let theirs: Value = serde_json::from_str(&python(&[
        "decode",
        proto_dir,
        "factory.v1.Reading",
        file.to_str().expect("path"),
    ]))
    .expect("JSON");
    assert_eq!(
        theirs,
        json!({
            "sensor": "s1",
            "location": { "station": 9 },
            "measurements": [{ "value": 1.5, "unit": "BAR" }],
            "counter": "-5",
            "ok": "fine"
        })
    );
    let refused = decoders
        .encode(&source, "factory.v1.Reading", r#"{"sensor": 5}"#)
        .expect_err("a number is not a string");
    assert!(
        refused.message.contains("not a factory.v1.Reading"),
        "{}",
        refused.message
    );
}

#[test]
fn files_that_do_not_compile_are_kept_and_say_why() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("broken.proto");
    std::fs::write(
        &file,
        "syntax = \"proto3\";\nimport \"nowhere/else.proto\";\n",
    )
    .expect("write");
    let decoders = Decoders::load(None);
    let view = decoders
        .set(
            &SourceId::Broker,
            SchemaConfig {
                files: vec![file.display().to_string()],
                include_dirs: vec![],
                mappings: vec![mapping("a/#", "x.Y")],
            },
        )
        .expect("kept");
    let error = view.error.expect("does not compile");
    assert!(error.contains("nowhere/else.proto"), "{error}");
    let refused = decoders.set(
        &SourceId::Broker,
        SchemaConfig {
            mappings: vec![mapping("a/#/b", "x.Y")],
            ..SchemaConfig::default()
        },
    );
    assert!(refused.is_err(), "a malformed filter is refused");
}
