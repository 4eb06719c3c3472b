//! The sequence diagram's pages of the packet log: the packets of the chosen clients in time
//! order, each with a serial number so the view can follow live (what is newer than the last
//! serial it has) and scroll back (what is older than the first), plus the connection notices
//! of those clients in the same span (a broker closing a silent client shows as such).

use crate::hub::TrafficHub;
use crate::traffic::packets::{packet_row, PacketRow};
use serde::Serialize;
use std::collections::BTreeSet;
use workbench_traffic::source::NoticeKind;
use workbench_traffic::SourceId;

/// The most packets one page holds.
pub const MAX_PAGE: usize = 2000;
/// The most client ids a page names for the lane picker.
pub const MAX_CLIENTS: usize = 500;

/// One packet of the diagram.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SequenceRow {
    /// The packet's place in the source's log (1 is the first packet the source ever saw).
    #[specta(type = u32)]
    pub serial: f64,
    pub packet: PacketRow,
}

/// A connection notice on a client's lane (connected, refused, disconnected, with why).
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SequenceNote {
    #[specta(type = u32)]
    pub time_ms: f64,
    pub kind: NoticeKind,
    pub client_id: String,
    pub detail: String,
}

/// A page of the diagram, oldest first.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SequencePage {
    pub rows: Vec<SequenceRow>,
    pub notes: Vec<SequenceNote>,
    /// The oldest serial the log still keeps (older ones are gone).
    #[specta(type = u32)]
    pub oldest_kept: f64,
    /// Packets seen since the source started.
    #[specta(type = u32)]
    pub total: f64,
    /// Every client id in the log (at most [`MAX_CLIENTS`]), for choosing lanes.
    pub clients: Vec<String>,
}

/// Which packets a page holds.
#[derive(Debug, Clone, Copy)]
pub enum PageAt {
    /// The newest `count`.
    Newest,
    /// The `count` just before this serial (scrolling back).
    Before(u64),
    /// Those after this serial (following live), at most `count`, the newest if more.
    After(u64),
}

/// A page of `source`'s packets of `clients` (all when empty).
pub fn page(
    hub: &TrafficHub,
    source: &SourceId,
    clients: &[String],
    at: PageAt,
    count: usize,
) -> SequencePage {
    let count = count.clamp(1, MAX_PAGE);
    let wanted: BTreeSet<&str> = clients.iter().map(String::as_str).collect();
    hub.read_source(source, |s| {
        let kept = s.packets().count() as u64;
        let total = s.packets_total();
        let first = total - kept + 1;
        let mut names = BTreeSet::new();
        let mut chosen = Vec::new();
        for (index, packet) in s.packets().enumerate() {
            let serial = first + index as u64;
            if names.len() < MAX_CLIENTS && !packet.client_id.is_empty() {
                names.insert(packet.client_id.to_string());
            }
            if !wanted.is_empty() && !wanted.contains(&*packet.client_id) {
                continue;
            }
            let inside = match at {
                PageAt::Newest => true,
                PageAt::Before(before) => serial < before,
                PageAt::After(after) => serial > after,
            };
            if inside {
                chosen.push((serial, packet));
            }
        }
        let skip = chosen.len().saturating_sub(count);
        let rows: Vec<SequenceRow> = chosen
            .into_iter()
            .skip(skip)
            .map(|(serial, packet)| SequenceRow {
                serial: serial as f64,
                packet: packet_row(packet),
            })
            .collect();
        let span = rows
            .first()
            .zip(rows.last())
            .map(|(a, b)| (a.packet.time_ms as u64, b.packet.time_ms as u64 + 1));
        let notes = match span {
            Some((from, to)) => s
                .notices()
                .filter(|n| n.time_ms >= from && n.time_ms <= to)
                .filter(|n| wanted.is_empty() || wanted.contains(n.client_id.as_str()))
                .filter(|n| matches!(n.kind, NoticeKind::Disconnected | NoticeKind::Refused))
                .take(200)
                .map(|n| SequenceNote {
                    time_ms: n.time_ms as f64,
                    kind: n.kind,
                    client_id: n.client_id.clone(),
                    detail: n.detail.clone(),
                })
                .collect(),
            None => Vec::new(),
        };
        SequencePage {
            rows,
            notes,
            oldest_kept: first as f64,
            total: total as f64,
            clients: names.into_iter().collect(),
        }
    })
}
