//! Build script: runs tauri-build against the root `tauri.conf.json` and the capability files
//! kept under `src-tauri/capabilities/`. App commands are declared here so that tauri-build
//! generates one `allow-<command>` permission per command; the capability grants each by name.

/// Reads the one list of commands (`ipc/command_list.rs`) into their names.
macro_rules! app_commands {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// Every command the UI may invoke.
        const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}
include!("ipc/command_list.rs");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/ipc/command_list.rs");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
