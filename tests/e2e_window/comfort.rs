//! Everyday comfort in the real window: publishing with no setup through the app's own session,
//! new topics visible without a click, the dark theme, the shortcuts and the command palette.

use super::*;

/// Presses a key in the page as the keyboard would deliver it (to the focused element).
fn press(window: &AppWindow, key: &str, ctrl: bool) {
    window.execute(
        "const target = document.activeElement || document.body;\
         target.dispatchEvent(new KeyboardEvent('keydown',\
           { key: arguments[0], ctrlKey: arguments[1], bubbles: true, cancelable: true }));",
        serde_json::json!([key, ctrl]),
    );
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn publishes_with_no_setup_and_shows_a_new_deep_topic_without_a_click() {
    let window = AppWindow::launch(app_binary());
    let port = broker_port(&window);
    // The app's own session is there and connected at first start: nothing was created.
    window.wait_for("[data-testid='source-app-session'] .dot.running");
    assert!(
        window.find("[data-testid='source-session']").is_none(),
        "a session was made for the user"
    );
    let sub = workbench_testkit::peers::ReadySub::start(&port, "first/#", 1, &["-v"]);
    window.click("[data-testid='tab-publish']");
    window.wait_for("[data-testid='publish-session']");
    window.fill("[data-testid='publish-topic']", "first/message");
    window.fill("[data-testid='publish-payload']", "sent with no setup");
    window.click("[data-testid='publish-send']");
    assert_eq!(sub.finish().trim(), "first/message sent with no setup");
    window.screenshot(&screenshot_dir().join("publish-no-setup.png"));

    // A deep topic published to a small tree shows at once, every level open.
    window.click("[data-testid='tab-topics']");
    publish(&port, "plant/line1/cell4/robot7/temp", "21.5");
    window.wait_for("[data-topic='plant/line1/cell4/robot7/temp']");
    window.wait_for("[data-topic='first/message']");
    window.screenshot(&screenshot_dir().join("tree-opens-new-topics.png"));
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn dark_theme_shortcuts_and_the_command_palette() {
    let window = AppWindow::launch(app_binary());
    broker_port(&window);
    let background = |window: &AppWindow| {
        window.execute(
            "return getComputedStyle(document.documentElement).getPropertyValue('--bg').trim();",
            serde_json::json!([]),
        )
    };
    // Ctrl+, opens the settings; the dark theme applies at once and survives a reload.
    press(&window, ",", true);
    window.wait_for("[data-testid='settings-page']");
    window.click("[data-testid='theme-dark']");
    assert_eq!(background(&window), serde_json::json!("#16191d"));
    window.screenshot(&screenshot_dir().join("settings-dark.png"));
    window.execute("location.reload();", serde_json::json!([]));
    window.wait_for("[data-testid='app-version']");
    assert_eq!(
        background(&window),
        serde_json::json!("#16191d"),
        "theme not kept"
    );
    // `?` lists the shortcuts.
    press(&window, "?", false);
    let help = window.wait_for_text("[data-testid='shortcut-help']", |t| t.contains("Ctrl+K"));
    assert!(help.contains("Ctrl+Enter"), "{help}");
    window.click("[data-testid='shortcut-help-close']");
    // Ctrl+K: the palette jumps to a view by name.
    press(&window, "k", true);
    window.fill("[data-testid='palette-input']", "packets");
    window.screenshot(&screenshot_dir().join("command-palette.png"));
    press(&window, "Enter", false);
    window.wait_for("[data-testid='tab-packets'][aria-selected='true']");
    // Back to light for the screenshots of other tests run later in this profile.
    press(&window, ",", true);
    window.click("[data-testid='theme-light']");
    assert_eq!(background(&window), serde_json::json!("#f7f8fa"));
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn a_view_opens_in_a_window_of_its_own() {
    let window = AppWindow::launch(app_binary());
    broker_port(&window);
    let known = window.window_handles();
    window.click("[data-testid='tab-packets']");
    window.click("[data-testid='open-window']");
    let second = window.wait_for_new_window(&known);
    window.switch_to_window(&second);
    // The new window starts on the view the first one showed.
    window.wait_for("[data-testid='tab-packets'][aria-selected='true']");
    // A view name that is not a plain id is refused before any window opens.
    let refused = window
        .invoke(
            "window_open",
            serde_json::json!({ "source": { "kind": "broker" }, "view": "x&source=evil" }),
        )
        .expect_err("a view name with markup");
    assert_eq!(refused["code"], "InvalidInput", "{refused}");
    assert_eq!(window.window_handles().len(), 2, "no third window");
}
