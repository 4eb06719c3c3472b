//! A message as the broker keeps it, shared by every queue it waits in, and a delivery: one
//! message on its way to one session, with what that session's subscriptions made of it.

use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;
use wire::codec::QoS;

/// Identifies a session for as long as the broker runs (never reused). 0 is the broker itself.
pub type SessionId = u64;

/// The broker's own messages (`$SYS`, deletions from the app) come from this session id.
pub const BROKER_ORIGIN: SessionId = 0;

/// Where a message came from, for the views that explain routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Published by a client.
    Client,
    /// A client's will, published because it went away.
    Will,
    /// Published by the broker itself (`$SYS`, the app).
    Broker,
}

/// One published message. Immutable once routed; shared (`Arc`) by every queue holding it.
#[derive(Debug)]
pub struct Message {
    pub topic: Arc<str>,
    pub payload: Bytes,
    /// QoS as published.
    pub qos: QoS,
    /// The retain flag as published.
    pub retain: bool,
    /// MQTT 5 properties forwarded unchanged to MQTT 5 receivers: everything but the topic
    /// alias, the message expiry (re-sent with the time left) and subscription identifiers.
    pub properties: Bytes,
    /// When the message expires (MQTT 5 message expiry interval), if it does.
    pub expires_at: Option<Instant>,
    /// The publishing session (for no-local).
    pub publisher: SessionId,
    pub origin: Origin,
}

impl Message {
    /// A message without properties or expiry.
    pub fn new(topic: &str, payload: impl Into<Bytes>, qos: QoS, retain: bool) -> Message {
        Message {
            topic: Arc::from(topic),
            payload: payload.into(),
            qos,
            retain,
            properties: Bytes::new(),
            expires_at: None,
            publisher: BROKER_ORIGIN,
            origin: Origin::Broker,
        }
    }

    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The message expiry interval to send now: the seconds left, rounded up (never 0 for a
    /// message still alive).
    pub fn expiry_left(&self, now: Instant) -> Option<u32> {
        self.expires_at.map(|at| {
            let left = at.saturating_duration_since(now);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            secs.clamp(1, u64::from(u32::MAX)) as u32
        })
    }

    /// What holding this message costs, for queue and memory limits: its bytes plus a fixed
    /// overhead for the structures around it.
    pub fn cost(&self) -> usize {
        self.topic.len() + self.payload.len() + self.properties.len() + 96
    }
}

/// The subscription identifiers a delivery carries (MQTT 5): usually none or one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SubscriptionIds {
    #[default]
    None,
    One(u32),
    Many(Box<[u32]>),
}

impl SubscriptionIds {
    pub fn as_slice(&self) -> &[u32] {
        match self {
            SubscriptionIds::None => &[],
            SubscriptionIds::One(id) => std::slice::from_ref(id),
            SubscriptionIds::Many(ids) => ids,
        }
    }

    /// Adds `id` unless it is already there.
    pub fn add(&mut self, id: u32) {
        if self.as_slice().contains(&id) {
            return;
        }
        *self = match std::mem::take(self) {
            SubscriptionIds::None => SubscriptionIds::One(id),
            SubscriptionIds::One(first) => SubscriptionIds::Many(Box::new([first, id])),
            SubscriptionIds::Many(ids) => {
                let mut ids = ids.into_vec();
                ids.push(id);
                SubscriptionIds::Many(ids.into_boxed_slice())
            }
        };
    }
}

/// One message on its way to one session.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message: Arc<Message>,
    /// The QoS it is delivered at: the lower of the publish QoS and the (highest matching)
    /// subscription's.
    pub qos: QoS,
    /// The RETAIN flag to send.
    pub retain: bool,
    pub subscription_ids: SubscriptionIds,
}

impl Delivery {
    pub fn cost(&self) -> usize {
        self.message.cost() + 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expiry_counts_down_in_whole_seconds() {
        let now = Instant::now();
        let mut message = Message::new("t", "x", QoS::AtLeastOnce, false);
        assert_eq!(message.expiry_left(now), None);
        message.expires_at = Some(now + Duration::from_millis(5_500));
        assert_eq!(message.expiry_left(now), Some(6));
        assert_eq!(message.expiry_left(now + Duration::from_secs(3)), Some(3));
        assert!(!message.is_expired(now + Duration::from_secs(5)));
        assert!(message.is_expired(now + Duration::from_secs(6)));
    }

    #[test]
    fn subscription_ids_collect_without_repeats() {
        let mut ids = SubscriptionIds::default();
        ids.add(2);
        ids.add(3);
        ids.add(2);
        assert_eq!(ids.as_slice(), &[2, 3]);
    }
}
