//! Sessions, made through the IPC and in the UI, against mosquitto and the embedded broker.

use super::*;

/// A profile as the UI sends it to `session_save` (the fields it must always give).
fn profile_json(name: &str, port: u16, version: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "host": "127.0.0.1",
        "port": port,
        "transport": "tcp",
        "version": version,
        "clientId": name,
    })
}

/// Saves a profile through IPC and returns its id.
fn save_session(window: &AppWindow, profile: serde_json::Value, password: Option<&str>) -> String {
    let saved = window
        .invoke(
            "session_save",
            serde_json::json!({ "profile": profile, "password": password }),
        )
        .unwrap_or_else(|e| panic!("session_save failed: {e}"));
    saved["session"]["profile"]["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

/// Waits until `session_list` shows the session in a state `accept` takes; returns the view.
fn wait_session(
    window: &AppWindow,
    id: &str,
    what: &str,
    accept: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + support::peers::PATIENCE;
    loop {
        let list = window
            .invoke("session_list", serde_json::json!({}))
            .expect("list");
        let view = list["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .find(|s| s["profile"]["id"] == id)
            .cloned()
            .expect("the session is listed");
        if accept(&view["state"]) {
            return view;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "session {id} never became {what}; state: {}",
            view["state"]
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn sessions_driven_through_ipc_against_mosquitto_and_the_embedded_broker() {
    use serde_json::json;
    let mosquitto = support::mosquitto::Mosquitto::start(&[("alice", "secret")], None);
    let window = AppWindow::launch(app_binary());
    let embedded: u16 = broker_port(&window).parse().expect("port");

    let local = save_session(&window, profile_json("ipc-local", embedded, "V5"), None);
    let mut external = profile_json("ipc-external", mosquitto.port, "V311");
    external["username"] = json!("alice");
    let external = save_session(&window, external, Some("secret"));
    let mut wrong = profile_json("ipc-wrong-password", mosquitto.port, "V5");
    wrong["username"] = json!("alice");
    let wrong = save_session(&window, wrong, Some("guess"));
    let closed = support::mosquitto::free_port();
    let nobody = save_session(&window, profile_json("ipc-nobody", closed, "V311"), None);
    for id in [&local, &external, &wrong, &nobody] {
        window
            .invoke("session_connect", json!({ "id": id }))
            .unwrap_or_else(|e| panic!("connect {id}: {e}"));
    }
    let connected = |s: &serde_json::Value| s["state"] == "Connected";
    wait_session(&window, &local, "connected", connected);
    wait_session(&window, &external, "connected", connected);
    let failed = wait_session(&window, &wrong, "failed", |s| s["state"] == "Failed");
    assert_eq!(failed["state"]["code"], "AuthFailed", "{failed}");
    assert!(
        failed["state"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("[CONNACK code 0x87]")),
        "{failed}"
    );
    let retrying = wait_session(&window, &nobody, "reconnecting", |s| {
        s["state"] == "Reconnecting"
    });
    assert!(
        retrying["state"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("connection refused")),
        "{retrying}"
    );

    // Subscriptions: a bad filter is refused with its reason, a good one is granted.
    let refused = window
        .invoke(
            "session_subscribe",
            json!({ "id": local, "subscription": { "filter": "sport/+/player#", "qos": 1 } }),
        )
        .expect_err("an invalid filter");
    assert_eq!(refused["code"], "InvalidTopicFilter", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("'#' must be the last")),
        "{refused}"
    );
    for (id, filter) in [(&local, "ipc/#"), (&external, "ext/#")] {
        window
            .invoke(
                "session_subscribe",
                json!({ "id": id, "subscription": { "filter": filter, "qos": 1 } }),
            )
            .unwrap_or_else(|e| panic!("subscribe {filter}: {e}"));
    }
    wait_session(&window, &external, "subscribed", |_| true);
    let granted = |window: &AppWindow, id: &str| {
        wait_session(window, id, "granted", |_| true)["subscriptions"]
            .as_array()
            .is_some_and(|subs| subs.iter().all(|s| s["status"]["status"] == "Granted"))
    };
    support::peers::wait_until("subscriptions granted", || {
        granted(&window, &local) && granted(&window, &external)
    });

    // Publishing: to mosquitto and back, with a payload in hex; a wildcard topic is refused.
    window
        .invoke(
            "session_publish",
            json!({ "id": external, "request": {
                "topic": "ext/hello", "qos": 1, "retain": false,
                "payload": { "format": "hex", "data": "68 65 6c 6c 6f" } } }),
        )
        .expect("publish");
    let source = json!({ "kind": "session", "id": external });
    support::peers::wait_until("the message came back from mosquitto", || {
        let page = window
            .invoke(
                "traffic_packets",
                json!({ "source": source, "count": 50, "client": "", "kind": "Publish" }),
            )
            .expect("packets");
        page["rows"].as_array().expect("rows").iter().any(|r| {
            r["direction"] == "Inbound" && r["topic"] == "ext/hello" && r["payloadLen"] == 5
        })
    });
    let bad = window
        .invoke(
            "session_publish",
            json!({ "id": local, "request": {
                "topic": "ipc/+", "qos": 0, "retain": false,
                "payload": { "format": "text", "data": "x" } } }),
        )
        .expect_err("a wildcard topic");
    assert_eq!(bad["code"], "InvalidTopic", "{bad}");

    // The CONNECT each session sent is in its log, with its decoded fields.
    let connects = window
        .invoke(
            "traffic_packets",
            json!({ "source": source, "count": 10, "client": "", "kind": "Connect" }),
        )
        .expect("packets");
    let fields = &connects["rows"][0]["fields"];
    assert!(
        fields.as_array().is_some_and(|f| f
            .iter()
            .any(|f| f["name"] == "User Name" && f["value"] == "alice")),
        "{connects}"
    );

    // After all of that, the app still answers and the sessions end cleanly.
    window
        .invoke("app_info", json!({}))
        .expect("the backend still answers");
    for id in [&local, &external, &wrong, &nobody] {
        window
            .invoke("session_disconnect", json!({ "id": id, "graceful": true }))
            .expect("disconnect");
        wait_session(&window, id, "disconnected", |s| {
            s["state"] == "Disconnected" || s["state"] == "Failed"
        });
    }
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn a_session_made_in_the_ui_subscribes_inspects_publishes_and_speaks_chinese() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);

    // A new session, filled from a URL as a user would paste it.
    window.click("[data-testid='new-session']");
    window.fill("[data-testid='session-name']", "dashboard");
    window.fill(
        "[data-testid='session-url']",
        &format!("mqtt://127.0.0.1:{port}"),
    );
    window.click("[data-testid='session-url-apply']");
    window.fill("[data-testid='session-version']", "V5");
    window.click("[data-testid='session-save']");
    window.wait_for_text("[data-testid='source-session']", |t| {
        t.contains("dashboard")
    });
    window.click("[data-testid='session-connect']");
    window.wait_for_text("[data-testid='session-state']", |t| t.contains("Connected"));
    window.fill("[data-testid='sub-filter']", "#");
    window.click("[data-testid='sub-add']");
    window.wait_for_text("[data-testid='sub-status']", |t| t.contains("Granted"));
    window.screenshot(&screenshot_dir().join("session-panel.png"));

    // An independent publisher; the session's tree counts its messages.
    for n in 1..=3 {
        publish(&port, "lab/json", &format!("{{\"n\":{n},\"unit\":\"°C\"}}"));
    }
    window.click("[data-testid='tab-topics']");
    window.click("[data-testid='expand-all']");
    let row = "[data-topic='lab/json']";
    window.wait_for_text(row, |t| t.contains("json") && t.contains('3'));
    window.click(row);
    window.wait_for_text("[data-testid='inspector-topic']", |t| t == "lab/json");
    window.click("[data-testid='view-json']");
    window.wait_for_text("[data-testid='payload']", |t| t.contains("\"n\": 3"));
    window.screenshot(&screenshot_dir().join("session-inspector.png"));

    // The composer publishes from the session; the message comes back through `#`.
    window.click("[data-testid='tab-publish']");
    window.fill("[data-testid='publish-topic']", "lab/from-composer");
    window.fill("[data-testid='publish-format']", "json");
    window.fill("[data-testid='publish-payload']", "{\"ok\": true}");
    window.click("[data-testid='publish-send']");
    window.wait_for_text("[data-testid='publish-result']", |t| {
        t.contains("lab/from-composer")
    });
    window.screenshot(&screenshot_dir().join("composer.png"));
    window.click("[data-testid='tab-topics']");
    window.click("[data-testid='expand-all']");
    window.wait_for_text("[data-topic='lab/from-composer']", |t| {
        t.contains("from-composer")
    });

    // Repeating: the composer keeps publishing while the user watches the tree, until stopped
    // from the status bar; the tree then holds exactly what was sent.
    window.click("[data-testid='tab-publish']");
    window.fill("[data-testid='publish-topic']", "lab/repeat");
    window.fill("[data-testid='publish-format']", "json");
    window.fill("[data-testid='publish-payload']", "{\"n\": {{n}}}");
    window.fill("[data-testid='publish-every']", "100");
    window.click("[data-testid='publish-repeat']");
    window.click("[data-testid='tab-topics']");
    window.click("[data-testid='expand-all']");
    let count = |text: &str| -> u64 {
        text.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    window.wait_for_text("[data-topic='lab/repeat']", |t| count(t) >= 5);
    window.click("[data-testid='status-repeat'] button");
    window.click("[data-testid='tab-publish']");
    let stopped = window.wait_for_text("[data-testid='publish-repeat-stopped']", |t| {
        t.starts_with("Stopped repeating to lab/repeat after")
    });
    let sent: u64 = stopped
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("a count");
    assert!(sent >= 5, "{stopped}");
    assert!(window.find("[data-testid='status-repeat']").is_none());
    window.click("[data-testid='tab-topics']");
    window.wait_for_text("[data-topic='lab/repeat']", |t| count(t) == sent);
    // Each message carried its own number: the last one is the count sent.
    window.click("[data-topic='lab/repeat']");
    window.click("[data-testid='view-json']");
    window.wait_for_text("[data-testid='payload']", |t| {
        t.contains(&format!("\"n\": {sent}"))
    });

    // The session's own packet log: its CONNECT, SUBSCRIBE and the PUBLISH it sent.
    window.click("[data-testid='tab-packets']");
    let log = window.wait_for_text("[data-testid='packet-log']", |t| {
        t.contains("lab/from-composer") && t.contains("SUBACK")
    });
    assert!(
        log.contains("CONNECT") && log.contains("→ to broker"),
        "{log}"
    );
    window.screenshot(&screenshot_dir().join("session-packets.png"));

    // The log saved for a bug report: JSON Lines, oldest first, CONNECT to the last PUBLISH.
    window.click("[data-testid='packet-export']");
    let note = window.wait_for_text("[data-testid='packet-export-note']", |t| {
        t.starts_with("Saved ")
    });
    let saved: Vec<_> = std::fs::read_dir(window.downloads())
        .expect("the downloads folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(note.ends_with(&saved[0].display().to_string()), "{note}");
    let text = std::fs::read_to_string(&saved[0]).expect("the saved log");
    let packets: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert!(
        note.contains(&format!("{} packets", packets.len())),
        "{note}"
    );
    assert_eq!(packets[0]["kind"], "Connect", "{}", packets[0]);
    assert!(packets
        .iter()
        .any(|p| p["kind"] == "Publish" && p["topic"] == "lab/repeat"));

    // Simplified Chinese at run time, and back.
    window.fill("[data-testid='language']", "zh-CN");
    window.wait_for_text("[data-testid='tab-topics']", |t| t == "主题");
    window.wait_for_text("[data-testid='tab-publish']", |t| t == "发布");
    window.screenshot(&screenshot_dir().join("main-window-zh-CN.png"));
    window.fill("[data-testid='language']", "en");
    window.wait_for_text("[data-testid='tab-topics']", |t| t == "Topics");
    window.screenshot(&screenshot_dir().join("main-window-session.png"));
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn a_walk_through_an_external_mosquitto_with_a_device_like_publisher() {
    use serde_json::json;
    let mosquitto = support::mosquitto::Mosquitto::start(&[], None);
    let port = mosquitto.port.to_string();
    let window = AppWindow::launch(app_binary());
    let mut plant = profile_json("plant mosquitto", mosquitto.port, "V5");
    plant["subscriptions"] = json!([{ "filter": "plant/#", "qos": 1 }]);
    let id = save_session(&window, plant, None);
    window
        .invoke("session_connect", json!({ "id": id }))
        .expect("connect");
    wait_session(&window, &id, "connected", |s| s["state"] == "Connected");

    // A device: a camera snapshot (a real PNG) and a temperature that changes.
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("icons/32x32.png");
    let sent = std::process::Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-q",
            "1",
            "-t",
            "plant/camera",
            "-f",
        ])
        .arg(&png)
        .status()
        .expect("mosquitto_pub");
    assert!(sent.success());
    for t in ["20.5", "21.0"] {
        publish(
            &port,
            "plant/line1/temp",
            &format!("{{\"celsius\": {t}, \"ok\": true}}"),
        );
    }

    window.click("[data-testid='source-session']");
    window.click("[data-testid='tab-topics']");
    window.click("[data-testid='expand-all']");
    window.wait_for_text("[data-topic='plant/line1/temp']", |t| t.contains('2'));
    window.click("[data-topic='plant/camera']");
    window.click("[data-testid='view-image']");
    window.wait_for("[data-testid='payload-image']");
    // The picture really decodes in the webview, from a blob: URL the CSP allows.
    let shown = window.execute(
        "const img = document.querySelector('[data-testid=payload-image]');\
         return [img.getAttribute('src').startsWith('blob:'), img.complete && img.naturalWidth];",
        json!([]),
    );
    assert_eq!(shown, json!([true, 32]), "the PNG is shown at its size");
    window.screenshot(&screenshot_dir().join("walk-image.png"));

    // A device speaking CBOR: shown decoded, byte strings spelled out.
    let cbor_file = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut cbor = vec![0xa2, 0x67];
    cbor.extend(b"celsius");
    cbor.push(0xfb);
    cbor.extend(21.5f64.to_be_bytes());
    cbor.extend([0x62, b'i', b'd', 0x42, 0x01, 0x02]);
    std::fs::write(cbor_file.path(), &cbor).expect("write the CBOR payload");
    let sent = std::process::Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "plant/line1/cbor",
            "-f",
        ])
        .arg(cbor_file.path())
        .status()
        .expect("mosquitto_pub");
    assert!(sent.success());
    window.wait_for("[data-topic='plant/line1/cbor']");
    window.click("[data-topic='plant/line1/cbor']");
    let decoded = window.wait_for_text("[data-testid='payload']", |t| t.contains("celsius"));
    assert!(
        decoded.contains("\"celsius\": 21.5") && decoded.contains("h'0102'"),
        "{decoded}"
    );
    window.screenshot(&screenshot_dir().join("walk-cbor.png"));

    window.click("[data-topic='plant/line1/temp']");
    // The webview's clipboard takes the topic from a click (a user gesture).
    window.click("[data-testid='copy-topic']");
    window.wait_for_text("[data-testid='copy-note']", |t| {
        t == "Topic copied to the clipboard."
    });
    window.click("[data-testid='view-diff']");
    let diff = window.wait_for_text("[data-testid='payload-diff']", |t| t.contains("21"));
    assert!(diff.contains("20.5") && diff.contains("21"), "{diff}");
    let chart = window.execute(
        "const img = document.querySelector('[data-testid=rate-chart-image]');\
         return img !== null && img.complete && img.naturalWidth > 100;",
        json!([]),
    );
    assert_eq!(chart, json!(true), "the rate chart renders");
    window.screenshot(&screenshot_dir().join("walk-diff.png"));

    // Chart the temperature itself, picked in the JSON tree: the backend reads that field from
    // every kept message; a message without it is counted as skipped, not drawn.
    window.click("[data-testid='view-json']");
    window.click("[data-testid='json-tree-mode']");
    window.click("[data-testid='json-chart'][title*='/celsius']");
    window.wait_for_text("[data-testid='value-note']", |t| {
        t == "2 values in the last 2 messages"
    });
    let picked = window.execute(
        "return document.querySelector('[data-testid=chart-value]').value;",
        json!([]),
    );
    assert_eq!(picked, json!("/celsius"), "the chart list follows the pick");
    publish(&port, "plant/line1/temp", "sensor rebooting");
    window.wait_for_text("[data-testid='value-note']", |t| {
        t == "2 values in the last 3 messages"
    });
    let chart = window.execute(
        "const img = document.querySelector('[data-testid=rate-chart-image]');\
         return [img.alt, img.complete && img.naturalWidth > 100];",
        json!([]),
    );
    assert_eq!(chart, json!(["A value of the messages over time", true]));
    window.screenshot(&screenshot_dir().join("walk-value-chart.png"));
}
