//! Record / Replay in the real window: recording what mosquitto_pub publishes to the embedded
//! broker, replaying it started paused, one step, then play to the end (mosquitto_sub sees each
//! message again), an MQTTX export imported into the broker's history, and the saved-message
//! library: a collection, a message saved and sent with
//! one click through the app's own session. Screenshots go to
//! `target/e2e-screenshots/capture-*.png`.

use super::*;
use std::io::Read;
use std::process::{Command, Stdio};

fn shot(window: &AppWindow, name: &str) {
    window.wait_for_paint();
    let path = screenshot_dir().join(format!("capture-{name}.png"));
    assert!(
        window.screenshot(&path) > 1000,
        "screenshot of {name} is suspiciously small"
    );
}

fn subscriber(port: &str, topic: &str, count: usize) -> std::process::Child {
    Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", port, "-q", "1", "-v", "-t", topic])
        .args(["-C", &count.to_string(), "-W", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub is installed")
}

fn output(mut child: std::process::Child) -> String {
    let mut text = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut text)
        .expect("text");
    let _ = child.wait();
    text
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn record_replay_with_pause_and_step_and_the_saved_messages() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);

    // Record three messages (and one the filter leaves out).
    window.click("[data-testid='tab-capture']");
    window.fill("[data-testid='record-filters']", "lab/#");
    window.click("[data-testid='record-start']");
    window.wait_for_text("[data-testid='record-status']", |t| {
        t.starts_with("Recording")
    });
    for n in 0..3 {
        publish(&port, &format!("lab/{n}"), &format!("reading {n}"));
    }
    publish(&port, "elsewhere/x", "not recorded");
    window.wait_for_text("[data-testid='record-status']", |t| {
        t.contains("3 messages")
    });
    shot(&window, "recording-en");
    window.click("[data-testid='record-stop']");
    window.wait_for_text("[data-testid='record-status']", |t| {
        t.starts_with("Recorded 3 messages")
    });

    // Replay it to the broker, started paused: nothing until a step, one per step, then play.
    let watch = subscriber(&port, "lab/#", 3);
    std::thread::sleep(std::time::Duration::from_millis(500));
    window.wait_for("[data-testid='replay-file'] option");
    window.check("[data-testid='replay-start-paused']", true);
    window.click("[data-testid='replay-start']");
    window.wait_for("[data-testid='replay-progress'][data-state='paused'][data-sent='0']");
    window.click("[data-testid='replay-step']");
    window.wait_for("[data-testid='replay-progress'][data-state='paused'][data-sent='1']");
    shot(&window, "replay-paused-en");
    window.click("[data-testid='replay-play']");
    window.wait_for("[data-testid='replay-progress'][data-state='finished'][data-sent='3']");
    assert_eq!(
        output(watch),
        "lab/0 reading 0\nlab/1 reading 1\nlab/2 reading 2\n"
    );

    // A peer's export (MQTTX JSON, one broken message) imported into the broker's history.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src-tauri/crates/capture/tests/fixtures/mqttx-export.json");
    window.fill(
        "[data-testid='replay-path']",
        fixture.to_str().expect("a path"),
    );
    window.click("[data-testid='import-history']");
    let note = window.wait_for_text("[data-testid='import-note']", |t| {
        t.starts_with("Imported 3 messages (MQTTX export (JSON))")
    });
    assert!(note.contains("Line 31: QoS 7"), "{note}");
    window.fill("[data-testid='replay-path']", "");

    // The saved-message library: a collection, a message, sent through the app's session.
    window.click("[data-testid='source-app-session']");
    window.click("[data-testid='tab-capture']");
    window.fill("[data-testid='collection-name']", "Thermostat");
    window.click("[data-testid='collection-add']");
    window.wait_for_text("[data-testid='collection']", |t| t.contains("Thermostat"));
    window.fill("[data-testid='saved-name']", "heat on");
    window.fill("[data-testid='saved-topic']", "lab/thermostat/set");
    window.fill("[data-testid='saved-payload']", "{\"heat\": true}");
    window.click("[data-testid='saved-save']");
    window.wait_for_text("[data-testid='saved-message']", |t| t.contains("heat on"));
    let watch = subscriber(&port, "lab/thermostat/set", 2);
    std::thread::sleep(std::time::Duration::from_millis(500));
    window.click("[data-testid='saved-send']");
    window.wait_for_text("[data-testid='saved-note']", |t| {
        t.starts_with("Sent “heat on”")
    });
    // And again with its shortcut, Alt+1.
    window.execute(
        "window.dispatchEvent(new KeyboardEvent('keydown', { key: '1', altKey: true }));",
        serde_json::json!([]),
    );
    assert_eq!(
        output(watch),
        "lab/thermostat/set {\"heat\": true}\nlab/thermostat/set {\"heat\": true}\n"
    );
    shot(&window, "saved-messages-en");
    window.fill("[data-testid='language']", "zh-CN");
    window.wait_for_text("[data-testid='tab-capture']", |t| t == "录制 / 回放");
    shot(&window, "saved-messages-zh-CN");
    window.fill("[data-testid='language']", "en");
    window.close();
}

/// The broker's packet log saved as pcapng from the packet view: tshark reads the packets the
/// log shows; the file opened back from the sources pane is a source of its own whose packet
/// log names the device; a file that is not a capture is refused in words.
#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn the_packet_log_saved_as_pcapng_opens_in_tshark_and_back_as_a_source() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    let sent = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-i", "sensor-7"])
        .args(["-t", "plant/line-1/temp", "-m", "21.5"])
        .status()
        .expect("mosquitto_pub is installed");
    assert!(sent.success());
    window.click("[data-testid='tab-packets']");
    window.wait_for_text("[data-testid='packet-log']", |t| {
        t.contains("plant/line-1/temp") && t.contains("PUBACK") && t.contains("DISCONNECT")
    });
    window.click("[data-testid='packet-export-pcapng']");
    let note = window.wait_for_text("[data-testid='packet-export-note']", |t| {
        t.starts_with("Saved ") && t.contains("pcapng")
    });
    let path = note.rsplit(" to ").next().expect("a path").to_string();
    assert!(path.ends_with(".pcapng"), "{note}");

    let read = Command::new("tshark")
        .args([
            "-r",
            &path,
            "-d",
            &format!("tcp.port=={port},mqtt"),
            "-Y",
            "mqtt",
        ])
        .args([
            "-T",
            "fields",
            "-e",
            "mqtt.msgtype",
            "-e",
            "mqtt.topic",
            "-e",
            "mqtt.clientid",
        ])
        .output()
        .expect("tshark is installed (Debian package tshark)");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let lines = String::from_utf8(read.stdout).unwrap();
    assert!(
        lines.lines().any(|l| l == "1\t\tsensor-7"),
        "a CONNECT from sensor-7:\n{lines}"
    );
    assert!(
        lines.lines().any(|l| l == "3\tplant/line-1/temp\t"),
        "its PUBLISH:\n{lines}"
    );
    assert!(
        lines.lines().any(|l| l.starts_with("4\t")),
        "the broker's PUBACK:\n{lines}"
    );

    // Back into the workbench: a source of its own.
    window.click("[data-testid='open-capture']");
    window.fill("[data-testid='pcap-path']", &path);
    window.fill("[data-testid='pcap-ports']", &port);
    window.click("[data-testid='pcap-open']");
    window.wait_for_text("[data-testid='pcap-note']", |t| t.starts_with("Opened: "));
    window.wait_for_text("[data-testid='source-capture']", |t| t.contains(".pcapng"));
    window.click("[data-testid='tab-packets']");
    window.wait_for_text("[data-testid='packet-log']", |t| {
        t.contains("sensor-7") && t.contains("plant/line-1/temp") && t.contains("PUBACK")
    });
    shot(&window, "pcap-opened");

    // A file that is not a capture.
    let not_a_capture = window.downloads().join("notes.txt");
    std::fs::write(&not_a_capture, "topic,payload\n").unwrap();
    window.click("[data-testid='open-capture']");
    window.fill(
        "[data-testid='pcap-path']",
        &not_a_capture.display().to_string(),
    );
    window.click("[data-testid='pcap-open']");
    window.wait_for_text("[data-testid='pcap-error']", |t| {
        t.contains("this is not a pcap or pcapng capture")
    });
}
