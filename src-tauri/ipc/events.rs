//! Events pushed to the UI when what it shows changed: the broker's status, its clients, the
//! sessions. The UI never polls for them. Changes within a tenth of a second go out as one event
//! each (see [`workbench_core::changes`]).

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tauri_specta::Event;
use workbench_core::app::App;
use workbench_core::broker::status::{self, BrokerStatus, ClientView};
use workbench_core::changes::{Change, Changed};
use workbench_session::SessionsOverview;

/// The broker started, stopped, changed settings or gained or lost a client.
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct BrokerChanged(pub BrokerStatus);

/// The broker's clients (connected, subscribed, left).
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct ClientsChanged(pub Vec<ClientView>);

/// The sessions: a state, a subscription's answer, a profile.
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct SessionsChanged(pub SessionsOverview);

/// How long changes gather before they are pushed.
const SETTLE: Duration = Duration::from_millis(100);
/// How long moving counters (messages per client, retained messages) gather: at most one push a
/// second while messages flow, none while they do not.
const COUNTERS_SETTLE: Duration = Duration::from_secs(1);

/// Pushes changes to every window until the app ends.
pub async fn push_changes(app: Arc<App>, handle: tauri::AppHandle) {
    tauri::async_runtime::spawn(push_counters(app.clone(), handle.clone()));
    loop {
        let changed = app.changes.next(SETTLE).await;
        push(&app, &handle, changed).await;
    }
}

async fn push_counters(app: Arc<App>, handle: tauri::AppHandle) {
    loop {
        let changed = app.counters.next(COUNTERS_SETTLE).await;
        push(&app, &handle, changed).await;
    }
}

async fn push(app: &App, handle: &tauri::AppHandle, changed: Changed) {
    if changed.contains(Change::Broker) {
        let _ = BrokerChanged(status::view(app.broker.status().await)).emit(handle);
    }
    if changed.contains(Change::Clients) {
        let clients = app
            .broker
            .clients()
            .await
            .into_iter()
            .map(status::client_view)
            .collect();
        let _ = ClientsChanged(clients).emit(handle);
    }
    if changed.contains(Change::Sessions) {
        let sessions = app.sessions.clone();
        if let Ok(overview) = tokio::task::spawn_blocking(move || sessions.overview()).await {
            let _ = SessionsChanged(overview).emit(handle);
        }
    }
}
