//! Subscribing from the topic tree with no setup, in the real window: on the embedded broker's
//! tree the app's own session ("This app") subscribes from the detail pane; what a device then
//! publishes shows under that session's source and the subscription in its list; the tree's
//! menu, opened from the keyboard (Shift+F10), unsubscribes.

use super::*;

/// Presses Shift+F10 on the topic tree, as the keyboard would (the tree has the focus).
fn open_tree_menu(window: &AppWindow) {
    window.execute(
        "const tree = document.querySelector(\"[data-testid='topic-tree']\");\
         tree.focus();\
         tree.dispatchEvent(new KeyboardEvent('keydown',\
           { key: 'F10', shiftKey: true, bubbles: true, cancelable: true }));",
        serde_json::json!([]),
    );
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn subscribes_from_the_tree_with_the_apps_own_session_and_unsubscribes_from_its_menu() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    window.wait_for("[data-testid='source-app-session'] .dot.running");
    assert!(
        window.find("[data-testid='source-session']").is_none(),
        "a session was made for the user"
    );
    // A device publishes; the broker's tree shows the topic; the user selects it.
    window.click("[data-testid='tab-topics']");
    publish(&port, "plant/line1/temp", "21.5");
    window.click("[data-topic='plant/line1/temp']");
    let who = window.wait_for_text("[data-testid='tree-sub-who']", |t| !t.is_empty());
    assert!(who.contains("This app"), "{who}");
    // Subscribe to the topic at QoS 1 from the detail pane: the broker's SUBACK in words.
    window.fill("[data-testid='tree-sub-qos']", "1");
    let row = "[data-testid='tree-sub-row'][data-filter='plant/line1/temp']";
    window.click(&format!("{row} [data-testid='tree-subscribe-topic']"));
    window.wait_for_text(&format!("{row} [data-testid='tree-sub-status']"), |t| {
        t.contains("Granted QoS 1")
    });
    window.wait_for_paint();
    window.screenshot(&screenshot_dir().join("tree-subscribe.png"));

    // Published again: it arrives in "This app"'s own source.
    publish(&port, "plant/line1/temp", "22.0 after subscribing");
    window.click("[data-testid='source-app-session']");
    window.click("[data-topic='plant/line1/temp']");
    window.wait_for_text("[data-testid='payload']", |t| {
        t.contains("22.0 after subscribing")
    });
    // Its subscriptions list has it, granted.
    window.click("[data-testid='tab-broker']");
    let listed = window.wait_for_text("[data-testid='sub-row']", |t| {
        t.contains("plant/line1/temp") && t.contains("Granted QoS 1")
    });
    assert!(listed.contains("QoS 1"), "{listed}");

    // Unsubscribed from the tree's menu, opened from the keyboard on the selected topic.
    window.click("[data-testid='tab-topics']");
    window.click("[data-topic='plant/line1/temp']");
    open_tree_menu(&window);
    window.click("[data-testid='tree-menu-unsubscribe'][data-filter='plant/line1/temp']");
    window.wait_for_text(&format!("{row} [data-testid='tree-sub-status']"), |t| {
        t == "Not subscribed"
    });
    window.click("[data-testid='tab-broker']");
    window.wait_for("section.subscriptions");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while window.find("[data-testid='sub-row']").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscription is still listed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
