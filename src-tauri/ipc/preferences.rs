//! The settings page's commands: read and save the app's preferences. The work is in
//! [`workbench_core::preferences`] and [`workbench_core::app::App`].

use super::IpcError;
use serde::Serialize;
use std::sync::Arc;
use workbench_core::app::App;
use workbench_core::preferences::Preferences;

/// The preferences, their defaults (for "reset"), and what the user should know.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesView {
    pub preferences: Preferences,
    pub defaults: Preferences,
    /// The settings file could not be used (it was kept aside).
    pub note: Option<String>,
    /// Where exports go when no folder is chosen (the Downloads folder), if known.
    pub default_downloads: Option<String>,
}

fn view(app: &App) -> PreferencesView {
    PreferencesView {
        preferences: app.preferences(),
        defaults: Preferences::default(),
        note: app.preferences_note(),
        default_downloads: workbench_core::downloads::default_folder()
            .map(|d| d.display().to_string()),
    }
}

/// The app's preferences.
#[tauri::command]
#[specta::specta]
pub fn preferences_get(app: tauri::State<'_, Arc<App>>) -> PreferencesView {
    view(&app)
}

/// Checks and saves the app's preferences.
#[tauri::command]
#[specta::specta]
pub fn preferences_set(
    app: tauri::State<'_, Arc<App>>,
    preferences: Preferences,
) -> Result<PreferencesView, IpcError> {
    app.set_preferences(preferences)?;
    Ok(view(&app))
}
