//! Window commands: more windows on the same sources. Each window is a whole UI of its own, with
//! its own viewer, filter, expansion and selection (a viewer per window, see `traffic.rs`);
//! nothing is shared between windows but the backend's model. A window's viewers are closed when
//! the window is destroyed (`traffic::on_window_event`, hooked in `lib.rs`).
//!
//! This file only builds windows. It must never hold view state: that lives in the hub.

use super::IpcError;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tauri::ipc::{InvokeResponseBody, IpcResponse};
use tauri::{AppHandle, WebviewUrl, WebviewWindowBuilder};
use workbench_core::error::ErrorCode;
use workbench_session::SessionManager;
use workbench_traffic::SourceId;

/// The window the app starts with (tauri.conf.json); new windows copy its size and limits.
const MAIN_WINDOW: &str = "main";
/// New windows are labelled `view-1`, `view-2`, ...; the capability matches `view-*`.
const VIEW_PREFIX: &str = "view-";

/// The number of the last window opened (labels are never reused while the app runs).
static LAST_VIEW: AtomicU32 = AtomicU32::new(0);

/// Opens a new window showing `source` (it may then choose any other source itself), on `view`
/// when given (a tab's id: `packets`, `sequence`...), sized like the main window and titled after
/// it with its number. An unknown session is refused (`NotFound`) before any window opens; a view
/// name that is not a plain id (letters, digits, dashes, at most 32) is refused too.
// Async: creating a window from a command on the main thread deadlocks on Windows, and looking a
// session up may ask the keychain.
#[tauri::command(async)]
#[specta::specta]
pub fn window_open(
    app: AppHandle,
    sessions: tauri::State<'_, Arc<SessionManager>>,
    amqp: tauri::State<'_, Arc<workbench_core::amqp::AmqpService>>,
    source: SourceId,
    view: Option<String>,
) -> Result<(), IpcError> {
    if let Some(view) = &view {
        let plain = !view.is_empty()
            && view.len() <= 32
            && view
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plain {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                format!("'{}' is not a view's name", view.escape_debug()),
            ));
        }
    }
    if let SourceId::Session(id) = &source {
        // An MQTT session, or an AMQP one (its profile).
        if amqp.view(id).is_err() {
            sessions.get(id).map_err(|e| IpcError::from_coded(&e))?;
        }
    }
    let number = LAST_VIEW.fetch_add(1, Ordering::Relaxed) + 1;
    let mut config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN_WINDOW)
        .cloned()
        .unwrap_or_default();
    config.label = format!("{VIEW_PREFIX}{number}");
    // "MQTT Workbench (2)": told apart from the first window in the task bar. Not the source's
    // name: the window may show another source a moment later.
    config.title = format!("{} ({})", config.title, number + 1);
    let mut path = view_path(&source);
    if let Some(view) = view {
        // Checked above: nothing to encode.
        path.push_str(&format!("&view={view}"));
    }
    config.url = WebviewUrl::App(path.into());
    WebviewWindowBuilder::from_config(&app, &config)
        .and_then(|builder| builder.build())
        .map(|_| ())
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("opening a window: {e}")))
}

/// The app's page with the source it starts on: `index.html?source=<JSON, percent-encoded>`.
/// The UI checks what it reads there (anything it does not know shows the broker).
pub fn view_path(source: &SourceId) -> String {
    // The JSON the source crosses IPC as (Tauri serialises it, with serde_json). It always
    // serialises (a tag and a string); the broker would be the harmless fallback.
    let json = match IpcResponse::body(source.clone()) {
        Ok(InvokeResponseBody::Json(json)) => json,
        _ => r#"{"kind":"broker"}"#.to_string(),
    };
    format!("index.html?source={}", percent_encode(&json))
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986), as `decodeURIComponent` and
/// `URLSearchParams` read it back.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_its_source_as_encoded_json() {
        assert_eq!(
            view_path(&SourceId::Broker),
            "index.html?source=%7B%22kind%22%3A%22broker%22%7D"
        );
        assert_eq!(
            view_path(&SourceId::Session("a b&c=#/ü".into())),
            "index.html?source=%7B%22kind%22%3A%22session%22%2C%22id%22%3A%22a%20b%26c%3D%23%2F%C3%BC%22%7D"
        );
    }
}
