//! The IPC contract between the Rust side and the UI: the committed TypeScript bindings are what
//! the code generates, and the capability file grants exactly the app's commands.
//!
//! `UPDATE_BINDINGS=1 cargo test --test ipc_contract` (or `make bindings`) rewrites the bindings.

use mqtt_workbench::ipc;
use std::path::{Path, PathBuf};

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn committed_bindings_match_the_code() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let generated_path = dir.path().join("bindings.ts");
    ipc::export_bindings(&generated_path).expect("export bindings");
    let generated = read(&generated_path);
    assert!(
        generated.contains("appInfo"),
        "the generated bindings lack the appInfo command:\n{generated}"
    );

    let committed_path = repo_path(ipc::BINDINGS_PATH);
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&committed_path, &generated).expect("write bindings");
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: it differs from what src-tauri/ipc generates. Run `make bindings` and commit \
         the result.",
        ipc::BINDINGS_PATH
    );
}

#[test]
fn capability_grants_exactly_the_app_commands() {
    let text = read(&repo_path("src-tauri/capabilities/default.json"));
    let capability: serde_json::Value = serde_json::from_str(&text).expect("capability is JSON");
    let granted: Vec<&str> = capability["permissions"]
        .as_array()
        .expect("permissions array")
        .iter()
        .filter_map(|p| p.as_str())
        .filter(|p| !p.starts_with("core:"))
        .collect();
    let mut expected: Vec<String> = ipc::COMMAND_NAMES
        .iter()
        .map(|name| format!("allow-{}", name.replace('_', "-")))
        .collect();
    expected.sort();
    let mut granted: Vec<String> = granted.into_iter().map(str::to_string).collect();
    granted.sort();
    assert_eq!(
        granted, expected,
        "capability file and command list disagree"
    );
}

#[test]
fn every_registered_command_is_in_the_command_list() {
    let generated = {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("bindings.ts");
        ipc::export_bindings(&path).expect("export bindings");
        read(&path)
    };
    for name in ipc::COMMAND_NAMES {
        let invoked = format!("(\"{name}\"");
        assert!(
            generated.contains(&invoked),
            "command {name} is granted but not registered with tauri-specta"
        );
    }
    // Every command calls __TAURI_INVOKE once; the import line names it once more.
    let registered = generated.matches("__TAURI_INVOKE").count() - 1;
    assert_eq!(
        registered,
        ipc::COMMAND_NAMES.len(),
        "a command is registered but missing from ipc/command_names.rs (the UI could not call it)"
    );
}
