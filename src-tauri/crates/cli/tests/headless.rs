//! `mqttwb broker`, the headless broker, as a user runs it: a real process on a free port, with
//! mosquitto_pub/sub as independent clients, stopped by a signal.

use workbench_testkit::peers::{finish, kill_if_still_running, mosquitto_pub, mosquitto_sub};

#[test]
fn headless_broker_logs_clients_and_stops_on_interrupt() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .args(["broker", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start the headless broker");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let banner = lines.next().expect("a banner line").expect("utf-8");
    let address = banner
        .strip_prefix("MQTT Workbench broker listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"));
    assert!(
        address.starts_with("127.0.0.1:"),
        "loopback by default: {banner}"
    );
    let port = address.rsplit(':').next().expect("port").to_string();

    let sub = mosquitto_sub(&port, &["-i", "headless-sub", "-t", "hl/#", "-C", "1"]);
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        let done = line.starts_with("subscribed: headless-sub to hl/#");
        seen.push(line);
        if done {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.starts_with("connected: headless-sub from 127.0.0.1:")),
        "{seen:?}"
    );
    assert!(mosquitto_pub(&port, &["-t", "hl/x", "-m", "hi"])
        .status
        .success());
    assert_eq!(finish(sub), "hi\n");

    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    kill_if_still_running(child.id(), "mqttwb");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("exit");
    assert!(status.success(), "exit status {status}; output {rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

#[test]
fn headless_broker_stops_cleanly_on_terminate_sent_right_after_its_banner() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .args(["broker", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start the headless broker");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let banner = lines.next().expect("a banner line").expect("utf-8");
    assert!(
        banner.starts_with("MQTT Workbench broker listening on "),
        "{banner}"
    );
    // At once: the handlers must already be in place (a service manager stopping it).
    let terminated = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(terminated.success());
    kill_if_still_running(child.id(), "mqttwb");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("exit");
    assert!(status.success(), "exit status {status}; output {rest:?}");
    assert_eq!(rest, ["stopping", "stopped"]);
}
