//! End-to-end: the real app in its real webview, driven through tauri-driver and WebKitWebDriver.
//!
//! These tests need a display and tauri-driver, so they are ignored by a plain `cargo test`;
//! `make test` runs them under Xvfb with `--ignored`. The binary must embed the built frontend
//! (`--features tauri/custom-protocol`), which is how make builds it.
//!
//! - [`amqp`]: an AMQP session against RabbitMQ: Hello World, nack with requeue (its test
//!   ends in `with_rabbitmq`: `make test-rabbitmq-ui` runs it, `make test-e2e` skips it).
//! - [`amqp_queues`]: the queue view's depths against `rabbitmqctl list_queues` (also
//!   `with_rabbitmq`), and a queue's depth chart.
//! - [`capture`]: recording, replay with pause and step, and the saved-message library.
//! - [`comfort`]: publishing with no setup, new topics open, the dark theme, the shortcuts.
//! - [`proxy`]: the inspecting proxy started from its form, its clients and refusals.
//! - [`shell`]: the window, the broker dashboard, the topic tree and inspector, a flood.
//! - [`sessions`]: sessions made through the IPC and in the UI, against mosquitto and the
//!   embedded broker.
//! - [`decode`]: Sparkplug B and Protobuf payloads decoded, the Sparkplug view.
//! - [`faults`]: a fault armed from a client's row, marked in the packet log and diagram.
//! - [`teach`]: the sequence diagram, the live map, routing explained and who is busy.
//! - [`tools`]: the Simulator and Bench panels against the embedded broker.
//! - [`tree_subscribe`]: subscribing from the topic tree with the app's own session.
//! - [`windows`]: settings across a restart, and a second window with its own view.

#[path = "../support/mod.rs"]
mod support;

mod amqp;
mod amqp_queues;
mod capture;
mod classroom;
mod comfort;
mod decode;
mod faults;
mod learn;
mod learn_rabbitmq;
mod proxy;
mod sessions;
mod shell;
mod teach;
mod tools;
mod tree_subscribe;
mod windows;

use std::path::Path;
use support::webdriver::{screenshot_dir, AppWindow};

fn app_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mqtt-workbench"))
}

/// The broker's port, read from the status bar ("Broker 127.0.0.1:1883").
fn broker_port(window: &AppWindow) -> String {
    let status = window.wait_for_text("[data-testid='status-broker']", |t| {
        t.starts_with("Broker 127.0.0.1:")
    });
    status.rsplit(':').next().expect("a port").to_string()
}

fn publish(port: &str, topic: &str, payload: &str) {
    let status = std::process::Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            payload,
        ])
        .status()
        .expect("mosquitto_pub is installed");
    assert!(status.success(), "mosquitto_pub failed");
}
