//! `mqttwb proxy` as a user runs it: a real process between mosquitto_pub and mosquitto, printing
//! every packet as it passes and the upstream's refusal in words; a fault from `--fault` acts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use workbench_testkit::mosquitto::{free_port, Mosquitto};
use workbench_testkit::peers::mosquitto_pub;

#[test]
fn mqttwb_proxy_prints_packets_and_refusals_as_they_pass() {
    let mosquitto = Mosquitto::start(&[("alice", "right")], None);
    let port = free_port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .args(["proxy", "--listen", &port, "--upstream"])
        .arg(format!("mqtt://127.0.0.1:{}", mosquitto.port))
        .args(["--fault", "cli-dropped:drop=puback:1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mqttwb proxy");
    let pid = child.id();
    // A proxy that ignored the signal would keep this test reading for ever: killed after a
    // generous wait, so the test fails instead.
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("mqttwb\0proxy") {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let banner = lines.next().expect("a banner").expect("utf-8");
    assert!(
        banner.starts_with(&format!(
            "MQTT Workbench proxy listening on mqtt://127.0.0.1:{port}"
        )),
        "{banner}"
    );

    let ok = mosquitto_pub(
        &port,
        &[
            "-i", "cli-pub", "-u", "alice", "-P", "right", "-t", "cli/t", "-m", "hi", "-q", "1",
        ],
    );
    assert!(ok.status.success(), "{ok:?}");
    let wrong = mosquitto_pub(
        &port,
        &[
            "-i",
            "cli-wrong",
            "-u",
            "alice",
            "-P",
            "secret-wrong",
            "-t",
            "cli/t",
            "-m",
            "x",
        ],
    );
    assert!(!wrong.status.success());
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        let done = line.starts_with("refused: 'cli-wrong'");
        seen.push(line);
        if done {
            break;
        }
    }
    let has = |prefix: &str| seen.iter().any(|l| l.starts_with(prefix));
    assert!(has("cli-pub > CONNECT ("), "{seen:#?}");
    assert!(has("cli-pub < CONNACK (code 0x00"), "{seen:#?}");
    assert!(has("cli-pub > PUBLISH cli/t (QoS 1, id 1, "), "{seen:#?}");
    assert!(has("cli-pub < PUBACK (id 1, "), "{seen:#?}");
    assert!(has("connected: cli-pub from 127.0.0.1:"), "{seen:#?}");
    assert!(has("disconnected: cli-pub from 127.0.0.1:"), "{seen:#?}");
    let refused = seen.last().expect("the refusal");
    assert!(refused.contains("not authorized"), "{refused}");
    assert!(
        !seen.iter().any(|l| l.contains("secret-wrong")),
        "no password printed"
    );

    let stopped = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill -INT");
    assert!(stopped.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("exit");
    assert!(status.success(), "exit status {status}; output {rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

#[test]
fn mqttwb_proxy_needs_its_listen_port_and_upstream() {
    let output = Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .args(["proxy", "--upstream", "mqtt://127.0.0.1:1"])
        .output()
        .expect("run mqttwb");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--listen PORT"));
}
