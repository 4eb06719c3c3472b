//! The classroom in the real window. The teacher turns it on in the Classroom panel: its address
//! and QR code appear and the student page answers over HTTP (screenshots of the panel, both
//! languages, go to `target/e2e-screenshots/classroom-qr-*.png`); off, the page is gone and the
//! broker is back on this computer only.
//!
//! With a real browser (`make test-classroom`, skipped by `make test-e2e`): Debian's chromium,
//! driven by chromedriver, opens the student page at the computer's network address, types a name
//! and the class password, subscribes, publishes, and sees its message come back; the teacher's
//! window shows the student in the Classroom panel, on the live map and in the topic tree.

use super::*;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the browser may take to start and do each step on a loaded machine (an upper bound
/// for failures only: each wait ends as soon as its condition holds).
const PATIENCE: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    workbench_testkit::mosquitto::free_port()
}

/// Turns the classroom on in the panel, on free ports; returns the student page's address shown.
fn turn_on(window: &AppWindow, password: &str) -> String {
    window.click("[data-testid='tab-classroom']");
    window.wait_for_text("[data-testid='classroom-state']", |t| {
        t == "Classroom is off"
    });
    window.wait_for_text("[data-testid='classroom-exposure']", |t| {
        t.contains("every network")
    });
    window.fill(
        "[data-testid='classroom-page-port']",
        &free_port().to_string(),
    );
    window.fill(
        "[data-testid='classroom-ws-port']",
        &free_port().to_string(),
    );
    window.fill("[data-testid='classroom-password']", password);
    window.click("[data-testid='classroom-on']");
    window.wait_for_text("[data-testid='classroom-state']", |t| {
        t == "Classroom is on"
    });
    match window.find("[data-testid='classroom-url']") {
        Some(element) => window.text(&element).unwrap_or_default(),
        // A machine with no network address: the page on this computer.
        None => {
            let local = window.wait_for_text("[data-testid='classroom-local-url']", |t| {
                t.contains("http://127.0.0.1:")
            });
            local[local.find("http://").unwrap_or(0)..].to_string()
        }
    }
}

fn http_get(url: &str) -> Result<(u16, String), String> {
    match ureq::get(url).timeout(Duration::from_secs(20)).call() {
        Ok(response) => {
            let status = response.status();
            Ok((status, response.into_string().unwrap_or_default()))
        }
        Err(ureq::Error::Status(code, _)) => Ok((code, String::new())),
        Err(other) => Err(other.to_string()),
    }
}

#[test]
#[ignore = "needs a display and tauri-driver: run by `make test` under Xvfb"]
fn classroom_panel_serves_the_page_and_shows_its_qr_code() {
    let window = AppWindow::launch(app_binary());
    broker_port(&window);
    let url = turn_on(&window, "");
    assert!(url.starts_with("http://") && url.ends_with('/'), "{url}");
    window.wait_for("[data-testid='classroom-qr']");
    let (status, page) = http_get(&url).expect("the student page answers");
    assert_eq!(status, 200);
    assert!(page.contains("<script"), "the built student page: {page}");
    let (status, _) = http_get(&format!("{url}Cargo.toml")).expect("an answer");
    assert_eq!(status, 404, "nothing but the page is served");
    for locale in ["en", "zh-CN"] {
        window.fill("[data-testid='language']", locale);
        // Measured here: WebKitWebDriver's screenshot of this panel never answered unless an
        // input of the page had just been typed into (not understood; see the closing notes).
        window.fill("[data-testid='classroom-password']", "");
        window.wait_for_paint();
        let path = screenshot_dir().join(format!("classroom-qr-{locale}.png"));
        assert!(window.screenshot(&path) > 1000, "screenshot too small");
    }
    window.fill("[data-testid='language']", "en");
    window.click("[data-testid='classroom-off']");
    window.wait_for_text("[data-testid='classroom-state']", |t| {
        t == "Classroom is off"
    });
    assert!(
        http_get(&url).is_err(),
        "the page is gone when the classroom is off"
    );
    window.click("[data-testid='tab-broker']");
    window.wait_for_text("[data-testid='status-broker']", |t| {
        t.starts_with("Broker 127.0.0.1:")
    });
    window.close();
}

/// Debian's chromium, headless, driven by chromedriver (W3C WebDriver).
struct Browser {
    driver: Child,
    base: String,
    session: String,
}

impl Browser {
    fn launch() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
        };
        let created = browser.call(
            "POST",
            "/session",
            json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=480,900", "--lang=en-US"]
                }
            } } }),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = ureq::request(method, &url).timeout(PATIENCE);
        let response = if method == "GET" {
            request.call()
        } else {
            request.send_json(body)
        };
        match response {
            Ok(response) => response.into_json::<Value>().expect("JSON")["value"].clone(),
            Err(ureq::Error::Status(code, response)) => panic!(
                "chromedriver {method} {path}: HTTP {code}: {}",
                response.into_string().unwrap_or_default()
            ),
            Err(other) => panic!("chromedriver {method} {path}: {other}"),
        }
    }

    fn in_session(&self, method: &str, rest: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{rest}", self.session), body)
    }

    fn script(&self, script: &str, args: Value) -> Value {
        self.in_session(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
    }

    /// Waits until `css` shows text satisfying `accept`; returns it.
    fn wait_for_text(&self, css: &str, accept: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.script(
                "const el = document.querySelector(arguments[0]); return el ? el.textContent : null;",
                json!([css]),
            );
            let text = text.as_str().unwrap_or_default().to_string();
            if accept(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the student page's `{css}` shows {text:?}, never what the test expects"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `script` returns true.
    fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + PATIENCE;
        while self.script(script, json!([])).as_bool() != Some(true) {
            assert!(
                Instant::now() < deadline,
                "the student page never showed {what}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Types into an input as a user would (WebDriver's element send keys).
    fn type_into(&self, css: &str, text: &str) {
        let found = self.in_session(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        let element = found["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no `{css}` on the student page"))
            .to_string();
        self.in_session("POST", &format!("/element/{element}/clear"), json!({}));
        self.in_session(
            "POST",
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let found = self.in_session(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        let element = found["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no `{css}` on the student page"))
            .to_string();
        self.in_session("POST", &format!("/element/{element}/click"), json!({}));
    }

    fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let encoded = self.in_session("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("a PNG");
        let path = screenshot_dir().join(name);
        std::fs::create_dir_all(screenshot_dir()).expect("screenshot folder");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session))
                .timeout(Duration::from_secs(20))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
#[ignore = "needs a display, tauri-driver, chromium and chromedriver: run by `make test-classroom`"]
fn with_chromium_a_student_publishes_and_the_teacher_sees_it() {
    let window = AppWindow::launch(app_binary());
    broker_port(&window);
    let url = turn_on(&window, "kite-42");
    let browser = Browser::launch();
    browser.in_session("POST", "/url", json!({ "url": url }));
    browser.wait_for_text("h1", |t| t == "MQTT Classroom");
    // The page asks for the class password (the classroom has one).
    browser.wait_until(
        "the password field shown",
        "return !document.getElementById('password-row').hidden;",
    );
    browser.type_into("[data-testid='student-name']", "Alice");
    browser.type_into("[data-testid='student-password']", "kite-42");
    browser.click("[data-testid='student-connect']");
    let status = browser.wait_for_text("[data-testid='student-status']", |t| {
        t.starts_with("Connected as Alice~")
    });
    let client_id = status.trim_start_matches("Connected as ").to_string();
    browser.click("[data-testid='student-subscribe'] button");
    browser.wait_for_text("[data-testid='student-status']", |t| {
        t == "Subscribed to class/#"
    });
    browser.type_into(
        "[data-testid='student-payload']",
        "<b>hello</b> from chromium",
    );
    browser.click("[data-testid='student-send']");
    // The message went through the broker and back, shown as text.
    browser.wait_for_text("[data-testid='student-messages']", |t| {
        t.contains("class/Alice") && t.contains("<b>hello</b> from chromium")
    });
    browser.screenshot("classroom-student-page.png");
    // The page in Simplified Chinese (the switch; a browser in Chinese starts there).
    browser.script(
        "const s = document.getElementById('lang'); s.value = 'zh';\
         s.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([]),
    );
    browser.wait_for_text("h1", |t| t == "MQTT 课堂");
    browser.wait_for_text("[data-testid='student-status']", |t| {
        t == "已发布到 class/Alice"
    });
    browser.screenshot("classroom-student-page-zh.png");

    // The teacher's window: the student in the panel, on the live map, and the topic tree.
    window.wait_for_text("[data-testid='classroom-count']", |t| {
        t == "Students connected: 1"
    });
    window.wait_for_text("[data-testid='classroom-students']", |t| {
        t.contains("Alice")
    });
    let path = screenshot_dir().join("classroom-student-joined.png");
    assert!(window.screenshot(&path) > 1000);
    window.click("[data-testid='tab-teach']");
    window.click("[data-testid='teach-tab-map']");
    window.wait_for(&format!(
        "[data-testid='map-client'][data-client='{client_id}']"
    ));
    window.click("[data-testid='tab-topics']");
    window.wait_for_text("[data-testid='topic-tree']", |t| t.contains("class"));
    drop(browser);
    window.close();
}
