//! The broker as the app runs it: one at a time, started with the settings saved last time,
//! restarted with new settings from the UI (which are then saved), and shown to the UI without
//! its passwords.
//!
//! - [`service`]: the running broker, started, stopped and reconfigured on request.
//! - [`saved`]: its settings across restarts, passwords in the OS keychain.
//! - [`status`]: the broker as the UI shows it, and the UI's settings checked into broker
//!   settings.
//! - [`limits`]: the broker's limits as the UI shows and edits them.

pub mod limits;
pub mod saved;
pub mod service;
pub mod status;

use crate::error::{Coded, IpcError};
use saved::SavedSettings;
use service::BrokerService;
use status::{BrokerSettingsInput, BrokerStatus};

/// Starts the broker with the settings saved last time (by default on 127.0.0.1:1883 or the next
/// free port). A failure is kept in the service for the UI to show; the app runs on without it.
pub async fn start_saved(service: &BrokerService, saved: &SavedSettings) {
    let loaded = match saved.path.clone() {
        Some(path) => {
            let secrets = saved.secrets.clone();
            // The keychain may take a moment: not on the async threads.
            tokio::task::spawn_blocking(move || saved::load(&path, &secrets))
                .await
                .ok()
        }
        None => None,
    };
    let (settings, note) = match loaded {
        Some(loaded) => (Some(loaded.settings), loaded.note),
        None => (None, None),
    };
    service.set_note(note).await;
    let _ = service.start(settings).await;
}

/// Starts (or restarts) the broker, with new settings from the UI when given. New settings that
/// work are kept for the next start of the app.
pub async fn start(
    service: &BrokerService,
    saved: &SavedSettings,
    settings: Option<BrokerSettingsInput>,
) -> Result<BrokerStatus, IpcError> {
    let keep_limits = settings.as_ref().is_some_and(|s| s.limits.is_none());
    let mut settings = settings.map(status::settings_from_input).transpose()?;
    if let (true, Some(settings)) = (keep_limits, settings.as_mut()) {
        // Settings without limits (an older front end) keep the broker's current ones.
        let max_packet_size = settings.limits.max_packet_size;
        settings.limits = service.status().await.settings.limits;
        settings.limits.max_packet_size = max_packet_size;
        settings
            .limits
            .validate()
            .map_err(|e| IpcError::new(crate::error::ErrorCode::InvalidInput, e))?;
    }
    let chosen = settings.clone();
    match service.start(settings).await {
        Ok(mut status) => {
            if let (Some(chosen), Some(path)) = (chosen, saved.path.as_deref()) {
                let note = match saved::save(path, &chosen, &saved.secrets) {
                    Ok(note) => note,
                    Err(error) => Some(error),
                };
                service.set_note(note.clone()).await;
                status.note = note;
            }
            Ok(status::view(status))
        }
        Err(error) => Err(IpcError::new(error.code(), error.to_string())),
    }
}
