//! The tools in the real window: the Simulator panel checks a broken file (its line named),
//! runs the temperature-sensor example against the embedded broker (mosquitto_sub sees its
//! messages, the panel counts 20 devices online), and stops it; the Bench panel runs a load test
//! to its end and shows throughput and latency percentiles. Screenshots of both panels go to
//! `target/e2e-screenshots/tools-*.png`.

use super::*;
use workbench_testkit::peers::{finish, mosquitto_sub};

fn shots(window: &AppWindow, name: &str) {
    for locale in ["en", "zh-CN"] {
        window.fill("[data-testid='language']", locale);
        window.wait_for_paint();
        let path = screenshot_dir().join(format!("tools-{name}-{locale}.png"));
        assert!(
            window.screenshot(&path) > 1000,
            "screenshot of {name} is suspiciously small"
        );
    }
    window.fill("[data-testid='language']", "en");
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn simulator_and_bench_panels_run_against_the_embedded_broker() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);

    window.click("[data-testid='tab-simulator']");
    window.wait_for_text("[data-testid='sim-file']", |_| true);
    // A broken file: the problem is named with its line and field.
    window.fill(
        "[data-testid='sim-file']",
        "[device]\ncount = 3\n\n[[stream]]\ntopic = \"t/{id}\"\nevery = \"5 parsecs\"\n",
    );
    window.click("[data-testid='sim-check']");
    window.wait_for_text("[data-testid='sim-error']", |t| {
        t.contains("line 6, stream[0].every")
    });
    window.fill("[data-testid='sim-example']", "temperature-sensors");
    window.click("[data-testid='sim-check']");
    window.wait_for_text("[data-testid='sim-summary']", |t| {
        t.contains("Temperature sensors") && t.contains("20 devices")
    });

    let sub = mosquitto_sub(&port, &["-t", "sensors/+/climate", "-C", "3", "-v"]);
    window.click("[data-testid='sim-start']");
    window.wait_for_text("[data-testid='sim-online']", |t| t == "20 / 20");
    let seen = finish(sub);
    assert_eq!(seen.lines().count(), 3, "{seen}");
    for line in seen.lines() {
        let (topic, body) = line.split_once(' ').expect("topic and payload");
        assert!(topic.starts_with("sensors/sensor-"), "{line}");
        let json: serde_json::Value = serde_json::from_str(body).expect("JSON payload");
        assert!(json["celsius"].is_number(), "{line}");
    }
    window.wait_for_text("[data-testid='sim-published']", |t| {
        t.parse::<u64>().is_ok_and(|n| n >= 20)
    });
    shots(&window, "simulator");
    window.click("[data-testid='sim-stop']");
    window.wait_for("[data-testid='sim-start']");

    window.click("[data-testid='tab-bench']");
    window.fill("[data-testid='bench-clients']", "4");
    window.fill("[data-testid='bench-rate']", "0");
    window.fill("[data-testid='bench-count']", "5000");
    window.fill("[data-testid='bench-duration']", "0");
    window.click("[data-testid='bench-start']");
    // The run ends by itself: every message sent is received by the subscriber, each timed.
    window.wait_for("[data-testid='bench-save']");
    window.wait_for_text("[data-testid='bench-throughput']", |t| {
        t.contains("20,000 sent") && t.contains("20,000 received")
    });
    window.wait_for_text("[data-testid='bench-latency']", |t| t.starts_with("p50 "));
    shots(&window, "bench");
    window.close();
}
