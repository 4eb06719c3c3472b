//! Traffic commands: the UI registers one channel and receives coalesced frames on it (about 30 a
//! second at most, each holding only the rows on screen and the counters); it moves its window,
//! filters and expands with commands; message payloads come on demand, as raw bytes. The answers
//! are built in [`workbench_core::traffic`].

use super::IpcError;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::ipc::Channel;
use workbench_core::broker::service::BrokerService;
use workbench_core::hub::TrafficHub;
use workbench_core::traffic::charts::{ChartLabels, ValueChartImage};
use workbench_core::traffic::packets::{PacketExport, PacketPage};
use workbench_core::traffic::{self, NoticeView, TrafficFrame};
use workbench_session::SessionManager;
use workbench_wire::PacketKind;

/// The longest a frame waits after a change; and so the most frames a second (about 30).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);

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
        let now_ms = workbench_core::now_ms();
        hub.sample(now_ms);
        let frame = traffic::traffic_frame(hub.frame(&source, now_ms, dropped()));
        if channel.send(frame).is_err() {
            sink.drop_channel(); // the page went away
            continue;
        }
        sent_version = hub.version();
        last_sent = std::time::Instant::now();
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
    let filter = traffic::parse_filter(&filter)?;
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
    let bytes = traffic::messages(&hub, &source, node, limit)?;
    Ok(RawBytes(tauri::ipc::Response::new(bytes)))
}

/// Deletes the retained messages at and below a node (an empty retained publish to each, sent
/// through the broker like any client's). Returns how many were deleted.
#[tauri::command]
#[specta::specta]
pub async fn traffic_delete_retained(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    broker: tauri::State<'_, Arc<BrokerService>>,
    sessions: tauri::State<'_, Arc<SessionManager>>,
    source: String,
    node: u32,
) -> Result<u32, IpcError> {
    traffic::delete_retained(&hub, &broker, &sessions, &source, node).await
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
    Ok(traffic::notices(&hub, &source, limit))
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
    kind: Option<PacketKind>,
) -> Result<PacketPage, IpcError> {
    Ok(traffic::packets::page(&hub, &source, count, &client, kind))
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
    kind: Option<PacketKind>,
) -> Result<PacketExport, IpcError> {
    traffic::packets::export(&hub, &source, &client, kind)
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
    traffic::charts::rate_chart(&hub, &source, node, dark, width, height, &labels)
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
    traffic::charts::value_chart(
        &hub,
        &source,
        node,
        &pointer,
        dark,
        width,
        height,
        utc_offset_minutes,
        &label,
    )
}
