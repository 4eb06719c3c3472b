//! Broker-wide counters, the registry of connected clients, and the `$SYS` values built from them
//! (in mosquitto's topic layout, so existing dashboards and habits carry over).

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};
use workbench_wire::{Direction, PacketKind, PacketSummary, ProtocolVersion};

/// Counters kept with relaxed atomics: each is independent, and readers only need a recent value.
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
    /// Adds up a batch of packet events.
    pub fn account<'a>(&self, events: impl IntoIterator<Item = &'a (Direction, PacketSummary)>) {
        let (mut msg_in, mut msg_out, mut pub_in, mut pub_out, mut bytes_in, mut bytes_out) =
            (0, 0, 0, 0, 0, 0);
        for (direction, summary) in events {
            let publish = u64::from(summary.kind == PacketKind::Publish);
            let size = summary.size as u64;
            match direction {
                Direction::Inbound => {
                    msg_in += 1;
                    pub_in += publish;
                    bytes_in += size;
                }
                Direction::Outbound => {
                    msg_out += 1;
                    pub_out += publish;
                    bytes_out += size;
                }
            }
        }
        self.messages_received.fetch_add(msg_in, Relaxed);
        self.messages_sent.fetch_add(msg_out, Relaxed);
        self.publish_received.fetch_add(pub_in, Relaxed);
        self.publish_sent.fetch_add(pub_out, Relaxed);
        self.bytes_received.fetch_add(bytes_in, Relaxed);
        self.bytes_sent.fetch_add(bytes_out, Relaxed);
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
    pub subscriptions: BTreeMap<String, u8>,
    pub publish_received: u64,
    pub publish_sent: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

/// Everything the broker knows across connections.
#[derive(Debug)]
pub struct BrokerState {
    pub started: Instant,
    pub counters: Counters,
    pub clients_maximum: AtomicU64,
    pub clients_total: AtomicU64,
    pub events_dropped: AtomicU64,
    clients: Mutex<HashMap<u64, ClientInfo>>,
    retained: Mutex<HashSet<String>>,
    generations: Mutex<HashMap<String, u64>>,
}

impl Default for BrokerState {
    fn default() -> Self {
        BrokerState {
            started: Instant::now(),
            counters: Counters::default(),
            clients_maximum: AtomicU64::new(0),
            clients_total: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            clients: Mutex::new(HashMap::new()),
            retained: Mutex::new(HashSet::new()),
            generations: Mutex::new(HashMap::new()),
        }
    }
}

// std Mutex, not tokio's: no await happens while any of these is held, and each hold is short.
impl BrokerState {
    /// How many times a client id has connected: a session expiry timer only fires when it has
    /// not changed since the disconnect.
    pub fn session_generation(&self, client_id: &str) -> u64 {
        let generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        generations.get(client_id).copied().unwrap_or(0)
    }

    pub fn client_connected(&self, info: ClientInfo) {
        {
            let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
            *generations.entry(info.client_id.clone()).or_insert(0) += 1;
        }
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.insert(info.connection, info);
        self.clients_total.fetch_add(1, Relaxed);
        self.clients_maximum
            .fetch_max(clients.len() as u64, Relaxed);
    }

    pub fn client_gone(&self, connection: u64) -> Option<ClientInfo> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.remove(&connection)
    }

    pub fn update_client(&self, connection: u64, update: impl FnOnce(&mut ClientInfo)) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(info) = clients.get_mut(&connection) {
            update(info);
        }
    }

    pub fn clients(&self) -> Vec<ClientInfo> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<ClientInfo> = clients.values().cloned().collect();
        list.sort_by_key(|c| c.connection);
        list
    }

    pub fn retained_changed(&self, changes: &[(String, bool)]) {
        if changes.is_empty() {
            return;
        }
        let mut retained = self.retained.lock().unwrap_or_else(|p| p.into_inner());
        for (topic, present) in changes {
            if *present {
                retained.insert(topic.clone());
            } else {
                retained.remove(topic);
            }
        }
    }

    /// How many topics hold a retained message.
    pub fn retained_count(&self) -> usize {
        self.retained
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// The `$SYS` topics and their current values, in mosquitto's layout.
    pub fn sys_values(&self) -> Vec<(String, String)> {
        let (connected, subscriptions) = {
            let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            let subs: usize = clients.values().map(|c| c.subscriptions.len()).sum();
            (clients.len(), subs)
        };
        let retained = self
            .retained
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Relaxed).to_string();
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
            ("clients/maximum", get(&self.clients_maximum)),
            ("clients/total", connected.to_string()),
            ("messages/received", get(&c.messages_received)),
            ("messages/sent", get(&c.messages_sent)),
            ("publish/messages/received", get(&c.publish_received)),
            ("publish/messages/sent", get(&c.publish_sent)),
            ("bytes/received", get(&c.bytes_received)),
            ("bytes/sent", get(&c.bytes_sent)),
            ("subscriptions/count", subscriptions.to_string()),
            ("retained messages/count", retained.to_string()),
        ];
        values
            .into_iter()
            .map(|(name, value)| (format!("$SYS/broker/{name}"), value))
            .collect()
    }
}
