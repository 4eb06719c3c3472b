//! The broker as the app runs it: at most one at a time, started, stopped and reconfigured on
//! request, with its last error kept for the UI. Plain Rust: the IPC layer wraps it.

use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};
use workbench_broker::router::Router;
use workbench_broker::{Broker, BrokerError, BrokerEvent, BrokerSettings, ClientInfo, Listener};

/// What the UI shows about the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub running: bool,
    /// The address actually bound (the port may differ from the settings after a fallback).
    pub address: Option<std::net::SocketAddr>,
    pub listeners: Vec<Listener>,
    pub settings: BrokerSettings,
    pub clients_connected: usize,
    /// Topics holding a retained message.
    pub retained: usize,
    /// Why the last start failed, in words.
    pub last_error: Option<String>,
    /// Something the user should know about the settings (restored only in part, not saved).
    pub note: Option<String>,
}

struct State {
    broker: Option<Broker>,
    settings: BrokerSettings,
    last_error: Option<String>,
    note: Option<String>,
}

/// Owns the running broker. A tokio Mutex: start and stop await while holding it, which also
/// keeps two starts from racing.
pub struct BrokerService {
    state: Mutex<State>,
    events: Option<mpsc::Sender<BrokerEvent>>,
    /// Told when the broker starts, stops or changes settings.
    changes: Arc<crate::changes::Changes>,
    /// The routing engine outlives each start: retained messages and sessions survive a change
    /// of port or a stop and start.
    router: Arc<Router>,
    /// The plain MQTT listener's address while the broker runs (the app's own session follows it).
    listening: tokio::sync::watch::Sender<Option<std::net::SocketAddr>>,
    /// The password of the app's own user, made for this run: a broker that requires passwords
    /// also admits [`APP_USER`] with it, so the app's own session works there too. Never saved,
    /// never shown.
    app_password: String,
}

/// The user the app's own session logs in as when the broker requires passwords.
pub const APP_USER: &str = "mqtt-workbench-app";

impl BrokerService {
    pub fn new(
        settings: BrokerSettings,
        events: Option<mpsc::Sender<BrokerEvent>>,
        changes: Arc<crate::changes::Changes>,
    ) -> Self {
        let router = Arc::new(Router::new(settings.limits.router_limits()));
        BrokerService {
            router,
            changes,
            listening: tokio::sync::watch::Sender::new(None),
            app_password: workbench_session::random_id_long(""),
            state: Mutex::new(State {
                broker: None,
                settings,
                last_error: None,
                note: None,
            }),
            events,
        }
    }

    /// How the app's own session logs in: `None` while the broker admits anyone.
    pub async fn app_login(&self) -> Option<(String, String)> {
        let state = self.state.lock().await;
        (state.broker.is_some() && !state.settings.users.is_empty())
            .then(|| (APP_USER.to_string(), self.app_password.clone()))
    }

    /// The settings a start uses: the saved ones, plus the app's own user when there are users
    /// (a user of that name the user made keeps the password given).
    fn effective(&self, settings: &BrokerSettings) -> BrokerSettings {
        let mut settings = settings.clone();
        if !settings.users.is_empty() {
            settings
                .users
                .entry(APP_USER.to_string())
                .or_insert_with(|| self.app_password.clone());
        }
        settings
    }

    /// The routing engine (kept across starts), for the views that explain routing.
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// The plain MQTT listener's address while the broker runs; `None` while it is stopped.
    pub fn listening(&self) -> tokio::sync::watch::Receiver<Option<std::net::SocketAddr>> {
        self.listening.subscribe()
    }

    fn tell_listening(&self, state: &State) {
        let address = state.broker.as_ref().map(Broker::local_addr);
        self.listening.send_if_modified(|now| {
            let changed = *now != address;
            *now = address;
            changed
        });
    }

    /// Sets the note shown with the settings.
    pub async fn set_note(&self, note: Option<String>) {
        self.state.lock().await.note = note;
        self.changes.mark(crate::changes::Change::Broker);
    }

    fn status_of(state: &State) -> ServiceStatus {
        ServiceStatus {
            running: state.broker.is_some(),
            address: state.broker.as_ref().map(Broker::local_addr),
            listeners: state
                .broker
                .as_ref()
                .map(|b| b.listeners().to_vec())
                .unwrap_or_default(),
            settings: state.settings.clone(),
            clients_connected: state.broker.as_ref().map_or(0, |b| b.clients().len()),
            retained: state.broker.as_ref().map_or(0, Broker::retained_count),
            last_error: state.last_error.clone(),
            note: state.note.clone(),
        }
    }

    pub async fn status(&self) -> ServiceStatus {
        Self::status_of(&*self.state.lock().await)
    }

    /// Starts the broker with `settings` (or the current ones), stopping a running one first.
    pub async fn start(
        &self,
        settings: Option<BrokerSettings>,
    ) -> Result<ServiceStatus, BrokerError> {
        let mut state = self.state.lock().await;
        if let Some(running) = state.broker.take() {
            running.stop().await;
            // Told even when the new broker listens where the old one did: whoever follows the
            // listener (the app's own session) connects to the new one.
            self.tell_listening(&state);
        }
        if let Some(settings) = settings {
            state.settings = settings;
        }
        self.changes.mark(crate::changes::Change::Broker);
        self.changes.mark(crate::changes::Change::Clients);
        let started = Broker::start_on(
            self.effective(&state.settings),
            self.events.clone(),
            self.router.clone(),
        )
        .await;
        match started {
            Ok(broker) => {
                tracing::info!(address = %broker.local_addr(), "broker listening");
                state.broker = Some(broker);
                state.last_error = None;
                self.tell_listening(&state);
                Ok(Self::status_of(&state))
            }
            Err(error) => {
                tracing::error!(%error, "broker did not start");
                state.last_error = Some(error.to_string());
                self.tell_listening(&state);
                Err(error)
            }
        }
    }

    /// Stops the broker if it runs.
    pub async fn stop(&self) -> ServiceStatus {
        let mut state = self.state.lock().await;
        if let Some(running) = state.broker.take() {
            running.stop().await;
        }
        self.tell_listening(&state);
        self.changes.mark(crate::changes::Change::Broker);
        self.changes.mark(crate::changes::Change::Clients);
        Self::status_of(&state)
    }

    /// Events the running broker dropped because the model fell behind (0 when stopped).
    pub fn events_dropped(&self) -> u64 {
        self.state
            .try_lock()
            .ok()
            .and_then(|s| s.broker.as_ref().map(Broker::events_dropped))
            .unwrap_or(0)
    }

    /// Deletes the retained messages of `topics`, as an empty retained publish of the broker's
    /// own would (subscribers see it). Returns how many were deleted.
    pub async fn delete_retained(&self, topics: &[String]) -> Result<usize, BrokerError> {
        let state = self.state.lock().await;
        let broker = state.broker.as_ref().ok_or(BrokerError::NotRunning)?;
        Ok(broker.delete_retained(topics))
    }

    pub async fn clients(&self) -> Vec<ClientInfo> {
        let state = self.state.lock().await;
        state
            .broker
            .as_ref()
            .map(Broker::clients)
            .unwrap_or_default()
    }
}
