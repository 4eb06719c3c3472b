//! Fault injection in the real window: a mosquitto_sub device connects to the embedded broker,
//! the tester arms "duplicate the next PUBLISH" from the device's row on the broker dashboard,
//! mosquitto_pub publishes once, and the device receives the message twice; the copy is marked
//! in the packet log and in the sequence diagram. Screenshots go to
//! `target/e2e-screenshots/faults-*.png`.

use super::*;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The device: ends with the test, passed or failed.
struct Device(Child);

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

/// Scrolls the element into view (the client table is wider than the window) and clicks it
/// through the page's own `click()`.
fn reveal_and_click(window: &AppWindow, css: &str) {
    window.wait_for(css);
    window.execute(
        "const el = document.querySelector(arguments[0]);\
         el.scrollIntoView({ block: 'center', inline: 'center' }); el.click();",
        json!([css]),
    );
}

fn shots(window: &AppWindow, name: &str) {
    window.execute("document.activeElement?.blur?.();", json!([]));
    for locale in ["en", "zh-CN"] {
        window.fill("[data-testid='language']", locale);
        let path = screenshot_dir().join(format!("faults-{name}-{locale}.png"));
        assert!(
            window.screenshot(&path) > 1000,
            "screenshot of {name} is suspiciously small"
        );
    }
    window.fill("[data-testid='language']", "en");
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn a_fault_armed_from_a_client_row_is_marked_in_the_packet_log_and_the_diagram() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    let device = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-i",
            "e2e-device",
            "-q",
            "1",
        ])
        .args(["-t", "faults/e2e", "-C", "2", "-W", "120", "-v"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub is installed");
    let mut device = Device(device);

    // The device's row, and its faults menu.
    window.click("[data-testid='tab-broker']");
    window.wait_for_text("[data-testid='broker-clients']", |t| {
        t.contains("e2e-device")
    });
    let button = "[data-testid='faults-button'][data-client='e2e-device']";
    reveal_and_click(&window, button);
    reveal_and_click(
        &window,
        "[data-testid='fault-form'][data-client='e2e-device'] [data-testid='fault-arm-duplicate']",
    );
    window.wait_for_text(button, |t| t == "Faults (1)");
    window.wait_for_text("[data-testid='faults-panel']", |t| {
        t.contains("e2e-device: duplicate the next 1 PUBLISH to the client")
    });
    shots(&window, "menu");

    publish(&port, "faults/e2e", "once");
    let output = device
        .0
        .stdout
        .take()
        .map(|mut out| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut out, &mut text).expect("read mosquitto_sub");
            text
        })
        .unwrap_or_default();
    assert_eq!(
        output, "faults/e2e once\nfaults/e2e once\n",
        "the device got it twice"
    );
    // Used up (the device has left, its row with it): no rule is armed any more.
    window.wait_for_text("[data-testid='faults-panel']", |t| {
        t.contains("No fault rule is armed.")
    });

    // The packet log marks the copy.
    window.click("[data-testid='tab-packets']");
    window.wait_for_text("[data-testid='packet-log']", |t| {
        t.contains("copy sent by a fault")
    });
    let marks = window.execute(
        "return [...document.querySelectorAll(\"[data-testid='fault-mark']\")].map((m) => m.dataset.fault);",
        json!([]),
    );
    assert_eq!(marks, json!(["duplicate"]));
    shots(&window, "packet-log");

    // So does the sequence diagram.
    window.click("[data-testid='tab-teach']");
    window.click("[data-testid='teach-tab-sequence']");
    let marked = wait_until(
        "the marked copy in the diagram",
        || {
            window.execute(
                "return [...document.querySelectorAll(\"[data-testid='seq-arrow']\")]\
                   .filter((g) => g.dataset.fault).map((g) => g.dataset.client + '/' + g.dataset.kind + '/' + g.dataset.fault);",
                json!([]),
            )
        },
        |v| v.as_array().is_some_and(|a| !a.is_empty()),
    );
    assert_eq!(marked, json!(["e2e-device/Publish/duplicate"]));
    shots(&window, "sequence");
}
