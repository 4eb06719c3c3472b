//! The student page as the app serves it: the built files embedded at compile time (see
//! `build.rs`), the small settings file the page reads (`/classroom.json`: the WebSocket port and
//! whether a password is asked), and the headers every answer carries (a strict Content Security
//! Policy among them). Nothing else is ever served: no file system, no directory listing.

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/student_page.rs"));
}

/// Whether the built student page is embedded (false when `ui/student-dist` was missing at
/// build time: a short page then says how to build it).
pub const BUILT: bool = embedded::BUILT;

/// The page shown when the student page was not built into this app.
const NOT_BUILT: &[u8] = b"<!doctype html><meta charset=utf-8><title>MQTT Workbench</title>\
<p>The student page was not built into this app: run <code>make ui</code>, then build the app again.</p>\n";

/// What the page needs to know about this classroom, served as `/classroom.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageSettings {
    /// The broker's WebSocket port (the page connects to `ws://<the page's host>:<port>/mqtt`).
    pub ws_port: u16,
    /// Whether the broker asks for the class password.
    pub password: bool,
    /// The username that goes with the class password.
    pub username: String,
}

/// One answer: status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Answer {
    fn text(status: u16, text: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The answer to a GET of `target` (a request target: path and maybe a query).
pub fn answer(target: &str, settings: &PageSettings) -> Answer {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let path = if path == "/" { "/index.html" } else { path };
    if path == "/classroom.json" {
        return Answer {
            status: 200,
            content_type: "application/json",
            body: serde_json::to_vec(settings).unwrap_or_default(),
        };
    }
    if !BUILT && path == "/index.html" {
        return Answer {
            status: 200,
            content_type: content_type(path),
            body: NOT_BUILT.to_vec(),
        };
    }
    // An exact match in the embedded table; nothing is looked up anywhere else.
    match embedded::FILES.iter().find(|(name, _)| *name == path) {
        Some((name, bytes)) => Answer {
            status: 200,
            content_type: content_type(name),
            body: bytes.to_vec(),
        },
        None => Answer::text(404, "not found\n"),
    }
}

/// An answer for a request that is not a plain GET or HEAD.
pub fn refusal(status: u16) -> Answer {
    let text = match status {
        405 => "only GET and HEAD are served here\n",
        431 => "request header too large\n",
        _ => "bad request\n",
    };
    Answer::text(status, text)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// The page's Content Security Policy: its own scripts and styles only, and MQTT over WebSocket
/// to the broker's port on whatever host served the page.
pub fn content_security_policy(ws_port: u16) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' ws://*:{ws_port}; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// The full HTTP/1.1 response (the body left out for HEAD); the connection closes after it.
pub fn response(answer: &Answer, head_only: bool, ws_port: u16) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {}\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\nCache-Control: no-store\r\n",
        answer.status,
        reason(answer.status),
        answer.content_type,
        answer.body.len(),
        content_security_policy(ws_port),
    );
    if answer.status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&answer.body);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PageSettings {
        PageSettings {
            ws_port: 8083,
            password: false,
            username: "class".into(),
        }
    }

    #[test]
    fn only_the_page_and_its_settings_are_served() {
        let index = answer("/", &settings());
        assert_eq!(index.status, 200);
        assert!(index.content_type.starts_with("text/html"));
        assert_eq!(answer("/?lang=zh", &settings()).body, index.body);
        let json = answer("/classroom.json", &settings());
        assert_eq!(
            String::from_utf8_lossy(&json.body),
            r#"{"wsPort":8083,"password":false,"username":"class"}"#
        );
        for path in [
            "/assets/",
            "/assets",
            "/../Cargo.toml",
            "/etc/passwd",
            "/index.html/",
            "//index.html",
            "/%2e%2e/Cargo.toml",
            "",
        ] {
            assert_eq!(answer(path, &settings()).status, 404, "{path}");
        }
    }

    #[test]
    fn responses_carry_a_strict_policy_and_close() {
        let bytes = response(&answer("/nothing", &settings()), false, 8083);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("default-src 'none'"), "{text}");
        assert!(text.contains("connect-src 'self' ws://*:8083;"), "{text}");
        assert!(
            text.contains("Connection: close\r\n\r\nnot found"),
            "{text}"
        );
        let head = response(&answer("/nothing", &settings()), true, 8083);
        assert!(String::from_utf8_lossy(&head).ends_with("\r\n\r\n"));
    }
}
