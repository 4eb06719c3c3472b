//! Traffic commands. A window (or pane) opens a viewer of a source with a channel, and receives
//! frames on it, pushed when something it shows changed (about 30 a second at most, each holding
//! only the rows on screen and the counters); it moves its window, filters and expands with
//! commands naming its viewer; message payloads come on demand, as raw bytes. Every answer is
//! built in [`workbench_core`]: this file only adapts, and remembers which window opened which
//! viewer, to close them when the window is destroyed.

use super::IpcError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tauri::ipc::Channel;
use tauri::Manager;
use workbench_core::broker::service::BrokerService;
use workbench_core::error::ErrorCode;
use workbench_core::hub::{Frame, FrameSink, TrafficHub, ViewerId};
use workbench_core::traffic::charts::{ChartLabels, ValueChartImage};
use workbench_core::traffic::packets::{PacketExport, PacketPage};
use workbench_core::traffic::{self, NoticeView, TrafficFrame};
use workbench_session::SessionManager;
use workbench_traffic::SourceId;
use workbench_wire::PacketKind;

/// A viewer's frames, to its Tauri channel.
struct ChannelSink(Channel<TrafficFrame>);

impl FrameSink for ChannelSink {
    fn send(&self, frame: Frame) -> bool {
        self.0.send(traffic::traffic_frame(frame)).is_ok()
    }
}

type Hub<'a> = tauri::State<'a, Arc<TrafficHub>>;

fn no_viewer() -> IpcError {
    IpcError::new(ErrorCode::NotFound, "that view is closed")
}

/// Which window opened which viewers, so that a window that goes away without closing its
/// viewers (its page never ran its unmount code) leaves none behind. Entries go with their
/// window, so this never outgrows the viewers of the windows open now (a viewer the hub ended
/// itself, its channel gone, may stay listed until then: closing it again does nothing, and
/// viewer ids are never reused).
#[derive(Debug, Default)]
pub struct WindowViewers(Mutex<HashMap<ViewerId, String>>);

impl WindowViewers {
    /// `window` (its label) opened `viewer`.
    pub fn opened(&self, window: &str, viewer: ViewerId) {
        self.lock().insert(viewer, window.to_string());
    }

    /// `viewer` was closed (by whichever window).
    pub fn closed(&self, viewer: ViewerId) {
        self.lock().remove(&viewer);
    }

    /// `window` is gone: the viewers it still had open, to be closed, and forgotten here.
    pub fn window_gone(&self, window: &str) -> Vec<ViewerId> {
        let mut gone = Vec::new();
        self.lock().retain(|&viewer, owner| {
            let keep = owner != window;
            if !keep {
                gone.push(viewer);
            }
            keep
        });
        gone.sort_unstable();
        gone
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ViewerId, String>> {
        // Every change is one map operation: a panic elsewhere cannot leave it half done.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The app's window events (hooked in `lib.rs`): a destroyed window's viewers are closed.
pub fn on_window_event<R: tauri::Runtime>(window: &tauri::Window<R>, event: &tauri::WindowEvent) {
    if !matches!(event, tauri::WindowEvent::Destroyed) {
        return;
    }
    let (Some(owners), Some(hub)) = (
        window.try_state::<WindowViewers>(),
        window.try_state::<Arc<TrafficHub>>(),
    ) else {
        return;
    };
    for viewer in owners.window_gone(window.label()) {
        hub.close_viewer(viewer);
    }
}

/// Opens a viewer of `source`: frames go to `channel` from now on (the first at once). Returns
/// the viewer's id, which the other view commands name. The viewer belongs to the calling
/// window, and closes with it at the latest.
// Not async: it runs on the main thread, as window events do, so a window's viewer is recorded
// before the window's `Destroyed` event or never opened at all.
#[tauri::command]
#[specta::specta]
pub fn traffic_watch(
    hub: Hub<'_>,
    owners: tauri::State<'_, WindowViewers>,
    window: tauri::Window,
    source: SourceId,
    channel: Channel<TrafficFrame>,
) -> ViewerId {
    let viewer = hub.open_viewer(source, Arc::new(ChannelSink(channel)));
    owners.opened(window.label(), viewer);
    viewer
}

/// Closes a viewer (its pane or window went away).
#[tauri::command]
#[specta::specta]
pub fn traffic_unwatch(hub: Hub<'_>, owners: tauri::State<'_, WindowViewers>, viewer: ViewerId) {
    hub.close_viewer(viewer);
    owners.closed(viewer);
}

/// Sets which rows a viewer shows and its filter (a substring, or a topic filter with `+` or
/// `#`).
#[tauri::command]
#[specta::specta]
pub fn traffic_view(
    hub: Hub<'_>,
    viewer: ViewerId,
    from: u32,
    count: u32,
    filter: String,
) -> Result<(), IpcError> {
    let filter = traffic::parse_filter(&filter)?;
    hub.set_view(viewer, from as usize, count as usize, filter)
        .then_some(())
        .ok_or_else(no_viewer)
}

/// Expands or collapses one node in a viewer.
#[tauri::command]
#[specta::specta]
pub fn traffic_expand(
    hub: Hub<'_>,
    viewer: ViewerId,
    node: u32,
    expanded: bool,
) -> Result<(), IpcError> {
    hub.set_expanded(viewer, node, expanded)
        .then_some(())
        .ok_or_else(no_viewer)
}

/// Expands or collapses every node in a viewer.
#[tauri::command]
#[specta::specta]
pub fn traffic_expand_all(hub: Hub<'_>, viewer: ViewerId, expanded: bool) -> Result<(), IpcError> {
    hub.expand_all(viewer, expanded)
        .then_some(())
        .ok_or_else(no_viewer)
}

/// Forgets a source's traffic.
#[tauri::command]
#[specta::specta]
pub fn traffic_clear(hub: Hub<'_>, source: SourceId) {
    hub.clear(&source);
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
    source: SourceId,
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
    source: SourceId,
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
    source: SourceId,
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
    source: SourceId,
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
    source: SourceId,
    client: String,
    kind: Option<PacketKind>,
) -> Result<PacketExport, IpcError> {
    traffic::packets::export(&hub, &source, &client, kind)
}

/// A rate chart as SVG, drawn by plotters, for one viewer: without `node`, its source's messages
/// per second in and out over the last 60 s; with `node`, that topic's (and its subtree's)
/// messages per second, from the kept messages as far back as they are complete, then sampled.
#[tauri::command]
#[specta::specta]
pub fn traffic_chart(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    viewer: ViewerId,
    node: Option<u32>,
    dark: bool,
    width: u32,
    height: u32,
    labels: ChartLabels,
) -> Result<String, IpcError> {
    traffic::charts::rate_chart(&hub, viewer, node, dark, width, height, &labels)
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
    source: SourceId,
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

#[cfg(test)]
mod tests {
    use super::WindowViewers;

    #[test]
    fn a_gone_window_hands_back_only_its_own_open_viewers() {
        let owners = WindowViewers::default();
        owners.opened("main", 1);
        owners.opened("view-1", 2);
        owners.opened("view-1", 3);
        owners.opened("view-2", 4);
        owners.opened("view-1", 5);
        // Closed by its page: not closed again when the window goes.
        owners.closed(3);

        assert_eq!(owners.window_gone("view-1"), vec![2, 5]);
        // Forgotten with the window: nothing left to close a second time.
        assert_eq!(owners.window_gone("view-1"), Vec::<u32>::new());
        assert_eq!(owners.window_gone("nobody"), Vec::<u32>::new());
        assert_eq!(owners.window_gone("view-2"), vec![4]);
        assert_eq!(owners.window_gone("main"), vec![1]);
        assert!(owners.0.lock().unwrap().is_empty());
    }
}
