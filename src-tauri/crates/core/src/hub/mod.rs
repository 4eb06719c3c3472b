//! All sources' traffic models behind one lock, the viewers looking at them, the ingestion loops
//! that drain the broker's and the sessions' event channels in batches, and the frame pump that
//! pushes each viewer what changed. Plain Rust: the Tauri shell only plugs in sinks, so the UI's
//! cost never scales with message rates, and a browser front end could plug in the same way.
//!
//! - [`viewer`]: viewers, frames and sinks.
//! - [`watch`]: the rate of a viewer's selected node.

pub mod viewer;
pub mod watch;

pub use viewer::{Frame, FrameSink, ViewerId};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use viewer::{Viewer, ACTIVE_MS, REFRESH_MS};
use watch::TopicWatch;
use workbench_broker::BrokerEvent;
use workbench_decode::sparkplug::SparkplugTracker;
use workbench_session::SessionTraffic;
use workbench_traffic::source::{Notice, NoticeKind, SourceLimits, SourceModel};
use workbench_traffic::tree::NodeId;
use workbench_traffic::view::TreeFilter;
use workbench_traffic::SourceId;
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// The shortest time between two rounds of frames; and so at most about 30 frames a second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// One source's model and how often it changed.
#[derive(Debug)]
pub struct SourceState {
    pub model: SourceModel,
    /// Bumped by every change (ingestion, clearing).
    pub version: u64,
    /// The Sparkplug B edge nodes and devices its PUBLISH packets show.
    pub sparkplug: SparkplugTracker,
}

impl SourceState {
    fn new(limits: SourceLimits) -> SourceState {
        SourceState {
            model: SourceModel::new(limits),
            version: 0,
            sparkplug: SparkplugTracker::default(),
        }
    }

    /// Ingests one packet, letting the Sparkplug tracker read it first when it is a PUBLISH
    /// coming in.
    pub(crate) fn ingest(&mut self, packet: PacketEvent) {
        let summary = &packet.summary;
        if let (PacketKind::Publish, Direction::Inbound, Some(topic)) =
            (summary.kind, packet.direction, summary.topic.as_deref())
        {
            let payload = summary.payload.as_deref().unwrap_or_default();
            let time_ms = packet
                .time
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            self.sparkplug
                .observe(topic, payload, time_ms, &packet.client_id);
        }
        self.model.ingest(packet);
    }
}

#[derive(Default)]
struct Inner {
    sources: HashMap<SourceId, SourceState>,
    viewers: HashMap<ViewerId, Viewer>,
}

/// Every source's traffic and every viewer's view of it.
#[derive(Default)]
pub struct TrafficHub {
    inner: Mutex<Inner>,
    limits: SourceLimits,
    next_viewer: AtomicU32,
    /// Wakes the frame pump: something changed.
    changed: Notify,
    /// Told when the broker's clients or counters change.
    on_broker: Option<Arc<dyn Fn(BrokerChange) + Send + Sync>>,
}

/// What a batch of broker events changed besides the traffic model, for the front ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BrokerChange {
    /// Only counters: messages, retained messages, a refused connection's notice.
    Counters,
    /// The clients themselves: one connected, subscribed, unsubscribed or left.
    Clients,
}

impl TrafficHub {
    pub fn new(limits: SourceLimits) -> Arc<TrafficHub> {
        Arc::new(TrafficHub {
            limits,
            ..TrafficHub::default()
        })
    }

    /// A hub that calls `on_broker` after each batch of broker events with what it changed.
    pub fn with_broker_notices(
        limits: SourceLimits,
        on_broker: Arc<dyn Fn(BrokerChange) + Send + Sync>,
    ) -> Arc<TrafficHub> {
        Arc::new(TrafficHub {
            limits,
            on_broker: Some(on_broker),
            ..TrafficHub::default()
        })
    }

    // std Mutex: no await happens while it is held, and each hold is one batch or one frame.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn source_in<'a>(
        inner: &'a mut Inner,
        limits: SourceLimits,
        id: &SourceId,
    ) -> &'a mut SourceState {
        inner
            .sources
            .entry(id.clone())
            .or_insert_with(|| SourceState::new(limits))
    }

    /// Runs `f` on a source's model (creating it when new), marking it changed.
    pub fn with_source<T>(&self, id: &SourceId, f: impl FnOnce(&mut SourceModel) -> T) -> T {
        let result = {
            let mut inner = self.lock();
            let state = Self::source_in(&mut inner, self.limits, id);
            state.version += 1;
            f(&mut state.model)
        };
        self.changed.notify_one();
        result
    }

    /// Runs `f` on a source's state (creating it when new), marking it changed.
    pub fn with_state<T>(&self, id: &SourceId, f: impl FnOnce(&mut SourceState) -> T) -> T {
        let result = {
            let mut inner = self.lock();
            let state = Self::source_in(&mut inner, self.limits, id);
            state.version += 1;
            f(state)
        };
        self.changed.notify_one();
        result
    }

    /// Reads a source's state (its model, its Sparkplug tracker) without marking it changed.
    pub fn read_state<T>(&self, id: &SourceId, f: impl FnOnce(&SourceState) -> T) -> T {
        let mut inner = self.lock();
        f(Self::source_in(&mut inner, self.limits, id))
    }

    /// Reads a source's model without marking it changed.
    pub fn read_source<T>(&self, id: &SourceId, f: impl FnOnce(&SourceModel) -> T) -> T {
        let mut inner = self.lock();
        f(&Self::source_in(&mut inner, self.limits, id).model)
    }

    /// Drains broker events into the broker's source until the channel closes. Each batch is
    /// applied under one lock; the channel and the broker's byte budget bound the memory.
    pub async fn ingest_broker(self: Arc<Self>, mut events: mpsc::Receiver<BrokerEvent>) {
        while let Some(event) = events.recv().await {
            let mut batch = vec![event];
            while batch.len() < 256 {
                match events.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            let change = self.with_state(&SourceId::Broker, |state| {
                batch
                    .into_iter()
                    .map(|event| apply_broker_event(state, event))
                    .max()
            });
            if let (Some(on_broker), Some(change)) = (&self.on_broker, change) {
                on_broker(change);
            }
        }
    }

    /// Drains the client sessions' packet batches into their sources until the channel closes.
    pub async fn ingest_sessions(self: Arc<Self>, mut events: mpsc::Receiver<SessionTraffic>) {
        while let Some(batch) = events.recv().await {
            let mut batches = vec![batch];
            while batches.len() < 256 {
                match events.try_recv() {
                    Ok(batch) => batches.push(batch),
                    Err(_) => break,
                }
            }
            {
                let mut inner = self.lock();
                for batch in batches {
                    let id = SourceId::Session(batch.session.to_string());
                    let state = Self::source_in(&mut inner, self.limits, &id);
                    state.version += 1;
                    for packet in batch.packets {
                        state.ingest(packet);
                    }
                }
            }
            self.changed.notify_one();
        }
    }

    /// Forgets a source (a deleted session); its viewers see it empty.
    pub fn remove(&self, id: &SourceId) {
        self.lock().sources.remove(id);
        self.changed.notify_one();
    }

    /// Forgets a source's traffic, and what every viewer of it had expanded.
    pub fn clear(&self, id: &SourceId) {
        {
            let mut inner = self.lock();
            let state = Self::source_in(&mut inner, self.limits, id);
            state.model.clear();
            state.sparkplug = SparkplugTracker::default();
            state.version += 1;
            for viewer in inner.viewers.values_mut().filter(|v| &v.source == id) {
                viewer.view = Default::default();
                viewer.watch = None;
                viewer.changed();
            }
        }
        self.changed.notify_one();
    }

    /// Opens a viewer of `source` whose frames go to `sink`; the first frame follows at once.
    pub fn open_viewer(&self, source: SourceId, sink: Arc<dyn FrameSink>) -> ViewerId {
        let id = self.next_viewer.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock().viewers.insert(id, Viewer::new(source, sink));
        self.changed.notify_one();
        id
    }

    /// Closes a viewer (its window closed).
    pub fn close_viewer(&self, viewer: ViewerId) {
        self.lock().viewers.remove(&viewer);
    }

    /// Viewers open now.
    pub fn viewers(&self) -> usize {
        self.lock().viewers.len()
    }

    /// Changes a viewer; false when there is no such viewer.
    fn with_viewer(&self, viewer: ViewerId, f: impl FnOnce(&mut Viewer, &mut Inner)) -> bool {
        let found = {
            let mut inner = self.lock();
            match inner.viewers.remove(&viewer) {
                Some(mut v) => {
                    f(&mut v, &mut inner);
                    v.changed();
                    inner.viewers.insert(viewer, v);
                    true
                }
                None => false,
            }
        };
        self.changed.notify_one();
        found
    }

    /// Sets which rows a viewer shows and its filter.
    pub fn set_view(
        &self,
        viewer: ViewerId,
        from: usize,
        count: usize,
        filter: TreeFilter,
    ) -> bool {
        self.with_viewer(viewer, |v, _| {
            v.window = (from, count.min(500));
            v.view.set_filter(filter);
        })
    }

    pub fn set_expanded(&self, viewer: ViewerId, node: NodeId, expanded: bool) -> bool {
        self.with_viewer(viewer, |v, _| v.view.set_expanded(node, expanded))
    }

    pub fn expand_all(&self, viewer: ViewerId, expanded: bool) -> bool {
        let limits = self.limits;
        self.with_viewer(viewer, |v, inner| {
            if expanded {
                let state = Self::source_in(inner, limits, &v.source);
                v.view.expand_all(&state.model.tree);
            } else {
                v.view.collapse_all();
            }
        })
    }

    /// The viewer's selected node's messages per second over the last `seconds` (starting the
    /// watch when it is a new selection); `None` for seconds not known.
    pub fn topic_series(
        &self,
        viewer: ViewerId,
        node: NodeId,
        seconds: usize,
        now_ms: u64,
    ) -> Option<Vec<Option<f64>>> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let v = inner.viewers.get_mut(&viewer)?;
        let state = Self::source_in_ref(&mut inner.sources, self.limits, &v.source);
        let tree = &state.model.tree;
        if !v.watching(node) {
            v.watch = Some(TopicWatch::start(tree, node, now_ms));
        }
        let watch = v.watch.as_mut()?;
        if !watch.sample(tree.node(node).map(|n| n.subtree_count), now_ms) {
            v.watch = None;
            return Some(vec![None; seconds]);
        }
        Some(watch.series(seconds))
    }

    fn source_in_ref<'a>(
        sources: &'a mut HashMap<SourceId, SourceState>,
        limits: SourceLimits,
        id: &SourceId,
    ) -> &'a mut SourceState {
        sources
            .entry(id.clone())
            .or_insert_with(|| SourceState::new(limits))
    }

    /// The source a viewer looks at.
    pub fn viewer_source(&self, viewer: ViewerId) -> Option<SourceId> {
        self.lock().viewers.get(&viewer).map(|v| v.source.clone())
    }

    /// Builds the frames that are due at `now_ms` and sends them. Returns when the next frame
    /// is due even if nothing changes (a source still active), if ever.
    pub fn send_due_frames(&self, now_ms: u64, dropped: u64) -> Option<u64> {
        let mut due = Vec::new();
        let mut next: Option<u64> = None;
        {
            let mut inner = self.lock();
            let Inner { sources, viewers } = &mut *inner;
            for (id, viewer) in viewers.iter_mut() {
                let state = Self::source_in_ref(sources, self.limits, &viewer.source);
                let seen = (state.version, viewer.view_generation);
                // Rates and charts move for a minute after the last message: a frame a second
                // until one was sent after that minute (showing them back at zero). A keep-alive
                // ping moves no rate: it sends one frame (the packet log changed), no more.
                let last_packet = state.model.last_message_ms();
                let moving = last_packet > 0 && viewer.last_sent_ms < last_packet + ACTIVE_MS;
                let refresh = moving && now_ms >= viewer.last_sent_ms + REFRESH_MS;
                if viewer.sent != Some(seen) || refresh {
                    due.push((
                        *id,
                        viewer.sink.clone(),
                        frame(*id, viewer, state, now_ms, dropped),
                    ));
                    viewer.sent = Some(seen);
                    viewer.last_sent_ms = now_ms;
                }
                if last_packet > 0 && viewer.last_sent_ms < last_packet + ACTIVE_MS {
                    let at = viewer.last_sent_ms + REFRESH_MS;
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        let gone: Vec<ViewerId> = due
            .into_iter()
            .filter_map(|(id, sink, frame)| (!sink.send(frame)).then_some(id))
            .collect();
        if !gone.is_empty() {
            let mut inner = self.lock();
            for id in gone {
                inner.viewers.remove(&id);
            }
        }
        next
    }

    /// Pushes frames to every viewer until `stop` resolves: after each change (at most every
    /// [`FRAME_INTERVAL`]), and once a second while a viewer's source is active. Sleeps, costing
    /// nothing, while nothing changes.
    pub async fn pump_frames(
        self: Arc<Self>,
        dropped: impl Fn() -> u64 + Send + 'static,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        loop {
            let now_ms = crate::now_ms();
            let next = self.send_due_frames(now_ms, dropped());
            // Pacing first: changes during it are kept by the Notify's permit.
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(FRAME_INTERVAL) => {}
            }
            let wait = next.map(|at| Duration::from_millis(at.saturating_sub(crate::now_ms())));
            tokio::select! {
                _ = &mut stop => return,
                _ = self.changed.notified() => {}
                _ = async {
                    match wait {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
    }
}

/// The frame of one viewer.
fn frame(
    id: ViewerId,
    viewer: &mut Viewer,
    state: &mut SourceState,
    now_ms: u64,
    dropped: u64,
) -> Frame {
    let (from, count) = viewer.window;
    let tree = &mut state.model.tree;
    let row_count = viewer.view.row_count(tree);
    let from = from.min(row_count.saturating_sub(1));
    let rows = viewer.view.rows(tree, from, count, now_ms);
    let second = now_ms / 1000;
    let model = &state.model;
    Frame {
        viewer: id,
        source: viewer.source.clone(),
        rows,
        row_count,
        from,
        topics: model.tree.len(),
        messages: model.tree.messages(),
        rate_in: model.rates.rates(second).messages_1s,
        rate_out: model.rates_out.rates(second).messages_1s,
        history_bytes: model.tree.history_bytes(),
        packets: model.packets_total(),
        dropped: if viewer.source == SourceId::Broker {
            dropped
        } else {
            0
        },
        not_shown: model.tree.not_shown(),
        matches: viewer.view.matches(),
    }
}

/// Applies one broker event to the broker's model; true when the broker's clients changed.
pub(crate) fn apply_broker_event(state: &mut SourceState, event: BrokerEvent) -> BrokerChange {
    let model = &mut state.model;
    let now_ms = workbench_wire::now_ms();
    let notice = |kind, client_id: String, remote, detail: String| Notice {
        time_ms: now_ms,
        kind,
        client_id,
        remote,
        detail,
    };
    match event {
        BrokerEvent::Packets(batch) => {
            for packet in batch.into_events() {
                state.ingest(packet);
            }
            BrokerChange::Counters
        }
        BrokerEvent::Connected {
            client_id,
            remote,
            version,
        } => {
            model.notice(notice(
                NoticeKind::Connected,
                client_id,
                Some(remote),
                format!("MQTT {}", version.label()),
            ));
            BrokerChange::Clients
        }
        BrokerEvent::Refused {
            client_id,
            remote,
            reason,
        } => {
            model.notice(notice(NoticeKind::Refused, client_id, Some(remote), reason));
            BrokerChange::Counters
        }
        BrokerEvent::Subscribed {
            client_id,
            filter,
            qos,
        } => {
            model.notice(notice(
                NoticeKind::Subscribed,
                client_id,
                None,
                format!("{filter} (QoS {qos})"),
            ));
            BrokerChange::Clients
        }
        BrokerEvent::Unsubscribed { client_id, filter } => {
            model.notice(notice(NoticeKind::Unsubscribed, client_id, None, filter));
            BrokerChange::Clients
        }
        BrokerEvent::Retained { topic, present } => {
            if !present {
                model.tree.forget_retained(&topic);
            }
            BrokerChange::Counters
        }
        BrokerEvent::Disconnected {
            client_id,
            remote,
            reason,
            dropped_qos0,
        } => {
            // Every close but a plain DISCONNECT publishes the client's will: for a Sparkplug
            // edge node, its NDEATH (which the broker publishes without a packet we see).
            if reason != "client disconnected" {
                state.sparkplug.connection_lost(&client_id);
            }
            let detail = if dropped_qos0 > 0 {
                format!(
                    "{reason}; {dropped_qos0} QoS 0 messages were dropped because it read too slowly"
                )
            } else {
                reason
            };
            model.notice(notice(
                NoticeKind::Disconnected,
                client_id,
                Some(remote),
                detail,
            ));
            BrokerChange::Clients
        }
    }
}

#[cfg(test)]
mod tests;
