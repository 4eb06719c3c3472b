//! The teaching views in the real window, with mosquitto_pub and mosquitto_sub as the clients:
//! the sequence diagram of a QoS 2 publish to a QoS 1 subscriber, the live map's dot reaching
//! two of three subscribers, routing explained for the third, and who is busy. Screenshots of
//! each view in English and Chinese go to `target/e2e-screenshots/teach-*.png`.

use super::*;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Subscribers that end with the test, passed or failed (a leftover one would reconnect to the
/// next run's broker and take its client id over, again and again).
struct Subscribers(Vec<Child>);

impl Drop for Subscribers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A mosquitto_sub that stays until killed (or `-C` messages arrived).
fn subscriber(port: &str, id: &str, filter: &str, qos: &str, extra: &[&str]) -> Child {
    Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-i",
            id,
            "-q",
            qos,
            "-t",
            filter,
            "-W",
            "120",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub is installed")
}

fn pub_qos(port: &str, id: &str, topic: &str, qos: &str, payload: &str) {
    let status = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-i",
            id,
            "-q",
            qos,
            "-t",
            topic,
            "-m",
            payload,
        ])
        .status()
        .expect("mosquitto_pub is installed");
    assert!(status.success(), "mosquitto_pub failed");
}

/// The diagram's arrows of one client: "KIND/qos/direction" each, in order.
fn lane(window: &AppWindow, client: &str) -> Vec<String> {
    let found = window.execute(
        "return [...document.querySelectorAll(\"[data-testid='seq-arrow']\")]\
           .filter((g) => g.dataset.client === arguments[0])\
           .map((g) => g.dataset.kind + '/' + g.dataset.qos + '/' + g.dataset.direction);",
        json!([client]),
    );
    serde_json::from_value(found).unwrap_or_default()
}

/// Polls `read` until `accept` holds (a generous deadline: it must happen at all).
fn wait_until<T: std::fmt::Debug>(
    what: &str,
    read: impl Fn() -> T,
    accept: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = read();
        if accept(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: still {value:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn shots(window: &AppWindow, name: &str) {
    // Nothing hovered or focused: a tooltip or focus ring is not part of the picture.
    window.execute("document.activeElement?.blur?.();", json!([]));
    for locale in ["en", "zh-CN"] {
        window.fill("[data-testid='language']", locale);
        let bytes = window.screenshot(&screenshot_dir().join(format!("teach-{name}-{locale}.png")));
        assert!(bytes > 1000, "screenshot of {name} is suspiciously small");
    }
    window.fill("[data-testid='language']", "en");
}

/// Clicks through the page's own `click()`: an SVG element (an arrow of the diagram) is not
/// "interactable" for WebDriver, and a button in a table that scrolls may be out of its view.
fn js_click(window: &AppWindow, css: &str) {
    window.wait_for(css);
    window.execute("document.querySelector(arguments[0]).dispatchEvent(new MouseEvent('click', { bubbles: true }));", json!([css]));
}

fn open_teach(window: &AppWindow, view: &str) {
    window.click("[data-testid='tab-teach']");
    window.click(&format!("[data-testid='teach-tab-{view}']"));
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn sequence_diagram_shows_a_qos2_publish_and_its_qos1_delivery() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    open_teach(&window, "sequence");

    let sub = subscriber(&port, "seq-sub", "lesson/#", "1", &["-C", "1"]);
    wait_until(
        "the subscriber's SUBACK in the diagram",
        || lane(&window, "seq-sub"),
        |l| l.iter().any(|a| a.starts_with("SubAck/")),
    );
    pub_qos(&port, "seq-pub", "lesson/one", "2", "hello");
    let output = sub
        .wait_with_output()
        .expect("mosquitto_sub ends after one message");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");

    // The publisher's lane: exactly its connection, the QoS 2 handshake and its goodbye.
    let publisher = wait_until(
        "the publisher's whole exchange",
        || lane(&window, "seq-pub"),
        |l| l.len() >= 7,
    );
    assert_eq!(
        publisher,
        [
            "Connect/0/to-broker",
            "ConnAck/0/from-broker",
            "Publish/2/to-broker",
            "PubRec/0/from-broker",
            "PubRel/0/to-broker",
            "PubComp/0/from-broker",
            "Disconnect/0/to-broker",
        ]
    );
    // The subscriber's: the delivery at QoS 1 = min(2, 1), acknowledged once.
    let subscriber_lane = wait_until(
        "the subscriber's delivery",
        || lane(&window, "seq-sub"),
        |l| l.iter().any(|a| a.starts_with("Disconnect/")),
    );
    assert_eq!(
        subscriber_lane,
        [
            "Connect/0/to-broker",
            "ConnAck/0/from-broker",
            "Subscribe/1/to-broker",
            "SubAck/0/from-broker",
            "Publish/1/from-broker",
            "PubAck/0/to-broker",
            "Disconnect/0/to-broker",
        ]
    );
    let label = window.execute(
        "return document.querySelector(\"[data-testid='seq-arrow'][data-kind='Publish'][data-client='seq-pub']\").dataset.label;",
        json!([]),
    );
    assert_eq!(label, Value::from("PUBLISH (QoS 2, id 1, lesson/one)"));
    // Only the two clients' lanes (the app's own session is a client too).
    window.click("[data-testid='seq-lanes'] input[data-client='seq-pub']");
    window.click("[data-testid='seq-lanes'] input[data-client='seq-sub']");
    wait_until(
        "only the chosen lanes",
        || {
            window.execute(
                "return document.querySelectorAll(\"[data-testid='seq-lane']\").length;",
                json!([]),
            )
        },
        |n| n == &Value::from(3),
    );
    wait_until(
        "the chosen lanes' packets",
        || lane(&window, "seq-pub").len(),
        |n| *n == 7,
    );
    shots(&window, "sequence");

    // Following the message: both legs and nothing else.
    js_click(
        &window,
        "[data-testid='seq-arrow'][data-kind='Publish'][data-client='seq-pub']",
    );
    let followed = wait_until(
        "only the message's journey",
        || lane(&window, "seq-pub").len() + lane(&window, "seq-sub").len(),
        |n| *n == 6,
    );
    assert_eq!(followed, 6);
    assert_eq!(
        lane(&window, "seq-pub"),
        [
            "Publish/2/to-broker",
            "PubRec/0/from-broker",
            "PubRel/0/to-broker",
            "PubComp/0/from-broker"
        ]
    );
    assert_eq!(
        lane(&window, "seq-sub"),
        ["Publish/1/from-broker", "PubAck/0/to-broker"]
    );

    // Exported as Mermaid text into the Downloads folder.
    window.click("[data-testid='seq-export-mermaid']");
    window.wait_for_text("[data-testid='seq-export-note']", |t| t.contains(".mmd"));
    let saved = std::fs::read_dir(window.downloads())
        .expect("the downloads folder")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".mmd"))
        .expect("a Mermaid file");
    let text = std::fs::read_to_string(saved.path()).expect("read the Mermaid file");
    assert!(text.starts_with("sequenceDiagram\n"), "{text}");
    assert!(
        text.contains("  P1->>P0: PUBLISH (QoS 2, id 1, lesson/one)\n"),
        "{text}"
    );

    // The same message explained: seq-sub got it at QoS 1 = min(2, 1).
    window.click("[data-testid='teach-tab-routing']");
    window.wait_for_text("[data-testid='routing-recent']", |t| {
        t.contains("lesson/one")
    });
    js_click(&window, "[data-testid='routing-explain']");
    let explained = window.wait_for_text("[data-testid='routing-explanation']", |t| {
        t.contains("seq-sub")
    });
    assert!(
        explained.contains("effective QoS 1 = min(published 2, subscribed)"),
        "{explained}"
    );
    // No screenshot of the routing view: WebKitWebDriver's screenshot of it never answers here
    // (see /work/notes/closing-teach.md); the other three views are pictured.
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn live_map_dot_reaches_two_of_three_and_routing_says_why_the_third_got_nothing() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    open_teach(&window, "map");
    let _subs = Subscribers(
        [
            ("map-a", "room/+"),
            ("map-b", "room/#"),
            ("map-c", "hall/#"),
        ]
        .into_iter()
        .map(|(id, filter)| subscriber(&port, id, filter, "1", &[]))
        .collect(),
    );
    for id in ["map-a", "map-b", "map-c"] {
        window.wait_for(&format!("[data-testid='map-client'][data-client='{id}']"));
    }
    let received = |id: &str| -> String {
        window
            .execute(
                "const b = document.querySelector(`[data-testid='map-client'][data-client='${arguments[0]}']`);\
                 return b ? b.dataset.received : '';",
                json!([id]),
            )
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    pub_qos(&port, "map-pub", "room/1", "1", "hi");
    wait_until(
        "the dot reaching map-a and map-b",
        || [received("map-a"), received("map-b"), received("map-c")],
        |r| r[0] == "1" && r[1] == "1",
    );
    assert_eq!(received("map-c"), "0", "map-c's filter does not match");
    shots(&window, "map");

    // Explaining the message: two delivered, the third with its reason.
    window.click("[data-testid='teach-tab-routing']");
    window.wait_for_text("[data-testid='routing-recent']", |t| t.contains("room/1"));
    js_click(&window, "[data-testid='routing-explain']");
    let table = wait_until(
        "the explanation of room/1",
        || {
            window
                .execute(
                    "const t = document.querySelector(\"[data-testid='routing-explanation']\");\
                     const sel = document.querySelector(\"[data-testid='routing-recent'] tr.selected\");\
                     const err = document.querySelector(\"[aria-label='Routing'] .error\");\
                     return t ? t.textContent : `selected row: ${sel ? sel.textContent : 'none'}; error: ${err ? err.textContent : 'none'}`;",
                    json!([]),
                )
                .as_str()
                .unwrap_or_default()
                .to_string()
        },
        |t| t.contains("map-c"),
    );
    let outcomes = window.execute(
        "return Object.fromEntries([...document.querySelectorAll(\"[data-testid='routing-line']\")]\
           .map((r) => [r.dataset.client, r.dataset.outcome]));",
        json!([]),
    );
    assert_eq!(outcomes["map-a"], "Delivered", "{table}");
    assert_eq!(outcomes["map-b"], "Delivered", "{table}");
    assert_eq!(outcomes["map-c"], "NoMatchingFilter", "{table}");
    assert!(table.contains("effective QoS 1"), "{table}");

    // "Why didn't map-c get it?" from its context menu on the map.
    window.click("[data-testid='teach-tab-map']");
    window.wait_for("[data-testid='map-client'][data-client='map-c']");
    window.execute(
        "document.querySelector(\"[data-testid='map-client'][data-client='map-c']\")\
           .dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true }));",
        json!([]),
    );
    window.click("[data-testid='map-why-not']");
    let why = window.wait_for_text("[data-testid='why-not']", |t| t.contains("room/1"));
    assert!(
        why.contains("none of its subscriptions matches the topic"),
        "{why}; the broker says: {:?}",
        window.invoke("teach_why_not", json!({ "clientId": "map-c", "limit": 5 })),
    );

    window.click("[data-testid='teach-tab-busy']");
    wait_until(
        "room/1 among the busy topics",
        || {
            window.execute(
                "const s = document.querySelector(\"[aria-label='Who is busy']\");\
                 return s ? s.textContent : 'no busy view';",
                json!([]),
            )
        },
        |text| text.as_str().is_some_and(|t| t.contains("room/1")),
    );
    wait_until(
        "map-pub among the busy clients",
        || {
            window.execute(
                "const s = document.querySelector(\"[data-testid='busy-clients']\");\
                 return s ? s.textContent : document.querySelector(\"[aria-label='Who is busy']\").outerHTML;",
                json!([]),
            )
        },
        |text| text.as_str().is_some_and(|t| t.contains("map-pub")),
    );
    shots(&window, "busy");
}
