//! The live map's messages for a source without a routing record of its own (an inspecting
//! proxy), rebuilt from its packet log: each PUBLISH a client sent is a message, and the PUBLISH
//! packets on the same topic brought to clients within two seconds after it are its deliveries.
//! A PUBLISH brought to a client with none sent before it came from beyond the source (another
//! client of the upstream broker): a message of the broker's, its deliveries grouped the same
//! way. Serials are packet positions in the log, so they stay put as the log grows.

use super::routing::{MessageOrigin, Receiver, RoutedMessage, RoutedPage};
use crate::hub::TrafficHub;
use std::collections::HashMap;
use workbench_traffic::SourceId;
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// How long after a PUBLISH a delivery on its topic still counts as its delivery.
const WINDOW_MS: u64 = 2_000;
/// The newest packets looked at (the map asks several times a second).
const SCAN: usize = 5_000;
/// Receivers listed per message; the rest are counted.
const MAX_RECEIVERS: usize = 64;

fn millis(p: &PacketEvent) -> u64 {
    p.time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A source's messages after serial `after` (0: the latest kept), at most `limit`, the newest
/// when more.
pub fn routed_from_log(
    hub: &TrafficHub,
    source: &SourceId,
    after: u64,
    limit: usize,
) -> RoutedPage {
    let limit = limit.clamp(1, 256);
    hub.read_source(source, |s| {
        let kept = s.packets().count();
        let first_serial = s.packets_total().saturating_sub(kept as u64) + 1;
        let mut messages: Vec<RoutedMessage> = Vec::new();
        // The latest message on each topic, and when it was sent.
        let mut open: HashMap<&str, (usize, u64)> = HashMap::new();
        for (i, p) in s.packets().enumerate().skip(kept.saturating_sub(SCAN)) {
            let Some(topic) = p.summary.topic.as_deref() else {
                continue;
            };
            if p.summary.kind != PacketKind::Publish {
                continue;
            }
            let time = millis(p);
            let new = |publisher: &str, origin| RoutedMessage {
                serial: (first_serial + i as u64) as f64,
                time_ms: time as f64,
                topic: topic.to_string(),
                qos: p.summary.qos,
                retain: p.summary.retain,
                payload_len: p.summary.payload_len.min(u32::MAX as usize) as u32,
                origin,
                publisher: publisher.to_string(),
                receivers: Vec::new(),
                more: 0,
            };
            if p.direction == Direction::Inbound {
                messages.push(new(&p.client_id, MessageOrigin::Client));
                open.insert(topic, (messages.len() - 1, time));
                continue;
            }
            let index = match open.get(topic) {
                Some(&(index, sent)) if time.saturating_sub(sent) <= WINDOW_MS => index,
                _ => {
                    messages.push(new("", MessageOrigin::Broker));
                    open.insert(topic, (messages.len() - 1, time));
                    messages.len() - 1
                }
            };
            let message = &mut messages[index];
            if message.receivers.len() < MAX_RECEIVERS {
                message.receivers.push(Receiver {
                    client_id: p.client_id.to_string(),
                    qos: p.summary.qos,
                    sent: true,
                });
            } else {
                message.more += 1;
            }
        }
        let latest = messages.last().map_or(0.0, |m| m.serial);
        let mut newer: Vec<RoutedMessage> = messages
            .into_iter()
            .filter(|m| m.serial > after as f64)
            .collect();
        let skipped = newer.len().saturating_sub(limit);
        newer.drain(..skipped);
        RoutedPage {
            messages: newer,
            latest,
            skipped: skipped as f64,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};
    use workbench_traffic::source::SourceLimits;
    use workbench_wire::PacketSummary;

    fn publish(client: &str, direction: Direction, topic: &str, at_ms: u64) -> PacketEvent {
        let mut summary = PacketSummary::new(PacketKind::Publish, 20);
        summary.topic = Some(topic.into());
        summary.qos = 1;
        summary.payload_len = 4;
        PacketEvent {
            connection: 1,
            client_id: Arc::from(client),
            remote: None,
            direction,
            summary,
            time: UNIX_EPOCH + Duration::from_millis(1_000_000 + at_ms),
        }
    }

    #[test]
    fn a_proxys_log_becomes_messages_with_their_deliveries() {
        let hub = TrafficHub::new(SourceLimits::default());
        let source = SourceId::Proxy("1884".into());
        let log = [
            publish("sensor", Direction::Inbound, "plant/temp", 0),
            publish("dashboard", Direction::Outbound, "plant/temp", 5),
            publish("phone", Direction::Outbound, "plant/temp", 9),
            // From a client of the upstream broker that the proxy does not see.
            publish("dashboard", Direction::Outbound, "cloud/cmd", 20),
            // Long after: a message of its own.
            publish("dashboard", Direction::Outbound, "plant/temp", 5_000),
        ];
        hub.with_state(&source, |state| {
            for p in log {
                state.ingest(p);
            }
        });
        let page = routed_from_log(&hub, &source, 0, 100);
        let seen: Vec<(f64, &str, &str, Vec<&str>)> = page
            .messages
            .iter()
            .map(|m| {
                let to = m.receivers.iter().map(|r| r.client_id.as_str()).collect();
                (m.serial, m.topic.as_str(), m.publisher.as_str(), to)
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (1.0, "plant/temp", "sensor", vec!["dashboard", "phone"]),
                (4.0, "cloud/cmd", "", vec!["dashboard"]),
                (5.0, "plant/temp", "", vec!["dashboard"]),
            ]
        );
        assert_eq!(page.latest, 5.0);
        assert_eq!(page.messages[1].origin, MessageOrigin::Broker);
        // After a serial: only what is newer; a limit keeps the newest and counts the rest.
        let newer = routed_from_log(&hub, &source, 1, 100);
        assert_eq!(newer.messages.len(), 2);
        let one = routed_from_log(&hub, &source, 0, 1);
        assert_eq!((one.messages[0].serial, one.skipped), (5.0, 2.0));
    }
}
