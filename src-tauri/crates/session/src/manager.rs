//! The session manager: every profile (saved), its password (keychain) and its running
//! connection; what the IPC and the CLI call to connect, publish and subscribe.

use crate::client::{self, Client, Running};
use crate::payload::PayloadInput;
use crate::profile::MessageProperties;
use crate::secrets::Secrets;
use crate::{
    random_id, source_id, ConnectionState, MqttVersion, Profile, PublishRequest, SessionError,
    SessionTraffic, SessionView, SessionsOverview, Subscription, SubscriptionStatus,
};
use crate::{store, words, SessionSubscription};
use std::collections::HashMap;

mod app_session;
pub use app_session::{is_app_session, APP_CLIENT_ID, APP_SESSION_ID};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// Every session: profiles (saved), passwords (keychain) and running connections.
/// Told when something the UI shows of the sessions changed (a state, a subscription's answer,
/// a profile): the app pushes the new list instead of the UI polling for it.
pub type OnChange = Arc<dyn Fn() + Send + Sync>;

pub struct SessionManager {
    inner: Mutex<Inner>,
    on_change: std::sync::RwLock<Option<OnChange>>,
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
    /// The app's own session's password on the embedded broker (made for this run, never
    /// stored): see [`app_session`].
    app_password: Option<String>,
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
            on_change: std::sync::RwLock::new(None),
            inner: Mutex::new(Inner {
                profiles,
                running: HashMap::new(),
                warning,
                app_password: None,
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

    /// Sets what is told of changes (sessions started later tell it too).
    pub fn set_on_change(&self, on_change: OnChange) {
        *self.on_change.write().unwrap_or_else(|p| p.into_inner()) = Some(on_change);
    }

    fn on_change(&self) -> Option<OnChange> {
        self.on_change
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn notify(&self) {
        if let Some(on_change) = self.on_change() {
            on_change();
        }
    }

    /// Traffic batches dropped because the model fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn persist(&self, inner: &mut Inner) {
        if let Some(path) = &self.path {
            // The app's own session is made by the app at each start, never saved.
            let saved: Vec<Profile> = inner
                .profiles
                .iter()
                .filter(|p| !is_app_session(&p.id))
                .cloned()
                .collect();
            inner.warning = store::save(path, &saved).err().map(|e| e.to_string());
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
            app_session: is_app_session(&profile.id),
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
        let view = self.view(&inner, &profile);
        drop(inner);
        self.notify();
        Ok((view, note))
    }

    /// Stops and forgets a session, its password included.
    pub fn delete(&self, id: &str) -> Result<(), SessionError> {
        if is_app_session(id) {
            return Err(SessionError::InvalidState(
                "the app's own session cannot be deleted: it is there while the broker runs"
                    .to_string(),
            ));
        }
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
        self.notify();
        Ok(())
    }

    /// Starts connecting a session (it keeps trying in the background; watch its state).
    /// Must be called within a tokio runtime.
    pub fn connect(&self, id: &str) -> Result<SessionView, SessionError> {
        // Read before the lock: the keychain may take its time.
        let app = app_session::is_app_session(id);
        let stored = if app { None } else { self.secrets.get(id) };
        let mut inner = self.lock();
        let password = if app {
            inner.app_password.clone()
        } else {
            stored
        };
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
            self.on_change(),
        )
        .map_err(|e| SessionError::Io(format!("opening the session's local endpoint: {e}")))?;
        inner.running.insert(id.to_string(), running);
        let view = self.view(&inner, &profile);
        drop(inner);
        self.notify();
        Ok(view)
    }

    /// Ends a session: with `graceful`, a DISCONNECT is sent (no will); without, the connection
    /// is just dropped, as a crashing device would (the broker publishes the will).
    pub fn disconnect(&self, id: &str, graceful: bool) -> Result<SessionView, SessionError> {
        let inner = self.lock();
        let profile = inner.profile(id)?.clone();
        if let Some(running) = inner.running.get(id) {
            running.stop(graceful);
        }
        let view = self.view(&inner, &profile);
        drop(inner);
        self.notify();
        Ok(view)
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
        self.notify();
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
        self.notify();
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

    /// Stops every session (app exit) without waiting.
    pub fn stop_all(&self) {
        let mut inner = self.lock();
        for (_, running) in inner.running.drain() {
            running.stop(true);
        }
    }

    /// Ends every session as the app quits: each connected one sends DISCONNECT (so no will is
    /// published), and their tasks end; waits at most `deadline`. Returns how many sessions had
    /// not ended by then.
    pub async fn shutdown(&self, deadline: std::time::Duration) -> usize {
        let ids: Vec<String> = {
            let inner = self.lock();
            for running in inner.running.values() {
                running.stop(true);
            }
            inner.running.keys().cloned().collect()
        };
        let all = async {
            for id in &ids {
                self.wait_stopped(id).await;
            }
        };
        let _ = tokio::time::timeout(deadline, all).await;
        let inner = self.lock();
        ids.iter()
            .filter(|id| inner.running.get(*id).is_some_and(|r| !r.finished()))
            .count()
    }
}
