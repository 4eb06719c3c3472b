//! Who is busy: the topics and the clients ranked by messages and bytes published over the last
//! 10 s and 60 s, read from a source's packet log when asked. The log keeps the latest 10,000
//! packets: at high rates it spans less than a minute, and the answer says over how long it
//! measured, rates being counts over that span.

use crate::hub::TrafficHub;
use serde::Serialize;
use std::collections::HashMap;
use workbench_traffic::SourceId;
use workbench_wire::{Direction, PacketKind};

/// How many topics and clients each ranking lists.
pub const RANKED: usize = 15;

/// One topic's or client's traffic.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BusyEntry {
    pub name: String,
    /// Messages per second over the short window, and over the long one.
    #[specta(type = u32)] // a plain number in TypeScript (fractions included)
    pub rate_short: f64,
    #[specta(type = u32)] // a plain number in TypeScript (fractions included)
    pub rate_long: f64,
    /// Payload bytes per second over the short and the long window.
    #[specta(type = u32)] // a plain number in TypeScript (fractions included)
    pub bytes_short: f64,
    #[specta(type = u32)] // a plain number in TypeScript (fractions included)
    pub bytes_long: f64,
}

/// The rankings.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BusyReport {
    /// Seconds the short and the long rates were measured over (less than 10 and 60 when the
    /// log holds less, or nothing happened before).
    #[specta(type = u32)] // a plain number in TypeScript (fractions included)
    pub short_seconds: f64,
    #[specta(type = u32)] // a plain number in TypeScript (fractions included)
    pub long_seconds: f64,
    pub topics: Vec<BusyEntry>,
    pub clients: Vec<BusyEntry>,
}

#[derive(Default, Clone, Copy)]
struct Count {
    short: u64,
    long: u64,
    short_bytes: u64,
    long_bytes: u64,
}

/// Ranks what published into `source` up to `now_ms`, by messages over the short window (10 s),
/// or by bytes when `by_bytes`.
pub fn report(hub: &TrafficHub, source: &SourceId, now_ms: u64, by_bytes: bool) -> BusyReport {
    const SHORT: u64 = 10_000;
    const LONG: u64 = 60_000;
    let mut topics: HashMap<String, Count> = HashMap::new();
    let mut clients: HashMap<String, Count> = HashMap::new();
    let (oldest, full) = hub.read_source(source, |s| {
        let mut oldest = now_ms;
        // The whole log (at most 10,000 packets): packets are kept in arrival order, which a
        // clock step can make differ from their times.
        for p in s.packets().rev() {
            let time = p
                .time
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            if time + LONG < now_ms {
                continue;
            }
            oldest = oldest.min(time);
            // Seen from the broker, PUBLISHes coming in; from a session, both ways.
            let counted = p.summary.kind == PacketKind::Publish
                && (p.direction == Direction::Inbound || matches!(source, SourceId::Session(_)));
            if !counted {
                continue;
            }
            let bytes = p.summary.payload_len as u64;
            let short = time + SHORT >= now_ms;
            let topic = p.summary.topic.clone().unwrap_or_default();
            for count in [
                topics.entry(topic).or_default(),
                clients.entry(p.client_id.to_string()).or_default(),
            ] {
                count.long += 1;
                count.long_bytes += bytes;
                if short {
                    count.short += 1;
                    count.short_bytes += bytes;
                }
            }
        }
        let kept = s.packets().count() as u64;
        (oldest, s.packets_total() > kept)
    });
    // When the log lost older packets, rates are over what it still holds.
    let span = |window: u64| -> f64 {
        let held = now_ms.saturating_sub(oldest).max(1000);
        (if full { held.min(window) } else { window }) as f64 / 1000.0
    };
    let (short_seconds, long_seconds) = (span(SHORT), span(LONG));
    let rank = |map: HashMap<String, Count>| -> Vec<BusyEntry> {
        let mut list: Vec<(String, Count)> = map.into_iter().collect();
        list.sort_by(|a, b| {
            let key = |c: &Count| {
                if by_bytes {
                    (c.short_bytes, c.long_bytes)
                } else {
                    (c.short, c.long)
                }
            };
            key(&b.1).cmp(&key(&a.1)).then_with(|| a.0.cmp(&b.0))
        });
        list.into_iter()
            .take(RANKED)
            .map(|(name, c)| BusyEntry {
                name,
                rate_short: c.short as f64 / short_seconds,
                rate_long: c.long as f64 / long_seconds,
                bytes_short: c.short_bytes as f64 / short_seconds,
                bytes_long: c.long_bytes as f64 / long_seconds,
            })
            .collect()
    };
    BusyReport {
        short_seconds,
        long_seconds,
        topics: rank(topics),
        clients: rank(clients),
    }
}
