//! The Tauri layer: every command, event and channel the UI can use, collected in one place and
//! typed with tauri-specta. The TypeScript bindings in `ui/src/lib/platform/bindings.ts` are
//! generated from [`specta_builder`] (`make bindings`); a test fails when they are stale.
//!
//! This module is a thin wrapper: command bodies are calls into the workspace's crates (mostly
//! [`workbench_core`]). It must never hold protocol or app logic, and it is (with app assembly in
//! `lib.rs`) the only place that imports `tauri`.

pub mod amqp;
pub mod amqp_queues;
pub mod broker;
pub mod capture;
pub mod classroom;
pub mod commands;
pub mod decode;
pub mod events;
pub mod faults;
pub mod learn;
pub mod preferences;
pub mod proxy;
pub mod session;
pub mod teach;
pub mod tools;
pub mod traffic;
pub mod window;

pub use workbench_core::error::IpcError;

use specta_typescript::Typescript;
use std::path::Path;

/// Where the generated TypeScript bindings live, relative to the repository root.
pub const BINDINGS_PATH: &str = "ui/src/lib/platform/bindings.ts";

/// Reads the one list of commands (`command_list.rs`) into their names and their registration.
macro_rules! app_commands {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// The names of all commands, as the capability file grants them (`allow-<name>`).
        pub const COMMAND_NAMES: &[&str] = &[$(stringify!($name)),*];

        fn commands() -> tauri_specta::Commands<tauri::Wry> {
            tauri_specta::collect_commands![$($module::$name),*]
        }
    };
}
include!("command_list.rs");

/// Collects every command and event the UI can use.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(commands())
        .events(tauri_specta::collect_events![
            events::BrokerChanged,
            events::ClientsChanged,
            events::SessionsChanged,
            classroom::ClassroomChanged,
            learn::LearnChanged,
            proxy::ProxiesChanged,
            faults::FaultsChanged,
            amqp::AmqpSessionChanged,
            amqp::AmqpUnsettled,
            amqp::AmqpConsumerEnded,
        ])
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
