//! Build script: runs tauri-build against the root `tauri.conf.json` and the capability files
//! kept under `src-tauri/capabilities/`. App commands are declared here so that tauri-build
//! generates one `allow-<command>` permission per command; the capability grants each by name.

/// Every command the UI may invoke; the list is shared with `ipc` (tests check it against the
/// capability file and the registered commands).
const COMMANDS: &[&str] = include!("ipc/command_names.rs");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
