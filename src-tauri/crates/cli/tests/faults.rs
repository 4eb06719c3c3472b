//! `mqttwb broker --fault`: the headless broker with a fault rule, as a user runs it, with
//! mosquitto_pub as the device: its first CONNECT is refused with the chosen code, the next is
//! accepted, and the log says so.

use std::io::{BufRead, BufReader};
use workbench_testkit::peers::{kill_if_still_running, mosquitto_pub};

#[test]
fn a_fault_rule_from_the_command_line_refuses_the_next_connect() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .args(["broker", "--port", "0", "--fault", "cli-dev:refuse=0x87"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start the headless broker");
    kill_if_still_running(child.id(), "mqttwb");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let banner = lines.next().expect("a banner line").expect("utf-8");
    let port = banner
        .strip_prefix("MQTT Workbench broker listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|address| address.rsplit(':').next())
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
        .to_string();
    let armed = lines.next().expect("a line").expect("utf-8");
    assert_eq!(
        armed,
        "fault armed: refuse the next CONNECT with 0x87 for cli-dev"
    );

    let args = ["-i", "cli-dev", "-V", "mqttv5", "-t", "t", "-m", "m"];
    let refused = mosquitto_pub(&port, &args);
    assert_eq!(refused.status.code(), Some(0x87), "refused: Not authorized");
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        let done = line.starts_with("refused: 'cli-dev'");
        seen.push(line);
        if done {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|l| l == "fault: refuse 0x87 CONNACK to cli-dev"),
        "{seen:?}"
    );
    assert!(mosquitto_pub(&port, &args).status.success(), "used once");
    let _ = child.kill();
    let _ = child.wait();
}
