//! The main window: its shell, the broker dashboard, the tree and inspector, and a flood.

use super::*;

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn main_window_shows_the_shell_and_talks_to_the_backend() {
    let window = AppWindow::launch(app_binary());

    let heading = window.wait_for("h1");
    assert_eq!(window.text(&heading).as_deref(), Some("MQTT Workbench"));
    assert_eq!(window.title(), "MQTT Workbench");

    // The status bar is filled from the `app_info` command: this proves the IPC path, the
    // capability grant and the CSP all let the UI talk to the backend.
    let version = window.wait_for_text("[data-testid='app-version']", |t| !t.is_empty());
    // The embedded broker starts with the app, on loopback.
    let status = window.wait_for_text("[data-testid='status-broker']", |t| {
        t.starts_with("Broker ")
    });
    assert!(
        status.starts_with("Broker 127.0.0.1:"),
        "broker address: {status}"
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
    window.click("[data-testid='tab-broker']");
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
    // The watcher and the app's own session.
    let clients = window.wait_for_text("[data-testid='status-clients']", |t| t == "2 clients");
    assert_eq!(clients, "2 clients");
    assert!(
        table.contains("mqtt-workbench"),
        "the app's own client: {table}"
    );
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

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn published_messages_appear_in_the_tree_and_inspector_as_text() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    for t in [20.5, 21.0, 21.5] {
        publish(&port, "e2e/sensor/temp", &format!("{{\"t\":{t}}}"));
    }
    let hostile_topic = "e2e/<img src=x onerror=window.__xss=1>";
    publish(
        &port,
        hostile_topic,
        "<script>window.__xss=2</script><b>bold</b>",
    );

    window.click("[data-testid='expand-all']");
    let row = "[data-topic='e2e/sensor/temp']";
    window.wait_for_text(row, |t| t.contains("temp") && t.contains('3'));
    let preview = window.execute(
        "return document.querySelector(arguments[0] + ' .preview').textContent;",
        serde_json::json!([row]),
    );
    assert_eq!(
        preview,
        serde_json::json!("{\"t\":21.5}"),
        "the row previews the last payload"
    );

    window.click(row);
    let topic = window.wait_for_text("[data-testid='inspector-topic']", |t| !t.is_empty());
    assert_eq!(topic, "e2e/sensor/temp");
    window.click("[data-testid='inspector'] [role='tab']:nth-child(2)"); // JSON
    let payload = window.wait_for_text("[data-testid='payload']", |t| t.contains("\"t\": 21.5"));
    assert!(payload.starts_with('{'), "{payload}");
    window.screenshot(&screenshot_dir().join("topics.png"));

    // Markup in a topic and a payload stays text: nothing runs, no element appears.
    let hostile_row = "[data-topic^='e2e/<img']";
    window.wait_for_text(hostile_row, |t| {
        t.contains("<img src=x onerror=window.__xss=1>")
    });
    window.click(hostile_row);
    let shown = window.wait_for_text("[data-testid='payload']", |t| t.contains("<script>"));
    assert_eq!(shown, "<script>window.__xss=2</script><b>bold</b>");
    let checks = window.execute(
        "return [window.__xss === undefined, document.querySelectorAll('main img, aside img:not([data-testid=rate-chart-image]), aside b, main script, aside script').length];",
        serde_json::json!([]),
    );
    assert_eq!(
        checks,
        serde_json::json!([true, 0]),
        "markup from MQTT data was rendered"
    );

    // The packet log shows every packet, CONNECT to DISCONNECT, with its fields.
    window.click("[data-testid='tab-packets']");
    let log = window.wait_for_text("[data-testid='packet-log']", |t| {
        t.contains("e2e/sensor/temp") && t.contains("PUBACK")
    });
    for kind in ["CONNECT", "CONNACK", "PUBLISH", "DISCONNECT"] {
        assert!(
            log.contains(kind),
            "{kind} missing from the packet log:\n{log}"
        );
    }
    window.screenshot(&screenshot_dir().join("packets.png"));
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn the_window_answers_clicks_during_a_flood() {
    use std::io::Write;
    let window = AppWindow::launch(app_binary());
    let port: u16 = broker_port(&window).parse().expect("port");

    // 20,000 messages a second for 10 seconds over 1,000 topics, QoS 0, from a raw client.
    let total: usize = 200_000;
    let flood = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let connect = support::raw::Connect {
            client_id: "flood",
            ..Default::default()
        }
        .encode();
        stream.write_all(&connect).expect("CONNECT");
        let start = std::time::Instant::now();
        let mut sent = 0;
        while sent < total {
            let mut batch = Vec::new();
            for _ in 0..1000 {
                let topic = format!("flood/{}/value", sent % 1000);
                batch.extend(support::raw::publish(4, &topic, b"12345678", 0, false, 0));
                sent += 1;
            }
            stream.write_all(&batch).expect("PUBLISH");
            // Pace to 20,000 a second.
            let due = std::time::Duration::from_secs_f64(sent as f64 / 20_000.0);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        stream
            .write_all(&support::raw::DISCONNECT)
            .expect("DISCONNECT");
        start.elapsed()
    });

    // While it floods, the window still switches tabs and shows what was asked for.
    let mut worst = std::time::Duration::ZERO;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        window.click("[data-testid='tab-broker']");
        window.wait_for("[data-testid='broker-state']");
        window.click("[data-testid='tab-topics']");
        window.wait_for("[data-testid='topic-tree']");
        worst = worst.max(started.elapsed());
    }
    let flood_time = flood.join().expect("flood thread");
    let counted = window.wait_for_text("[data-testid='status-messages']", |t| {
        t.split_whitespace()
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            >= Some(total)
    });
    window.screenshot(&screenshot_dir().join("after-flood.png"));
    println!(
        "flood: {total} messages in {:.1} s; slowest tab round trip during it: {} ms; status: {counted}",
        flood_time.as_secs_f64(),
        worst.as_millis()
    );
}
