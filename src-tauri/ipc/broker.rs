//! Broker commands: status, start (with settings), stop, and the connected clients. The work is
//! in [`workbench_core::broker`].

use super::IpcError;
use std::sync::Arc;
use workbench_core::broker::saved::SavedSettings;
use workbench_core::broker::service::BrokerService;
use workbench_core::broker::status::{self, BrokerSettingsInput, BrokerStatus, ClientView};

/// The broker's state and address.
#[tauri::command]
#[specta::specta]
pub async fn broker_status(
    service: tauri::State<'_, Arc<BrokerService>>,
) -> Result<BrokerStatus, IpcError> {
    Ok(status::view(service.status().await))
}

/// Starts (or restarts) the broker, with new settings when given.
#[tauri::command]
#[specta::specta]
pub async fn broker_start(
    service: tauri::State<'_, Arc<BrokerService>>,
    saved: tauri::State<'_, Arc<SavedSettings>>,
    settings: Option<BrokerSettingsInput>,
) -> Result<BrokerStatus, IpcError> {
    workbench_core::broker::start(&service, &saved, settings).await
}

/// Stops the broker; its clients are disconnected.
#[tauri::command]
#[specta::specta]
pub async fn broker_stop(
    service: tauri::State<'_, Arc<BrokerService>>,
) -> Result<BrokerStatus, IpcError> {
    Ok(status::view(service.stop().await))
}

/// Clients connected to the broker right now.
#[tauri::command]
#[specta::specta]
pub async fn broker_clients(
    service: tauri::State<'_, Arc<BrokerService>>,
) -> Result<Vec<ClientView>, IpcError> {
    Ok(service
        .clients()
        .await
        .into_iter()
        .map(status::client_view)
        .collect())
}
