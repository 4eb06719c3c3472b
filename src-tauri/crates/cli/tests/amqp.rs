//! `mqttwb amqp` as a user runs it against a real RabbitMQ: the study note's Hello World from the
//! terminal (declare, publish, consume), a topic exchange bound from the command line, and a
//! wrong password refused in words. Ignored in `make test`: `make test-rabbitmq` runs it.

use std::process::{Command, Output};
use workbench_testkit::rabbitmq::RabbitMq;

fn mqttwb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .arg("amqp")
        .args(args)
        .env_remove("MQTTWB_AMQP_PASSWORD")
        .output()
        .expect("run mqttwb")
}

fn ok(args: &[&str]) -> String {
    let out = mqttwb(args);
    assert!(
        out.status.success(),
        "mqttwb amqp {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs rabbitmq-server: make test-rabbitmq"]
fn mqttwb_amqp_runs_the_hello_world_and_says_why_it_fails() {
    let rabbit = RabbitMq::start();
    let url = rabbit.url("/");
    let out = ok(&["declare", &url, "--queue", "hello"]);
    assert_eq!(out.trim(), "queue hello: 0 messages ready, 0 consumers");
    let out = ok(&[
        "publish",
        &url,
        "--key",
        "hello",
        "-m",
        "Hello World!",
        "--content-type",
        "text/plain",
    ]);
    assert_eq!(out.trim(), "> (default)/hello (12 bytes): accepted");
    assert_eq!(rabbit.list_queues("/"), vec![("hello".to_string(), 1)]);
    // The management plugin's view of the same queue (its statistics lag up to a second).
    let port = rabbit.management_port.to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let table = loop {
        let out = ok(&["queues", &url, "--management-port", &port]);
        if out
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["hello", "1"]))
            || std::time::Instant::now() > deadline
        {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert!(table.starts_with("queue "), "{table}");
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row[..5], ["hello", "1", "1", "0", "0"], "{table}");
    let out = ok(&["consume", &url, "--queue", "hello", "--count", "1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("consuming from hello on amqp://guest@127.0.0.1:"),
        "{out}"
    );
    assert_eq!(
        lines[1],
        "< (default)/hello #1 [Content Type: text/plain] 12 bytes: Hello World!"
    );
    assert_eq!(rabbit.list_queues("/"), vec![("hello".to_string(), 0)]);

    // A topic exchange from the command line; a body that tries to drive the terminal is shown
    // escaped.
    ok(&["declare", &url, "--exchange", "logs", "--type", "topic"]);
    ok(&[
        "declare",
        &url,
        "--queue",
        "kern",
        "--arg",
        "x-max-length=10",
    ]);
    let out = ok(&[
        "bind",
        &url,
        "--queue",
        "kern",
        "--exchange",
        "logs",
        "--key",
        "kern.*",
    ]);
    assert_eq!(out.trim(), "bound kern to logs (key 'kern.*')");
    let out = ok(&[
        "publish",
        &url,
        "--exchange",
        "logs",
        "--key",
        "kern.info",
        "-m",
        "\x1b[2Jboom",
        "--persistent",
        "--header",
        "n=7",
    ]);
    assert_eq!(out.trim(), "> logs/kern.info (8 bytes): accepted");
    let out = ok(&[
        "consume", &url, "--queue", "kern", "--count", "1", "--ack", "auto",
    ]);
    assert!(
        out.contains("< logs/kern.info #1 [Delivery Mode: 2 (persistent), Header: n: 7] 8 bytes: \\x1b[2Jboom"),
        "{out}"
    );

    let wrong = format!("amqp://guest:wrong@127.0.0.1:{}/%2f", rabbit.amqp_port);
    let out = mqttwb(&["declare", &wrong, "--queue", "hello"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access refused"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password is never printed: {err}"
    );
    let out = mqttwb(&["consume", &url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --queue"));
}
