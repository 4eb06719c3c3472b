//! A small WebDriver client for driving the real app window through tauri-driver, which starts
//! the app and forwards W3C WebDriver calls to WebKitWebDriver. Only what the tests need.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the app may take to start and render under a loaded CI machine. Generous on purpose:
/// a wait ends as soon as its condition holds, so this only bounds failures.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// The W3C WebDriver element reference key.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Finds the tauri-driver executable: `$TAURI_DRIVER`, then `$PATH`, then cargo's bin folder.
fn tauri_driver_path() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("tauri-driver"))
            .find(|candidate| candidate.is_file())
    });
    if let Some(path) = on_path {
        return path;
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("neither CARGO_HOME nor HOME is set");
    home.join("bin").join("tauri-driver")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running tauri-driver with one session, i.e. one running app window. Dropping it ends the
/// session (closing the app) and stops tauri-driver.
pub struct AppWindow {
    driver: Child,
    base: String,
    session: String,
    /// The app's own config directory for this run (profiles), removed afterwards.
    config: Option<tempfile::TempDir>,
    /// Where this run's exports go (never the user's Downloads folder).
    downloads: tempfile::TempDir,
    /// The webview's own data for this run (its local storage: the language last chosen), so
    /// each run starts as a first start, whatever the developer's own app remembers.
    _webview_data: tempfile::TempDir,
}

impl AppWindow {
    /// Starts tauri-driver and, through it, the app at `application`, with a fresh config
    /// directory.
    pub fn launch(application: &Path) -> AppWindow {
        let config = tempfile::tempdir().expect("a config directory for the app");
        AppWindow::launch_with(application, config)
    }

    /// The same, with the config directory of an earlier run (settings saved there come back).
    pub fn launch_with(application: &Path, config: tempfile::TempDir) -> AppWindow {
        assert!(
            std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
            "the end-to-end tests need a display: run them under `xvfb-run -a` (make test does)"
        );
        let driver_path = tauri_driver_path();
        assert!(
            driver_path.is_file(),
            "tauri-driver not found at {} (install it with `cargo install tauri-driver --locked`, \
             or run `make test`, which does)",
            driver_path.display()
        );
        let downloads = tempfile::tempdir().expect("a downloads directory for the app");
        let webview_data = tempfile::tempdir().expect("a data directory for the webview");
        let port = free_port();
        let native_port = free_port();
        let driver = Command::new(&driver_path)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            // Measured here: with WebKit's compositing disabled, WebKitWebDriver's screenshot call
            // never answers under Xvfb; with it enabled, rendering and screenshots both work.
            .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
            // Each run starts with no saved sessions and never touches the user's keychain.
            .env("MQTT_WORKBENCH_CONFIG_DIR", config.path())
            .env("MQTT_WORKBENCH_KEYCHAIN", "off")
            .env("MQTT_WORKBENCH_DOWNLOAD_DIR", downloads.path())
            .env("XDG_DATA_HOME", webview_data.path())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver_path.display()));
        let base = format!("http://127.0.0.1:{port}");
        let mut window = AppWindow {
            driver,
            base,
            session: String::new(),
            config: Some(config),
            downloads,
            _webview_data: webview_data,
        };
        window.wait_for_driver();
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": { "tauri:options": { "application": application } }
            }
        });
        let created = window.call("POST", "/session", Some(capabilities));
        window.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {created}"))
            .to_string();
        window
    }

    fn wait_for_driver(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("tauri-driver exited early with {status}");
            }
            let ready = ureq::get(&format!("{}/status", self.base))
                .timeout(Duration::from_secs(5))
                .call()
                .is_ok();
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// One WebDriver call; panics with the driver's own error text when it fails.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.try_call(method, path, body) {
            Ok(value) => value,
            Err(error) => panic!("WebDriver {method} {path} failed: {error}"),
        }
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.base, path);
        let request = ureq::request(method, &url).timeout(PATIENCE);
        let response = match body {
            Some(body) => request.send_json(body),
            None if method == "POST" => request.send_json(json!({})),
            None => request.call(),
        };
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::Status(code, response)) => {
                let text = response.into_string().unwrap_or_default();
                return Err(format!("HTTP {code}: {text}"));
            }
            Err(other) => return Err(other.to_string()),
        };
        let value: Value = response.into_json().map_err(|e| e.to_string())?;
        Ok(value["value"].clone())
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{}", self.session, rest)
    }

    /// Finds the first element matching a CSS selector, if any, right now.
    pub fn find(&self, css: &str) -> Option<String> {
        let body = json!({ "using": "css selector", "value": css });
        let found = self
            .try_call("POST", &self.session_path("/element"), Some(body))
            .ok()?;
        found[ELEMENT_KEY].as_str().map(str::to_string)
    }

    /// Waits until an element matching `css` exists, then returns its id.
    pub fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(element) = self.find(css) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no element matching `{css}` appeared in the window (page source: {})",
                self.page_source_excerpt()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Clicks the element matching `css`, waiting for it to exist first. The UI re-renders
    /// freely, so an element found a moment ago may be gone: then it is looked up again.
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let element = self.wait_for(css);
            match self.on_element(
                "POST",
                &format!("/element/{element}/click"),
                Some(json!({})),
            ) {
                Some(_) => return,
                None => assert!(
                    Instant::now() < deadline,
                    "`{css}` kept being replaced before it could be clicked"
                ),
            }
        }
    }

    /// A call on one element: `None` when the element is no longer in the page (a re-render
    /// replaced it), panicking on any other failure.
    fn on_element(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        match self.try_call(method, &self.session_path(path), body) {
            Ok(value) => Some(value),
            Err(error) if error.contains("stale element reference") => None,
            Err(error) => panic!("WebDriver {method} {path} failed: {error}"),
        }
    }

    /// The visible text of an element, or `None` when it is no longer in the page.
    pub fn text(&self, element: &str) -> Option<String> {
        let value = self.on_element("GET", &format!("/element/{element}/text"), None)?;
        Some(value.as_str().unwrap_or_default().to_string())
    }

    /// Waits until the element matching `css` shows text satisfying `accept`; returns that text.
    pub fn wait_for_text(&self, css: &str, accept: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(text) = self.find(css).and_then(|element| self.text(&element)) {
                if accept(&text) {
                    return text;
                }
                assert!(
                    Instant::now() < deadline,
                    "`{css}` shows {text:?}, which never became what the test expects"
                );
            } else {
                assert!(
                    Instant::now() < deadline,
                    "no element matching `{css}` appeared"
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The window's title as WebDriver reports it (the document title).
    pub fn title(&self) -> String {
        let value = self.call("GET", &self.session_path("/title"), None);
        value.as_str().unwrap_or_default().to_string()
    }

    /// The handles of every window (top-level browsing context) the session can drive.
    pub fn window_handles(&self) -> Vec<String> {
        let value = self.call("GET", &self.session_path("/window/handles"), None);
        serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("handles {value}: {e}"))
    }

    /// Drives the window `handle` from now on (finding elements, scripts, screenshots).
    pub fn switch_to_window(&self, handle: &str) {
        let body = json!({ "handle": handle });
        self.call("POST", &self.session_path("/window"), Some(body));
    }

    /// Waits until a window other than `known` appears; returns its handle.
    pub fn wait_for_new_window(&self, known: &[String]) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let handles = self.window_handles();
            if let Some(new) = handles.iter().find(|h| !known.contains(h)) {
                return new.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no new window appeared (windows: {handles:?})"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs a script in the page and returns its result.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.call("POST", &self.session_path("/execute/sync"), Some(body))
    }

    /// Runs a script that calls its last argument with the result; returns that result.
    pub fn execute_async(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.call("POST", &self.session_path("/execute/async"), Some(body))
    }

    /// Calls a backend command through the page's IPC, exactly as the UI does. `Ok` holds the
    /// command's result, `Err` the `{ code, message }` it failed with.
    pub fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        let result = self.execute_async(
            "const done = arguments[arguments.length - 1];\
             window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])\
               .then((ok) => done({ ok: ok === undefined ? null : ok }), (err) => done({ err }));",
            json!([command, args]),
        );
        match result.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Err(result.get("err").cloned().unwrap_or(result)),
        }
    }

    /// Sets an input's, textarea's or select's value as typing or choosing would, firing the
    /// events the UI listens to.
    pub fn fill(&self, css: &str, value: &str) {
        self.wait_for(css);
        self.execute(
            "const el = document.querySelector(arguments[0]);\
             el.focus(); el.value = arguments[1];\
             el.dispatchEvent(new Event('input', { bubbles: true }));\
             el.dispatchEvent(new Event('change', { bubbles: true }));",
            json!([css, value]),
        );
    }

    /// Ticks or unticks a checkbox.
    pub fn check(&self, css: &str, checked: bool) {
        self.wait_for(css);
        self.execute(
            "const el = document.querySelector(arguments[0]);\
             if (el.checked !== arguments[1]) el.click();",
            json!([css, checked]),
        );
    }

    fn page_source_excerpt(&self) -> String {
        let source = self
            .try_call("GET", &self.session_path("/source"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "<unavailable>".to_string());
        source.chars().take(2000).collect()
    }

    /// Waits until the page has painted its current state: WebKitGTK's snapshot shows the last
    /// painted frame, which can lag the DOM by a few frames.
    pub fn wait_for_paint(&self) {
        self.execute_async(
            "const done = arguments[arguments.length - 1];\
             requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));",
            json!([]),
        );
    }

    /// Saves a PNG screenshot of the window to `path` (creating folders) and returns its size.
    pub fn screenshot(&self, path: &Path) -> usize {
        use base64::Engine as _;
        self.wait_for_paint();
        let value = self.call("GET", &self.session_path("/screenshot"), None);
        let encoded = value.as_str().expect("screenshot is base64 text");
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("screenshot decodes as base64");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create screenshot folder");
        }
        std::fs::write(path, &png).expect("write screenshot");
        png.len()
    }
}

impl AppWindow {
    /// Closes the app and hands back its config directory (for a second run).
    /// The folder the app saves exports into during this run.
    pub fn downloads(&self) -> &Path {
        self.downloads.path()
    }

    pub fn close(mut self) -> tempfile::TempDir {
        self.config.take().expect("the config directory")
    }
}

impl Drop for AppWindow {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_call("DELETE", &self.session_path(""), None);
        }
        // SIGTERM first: tauri-driver then stops WebKitWebDriver, which a SIGKILL would leave
        // running (holding the test's output open); SIGKILL only if it does not exit.
        let pid = self.driver.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.driver.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the end-to-end tests keep their screenshots: `target/e2e-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("e2e-screenshots")
}

/// What WebDriver cannot do: close an app window as a window manager's close button does (its
/// Close Window only destroys the web view; the app's window stays, never closed). A minimal X11
/// client over the display's local socket, on std alone, sends the window `WM_DELETE_WINDOW`.
pub mod x11 {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    /// Asks the top-level window titled `title` to close, as a window manager's close button
    /// does. Panics when there is no such window or the X server refuses a request.
    pub fn close_window_titled(title: &str) {
        let mut x = Connection::open();
        let protocols = x.atom("WM_PROTOCOLS");
        let delete = x.atom("WM_DELETE_WINDOW");
        let name = x.atom("_NET_WM_NAME");
        let windows = x.children(x.root);
        let window = windows
            .iter()
            .copied()
            .find(|&w| x.property(w, name) == title.as_bytes())
            .unwrap_or_else(|| panic!("no top-level window is titled {title:?}"));
        // SendEvent to the window's own client (no event mask) of a ClientMessage: format 32,
        // type WM_PROTOCOLS, data WM_DELETE_WINDOW and CurrentTime.
        let mut body = words(&[window, 0]);
        body.extend([33, 32, 0, 0]);
        body.extend(words(&[window, protocols, delete, 0, 0, 0, 0]));
        x.send(&request(25, &body));
        // A round trip: an error in the request above arrives before this answer.
        x.atom("WM_PROTOCOLS");
    }

    struct Connection {
        stream: UnixStream,
        root: u32,
    }

    fn pad(n: usize) -> usize {
        (4 - n % 4) % 4
    }

    /// `bytes` padded with zeros to a multiple of 4.
    fn padded(bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out.resize(bytes.len() + pad(bytes.len()), 0);
        out
    }

    /// A request: its opcode, an unused byte, its length in 4-byte units, then `body`.
    fn request(opcode: u8, body: &[u8]) -> Vec<u8> {
        let mut request = vec![opcode, 0];
        request.extend((((4 + body.len()) / 4) as u16).to_le_bytes());
        request.extend(body);
        request
    }

    fn words(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    /// The display's number, from `DISPLAY` (`:99` or `:99.0`; local displays only).
    fn display_number() -> String {
        let display = std::env::var("DISPLAY").expect("DISPLAY is set (run under xvfb-run)");
        let local = display
            .strip_prefix(':')
            .unwrap_or_else(|| panic!("DISPLAY={display} is not a local display"));
        local.split('.').next().unwrap_or_default().to_string()
    }

    /// The MIT-MAGIC-COOKIE-1 for display `number` in `XAUTHORITY` (xvfb-run writes one). Entries:
    /// a u16 family, then address, number, name and data, each a big-endian u16 length and bytes.
    fn cookie(number: &str) -> Option<Vec<u8>> {
        let file = std::fs::read(std::env::var_os("XAUTHORITY")?).ok()?;
        let mut at = 0;
        let field = |at: &mut usize| -> Option<Vec<u8>> {
            let length = usize::from(u16::from_be_bytes([*file.get(*at)?, *file.get(*at + 1)?]));
            let value = file.get(*at + 2..*at + 2 + length)?.to_vec();
            *at += 2 + length;
            Some(value)
        };
        while at + 2 <= file.len() {
            at += 2; // family
            let [_address, display, name, data] = [(); 4].map(|()| field(&mut at));
            if display? == number.as_bytes() && name? == b"MIT-MAGIC-COOKIE-1" {
                return data;
            }
        }
        None
    }

    impl Connection {
        fn open() -> Connection {
            let number = display_number();
            let path = format!("/tmp/.X11-unix/X{number}");
            let mut stream =
                UnixStream::connect(&path).unwrap_or_else(|e| panic!("connecting to {path}: {e}"));
            let (name, data) = match cookie(&number) {
                Some(data) => (b"MIT-MAGIC-COOKIE-1".to_vec(), data),
                None => (Vec::new(), Vec::new()),
            };
            // Setup: little-endian, protocol 11.0, the authorization's name and data.
            let mut setup = vec![b'l', 0, 11, 0, 0, 0];
            setup.extend((name.len() as u16).to_le_bytes());
            setup.extend((data.len() as u16).to_le_bytes());
            setup.extend([0, 0]);
            setup.extend(padded(&name));
            setup.extend(padded(&data));
            stream.write_all(&setup).expect("X11 setup");
            let mut head = [0u8; 8];
            stream.read_exact(&mut head).expect("X11 setup answer");
            let mut rest = vec![0u8; usize::from(u16_at(&head, 6)) * 4];
            stream.read_exact(&mut rest).expect("X11 setup answer");
            assert_eq!(
                head[0],
                1,
                "the X server refused the connection: {}",
                String::from_utf8_lossy(&rest)
            );
            // After the fixed part: the vendor string, the pixmap formats (8 bytes each), then
            // the first screen, which starts with its root window.
            let vendor = usize::from(u16_at(&rest, 16));
            let formats = usize::from(rest[21]);
            let root = u32_at(&rest, 32 + vendor + pad(vendor) + 8 * formats);
            Connection { stream, root }
        }

        fn send(&mut self, request: &[u8]) {
            self.stream.write_all(request).expect("X11 request");
        }

        /// The next reply (events are skipped); panics on an error.
        fn reply(&mut self) -> Vec<u8> {
            loop {
                let mut reply = vec![0u8; 32];
                self.stream.read_exact(&mut reply).expect("X11 reply");
                match reply[0] {
                    0 => panic!("X11 error {} (request {})", reply[1], reply[10]),
                    1 => {
                        let mut extra = vec![0u8; u32_at(&reply, 4) as usize * 4];
                        self.stream.read_exact(&mut extra).expect("X11 reply");
                        reply.extend(extra);
                        return reply;
                    }
                    _ => continue,
                }
            }
        }

        /// InternAtom: the atom named `name`.
        fn atom(&mut self, name: &str) -> u32 {
            let mut body = words(&[name.len() as u32]); // its length, 2 bytes unused
            body.extend(padded(name.as_bytes()));
            self.send(&request(16, &body));
            u32_at(&self.reply(), 8)
        }

        /// QueryTree: the windows right under `window`.
        fn children(&mut self, window: u32) -> Vec<u32> {
            self.send(&request(15, &words(&[window])));
            let reply = self.reply();
            (0..usize::from(u16_at(&reply, 16)))
                .map(|i| u32_at(&reply, 32 + 4 * i))
                .collect()
        }

        /// GetProperty: a property's bytes (of any type, up to 4 KiB; empty when unset).
        fn property(&mut self, window: u32, property: u32) -> Vec<u8> {
            self.send(&request(20, &words(&[window, property, 0, 0, 1024])));
            let reply = self.reply();
            let unit = usize::from(reply[1] / 8);
            let length = u32_at(&reply, 16) as usize * unit;
            reply[32..32 + length].to_vec()
        }
    }
}
