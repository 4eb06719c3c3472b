//! `mqtt-workbench broker` still runs the headless broker: the app's executable calls the same
//! library function as `mqttwb broker` (workbench-cli), whose own tests cover it in depth.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use workbench_testkit::peers::kill_if_still_running;

#[test]
fn the_app_executable_runs_the_headless_broker_and_stops_on_terminate() {
    let help = Command::new(env!("CARGO_BIN_EXE_mqtt-workbench"))
        .arg("--help")
        .output()
        .expect("mqtt-workbench --help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("mqtt-workbench broker [OPTIONS]") && help.contains("--max-packet-size"),
        "{help}"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_mqtt-workbench"))
        .args(["broker", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the headless broker");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let banner = lines.next().expect("a banner line").expect("utf-8");
    assert!(
        banner.starts_with("MQTT Workbench broker listening on 127.0.0.1:"),
        "{banner}"
    );
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(terminated.success());
    kill_if_still_running(child.id(), "mqtt-workbench");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("exit");
    assert!(status.success(), "exit status {status}; output {rest:?}");
    assert_eq!(rest, ["stopping", "stopped"]);
}
