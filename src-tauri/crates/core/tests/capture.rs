//! The app's capture service against the real embedded broker and mosquitto_pub/sub: record
//! what clients publish, replay it paused, step one message, then play the rest.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use workbench_broker::{Broker, BrokerSettings};
use workbench_capture::replay::{Control, ReplayOptions, ReplayState};
use workbench_core::capture::{CaptureService, RecordSource, ReplayTarget};
use workbench_session::secrets::Secrets;
use workbench_session::SessionManager;

fn publish(port: u16, topic: &str, message: &str) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1"])
        .args(["-t", topic, "-m", message])
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_the_broker_then_replay_paused_and_stepped() {
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let broker = Broker::start(settings, None).await.unwrap();
    let address = broker.local_addr();
    let config = tempfile::tempdir().unwrap();
    let secrets = Arc::new(Secrets::memory_only("tests"));
    let (traffic, _keep) = tokio::sync::mpsc::channel(16);
    let sessions = Arc::new(SessionManager::new(None, secrets.clone(), traffic));
    let capture = CaptureService::new(sessions, secrets, Some(config.path()));
    let started = capture
        .start_recording(RecordSource::Broker(address), vec!["lab/#".into()])
        .await
        .unwrap();
    assert!(started.running);
    assert!(capture
        .start_recording(RecordSource::Broker(address), Vec::new())
        .await
        .unwrap_err()
        .message
        .contains("already running"));
    for n in 0..3 {
        publish(address.port(), &format!("lab/{n}"), &format!("m{n}"));
    }
    publish(address.port(), "other/x", "not recorded");
    let mut updates = capture.recording_updates();
    tokio::time::timeout(
        Duration::from_secs(20),
        updates.wait_for(|s| s.as_ref().is_some_and(|s| s.messages >= 3)),
    )
    .await
    .expect("recorded in time")
    .unwrap();
    let done = capture.stop_recording().await.unwrap();
    assert_eq!((done.messages, done.running), (3, false), "{done:?}");
    let files = capture.recordings();
    assert_eq!(files.len(), 1);
    assert!(files[0]
        .path
        .starts_with(&config.path().join("recordings").display().to_string()));

    // Replay to the broker, paused: nothing until a step, then one message, then the rest.
    let mut watch = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &address.port().to_string(),
            "-q",
            "1",
        ])
        .args(["-t", "lab/#", "-v", "-C", "3", "-W", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let options = ReplayOptions {
        start_paused: true,
        ..ReplayOptions::default()
    };
    let path = std::path::PathBuf::from(&files[0].path);
    capture
        .start_replay(&path, ReplayTarget::Broker, Some(address), options)
        .await
        .unwrap();
    let mut progress = capture.replay_updates();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(progress.borrow().as_ref().map(|p| p.sent), Some(0));
    capture.control_replay(Control::Step).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        progress.wait_for(|p| p.as_ref().is_some_and(|p| p.sent == 1)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(capture
        .control_replay(Control::Speed(1000.0))
        .await
        .is_err());
    capture.control_replay(Control::Speed(100.0)).await.unwrap();
    capture.control_replay(Control::Play).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        progress.wait_for(|p| p.as_ref().is_some_and(|p| p.state == ReplayState::Finished)),
    )
    .await
    .unwrap()
    .unwrap();
    let seen = tokio::task::spawn_blocking(move || {
        let _ = watch.wait();
        let mut text = String::new();
        use std::io::Read;
        watch
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    })
    .await
    .unwrap();
    assert_eq!(seen, "lab/0 m0\nlab/1 m1\nlab/2 m2\n");
    broker.stop().await;
}

#[test]
fn a_peers_export_is_imported_into_a_sources_history() {
    use workbench_core::capture::import::import_into;
    use workbench_core::hub::TrafficHub;
    use workbench_traffic::source::SourceLimits;
    use workbench_traffic::SourceId;
    let hub = TrafficHub::new(SourceLimits::default());
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../capture/tests/fixtures/mqttx-export.json");
    let summary = import_into(&hub, &SourceId::Broker, &fixture).unwrap();
    assert_eq!(summary.format, "MQTTX export (JSON)");
    assert_eq!(summary.messages, 3);
    assert_eq!(summary.problems.count, 1);
    assert_eq!(summary.problems.first[0].line, 31);
    hub.read_source(&SourceId::Broker, |model| {
        assert_eq!(model.tree.messages(), 3);
        assert!(model.tree.find("greenhouse/raw").is_some());
        assert!(model.tree.find("greenhouse/bad").is_none());
    });
    let missing = import_into(
        &hub,
        &SourceId::Broker,
        std::path::Path::new("/nonexistent.json"),
    );
    assert!(missing
        .unwrap_err()
        .message
        .contains("cannot read /nonexistent.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_a_session_uses_its_settings_password_and_subscriptions() {
    use workbench_session::profile::Subscription;
    use workbench_session::{MqttVersion, Profile};
    let mosquitto = workbench_testkit::mosquitto::Mosquitto::start(&[("dev", "s3cret")], None);
    let config = tempfile::tempdir().unwrap();
    let secrets = Arc::new(Secrets::memory_only("tests"));
    let (traffic, _keep) = tokio::sync::mpsc::channel(16);
    let sessions = Arc::new(SessionManager::new(None, secrets.clone(), traffic));
    let mut profile = Profile::new("device", "127.0.0.1", mosquitto.port, MqttVersion::V311);
    profile.username = Some("dev".into());
    profile.subscriptions = vec![Subscription::new("dev/#", 1)];
    let (view, _) = sessions.save(profile, Some("s3cret".into())).unwrap();
    let capture = CaptureService::new(sessions, secrets, Some(config.path()));
    capture
        .start_recording(RecordSource::Session(view.profile.id.clone()), Vec::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (topic, message) in [("dev/1", "a"), ("other/1", "b"), ("dev/2", "c")] {
        let status = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &mosquitto.port.to_string()])
            .args(["-u", "dev", "-P", "s3cret", "-t", topic, "-m", message])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let mut updates = capture.recording_updates();
    tokio::time::timeout(
        Duration::from_secs(20),
        updates.wait_for(|s| s.as_ref().is_some_and(|s| s.messages >= 2)),
    )
    .await
    .expect("recorded in time")
    .unwrap();
    let done = capture.stop_recording().await.unwrap();
    assert_eq!(
        done.messages, 2,
        "only the session's subscriptions: {done:?}"
    );
    let text = std::fs::read_to_string(&done.path).unwrap();
    assert!(
        text.contains("\"dev/1\"") && text.contains("\"dev/2\""),
        "{text}"
    );
}

/// tshark's reading of a capture: one line per frame holding MQTT, tab-separated fields.
fn tshark(file: &std::path::Path, port: u16, fields: &[&str]) -> Vec<String> {
    let mut command = Command::new("tshark");
    command.arg("-r").arg(file).args([
        "-d",
        &format!("tcp.port=={port},mqtt"),
        "-Y",
        "mqtt",
        "-T",
        "fields",
    ]);
    for field in fields {
        command.args(["-e", field]);
    }
    let out = command
        .output()
        .expect("tshark runs (Debian package tshark)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("tshark prints UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A QoS 2 exchange between mosquitto_pub (MQTT 5) and mosquitto_sub (3.1.1) through the embedded
/// broker: its packet log saved as pcapng decodes in tshark to the same packets in the same
/// order, with no malformed packet and no TCP trouble; the file converted to classic pcap by
/// Wireshark's editcap opens back as a source with the same packets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_log_saved_as_pcapng_is_what_tshark_reads_and_opens_back() {
    use workbench_core::capture::pcap::{export_pcapng, open_capture};
    use workbench_core::hub::TrafficHub;
    use workbench_traffic::source::SourceLimits;
    use workbench_traffic::SourceId;
    use workbench_wire::PacketKind;
    let downloads = tempfile::tempdir().unwrap();
    std::env::set_var("MQTT_WORKBENCH_DOWNLOAD_DIR", downloads.path());
    let (events, received) = tokio::sync::mpsc::channel(1024);
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let broker = Broker::start(settings, Some(events)).await.unwrap();
    let address = broker.local_addr();
    let port = address.port().to_string();
    let hub = TrafficHub::new(SourceLimits::default());
    tokio::spawn(hub.clone().ingest_broker(received));
    let port_for_peers = port.clone();
    tokio::task::spawn_blocking(move || {
        let port = port_for_peers;
        let sub = workbench_testkit::peers::ReadySub::start(
            &port,
            "plant/#",
            1,
            &["-q", "2", "-i", "dashboard"],
        );
        let sent = workbench_testkit::peers::mosquitto_pub(
            &port,
            &[
                "-q",
                "2",
                "-V",
                "5",
                "-i",
                "sensor-7",
                "-t",
                "plant/line-1/temp",
                "-m",
                "21.5",
            ],
        );
        assert!(sent.status.success());
        assert_eq!(sub.finish().trim(), "plant/line-1/temp 21.5");
    })
    .await
    .unwrap();
    // Every client has left: the log is complete (three DISCONNECTs: the marker's publisher,
    // the sensor, the dashboard).
    let kinds = || {
        hub.read_source(&SourceId::Broker, |s| {
            s.packets().map(|p| p.summary.kind).collect::<Vec<_>>()
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while kinds()
        .iter()
        .filter(|k| **k == PacketKind::Disconnect)
        .count()
        < 3
    {
        assert!(std::time::Instant::now() < deadline, "log: {:?}", kinds());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = kinds();
    assert!(
        log.iter().filter(|k| **k == PacketKind::PubComp).count() >= 2,
        "{log:?}"
    );

    let saved = export_pcapng(&hub, &SourceId::Broker, Some(address), "", None).unwrap();
    let file = std::path::PathBuf::from(&saved.path);
    assert_eq!(file.extension().unwrap(), "pcapng");
    assert_eq!(saved.packets as usize, log.len());
    let types: Vec<u8> = tshark(&file, address.port(), &["mqtt.msgtype"])
        .iter()
        .map(|line| {
            line.parse()
                .unwrap_or_else(|_| panic!("one MQTT packet per frame: {line:?}"))
        })
        .collect();
    let expected: Vec<u8> = log
        .iter()
        .map(|k| {
            (1..=15)
                .find(|t| PacketKind::from_type(*t) == Some(*k))
                .unwrap()
        })
        .collect();
    assert_eq!(types, expected, "tshark reads the log's packets in order");
    let published = tshark(
        &file,
        address.port(),
        &["mqtt.topic", "mqtt.msg", "mqtt.ver"],
    );
    assert!(
        published
            .iter()
            .any(|l| l.starts_with("plant/line-1/temp\t32312e35")),
        "the topic and payload (hex) as published: {published:?}"
    );
    let trouble = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-d", &format!("tcp.port=={},mqtt", address.port())])
        .args([
            "-Y",
            "_ws.malformed || tcp.analysis.flags || _ws.expert.severity >= error",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&trouble.stdout),
        "",
        "no malformed packet, no TCP trouble"
    );

    // Wireshark's editcap writes the same capture as classic libpcap, as tcpdump does.
    let classic = downloads.path().join("tcpdump.pcap");
    let status = Command::new("editcap")
        .args(["-F", "pcap"])
        .arg(&file)
        .arg(&classic)
        .status()
        .unwrap();
    assert!(status.success());
    let options = workbench_capture::pcap::ReadOptions {
        server_ports: vec![address.port()],
    };
    let opened = open_capture(&hub, &classic, &options).unwrap();
    assert!(matches!(opened.source, SourceId::Capture(_)));
    assert_eq!(opened.name, "tcpdump.pcap");
    assert_eq!(opened.stats.problems, 0, "{:?}", opened.stats.described);
    let reopened = hub.read_source(&opened.source, |s| {
        s.packets()
            .map(|p| (p.summary.kind, p.client_id.to_string()))
            .collect::<Vec<_>>()
    });
    assert_eq!(reopened.iter().map(|(k, _)| *k).collect::<Vec<_>>(), log);
    assert!(reopened
        .iter()
        .any(|(k, id)| *k == PacketKind::Publish && id == "sensor-7"));
    assert!(reopened
        .iter()
        .any(|(k, id)| *k == PacketKind::PubComp && id == "dashboard"));

    let error = open_capture(&hub, &downloads.path().join("missing.pcap"), &options).unwrap_err();
    assert!(error.message.contains("missing.pcap"), "{}", error.message);
    broker.stop().await;
}
