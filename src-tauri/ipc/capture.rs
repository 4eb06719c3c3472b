//! Capture commands: recording the embedded broker, replaying a recording (or a peer's export)
//! to the broker or through a session with pause, step and speed, and the saved-message
//! library. Status and progress are pushed over the `Channel` each start command is given.
//! Bodies are calls into [`workbench_core::capture`].

use super::IpcError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tauri::ipc::Channel;
use workbench_capture::pcap::ReadOptions;
use workbench_capture::record::RecordingStatus;
use workbench_capture::replay::{Control, ReplayOptions, ReplayProgress};
use workbench_core::broker::service::BrokerService;
use workbench_core::capture::import::{import_into, ImportSummary};
use workbench_core::capture::library::{Library, SavedMessage};
use workbench_core::capture::pcap::{export_pcapng, open_capture, OpenedCapture, PcapExport};
use workbench_core::capture::{CaptureService, RecordSource, RecordingFile, ReplayTarget};
use workbench_core::error::ErrorCode;
use workbench_core::hub::TrafficHub;
use workbench_traffic::SourceId;

type Capture<'a> = tauri::State<'a, Arc<CaptureService>>;
type Broker<'a> = tauri::State<'a, Arc<BrokerService>>;

/// The recordings folder and the files in it, newest first.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Recordings {
    pub folder: String,
    pub files: Vec<RecordingFile>,
}

#[tauri::command]
#[specta::specta]
pub fn capture_recordings(capture: Capture<'_>) -> Recordings {
    Recordings {
        folder: capture.folder().display().to_string(),
        files: capture.recordings(),
    }
}

fn broker_address(broker: &BrokerService) -> Result<std::net::SocketAddr, IpcError> {
    (*broker.listening().borrow()).ok_or_else(|| {
        IpcError::new(
            ErrorCode::InvalidState,
            "the embedded broker is not running",
        )
    })
}

/// Starts recording `source`: what clients publish to the embedded broker, or what a session's
/// broker delivers for its subscriptions (`filters`: narrower, when given); its size and count
/// are pushed on `status` until it stops.
#[tauri::command(async)]
#[specta::specta]
pub async fn capture_record_start(
    capture: Capture<'_>,
    broker: Broker<'_>,
    source: SourceId,
    filters: Vec<String>,
    status: Channel<RecordingStatus>,
) -> Result<RecordingStatus, IpcError> {
    let source = match source {
        SourceId::Broker => RecordSource::Broker(broker_address(&broker)?),
        SourceId::Session(id) => RecordSource::Session(id),
        other => {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                format!("{other} cannot be recorded: record the embedded broker or a session"),
            ))
        }
    };
    let started = capture.start_recording(source, filters).await?;
    let mut updates = capture.recording_updates();
    tauri::async_runtime::spawn(async move {
        while updates.changed().await.is_ok() {
            let now = updates.borrow_and_update().clone();
            if let Some(now) = now {
                let running = now.running;
                if status.send(now).is_err() || !running {
                    return;
                }
            }
        }
    });
    Ok(started)
}

#[tauri::command(async)]
#[specta::specta]
pub async fn capture_record_stop(capture: Capture<'_>) -> Result<RecordingStatus, IpcError> {
    capture.stop_recording().await
}

/// How to replay, as the panel sets it.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReplaySettings {
    /// 0.1 to 100; 0: as fast as possible.
    pub speed: f64,
    pub looped: bool,
    pub filters: Vec<String>,
    pub rewrite_from: Option<String>,
    pub rewrite_to: Option<String>,
    /// Seconds after the first message.
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    pub paused: bool,
}

impl ReplaySettings {
    fn options(self) -> ReplayOptions {
        let ms = |s: Option<f64>| {
            s.filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| (s * 1000.0) as u64)
        };
        ReplayOptions {
            speed: self.speed,
            looped: self.looped,
            filters: self
                .filters
                .into_iter()
                .filter(|f| !f.trim().is_empty())
                .collect(),
            rewrite: match (self.rewrite_from, self.rewrite_to) {
                (Some(from), Some(to)) if !from.is_empty() => Some((from, to)),
                _ => None,
            },
            from_ms: ms(self.start_s),
            to_ms: ms(self.end_s),
            start_paused: self.paused,
            ..ReplayOptions::default()
        }
    }
}

/// Starts replaying the file at `path` to `target`; progress is pushed on `progress`.
#[tauri::command(async)]
#[specta::specta]
pub async fn capture_replay_start(
    capture: Capture<'_>,
    broker: Broker<'_>,
    path: String,
    target: ReplayTarget,
    settings: ReplaySettings,
    progress: Channel<ReplayProgress>,
) -> Result<ReplayProgress, IpcError> {
    let address = (*broker.listening().borrow()).filter(|_| target == ReplayTarget::Broker);
    let started = capture
        .start_replay(
            std::path::Path::new(&path),
            target,
            address,
            settings.options(),
        )
        .await?;
    let mut updates = capture.replay_updates();
    tauri::async_runtime::spawn(async move {
        while updates.changed().await.is_ok() {
            let now = updates.borrow_and_update().clone();
            if let Some(now) = now {
                use workbench_capture::replay::ReplayState;
                let over = !matches!(now.state, ReplayState::Playing | ReplayState::Paused);
                if progress.send(now).is_err() || over {
                    return;
                }
            }
        }
    });
    Ok(started)
}

/// What the panel's buttons tell a running replay.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ReplayCommand {
    Play,
    Pause,
    Step,
    Stop,
    Speed { value: f64 },
}

#[tauri::command(async)]
#[specta::specta]
pub async fn capture_replay_control(
    capture: Capture<'_>,
    command: ReplayCommand,
) -> Result<(), IpcError> {
    capture
        .control_replay(match command {
            ReplayCommand::Play => Control::Play,
            ReplayCommand::Pause => Control::Pause,
            ReplayCommand::Step => Control::Step,
            ReplayCommand::Stop => Control::Stop,
            ReplayCommand::Speed { value } => Control::Speed(value),
        })
        .await
}

fn invalid(message: String) -> IpcError {
    IpcError::new(ErrorCode::InvalidInput, message)
}

#[tauri::command]
#[specta::specta]
pub fn capture_library(capture: Capture<'_>) -> Library {
    capture.saved.library()
}

#[tauri::command(async)]
#[specta::specta]
pub fn capture_collection_add(capture: Capture<'_>, name: String) -> Result<Library, IpcError> {
    capture.saved.add_collection(&name).map_err(invalid)
}

#[tauri::command(async)]
#[specta::specta]
pub fn capture_collection_delete(
    capture: Capture<'_>,
    collection: String,
) -> Result<Library, IpcError> {
    capture
        .saved
        .delete_collection(&collection)
        .map_err(invalid)
}

/// Saves a message into a collection (replacing the one with its id).
#[tauri::command(async)]
#[specta::specta]
pub fn capture_message_save(
    capture: Capture<'_>,
    collection: String,
    message: SavedMessage,
) -> Result<Library, IpcError> {
    capture
        .saved
        .save_message(&collection, message)
        .map_err(invalid)
}

#[tauri::command(async)]
#[specta::specta]
pub fn capture_message_delete(
    capture: Capture<'_>,
    collection: String,
    message: String,
) -> Result<Library, IpcError> {
    capture
        .saved
        .delete_message(&collection, &message)
        .map_err(invalid)
}

/// Moves a message to `index` within its collection (dragged).
#[tauri::command(async)]
#[specta::specta]
pub fn capture_message_move(
    capture: Capture<'_>,
    collection: String,
    message: String,
    index: u32,
) -> Result<Library, IpcError> {
    capture
        .saved
        .move_message(&collection, &message, index as usize)
        .map_err(invalid)
}

/// Sends a saved message through a session; returns the bytes sent.
#[tauri::command(async)]
#[specta::specta]
pub async fn capture_message_send(
    capture: Capture<'_>,
    collection: String,
    message: String,
    session: String,
) -> Result<u32, IpcError> {
    capture
        .send_saved(&collection, &message, &session)
        .await
        .map(|bytes| bytes as u32)
}

/// The whole library as one file's text (the panel saves it to Downloads).
#[tauri::command]
#[specta::specta]
pub fn capture_library_export(capture: Capture<'_>) -> String {
    capture.saved.export_text()
}

/// Adds the collections of a library file's text; returns the library and how many messages
/// were added.
#[tauri::command(async)]
#[specta::specta]
pub fn capture_library_import(
    capture: Capture<'_>,
    text: String,
) -> Result<(Library, u32), IpcError> {
    capture
        .saved
        .import_text(&text)
        .map(|(library, added)| (library, added as u32))
        .map_err(invalid)
}

/// Imports a capture file (a recording or a peer's export) into a source's history.
#[tauri::command(async)]
#[specta::specta]
pub async fn capture_import(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: SourceId,
    path: String,
) -> Result<ImportSummary, IpcError> {
    let hub = hub.inner().clone();
    // A file of any size is read here: off the async runtime.
    tauri::async_runtime::spawn_blocking(move || {
        import_into(&hub, &source, std::path::Path::new(&path))
    })
    .await
    .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?
}

/// Opens a pcap or pcapng capture (tcpdump on port 1883, Wireshark) as a source of its own: its
/// MQTT packets in the packet log, sequence diagram and topic tree. `ports` names the broker's
/// ports for connections the capture caught after their CONNECT (1883 when empty).
#[tauri::command(async)]
#[specta::specta]
pub async fn capture_open_pcap(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    path: String,
    ports: Vec<u16>,
) -> Result<OpenedCapture, IpcError> {
    let hub = hub.inner().clone();
    let mut options = ReadOptions::default();
    if !ports.is_empty() {
        options.server_ports = ports;
    }
    // A capture of any size is read here: off the async runtime.
    tauri::async_runtime::spawn_blocking(move || {
        open_capture(&hub, std::path::Path::new(&path), &options)
    })
    .await
    .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?
}

/// Closes an opened capture: its source and what it held are gone.
#[tauri::command]
#[specta::specta]
pub fn capture_close_pcap(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: SourceId,
) -> Result<(), IpcError> {
    if !matches!(source, SourceId::Capture(_)) {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            format!("{source} is not an opened capture"),
        ));
    }
    hub.remove(&source);
    Ok(())
}

/// Saves a source's packet log (what passes the packet view's filters, oldest first) as pcapng
/// into the Downloads folder, for Wireshark and tshark.
#[tauri::command(async)]
#[specta::specta]
pub fn capture_export_pcapng(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    broker: Broker<'_>,
    source: SourceId,
    client: String,
    kind: Option<workbench_wire::PacketKind>,
) -> Result<PcapExport, IpcError> {
    let server = match &source {
        SourceId::Session(_) => None,
        SourceId::Broker => (*broker.listening().borrow()).or(Some(DEFAULT_SERVER)),
        // A proxy's id is its listening port.
        SourceId::Proxy(port) => Some(port.parse().map_or(DEFAULT_SERVER, |port| {
            std::net::SocketAddr::new(DEFAULT_SERVER.ip(), port)
        })),
        // The log names each client's address; the server's is not kept for a capture.
        SourceId::Capture(_) => Some(DEFAULT_SERVER),
    };
    export_pcapng(&hub, &source, server, &client, kind)
}

/// The server end written for a log that does not know its own address.
const DEFAULT_SERVER: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1883);
