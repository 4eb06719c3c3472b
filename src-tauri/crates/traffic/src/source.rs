//! One source's model (the embedded broker, or one client session): its topic tree, the rate of
//! its messages, its packet log and the clients it has seen. Everything here is bounded.

use super::history::HistoryLimits;
use super::rates::RateWindow;
use super::tree::{Incoming, TopicTree};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// Limits of one source's model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimits {
    pub history: HistoryLimits,
    /// Packets kept in the packet log.
    pub packets: usize,
    /// Clients remembered.
    pub clients: usize,
}

impl Default for SourceLimits {
    fn default() -> Self {
        SourceLimits {
            history: HistoryLimits::default(),
            packets: 10_000,
            clients: 10_000,
        }
    }
}

/// A client as the traffic showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSeen {
    pub client_id: Arc<str>,
    pub remote: Option<std::net::SocketAddr>,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    pub subscriptions: BTreeSet<String>,
    pub publishes: u64,
}

/// What happened to a client connection, in words (connects, refusals with their reason,
/// subscriptions, disconnects with their reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub time_ms: u64,
    pub kind: NoticeKind,
    pub client_id: String,
    pub remote: Option<std::net::SocketAddr>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
pub enum NoticeKind {
    Connected,
    Refused,
    Subscribed,
    Unsubscribed,
    Disconnected,
}

/// How many notices a source keeps.
pub const NOTICES: usize = 200;

/// The longest topic a packet log entry keeps, in bytes (the tree has the topic whole).
pub const LOGGED_TOPIC_BYTES: usize = 1024;
/// The most decoded fields a packet log entry keeps, and the longest value of each.
pub const LOGGED_FIELDS: usize = 64;
pub const LOGGED_FIELD_BYTES: usize = 1024;
/// Subscriptions remembered per client seen.
const MAX_SUBSCRIPTIONS_SEEN: usize = 1000;

/// Cuts `text` to at most `max` bytes at a character boundary, marking the cut.
fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let dropped = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("…(+{dropped} bytes)"));
}

/// Bounds what one packet log entry holds, whatever the peer sent: a log of 10,000 packets with
/// 65 kB topics or 100,000 user properties each must not take gigabytes.
fn bound_for_the_log(summary: &mut workbench_wire::PacketSummary) {
    if let Some(topic) = &mut summary.topic {
        cut(topic, LOGGED_TOPIC_BYTES);
    }
    bound_fields(summary);
}

/// A PUBLISH a fault rule dropped (its first field is `fault: drop`): listed in the log, never a
/// message of the tree or the rates, as it never got through.
fn lost_on_purpose(summary: &workbench_wire::PacketSummary) -> bool {
    summary
        .fields
        .first()
        .is_some_and(|(name, value)| *name == "fault" && value == "drop")
}

/// Bounds the decoded fields (also kept with each message in a topic's history).
fn bound_fields(summary: &mut workbench_wire::PacketSummary) {
    if summary.fields.len() > LOGGED_FIELDS {
        let more = summary.fields.len() - LOGGED_FIELDS;
        summary.fields.truncate(LOGGED_FIELDS);
        summary
            .fields
            .push(("More Fields", format!("{more} not kept")));
    }
    for (_, value) in &mut summary.fields {
        cut(value, LOGGED_FIELD_BYTES);
    }
}

/// One source's traffic.
#[derive(Debug)]
pub struct SourceModel {
    pub tree: TopicTree,
    /// Messages published into this source, per second.
    pub rates: RateWindow,
    /// Messages delivered out of this source, per second.
    pub rates_out: RateWindow,
    packets: VecDeque<PacketEvent>,
    packets_total: u64,
    clients: HashMap<Arc<str>, ClientSeen>,
    notices: VecDeque<Notice>,
    limits: SourceLimits,
    /// When the last packet arrived (ms since the Unix epoch; 0: never).
    last_packet_ms: u64,
    last_message_ms: u64,
}

fn millis(time: std::time::SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl SourceModel {
    pub fn new(limits: SourceLimits) -> SourceModel {
        SourceModel {
            tree: TopicTree::new(limits.history),
            rates: RateWindow::default(),
            rates_out: RateWindow::default(),
            packets: VecDeque::with_capacity(limits.packets.min(1024)),
            packets_total: 0,
            clients: HashMap::new(),
            notices: VecDeque::new(),
            limits,
            last_packet_ms: 0,
            last_message_ms: 0,
        }
    }

    /// Takes in one packet: every packet goes to the log; a PUBLISH into the source also goes to
    /// the topic tree (its payload moves there; the log keeps only the packet's fields).
    pub fn ingest(&mut self, mut event: PacketEvent) {
        let time_ms = millis(event.time);
        self.last_packet_ms = self.last_packet_ms.max(time_ms);
        let second = time_ms / 1000;
        let summary = &mut event.summary;
        if summary.kind == PacketKind::Publish && !lost_on_purpose(summary) {
            self.last_message_ms = self.last_message_ms.max(time_ms);
            match event.direction {
                Direction::Inbound => {
                    let payload = summary.payload.take().unwrap_or_default();
                    bound_fields(summary);
                    // The decoded properties of a PUBLISH are all its fields.
                    let properties = (!summary.fields.is_empty())
                        .then(|| summary.fields.clone().into_boxed_slice());
                    if let Some(topic) = summary.topic.as_deref() {
                        self.tree.record_with(
                            &Incoming {
                                topic,
                                payload: &payload,
                                qos: summary.qos,
                                retain: summary.retain,
                                time_ms,
                            },
                            properties,
                        );
                    }
                    self.rates.record(second, summary.payload_len as u64);
                }
                Direction::Outbound => {
                    summary.payload = None;
                    if summary.retain && summary.payload_len == 0 {
                        if let Some(topic) = summary.topic.as_deref() {
                            self.tree.forget_retained(topic);
                        }
                    }
                    self.rates_out.record(second, summary.payload_len as u64);
                }
            }
        }
        self.note_client(&event, time_ms);
        bound_for_the_log(&mut event.summary);
        self.packets_total += 1;
        if self.packets.len() >= self.limits.packets {
            self.packets.pop_front();
        }
        self.packets.push_back(event);
    }

    fn note_client(&mut self, event: &PacketEvent, time_ms: u64) {
        if event.client_id.is_empty() {
            return;
        }
        if !self.clients.contains_key(&event.client_id) && self.clients.len() >= self.limits.clients
        {
            // Forget the client seen longest ago.
            if let Some(oldest) = self
                .clients
                .values()
                .min_by_key(|c| c.last_seen_ms)
                .map(|c| c.client_id.clone())
            {
                self.clients.remove(&oldest);
            }
        }
        let client = self
            .clients
            .entry(event.client_id.clone())
            .or_insert_with(|| ClientSeen {
                client_id: event.client_id.clone(),
                remote: event.remote,
                first_seen_ms: time_ms,
                last_seen_ms: time_ms,
                subscriptions: BTreeSet::new(),
                publishes: 0,
            });
        client.last_seen_ms = time_ms;
        if event.direction == Direction::Inbound {
            match event.summary.kind {
                PacketKind::Publish => client.publishes += 1,
                PacketKind::Subscribe => {
                    if let Some(filter) = &event.summary.topic {
                        if client.subscriptions.len() < MAX_SUBSCRIPTIONS_SEEN {
                            client.subscriptions.insert(filter.clone());
                        }
                    }
                }
                PacketKind::Unsubscribe => {
                    if let Some(filter) = &event.summary.topic {
                        client.subscriptions.remove(filter);
                    }
                }
                _ => {}
            }
        }
    }

    /// Records a connection notice, keeping the latest [`NOTICES`].
    pub fn notice(&mut self, notice: Notice) {
        if self.notices.len() >= NOTICES {
            self.notices.pop_front();
        }
        self.notices.push_back(notice);
    }

    /// Notices, newest first.
    pub fn notices(&self) -> impl Iterator<Item = &Notice> {
        self.notices.iter().rev()
    }

    /// The packet log, oldest first.
    pub fn packets(&self) -> impl DoubleEndedIterator<Item = &PacketEvent> {
        self.packets.iter()
    }

    /// Packets seen since the model was made or cleared (the log keeps only the latest).
    /// When the last packet arrived (ms since the Unix epoch; 0: never).
    pub fn last_packet_ms(&self) -> u64 {
        self.last_packet_ms
    }

    /// When the last PUBLISH arrived or left (ms since the Unix epoch; 0: never): what moves
    /// the rates. Keep-alive pings and acknowledgements alone do not.
    pub fn last_message_ms(&self) -> u64 {
        self.last_message_ms
    }

    pub fn packets_total(&self) -> u64 {
        self.packets_total
    }

    pub fn clients(&self) -> Vec<&ClientSeen> {
        let mut list: Vec<&ClientSeen> = self.clients.values().collect();
        list.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        list
    }

    /// Forgets all traffic (the tree, rates, packets and clients).
    pub fn clear(&mut self) {
        *self = SourceModel::new(self.limits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};
    use workbench_wire::PacketSummary;

    fn publish(client: &str, topic: &str, payload: &[u8], second: u64) -> PacketEvent {
        PacketEvent {
            connection: 1,
            client_id: Arc::from(client),
            remote: None,
            direction: Direction::Inbound,
            summary: PacketSummary {
                kind: PacketKind::Publish,
                packet_id: None,
                qos: 0,
                retain: false,
                dup: false,
                topic: Some(topic.to_string()),
                payload_len: payload.len(),
                size: payload.len() + 4 + topic.len(),
                reason: None,
                payload: Some(bytes::Bytes::copy_from_slice(payload)),
                fields: Vec::new(),
            },
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(second),
        }
    }

    #[test]
    fn publishes_feed_the_tree_and_the_log_stays_bounded() {
        let mut model = SourceModel::new(SourceLimits {
            packets: 5,
            ..SourceLimits::default()
        });
        for i in 0..20 {
            model.ingest(publish("sensor", "s/t", b"42", 100 + i / 10));
        }
        assert_eq!(
            model
                .tree
                .node(model.tree.find("s/t").unwrap())
                .unwrap()
                .own_count,
            20
        );
        assert_eq!(model.packets().count(), 5);
        assert_eq!(model.packets_total(), 20);
        assert!(
            model.packets().all(|p| p.summary.payload.is_none()),
            "the log keeps no payloads"
        );
        assert_eq!(model.rates.rates(102).messages_1s, 10.0);
        let clients = model.clients();
        assert_eq!(clients.len(), 1);
        assert_eq!(clients[0].publishes, 20);
    }

    #[test]
    fn the_log_keeps_a_bounded_copy_of_what_peers_send() {
        let mut model = SourceModel::new(SourceLimits::default());
        let mut event = publish("c", &"t/".repeat(30_000), b"x", 1);
        event.summary.fields = (0..100_000)
            .map(|i| ("User Property", format!("k{i} = {}", "v".repeat(2000))))
            .collect();
        model.ingest(event);
        let logged = model.packets.back().expect("logged");
        let topic = logged.summary.topic.as_deref().unwrap_or_default();
        assert!(topic.len() < LOGGED_TOPIC_BYTES + 32, "{}", topic.len());
        assert!(topic.ends_with("bytes)"));
        assert_eq!(logged.summary.fields.len(), LOGGED_FIELDS + 1);
        assert!(logged
            .summary
            .fields
            .iter()
            .all(|(_, v)| v.len() < LOGGED_FIELD_BYTES + 32));
    }

    #[test]
    fn a_publish_a_fault_dropped_is_logged_but_never_a_message() {
        let mut model = SourceModel::new(SourceLimits::default());
        let mut event = publish("dev1", "lost/t", b"", 1);
        event.summary.fields = vec![("fault", "drop".to_string())];
        model.ingest(event);
        assert!(model.tree.find("lost/t").is_none());
        assert_eq!(model.packets().count(), 1);
    }
}
