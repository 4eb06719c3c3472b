//! All sources' models behind one lock, the views the UI has open on them, and the ingestion
//! loop that drains the broker's event channel in batches. Pure Rust: the IPC layer reads frames
//! from here at its own pace (about 30 a second), so the UI's cost never scales with message
//! rates.

use super::source::{Notice, NoticeKind, SourceLimits, SourceModel};
use super::tree::NodeId;
use super::view::{Row, TreeFilter, TreeView};
use crate::broker::BrokerEvent;
use crate::session::SessionTraffic;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

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
}

/// Every source's traffic.
#[derive(Debug, Default)]
pub struct TrafficHub {
    sources: Mutex<HashMap<String, Source>>,
    limits: SourceLimits,
    /// Bumped by every ingestion; frames are only built when it moved or the view changed.
    version: std::sync::atomic::AtomicU64,
}

impl TrafficHub {
    pub fn new(limits: SourceLimits) -> Arc<TrafficHub> {
        Arc::new(TrafficHub {
            sources: Mutex::new(HashMap::new()),
            limits,
            version: Default::default(),
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
                    let now_ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() as u64)
                        .unwrap_or(0);
                    let notice = |kind, client_id: String, remote, detail: String| Notice {
                        time_ms: now_ms,
                        kind,
                        client_id,
                        remote,
                        detail,
                    };
                    match event {
                        BrokerEvent::Packets(packets) => {
                            for packet in packets {
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
                        BrokerEvent::Disconnected {
                            client_id,
                            remote,
                            reason,
                        } => source.model.notice(notice(
                            NoticeKind::Disconnected,
                            client_id,
                            Some(remote),
                            reason,
                        )),
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
        tx.send(BrokerEvent::Packets(vec![crate::traffic::PacketEvent {
            connection: 1,
            client_id: std::sync::Arc::from("dev"),
            remote: Some(remote),
            direction: crate::traffic::Direction::Inbound,
            summary: crate::traffic::PacketSummary {
                kind: crate::traffic::PacketKind::Publish,
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
        }]))
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
}
