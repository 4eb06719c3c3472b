//! Deliveries to the client: retained messages owed to new subscriptions first, then the
//! mailbox, within the client's Receive Maximum and the broker's in-flight limit; packet
//! identifiers; topic aliases for MQTT 5 clients that accept them; messages too large for the
//! client or expired while waiting are dropped as the specification says.

use super::{Door, Output};
use crate::router::message::Delivery;
use crate::router::session::InFlight;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use wire::codec::{PublishOut, QoS};
use wire::{Direction, PacketKind, PacketSummary};

/// How many deliveries one pull takes from the mailbox, so that a long queue cannot keep the
/// connection from reading its client for long.
const PULL_BATCH: usize = 512;

/// Topic aliases the broker assigns to a client (MQTT 5, up to the client's Topic Alias
/// Maximum): a topic sent in full once, then as a two-byte alias. When all are used, the
/// oldest assignment is replaced.
#[derive(Debug, Default)]
pub struct OutboundAliases {
    maximum: u16,
    by_topic: HashMap<Arc<str>, u16>,
    /// The topic of each alias (index = alias - 1).
    topics: Vec<Arc<str>>,
    /// The alias to replace next when all are used.
    next_victim: u16,
}

impl OutboundAliases {
    /// Starts over (a new connection) allowing `maximum` aliases.
    pub fn reset(&mut self, maximum: u16) {
        *self = OutboundAliases {
            maximum: maximum.min(1024),
            ..OutboundAliases::default()
        };
    }

    /// The alias for `topic` and whether the topic must be sent with it (first use).
    fn choose(&self, topic: &Arc<str>) -> Option<(u16, bool)> {
        if self.maximum == 0 {
            return None;
        }
        if let Some(&alias) = self.by_topic.get(topic) {
            return Some((alias, false));
        }
        if self.topics.len() < usize::from(self.maximum) {
            return Some((self.topics.len() as u16 + 1, true));
        }
        Some((self.next_victim % self.maximum + 1, true))
    }

    /// Records that `alias` now stands for `topic`.
    fn commit(&mut self, topic: &Arc<str>, alias: u16) {
        if self.by_topic.contains_key(topic) {
            return;
        }
        let index = usize::from(alias - 1);
        if index < self.topics.len() {
            let old = std::mem::replace(&mut self.topics[index], topic.clone());
            self.by_topic.remove(&old);
            self.next_victim = alias % self.maximum;
        } else {
            self.topics.push(topic.clone());
        }
        self.by_topic.insert(topic.clone(), alias);
    }
}

impl Door {
    /// True when deliveries wait that could go now (the windows allowing).
    pub fn has_sendable(&self) -> bool {
        let Some(live) = &self.live else {
            return false;
        };
        let window = self.window_of(live);
        if let Some(front) = live.state.backlog.front() {
            return front.qos == QoS::AtMostOnce || window > 0;
        }
        live.cell.can_take(window)
    }

    /// Sends what waits, within the windows: owed retained messages first, then up to one
    /// batch from the mailbox. Returns true when more could be sent right away.
    pub fn pull(&mut self, now: Instant, out: &mut Output) -> bool {
        if !self.is_open() {
            return false;
        }
        let Some(mut live) = self.live.take() else {
            return false;
        };
        let mut sent = 0;
        while sent < PULL_BATCH {
            let Some(front) = live.state.backlog.front() else {
                break;
            };
            if front.qos != QoS::AtMostOnce && self.window_of(&live) == 0 {
                break;
            }
            let Some(delivery) = live.state.backlog.pop_front() else {
                break;
            };
            self.send(&mut live, delivery, now, out);
            sent += 1;
        }
        let mut more = !live.state.backlog.is_empty() && sent == PULL_BATCH;
        if live.state.backlog.is_empty() {
            let window = self.window_of(&live);
            let limits = self.router.limits().queue;
            let taken = live.cell.take(
                window,
                PULL_BATCH,
                &limits,
                self.router.queued_total(),
                &mut self.batch,
            );
            let mut batch = std::mem::take(&mut self.batch);
            for delivery in batch.drain(..) {
                self.send(&mut live, delivery, now, out);
            }
            self.batch = batch;
            more = taken == PULL_BATCH;
        }
        self.live = Some(live);
        more
    }

    /// How many more QoS 1 and 2 deliveries may be unacknowledged.
    fn window_of(&self, live: &super::Live) -> usize {
        let limit = usize::from(
            self.peer
                .receive_maximum
                .min(self.config.limits.max_inflight),
        );
        limit.saturating_sub(live.state.in_flight.len())
    }

    /// Encodes one delivery for the client.
    fn send(&mut self, live: &mut super::Live, delivery: Delivery, now: Instant, out: &mut Output) {
        let message = &delivery.message;
        if message.is_expired(now) {
            return;
        }
        let v5 = self.level.is_v5();
        let packet_id = if delivery.qos == QoS::AtMostOnce {
            None
        } else {
            match live.state.allocate_packet_id() {
                Some(id) => Some(id),
                // 65,535 sends ago and still not acknowledged: wait for it (back in line).
                None => {
                    live.state.backlog.push_front(delivery);
                    return;
                }
            }
        };
        let alias = if v5 {
            self.aliases_out.choose(&message.topic)
        } else {
            None
        };
        let mut packet = PublishOut {
            dup: false,
            qos: delivery.qos,
            retain: delivery.retain,
            topic: match alias {
                Some((_, false)) => "",
                _ => &message.topic,
            },
            packet_id,
            payload: &message.payload,
            message_expiry_interval: if v5 { message.expiry_left(now) } else { None },
            topic_alias: alias.map(|(alias, _)| alias),
            subscription_identifiers: if v5 {
                delivery.subscription_ids.as_slice()
            } else {
                &[]
            },
            properties: if v5 { &message.properties } else { &[] },
        };
        let mut size = packet.encoded_len(self.level);
        if size > self.peer.max_packet_size && alias.is_some() {
            // Perhaps it fits without the alias property.
            packet.topic = &message.topic;
            packet.topic_alias = None;
            size = packet.encoded_len(self.level);
        }
        if size > self.peer.max_packet_size {
            // Larger than the client accepts: MQTT 5 says discard it, as if sent.
            return;
        }
        if let (Some((alias, _)), Some(_)) = (alias, packet.topic_alias) {
            self.aliases_out.commit(&message.topic, alias);
        }
        packet.encode(self.level, &mut out.bytes);
        self.counts.packets_out += 1;
        self.counts.publish_out += 1;
        self.counts.bytes_out += size as u64;
        if self.config.tap {
            let mut summary = PacketSummary::new(PacketKind::Publish, size);
            summary.packet_id = packet_id;
            summary.qos = delivery.qos.bits();
            summary.retain = delivery.retain;
            summary.topic = Some(message.topic.to_string());
            summary.payload_len = message.payload.len();
            out.events.push((Direction::Outbound, summary));
        }
        if let Some(packet_id) = packet_id {
            live.state.in_flight.push_back(InFlight {
                packet_id,
                delivery,
                released: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_assigned_once_and_recycled_when_all_are_used() {
        let mut aliases = OutboundAliases::default();
        aliases.reset(2);
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        assert_eq!(aliases.choose(&a), Some((1, true)));
        aliases.commit(&a, 1);
        assert_eq!(aliases.choose(&a), Some((1, false)));
        assert_eq!(aliases.choose(&b), Some((2, true)));
        aliases.commit(&b, 2);
        let (alias, with_topic) = aliases.choose(&c).expect("recycled");
        assert!(with_topic);
        aliases.commit(&c, alias);
        assert_eq!(aliases.choose(&c), Some((alias, false)));
        let replaced = if alias == 1 { &a } else { &b };
        assert_eq!(
            aliases.choose(replaced).map(|(_, t)| t),
            Some(true),
            "forgotten"
        );
        aliases.reset(0);
        assert_eq!(aliases.choose(&a), None);
    }
}
