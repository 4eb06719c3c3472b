//! Which source a model belongs to: the embedded broker, one client session, an inspecting
//! proxy or an opened capture file. Typed, so no layer parses strings to tell them apart; it
//! crosses IPC as `{ "kind": "broker" }` or `{ "kind": "session" | "proxy" | "capture", "id":
//! "<id>" }`.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, specta::Type,
)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum SourceId {
    /// The embedded broker: every client's packets.
    Broker,
    /// One client session, by its profile id.
    Session(String),
    /// An inspecting proxy between devices and an upstream broker, by its id: every proxied
    /// client's packets, as the embedded broker shows its own clients'.
    Proxy(String),
    /// A capture file opened for viewing (a pcap or pcapng from tcpdump or Wireshark), by its id.
    Capture(String),
}

impl SourceId {
    /// A short name for file names and logs: `broker`, `session-<id>`.
    pub fn slug(&self) -> String {
        match self {
            SourceId::Broker => "broker".into(),
            SourceId::Session(id) => format!("session-{id}"),
            SourceId::Proxy(id) => format!("proxy-{id}"),
            SourceId::Capture(id) => format!("capture-{id}"),
        }
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceId::Broker => write!(f, "the embedded broker"),
            SourceId::Session(id) => write!(f, "session {id}"),
            SourceId::Proxy(id) => write!(f, "proxy {id}"),
            SourceId::Capture(id) => write!(f, "capture {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ids_cross_ipc_as_tagged_objects() {
        assert_eq!(
            serde_json::to_string(&SourceId::Broker).unwrap(),
            r#"{"kind":"broker"}"#
        );
        let session = SourceId::Session("p1".into());
        let text = serde_json::to_string(&session).unwrap();
        assert_eq!(text, r#"{"kind":"session","id":"p1"}"#);
        assert_eq!(serde_json::from_str::<SourceId>(&text).unwrap(), session);
        let proxy = SourceId::Proxy("1884".into());
        let text = serde_json::to_string(&proxy).unwrap();
        assert_eq!(text, r#"{"kind":"proxy","id":"1884"}"#);
        assert_eq!(serde_json::from_str::<SourceId>(&text).unwrap(), proxy);
    }
}
