//! The inspecting proxy in the real window: started from the source list's form with mosquitto
//! (with a password file) as the upstream; mosquitto_pub publishes through it with the right
//! password and is refused with a wrong one. The proxy's page shows both clients, the refusal in
//! words; the packet log of the proxy's source shows the PUBLISH and the refused CONNACK.
//! Screenshot: `target/e2e-screenshots/proxy-clients.png`.

use super::*;
use workbench_testkit::mosquitto::{free_port, Mosquitto};

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn a_proxy_started_in_the_window_shows_its_clients_and_refusals() {
    let mosquitto = Mosquitto::start(&[("alice", "right-password")], None);
    let window = AppWindow::launch(app_binary());
    broker_port(&window);
    let port = free_port().to_string();

    window.click("[data-testid='new-proxy']");
    window.wait_for("[data-testid='proxy-form']");
    window.fill("[data-testid='proxy-port']", &port);
    window.fill(
        "[data-testid='proxy-upstream']",
        &format!("mqtt://127.0.0.1:{}", mosquitto.port),
    );
    window.click("[data-testid='proxy-start']");
    window.wait_for_text("[data-testid='source-proxy']", |t| t.contains(&port));
    window.click("[data-testid='tab-broker']");
    window.wait_for_text("[data-testid='proxy-listen']", |t| {
        t == format!("mqtt://127.0.0.1:{port}")
    });

    let publish = |client: &str, password: &str| {
        std::process::Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", "proxy/e2e"])
            .args([
                "-m",
                "through the proxy",
                "-i",
                client,
                "-u",
                "alice",
                "-P",
                password,
            ])
            .output()
            .expect("mosquitto_pub runs")
    };
    assert!(publish("e2e-right", "right-password").status.success());
    assert!(!publish("e2e-wrong", "a-wrong-password").status.success());

    let detail = window.wait_for_text("[data-testid='proxy-client-detail']", |t| {
        t.contains("not authorized")
    });
    assert!(detail.contains("0x05"), "{detail}");
    let rows = window.wait_for_text("[data-testid='proxy-clients']", |t| {
        t.contains("e2e-right") && t.contains("e2e-wrong")
    });
    assert!(!rows.contains("a-wrong-password"), "no password on screen");
    window.wait_for_paint();
    let path = screenshot_dir().join("proxy-clients.png");
    assert!(window.screenshot(&path) > 1000, "screenshot too small");

    window.click("[data-testid='tab-packets']");
    window.wait_for_text("[data-testid='packet-log']", |t| {
        t.contains("PUBLISH") && t.contains("proxy/e2e") && t.contains("e2e-wrong")
    });
    // No screenshot here: WebKitWebDriver's screenshot of this view sometimes never answers
    // (seen once in four runs); the README's picture of it was taken by an earlier run.
    window.click("[data-testid='tab-broker']");
    window.click("[data-testid='proxy-stop']");
    window.wait_for_text("[data-testid='proxy-panel']", |t| t.contains("not running"));
}
