//! The queue view's watcher: the queues of a vhost read from the management API every
//! [`POLL_PERIOD`] while someone watches them, each reading pushed to every watcher, and a short
//! depth history per queue for the depth-over-time chart.
//!
//! The management API cannot push, so this polls; but only while a watcher is there: the first
//! watcher of a session starts the polling, the last one to leave stops it and its history goes
//! with it. Nothing else here keeps running. A failed reading (no management plugin, 401, an
//! unknown vhost, the broker gone) is told to the watchers in words and polling goes on, so the
//! view recovers by itself when the cause goes away; the last good list stays on screen meanwhile.
//!
//! Memory is bounded: at most [`HISTORY_POINTS`] points (16 bytes each) for each of at most
//! [`MAX_QUEUES`] queues (the API's page), about 2.4 MB per watched session at worst; a queue that
//! disappears from the list drops out of the history at the next good reading.
//!
//! Never imports Tauri: a watcher is any [`SnapshotSink`] (the app's is an IPC channel).

use crate::management::{ManagementApi, QueueStats, MAX_QUEUES};
use crate::AmqpError;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use workbench_charts::{value_svg, ValueChart};

/// How often the management API is read while watched.
pub const POLL_PERIOD: Duration = Duration::from_secs(2);
/// Depth points kept per queue: ten minutes at one reading every 2 s.
pub const HISTORY_POINTS: usize = 300;

/// One reading of a vhost's queues, as every watcher receives it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueSnapshot {
    pub vhost: String,
    /// When this reading ended, in ms since the Unix epoch.
    #[specta(type = f64)]
    pub at_ms: u64,
    /// When the list below was read (the last good reading); `None` before any succeeded.
    #[specta(type = Option<f64>)]
    pub read_ms: Option<u64>,
    /// The queues by name, from the last good reading.
    pub queues: Vec<QueueStats>,
    /// The list is the API's first page only: the vhost has more queues than shown.
    pub truncated: bool,
    /// Why this reading failed (the list above is then older), in words.
    pub failure: Option<WatchFailure>,
}

/// A reading that failed: [`AmqpError::code`] and its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WatchFailure {
    pub code: String,
    pub message: String,
}

impl From<&AmqpError> for WatchFailure {
    fn from(error: &AmqpError) -> WatchFailure {
        WatchFailure {
            code: error.code().to_string(),
            message: error.to_string(),
        }
    }
}

/// The depth of each queue over its last [`HISTORY_POINTS`] readings.
#[derive(Debug, Default)]
pub struct DepthHistory {
    queues: HashMap<String, VecDeque<(u64, u64)>>,
}

impl DepthHistory {
    /// Adds one good reading taken at `at_ms`: a point for each listed queue (at most
    /// [`MAX_QUEUES`]); queues no longer listed are forgotten.
    pub fn record(&mut self, at_ms: u64, queues: &[QueueStats]) {
        let listed: HashMap<&str, u64> = queues
            .iter()
            .take(MAX_QUEUES)
            .map(|q| (q.name.as_str(), q.messages))
            .collect();
        self.queues
            .retain(|name, _| listed.contains_key(name.as_str()));
        for (name, depth) in listed {
            let points = self.queues.entry(name.to_string()).or_default();
            if points.len() == HISTORY_POINTS {
                points.pop_front();
            }
            points.push_back((at_ms, depth));
        }
    }

    /// A queue's (time in ms, depth), oldest first; `None` for a queue not listed.
    pub fn points(&self, queue: &str) -> Option<Vec<(u64, f64)>> {
        self.queues
            .get(queue)
            .map(|points| points.iter().map(|&(at, d)| (at, d as f64)).collect())
    }

    /// How many queues have a history.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

/// Where a watcher's readings go. `send` answers false once the watcher is gone for good (its
/// channel closed): it is then dropped as if it had left.
pub trait SnapshotSink: Send + Sync {
    fn send(&self, snapshot: &QueueSnapshot) -> bool;
}

impl<F: Fn(&QueueSnapshot) -> bool + Send + Sync> SnapshotSink for F {
    fn send(&self, snapshot: &QueueSnapshot) -> bool {
        self(snapshot)
    }
}

/// Names one watcher, for [`QueueWatches::unwatch`]; never reused.
pub type WatcherId = u32;

/// What a chart of one queue's depth looks like.
#[derive(Debug, Clone)]
pub struct DepthChartStyle<'a> {
    /// The line's name (for example "messages"), in the viewer's language.
    pub label: &'a str,
    pub width: u32,
    pub height: u32,
    pub dark: bool,
    /// The viewer's offset from UTC, for the clock times on the x axis.
    pub utc_offset_minutes: i32,
}

/// The watched sessions' queue lists: one polling task per watched session (its key, the
/// session's id), shared by all of that session's watchers.
pub struct QueueWatches {
    watches: Mutex<HashMap<String, Watch>>,
    next_id: AtomicU32,
    period: Duration,
}

struct Watch {
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
    /// Where it reads (API, user, vhost): a watcher that reads elsewhere (the profile was
    /// edited) restarts the readings for everyone.
    source: String,
}

struct Watcher {
    id: WatcherId,
    /// Who opened it (the app: a window's label), so that all of an owner's go together.
    owner: String,
    sink: Arc<dyn SnapshotSink>,
}

#[derive(Default)]
struct Shared {
    watchers: Vec<Watcher>,
    history: DepthHistory,
    last: Option<QueueSnapshot>,
    /// The polling task saw its last watcher go and stopped.
    ended: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change under these locks is complete before it is released, and no await happens
    // while one is held (std Mutex, not tokio's): a panic elsewhere cannot leave one half done.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for QueueWatches {
    fn default() -> Self {
        QueueWatches::with_period(POLL_PERIOD)
    }
}

impl QueueWatches {
    /// Watches that read every `period` (the app uses [`POLL_PERIOD`]).
    pub fn with_period(period: Duration) -> QueueWatches {
        QueueWatches {
            watches: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            period,
        }
    }

    /// Adds a watcher of the session `key` (the vhost `vhost` of the management API `api`): it
    /// receives the last reading at once when there is one, then each new one. The first
    /// watcher starts the polling (a first reading at once); later ones share it. Must be called
    /// inside a tokio runtime.
    pub fn watch(
        &self,
        key: &str,
        owner: &str,
        api: ManagementApi,
        vhost: String,
        sink: Arc<dyn SnapshotSink>,
    ) -> WatcherId {
        let source = format!("{} as {} in {vhost}", api.base, api.user);
        let of = vhost.clone();
        self.start(key, owner, vhost, source, sink, move || {
            let (api, vhost) = (api.clone(), of.clone());
            async move { api.queues(&vhost).await }
        })
    }

    /// [`QueueWatches::watch`] with any way to read the queue list (tests read a script).
    pub fn watch_with<F, Fut>(
        &self,
        key: &str,
        owner: &str,
        vhost: String,
        sink: Arc<dyn SnapshotSink>,
        read: F,
    ) -> WatcherId
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<QueueStats>, AmqpError>> + Send + 'static,
    {
        let source = vhost.clone();
        self.start(key, owner, vhost, source, sink, read)
    }

    fn start<F, Fut>(
        &self,
        key: &str,
        owner: &str,
        vhost: String,
        source: String,
        sink: Arc<dyn SnapshotSink>,
        read: F,
    ) -> WatcherId
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<QueueStats>, AmqpError>> + Send + 'static,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let watcher = Watcher {
            id,
            owner: owner.to_string(),
            sink,
        };
        let mut watches = lock(&self.watches);
        let mut watchers = Vec::new();
        if let Some(watch) = watches.get(key) {
            let mut shared = lock(&watch.shared);
            if !shared.ended && watch.source == source {
                if let Some(last) = &shared.last {
                    if !watcher.sink.send(last) {
                        return id; // gone already: never added
                    }
                }
                shared.watchers.push(watcher);
                return id;
            }
            // Read elsewhere now: the watchers move to the new readings; the history (of
            // another broker or vhost) goes.
            watchers = std::mem::take(&mut shared.watchers);
        }
        watchers.push(watcher);
        let shared = Arc::new(Mutex::new(Shared {
            watchers,
            ..Shared::default()
        }));
        let task = tokio::spawn(poll(shared.clone(), vhost, read, self.period));
        let watch = Watch {
            shared,
            task,
            source,
        };
        if let Some(old) = watches.insert(key.to_string(), watch) {
            old.task.abort();
        }
        id
    }

    /// Removes a watcher of `key`; the last one to leave stops the polling and drops the
    /// history. False when there was no such watcher.
    pub fn unwatch(&self, key: &str, watcher: WatcherId) -> bool {
        let mut watches = lock(&self.watches);
        let Some(watch) = watches.get(key) else {
            return false;
        };
        let (found, empty) = {
            let mut shared = lock(&watch.shared);
            let before = shared.watchers.len();
            shared.watchers.retain(|w| w.id != watcher);
            (shared.watchers.len() < before, shared.watchers.is_empty())
        };
        if empty {
            if let Some(watch) = watches.remove(key) {
                watch.task.abort();
            }
        }
        found
    }

    /// Removes every watcher `owner` opened (its window is gone); how many.
    pub fn owner_gone(&self, owner: &str) -> usize {
        let mut watches = lock(&self.watches);
        let mut removed = 0;
        watches.retain(|_, watch| {
            let mut shared = lock(&watch.shared);
            let before = shared.watchers.len();
            shared.watchers.retain(|w| w.owner != owner);
            removed += before - shared.watchers.len();
            let keep = !shared.watchers.is_empty();
            if !keep {
                watch.task.abort();
            }
            keep
        });
        removed
    }

    /// How many watchers session `key` has (0: nothing is polled for it).
    pub fn watchers(&self, key: &str) -> usize {
        lock(&self.watches)
            .get(key)
            .map_or(0, |watch| lock(&watch.shared).watchers.len())
    }

    /// One queue's depth history in session `key`, oldest first; `None` when the session is not
    /// watched or the queue not listed.
    pub fn history(&self, key: &str, queue: &str) -> Option<Vec<(u64, f64)>> {
        lock(&self.watches)
            .get(key)
            .and_then(|watch| lock(&watch.shared).history.points(queue))
    }

    /// A chart of one queue's depth over time, as SVG (the queue's name as title, clock times
    /// below). `None` when the session is not watched or the queue not listed.
    pub fn depth_chart(
        &self,
        key: &str,
        queue: &str,
        style: &DepthChartStyle<'_>,
    ) -> Option<Result<String, workbench_charts::ChartError>> {
        let points = self.history(key, queue)?;
        Some(value_svg(&ValueChart {
            title: queue,
            label: style.label,
            points: &points,
            utc_offset_minutes: style.utc_offset_minutes,
            width: style.width,
            height: style.height,
            dark: style.dark,
        }))
    }
}

impl Drop for QueueWatches {
    fn drop(&mut self) {
        for watch in lock(&self.watches).values() {
            watch.task.abort();
        }
    }
}

/// Reads, tells every watcher, waits a period, and again, until no watcher is left (or the task
/// is aborted by the last [`QueueWatches::unwatch`]). A reading that takes long delays the next
/// one: two never overlap.
async fn poll<F, Fut>(shared: Arc<Mutex<Shared>>, vhost: String, read: F, period: Duration)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Vec<QueueStats>, AmqpError>>,
{
    loop {
        let reading = read().await;
        let at_ms = workbench_wire::now_ms();
        {
            let mut shared = lock(&shared);
            let snapshot = next_snapshot(&mut shared, &vhost, at_ms, reading);
            shared.watchers.retain(|w| w.sink.send(&snapshot));
            shared.last = Some(snapshot);
            if shared.watchers.is_empty() {
                // Every channel closed: stop, and keep nothing.
                *shared = Shared {
                    ended: true,
                    ..Shared::default()
                };
                return;
            }
        }
        tokio::time::sleep(period).await;
    }
}

/// The snapshot after a reading: a good one replaces the list and extends the history; a failed
/// one keeps the last list and says why.
fn next_snapshot(
    shared: &mut Shared,
    vhost: &str,
    at_ms: u64,
    reading: Result<Vec<QueueStats>, AmqpError>,
) -> QueueSnapshot {
    match reading {
        Ok(mut queues) => {
            let truncated = queues.len() >= MAX_QUEUES;
            queues.truncate(MAX_QUEUES);
            shared.history.record(at_ms, &queues);
            QueueSnapshot {
                vhost: vhost.to_string(),
                at_ms,
                read_ms: Some(at_ms),
                queues,
                truncated,
                failure: None,
            }
        }
        Err(error) => {
            let (queues, read_ms, truncated) = match &shared.last {
                Some(last) => (last.queues.clone(), last.read_ms, last.truncated),
                None => (Vec::new(), None, false),
            };
            QueueSnapshot {
                vhost: vhost.to_string(),
                at_ms,
                read_ms,
                queues,
                truncated,
                failure: Some(WatchFailure::from(&error)),
            }
        }
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
