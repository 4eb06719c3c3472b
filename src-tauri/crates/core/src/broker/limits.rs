//! The broker's limits as the UI shows and edits them: whole numbers a form can hold (counts,
//! bytes, seconds), checked back into [`Limits`] with the broker's own validation, so a value out
//! of range is refused with the name of the field.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use workbench_broker::Limits;

/// Every limit but the maximum packet size (which the settings carry on their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    pub max_connections: u32,
    /// Loopback is not limited.
    pub max_connections_per_address: u32,
    pub max_client_id_bytes: u32,
    pub max_subscriptions_per_client: u32,
    /// Seconds; 0: no maximum.
    pub max_keep_alive: u16,
    pub receive_maximum: u16,
    pub max_inflight: u16,
    pub topic_alias_maximum: u16,
    pub max_queued_messages: u32,
    pub max_queued_bytes: u32,
    pub max_queued_bytes_total: u32,
    pub queue_qos0_while_offline: bool,
    pub max_retained_messages: u32,
    pub max_retained_bytes: u32,
    /// Seconds; none: as the client asks.
    pub max_session_expiry: Option<u32>,
    pub max_unfinished_bytes_total: u32,
    pub packet_timeout_secs: u32,
    pub connect_timeout_secs: u32,
    pub write_timeout_secs: u32,
    pub failed_login_delay_secs: u32,
}

fn small(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn secs(value: Duration) -> u32 {
    u32::try_from(value.as_secs()).unwrap_or(u32::MAX)
}

impl From<&Limits> for LimitsView {
    fn from(l: &Limits) -> LimitsView {
        LimitsView {
            max_connections: small(l.max_connections),
            max_connections_per_address: small(l.max_connections_per_address),
            max_client_id_bytes: small(l.max_client_id_bytes),
            max_subscriptions_per_client: small(l.max_subscriptions_per_client),
            max_keep_alive: l.max_keep_alive,
            receive_maximum: l.receive_maximum,
            max_inflight: l.max_inflight,
            topic_alias_maximum: l.topic_alias_maximum,
            max_queued_messages: small(l.max_queued_messages),
            max_queued_bytes: small(l.max_queued_bytes),
            max_queued_bytes_total: small(l.max_queued_bytes_total),
            queue_qos0_while_offline: l.queue_qos0_while_offline,
            max_retained_messages: small(l.max_retained_messages),
            max_retained_bytes: small(l.max_retained_bytes),
            max_session_expiry: l.max_session_expiry,
            max_unfinished_bytes_total: small(l.max_unfinished_bytes_total),
            packet_timeout_secs: secs(l.packet_timeout),
            connect_timeout_secs: secs(l.connect_timeout),
            write_timeout_secs: secs(l.write_timeout),
            failed_login_delay_secs: secs(l.failed_login_delay),
        }
    }
}

impl LimitsView {
    /// The broker's limits, with `max_packet_size`, checked; the error names the value.
    pub fn to_limits(&self, max_packet_size: usize) -> Result<Limits, String> {
        let seconds = |s: u32| Duration::from_secs(u64::from(s));
        let limits = Limits {
            max_packet_size,
            max_connections: self.max_connections as usize,
            max_connections_per_address: self.max_connections_per_address as usize,
            max_client_id_bytes: self.max_client_id_bytes as usize,
            max_subscriptions_per_client: self.max_subscriptions_per_client as usize,
            max_keep_alive: self.max_keep_alive,
            receive_maximum: self.receive_maximum,
            max_inflight: self.max_inflight,
            topic_alias_maximum: self.topic_alias_maximum,
            max_queued_messages: self.max_queued_messages as usize,
            max_queued_bytes: self.max_queued_bytes as usize,
            max_queued_bytes_total: self.max_queued_bytes_total as usize,
            queue_qos0_while_offline: self.queue_qos0_while_offline,
            max_retained_messages: self.max_retained_messages as usize,
            max_retained_bytes: self.max_retained_bytes as usize,
            max_session_expiry: self.max_session_expiry,
            max_unfinished_bytes_total: self.max_unfinished_bytes_total as usize,
            packet_timeout: seconds(self.packet_timeout_secs),
            connect_timeout: seconds(self.connect_timeout_secs),
            write_timeout: seconds(self.write_timeout_secs),
            failed_login_delay: seconds(self.failed_login_delay_secs),
        };
        limits.validate()?;
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_go_to_the_form_and_back_unchanged() {
        let limits = Limits {
            max_subscriptions_per_client: 12,
            max_session_expiry: Some(3600),
            packet_timeout: Duration::from_secs(7),
            ..Limits::default()
        };
        let view = LimitsView::from(&limits);
        assert_eq!(view.max_subscriptions_per_client, 12);
        assert_eq!(view.packet_timeout_secs, 7);
        assert_eq!(view.to_limits(limits.max_packet_size), Ok(limits));
    }

    #[test]
    fn a_value_out_of_range_is_named() {
        let mut view = LimitsView::from(&Limits::default());
        view.max_client_id_bytes = 3;
        let error = view.to_limits(1 << 20).unwrap_err();
        assert!(error.contains("client id"), "{error}");
        view.max_client_id_bytes = 64;
        view.packet_timeout_secs = 0;
        let error = view.to_limits(1 << 20).unwrap_err();
        assert!(error.contains("timeouts"), "{error}");
    }
}
