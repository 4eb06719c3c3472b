//! The queue view's commands: watch an AMQP session's queues (readings of the management API
//! pushed on a channel every 2 s while watched), stop watching, and a queue's depth over time
//! as SVG. The watcher lives in `workbench_amqp::watch`; this file only adapts, and names the
//! window that opened each watcher so that a window that goes away leaves none behind.

use super::IpcError;
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::Manager;
use workbench_amqp::watch::{
    DepthChartStyle, QueueSnapshot, QueueWatches, SnapshotSink, WatcherId,
};
use workbench_core::app::App;
use workbench_core::error::ErrorCode;

/// A watcher's readings, to its Tauri channel.
struct ChannelSink(Channel<QueueSnapshot>);

impl SnapshotSink for ChannelSink {
    fn send(&self, snapshot: &QueueSnapshot) -> bool {
        self.0.send(snapshot.clone()).is_ok()
    }
}

/// The app's window events (hooked in `lib.rs`): a destroyed window's watchers are dropped.
pub fn on_window_event<R: tauri::Runtime>(window: &tauri::Window<R>, event: &tauri::WindowEvent) {
    if !matches!(event, tauri::WindowEvent::Destroyed) {
        return;
    }
    if let Some(watches) = window.try_state::<Arc<QueueWatches>>() {
        watches.owner_gone(window.label());
    }
}

/// Watches the queues of AMQP session `id`'s vhost through the management API (the profile's
/// management port, its user and password): a reading goes to `channel` at once and every 2 s
/// while watched, failures in words inside the reading. Returns the watcher's id, for
/// `amqp_queues_unwatch`. Refused when the profile is unknown or has no management port.
#[tauri::command]
#[specta::specta]
pub async fn amqp_queues_watch(
    app: tauri::State<'_, Arc<App>>,
    watches: tauri::State<'_, Arc<QueueWatches>>,
    window: tauri::Window,
    id: String,
    channel: Channel<QueueSnapshot>,
) -> Result<WatcherId, IpcError> {
    let (api, vhost) = app.amqp.management(&id).await?;
    let sink: Arc<dyn SnapshotSink> = Arc::new(ChannelSink(channel));
    let watcher = watches.watch(&id, window.label(), api, vhost, sink);
    // The window may have gone while the profile was read (this command awaits): then its
    // `Destroyed` event came too early to drop this watcher, so drop it here.
    if window
        .app_handle()
        .get_webview_window(window.label())
        .is_none()
    {
        watches.unwatch(&id, watcher);
    }
    Ok(watcher)
}

/// Stops one watcher of session `id`; the last one to go stops the readings.
#[tauri::command]
#[specta::specta]
pub fn amqp_queues_unwatch(
    watches: tauri::State<'_, Arc<QueueWatches>>,
    id: String,
    watcher: WatcherId,
) {
    watches.unwatch(&id, watcher);
}

/// A queue's depth (ready plus unacknowledged) over the readings kept (up to the last ten
/// minutes), as SVG; clock times at `utc_offset_minutes` from UTC, `label` names the line.
#[tauri::command(async)]
#[specta::specta]
#[allow(clippy::too_many_arguments)] // each is one plain value the UI passes
pub fn amqp_queues_chart(
    watches: tauri::State<'_, Arc<QueueWatches>>,
    id: String,
    queue: String,
    dark: bool,
    width: u32,
    height: u32,
    utc_offset_minutes: i32,
    label: String,
) -> Result<String, IpcError> {
    let style = DepthChartStyle {
        label: &label,
        width,
        height,
        dark,
        utc_offset_minutes,
    };
    match watches.depth_chart(&id, &queue, &style) {
        Some(Ok(svg)) => Ok(svg),
        Some(Err(e)) => Err(IpcError::new(ErrorCode::Internal, e.to_string())),
        None => Err(IpcError::new(
            ErrorCode::NotFound,
            format!("no depth history of queue \"{queue}\": it is not listed (or its session is not watched)"),
        )),
    }
}
