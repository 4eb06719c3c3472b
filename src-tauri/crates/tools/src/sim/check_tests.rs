//! The file check: the examples pass; each kind of mistake is named with its line and field.

use super::*;

fn errors(text: &str) -> Vec<String> {
    match check(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_built_in_examples_pass() {
    for example in crate::sim::EXAMPLES {
        let plan = check(example.text).unwrap_or_else(|e| panic!("{}: {e}", example.name));
        let summary = plan.summary();
        assert!(
            summary.devices >= 1 && summary.streams >= 1,
            "{}",
            example.name
        );
    }
}

#[test]
fn syntax_errors_name_their_line() {
    let found = errors("name = \"x\"\n[device\ncount = 3\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("line 2"), "{found:?}");
}

#[test]
fn schema_errors_name_line_and_field() {
    let text = "[device]\ncount = 3\n\n[[stream]]\ntopic = \"a/{id}\"\nevery = \"5 parsecs\"\n";
    let found = errors(text);
    assert!(
        found[0].starts_with("line 6, stream[0].every:"),
        "{found:?}"
    );
    assert!(found[0].contains("unknown unit"), "{found:?}");

    let found = errors("[device]\ncount = 3\nintervall = 5\n");
    assert!(found[0].starts_with("line 3, device"), "{found:?}");
    assert!(found[0].contains("intervall"), "{found:?}");

    let found = errors("[device]\ncount = \"many\"\n");
    assert!(found[0].starts_with("line 2, device.count"), "{found:?}");
}

#[test]
fn meaning_errors_name_line_and_field() {
    let text = r#"[device]
count = 20000
id = "d-{n}"

[[stream]]
topic = "a/{id}/#"
every = "1s"
qos = 3
payload = "{nope}"
values.t = { kind = "walk", min = 10, max = 5 }

[[reply]]
on = "cmd/{id}/+"
topic = "cmd/{id}/{2}"
script = """
let x = 1;
let = ;
"""
"#;
    let found = errors(text);
    let has = |prefix: &str| found.iter().any(|e| e.starts_with(prefix));
    assert!(
        has("line 2, device.count: count is 1 to 10000"),
        "{found:#?}"
    );
    assert!(has("line 6, stream[0].topic:"), "{found:#?}");
    assert!(has("line 8, stream[0].qos: QoS is 0, 1 or 2"), "{found:#?}");
    assert!(
        found.iter().any(|e| e.contains("unknown name {nope}")),
        "{found:#?}"
    );
    assert!(
        has("line 10, stream[0].values.t: min 10 is above max 5"),
        "{found:#?}"
    );
    assert!(
        has("line 14, reply[0].topic: unknown name {2}"),
        "{found:#?}"
    );
    assert!(has("line 17, reply[0].script:"), "{found:#?}");
}

#[test]
fn a_reply_that_would_answer_itself_is_refused() {
    let found = errors(
        "[device]\nid = \"p{n}\"\n[[reply]]\non = \"rpc/{id}/+\"\ntopic = \"rpc/{id}/answers\"\n",
    );
    assert!(
        found[0].starts_with("line 5, reply[0].topic: the reply's topic matches"),
        "{found:?}"
    );
}

#[test]
fn names_fill_in_per_device() {
    let plan = check("[device]\ncount = 12\nid = \"s-{n:03}\"\nclient_id = \"sim-{id}\"\nvars.room = \"r{i}\"\n[[stream]]\ntopic = \"t/{room}/{id}\"\nevery = \"2s\"\n").expect("valid");
    let names = plan.device_names(11);
    assert_eq!(names["id"], "s-012");
    assert_eq!(names["client_id"], "sim-s-012");
    assert_eq!(names["room"], "r11");
    let summary = plan.summary();
    assert_eq!(summary.messages_per_second, 6.0);
    assert_eq!(summary.example_topics, ["t/r0/s-001"]);
}
