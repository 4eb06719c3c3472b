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

#[test]
fn what_clients_send_reaches_the_log_escaped_and_cut_short() {
    use std::io::{BufRead, BufReader, Read};
    use workbench_testkit::raw::{Connect, RawClient};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .args(["broker", "--port", "0", "--max-client-id", "65535"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start the headless broker");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut banner = String::new();
    stdout.read_line(&mut banner).expect("a banner line");
    let address: std::net::SocketAddr = banner
        .strip_prefix("MQTT Workbench broker listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"));
    // A client id that would clear the screen, retitle the window and fake a log line, and
    // one of 60,000 bytes.
    let evil = "\x1b[2J\x1b]0;owned\x07\nstopped";
    let long = "x".repeat(60_000);
    for id in [evil, long.as_str()] {
        let mut client = RawClient::connected(
            address,
            Connect {
                client_id: id,
                ..Connect::default()
            },
        );
        client.send(&workbench_testkit::raw::DISCONNECT);
        assert!(client.closed_by_broker());
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    kill_if_still_running(child.id(), "mqttwb");
    let mut log = Vec::new();
    stdout.read_to_end(&mut log).expect("the rest of the log");
    let status = child.wait().expect("exit");
    assert!(status.success(), "exit status {status}");
    assert!(
        !log.iter().any(|b| *b == 0x1b || *b == 0x07),
        "no escape or bell byte reaches the terminal"
    );
    let text = String::from_utf8(log).expect("utf-8");
    assert!(
        text.contains("connected: \\x1b[2J\\x1b]0;owned\\x07\\x0astopped from"),
        "{text}"
    );
    assert!(
        text.lines().all(|line| line.len() < 1_000),
        "a long client id is cut short: {}",
        text.lines().map(str::len).max().unwrap_or(0)
    );
    assert!(text.contains("…(+59872 bytes)"), "{text}");
}
