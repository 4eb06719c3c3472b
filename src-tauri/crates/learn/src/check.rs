//! Checks over the packets the embedded broker saw: each check describes packets by kind,
//! direction and client, topic, QoS, flags and reason code, and holds when at least `count` such
//! packets were seen (or, with `absent`, none). Pure functions over packet events: no I/O.
//!
//! The broker names a connection's packets by client id only once it accepted the CONNECT: a
//! refused client's CONNECT and CONNACK carry no id. [`Names`] finds it in the CONNECT's decoded
//! fields, so "CONNACK 0x86 to intruder" can be checked.

use crate::format::CheckSpec;
use std::collections::HashMap;
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// Client ids of connections whose packets the broker reported without one.
#[derive(Debug, Default)]
pub struct Names(HashMap<u64, String>);

impl Names {
    /// Reads the client id of every unnamed CONNECT among `events`.
    pub fn of<'a>(events: impl Iterator<Item = &'a PacketEvent>) -> Names {
        let mut names = HashMap::new();
        for e in events {
            if e.summary.kind == PacketKind::Connect && e.client_id.is_empty() {
                if let Some((_, id)) = e
                    .summary
                    .fields
                    .iter()
                    .find(|(name, _)| *name == "Client Identifier")
                {
                    names.insert(e.connection, id.clone());
                }
            }
        }
        Names(names)
    }

    fn client<'a>(&'a self, event: &'a PacketEvent) -> &'a str {
        if event.client_id.is_empty() {
            self.0.get(&event.connection).map_or("", String::as_str)
        } else {
            &event.client_id
        }
    }
}

/// Whether `event` (as the broker reports it) is a packet `check` describes.
pub fn describes(check: &CheckSpec, event: &PacketEvent, names: &Names) -> bool {
    let summary = &event.summary;
    let client = names.client(event);
    if summary.kind.name() != check.packet {
        return false;
    }
    if let Some(to) = &check.to {
        if event.direction != Direction::Outbound || client != to.as_str() {
            return false;
        }
    }
    if let Some(from) = &check.from {
        if event.direction != Direction::Inbound || client != from.as_str() {
            return false;
        }
    }
    let topic = summary.topic.as_deref();
    if let Some(want) = &check.topic {
        if topic != Some(want.as_str()) {
            return false;
        }
    }
    if let Some(filter) = &check.matching {
        if !topic.is_some_and(|t| workbench_wire::topic::matches(filter, t)) {
            return false;
        }
    }
    if check.qos.is_some_and(|q| q != summary.qos) {
        return false;
    }
    if check.retain.is_some_and(|r| r != summary.retain) {
        return false;
    }
    if check.dup.is_some_and(|d| d != summary.dup) {
        return false;
    }
    if let Some(reason) = check.reason {
        if summary.reason.unwrap_or(0) != reason {
            return false;
        }
    }
    true
}

/// Whether `check` holds over `events`.
pub fn holds<'a>(
    check: &CheckSpec,
    events: impl Iterator<Item = &'a PacketEvent>,
    names: &Names,
) -> bool {
    let need = check.count.unwrap_or(1).max(1) as usize;
    let seen = events
        .filter(|e| describes(check, e, names))
        .take(need)
        .count();
    if check.absent {
        seen == 0
    } else {
        seen >= need
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Text;
    use std::sync::Arc;
    use workbench_wire::{PacketKind, PacketSummary};

    fn publish(client: &str, direction: Direction, topic: &str, qos: u8, dup: bool) -> PacketEvent {
        let mut summary = PacketSummary::new(PacketKind::Publish, 10);
        summary.topic = Some(topic.into());
        summary.qos = qos;
        summary.dup = dup;
        PacketEvent {
            connection: 1,
            client_id: Arc::from(client),
            remote: None,
            direction,
            summary,
            time: std::time::SystemTime::now(),
        }
    }

    fn check(f: impl FnOnce(&mut CheckSpec)) -> CheckSpec {
        let mut c = CheckSpec {
            packet: "PUBLISH".into(),
            says: Text {
                en: "x".into(),
                zh_cn: None,
            },
            ..CheckSpec::default()
        };
        f(&mut c);
        c
    }

    #[test]
    fn direction_client_topic_and_flags_must_all_match() {
        let to_dashboard = publish(
            "dashboard",
            Direction::Outbound,
            "home/kitchen/temp",
            1,
            false,
        );
        let from_sensor = publish("sensor", Direction::Inbound, "home/hall/temp", 1, true);
        let events = [to_dashboard, from_sensor];
        let kitchen = check(|c| {
            c.to = Some("dashboard".into());
            c.matching = Some("home/kitchen/#".into());
        });
        assert!(holds(&kitchen, events.iter(), &Names::default()));
        let hall_to_dashboard = check(|c| {
            c.to = Some("dashboard".into());
            c.matching = Some("home/hall/#".into());
            c.absent = true;
        });
        assert!(holds(&hall_to_dashboard, events.iter(), &Names::default()));
        let dup_from_sensor = check(|c| {
            c.from = Some("sensor".into());
            c.dup = Some(true);
        });
        assert!(holds(&dup_from_sensor, events.iter(), &Names::default()));
        let dup_to_dashboard = check(|c| {
            c.to = Some("dashboard".into());
            c.dup = Some(true);
        });
        assert!(!holds(&dup_to_dashboard, events.iter(), &Names::default()));
        let two = check(|c| {
            c.to = Some("dashboard".into());
            c.count = Some(2);
        });
        assert!(!holds(&two, events.iter(), &Names::default()));
        let qos2 = check(|c| c.qos = Some(2));
        assert!(!holds(&qos2, events.iter(), &Names::default()));
    }
}
