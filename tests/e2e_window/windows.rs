//! Windows: broker settings across a restart, and a second window with its own view.

use super::*;

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn broker_settings_survive_a_restart_but_never_reopen_without_their_passwords() {
    use serde_json::json;
    let first = AppWindow::launch(app_binary());
    broker_port(&first);
    let port = support::mosquitto::free_port();
    first
        .invoke(
            "broker_start",
            json!({ "settings": {
                "bind": "0.0.0.0", "port": port, "websocketPort": null, "tls": null,
                "maxPacketSize": 2 * 1024 * 1024,
                "users": [{ "username": "alice", "password": "pw" }] } }),
        )
        .expect("the broker restarts with the new settings");
    let config = first.close();
    assert!(
        !std::fs::read_to_string(config.path().join("broker.json"))
            .expect("saved")
            .contains("\"pw\""),
        "no password in the file"
    );

    // Next start: the same port and limits. The tests run without a keychain, so alice's
    // password is gone: she is dropped and the broker does not come back open to the network.
    let second = AppWindow::launch_with(app_binary(), config);
    let status = second.wait_for_text("[data-testid='status-broker']", |t| {
        t == format!("Broker 127.0.0.1:{port}")
    });
    assert!(status.ends_with(&port.to_string()));
    let saved = second.invoke("broker_status", json!({})).expect("status");
    assert_eq!(
        saved["settings"]["maxPacketSize"],
        2 * 1024 * 1024,
        "{saved}"
    );
    assert_eq!(saved["settings"]["usernames"], json!([]), "{saved}");
    assert_eq!(saved["exposed"], false, "{saved}");
    assert!(
        saved["note"]
            .as_str()
            .is_some_and(|n| n.contains("alice") && n.contains("this computer only")),
        "{saved}"
    );
    second.click("[data-testid='tab-broker']");
    second.wait_for_text("[data-testid='broker-note']", |t| t.contains("alice"));
    second.screenshot(&screenshot_dir().join("broker-restored.png"));
}

/// The viewers open in the backend now, among ids 1 to 64, found with a read-only command that
/// names a viewer (a rate chart; "that view is closed" for any other id).
fn open_viewers(window: &AppWindow) -> Vec<u64> {
    let found = window.execute_async(
        "const done = arguments[arguments.length - 1];\
         const labels = { title: '', incoming: '', outgoing: '', topic: '', unit: '', seconds: '' };\
         const ids = Array.from({ length: 64 }, (_, i) => i + 1);\
         Promise.all(ids.map((viewer) => window.__TAURI_INTERNALS__\
           .invoke('traffic_chart', { viewer, node: null, dark: false, width: 64, height: 32, labels })\
           .then(() => viewer, () => null)))\
           .then((open) => done(open.filter((id) => id !== null)));",
        serde_json::json!([]),
    );
    serde_json::from_value(found.clone()).unwrap_or_else(|e| panic!("viewer ids {found}: {e}"))
}

/// Whether the tree of the window driven now shows a row for `topic`.
fn has_row(window: &AppWindow, topic: &str) -> bool {
    window.find(&format!("[data-topic='{topic}']")).is_some()
}

/// Waits until the tree of the window driven now shows exactly the root rows `roots` (among
/// `all`).
fn wait_for_roots(window: &AppWindow, roots: &[&str], all: &[&str]) {
    let deadline = std::time::Instant::now() + support::webdriver::PATIENCE;
    loop {
        let shown: Vec<&str> = all.iter().copied().filter(|t| has_row(window, t)).collect();
        if shown == roots {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the tree shows {shown:?}, never {roots:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn a_second_window_filters_its_own_view_and_leaves_the_first_alone() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    publish(&port, "kitchen/temp", "21.5");
    publish(&port, "kitchen/humidity", "40");
    publish(&port, "garage/door", "open");
    let roots = ["kitchen", "garage"];
    wait_for_roots(&window, &roots, &roots);
    // A tree this small opens its branches as they arrive: the first window closes them.
    window.wait_for("[data-topic='kitchen/temp']");
    window.click("[data-testid='collapse-all']");
    let known = window.window_handles();
    assert_eq!(known.len(), 1, "one window at start: {known:?}");
    let first = known[0].clone();
    let viewers_before = open_viewers(&window);
    assert_eq!(viewers_before.len(), 1, "the first window's viewer");
    // A session that does not exist opens no window.
    let refused = window
        .invoke(
            "window_open",
            serde_json::json!({ "source": { "kind": "session", "id": "no-such-session" } }),
        )
        .expect_err("a window for an unknown session");
    assert_eq!(refused["code"], "NotFound", "{refused}");
    assert_eq!(window.window_handles(), known, "no window opened");

    // A user opens a second window on the same source, and filters it.
    window.click("[data-testid='open-window']");
    let second = window.wait_for_new_window(&known);
    window.switch_to_window(&second);
    // It starts on the source and the view it was opened for, named in its page's query.
    window.wait_for("[data-testid='source-broker'][aria-current='true']");
    let query = window.execute("return location.search;", serde_json::json!([]));
    assert_eq!(
        query,
        serde_json::json!("?source=%7B%22kind%22%3A%22broker%22%7D&view=topics")
    );
    wait_for_roots(&window, &roots, &roots);
    window.fill("[data-testid='tree-filter']", "kitchen/#");
    wait_for_roots(&window, &["kitchen"], &roots);
    // A filter shows the matching topics under their expanded parents.
    window.wait_for("[data-topic='kitchen/temp']");
    window.wait_for("[data-topic='kitchen/humidity']");
    window.screenshot(&screenshot_dir().join("second-window-filtered.png"));

    // The first window is as it was: no filter, both branches, nothing expanded.
    window.switch_to_window(&first);
    let filter = window.execute(
        "return document.querySelector(\"[data-testid='tree-filter']\").value;",
        serde_json::json!([]),
    );
    assert_eq!(filter, serde_json::json!(""), "the first window's filter");
    wait_for_roots(&window, &roots, &roots);
    assert!(
        !has_row(&window, "kitchen/temp"),
        "the first window's tree was expanded"
    );
    window.screenshot(&screenshot_dir().join("first-window-unchanged.png"));
    // Expanding everything here changes nothing there.
    window.click("[data-testid='expand-all']");
    window.wait_for("[data-topic='garage/door']");
    window.switch_to_window(&second);
    let filter = window.execute(
        "return document.querySelector(\"[data-testid='tree-filter']\").value;",
        serde_json::json!([]),
    );
    assert_eq!(
        filter,
        serde_json::json!("kitchen/#"),
        "the second window's filter"
    );
    wait_for_roots(&window, &["kitchen"], &roots);
    assert!(!has_row(&window, "garage/door"));

    let viewers_with_two = open_viewers(&window);
    assert_eq!(
        viewers_with_two.len(),
        2,
        "a viewer per window: {viewers_with_two:?}"
    );

    // The user closes the second window (as a window manager's close button asks it to): its
    // viewer closes with it, though its page never said goodbye, and the first keeps working.
    window.switch_to_window(&first);
    support::webdriver::x11::close_window_titled("MQTT Workbench (2)");
    let deadline = std::time::Instant::now() + support::webdriver::PATIENCE;
    loop {
        let (open, windows) = (open_viewers(&window), window.window_handles());
        if open == viewers_before && windows == [first.clone()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after closing the second window, viewers {open:?} (before: {viewers_before:?}), \
             windows {windows:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    publish(&port, "cellar/temp", "12");
    wait_for_roots(
        &window,
        &["kitchen", "garage", "cellar"],
        &["kitchen", "garage", "cellar"],
    );
}
