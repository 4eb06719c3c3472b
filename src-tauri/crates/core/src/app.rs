//! The app assembled: the traffic hub, the broker service, the sessions and the saved settings,
//! wired together, with their background work (ingestion, the frame pump, restoring the broker)
//! started and stopped as one. A front end (the desktop shell, a test, a future browser server)
//! builds one [`App`], starts it, plugs in its sinks and listens to [`App::changes`].
//!
//! Shutdown is designed in: [`App::shutdown`] has each connected session say DISCONNECT (and
//! closes the AMQP sessions), stops
//! the broker (which waits for its connections and timers), ends every background task, and
//! returns within its deadline.

use crate::broker::saved::{SavedSettings, BROKER_FILE};
use crate::broker::service::BrokerService;
use crate::changes::{Change, Changes};
use crate::hub::{BrokerChange, TrafficHub};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;
use workbench_broker::{BrokerEvent, BrokerSettings};
use workbench_session::{store, SessionManager, SessionTraffic};
use workbench_traffic::source::SourceLimits;

/// Where the app keeps its files.
#[derive(Debug, Clone, Default)]
pub struct Folders {
    /// Profiles, broker settings (`None`: nothing is saved).
    pub config: Option<PathBuf>,
}

impl Folders {
    /// The OS's folders (`MQTT_WORKBENCH_CONFIG_DIR` overrides the config folder).
    pub fn from_os() -> Folders {
        Folders {
            config: store::config_dir(),
        }
    }
}

/// Receivers handed to [`App::start`] once.
struct Pending {
    broker_events: mpsc::Receiver<BrokerEvent>,
    session_traffic: mpsc::Receiver<SessionTraffic>,
}

/// The app's services.
pub struct App {
    pub hub: Arc<TrafficHub>,
    pub broker: Arc<BrokerService>,
    pub sessions: Arc<SessionManager>,
    /// The AMQP 0-9-1 sessions (RabbitMQ), feeding the same session channel.
    pub amqp: Arc<crate::amqp::AmqpService>,
    pub saved: Arc<SavedSettings>,
    /// The settings page's preferences, and where they are saved (none: not saved).
    pub preferences: std::sync::RwLock<crate::preferences::Loaded>,
    preferences_path: Option<PathBuf>,
    /// Each source's Protobuf schema, and decoding one message.
    pub decoders: Arc<crate::decoders::Decoders>,
    /// What changed that the UI shows; a front end pushes it.
    pub changes: Arc<Changes>,
    /// Counters that moved (messages per client, retained messages, notices): pushed at a slower
    /// pace than [`App::changes`], since they move with every message.
    pub counters: Arc<Changes>,
    pending: std::sync::Mutex<Option<Pending>>,
    stop: watch::Sender<bool>,
    tasks: TaskTracker,
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

impl App {
    /// Builds the services (nothing runs yet). `secrets` is the password store (the keychain, or
    /// memory only).
    pub fn new(folders: Folders, secrets: Arc<workbench_secrets::Secrets>) -> App {
        let changes = Arc::new(Changes::default());
        let counters = Arc::new(Changes::default());
        let on_broker = {
            let (changes, counters) = (changes.clone(), counters.clone());
            Arc::new(move |change| match change {
                BrokerChange::Clients => {
                    changes.mark(Change::Clients);
                    changes.mark(Change::Broker);
                }
                BrokerChange::Counters => {
                    counters.mark(Change::Clients);
                    counters.mark(Change::Broker);
                }
            })
        };
        let preferences_path = folders
            .config
            .as_ref()
            .map(|d| d.join(crate::preferences::PREFERENCES_FILE));
        let preferences = match &preferences_path {
            Some(path) => crate::preferences::load(path),
            None => crate::preferences::Loaded {
                preferences: Default::default(),
                note: None,
            },
        };
        crate::downloads::choose(preferences.preferences.downloads_folder());
        let limits: SourceLimits = preferences.preferences.source_limits();
        let hub = TrafficHub::with_broker_notices(limits, on_broker);
        // Bounded: if the model ever fell behind, the broker drops (and counts) events instead of
        // slowing down or growing memory.
        let (events_tx, broker_events) = mpsc::channel(1024);
        let broker = Arc::new(BrokerService::new(
            BrokerSettings::default(),
            Some(events_tx),
            changes.clone(),
        ));
        let (session_tx, session_traffic) = mpsc::channel(1024);
        let profiles = folders
            .config
            .as_ref()
            .map(|d| d.join(store::PROFILES_FILE));
        let amqp = Arc::new(crate::amqp::AmqpService::new(
            folders.config.as_deref(),
            secrets.clone(),
            session_tx.clone(),
            hub.clone(),
        ));
        let sessions = Arc::new(SessionManager::new(profiles, secrets.clone(), session_tx));
        {
            let changes = changes.clone();
            sessions.set_on_change(Arc::new(move || changes.mark(Change::Sessions)));
        }
        let decoders = Arc::new(crate::decoders::Decoders::load(folders.config.clone()));
        let saved = Arc::new(SavedSettings {
            path: folders.config.map(|d| d.join(BROKER_FILE)),
            secrets,
        });
        let (stop, _) = watch::channel(false);
        App {
            hub,
            broker,
            sessions,
            amqp,
            saved,
            preferences: std::sync::RwLock::new(preferences),
            preferences_path,
            decoders,
            changes,
            counters,
            pending: std::sync::Mutex::new(Some(Pending {
                broker_events,
                session_traffic,
            })),
            stop,
            tasks: TaskTracker::new(),
        }
    }

    /// Starts the background work on the current tokio runtime: feeding the traffic model, pushing
    /// frames to viewers, and the broker with the settings saved last time. Once; later calls do
    /// nothing.
    pub fn start(&self) {
        let Some(pending) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        let stop = || stopped(self.stop.subscribe());
        let hub = self.hub.clone();
        let broker_events = pending.broker_events;
        let until = stop();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = hub.ingest_broker(broker_events) => {}
                _ = until => {}
            }
        });
        let hub = self.hub.clone();
        let session_traffic = pending.session_traffic;
        let until = stop();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = hub.ingest_sessions(session_traffic) => {}
                _ = until => {}
            }
        });
        let (broker, sessions) = (self.broker.clone(), self.sessions.clone());
        self.tasks.spawn(
            self.hub
                .clone()
                .pump_frames(move || broker.events_dropped() + sessions.dropped(), stop()),
        );
        let (broker, saved) = (self.broker.clone(), self.saved.clone());
        if self.preferences().start_broker {
            self.tasks.spawn(async move {
                crate::broker::start_saved(&broker, &saved).await;
            });
        }
        // The app's own session follows the broker: connected while it listens.
        let (mut listening, sessions) = (self.broker.listening(), self.sessions.clone());
        let broker = self.broker.clone();
        let until = stop();
        self.tasks.spawn(async move {
            let follow = async {
                loop {
                    let listener = *listening.borrow_and_update();
                    let login = broker.app_login().await;
                    if let Err(error) = sessions.set_app_session(listener, login) {
                        tracing::warn!(%error, "the app's own session did not connect");
                    }
                    if listening.changed().await.is_err() {
                        return;
                    }
                }
            };
            tokio::select! {
                _ = follow => {}
                _ = until => {}
            }
        });
    }

    /// The preferences in effect.
    pub fn preferences(&self) -> crate::preferences::Preferences {
        self.preferences
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .preferences
            .clone()
    }

    /// What the user should know about the preferences file (it could not be read).
    pub fn preferences_note(&self) -> Option<String> {
        self.preferences
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .note
            .clone()
    }

    /// Checks and saves new preferences. Where exports go changes at once; history and packet
    /// limits apply to sources from the next start; the broker setting at the next start.
    pub fn set_preferences(
        &self,
        preferences: crate::preferences::Preferences,
    ) -> Result<(), crate::error::IpcError> {
        match &self.preferences_path {
            Some(path) => crate::preferences::save(path, &preferences)?,
            None => preferences.validate().map_err(|e| {
                crate::error::IpcError::new(crate::error::ErrorCode::InvalidInput, e)
            })?,
        }
        crate::downloads::choose(preferences.downloads_folder());
        *self.preferences.write().unwrap_or_else(|p| p.into_inner()) = crate::preferences::Loaded {
            preferences,
            note: None,
        };
        Ok(())
    }

    /// Ends everything within `deadline`: sessions send DISCONNECT (no will), the broker stops
    /// and waits for its connections and timers, background tasks end. Returns the number of
    /// sessions and tasks still running at the deadline (0 after a clean shutdown).
    pub async fn shutdown(&self, deadline: Duration) -> usize {
        let started = tokio::time::Instant::now();
        let sessions_left = self.sessions.shutdown(deadline).await;
        let remaining = deadline.saturating_sub(started.elapsed());
        let amqp_left = self.amqp.shutdown(remaining).await;
        let remaining = deadline.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(remaining, self.broker.stop()).await;
        let _ = self.stop.send(true);
        self.tasks.close();
        let remaining = deadline.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(remaining, self.tasks.wait()).await;
        sessions_left + amqp_left + self.tasks.len()
    }
}
