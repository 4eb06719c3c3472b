//! Broker-wide counters, the connected clients as the dashboard shows them, and the `$SYS`
//! values built from both (in mosquitto's topic layout, so existing dashboards carry over).
//!
//! Counters are added per batch by each connection (one atomic add per I/O step, not per
//! packet); a client's subscriptions are kept here as they change, one entry at a time.

use crate::door::Counts;
use crate::router::session::SessionCell;
use crate::router::Router;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};
use wire::ProtocolVersion;

/// Counters kept with relaxed atomics: each is independent, and readers need a recent value.
#[derive(Debug, Default)]
pub struct Counters {
    pub messages_received: AtomicU64,
    pub messages_sent: AtomicU64,
    pub publish_received: AtomicU64,
    pub publish_sent: AtomicU64,
    pub bytes_received: AtomicU64,
    pub bytes_sent: AtomicU64,
}

impl Counters {
    pub fn add(&self, counts: &Counts) {
        let add = |counter: &AtomicU64, value: u64| {
            if value > 0 {
                counter.fetch_add(value, Relaxed);
            }
        };
        add(&self.messages_received, counts.packets_in);
        add(&self.messages_sent, counts.packets_out);
        add(&self.publish_received, counts.publish_in);
        add(&self.publish_sent, counts.publish_out);
        add(&self.bytes_received, counts.bytes_in);
        add(&self.bytes_sent, counts.bytes_out);
    }
}

/// A connected client, as the broker keeps it while it is connected.
#[derive(Debug)]
pub struct ClientRecord {
    pub connection: u64,
    pub client_id: Arc<str>,
    pub remote: SocketAddr,
    pub version: ProtocolVersion,
    pub keep_alive: u16,
    pub clean_session: bool,
    pub connected_at: SystemTime,
    pub session: Arc<SessionCell>,
    subscriptions: Mutex<BTreeMap<String, u8>>,
    pub counters: Counters,
}

impl ClientRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        connection: u64,
        client_id: Arc<str>,
        remote: SocketAddr,
        version: ProtocolVersion,
        keep_alive: u16,
        clean_session: bool,
        session: Arc<SessionCell>,
        subscriptions: impl IntoIterator<Item = (String, u8)>,
    ) -> ClientRecord {
        ClientRecord {
            connection,
            client_id,
            remote,
            version,
            keep_alive,
            clean_session,
            connected_at: SystemTime::now(),
            session,
            subscriptions: Mutex::new(subscriptions.into_iter().collect()),
            counters: Counters::default(),
        }
    }

    fn subscriptions(&self) -> MutexGuard<'_, BTreeMap<String, u8>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribed(&self, filter: &str, qos: u8) {
        self.subscriptions().insert(filter.to_string(), qos);
    }

    pub fn unsubscribed(&self, filter: &str) {
        self.subscriptions().remove(filter);
    }

    /// A snapshot for the dashboard, with at most `max_subscriptions` of its subscriptions.
    pub fn info(&self, max_subscriptions: usize) -> ClientInfo {
        let subscriptions = self.subscriptions();
        let c = &self.counters;
        ClientInfo {
            connection: self.connection,
            client_id: self.client_id.to_string(),
            remote: self.remote,
            version: self.version,
            keep_alive: self.keep_alive,
            clean_session: self.clean_session,
            connected_at: self.connected_at,
            subscription_count: subscriptions.len(),
            subscriptions: subscriptions
                .iter()
                .take(max_subscriptions)
                .map(|(f, q)| (f.clone(), *q))
                .collect(),
            publish_received: c.publish_received.load(Relaxed),
            publish_sent: c.publish_sent.load(Relaxed),
            bytes_received: c.bytes_received.load(Relaxed),
            bytes_sent: c.bytes_sent.load(Relaxed),
            dropped_qos0: self.session.counters.dropped_qos0.load(Relaxed),
            dropped_qos12: self.session.counters.dropped_qos12.load(Relaxed),
            queued: self.session.queued(),
        }
    }
}

/// A connected client, as the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientInfo {
    pub connection: u64,
    pub client_id: String,
    pub remote: SocketAddr,
    pub version: ProtocolVersion,
    pub keep_alive: u16,
    pub clean_session: bool,
    pub connected_at: SystemTime,
    /// All its subscriptions, counted.
    pub subscription_count: usize,
    /// Its subscriptions (the first ones, when there are very many).
    pub subscriptions: BTreeMap<String, u8>,
    pub publish_received: u64,
    pub publish_sent: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// QoS 0 messages dropped because its queue was full (a slow reader).
    pub dropped_qos0: u64,
    /// QoS 1 and 2 messages dropped because its queue was full.
    pub dropped_qos12: u64,
    /// Messages waiting for it.
    pub queued: usize,
}

/// Everything the broker counts across connections.
#[derive(Debug)]
pub struct Stats {
    pub started: Instant,
    pub counters: Counters,
    pub clients_maximum: AtomicU64,
    pub connections_total: AtomicU64,
    pub events_dropped: AtomicU64,
    pub refused: AtomicU64,
    clients: Mutex<HashMap<u64, Arc<ClientRecord>>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            counters: Counters::default(),
            clients_maximum: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            clients: Mutex::new(HashMap::new()),
        }
    }
}

// std Mutex, not tokio's: no await happens while it is held, and each hold is short.
/// A client id as one topic level: the characters a topic name may not hold, and levels, become
/// `_`; at most 128 bytes.
fn sys_level(client_id: &str) -> String {
    let mut level = String::new();
    for c in client_id.chars() {
        if level.len() + c.len_utf8() > 128 {
            break;
        }
        level.push(match c {
            '/' | '+' | '#' | '\0' => '_',
            c => c,
        });
    }
    if level.is_empty() {
        level.push('_');
    }
    level
}

impl Stats {
    fn clients_lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<ClientRecord>>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn client_connected(&self, record: Arc<ClientRecord>) {
        let mut clients = self.clients_lock();
        clients.insert(record.connection, record);
        self.connections_total.fetch_add(1, Relaxed);
        self.clients_maximum
            .fetch_max(clients.len() as u64, Relaxed);
    }

    pub fn client_gone(&self, connection: u64) -> Option<Arc<ClientRecord>> {
        self.clients_lock().remove(&connection)
    }

    pub fn connected(&self) -> usize {
        self.clients_lock().len()
    }

    /// Every connected client, in connection order.
    pub fn clients(&self, max_subscriptions: usize) -> Vec<ClientInfo> {
        let records: Vec<Arc<ClientRecord>> = self.clients_lock().values().cloned().collect();
        let mut list: Vec<ClientInfo> = records.iter().map(|r| r.info(max_subscriptions)).collect();
        list.sort_by_key(|c| c.connection);
        list
    }

    /// The `$SYS` topics and their current values, in mosquitto's layout.
    pub fn sys_values(&self, router: &Router) -> Vec<(String, String)> {
        let connected = self.connected();
        let (sessions, offline) = router.session_counts();
        let c = &self.counters;
        let r = &router.counters;
        let get = |a: &AtomicU64| a.load(Relaxed).to_string();
        let dropped = r.dropped_qos0.load(Relaxed) + r.dropped_qos12.load(Relaxed);
        let values = [
            (
                "version",
                format!("MQTT Workbench {}", env!("CARGO_PKG_VERSION")),
            ),
            (
                "uptime",
                format!("{} seconds", self.started.elapsed().as_secs()),
            ),
            ("clients/connected", connected.to_string()),
            ("clients/active", connected.to_string()),
            ("clients/disconnected", offline.to_string()),
            ("clients/total", sessions.to_string()),
            ("clients/maximum", get(&self.clients_maximum)),
            ("clients/expired", get(&r.sessions_expired)),
            ("messages/received", get(&c.messages_received)),
            ("messages/sent", get(&c.messages_sent)),
            ("messages/stored", router.stored_messages().to_string()),
            ("publish/messages/received", get(&c.publish_received)),
            ("publish/messages/sent", get(&c.publish_sent)),
            ("publish/messages/dropped", dropped.to_string()),
            ("bytes/received", get(&c.bytes_received)),
            ("bytes/sent", get(&c.bytes_sent)),
            (
                "subscriptions/count",
                router.subscription_count().to_string(),
            ),
            (
                "retained messages/count",
                router.retained_count().to_string(),
            ),
        ];
        let mut values: Vec<(String, String)> = values
            .into_iter()
            .map(|(name, value)| (format!("$SYS/broker/{name}"), value))
            .collect();
        // Per connected client that lost messages because it read too slowly: what it lost.
        for record in self.clients_lock().values() {
            let qos0 = record.session.counters.dropped_qos0.load(Relaxed);
            let qos12 = record.session.counters.dropped_qos12.load(Relaxed);
            if qos0 + qos12 > 0 {
                let base = format!(
                    "$SYS/broker/clients/dropped/{}",
                    sys_level(&record.client_id)
                );
                values.push((format!("{base}/qos0"), qos0.to_string()));
                values.push((format!("{base}/qos12"), qos12.to_string()));
            }
        }
        values
    }
}
