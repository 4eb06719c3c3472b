//! [`AmqpService`]: the app's AMQP sessions. Profiles (file and keychain), one connection per
//! connected profile with its traffic fed to the hub's session channel, the operations a user
//! runs on it, its consumers, the lost connection pushed (the crate's `on_connection_lost`, no
//! polling), Hello World, and the management API for the queue view.
//!
//! Locks: the profile and state table is a plain mutex, never held across an await. A
//! connection is behind a read-write lock: operations share it, disconnecting takes it alone
//! (waiting for operations in flight, each bounded by the session's time limit).

use super::consumers::{Command, ConsumerHandle};
use super::notices::{AmqpNotice, Notices};
use super::profiles::{self, AMQP_PROFILES_FILE};
use super::{ipc_error, AmqpFailure, AmqpProfile, AmqpSessionView, AmqpState};
use crate::error::{ErrorCode, IpcError};
use crate::hub::TrafficHub;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, OwnedRwLockReadGuard, RwLock};
use workbench_amqp::{AmqpError, AmqpOptions, AmqpSession, AmqpTarget, ManagementApi, TrafficSink};
use workbench_secrets::Secrets;
use workbench_session::SessionTraffic;
use workbench_traffic::SourceId;

/// The largest CA file read for `amqps://`.
const MAX_CA_FILE: usize = 1024 * 1024;

/// The keychain entry of a profile's password.
pub fn secret_key(id: &str) -> String {
    format!("amqp:{id}")
}

pub(super) type SessionRef = OwnedRwLockReadGuard<Option<AmqpSession>, AmqpSession>;

/// One open connection.
pub(super) struct Live {
    pub(super) session: Arc<RwLock<Option<AmqpSession>>>,
    pub(super) consumers: Mutex<HashMap<String, ConsumerHandle>>,
}

impl Live {
    pub(super) fn consumers(&self) -> std::sync::MutexGuard<'_, HashMap<String, ConsumerHandle>> {
        self.consumers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels the consumers and closes the connection (politely, when it is still open).
    async fn close(&self) {
        let handles: Vec<ConsumerHandle> = self.consumers().drain().map(|(_, h)| h).collect();
        for h in handles {
            let (reply, answer) = oneshot::channel();
            if h.commands.send(Command::Cancel { reply }).await.is_ok() {
                let _ = answer.await;
            }
            let _ = h.task.await;
        }
        let session = self.session.write().await.take();
        if let Some(s) = session {
            if let Err(e) = s.close().await {
                tracing::debug!(error = %e, "closing an AMQP session");
            }
        }
    }
}

struct Slot {
    state: AmqpState,
    live: Option<Arc<Live>>,
    /// Bumped by every connect and disconnect: a late answer to an older one is ignored.
    generation: u64,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            state: AmqpState::Disconnected,
            live: None,
            generation: 0,
        }
    }
}

struct Table {
    profiles: Vec<AmqpProfile>,
    read_only: bool,
    note: Option<String>,
    slots: HashMap<String, Slot>,
}

pub(super) struct Shared {
    path: Option<PathBuf>,
    secrets: Arc<Secrets>,
    traffic: mpsc::Sender<SessionTraffic>,
    hub: Arc<TrafficHub>,
    pub(super) notices: Arc<Notices>,
    table: Mutex<Table>,
}

/// The app's AMQP sessions (one per app).
pub struct AmqpService {
    pub(super) shared: Arc<Shared>,
}

fn not_found(id: &str) -> IpcError {
    IpcError::new(
        ErrorCode::NotFound,
        format!("there is no AMQP session \"{id}\""),
    )
}

fn not_connected(id: &str) -> IpcError {
    IpcError::new(
        ErrorCode::InvalidState,
        format!("the AMQP session \"{id}\" is not connected: connect it first"),
    )
}

impl Shared {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_state(&self, table: &mut Table, id: &str, state: AmqpState) {
        table.slots.entry(id.to_string()).or_default().state = state.clone();
        self.notices.session(id, state);
    }

    /// The connection was lost (called from the connection's watch).
    fn lost(&self, id: &str, generation: u64, error: AmqpError) {
        let live = {
            let mut table = self.table();
            let Some(slot) = table.slots.get_mut(id) else {
                return;
            };
            if slot.generation != generation || slot.live.is_none() {
                return;
            }
            let live = slot.live.take();
            self.set_state(&mut table, id, AmqpState::Lost(AmqpFailure::from(&error)));
            live
        };
        tracing::info!(session = id, error = %error, "AMQP session lost");
        // The consumers end with the session's reason.
        if let Some(live) = live {
            for (_, h) in live.consumers().drain() {
                let failure = AmqpFailure::from(&error);
                let _ = h.commands.try_send(Command::Lost { failure });
            }
            tokio::spawn(async move { live.session.write().await.take() });
        }
    }
}

impl AmqpService {
    /// Loads the profiles from `config` (none: nothing is saved, as in tests). `traffic` is the
    /// hub's session channel; `hub` forgets a deleted session's traffic.
    pub fn new(
        config: Option<&Path>,
        secrets: Arc<Secrets>,
        traffic: mpsc::Sender<SessionTraffic>,
        hub: Arc<TrafficHub>,
    ) -> AmqpService {
        let path = config.map(|d| d.join(AMQP_PROFILES_FILE));
        let loaded = path.as_deref().map(profiles::load).unwrap_or_default();
        if let Some(note) = &loaded.note {
            tracing::warn!("{note}");
        }
        AmqpService {
            shared: Arc::new(Shared {
                path,
                secrets,
                traffic,
                hub,
                notices: Arc::new(Notices::default()),
                table: Mutex::new(Table {
                    profiles: loaded.profiles,
                    read_only: loaded.read_only,
                    note: loaded.note,
                    slots: HashMap::new(),
                }),
            }),
        }
    }

    /// What the user should know about the profiles file (broken and kept aside, unreadable).
    pub fn note(&self) -> Option<String> {
        self.shared.table().note.clone()
    }

    /// Everything the user should know about where AMQP profiles and passwords are kept: the
    /// profiles file's note, and why passwords are kept for this session only (no keychain).
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self.note().into_iter().collect();
        if let Some(reason) = self.shared.secrets.reason() {
            notes.push(format!(
                "passwords are kept until the app quits, not in a keychain: {reason}"
            ));
        }
        notes
    }

    /// Waits for changes to push (see [`Notices::next`]).
    pub async fn next_notices(&self, settle: Duration) -> Vec<AmqpNotice> {
        self.shared.notices.next(settle).await
    }

    fn row(table: &Table, profile: &AmqpProfile) -> (AmqpProfile, AmqpState) {
        let state = table.slots.get(&profile.id).map(|s| s.state.clone());
        (profile.clone(), state.unwrap_or(AmqpState::Disconnected))
    }

    /// The view of a row, asking the keychain (never under the table's lock: it may be slow).
    fn view_of(&self, (profile, state): (AmqpProfile, AmqpState)) -> AmqpSessionView {
        AmqpSessionView {
            has_password: self.shared.secrets.has(&secret_key(&profile.id)),
            profile,
            state,
        }
    }

    /// Every profile with its state.
    pub fn profiles(&self) -> Vec<AmqpSessionView> {
        let rows: Vec<_> = {
            let table = self.shared.table();
            table
                .profiles
                .iter()
                .map(|p| Self::row(&table, p))
                .collect()
        };
        rows.into_iter().map(|row| self.view_of(row)).collect()
    }

    /// One profile with its state.
    pub fn view(&self, id: &str) -> Result<AmqpSessionView, IpcError> {
        let row = {
            let table = self.shared.table();
            let profile = table.profiles.iter().find(|p| p.id == id);
            Self::row(&table, profile.ok_or_else(|| not_found(id))?)
        };
        Ok(self.view_of(row))
    }

    fn persist(&self, table: &Table) -> Result<(), IpcError> {
        let Some(path) = &self.shared.path else {
            return Ok(());
        };
        if table.read_only {
            return Err(IpcError::new(
                ErrorCode::Io,
                format!(
                    "the AMQP profiles are not saved: {}",
                    table.note.clone().unwrap_or_default()
                ),
            ));
        }
        profiles::save(path, &table.profiles)
    }

    /// Saves a profile (id "" = new: an `amqp-…` id is assigned). A password in the URL is moved
    /// to the keychain; `password`: `None` keeps the stored one (or the URL's), `""` forgets it.
    pub fn save_profile(
        &self,
        profile: AmqpProfile,
        password: Option<String>,
    ) -> Result<AmqpSessionView, IpcError> {
        let mut profile = profiles::check(profile)?;
        let (url, from_url) = profiles::split_password(&profile.url).map_err(|e| ipc_error(&e))?;
        profile.url = url;
        let mut table = self.shared.table();
        let before = table.profiles.clone();
        if profile.id.is_empty() {
            loop {
                let id = workbench_session::random_id("amqp-");
                if !table.profiles.iter().any(|p| p.id == id) {
                    profile.id = id;
                    break;
                }
            }
            table.profiles.push(profile.clone());
        } else {
            let slot = table
                .profiles
                .iter_mut()
                .find(|p| p.id == profile.id)
                .ok_or_else(|| not_found(&profile.id))?;
            *slot = profile.clone();
        }
        if let Err(e) = self.persist(&table) {
            table.profiles = before;
            return Err(e);
        }
        drop(table);
        let key = secret_key(&profile.id);
        let warning = match password.or(from_url) {
            Some(p) if p.is_empty() => self.shared.secrets.set(&key, None),
            Some(p) => self.shared.secrets.set(&key, Some(&p)),
            None => None,
        };
        if let Some(w) = warning {
            tracing::warn!("{w}");
        }
        self.view(&profile.id)
    }

    /// Deletes a profile: disconnects it, forgets its password and its traffic.
    pub async fn delete_profile(&self, id: &str) -> Result<(), IpcError> {
        self.profile(id)?;
        self.disconnect(id).await?;
        {
            let mut table = self.shared.table();
            let before = table.profiles.clone();
            table.profiles.retain(|p| p.id != id);
            if let Err(e) = self.persist(&table) {
                table.profiles = before;
                return Err(e);
            }
            table.slots.remove(id);
        }
        self.shared.secrets.set(&secret_key(id), None);
        self.shared.hub.remove(&SourceId::Session(id.to_string()));
        Ok(())
    }

    /// The profile's URL with its password (from the keychain, else the URL's defaults).
    fn target(&self, profile: &AmqpProfile) -> Result<AmqpTarget, IpcError> {
        let target = AmqpTarget::parse(&profile.url).map_err(|e| ipc_error(&e))?;
        Ok(match self.shared.secrets.get(&secret_key(&profile.id)) {
            Some(p) => target.with_password(p),
            None => target,
        })
    }

    fn profile(&self, id: &str) -> Result<AmqpProfile, IpcError> {
        self.shared
            .table()
            .profiles
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    /// Connects a profile. Its traffic goes to the hub as the source `SourceId::Session(id)`.
    pub async fn connect(&self, id: &str) -> Result<AmqpSessionView, IpcError> {
        let profile = self.profile(id)?;
        let generation = {
            let mut table = self.shared.table();
            let slot = table.slots.entry(id.to_string()).or_default();
            match slot.state {
                AmqpState::Connected => {
                    drop(table);
                    return self.view(id);
                }
                AmqpState::Connecting => {
                    return Err(IpcError::new(
                        ErrorCode::InvalidState,
                        format!("\"{}\" is connecting already", profile.name),
                    ))
                }
                _ => {}
            }
            slot.generation += 1;
            let generation = slot.generation;
            self.shared.set_state(&mut table, id, AmqpState::Connecting);
            generation
        };
        let failed = |e: IpcError| {
            let mut table = self.shared.table();
            if table.slots.get(id).map(|s| s.generation) == Some(generation) {
                self.shared
                    .set_state(&mut table, id, AmqpState::Disconnected);
            }
            e
        };
        let target = self.target(&profile).map_err(failed)?;
        let ca_pem = match &profile.ca_file {
            Some(file) => Some(
                workbench_session::files::read_text_bounded(Path::new(file), MAX_CA_FILE).map_err(
                    |e| {
                        failed(IpcError::new(
                            ErrorCode::Tls,
                            format!("the CA file of \"{}\": {e}", profile.name),
                        ))
                    },
                )?,
            ),
            None => None,
        };
        let options = AmqpOptions {
            connection_name: format!("MQTT Workbench ({})", profile.name),
            ca_pem,
            ..AmqpOptions::default()
        };
        let sink = TrafficSink {
            session: Arc::from(id),
            events: self.shared.traffic.clone(),
        };
        let session = AmqpSession::connect(&target, options, Some(sink))
            .await
            .map_err(|e| failed(ipc_error(&e)))?;
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let lost_id = id.to_string();
        session.on_connection_lost(move |error| {
            if let Some(shared) = weak.upgrade() {
                shared.lost(&lost_id, generation, error);
            }
        });
        let live = Arc::new(Live {
            session: Arc::new(RwLock::new(Some(session))),
            consumers: Mutex::new(HashMap::new()),
        });
        let stale = {
            let mut table = self.shared.table();
            match table.slots.get_mut(id) {
                Some(slot) if slot.generation == generation => {
                    slot.live = Some(live.clone());
                    self.shared.set_state(&mut table, id, AmqpState::Connected);
                    false
                }
                _ => true,
            }
        };
        if stale {
            // Disconnected (or deleted) while connecting.
            live.close().await;
            return Err(IpcError::new(
                ErrorCode::InvalidState,
                format!("\"{}\" was disconnected while it connected", profile.name),
            ));
        }
        self.view(id)
    }

    /// Disconnects a profile: cancels its consumers (their unsettled deliveries go back to their
    /// queues) and closes the connection. Nothing to do when it is not connected.
    pub async fn disconnect(&self, id: &str) -> Result<(), IpcError> {
        let live = {
            let mut table = self.shared.table();
            let Some(slot) = table.slots.get_mut(id) else {
                return Ok(());
            };
            slot.generation += 1;
            let live = slot.live.take();
            if slot.state != AmqpState::Disconnected {
                self.shared
                    .set_state(&mut table, id, AmqpState::Disconnected);
            }
            live
        };
        if let Some(live) = live {
            live.close().await;
        }
        Ok(())
    }

    pub(super) fn live(&self, id: &str) -> Result<Arc<Live>, IpcError> {
        let table = self.shared.table();
        if !table.profiles.iter().any(|p| p.id == id) {
            return Err(not_found(id));
        }
        table
            .slots
            .get(id)
            .and_then(|s| s.live.clone())
            .ok_or_else(|| not_connected(id))
    }

    pub(super) async fn session(&self, id: &str) -> Result<SessionRef, IpcError> {
        let live = self.live(id)?;
        let guard = live.session.clone().read_owned().await;
        OwnedRwLockReadGuard::try_map(guard, |s| s.as_ref()).map_err(|_| not_connected(id))
    }

    /// The management API of a profile (its host, the management port, its user and password)
    /// and its vhost, for the queue view. Needs no connection.
    pub async fn management(&self, id: &str) -> Result<(ManagementApi, String), IpcError> {
        let profile = self.profile(id)?;
        let port = profile.management_port.ok_or_else(|| {
            IpcError::new(
                ErrorCode::InvalidState,
                format!(
                    "\"{}\" has no management port: set one in the profile (RabbitMQ's is 15672)",
                    profile.name
                ),
            )
        })?;
        let target = self.target(&profile)?;
        Ok((ManagementApi::for_target(&target, port), target.vhost))
    }

    /// Closes every session within `deadline`; returns how many were still closing then.
    pub async fn shutdown(&self, deadline: Duration) -> usize {
        let lives: Vec<Arc<Live>> = {
            let mut table = self.shared.table();
            let lives = table
                .slots
                .values_mut()
                .filter_map(|s| {
                    s.generation += 1;
                    s.state = AmqpState::Disconnected;
                    s.live.take()
                })
                .collect();
            lives
        };
        let count = lives.len();
        let all = futures_join(lives);
        match tokio::time::timeout(deadline, all).await {
            Ok(()) => 0,
            Err(_) => count,
        }
    }
}

async fn futures_join(lives: Vec<Arc<Live>>) {
    let mut set = tokio::task::JoinSet::new();
    for live in lives {
        set.spawn(async move { live.close().await });
    }
    while set.join_next().await.is_some() {}
}
