//! Inspecting proxy commands: the running proxies, starting one (a new traffic source, its id
//! the listening port) and stopping it. Client rows (refusals in words) are pushed to every
//! window as [`ProxiesChanged`]. Bodies are calls into [`workbench_core::proxy`].

use super::IpcError;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tauri_specta::Event;
use workbench_core::faults::{ArmedRule, Fault};
use workbench_core::proxy::{ProxyForm, ProxyService, ProxyView};

type State<'a> = tauri::State<'a, Arc<ProxyService>>;

/// The running proxies and their clients changed (one connected, was refused, left).
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct ProxiesChanged(pub Vec<ProxyView>);

/// How long row changes gather before they are pushed.
const SETTLE: Duration = Duration::from_millis(100);

/// Pushes the proxies' rows whenever they change, until the app ends.
pub async fn push_changes(service: Arc<ProxyService>, handle: tauri::AppHandle) {
    loop {
        service.changes.next(SETTLE).await;
        let _ = ProxiesChanged(service.list().await).emit(&handle);
    }
}

/// The running proxies with their client rows.
#[tauri::command]
#[specta::specta]
pub async fn proxy_list(service: State<'_>) -> Result<Vec<ProxyView>, IpcError> {
    Ok(service.list().await)
}

/// Starts a proxy from the form: it listens for devices and forwards them to the upstream.
#[tauri::command]
#[specta::specta]
pub async fn proxy_start(service: State<'_>, form: ProxyForm) -> Result<ProxyView, IpcError> {
    service.start(&form).await
}

/// Stops the proxy `id` (its port); the traffic it showed stays for reading.
#[tauri::command]
#[specta::specta]
pub async fn proxy_stop(service: State<'_>, id: String) -> Result<(), IpcError> {
    service.stop(&id).await
}

/// Arms a fault against a client of proxy `id` (connected or not yet); returns its rules.
#[tauri::command]
#[specta::specta]
pub async fn proxy_fault_arm(
    service: State<'_>,
    id: String,
    client_id: String,
    fault: Fault,
) -> Result<Vec<ArmedRule>, IpcError> {
    service.arm_fault(&id, &client_id, fault).await
}

/// Clears fault rule `rule` of proxy `id`; returns the rules still armed.
#[tauri::command]
#[specta::specta]
pub async fn proxy_fault_clear(
    service: State<'_>,
    id: String,
    rule: u32,
) -> Result<Vec<ArmedRule>, IpcError> {
    service.clear_fault(&id, rule).await
}
