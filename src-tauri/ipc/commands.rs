//! App-wide commands: what this build is, and saving exports. Each body is a call into the core.

use serde::Serialize;

/// What the app is and where it runs; shown in the status bar and the about box.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub tauri_version: String,
    pub os: String,
    pub arch: String,
}

/// Describes this build of the app.
#[tauri::command]
#[specta::specta]
pub fn app_info() -> AppInfo {
    // The page asks this as soon as it has mounted: the startup benchmark times the process's
    // start to this line (tests/bench/startup.py).
    if std::env::var_os("MQTT_WORKBENCH_STARTUP_PROBE").is_some() {
        static FIRST: std::sync::Once = std::sync::Once::new();
        FIRST.call_once(|| eprintln!("mqtt-workbench: first frame"));
    }
    AppInfo {
        name: workbench_core::PRODUCT_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        tauri_version: tauri::VERSION.to_string(),
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
    }
}

/// Saves exported bytes (a payload, a chart) as a new file in the Downloads folder; returns the
/// path written. `data` is base64, so large payloads cross IPC as one string, not a number array.
#[tauri::command]
#[specta::specta]
pub fn save_to_downloads(file_name: String, data: String) -> Result<String, super::IpcError> {
    workbench_core::downloads::save_base64(&file_name, &data).map(|path| path.display().to_string())
}
