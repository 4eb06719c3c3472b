//! Session commands: profiles (create, edit, delete), connect and disconnect, live
//! subscriptions, publishing, and reading connection URLs. None runs on the main thread (plain
//! functions are marked `async` for Tauri): a keychain lookup must never stall the window.

use super::IpcError;
use serde::Serialize;
use std::sync::Arc;
use workbench_core::hub::TrafficHub;
use workbench_session::payload::PayloadInput;
use workbench_session::profile::{parse_url, ParsedUrl};
use workbench_session::{
    Profile, PublishRequest, SessionManager, SessionView, SessionsOverview, Subscription,
};

type Sessions<'a> = tauri::State<'a, Arc<SessionManager>>;

fn err(e: workbench_session::SessionError) -> IpcError {
    IpcError::from_coded(&e)
}

/// A saved session, and a note when its password could not go to the keychain.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionSaved {
    pub session: SessionView,
    pub note: Option<String>,
}

/// Every session, and where profiles and passwords are kept.
#[tauri::command(async)]
#[specta::specta]
pub fn session_list(sessions: Sessions<'_>) -> SessionsOverview {
    sessions.overview()
}

/// Creates (empty id) or updates a profile. `password`: null keeps the stored one, "" removes it.
#[tauri::command(async)]
#[specta::specta]
pub fn session_save(
    sessions: Sessions<'_>,
    profile: Profile,
    password: Option<String>,
) -> Result<SessionSaved, IpcError> {
    let (session, note) = sessions.save(profile, password).map_err(err)?;
    Ok(SessionSaved { session, note })
}

/// Stops a session and forgets its profile, password and traffic.
#[tauri::command(async)]
#[specta::specta]
pub fn session_delete(
    sessions: Sessions<'_>,
    hub: tauri::State<'_, Arc<TrafficHub>>,
    id: String,
) -> Result<(), IpcError> {
    sessions.delete(&id).map_err(err)?;
    hub.remove(&workbench_session::source_id(&id));
    Ok(())
}

/// Starts connecting; the state then moves on by itself (pushed as `SessionsChanged`).
#[tauri::command]
#[specta::specta]
pub async fn session_connect(sessions: Sessions<'_>, id: String) -> Result<SessionView, IpcError> {
    sessions.connect(&id).map_err(err)
}

/// Disconnects: `graceful` sends DISCONNECT; otherwise the connection is dropped as by a crash,
/// and the broker publishes the will.
#[tauri::command(async)]
#[specta::specta]
pub fn session_disconnect(
    sessions: Sessions<'_>,
    id: String,
    graceful: bool,
) -> Result<SessionView, IpcError> {
    sessions.disconnect(&id, graceful).map_err(err)
}

/// Adds or changes a subscription (sent at once when connected).
#[tauri::command]
#[specta::specta]
pub async fn session_subscribe(
    sessions: Sessions<'_>,
    id: String,
    subscription: Subscription,
) -> Result<SessionView, IpcError> {
    sessions.subscribe(&id, subscription).await.map_err(err)
}

/// Removes a subscription.
#[tauri::command]
#[specta::specta]
pub async fn session_unsubscribe(
    sessions: Sessions<'_>,
    id: String,
    filter: String,
) -> Result<SessionView, IpcError> {
    sessions.unsubscribe(&id, &filter).await.map_err(err)
}

/// Publishes from a connected session; returns the payload's size in bytes.
#[tauri::command]
#[specta::specta]
pub async fn session_publish(
    sessions: Sessions<'_>,
    id: String,
    request: PublishRequest,
) -> Result<u32, IpcError> {
    sessions
        .publish(&id, request)
        .await
        .map(|n| n as u32)
        .map_err(err)
}

/// Reads a connection URL (`mqtt://user@host:1883`, `wss://host/mqtt`...) into profile fields.
#[tauri::command]
#[specta::specta]
pub fn session_parse_url(url: String) -> Result<ParsedUrl, IpcError> {
    parse_url(&url).map_err(err)
}

/// Checks a payload as the composer has it (JSON validity, hex, base64) and returns its size.
#[tauri::command(async)]
#[specta::specta]
pub fn session_check_payload(payload: PayloadInput) -> Result<u32, IpcError> {
    payload.into_bytes().map(|b| b.len() as u32).map_err(err)
}
