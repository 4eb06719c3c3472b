//! Every limit the broker enforces on what peers control, with defaults a real deployment would
//! keep. Hitting one gives the client the MQTT 5 reason code it can read (3.1.1 clients: the
//! nearest return code, or a closed connection) and the log a line in words; it never stalls
//! other clients.

use crate::router::session::QueueLimits;
use crate::router::RouterLimits;
use std::time::Duration;

/// The default largest packet: big enough for images and firmware chunks.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 16 * 1024 * 1024;
/// The largest maximum packet size a user may choose.
pub const MAX_PACKET_SIZE_CEILING: usize = 256 * 1024 * 1024;

/// The broker's limits. Serialised with the broker settings; every field has a default, so
/// settings files written before a limit existed still load.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Limits {
    /// Largest packet accepted from a client, in bytes.
    pub max_packet_size: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once from one remote address (loopback is not limited).
    pub max_connections_per_address: usize,
    /// Longest client identifier, in bytes.
    pub max_client_id_bytes: usize,
    /// Subscriptions one session may hold.
    pub max_subscriptions_per_client: usize,
    /// MQTT 5: a client asking for a longer keep-alive (or none) is told this one (Server Keep
    /// Alive), in seconds. 0: no maximum.
    pub max_keep_alive: u16,
    /// MQTT 5 Receive Maximum the broker announces: QoS 2 messages a client may have
    /// unfinished towards the broker.
    pub receive_maximum: u16,
    /// QoS 1 and 2 messages the broker has unacknowledged towards one client (also bounded
    /// by the client's own Receive Maximum).
    pub max_inflight: u16,
    /// MQTT 5 Topic Alias Maximum the broker announces (aliases a client may use).
    pub topic_alias_maximum: u16,
    /// Messages waiting per session (connected or not).
    pub max_queued_messages: usize,
    /// Bytes waiting per session.
    pub max_queued_bytes: usize,
    /// Bytes waiting in all sessions together.
    pub max_queued_bytes_total: usize,
    /// Queue QoS 0 messages for disconnected persistent sessions.
    pub queue_qos0_while_offline: bool,
    /// Topics that may hold a retained message.
    pub max_retained_messages: usize,
    /// Bytes all retained messages may take.
    pub max_retained_bytes: usize,
    /// Longest MQTT 5 session expiry interval granted, in seconds; `None`: as asked.
    pub max_session_expiry: Option<u32>,
    /// Bytes of unfinished packets held for all connections together.
    pub max_unfinished_bytes_total: usize,
    /// How long a packet may take to arrive once its first byte has.
    #[serde(with = "seconds")]
    pub packet_timeout: Duration,
    /// How long a new connection may take to send its CONNECT.
    #[serde(with = "seconds")]
    pub connect_timeout: Duration,
    /// How long writing to a client may make no progress before the connection is closed.
    #[serde(with = "seconds")]
    pub write_timeout: Duration,
    /// How long a failed login waits before its CONNACK (more for repeated failures).
    #[serde(with = "seconds")]
    pub failed_login_delay: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            max_connections: 100_000,
            max_connections_per_address: 1_000,
            max_client_id_bytes: 1_024,
            max_subscriptions_per_client: 10_000,
            max_keep_alive: 60,
            receive_maximum: 1_024,
            max_inflight: 1_000,
            topic_alias_maximum: 64,
            max_queued_messages: 100_000,
            max_queued_bytes: 64 * 1024 * 1024,
            max_queued_bytes_total: 1024 * 1024 * 1024,
            queue_qos0_while_offline: false,
            max_retained_messages: 1_000_000,
            max_retained_bytes: 512 * 1024 * 1024,
            max_session_expiry: None,
            max_unfinished_bytes_total: 256 * 1024 * 1024,
            packet_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(60),
            failed_login_delay: Duration::from_secs(1),
        }
    }
}

impl Limits {
    /// Checks the values, naming the first one that is out of range.
    pub fn validate(&self) -> Result<(), String> {
        let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
        check(
            (64..=MAX_PACKET_SIZE_CEILING).contains(&self.max_packet_size),
            "the maximum packet size must be between 64 bytes and 256 MB",
        )?;
        check(
            self.max_connections > 0,
            "the maximum number of connections must be at least 1",
        )?;
        check(
            self.max_connections_per_address > 0,
            "the maximum connections per address must be at least 1",
        )?;
        check(
            (23..=65_535).contains(&self.max_client_id_bytes),
            "the longest client id must be between 23 bytes (MQTT's minimum) and 65,535",
        )?;
        check(
            self.max_subscriptions_per_client > 0,
            "the maximum subscriptions per client must be at least 1",
        )?;
        check(
            self.receive_maximum > 0,
            "the receive maximum must be at least 1",
        )?;
        check(
            self.max_inflight > 0,
            "the maximum in-flight messages must be at least 1",
        )?;
        check(
            self.max_queued_messages > 0,
            "the queue must hold at least one message",
        )?;
        check(
            self.max_queued_bytes >= 1024 && self.max_queued_bytes_total >= self.max_queued_bytes,
            "the queued bytes per session must be at least 1 kB and at most the total",
        )?;
        check(
            self.packet_timeout >= Duration::from_secs(1)
                && self.connect_timeout >= Duration::from_secs(1)
                && self.write_timeout >= Duration::from_secs(1),
            "timeouts must be at least one second",
        )?;
        check(
            self.max_unfinished_bytes_total >= self.max_packet_size,
            "the unfinished bytes for all connections must hold at least one largest packet",
        )?;
        Ok(())
    }

    pub fn router_limits(&self) -> RouterLimits {
        RouterLimits {
            queue: QueueLimits {
                max_messages: self.max_queued_messages,
                max_bytes: self.max_queued_bytes,
                max_total_bytes: self.max_queued_bytes_total,
                qos0_while_offline: self.queue_qos0_while_offline,
            },
            max_retained_messages: self.max_retained_messages,
            max_retained_bytes: self.max_retained_bytes,
        }
    }
}

mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_old_files_load() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let limits: Limits = serde_json::from_str(r#"{"maxKeepAlive": 120}"#).expect("loads");
        assert_eq!(limits.max_keep_alive, 120);
        assert_eq!(limits.receive_maximum, Limits::default().receive_maximum);
        let bad = Limits {
            max_client_id_bytes: 5,
            ..Limits::default()
        };
        assert!(bad.validate().is_err());
    }
}
