//! The queue view in the real window against a real RabbitMQ (one node for the test, see
//! `workbench_testkit::rabbitmq`), with Python's pika as the independent producer: the depths
//! the view shows are `rabbitmqctl list_queues`' numbers, queue by queue, and follow a new
//! message; a selected queue gets its depth-over-time chart. Slow (the node takes 5 to 20 s to
//! start), so the test's name ends in `with_rabbitmq`, which `make test-e2e` skips: `make
//! test-rabbitmq-ui` runs it. Screenshot: `target/e2e-screenshots/amqp-queues.png`.

use super::*;
use std::time::{Duration, Instant};
use workbench_testkit::rabbitmq::{pika, RabbitMq};

/// pika declares a durable queue and publishes `count` messages to it.
const PIKA_FILL: &str = r#"
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.queue_declare(queue=sys.argv[2], durable=True)
for i in range(int(sys.argv[3])):
    ch.basic_publish(exchange="", routing_key=sys.argv[2], body="job %d" % i)
conn.close()
"#;

fn pika_fill(url: &str, queue: &str, count: usize) {
    pika(PIKA_FILL, &[url.into(), queue.into(), count.to_string()]);
}

/// The view's (queue, total) rows, in the order shown.
fn shown_depths(window: &AppWindow) -> Vec<(String, u64)> {
    let rows = window.execute(
        "return [...document.querySelectorAll(\"[data-testid='amqp-queue-row']\")].map(r => \
         [r.dataset.queue, r.querySelector(\"[data-testid='amqp-queue-total']\").textContent]);",
        serde_json::json!([]),
    );
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|row| {
                    let name = row.get(0)?.as_str()?.to_string();
                    let total = row.get(1)?.as_str()?.replace(',', "").trim().parse().ok()?;
                    Some((name, total))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the view lists exactly what `rabbitmqctl list_queues` says (the management
/// statistics lag a second or two behind, and readings come every 2 s).
fn until_view_matches_rabbitmqctl(window: &AppWindow, rabbit: &RabbitMq, expect: &[(&str, u64)]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut theirs = rabbit.list_queues("/");
        theirs.sort();
        let mut ours = shown_depths(window);
        ours.sort();
        let wanted: Vec<(String, u64)> = expect.iter().map(|(n, d)| (n.to_string(), *d)).collect();
        if ours == theirs && theirs == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the view shows {ours:?}, rabbitmqctl says {theirs:?}, expected {wanted:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
#[ignore = "needs a display, tauri-driver, rabbitmq-server and pika: make test-rabbitmq-ui"]
fn the_queue_view_matches_rabbitmqctl_with_rabbitmq() {
    let rabbit = RabbitMq::start();
    pika_fill(&rabbit.url("/"), "orders", 5);
    pika_fill(&rabbit.url("/"), "emails", 3);
    let window = AppWindow::launch(app_binary());
    broker_port(&window);

    // The session, made in the form, with its management port.
    window.click("[data-testid='new-amqp']");
    window.wait_for("[data-testid='amqp-form']");
    window.fill("[data-testid='amqp-name']", "queues e2e");
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
    window.wait_for_text("[data-testid='source-amqp']", |t| t.contains("queues e2e"));

    // Its queues tab: the table as rabbitmqctl lists the queues.
    window.click("[data-testid='tab-amqp-queues']");
    window.wait_for("[data-testid='amqp-queues-table']");
    until_view_matches_rabbitmqctl(&window, &rabbit, &[("emails", 3), ("orders", 5)]);

    // One more message: the next readings follow.
    pika_fill(&rabbit.url("/"), "orders", 1);
    until_view_matches_rabbitmqctl(&window, &rabbit, &[("emails", 3), ("orders", 6)]);

    // The selected queue's depth over time, as an image.
    // Through the page's own click: WebKitWebDriver calls a button in a table that scrolls
    // "not interactable" (as the teaching views' tests found).
    let orders = "[data-testid='amqp-queue-row'][data-queue='orders'] button";
    window.wait_for(orders);
    window.execute(
        "document.querySelector(arguments[0]).dispatchEvent(new MouseEvent('click', { bubbles: true }));",
        serde_json::json!([orders]),
    );
    window.wait_for("[data-testid='amqp-queue-chart-image']");
    window.fill("[data-testid='amqp-queues-filter']", "ord");
    window.wait_for_text("[data-testid='amqp-queues-count']", |t| {
        t.contains("1 of 2")
    });
    window.wait_for_paint();
    let path = screenshot_dir().join("amqp-queues.png");
    assert!(window.screenshot(&path) > 1000, "screenshot too small");
}
