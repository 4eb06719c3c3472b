//! A capture file (a recording or a peer's export: anything `workbench_capture::formats`
//! reads) imported into a source's history, so its topics, messages and payload views show it
//! as if it had arrived. Each message keeps its own time (now, when its file gave none) and is
//! marked as imported by its client id. Read as a stream and ingested in batches: memory stays
//! within the model's own bounds whatever the file's size; entries that cannot be read are
//! counted and reported with their line numbers.

use crate::error::{ErrorCode, IpcError};
use crate::hub::TrafficHub;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use workbench_capture::formats::{open_file, Entry, ImportOptions};
use workbench_capture::{Message, Problems};
use workbench_traffic::SourceId;
use workbench_wire::{Direction, PacketEvent, PacketKind, PacketSummary};

/// Messages ingested under one hold of the hub's lock.
const BATCH: usize = 512;

/// What an import did.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// The format recognised, in words.
    pub format: String,
    #[specta(type = u32)] // a plain number in TypeScript
    pub messages: u64,
    pub problems: Problems,
}

fn event(message: Message, client: &Arc<str>) -> PacketEvent {
    let time_ms = message.time_ms.unwrap_or_else(crate::now_ms);
    let mut summary = PacketSummary::new(
        PacketKind::Publish,
        message.payload.len() + message.topic.len() + 5,
    );
    summary.qos = message.qos;
    summary.retain = message.retain;
    summary.payload_len = message.payload.len();
    summary.topic = Some(message.topic);
    summary.payload = Some(message.payload);
    PacketEvent {
        connection: 0,
        client_id: client.clone(),
        remote: None,
        direction: Direction::Inbound,
        summary,
        time: UNIX_EPOCH + Duration::from_millis(time_ms),
    }
}

/// Imports the file at `path` into `source`'s history (blocking: call it off the runtime).
pub fn import_into(
    hub: &TrafficHub,
    source: &SourceId,
    path: &Path,
) -> Result<ImportSummary, IpcError> {
    let (format, entries, _) = open_file(path, None, &ImportOptions::default())
        .map_err(|e| IpcError::new(ErrorCode::Io, e.to_string()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let client: Arc<str> = Arc::from(format!("imported: {name}"));
    let mut summary = ImportSummary {
        format: format.describe().to_string(),
        messages: 0,
        problems: Problems::default(),
    };
    let mut batch = Vec::with_capacity(BATCH);
    let flush = |batch: &mut Vec<PacketEvent>| {
        if !batch.is_empty() {
            hub.with_source(source, |model| {
                for event in batch.drain(..) {
                    model.ingest(event);
                }
            });
        }
    };
    for entry in entries {
        match entry {
            Entry::Message(message) => {
                batch.push(event(message, &client));
                summary.messages += 1;
                if batch.len() >= BATCH {
                    flush(&mut batch);
                }
            }
            Entry::Problem(problem) => summary.problems.add(problem.line, problem.reason),
        }
    }
    flush(&mut batch);
    Ok(summary)
}
