//! The RabbitMQ lesson (14) in the real window against a real RabbitMQ node: first pointed at a
//! port where nothing listens, the lesson page says so in words; with the node's URL typed into
//! the lesson's RabbitMQ field, the AMQP clients connect and the Hello World step is done as a
//! learner does it (send, then connect the consumer). The name ends in `with_rabbitmq`, which
//! `make test-e2e` skips; `make test-rabbitmq-ui` runs it. Screenshot:
//! `target/e2e-screenshots/learn-rabbitmq.png`.

use super::*;
use workbench_testkit::rabbitmq::RabbitMq;

/// Clicks through the page's own click, after scrolling into view (as `learn.rs` does).
fn click(window: &AppWindow, css: &str) {
    window.wait_for(css);
    window.execute(
        "const el = document.querySelector(arguments[0]);\
         el.scrollIntoView({ block: 'center' });\
         el.dispatchEvent(new MouseEvent('click', { bubbles: true }));",
        serde_json::json!([css]),
    );
}

fn use_rabbitmq(window: &AppWindow, url: &str) {
    window.fill("[data-testid='lesson-rabbitmq-url']", url);
    click(window, "[data-testid='lesson-rabbitmq-use']");
}

#[test]
#[ignore = "needs a display, tauri-driver and rabbitmq-server: make test-rabbitmq-ui"]
fn lesson_14_says_when_rabbitmq_is_missing_and_runs_hello_world_with_rabbitmq() {
    let rabbit = RabbitMq::start();
    let window = AppWindow::launch(app_binary());
    broker_port(&window);
    click(&window, "[data-testid='tab-learn']");
    click(&window, "[data-testid='learn-open-rabbitmq-queues']");
    window.wait_for_text("[data-testid='lesson-title']", |t| {
        t.to_ascii_lowercase().contains("rabbitmq")
    });

    // Nothing listens there: said in words, the MQTT clients of the lesson still online.
    let closed = workbench_testkit::mosquitto::free_port();
    use_rabbitmq(&window, &format!("amqp://guest:guest@127.0.0.1:{closed}/"));
    window.wait_for_text("[data-testid='lesson-rabbitmq-problem']", |t| {
        t.contains("connection refused") && t.contains(&closed.to_string())
    });
    window.wait_for_text("[data-testid='actor-mqtt-a-link']", |t| t == "online");
    assert!(window
        .find("[data-testid='actor-send-subscribe']")
        .is_none());

    // The real node: the clients connect, Hello World waits in the queue, then is consumed.
    use_rabbitmq(&window, &rabbit.url("/"));
    for actor in ["send", "worker-1", "worker-2", "receive_logs-1"] {
        window.wait_for_text(&format!("[data-testid='actor-{actor}-link']"), |t| {
            t == "online"
        });
    }
    assert!(window
        .find("[data-testid='lesson-rabbitmq-problem']")
        .is_none());
    let shown = window.wait_for_text("[data-testid='lesson-rabbitmq']", |t| !t.is_empty());
    assert!(!shown.contains("guest:guest"), "{shown}");
    click(&window, "[data-testid='actor-send-button-0']");
    window.wait_for("[data-testid='lesson-check-0'][data-holds='true']");
    assert!(window.find("[data-testid='lesson-done']").is_none());
    click(&window, "[data-testid='actor-receive-connect']");
    window.wait_for("[data-testid='lesson-page'][data-step='0'] [data-testid='lesson-done']");
    window.wait_for_text("[data-testid='actor-receive-received']", |t| {
        t.contains("(default)/hello = Hello World!")
    });
    window.fill("[data-testid='lesson-rabbitmq-url']", "amqp://");
    window.wait_for_paint();
    let path = screenshot_dir().join("learn-rabbitmq.png");
    assert!(window.screenshot(&path) > 1000, "screenshot too small");
}
