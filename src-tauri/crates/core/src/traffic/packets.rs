//! The packet log as the packet view lists it: pages of the newest packets that pass the view's
//! filters, and exports of the whole log as JSON Lines into the Downloads folder.

use crate::error::{ErrorCode, IpcError};
use crate::hub::TrafficHub;
use serde::Serialize;
use workbench_traffic::SourceId;
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// One packet of the packet log, as the packet view lists it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PacketRow {
    #[specta(type = u32)]
    pub time_ms: f64,
    pub direction: Direction,
    pub client_id: String,
    pub remote: Option<String>,
    pub kind: PacketKind,
    pub packet_id: Option<u16>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    /// The topic of a PUBLISH, or the (first) filter of a SUBSCRIBE or UNSUBSCRIBE.
    pub topic: Option<String>,
    pub payload_len: u32,
    pub size: u32,
    /// The return or reason code of a CONNACK, PUBACK, SUBACK, DISCONNECT...
    pub reason: Option<u8>,
    /// Decoded fields beyond these (client id, options, MQTT 5 properties), where known.
    pub fields: Vec<PacketField>,
}

/// One decoded field of a packet: its name as the specification writes it, and its value.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PacketField {
    pub name: String,
    pub value: String,
}

/// The newest packets of a source's log that pass the filters.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PacketPage {
    /// Packets seen since the source started (the log keeps the latest 10,000).
    #[specta(type = u32)]
    pub total: f64,
    /// Newest first.
    pub rows: Vec<PacketRow>,
}

/// The newest `count` packets of a source, optionally only one client's (by id substring) and
/// one packet type.
pub fn page(
    hub: &TrafficHub,
    source: &SourceId,
    count: u32,
    client: &str,
    kind: Option<PacketKind>,
) -> PacketPage {
    hub.read_source(source, |s| PacketPage {
        total: s.packets_total() as f64,
        rows: s
            .packets()
            .rev()
            .filter(|p| passes(p, client, kind))
            .take(count.min(1000) as usize)
            .map(packet_row)
            .collect(),
    })
}

/// Whether a packet passes the packet view's filters (client id substring, packet type).
fn passes(packet: &PacketEvent, client: &str, kind: Option<PacketKind>) -> bool {
    kind.is_none_or(|k| packet.summary.kind == k)
        && (client.is_empty() || packet.client_id.contains(client))
}

pub fn packet_row(p: &PacketEvent) -> PacketRow {
    PacketRow {
        time_ms: p
            .time
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as f64)
            .unwrap_or(0.0),
        direction: p.direction,
        client_id: p.client_id.to_string(),
        remote: p.remote.map(|r| r.to_string()),
        kind: p.summary.kind,
        packet_id: p.summary.packet_id,
        qos: p.summary.qos,
        retain: p.summary.retain,
        dup: p.summary.dup,
        topic: p.summary.topic.clone(),
        payload_len: p.summary.payload_len as u32,
        size: p.summary.size as u32,
        reason: p.summary.reason,
        fields: p
            .summary
            .fields
            .iter()
            .map(|(name, value)| PacketField {
                name: name.to_string(),
                value: value.clone(),
            })
            .collect(),
    }
}

/// Where an export was saved and how many packets it holds.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PacketExport {
    pub path: String,
    pub packets: u32,
}

/// Saves a source's packet log (what passes the filters, oldest first; the log keeps the latest
/// 10,000) into the Downloads folder as JSON Lines: one packet per line, with the fields the
/// packet view shows, for a bug report or a script.
pub fn export(
    hub: &TrafficHub,
    source: &SourceId,
    client: &str,
    kind: Option<PacketKind>,
) -> Result<PacketExport, IpcError> {
    let rows: Vec<PacketRow> = hub.read_source(source, |s| {
        s.packets()
            .filter(|p| passes(p, client, kind))
            .map(packet_row)
            .collect()
    });
    let mut lines = Vec::with_capacity(rows.len() * 160);
    for row in &rows {
        serde_json::to_writer(&mut lines, row)
            .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
        lines.push(b'\n');
    }
    let name = format!("mqtt-packets-{}.jsonl", source.slug());
    let path = crate::downloads::save(&name, &lines).map_err(|e| IpcError::from_coded(&e))?;
    Ok(PacketExport {
        path: path.display().to_string(),
        packets: rows.len() as u32,
    })
}
