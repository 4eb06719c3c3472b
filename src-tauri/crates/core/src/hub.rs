//! All sources' models behind one lock, the views the UI has open on them, and the ingestion
//! loop that drains the broker's event channel in batches. Pure Rust: the IPC layer reads frames
//! from here at its own pace (about 30 a second), so the UI's cost never scales with message
//! rates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use workbench_broker::BrokerEvent;
use workbench_session::SessionTraffic;
use workbench_traffic::source::{Notice, NoticeKind, SourceLimits, SourceModel};
use workbench_traffic::tree::NodeId;
use workbench_traffic::view::{Row, TreeFilter, TreeView};

/// The id of the embedded broker's source.
pub const BROKER_SOURCE: &str = "broker";

/// One source and the view the UI has on it.
#[derive(Debug)]
pub struct Source {
    pub model: SourceModel,
    pub view: TreeView,
    /// Which rows the UI shows: `from..from + count`.
    pub window: (usize, usize),
}

/// What a frame tells the UI about a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub source: String,
    pub rows: Vec<Row>,
    pub row_count: usize,
    pub from: usize,
    pub topics: usize,
    pub messages: u64,
    pub rate_in: f64,
    pub rate_out: f64,
    pub history_bytes: usize,
    pub packets: u64,
    /// Events the broker dropped because this model fell behind (never expected; shown if so).
    pub dropped: u64,
    /// Topics and their messages counted but not shown in the tree (too deep, or too many).
    pub not_shown: workbench_traffic::tree::NotShown,
}

/// Every source's traffic.
#[derive(Debug, Default)]
pub struct TrafficHub {
    sources: Mutex<HashMap<String, Source>>,
    limits: SourceLimits,
    /// Bumped by every ingestion; frames are only built when it moved or the view changed.
    version: std::sync::atomic::AtomicU64,
    /// The one topic whose rate is charted (the selected node), sampled once a second.
    watch: Mutex<Option<TopicWatch>>,
}

/// The most nodes a selection's rate backfill reads (beyond that the chart starts empty).
const BACKFILL_NODES: usize = 200_000;

/// Per-second message counts of one node (its whole subtree), sampled from its counters: no
/// cost on the message path, and only for the topic the user looks at.
#[derive(Debug)]
struct TopicWatch {
    source: String,
    node: NodeId,
    second: u64,
    count: u64,
    /// One value per second, oldest first; at most `rates::HISTORY`.
    values: std::collections::VecDeque<f64>,
}

impl TrafficHub {
    pub fn new(limits: SourceLimits) -> Arc<TrafficHub> {
        Arc::new(TrafficHub {
            sources: Mutex::new(HashMap::new()),
            limits,
            version: Default::default(),
            watch: Mutex::new(None),
        })
    }

    /// The lock over all sources. std Mutex: no await happens while it is held.
    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, Source>> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a source, creating it when new.
    pub fn with_source<T>(&self, id: &str, f: impl FnOnce(&mut Source) -> T) -> T {
        let mut sources = self.lock();
        let source = sources
            .entry(id.to_string())
            .or_insert_with(|| self.new_source());
        self.touch();
        f(source)
    }

    /// Marks the model changed (a frame is due).
    pub fn touch(&self) {
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Drains broker events into the broker source until the channel closes. Each batch is taken
    /// under one lock; the channel is bounded by its sender, so memory stays bounded.
    pub async fn ingest_broker(self: Arc<Self>, mut events: mpsc::Receiver<BrokerEvent>) {
        while let Some(event) = events.recv().await {
            let mut batches = vec![event];
            // Take whatever else is already queued, then apply it all at once.
            while batches.len() < 256 {
                match events.try_recv() {
                    Ok(event) => batches.push(event),
                    Err(_) => break,
                }
            }
            self.with_source(BROKER_SOURCE, |source| {
                for event in batches {
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
                                source.model.ingest(packet);
                            }
                        }
                        BrokerEvent::Connected {
                            client_id,
                            remote,
                            version,
                        } => source.model.notice(notice(
                            NoticeKind::Connected,
                            client_id,
                            Some(remote),
                            format!("MQTT {}", version.label()),
                        )),
                        BrokerEvent::Refused {
                            client_id,
                            remote,
                            reason,
                        } => source.model.notice(notice(
                            NoticeKind::Refused,
                            client_id,
                            Some(remote),
                            reason,
                        )),
                        BrokerEvent::Subscribed {
                            client_id,
                            filter,
                            qos,
                        } => source.model.notice(notice(
                            NoticeKind::Subscribed,
                            client_id,
                            None,
                            format!("{filter} (QoS {qos})"),
                        )),
                        BrokerEvent::Unsubscribed { client_id, filter } => source
                            .model
                            .notice(notice(NoticeKind::Unsubscribed, client_id, None, filter)),
                        BrokerEvent::Retained { topic, present } => {
                            if !present {
                                source.model.tree.forget_retained(&topic);
                            }
                        }
                        BrokerEvent::Disconnected {
                            client_id,
                            remote,
                            reason,
                            dropped_qos0,
                        } => {
                            let detail = if dropped_qos0 > 0 {
                                format!(
                                    "{reason}; {dropped_qos0} QoS 0 messages were dropped \
                                     because it read too slowly"
                                )
                            } else {
                                reason
                            };
                            source.model.notice(notice(
                                NoticeKind::Disconnected,
                                client_id,
                                Some(remote),
                                detail,
                            ))
                        }
                    }
                }
            });
        }
    }

    /// Drains the client sessions' packet batches into their sources ("session:<id>") until the
    /// channel closes; like the broker's, bounded by its sender.
    pub async fn ingest_sessions(self: Arc<Self>, mut events: mpsc::Receiver<SessionTraffic>) {
        while let Some(batch) = events.recv().await {
            let mut batches = vec![batch];
            while batches.len() < 256 {
                match events.try_recv() {
                    Ok(batch) => batches.push(batch),
                    Err(_) => break,
                }
            }
            let mut sources = self.lock();
            for batch in batches {
                let source = sources
                    .entry(batch.source.to_string())
                    .or_insert_with(|| self.new_source());
                for packet in batch.packets {
                    source.model.ingest(packet);
                }
            }
            drop(sources);
            self.touch();
        }
    }

    fn subtree_count(&self, source: &str, node: NodeId) -> Option<u64> {
        let sources = self.lock();
        let tree = &sources.get(source)?.model.tree;
        tree.node(node).map(|n| n.subtree_count)
    }

    /// Starts charting a node's rate (a no-op when it already is the charted node). The seconds
    /// before the selection are filled from the kept histories, as far back as they are exact,
    /// so a topic shows its recent past at once instead of starting empty.
    pub fn watch_topic(&self, source: &str, node: NodeId, now_ms: u64) {
        let mut watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        if watch
            .as_ref()
            .is_some_and(|w| w.source == source && w.node == node)
        {
            return;
        }
        let second = now_ms / 1000;
        let (count, past) = {
            let sources = self.lock();
            let tree = sources.get(source).map(|s| &s.model.tree);
            let count = tree
                .and_then(|t| t.node(node))
                .map_or(0, |n| n.subtree_count);
            let from = second.saturating_sub(workbench_traffic::rates::HISTORY as u64);
            let past = tree.and_then(|t| t.recent_counts(node, from, second + 1, BACKFILL_NODES));
            (count, past)
        };
        let mut values = std::collections::VecDeque::new();
        let mut baseline = count;
        if let Some((exact_from, mut counts)) = past {
            // The current second is still running: the first sample counts it whole.
            if exact_from <= second {
                baseline -= counts.pop().unwrap_or(0).min(count);
            }
            values.extend(counts.into_iter().map(|c| c as f64));
        }
        *watch = Some(TopicWatch {
            source: source.to_string(),
            node,
            second,
            count: baseline,
            values,
        });
    }

    /// Takes the charted node's count once a second (called from the frame loop).
    pub fn sample(&self, now_ms: u64) {
        let second = now_ms / 1000;
        let (source, node) = {
            let watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
            match watch.as_ref() {
                Some(w) if w.second < second => (w.source.clone(), w.node),
                _ => return,
            }
        };
        let count = self.subtree_count(&source, node);
        let mut guard = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = guard
            .as_mut()
            .filter(|w| w.source == source && w.node == node)
        else {
            return;
        };
        let Some(count) = count else {
            *guard = None; // the source was cleared or removed
            return;
        };
        let elapsed = second - w.second;
        let delta = count.saturating_sub(w.count) as f64;
        // Messages since the last sample, spread over the seconds that passed (one, normally).
        for _ in 0..elapsed.min(workbench_traffic::rates::HISTORY as u64) {
            w.values.push_back(delta / elapsed as f64);
            if w.values.len() > workbench_traffic::rates::HISTORY {
                w.values.pop_front();
            }
        }
        w.second = second;
        w.count = count;
    }

    /// The charted node's last `seconds` per-second values (`None` before it was watched).
    pub fn topic_series(&self, source: &str, node: NodeId, seconds: usize) -> Vec<Option<f64>> {
        let watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let known: Vec<f64> = match watch.as_ref() {
            Some(w) if w.source == source && w.node == node => w.values.iter().copied().collect(),
            _ => Vec::new(),
        };
        let start = known.len().saturating_sub(seconds);
        let mut out = vec![None; seconds.saturating_sub(known.len() - start)];
        out.extend(known[start..].iter().map(|v| Some(*v)));
        out
    }

    /// Forgets a source (a deleted session).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
        self.touch();
    }

    fn new_source(&self) -> Source {
        Source {
            model: SourceModel::new(self.limits),
            view: TreeView::default(),
            window: (0, 100),
        }
    }

    /// The frame for a source's current view, as of `now_ms`.
    pub fn frame(&self, id: &str, now_ms: u64, dropped: u64) -> Frame {
        self.with_source(id, |source| {
            let (from, count) = source.window;
            let tree = &mut source.model.tree;
            let row_count = source.view.row_count(tree);
            let from = from.min(row_count.saturating_sub(1));
            let rows = source.view.rows(tree, from, count, now_ms);
            let second = now_ms / 1000;
            Frame {
                source: id.to_string(),
                rows,
                row_count,
                from,
                topics: source.model.tree.len(),
                messages: source.model.tree.messages(),
                rate_in: source.model.rates.rates(second).messages_1s,
                rate_out: source.model.rates_out.rates(second).messages_1s,
                history_bytes: source.model.tree.history_bytes(),
                packets: source.model.packets_total(),
                dropped,
                not_shown: source.model.tree.not_shown(),
            }
        })
    }

    /// Sets the rows the UI shows and the filter.
    pub fn set_view(&self, id: &str, from: usize, count: usize, filter: TreeFilter) {
        self.with_source(id, |source| {
            source.window = (from, count.min(500));
            source.view.set_filter(filter);
        });
    }

    pub fn set_expanded(&self, id: &str, node: NodeId, expanded: bool) {
        self.with_source(id, |source| source.view.set_expanded(node, expanded));
    }

    pub fn expand_all(&self, id: &str, expanded: bool) {
        self.with_source(id, |source| {
            if expanded {
                source.view.expand_all(&source.model.tree);
            } else {
                source.view.collapse_all();
            }
        });
    }

    pub fn clear(&self, id: &str) {
        self.with_source(id, |source| {
            source.model.clear();
            source.view = TreeView::default();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn broker_events_become_traffic_and_notices() {
        let hub = TrafficHub::new(SourceLimits::default());
        let (tx, rx) = mpsc::channel(8);
        let task = tokio::spawn(hub.clone().ingest_broker(rx));
        let remote: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
        tx.send(BrokerEvent::Refused {
            client_id: "dev".into(),
            remote,
            reason: "wrong username or password for user 'dev'".into(),
        })
        .await
        .unwrap();
        tx.send(BrokerEvent::Packets(workbench_broker::PacketBatch::new(
            vec![workbench_wire::PacketEvent {
                connection: 1,
                client_id: std::sync::Arc::from("dev"),
                remote: Some(remote),
                direction: workbench_wire::Direction::Inbound,
                summary: workbench_wire::PacketSummary {
                    kind: workbench_wire::PacketKind::Publish,
                    packet_id: None,
                    qos: 0,
                    retain: false,
                    dup: false,
                    topic: Some("a/b".into()),
                    payload_len: 2,
                    size: 9,
                    reason: None,
                    payload: Some(bytes::Bytes::from_static(b"hi")),
                    fields: Vec::new(),
                },
                time: std::time::SystemTime::now(),
            }],
        )))
        .await
        .unwrap();
        drop(tx);
        task.await.unwrap();
        let frame = hub.frame(BROKER_SOURCE, 0, 0);
        assert_eq!(frame.messages, 1);
        assert_eq!(frame.rows.len(), 1, "one top-level row: a");
        hub.with_source(BROKER_SOURCE, |s| {
            let notices: Vec<_> = s.model.notices().collect();
            assert_eq!(notices.len(), 1);
            assert_eq!(notices[0].kind, NoticeKind::Refused);
            assert!(notices[0].detail.contains("wrong username"));
        });
    }

    #[test]
    fn a_watched_topic_gets_one_rate_value_per_second_and_its_recent_past_at_once() {
        use workbench_traffic::tree::Incoming;
        let hub = TrafficHub::new(SourceLimits::default());
        let record = |n: usize, time_ms: u64| {
            hub.with_source("s", |s| {
                for _ in 0..n {
                    s.model.tree.record(&Incoming {
                        topic: "a/b",
                        payload: b"x",
                        qos: 0,
                        retain: false,
                        time_ms,
                    });
                }
            })
        };
        record(2, 8_100);
        record(1, 9_500);
        record(3, 10_200);
        let node = hub.with_source("s", |s| s.model.tree.find("a").unwrap());
        hub.watch_topic("s", node, 10_400);
        // Seconds 7, 8 and 9 come from the histories; the running second 10 is not shown yet.
        assert_eq!(
            hub.topic_series("s", node, 3),
            vec![Some(0.0), Some(2.0), Some(1.0)]
        );
        record(2, 10_700);
        hub.sample(10_900); // same second: nothing yet
        hub.sample(11_000);
        record(4, 12_000);
        hub.sample(13_000); // two seconds passed: 4 messages spread over them
        assert_eq!(
            hub.topic_series("s", node, 5),
            vec![Some(2.0), Some(1.0), Some(5.0), Some(2.0), Some(2.0)]
        );
        // Another node resets the watch; the old one reads as unknown.
        let other = hub.with_source("s", |s| s.model.tree.find("a/b").unwrap());
        hub.watch_topic("s", other, 13_000);
        assert_eq!(hub.topic_series("s", node, 1), vec![None]);
        // A node whose history dropped messages starts where it is exact: a/b keeps 100 of
        // its 107 messages, the oldest kept at 10.7 s, so seconds from 11 on are known.
        record(95, 12_500);
        hub.watch_topic("s", node, 13_100);
        assert_eq!(
            hub.topic_series("s", node, 5),
            vec![None, None, None, Some(0.0), Some(99.0)]
        );
    }
}
