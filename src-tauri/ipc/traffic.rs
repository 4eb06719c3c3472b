//! Traffic commands: the UI registers one channel and receives coalesced frames on it (about 30 a
//! second at most, each holding only the rows on screen and the counters); it moves its window,
//! filters and expands with commands; message payloads come on demand, as raw bytes.

use super::IpcError;
use crate::error::{Coded, ErrorCode};
use crate::traffic::hub::{Frame, TrafficHub};
use crate::traffic::view::{Row, TreeFilter};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::ipc::Channel;

/// The longest a frame waits after a change; and so the most frames a second (about 30).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);

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
    pub source: String,
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

fn traffic_frame(frame: Frame) -> TrafficFrame {
    TrafficFrame {
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
    }
}

/// The channel frames go to, and the source it watches.
#[derive(Default)]
pub struct FrameSink {
    target: Mutex<Option<(String, Channel<TrafficFrame>)>>,
}

impl FrameSink {
    fn set(&self, source: String, channel: Channel<TrafficFrame>) {
        *self.target.lock().unwrap_or_else(|p| p.into_inner()) = Some((source, channel));
    }

    fn get(&self) -> Option<(String, Channel<TrafficFrame>)> {
        self.target
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn drop_channel(&self) {
        *self.target.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Sends a frame whenever the model or the view changed, at most every [`FRAME_INTERVAL`], and
/// once a second regardless (rates move even when nothing arrives).
pub async fn pump_frames(
    hub: Arc<TrafficHub>,
    sink: Arc<FrameSink>,
    dropped: impl Fn() -> u64 + Send + 'static,
) {
    let mut ticker = tokio::time::interval(FRAME_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent_version = u64::MAX;
    let mut last_sent = std::time::Instant::now();
    loop {
        ticker.tick().await;
        let Some((source, channel)) = sink.get() else {
            continue;
        };
        let version = hub.version();
        if version == sent_version && last_sent.elapsed() < Duration::from_secs(1) {
            continue;
        }
        let now_ms = crate::now_ms();
        hub.sample(now_ms);
        let frame = traffic_frame(hub.frame(&source, now_ms, dropped()));
        if channel.send(frame).is_err() {
            sink.drop_channel(); // the page went away
            continue;
        }
        sent_version = hub.version();
        last_sent = std::time::Instant::now();
    }
}

fn filter_error(error: crate::topic::TopicError) -> IpcError {
    IpcError::new(
        ErrorCode::InvalidTopicFilter,
        format!("not a valid topic filter: {error}"),
    )
    .with_code_of(&error)
}

impl IpcError {
    fn with_code_of(self, error: &impl Coded) -> IpcError {
        let code = match error.code() {
            ErrorCode::InvalidTopic => ErrorCode::InvalidTopicFilter,
            other => other,
        };
        IpcError { code, ..self }
    }
}

/// Starts sending frames of `source` to `channel` (replacing any earlier channel).
#[tauri::command]
#[specta::specta]
pub fn traffic_watch(
    sink: tauri::State<'_, Arc<FrameSink>>,
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    channel: Channel<TrafficFrame>,
) -> Result<(), IpcError> {
    sink.set(source, channel);
    hub.touch();
    Ok(())
}

/// Sets which rows the UI shows and the tree's filter (a substring, or a topic filter with `+`
/// or `#`).
#[tauri::command]
#[specta::specta]
pub fn traffic_view(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    from: u32,
    count: u32,
    filter: String,
) -> Result<(), IpcError> {
    let filter = TreeFilter::parse(&filter).map_err(filter_error)?;
    hub.set_view(&source, from as usize, count as usize, filter);
    Ok(())
}

/// Expands or collapses one node.
#[tauri::command]
#[specta::specta]
pub fn traffic_expand(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    node: u32,
    expanded: bool,
) -> Result<(), IpcError> {
    hub.set_expanded(&source, node, expanded);
    Ok(())
}

/// Expands or collapses every node.
#[tauri::command]
#[specta::specta]
pub fn traffic_expand_all(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    expanded: bool,
) -> Result<(), IpcError> {
    hub.expand_all(&source, expanded);
    Ok(())
}

/// Forgets a source's traffic.
#[tauri::command]
#[specta::specta]
pub fn traffic_clear(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
) -> Result<(), IpcError> {
    hub.clear(&source);
    Ok(())
}

/// Bytes sent to the UI as they are (an `ArrayBuffer` there), never as a JSON array of numbers.
pub struct RawBytes(tauri::ipc::Response);

impl tauri::ipc::IpcResponse for RawBytes {
    fn body(self) -> tauri::Result<tauri::ipc::InvokeResponseBody> {
        self.0.body()
    }
}

impl specta::Type for RawBytes {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        // TypeScript sees `any`; the platform module reads it as an ArrayBuffer.
        <specta_typescript::Any as specta::Type>::definition(types)
    }
}

/// A node's stored messages, newest first, as raw bytes: for each message, the time in
/// milliseconds (u64), QoS (u8), retain (u8), payload length (u32), then the payload; all
/// big-endian. Payloads never travel as JSON.
#[tauri::command]
#[specta::specta]
pub fn traffic_messages(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    node: u32,
    limit: u32,
) -> Result<RawBytes, IpcError> {
    let bytes = hub.with_source(&source, |source| {
        let Some(found) = source.model.tree.node(node) else {
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
    })?;
    Ok(RawBytes(tauri::ipc::Response::new(bytes)))
}

/// Deletes the retained messages at and below a node (an empty retained publish to each, sent
/// through the broker like any client's). Returns how many were deleted.
#[tauri::command]
#[specta::specta]
pub async fn traffic_delete_retained(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    broker: tauri::State<'_, Arc<crate::broker::service::BrokerService>>,
    sessions: tauri::State<'_, Arc<crate::session::SessionManager>>,
    source: String,
    node: u32,
) -> Result<u32, IpcError> {
    let topics = hub.with_source(&source, |s| s.model.tree.retained_below(node));
    if let Some(id) = source.strip_prefix("session:") {
        // On a session's broker (which may be external), the session itself deletes them.
        return sessions
            .delete_retained(id, &topics)
            .await
            .map(|n| n as u32)
            .map_err(|e| IpcError::from_coded(&e));
    }
    if source != crate::traffic::hub::BROKER_SOURCE {
        return Err(IpcError::new(
            ErrorCode::NotFound,
            format!("no traffic source '{source}'"),
        ));
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
    pub kind: crate::traffic::source::NoticeKind,
    pub client_id: String,
    pub remote: Option<String>,
    pub detail: String,
}

/// The latest connection notices of a source (connects, refusals and why, disconnects and why),
/// newest first.
#[tauri::command]
#[specta::specta]
pub fn traffic_notices(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    limit: u32,
) -> Result<Vec<NoticeView>, IpcError> {
    Ok(hub.with_source(&source, |s| {
        s.model
            .notices()
            .take(limit as usize)
            .map(|n| NoticeView {
                time_ms: n.time_ms as f64,
                kind: n.kind,
                client_id: n.client_id.clone(),
                remote: n.remote.map(|r| r.to_string()),
                detail: n.detail.clone(),
            })
            .collect()
    }))
}

/// One packet of the packet log, as the packet view lists it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PacketRow {
    #[specta(type = u32)]
    pub time_ms: f64,
    pub direction: crate::traffic::Direction,
    pub client_id: String,
    pub remote: Option<String>,
    pub kind: crate::traffic::PacketKind,
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
#[tauri::command]
#[specta::specta]
pub fn traffic_packets(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    count: u32,
    client: String,
    kind: Option<crate::traffic::PacketKind>,
) -> Result<PacketPage, IpcError> {
    Ok(hub.with_source(&source, |s| PacketPage {
        total: s.model.packets_total() as f64,
        rows: s
            .model
            .packets()
            .rev()
            .filter(|p| passes(p, &client, kind))
            .take(count.min(1000) as usize)
            .map(packet_row)
            .collect(),
    }))
}

/// Whether a packet passes the packet view's filters (client id substring, packet type).
fn passes(
    packet: &crate::traffic::PacketEvent,
    client: &str,
    kind: Option<crate::traffic::PacketKind>,
) -> bool {
    kind.is_none_or(|k| packet.summary.kind == k)
        && (client.is_empty() || packet.client_id.contains(client))
}

fn packet_row(p: &crate::traffic::PacketEvent) -> PacketRow {
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
#[tauri::command(async)]
#[specta::specta]
pub fn traffic_export_packets(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    client: String,
    kind: Option<crate::traffic::PacketKind>,
) -> Result<PacketExport, IpcError> {
    let rows: Vec<PacketRow> = hub.with_source(&source, |s| {
        s.model
            .packets()
            .filter(|p| passes(p, &client, kind))
            .map(packet_row)
            .collect()
    });
    let mut lines = Vec::with_capacity(rows.len() * 160);
    for row in &rows {
        serde_json::to_writer(&mut lines, row)
            .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
        lines.push(b'\n');
    }
    let name = format!("mqtt-packets-{source}.jsonl");
    let path = crate::downloads::save(&name, &lines).map_err(|e| IpcError::from_coded(&e))?;
    Ok(PacketExport {
        path: path.display().to_string(),
        packets: rows.len() as u32,
    })
}

/// The words on a chart, in the UI's language.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ChartLabels {
    /// Title of the source-wide chart.
    pub title: String,
    /// Legend of the incoming and outgoing series.
    pub incoming: String,
    pub outgoing: String,
    /// Legend of a topic's series.
    pub topic: String,
    /// The y axis unit ("msg/s") and the x axis unit ("s").
    pub unit: String,
    pub seconds: String,
}

/// A rate chart as SVG, drawn by plotters: without `node`, the source's messages per second in
/// and out over the last 60 s; with `node`, that topic's (and its subtree's) messages per second,
/// from the kept messages as far back as they are complete, then sampled each second.
#[tauri::command]
#[specta::specta]
pub fn traffic_chart(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    node: Option<u32>,
    dark: bool,
    width: u32,
    height: u32,
    labels: ChartLabels,
) -> Result<String, IpcError> {
    use crate::charts::{rate_svg, RateChart, Series, IN_COLOR, OUT_COLOR};
    const SECONDS: u64 = 60;
    let now_ms = crate::now_ms();
    let now = now_ms / 1000;
    let chart_error =
        |e: crate::charts::ChartError| IpcError::new(ErrorCode::Internal, e.to_string());
    match node {
        None => {
            let (incoming, outgoing) = hub.with_source(&source, |s| {
                let points = |w: &crate::traffic::rates::RateWindow| -> Vec<Option<f64>> {
                    w.series(now, SECONDS)
                        .iter()
                        .map(|p| Some(p.messages as f64))
                        .collect()
                };
                (points(&s.model.rates), points(&s.model.rates_out))
            });
            rate_svg(&RateChart {
                title: &labels.title,
                y_label: &labels.unit,
                x_label: &labels.seconds,
                series: vec![
                    Series {
                        label: &labels.incoming,
                        values: &incoming,
                        color: IN_COLOR,
                    },
                    Series {
                        label: &labels.outgoing,
                        values: &outgoing,
                        color: OUT_COLOR,
                    },
                ],
                width,
                height,
                dark,
            })
            .map_err(chart_error)
        }
        Some(node) => {
            let topic = hub.with_source(&source, |s| {
                s.model.tree.node(node).map(|_| s.model.tree.topic_of(node))
            });
            let Some(topic) = topic else {
                return Err(IpcError::new(
                    ErrorCode::NotFound,
                    format!("no topic node {node}"),
                ));
            };
            hub.watch_topic(&source, node, now_ms);
            let values = hub.topic_series(&source, node, SECONDS as usize);
            rate_svg(&RateChart {
                title: &topic,
                y_label: &labels.unit,
                x_label: &labels.seconds,
                series: vec![Series {
                    label: &labels.topic,
                    values: &values,
                    color: IN_COLOR,
                }],
                width,
                height,
                dark,
            })
            .map_err(chart_error)
        }
    }
}

/// A value chart and what went into it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ValueChartImage {
    pub svg: String,
    /// Messages that held a number at the pointer (the points drawn).
    pub points: u32,
    /// Kept messages that did not (not numbers, broken JSON, larger than 64 KiB).
    pub skipped: u32,
}

/// One number over the topic's kept messages (the last 100), as SVG: the whole payload read as a
/// number when `pointer` is empty, else the JSON field it names (`/sensors/0/celsius`). Times on
/// the x axis are shown at `utc_offset_minutes` from UTC (the viewer's clock); `label` is the
/// legend, in the UI's language.
#[tauri::command(async)]
#[specta::specta]
#[allow(clippy::too_many_arguments)] // each is one plain value the UI passes
pub fn traffic_value_chart(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: String,
    node: u32,
    pointer: String,
    dark: bool,
    width: u32,
    height: u32,
    utc_offset_minutes: i32,
    label: String,
) -> Result<ValueChartImage, IpcError> {
    use crate::traffic::values::{check_pointer, kept_payloads, value_points};
    check_pointer(&pointer).map_err(|e| IpcError::new(ErrorCode::InvalidInput, e.to_string()))?;
    let found = hub.with_source(&source, |s| {
        let kept = kept_payloads(&s.model.tree.node(node)?.history);
        Some((s.model.tree.topic_of(node), kept))
    });
    let Some((topic, kept)) = found else {
        return Err(IpcError::new(
            ErrorCode::NotFound,
            "that topic is no longer in the tree",
        ));
    };
    // Parsed with the model unlocked: ingestion never waits for a chart.
    let (points, skipped) = value_points(&kept, &pointer);
    let svg = crate::charts::value_svg(&crate::charts::ValueChart {
        title: &topic,
        label: &label,
        points: &points,
        utc_offset_minutes,
        width,
        height,
        dark,
    })
    .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(ValueChartImage {
        svg,
        points: points.len() as u32,
        skipped: skipped as u32,
    })
}
