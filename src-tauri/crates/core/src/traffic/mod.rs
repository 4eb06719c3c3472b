//! What the UI reads of a source's traffic: frames of the topic tree (only the rows on screen and
//! the counters), the stored messages of a topic as raw bytes, connection notices, the packet log
//! ([`packets`]) and charts ([`charts`]). Each answer is built from the [`TrafficHub`] under its
//! lock and shaped as the UI takes it (counts as numbers, never as BigInt).

pub mod charts;
pub mod packets;

use crate::broker::service::BrokerService;
use crate::error::{Coded, ErrorCode, IpcError};
use crate::hub::{Frame, TrafficHub};
use serde::Serialize;
use workbench_session::SessionManager;
use workbench_traffic::source::NoticeKind;
use workbench_traffic::view::{Row, TreeFilter};
use workbench_traffic::SourceId;

/// One row of the topic tree, as the UI draws it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TreeRow {
    pub id: u32,
    pub depth: u16,
    /// This level's name; topics are data, shown as text only.
    pub name: String,
    pub topic: String,
    #[specta(type = u32)]
    pub own_count: f64,
    #[specta(type = u32)]
    pub subtree_count: f64,
    pub has_children: bool,
    pub expanded: bool,
    pub retained: bool,
    /// Milliseconds since the Unix epoch of the latest message at or below this node.
    #[specta(type = u32)]
    pub last_time_ms: f64,
    /// Messages in the last complete second.
    #[specta(type = u32)]
    pub rate: f64,
    pub preview: String,
    pub payload_len: u32,
}

/// What changed in the view the UI has open, plus the source's counters.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TrafficFrame {
    /// The viewer this frame is for.
    pub viewer: u32,
    pub source: SourceId,
    pub rows: Vec<TreeRow>,
    pub row_count: u32,
    pub from: u32,
    pub topics: u32,
    #[specta(type = u32)]
    pub messages: f64,
    #[specta(type = u32)]
    pub rate_in: f64,
    #[specta(type = u32)]
    pub rate_out: f64,
    #[specta(type = u32)]
    pub history_bytes: f64,
    #[specta(type = u32)]
    pub packets: f64,
    #[specta(type = u32)]
    pub dropped: f64,
    /// Topics counted but not shown in the tree (deeper than it shows, or beyond its size).
    #[specta(type = u32)]
    pub topics_not_shown: f64,
    /// Their messages.
    #[specta(type = u32)]
    pub messages_not_shown: f64,
    /// With a filter, how many topics match it (by topic, and by last payload with `payload:`).
    pub matches: Option<u32>,
}

fn tree_row(row: Row) -> TreeRow {
    TreeRow {
        id: row.id,
        depth: row.depth,
        name: row.name,
        topic: row.topic,
        own_count: row.own_count as f64,
        subtree_count: row.subtree_count as f64,
        has_children: row.has_children,
        expanded: row.expanded,
        retained: row.retained,
        last_time_ms: row.last_time_ms as f64,
        rate: row.rate,
        preview: row.preview,
        payload_len: row.payload_len,
    }
}

/// A hub frame as the UI receives it.
pub fn traffic_frame(frame: Frame) -> TrafficFrame {
    TrafficFrame {
        viewer: frame.viewer,
        source: frame.source,
        rows: frame.rows.into_iter().map(tree_row).collect(),
        row_count: frame.row_count as u32,
        from: frame.from as u32,
        topics: frame.topics as u32,
        messages: frame.messages as f64,
        rate_in: frame.rate_in,
        rate_out: frame.rate_out,
        history_bytes: frame.history_bytes as f64,
        packets: frame.packets as f64,
        dropped: frame.dropped as f64,
        topics_not_shown: frame.not_shown.topics as f64,
        messages_not_shown: frame.not_shown.messages as f64,
        matches: frame.matches.map(|m| m as u32),
    }
}

fn filter_error(error: workbench_wire::topic::TopicError) -> IpcError {
    with_code_of(
        IpcError::new(
            ErrorCode::InvalidTopicFilter,
            format!("not a valid topic filter: {error}"),
        ),
        &error,
    )
}

fn with_code_of(error: IpcError, cause: &impl Coded) -> IpcError {
    let code = match cause.code() {
        ErrorCode::InvalidTopic => ErrorCode::InvalidTopicFilter,
        other => other,
    };
    IpcError { code, ..error }
}

/// Reads the tree's filter as the UI typed it: a substring, or a topic filter with `+` or `#`.
pub fn parse_filter(filter: &str) -> Result<TreeFilter, IpcError> {
    TreeFilter::parse(filter).map_err(filter_error)
}

/// A node's stored messages, newest first, as raw bytes: for each message, the time in
/// milliseconds (u64), QoS (u8), retain (u8), payload length (u32), then the payload; all
/// big-endian. Payloads never travel as JSON.
pub fn messages(
    hub: &TrafficHub,
    source: &SourceId,
    node: u32,
    limit: u32,
) -> Result<Vec<u8>, IpcError> {
    hub.read_source(source, |model| {
        let Some(found) = model.tree.node(node) else {
            return Err(IpcError::new(
                ErrorCode::NotFound,
                "that topic is no longer in the tree",
            ));
        };
        let mut out = Vec::new();
        for message in found.history.iter().rev().take(limit as usize) {
            out.extend_from_slice(&message.time_ms.to_be_bytes());
            out.push(message.qos);
            out.push(u8::from(message.retain));
            out.extend_from_slice(&(message.payload.len() as u32).to_be_bytes());
            out.extend_from_slice(&message.payload);
            // Then its MQTT 5 properties: a u16 count, each a u16-length name and a
            // u32-length value (UTF-8).
            let properties = message.properties.as_deref().unwrap_or_default();
            out.extend_from_slice(&(properties.len().min(u16::MAX as usize) as u16).to_be_bytes());
            for (name, value) in properties.iter().take(u16::MAX as usize) {
                out.extend_from_slice(&(name.len() as u16).to_be_bytes());
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(&(value.len() as u32).to_be_bytes());
                out.extend_from_slice(value.as_bytes());
            }
        }
        Ok(out)
    })
}

/// Deletes the retained messages at and below a node (an empty retained publish to each, sent
/// through the broker like any client's). Returns how many were deleted.
pub async fn delete_retained(
    hub: &TrafficHub,
    broker: &BrokerService,
    sessions: &SessionManager,
    source: &SourceId,
    node: u32,
) -> Result<u32, IpcError> {
    let topics = hub.read_source(source, |s| s.tree.retained_below(node));
    if let SourceId::Session(id) = source {
        // On a session's broker (which may be external), the session itself deletes them.
        return sessions
            .delete_retained(id, &topics)
            .await
            .map(|n| n as u32)
            .map_err(|e| IpcError::from_coded(&e));
    }
    let deleted = broker
        .delete_retained(&topics)
        .await
        .map_err(|e| IpcError::from_coded(&e))?;
    Ok(deleted as u32)
}

/// A connection notice, as the broker panel lists it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NoticeView {
    #[specta(type = u32)]
    pub time_ms: f64,
    pub kind: NoticeKind,
    pub client_id: String,
    pub remote: Option<String>,
    pub detail: String,
}

/// The latest connection notices of a source (connects, refusals and why, disconnects and why),
/// newest first.
pub fn notices(hub: &TrafficHub, source: &SourceId, limit: u32) -> Vec<NoticeView> {
    hub.read_source(source, |s| {
        s.notices()
            .take(limit as usize)
            .map(|n| NoticeView {
                time_ms: n.time_ms as f64,
                kind: n.kind,
                client_id: n.client_id.clone(),
                remote: n.remote.map(|r| r.to_string()),
                detail: n.detail.clone(),
            })
            .collect()
    })
}
