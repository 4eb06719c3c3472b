//! `mqttwb record` and `mqttwb replay` as users run them, against real peers: mosquitto_pub
//! publishes, mosquitto_sub reads what a replay delivered, mosquitto is the other broker.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use workbench_testkit::mosquitto::Mosquitto;

fn mqttwb(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqttwb"));
    command.args(args);
    command
}

fn publish(port: u16, args: &[&str]) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv5"])
        .args(args)
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success(), "mosquitto_pub {args:?}");
}

/// Waits (generously) until the file has `lines` lines: the recorder flushes every second.
fn wait_for_lines(path: &std::path::Path, lines: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines {
            return;
        }
        assert!(Instant::now() < deadline, "only {text:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM and returns the exit status and what it wrote to stderr.
fn terminate(mut child: Child, mut stderr: impl Read) -> (std::process::ExitStatus, String) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    (child.wait().expect("exit"), rest)
}

#[test]
fn record_from_the_embedded_broker_then_replay_to_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let mut child = mqttwb(&[
        "record",
        path.to_str().unwrap(),
        "--port",
        "0",
        "--topic",
        "lab/#",
    ])
    .stderr(Stdio::piped())
    .spawn()
    .expect("mqttwb record");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    // "recording what clients publish to the broker on 127.0.0.1:PORT into FILE ..."
    let address = banner
        .split(" on ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{banner}"));
    let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0u8, 1, 0xfe, b'\n']).unwrap();
    publish(
        port,
        &["-t", "lab/bin", "-f", binary.to_str().unwrap(), "-q", "1"],
    );
    publish(port, &["-t", "elsewhere/x", "-m", "not recorded"]);
    publish(port, &["-t", "lab/state", "-m", "on", "-q", "2", "-r"]);
    wait_for_lines(&path, 2);
    let (status, rest) = terminate(child, stderr);
    assert!(status.success(), "{status}: {rest}");
    assert!(rest.contains("recorded 2 messages"), "{rest}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("elsewhere"), "{text}");

    let mosquitto = Mosquitto::start(&[], None);
    let port = mosquitto.port.to_string();
    let watch = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            "mqttv5",
            "--retain-as-published",
        ])
        .args([
            "-t",
            "site/#",
            "-q",
            "2",
            "-C",
            "2",
            "-W",
            "30",
            "-F",
            "%t %q %r %x",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let url = format!("mqtt://127.0.0.1:{port}");
    let replay = mqttwb(&["replay", path.to_str().unwrap(), "--to", &url, "--max"])
        .args(["--rewrite", "lab/=site/"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&replay.stderr);
    assert!(replay.status.success(), "{said}");
    assert!(said.contains("finished max  2 sent"), "{said}");
    let seen = watch.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&seen.stdout),
        "site/bin 1 0 0001fe0a\nsite/state 2 1 6f6e\n"
    );
}

#[test]
fn record_what_another_broker_delivers() {
    let mosquitto = Mosquitto::start(&[], None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("from.jsonl");
    let url = format!("mqtt://127.0.0.1:{}", mosquitto.port);
    let mut child = mqttwb(&[
        "record",
        path.to_str().unwrap(),
        "--from",
        &url,
        "-t",
        "dev/#",
    ])
    .stderr(Stdio::piped())
    .spawn()
    .expect("mqttwb record");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    assert!(banner.starts_with("recording what mqtt://"), "{banner}");
    std::thread::sleep(Duration::from_millis(400));
    publish(mosquitto.port, &["-t", "dev/1", "-m", "a", "-q", "2", "-r"]);
    publish(
        mosquitto.port,
        &[
            "-t",
            "dev/2",
            "-m",
            "b",
            "-q",
            "1",
            "-D",
            "publish",
            "user-property",
            "k",
            "v",
        ],
    );
    wait_for_lines(&path, 2);
    let (status, rest) = terminate(child, stderr);
    assert!(status.success(), "{status}: {rest}");
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("\"topic\":\"dev/1\",\"qos\":2,\"retain\":true"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("\"user_properties\":[[\"k\",\"v\"]]"),
        "{lines:?}"
    );
    // The file refuses to be replaced without --overwrite.
    let again = mqttwb(&["record", path.to_str().unwrap(), "--from", &url])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn convert_a_peers_export_reporting_broken_lines() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../capture/tests/fixtures");
    let recording = dir.path().join("from-mqttx.jsonl");
    let out = mqttwb(&["convert", &format!("{fixtures}/mqttx-export.json")])
        .arg(&recording)
        .arg("--utc")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("wrote 3 messages"), "{said}");
    assert!(
        said.contains("1 entry could not be read: line 31: QoS 7"),
        "{said}"
    );
    let text = std::fs::read_to_string(&recording).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(
        text.contains("\"time\":\"2024-03-05T14:22:31.456Z\""),
        "{text}"
    );
    // And out again as MQTTX CSV, all of it readable.
    let csv = dir.path().join("again.csv");
    let out = mqttwb(&["convert"])
        .arg(&recording)
        .arg(&csv)
        .arg("--utc")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("client_id,connection_name,topic,payload,"),
        "{text}"
    );
    // The header and three rows (the first payload's quoted newlines span lines).
    let rows = text
        .lines()
        .filter(|l| l.starts_with("mqttx_4f2a91,"))
        .count();
    assert_eq!(rows, 3, "{text}");
    assert!(text.contains("2024-03-05 14:22:31:456"), "{text}");
}

/// A device's traffic captured as pcapng (what the app's packet view saves; tcpdump's files read
/// the same way) converts to a recording of what each client published.
#[test]
fn convert_a_capture_into_a_recording() {
    use std::sync::Arc;
    use workbench_capture::pcap::{log_to_pcapng, LogSide};
    use workbench_wire::codec::{Connect, Level, PublishOut, QoS};
    use workbench_wire::{Direction, PacketEvent, ProtocolVersion};
    let event = |bytes: &[u8], direction, ms: u64| {
        let frame = workbench_wire::frame(bytes, usize::MAX).unwrap().unwrap();
        let mut summary = workbench_wire::summarize(bytes, &frame, ProtocolVersion::V311).unwrap();
        summary.fields = workbench_wire::describe(bytes, &frame, ProtocolVersion::V311).unwrap();
        let start = bytes.len() - summary.payload_len;
        summary.payload = Some(bytes[start..].to_vec().into());
        PacketEvent {
            connection: 1,
            client_id: Arc::from("meter-4"),
            remote: Some("10.1.2.3:40000".parse().unwrap()),
            direction,
            summary,
            time: std::time::UNIX_EPOCH + Duration::from_millis(1_709_648_551_000 + ms),
        }
    };
    let mut connect = Vec::new();
    Connect::new(Level::V3_1_1, "meter-4", 30).encode(&mut connect);
    let mut log = vec![event(&connect, Direction::Inbound, 0)];
    for (n, reading) in ["12.5", "12.75"].iter().enumerate() {
        let mut publish = Vec::new();
        PublishOut {
            qos: QoS::AtMostOnce,
            topic: "meters/4/kwh",
            payload: reading.as_bytes(),
            ..Default::default()
        }
        .encode(Level::V3_1_1, &mut publish);
        log.push(event(&publish, Direction::Inbound, 500 * (n as u64 + 1)));
    }
    let server = "10.1.2.1:1883".parse().unwrap();
    let (bytes, _) = log_to_pcapng(Vec::new(), LogSide::Server(server), &log, |_| None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("meter.pcapng");
    std::fs::write(&capture, bytes).unwrap();
    let recording = dir.path().join("meter.jsonl");
    let out = mqttwb(&["convert"])
        .arg(&capture)
        .arg(&recording)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("wrote 2 messages"), "{said}");
    let text = std::fs::read_to_string(&recording).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["topic"], "meters/4/kwh");
    assert_eq!(lines[1]["text"], "12.75", "{text}");
    assert_eq!(lines[0]["client_id"], "meter-4", "{text}");

    // And the recording back out as pcapng: tshark reads meter-4's CONNECT and two PUBLISH.
    let again = dir.path().join("again.pcapng");
    let out = mqttwb(&["convert"])
        .arg(&recording)
        .arg(&again)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = Command::new("tshark")
        .arg("-r")
        .arg(&again)
        .args([
            "-Y",
            "mqtt",
            "-T",
            "fields",
            "-e",
            "mqtt.msgtype",
            "-e",
            "mqtt.clientid",
            "-e",
            "mqtt.msg",
        ])
        .output()
        .expect("tshark is installed (Debian package tshark)");
    let lines = String::from_utf8(read.stdout).unwrap();
    assert_eq!(
        lines, "1\tmeter-4\t\n2\t\t\n3\t\t31322e35\n3\t\t31322e3735\n",
        "{lines}"
    );
}
