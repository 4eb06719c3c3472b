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
