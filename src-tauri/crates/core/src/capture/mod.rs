//! Recording, replay and the saved-message library as the app runs them (the CLI runs the same
//! `workbench_capture` pieces from `mqttwb record` and `mqttwb replay`).
//!
//! - A recording of the embedded broker is made by a subscriber of its own on the broker's
//!   loopback address (MQTT 5, `#`, retain as published), written by a
//!   [`workbench_capture::record::Recorder`] into `<config>/recordings/`.
//! - A replay goes to the embedded broker (a publishing connection of its own) or through a
//!   connected session ([`SessionSink`]), paced and controlled by
//!   [`workbench_capture::replay`]. One recording and one replay run at a time.
//! - [`import`]: a capture file imported into a source's history.
//! - [`library`]: the saved messages, sent through a session.
//! - [`pcap`]: pcap and pcapng captures opened as sources, and packet logs saved as pcapng.
//!
//! State changes reach a front end through watch channels (recording status, replay progress):
//! pushed, never polled.

pub mod import;
pub mod library;
pub mod pcap;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use workbench_capture::link::{Link, LinkOptions};
use workbench_capture::record::{RecordOptions, Recorder, RecordingStatus};
use workbench_capture::replay::{self, Control, ReplayHandle, ReplayOptions, ReplayProgress};
use workbench_capture::Message;
use workbench_session::payload::PayloadInput;
use workbench_session::profile::{MessageProperties, UserProperty};
use workbench_session::{PublishRequest, SessionManager};

use crate::error::{ErrorCode, IpcError};

/// Where a replay goes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ReplayTarget {
    /// The embedded broker.
    Broker,
    /// A connected session, by its id.
    Session { id: String },
}

/// What a recording records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordSource {
    /// What clients publish to the embedded broker listening at this address.
    Broker(std::net::SocketAddr),
    /// What the broker of this session (by id) delivers.
    Session(String),
}

/// A recording file as the UI lists it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RecordingFile {
    pub name: String,
    pub path: String,
    #[specta(type = u32)]
    pub bytes: u64,
    #[specta(type = u32)]
    pub modified_ms: u64,
}

struct Recording {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// The app's recordings, replays and saved messages.
pub struct CaptureService {
    sessions: Arc<SessionManager>,
    secrets: Arc<workbench_session::secrets::Secrets>,
    folder: Option<PathBuf>,
    recording: Mutex<Option<Recording>>,
    recording_status: watch::Sender<Option<RecordingStatus>>,
    replay: Mutex<Option<Arc<ReplayHandle>>>,
    replay_progress: watch::Sender<Option<ReplayProgress>>,
    pub saved: library::SavedMessages,
}

fn invalid(message: impl Into<String>) -> IpcError {
    IpcError::new(ErrorCode::InvalidInput, message)
}

fn state(message: impl Into<String>) -> IpcError {
    IpcError::new(ErrorCode::InvalidState, message)
}

impl CaptureService {
    /// Recordings live in `<config>/recordings/`, saved messages in `<config>`; without a
    /// config folder nothing is kept on disk (recordings then go to the system's temp folder).
    pub fn new(
        sessions: Arc<SessionManager>,
        secrets: Arc<workbench_session::secrets::Secrets>,
        config: Option<&Path>,
    ) -> CaptureService {
        let (saved, problem) = library::SavedMessages::load(config);
        if let Some(problem) = problem {
            tracing::warn!("saved messages not loaded: {problem}");
        }
        CaptureService {
            sessions,
            secrets,
            folder: config.map(|c| c.join("recordings")),
            recording: Mutex::new(None),
            recording_status: watch::channel(None).0,
            replay: Mutex::new(None),
            replay_progress: watch::channel(None).0,
            saved,
        }
    }

    /// The folder recordings are written to.
    pub fn folder(&self) -> PathBuf {
        self.folder
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("mqtt-workbench-recordings"))
    }

    /// The recordings in the folder, newest first.
    pub fn recordings(&self) -> Vec<RecordingFile> {
        let Ok(entries) = std::fs::read_dir(self.folder()) else {
            return Vec::new();
        };
        let mut files: Vec<RecordingFile> = entries
            .flatten()
            .filter_map(|entry| {
                let meta = entry.metadata().ok().filter(|m| m.is_file())?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let modified_ms = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as u64);
                Some(RecordingFile {
                    path: entry.path().display().to_string(),
                    name,
                    bytes: meta.len(),
                    modified_ms,
                })
            })
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.modified_ms));
        files
    }

    /// Recording status changes (none: no recording yet).
    pub fn recording_updates(&self) -> watch::Receiver<Option<RecordingStatus>> {
        self.recording_status.subscribe()
    }

    /// Replay progress changes (none: no replay yet).
    pub fn replay_updates(&self) -> watch::Receiver<Option<ReplayProgress>> {
        self.replay_progress.subscribe()
    }

    /// Starts recording into a new file in the recordings folder: what clients publish to the
    /// embedded broker, or what a session's broker delivers for the session's subscriptions
    /// (through a second connection made with the session's settings). `filters` narrow it
    /// (all topics, or the session's subscriptions, when empty).
    pub async fn start_recording(
        &self,
        source: RecordSource,
        filters: Vec<String>,
    ) -> Result<RecordingStatus, IpcError> {
        if self.recording_running() {
            return Err(state("a recording is already running"));
        }
        let folder = self.folder();
        workbench_session::files::create_private_dir(&folder).map_err(|e| {
            IpcError::new(
                ErrorCode::Io,
                format!("cannot create {}: {e}", folder.display()),
            )
        })?;
        let path = workbench_capture::record::default_name(&folder, crate::now_ms());
        let options = RecordOptions {
            filters: filters.clone(),
            ..RecordOptions::default()
        };
        let (mut link_options, session_filters) = match source {
            RecordSource::Broker(mut address) => {
                if address.ip().is_unspecified() {
                    address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                (LinkOptions::new(&format!("mqtt://{address}")), Vec::new())
            }
            RecordSource::Session(id) => {
                let view = self
                    .sessions
                    .get(&id)
                    .map_err(|e| IpcError::from_coded(&e))?;
                let password = self.secrets.get(&id);
                let filters = view
                    .profile
                    .subscriptions
                    .iter()
                    .map(|s| s.filter.clone())
                    .collect();
                (LinkOptions::for_profile(&view.profile, password), filters)
            }
        };
        let recorder = Recorder::create(&path, options).map_err(|e| invalid(e.to_string()))?;
        link_options.client_id = workbench_session::random_id("mqttwb-recorder-");
        let mut link = match Link::connect(&link_options).await {
            Ok(link) => link,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(IpcError::new(ErrorCode::Unreachable, e));
            }
        };
        let filters = match (filters.is_empty(), session_filters.is_empty()) {
            (false, _) => filters,
            (true, false) => session_filters,
            (true, true) => vec!["#".to_string()],
        };
        link.subscribe(&filters)
            .await
            .map_err(|e| IpcError::new(ErrorCode::Unreachable, e))?;
        let status = recorder.status();
        let _ = self.recording_status.send(Some(status.clone()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let updates = self.recording_status.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
            let mut error = None;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        let status = recorder.status();
                        let running = status.running;
                        updates.send_if_modified(|s| {
                            let changed = s.as_ref() != Some(&status);
                            *s = Some(status);
                            changed
                        });
                        if !running { break; }
                    }
                    message = link.next_message() => match message {
                        Ok(message) => { recorder.offer(message); }
                        Err(e) => { error = Some(format!("the recording's connection to the broker ended: {e}")); break; }
                    }
                }
            }
            let _ = link.finish().await;
            let mut status = recorder.stop();
            if status.error.is_none() {
                status.error = error;
            }
            let _ = updates.send(Some(status));
        });
        *self.recording.lock().unwrap_or_else(|p| p.into_inner()) = Some(Recording { stop, task });
        Ok(status)
    }

    fn recording_running(&self) -> bool {
        self.recording
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|r| !r.task.is_finished())
    }

    /// Stops the recording; returns its final status.
    pub async fn stop_recording(&self) -> Result<RecordingStatus, IpcError> {
        let recording = self
            .recording
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(recording) = recording else {
            return Err(state("no recording is running"));
        };
        let _ = recording.stop.send(());
        let _ = recording.task.await;
        self.recording_status
            .borrow()
            .clone()
            .ok_or_else(|| state("no recording is running"))
    }

    /// Starts replaying `path` to `target` (`broker`: the embedded broker's address).
    pub async fn start_replay(
        &self,
        path: &Path,
        target: ReplayTarget,
        broker: Option<std::net::SocketAddr>,
        options: ReplayOptions,
    ) -> Result<ReplayProgress, IpcError> {
        if self.replay_running() {
            return Err(state("a replay is already running: stop it first"));
        }
        options.check().map_err(invalid)?;
        let handle = match target {
            ReplayTarget::Broker => {
                let mut address =
                    broker.ok_or_else(|| state("the embedded broker is not running"))?;
                if address.ip().is_unspecified() {
                    address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                let link = Link::connect(&LinkOptions::new(&format!("mqtt://{address}")))
                    .await
                    .map_err(|e| IpcError::new(ErrorCode::Unreachable, e))?;
                replay::start(path, options, link).map_err(invalid)?
            }
            ReplayTarget::Session { id } => {
                self.sessions
                    .get(&id)
                    .map_err(|e| IpcError::from_coded(&e))?;
                let sink = SessionSink {
                    sessions: self.sessions.clone(),
                    id,
                };
                replay::start(path, options, sink).map_err(invalid)?
            }
        };
        let handle = Arc::new(handle);
        let progress = handle.progress.borrow().clone();
        let _ = self.replay_progress.send(Some(progress.clone()));
        let mut updates = handle.progress.clone();
        let forward = self.replay_progress.clone();
        tokio::spawn(async move {
            while updates.changed().await.is_ok() {
                let now = updates.borrow_and_update().clone();
                let _ = forward.send(Some(now));
            }
        });
        *self.replay.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(progress)
    }

    fn replay_running(&self) -> bool {
        self.replay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|r| !r.is_finished())
    }

    /// Pause, play, step, change the speed or stop the running replay.
    pub async fn control_replay(&self, control: Control) -> Result<(), IpcError> {
        if let Control::Speed(speed) = control {
            ReplayOptions {
                speed,
                ..ReplayOptions::default()
            }
            .check()
            .map_err(invalid)?;
        }
        let handle = self
            .replay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match handle {
            Some(handle) if handle.control(control).await => Ok(()),
            _ => Err(state("no replay is running")),
        }
    }

    /// Sends a saved message through a session.
    pub async fn send_saved(
        &self,
        collection: &str,
        message: &str,
        session: &str,
    ) -> Result<usize, IpcError> {
        let saved = self
            .saved
            .find_message(collection, message)
            .ok_or_else(|| {
                IpcError::new(ErrorCode::NotFound, "that saved message no longer exists")
            })?;
        self.sessions
            .publish(session, saved.request())
            .await
            .map_err(|e| IpcError::from_coded(&e))
    }
}

/// A replay through a connected session: each message published as the session publishes,
/// its properties carried where the session's MQTT version allows.
struct SessionSink {
    sessions: Arc<SessionManager>,
    id: String,
}

fn request(message: &Message) -> PublishRequest {
    use base64::Engine;
    let p = &message.properties;
    PublishRequest {
        topic: message.topic.clone(),
        payload: PayloadInput::Base64(
            base64::engine::general_purpose::STANDARD.encode(&message.payload),
        ),
        qos: message.qos,
        retain: message.retain,
        properties: MessageProperties {
            content_type: p.content_type.clone(),
            payload_is_utf8: p.payload_format_indicator == Some(1),
            message_expiry: p.message_expiry_interval,
            response_topic: p.response_topic.clone(),
            correlation_data: p
                .correlation_data
                .as_ref()
                .map(|c| String::from_utf8_lossy(c).into_owned()),
            user_properties: p
                .user_properties
                .iter()
                .map(|(key, value)| UserProperty {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
            will_delay: None,
        },
    }
}

impl replay::Sink for SessionSink {
    async fn send(&mut self, message: &Message, _buffer: bool) -> Result<(), String> {
        let mut publish = request(message);
        let v5 = self
            .sessions
            .get(&self.id)
            .map(|s| s.profile.version == workbench_session::MqttVersion::V5)
            .unwrap_or(false);
        if !v5 {
            publish.properties = MessageProperties::default();
        }
        self.sessions
            .publish(&self.id, publish)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn serve(&mut self, until: tokio::time::Instant) -> Result<(), String> {
        tokio::time::sleep_until(until).await;
        Ok(())
    }

    async fn finish(self) -> Result<(), String> {
        Ok(())
    }
}
