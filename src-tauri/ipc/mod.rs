//! The Tauri layer: every command, event and channel the UI can use, collected in one place and
//! typed with tauri-specta. The TypeScript bindings in `ui/src/lib/platform/bindings.ts` are
//! generated from [`specta_builder`] (`make bindings`); a test fails when they are stale.
//!
//! This module is a thin wrapper: command bodies are calls into the workspace's crates (mostly
//! [`workbench_core`]). It must never hold protocol or app logic, and it is (with app assembly in
//! `lib.rs`) the only place that imports `tauri`.

pub mod broker;
pub mod commands;
pub mod session;
pub mod traffic;

pub use workbench_core::error::IpcError;

use specta_typescript::Typescript;
use std::path::Path;

/// Where the generated TypeScript bindings live, relative to the repository root.
pub const BINDINGS_PATH: &str = "ui/src/lib/platform/bindings.ts";

/// The names of all commands, as the capability file grants them (`allow-<name>`).
pub const COMMAND_NAMES: &[&str] = include!("command_names.rs");

/// Collects every command and event the UI can use.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            commands::app_info,
            commands::save_to_downloads,
            broker::broker_status,
            broker::broker_start,
            broker::broker_stop,
            broker::broker_clients,
            traffic::traffic_watch,
            traffic::traffic_view,
            traffic::traffic_expand,
            traffic::traffic_expand_all,
            traffic::traffic_clear,
            traffic::traffic_messages,
            traffic::traffic_delete_retained,
            traffic::traffic_notices,
            traffic::traffic_packets,
            traffic::traffic_export_packets,
            traffic::traffic_chart,
            traffic::traffic_value_chart,
            session::session_list,
            session::session_save,
            session::session_delete,
            session::session_connect,
            session::session_disconnect,
            session::session_subscribe,
            session::session_unsubscribe,
            session::session_publish,
            session::session_parse_url,
            session::session_check_payload,
        ])
        .events(tauri_specta::collect_events![])
        // Error types every fallible command returns; exported even before a command uses them.
        .typ::<IpcError>()
}

/// How the bindings are written: a header saying they are generated and must not be edited.
fn typescript() -> Typescript {
    Typescript::default()
        .header("// Regenerate with `make bindings` (source: src-tauri/ipc).\n/* eslint-disable */")
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &Path) -> Result<(), String> {
    specta_builder()
        .export(typescript(), path)
        .map_err(|error| {
            format!(
                "exporting TypeScript bindings to {}: {error}",
                path.display()
            )
        })
}
