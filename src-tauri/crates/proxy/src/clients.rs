//! The proxied clients as rows: who is connected through the proxy, and who was refused or left
//! and why, in words (the upstream's CONNACK code, a TLS failure, an unreachable host). The
//! ended rows kept are bounded: the latest [`ENDED_KEPT`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;

/// How many refused or ended clients stay listed.
pub const ENDED_KEPT: usize = 50;

/// Where a proxied client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ClientState {
    /// Its CONNECT went upstream; no CONNACK yet.
    Connecting,
    Connected,
    /// The upstream refused it, or could not be reached.
    Refused,
    /// It left, or a side closed the connection.
    Closed,
}

/// One proxied connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyClient {
    pub connection: u64,
    pub client_id: String,
    pub remote: SocketAddr,
    /// "3.1", "3.1.1" or "5.0".
    pub version: &'static str,
    pub username: Option<String>,
    pub state: ClientState,
    /// Why it was refused or ended, in words; empty while connecting or connected.
    pub detail: String,
    /// Packets from the device, and to it.
    pub packets_in: u64,
    pub packets_out: u64,
    /// When it connected (ms since the Unix epoch).
    pub since_ms: u64,
}

/// Every proxy's rows behind one lock (held for one row's update, never across an await).
pub struct ClientTable {
    inner: Mutex<Table>,
    on_change: Option<crate::OnChange>,
}

#[derive(Default)]
struct Table {
    live: HashMap<u64, ProxyClient>,
    ended: VecDeque<ProxyClient>,
}

impl ClientTable {
    pub fn new(on_change: Option<crate::OnChange>) -> ClientTable {
        ClientTable {
            inner: Mutex::new(Table::default()),
            on_change,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self) {
        if let Some(on_change) = &self.on_change {
            on_change();
        }
    }

    pub fn add(&self, client: ProxyClient) {
        self.lock().live.insert(client.connection, client);
        self.changed();
    }

    /// Changes a live row; `notify` when the change is one the UI shows at once.
    pub fn update(&self, connection: u64, notify: bool, f: impl FnOnce(&mut ProxyClient)) {
        if let Some(row) = self.lock().live.get_mut(&connection) {
            f(row);
        }
        if notify {
            self.changed();
        }
    }

    /// Moves a row to the ended ones with its final state and words.
    pub fn end(&self, connection: u64, state: ClientState, detail: String) {
        {
            let mut table = self.lock();
            if let Some(mut row) = table.live.remove(&connection) {
                row.state = state;
                row.detail = detail;
                table.ended.push_front(row);
                table.ended.truncate(ENDED_KEPT);
            }
        }
        self.changed();
    }

    /// Live rows (oldest connection first), then the ended ones (latest first).
    pub fn rows(&self) -> Vec<ProxyClient> {
        let table = self.lock();
        let mut live: Vec<ProxyClient> = table.live.values().cloned().collect();
        live.sort_by_key(|c| c.connection);
        live.extend(table.ended.iter().cloned());
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(connection: u64) -> ProxyClient {
        ProxyClient {
            connection,
            client_id: format!("c{connection}"),
            remote: ([127, 0, 0, 1], 5000).into(),
            version: "3.1.1",
            username: None,
            state: ClientState::Connecting,
            detail: String::new(),
            packets_in: 0,
            packets_out: 0,
            since_ms: 0,
        }
    }

    #[test]
    fn ended_rows_are_kept_in_words_and_bounded() {
        let table = ClientTable::new(None);
        for n in 0..(ENDED_KEPT as u64 + 10) {
            table.add(row(n));
            table.end(n, ClientState::Refused, format!("refused {n}"));
        }
        table.add(row(1000));
        let rows = table.rows();
        assert_eq!(rows.len(), ENDED_KEPT + 1);
        assert_eq!(rows[0].connection, 1000, "live first");
        assert_eq!(rows[1].detail, format!("refused {}", ENDED_KEPT + 9));
        assert_eq!(rows[1].state, ClientState::Refused);
    }
}
