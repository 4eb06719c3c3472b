//! Client sessions: the user's own MQTT clients (rumqttc) to the embedded broker or any external
//! broker, with reconnect, live subscriptions and a complete packet log. Never imports `tauri`.
//!
//! Each session reports its packets as [`workbench_wire::PacketEvent`]s over a bounded channel
//! ([`SessionTraffic`]); the app core feeds them to the traffic model. This crate must never
//! depend on the broker or the traffic model.
//!
//! - [`profile`]: what a connection is (host, transport, version, will, TLS...) and its checks;
//!   connection URLs as users write them.
//! - [`store`]: the profiles file (human-readable JSON, written atomically), never passwords.
//! - [`secrets`]: passwords in the OS keychain, or for this run only where there is none.
//! - [`dial`]: reaching a broker over TCP, TLS, WebSocket or secure WebSocket, with errors in words.
//! - [`tap`]: the relay between rumqttc and the broker that reads every packet both ways, so the
//!   log holds CONNECT, pings and retransmissions exactly as they crossed the wire.
//! - [`client`]: one running session: rumqttc's event loop, backoff, re-subscribing.
//! - [`payload`]: payload input (text, JSON, hex, base64, a file) into bytes, with precise errors.
//! - [`files`]: writing the app's own files atomically (the profiles here, the broker's settings
//!   in the app core).

pub mod client;
pub mod dial;
pub mod files;
pub mod payload;
pub mod profile;
/// Passwords (shared with the broker's users): see [`workbench_secrets`].
pub use workbench_secrets as secrets;
pub mod store;
pub mod tap;
pub mod words;

pub use profile::{MqttVersion, Profile, Subscription, TransportKind};
pub use tap::SessionTraffic;

use client::{Client, Running};
use payload::PayloadInput;
use profile::MessageProperties;
use secrets::{PasswordStorage, Secrets};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use workbench_wire::{Coded, ErrorCode};

/// Why a session operation failed, in words; each maps onto an [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("the topic filter '{filter}' is not valid: {reason}")]
    InvalidFilter { filter: String, reason: String },
    #[error("the topic '{topic}' cannot be published to: {reason}")]
    InvalidTopic { topic: String, reason: String },
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Tls(String),
    #[error("{0}")]
    AuthFailed(String),
    #[error("{0}")]
    Protocol(String),
    #[error("no session with id '{0}'")]
    NotFound(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    Io(String),
}

impl Coded for SessionError {
    fn code(&self) -> ErrorCode {
        match self {
            SessionError::InvalidInput(_) => ErrorCode::InvalidInput,
            SessionError::InvalidFilter { .. } => ErrorCode::InvalidTopicFilter,
            SessionError::InvalidTopic { .. } => ErrorCode::InvalidTopic,
            SessionError::Unreachable(_) => ErrorCode::Unreachable,
            SessionError::Tls(_) => ErrorCode::Tls,
            SessionError::AuthFailed(_) => ErrorCode::AuthFailed,
            SessionError::Protocol(_) => ErrorCode::Protocol,
            SessionError::NotFound(_) => ErrorCode::NotFound,
            SessionError::InvalidState(_) => ErrorCode::InvalidState,
            SessionError::Io(_) => ErrorCode::Io,
        }
    }
}

/// Where a session's connection is.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "state")]
pub enum ConnectionState {
    /// Not running.
    Disconnected,
    /// Dialing and waiting for CONNACK.
    Connecting { attempt: u32 },
    /// CONNACK received (`since`: epoch ms; `resumed`: the broker had a session).
    Connected {
        #[specta(type = u32)]
        since: f64,
        resumed: bool,
    },
    /// Lost or not reached; trying again at `at` (epoch ms).
    Reconnecting {
        #[specta(type = u32)]
        at: f64,
        attempt: u32,
        code: ErrorCode,
        reason: String,
        /// The broker's reason code behind `reason`, when the broker gave one.
        answer: Option<BrokerAnswer>,
    },
    /// Stopped for a reason retrying cannot fix (bad credentials, TLS trust, protocol).
    Failed {
        code: ErrorCode,
        reason: String,
        answer: Option<BrokerAnswer>,
    },
}

/// A reason code the broker answered with. The words for it are in `reason` (English); the code
/// itself lets the UI say it in its own language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BrokerAnswer {
    pub packet: AnswerPacket,
    pub code: u8,
    /// The broker's own reason string (MQTT 5), as it sent it; empty when it sent none.
    pub detail: String,
}

/// Which packet carried a reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "UPPERCASE")]
pub enum AnswerPacket {
    Connack,
    Suback,
    Disconnect,
}

impl BrokerAnswer {
    pub fn new(packet: AnswerPacket, code: u8) -> BrokerAnswer {
        BrokerAnswer {
            packet,
            code,
            detail: String::new(),
        }
    }
}

/// How the broker answered a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "status")]
pub enum SubscriptionStatus {
    /// The session is not connected.
    Inactive,
    /// Sent, no SUBACK yet.
    Pending,
    /// Granted at this QoS.
    Granted { qos: u8 },
    /// Refused, with the reason in words and the SUBACK code.
    Refused { reason: String, code: u8 },
}

/// A subscription and how the broker answered it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct SessionSubscription {
    pub subscription: Subscription,
    pub status: SubscriptionStatus,
}

/// A session as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub profile: Profile,
    /// The profile's URL (no password).
    pub url: String,
    /// The traffic source its packets and messages go to.
    pub source: String,
    pub state: ConnectionState,
    /// The client id in use while running (generated when the profile has none).
    pub client_id: Option<String>,
    pub has_password: bool,
    pub subscriptions: Vec<SessionSubscription>,
}

/// All sessions, and where their settings and passwords are kept.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionsOverview {
    pub sessions: Vec<SessionView>,
    pub password_storage: PasswordStorage,
    /// Why passwords are kept for this run only, when they are.
    pub password_note: Option<String>,
    /// The profiles file.
    pub profiles_file: Option<String>,
    /// A problem reading or writing the profiles file.
    pub warning: Option<String>,
}

/// A message to publish.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PublishRequest {
    pub topic: String,
    pub payload: PayloadInput,
    pub qos: u8,
    pub retain: bool,
    #[serde(default)]
    pub properties: MessageProperties,
}

/// The traffic source id of a session.
pub fn source_id(profile_id: &str) -> String {
    format!("session:{profile_id}")
}

/// A fresh random id: `prefix` and 8 hex digits.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness (never seen): time still makes ids unique enough per run.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        bytes = nanos.to_le_bytes();
    }
    format!("{prefix}{:08x}", u32::from_le_bytes(bytes))
}

/// An id no one can guess: 128 bits from the OS random source. `None`-free: should the source
/// fail (never seen), the time and a counter make it unique, if guessable.
pub fn random_id_long(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (nanos ^ u128::from(SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
            .to_le_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// Every session: profiles (saved), passwords (keychain) and running connections.
pub struct SessionManager {
    inner: Mutex<Inner>,
    path: Option<PathBuf>,
    secrets: Arc<Secrets>,
    traffic: mpsc::Sender<SessionTraffic>,
    /// Traffic batches dropped because the model fell behind (all sessions).
    dropped: Arc<AtomicU64>,
}

struct Inner {
    profiles: Vec<Profile>,
    running: HashMap<String, Running>,
    warning: Option<String>,
}

impl Inner {
    fn profile(&self, id: &str) -> Result<&Profile, SessionError> {
        self.profiles
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| SessionError::NotFound(id.to_string()))
    }

    fn profile_mut(&mut self, id: &str) -> Result<&mut Profile, SessionError> {
        self.profiles
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| SessionError::NotFound(id.to_string()))
    }
}

impl SessionManager {
    /// Loads the profiles at `path` (none: nothing is saved, as in tests). A broken file is moved
    /// aside (`profiles.json.broken`) and reported, never overwritten.
    pub fn new(
        path: Option<PathBuf>,
        secrets: impl Into<Arc<Secrets>>,
        traffic: mpsc::Sender<SessionTraffic>,
    ) -> SessionManager {
        let secrets = secrets.into();
        let mut read_only = false;
        let (profiles, warning) = match &path {
            None => (Vec::new(), None),
            Some(path) => match store::load(path) {
                Ok(profiles) => (profiles, None),
                Err(store::LoadError::Unreadable(e)) => {
                    // Not overwritten either: nothing is saved until the file can be read.
                    read_only = true;
                    (Vec::new(), Some(e.to_string()))
                }
                Err(store::LoadError::Invalid(e)) => {
                    let stamp = workbench_wire::now_ms() / 1000;
                    let aside = path.with_extension(format!("json.broken-{stamp}"));
                    let note = match std::fs::rename(path, &aside) {
                        Ok(()) => format!("{e}; it was kept as {}", aside.display()),
                        Err(_) => {
                            read_only = true;
                            e.to_string()
                        }
                    };
                    (Vec::new(), Some(note))
                }
            },
        };
        SessionManager {
            inner: Mutex::new(Inner {
                profiles,
                running: HashMap::new(),
                warning,
            }),
            path: if read_only { None } else { path },
            secrets,
            traffic,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Traffic batches dropped because the model fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn persist(&self, inner: &mut Inner) {
        if let Some(path) = &self.path {
            inner.warning = store::save(path, &inner.profiles)
                .err()
                .map(|e| e.to_string());
        }
    }

    fn view(&self, inner: &Inner, profile: &Profile) -> SessionView {
        let running = inner.running.get(&profile.id);
        let state = running
            .map(|r| r.state())
            .unwrap_or(ConnectionState::Disconnected);
        let connected = matches!(state, ConnectionState::Connected { .. });
        let granted = running.map(|r| r.granted()).unwrap_or_default();
        let subscriptions = profile
            .subscriptions
            .iter()
            .map(|s| SessionSubscription {
                subscription: s.clone(),
                status: match granted.get(&s.filter) {
                    _ if !connected => SubscriptionStatus::Inactive,
                    None => SubscriptionStatus::Pending,
                    Some(&code) if code < 0x80 => SubscriptionStatus::Granted { qos: code },
                    Some(&code) => SubscriptionStatus::Refused {
                        reason: words::suback(code),
                        code,
                    },
                },
            })
            .collect();
        SessionView {
            profile: profile.clone(),
            url: profile.url(),
            source: source_id(&profile.id),
            state,
            client_id: running.map(|r| r.client_id().to_string()),
            has_password: self.secrets.has(&profile.id),
            subscriptions,
        }
    }

    /// Every session.
    pub fn overview(&self) -> SessionsOverview {
        let inner = self.lock();
        SessionsOverview {
            sessions: inner
                .profiles
                .iter()
                .map(|p| self.view(&inner, p))
                .collect(),
            password_storage: self.secrets.storage(),
            password_note: self.secrets.reason().map(str::to_string),
            profiles_file: self.path.as_ref().map(|p| p.display().to_string()),
            warning: inner.warning.clone(),
        }
    }

    /// One session.
    pub fn get(&self, id: &str) -> Result<SessionView, SessionError> {
        let inner = self.lock();
        let profile = inner.profile(id)?;
        Ok(self.view(&inner, profile))
    }

    /// Creates (empty id) or updates a profile. `password`: `None` keeps the stored one, an empty
    /// string removes it, anything else replaces it. Changes to a running session's connection
    /// settings apply at its next connect. Returns the view and, when the keychain failed, a note.
    pub fn save(
        &self,
        mut profile: Profile,
        password: Option<String>,
    ) -> Result<(SessionView, Option<String>), SessionError> {
        profile.name = profile.name.trim().to_string();
        profile.host = profile.host.trim().to_string();
        profile.validate()?;
        let mut inner = self.lock();
        if profile.id.is_empty() {
            profile.id = loop {
                let id = random_id("s");
                if !inner.profiles.iter().any(|p| p.id == id) {
                    break id;
                }
            };
            inner.profiles.push(profile.clone());
        } else {
            let slot = inner.profile_mut(&profile.id)?;
            *slot = profile.clone();
            if let Some(running) = inner.running.get(&profile.id) {
                running.set_subscriptions(profile.subscriptions.clone());
            }
        }
        self.persist(&mut inner);
        drop(inner);
        let note = match password.as_deref() {
            None => None,
            Some("") => self.secrets.set(&profile.id, None),
            Some(p) => self.secrets.set(&profile.id, Some(p)),
        };
        let inner = self.lock();
        Ok((self.view(&inner, &profile), note))
    }

    /// Stops and forgets a session, its password included.
    pub fn delete(&self, id: &str) -> Result<(), SessionError> {
        let mut inner = self.lock();
        let before = inner.profiles.len();
        inner.profiles.retain(|p| p.id != id);
        if inner.profiles.len() == before {
            return Err(SessionError::NotFound(id.to_string()));
        }
        if let Some(running) = inner.running.remove(id) {
            // A DISCONNECT first: deleting a session is not a crash (no will).
            running.stop(true);
        }
        self.persist(&mut inner);
        drop(inner);
        self.secrets.set(id, None);
        Ok(())
    }

    /// Starts connecting a session (it keeps trying in the background; watch its state).
    /// Must be called within a tokio runtime.
    pub fn connect(&self, id: &str) -> Result<SessionView, SessionError> {
        let password = self.secrets.get(id);
        let mut inner = self.lock();
        let profile = inner.profile(id)?.clone();
        // What the broker granted before, in case it resumes the session (then only new
        // subscriptions are sent).
        let mut granted = HashMap::new();
        if let Some(running) = inner.running.get(id) {
            let over = matches!(
                running.state(),
                ConnectionState::Failed { .. } | ConnectionState::Disconnected
            );
            if !over && !running.finished() {
                return Err(SessionError::InvalidState(format!(
                    "'{}' is already connecting or connected",
                    profile.name
                )));
            }
            running.stop(false);
            granted = running.granted();
        }
        profile.validate()?;
        let running = client::start(
            profile.clone(),
            password,
            granted,
            self.traffic.clone(),
            self.dropped.clone(),
        )
        .map_err(|e| SessionError::Io(format!("opening the session's local endpoint: {e}")))?;
        inner.running.insert(id.to_string(), running);
        Ok(self.view(&inner, &profile))
    }

    /// Ends a session: with `graceful`, a DISCONNECT is sent (no will); without, the connection
    /// is just dropped, as a crashing device would (the broker publishes the will).
    pub fn disconnect(&self, id: &str, graceful: bool) -> Result<SessionView, SessionError> {
        let inner = self.lock();
        let profile = inner.profile(id)?.clone();
        if let Some(running) = inner.running.get(id) {
            running.stop(graceful);
        }
        Ok(self.view(&inner, &profile))
    }

    /// Waits until a stopped session's task has ended (tests; a clean shutdown).
    pub async fn wait_stopped(&self, id: &str) {
        loop {
            let done = self.lock().running.get(id).is_none_or(|r| r.finished());
            if done {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    fn running_client(&self, id: &str) -> Result<(Profile, Client), SessionError> {
        let inner = self.lock();
        let profile = inner.profile(id)?.clone();
        let running = inner
            .running
            .get(id)
            .filter(|r| matches!(r.state(), ConnectionState::Connected { .. }));
        match running {
            Some(r) => Ok((profile, r.client())),
            None => Err(SessionError::InvalidState(format!(
                "'{}' is not connected",
                profile.name
            ))),
        }
    }

    /// After a profile's subscriptions changed (`filter` added, changed or removed): saves them,
    /// hands them to the running session for its next reconnect, and returns its client when it
    /// is connected (to send the change now).
    fn subscriptions_changed(&self, inner: &mut Inner, id: &str, filter: &str) -> Option<Client> {
        self.persist(inner);
        let running = inner.running.get(id)?;
        if let Ok(profile) = inner.profile(id) {
            running.set_subscriptions(profile.subscriptions.clone());
        }
        running.forget_grant(filter);
        matches!(running.state(), ConnectionState::Connected { .. }).then(|| running.client())
    }

    /// Adds a subscription, or changes the one with the same filter; sent at once when connected
    /// and saved in the profile for the next connects.
    pub async fn subscribe(
        &self,
        id: &str,
        sub: Subscription,
    ) -> Result<SessionView, SessionError> {
        let (version, client) = {
            let mut inner = self.lock();
            let profile = inner.profile_mut(id)?;
            sub.validate(profile.version)?;
            match profile
                .subscriptions
                .iter_mut()
                .find(|s| s.filter == sub.filter)
            {
                Some(existing) => *existing = sub.clone(),
                None => profile.subscriptions.push(sub.clone()),
            }
            let version = profile.version;
            (
                version,
                self.subscriptions_changed(&mut inner, id, &sub.filter),
            )
        };
        if let Some(client) = client {
            client.subscribe(version, &sub).await?;
        }
        self.get(id)
    }

    /// Removes a subscription (an UNSUBSCRIBE is sent when connected).
    pub async fn unsubscribe(&self, id: &str, filter: &str) -> Result<SessionView, SessionError> {
        let client = {
            let mut inner = self.lock();
            let profile = inner.profile_mut(id)?;
            let before = profile.subscriptions.len();
            profile.subscriptions.retain(|s| s.filter != filter);
            if profile.subscriptions.len() == before {
                return Err(SessionError::NotFound(format!(
                    "{id} has no subscription '{filter}'"
                )));
            }
            self.subscriptions_changed(&mut inner, id, filter)
        };
        if let Some(client) = client {
            client.unsubscribe(filter).await?;
        }
        self.get(id)
    }

    /// Publishes a message from a connected session. Returns the payload size sent.
    pub async fn publish(&self, id: &str, request: PublishRequest) -> Result<usize, SessionError> {
        let (profile, client) = self.running_client(id)?;
        workbench_wire::topic::validate_name(&request.topic).map_err(|e| {
            SessionError::InvalidTopic {
                topic: request.topic.clone(),
                reason: e.to_string(),
            }
        })?;
        if request.qos > 2 {
            return Err(SessionError::InvalidInput(format!(
                "QoS must be 0, 1 or 2 (got {})",
                request.qos
            )));
        }
        if profile.version == MqttVersion::V311
            && request.properties != MessageProperties::default()
        {
            return Err(SessionError::InvalidInput(
                "message properties (content type, expiry, response topic, correlation data, user properties) need an MQTT 5 session".into(),
            ));
        }
        request.properties.check_lengths("message")?;
        // The smaller of this session's limit and the broker's (MQTT 5 CONNACK).
        let server_limit = self
            .lock()
            .running
            .get(id)
            .and_then(|r| r.server_max_packet());
        let limit = (profile.max_packet_size as usize).min(server_limit.unwrap_or(usize::MAX));
        let payload = request.payload.into_bytes()?;
        if request.properties.payload_is_utf8 && std::str::from_utf8(&payload).is_err() {
            return Err(SessionError::InvalidInput(
                "the payload is marked as UTF-8 text but is not valid UTF-8".into(),
            ));
        }
        let overhead = 5 + 2 + request.topic.len() + 2 + 1024;
        if payload.len() + overhead > limit {
            return Err(SessionError::InvalidInput(format!(
                "the payload is {} bytes; with the topic and header it exceeds the maximum packet size of {limit} bytes (this session's, or the broker's if smaller)",
                payload.len()
            )));
        }
        let size = payload.len();
        client
            .publish(
                profile.version,
                &request.topic,
                request.qos,
                request.retain,
                payload,
                &request.properties,
            )
            .await?;
        Ok(size)
    }

    /// Deletes retained messages on the session's broker: an empty retained QoS 1 publish to
    /// each topic. Returns how many were sent.
    pub async fn delete_retained(
        &self,
        id: &str,
        topics: &[String],
    ) -> Result<usize, SessionError> {
        for topic in topics {
            self.publish(
                id,
                PublishRequest {
                    topic: topic.clone(),
                    payload: PayloadInput::Text(String::new()),
                    qos: 1,
                    retain: true,
                    properties: MessageProperties::default(),
                },
            )
            .await?;
        }
        Ok(topics.len())
    }

    /// Stops every session (app exit).
    pub fn stop_all(&self) {
        let mut inner = self.lock();
        for (_, running) in inner.running.drain() {
            running.stop(true);
        }
    }
}
