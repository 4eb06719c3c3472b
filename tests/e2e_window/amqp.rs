//! AMQP sessions in the real window against a real RabbitMQ (Debian's rabbitmq-server, one node
//! for the test, see `workbench_testkit::rabbitmq`), with Python's pika as the independent
//! producer. A session is made in the source list's form with its password typed, connected, and
//! runs the study note's Hello World; the message shows in the topic tree as `(default)/hello`
//! with 'Hello World!' in the inspector. A manual-ack consumer gets pika's message, nacks it with
//! requeue and sees it redelivered, then acks it. The broker closing the connection shows as
//! lost, with its reason; a wrong password is refused in words. Slow (the node takes 5 to 20 s
//! to start), so the test's name ends in `with_rabbitmq`, which `make test-e2e` skips:
//! `make test-rabbitmq-ui` runs it. Screenshot: `target/e2e-screenshots/amqp-session.png`.

use super::*;
use workbench_testkit::rabbitmq::{pika, RabbitMq};

/// pika publishes one persistent message to a queue it declares (as RabbitMQ's tutorial two).
const PIKA_SEND: &str = r#"
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.queue_declare(queue=sys.argv[2])
ch.basic_publish(exchange="", routing_key=sys.argv[2], body=sys.argv[3],
    properties=pika.BasicProperties(content_type="text/plain", delivery_mode=2))
conn.close()
"#;

fn pika_send(url: &str, queue: &str, body: &str) {
    pika(PIKA_SEND, &[url.into(), queue.into(), body.into()]);
}

/// Waits until nothing matches `css` (a closing dialog), within a generous deadline.
fn wait_gone(window: &AppWindow, css: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while window.find(css).is_some() {
        assert!(std::time::Instant::now() < deadline, "`{css}` never went");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a display, tauri-driver, rabbitmq-server and pika: make test-rabbitmq-ui"]
fn an_amqp_session_runs_hello_world_and_nacks_with_requeue_with_rabbitmq() {
    let rabbit = RabbitMq::start();
    let window = AppWindow::launch(app_binary());
    broker_port(&window);

    // The session, made in the form: the password typed apart from the URL.
    window.click("[data-testid='new-amqp']");
    window.wait_for("[data-testid='amqp-form']");
    window.fill("[data-testid='amqp-name']", "rabbit e2e");
    window.fill(
        "[data-testid='amqp-url']",
        &format!("amqp://guest@127.0.0.1:{}/", rabbit.amqp_port),
    );
    window.fill("[data-testid='amqp-password']", "guest");
    window.fill(
        "[data-testid='amqp-management-port']",
        &rabbit.management_port.to_string(),
    );
    window.click("[data-testid='amqp-save']");
    wait_gone(&window, "[data-testid='amqp-form']");
    window.wait_for_text("[data-testid='source-amqp']", |t| t.contains("rabbit e2e"));
    let url = window.wait_for_text("[data-testid='amqp-panel-url']", |t| !t.is_empty());
    assert!(
        !url.contains("guest:"),
        "no password in the shown URL: {url}"
    );
    window.click("[data-testid='amqp-connect']");
    window.wait_for_text("[data-testid='amqp-state']", |t| t == "Connected");
    window.wait_for("[data-testid='source-amqp'] .dot.running");

    // Hello World in one click: three steps, all ok.
    window.click("[data-testid='amqp-hello-run']");
    let steps = window.wait_for_text("[data-testid='amqp-hello-steps']", |t| {
        t.contains("Receive it from hello")
    });
    assert!(
        window
            .find("[data-testid='amqp-hello-step'].failed")
            .is_none(),
        "a Hello World step failed: {steps}"
    );
    assert_eq!(
        window.execute(
            "return document.querySelectorAll(\"[data-testid='amqp-hello-step'].ok\").length;",
            serde_json::json!([]),
        ),
        serde_json::json!(3),
        "{steps}"
    );

    // Its message in the topic tree and the inspector, with its AMQP properties.
    window.click("[data-testid='tab-topics']");
    let row = "[data-topic='(default)/hello']";
    window.click(row);
    window.wait_for_text("[data-testid='inspector-topic']", |t| {
        t == "(default)/hello"
    });
    window.wait_for_text("[data-testid='payload']", |t| t.contains("Hello World!"));
    window.wait_for_text("[data-testid='message-properties']", |t| {
        t.contains("Content Type") && t.contains("text/plain")
    });

    // pika's message, consumed with manual acks: nack with requeue, redelivered, then ack.
    pika_send(&rabbit.url("/"), "tasks", "a task from pika");
    window.click("[data-testid='tab-broker']");
    window.click("[data-testid='amqp-part-consume']");
    window.fill("[data-testid='amqp-consume-queue']", "tasks");
    window.fill("[data-testid='amqp-consume-prefetch']", "1");
    window.click("[data-testid='amqp-consume-start']");
    let delivery = "[data-testid='amqp-delivery']";
    window.wait_for_text(delivery, |t| t.contains("a task from pika"));
    assert!(
        window
            .find(&format!("{delivery} [data-testid='amqp-redelivered']"))
            .is_none(),
        "the first delivery is not a redelivery"
    );
    window.click(&format!("{delivery} [data-testid='amqp-nack']"));
    window.wait_for(&format!("{delivery} [data-testid='amqp-redelivered']"));
    window.wait_for_text(delivery, |t| t.contains("a task from pika"));
    window.wait_for_paint();
    let path = screenshot_dir().join("amqp-session.png");
    assert!(window.screenshot(&path) > 1000, "screenshot too small");
    window.click(&format!("{delivery} [data-testid='amqp-ack']"));
    window.wait_for_text("[data-testid='amqp-consumer']", |t| {
        t.contains("Nothing waiting to be acknowledged")
    });
    // The broker agrees: nothing left in the queue (the ack reaches it a moment later).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let queues = rabbit.list_queues("/");
        if queues.iter().any(|(name, n)| name == "tasks" && *n == 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{queues:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // The broker closes the connection: pushed and said in words, the consumer ended.
    rabbit.ctl_ok(&["close_all_connections", "closed by the e2e test"]);
    window.wait_for_text("[data-testid='amqp-state']", |t| {
        t.starts_with("Connection lost") && t.contains("closed by the e2e test")
    });
    window.wait_for("[data-testid='source-amqp'] .dot.failed");
    window.wait_for("[data-testid='amqp-consumer-ended']");

    // A wrong password: refused in words, the password never shown.
    window.click("[data-testid='amqp-edit']");
    window.fill("[data-testid='amqp-password']", "not-the-password");
    window.click("[data-testid='amqp-save']");
    wait_gone(&window, "[data-testid='amqp-form']");
    window.click("[data-testid='amqp-connect']");
    let refused = window.wait_for_text("[data-testid='amqp-panel-error']", |t| {
        t.to_lowercase().contains("access refused")
    });
    assert!(!refused.contains("not-the-password"), "{refused}");
}
