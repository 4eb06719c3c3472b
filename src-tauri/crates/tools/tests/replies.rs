//! Auto-replies as users meet them, against mosquitto and the embedded broker: a command from
//! mosquitto_pub answered by a simulated plug as mosquitto_sub sees it (a declarative rule and
//! a sandboxed script), and MQTT 5 request/response from Eclipse Paho answered on the request's
//! response topic with its correlation data.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use workbench_testkit::mosquitto::Mosquitto;
use workbench_testkit::peers::{finish, mosquitto_pub, mosquitto_sub, ReadySub, TestBroker};
use workbench_tools::sim::{self, Simulator};
use workbench_tools::Target;

const PLUGS: &str = r#"
seed = 3

[device]
count = 3
id = "plug-{n}"
version = "5"
state.on = false

[device.birth]
topic = "plugs/{id}/online"
payload = "true"
retain = true

[[reply]]
on = "plugs/{id}/set"
set = { on = "{json.on}" }
topic = "plugs/{id}/state"
json = { on = "{on}", by = "{id}" }

[[reply]]
on = "plugs/{id}/toggle"
topic = "plugs/{id}/state"
script = """
state.on = !state.on;
#{ payload: #{ on: state.on, by: device.id, toggled: true } }
"""

[[reply]]
on = "rpc/{id}/+"
topic = "rpc-answers/{id}"
reply_qos = 1
payload = "{1}:{payload}"
"#;

const PAHO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/request_response.py"
);

fn json(line: &str) -> serde_json::Value {
    let body = line.split_once(' ').map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn replies_against(port: &str, address: std::net::SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let plan = Arc::new(sim::check(PLUGS).expect("valid"));
    let simulator = runtime.block_on(async { Simulator::start(plan, Target::tcp(address)) });
    // Each plug subscribes before it publishes its birth: three births seen, three plugs listening.
    let births = finish(mosquitto_sub(port, &["-t", "plugs/+/online", "-C", "3"]));
    assert_eq!(births.lines().count(), 3, "{births}");

    // A declarative rule: the command's JSON sets the state, the reply reports it.
    let sub = ReadySub::start(port, "plugs/plug-2/state", 1, &[]);
    let sent = mosquitto_pub(port, &["-t", "plugs/plug-2/set", "-m", r#"{"on": true}"#]);
    assert!(sent.status.success());
    let seen = sub.finish();
    assert_eq!(
        json(seen.trim()),
        serde_json::json!({"on": true, "by": "plug-2"}),
        "{seen}"
    );

    // A script: toggles the state the declarative rule set.
    let sub = ReadySub::start(port, "plugs/plug-2/state", 1, &[]);
    assert!(mosquitto_pub(port, &["-t", "plugs/plug-2/toggle", "-n"])
        .status
        .success());
    let seen = sub.finish();
    assert_eq!(
        json(seen.trim()),
        serde_json::json!({"on": false, "by": "plug-2", "toggled": true}),
        "{seen}"
    );

    // Wildcard captures and the payload, to the rule's topic (a 3.1.1 requester).
    let sub = ReadySub::start(port, "rpc-answers/plug-3", 1, &[]);
    assert!(
        mosquitto_pub(port, &["-t", "rpc/plug-3/ping", "-m", "hello"])
            .status
            .success()
    );
    assert_eq!(sub.finish().trim(), "rpc-answers/plug-3 ping:hello");

    // MQTT 5 request/response from Paho: answered on the response topic, correlated.
    let output = Command::new("python3")
        .args([PAHO, port, "rpc/plug-1/echo", "from-paho"])
        .output()
        .expect("python3 runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "paho: {printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fields: Vec<&str> = printed.trim().split('\t').collect();
    assert_eq!(
        fields,
        [
            "replies/paho-requester",
            &b"corr-42"
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "echo:from-paho"
        ]
    );

    let stats = runtime.block_on(simulator.stop(Duration::from_secs(10)));
    assert_eq!(stats.replies, 4.0, "{stats:?}");
    assert!(stats.errors.is_empty(), "{stats:?}");
}

#[test]
fn plugs_answer_commands_through_mosquitto() {
    let mosquitto = Mosquitto::start(&[], None);
    replies_against(&mosquitto.port.to_string(), mosquitto.address());
}

#[test]
fn plugs_answer_commands_through_the_embedded_broker() {
    let broker = TestBroker::default_settings();
    replies_against(&broker.port(), broker.address);
}
