//! End-to-end: the real app in its real webview, driven through tauri-driver and WebKitWebDriver.
//!
//! These tests need a display and tauri-driver, so they are ignored by a plain `cargo test`;
//! `make test` runs them under Xvfb with `--ignored`. The binary must embed the built frontend
//! (`--features tauri/custom-protocol`), which is how make builds it.

mod support;

use std::path::Path;
use support::webdriver::{screenshot_dir, AppWindow};

fn app_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mqtt-workbench"))
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn main_window_shows_the_shell_and_talks_to_the_backend() {
    let window = AppWindow::launch(app_binary());

    let heading = window.wait_for("h1");
    assert_eq!(window.text(&heading), "MQTT Workbench");
    assert_eq!(window.title(), "MQTT Workbench");

    // The status bar is filled from the `app_info` command: this proves the IPC path, the
    // capability grant and the CSP all let the UI talk to the backend.
    let version = window.wait_for_text("[data-testid='app-version']", |t| !t.is_empty());
    // The embedded broker starts with the app, on loopback.
    let address = window.wait_for_text("[data-testid='broker-address']", |t| !t.is_empty());
    assert!(
        address.starts_with("127.0.0.1:"),
        "broker address: {address}"
    );
    assert_eq!(
        version,
        format!("MQTT Workbench {}", env!("CARGO_PKG_VERSION"))
    );

    // Nothing outside the UI's own origin may run: the CSP forbids inline scripts.
    let blocked = window.execute(
        "const s = document.createElement('script'); s.textContent = 'window.__inline = 1';\
         document.body.append(s); return window.__inline === undefined;",
        serde_json::json!([]),
    );
    assert_eq!(
        blocked,
        serde_json::Value::Bool(true),
        "an inline script ran despite the CSP"
    );

    let bytes = window.screenshot(&screenshot_dir().join("main-window.png"));
    assert!(
        bytes > 1000,
        "the screenshot is suspiciously small ({bytes} bytes)"
    );
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn broker_dashboard_lists_a_real_client_and_shows_its_id_as_text() {
    let window = AppWindow::launch(app_binary());
    let address = window.wait_for_text("[data-testid='broker-address']", |t| !t.is_empty());
    let port = address.rsplit(':').next().expect("a port").to_string();

    // A client whose id is markup: the dashboard must show it as text and run nothing.
    let hostile_id = "<img src=x onerror=window.__xss=1>";
    let mut watcher = std::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-i",
            hostile_id,
            "-t",
            "e2e/#",
            "-W",
            "120",
        ])
        .spawn()
        .expect("mosquitto_sub is installed");

    let table = window.wait_for_text("[data-testid='broker-clients']", |t| t.contains(hostile_id));
    assert!(table.contains("e2e/#"), "subscription listed: {table}");
    let clients = window.wait_for_text("[data-testid='status-clients']", |t| t == "1 client");
    assert_eq!(clients, "1 client");
    let injected = window.execute(
        "return [window.__xss === undefined, document.querySelectorAll('td img').length];",
        serde_json::json!([]),
    );
    assert_eq!(
        injected,
        serde_json::json!([true, 0]),
        "markup in a client id was rendered"
    );

    window.screenshot(&screenshot_dir().join("broker-dashboard.png"));
    let _ = watcher.kill();
    let _ = watcher.wait();
}
