//! Fault injection commands for the embedded broker's clients: list, arm, clear. The armed rules
//! are pushed to every window as [`FaultsChanged`] whenever they change (also when a connection
//! uses one up). Bodies are calls into [`workbench_core::faults`].

use super::IpcError;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tauri_specta::Event;
use workbench_core::broker::service::BrokerService;
use workbench_core::faults::{self, ArmedRule, Fault};

type State<'a> = tauri::State<'a, Arc<BrokerService>>;

/// The armed fault rules changed (armed, cleared, or used up).
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct FaultsChanged(pub Vec<ArmedRule>);

/// How long changes gather before they are pushed.
const SETTLE: Duration = Duration::from_millis(100);

/// Pushes the armed rules whenever they change, until the app ends.
pub async fn push_changes(service: Arc<BrokerService>, handle: tauri::AppHandle) {
    let changed = faults::watch(&service);
    loop {
        changed.notified().await;
        tokio::time::sleep(SETTLE).await;
        let _ = FaultsChanged(faults::rules(&service)).emit(&handle);
    }
}

/// Every armed fault rule.
#[tauri::command]
#[specta::specta]
pub async fn faults_list(service: State<'_>) -> Result<Vec<ArmedRule>, IpcError> {
    Ok(faults::rules(&service))
}

/// Arms `fault` against the client `client_id` (connected or not yet); returns every rule.
#[tauri::command]
#[specta::specta]
pub async fn faults_arm(
    service: State<'_>,
    client_id: String,
    fault: Fault,
) -> Result<Vec<ArmedRule>, IpcError> {
    faults::arm(&service, &client_id, fault)
}

/// Clears rule `id` (resuming a paused client, ending a delay); returns every rule left.
#[tauri::command]
#[specta::specta]
pub async fn faults_clear(service: State<'_>, id: u32) -> Result<Vec<ArmedRule>, IpcError> {
    faults::clear(&service, id)
}

/// Clears every rule of `client_id`, or of everyone when `None`; returns every rule left.
#[tauri::command]
#[specta::specta]
pub async fn faults_clear_client(
    service: State<'_>,
    client_id: Option<String>,
) -> Result<Vec<ArmedRule>, IpcError> {
    Ok(faults::clear_client(&service, client_id.as_deref()))
}
