use super::busy;
use super::sequence::{self, PageAt};
use crate::hub::TrafficHub;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use workbench_traffic::source::SourceLimits;
use workbench_traffic::SourceId;
use workbench_wire::{Direction, PacketEvent, PacketKind, PacketSummary};

fn packet(client: &str, kind: PacketKind, topic: Option<&str>, time_ms: u64) -> PacketEvent {
    let mut summary = PacketSummary::new(kind, 10);
    summary.topic = topic.map(str::to_string);
    summary.payload_len = 4;
    PacketEvent {
        connection: 1,
        client_id: Arc::from(client),
        remote: None,
        direction: Direction::Inbound,
        summary,
        time: UNIX_EPOCH + Duration::from_millis(time_ms),
    }
}

fn hub_with(packets: Vec<PacketEvent>, kept: usize) -> Arc<TrafficHub> {
    let hub = TrafficHub::new(SourceLimits {
        packets: kept,
        ..SourceLimits::default()
    });
    hub.with_source(&SourceId::Broker, |model| {
        for p in packets {
            model.ingest(p);
        }
    });
    hub
}

#[test]
fn sequence_pages_follow_live_and_scroll_back_by_serial() {
    let packets = (0..10)
        .map(|i| {
            packet(
                if i % 2 == 0 { "a" } else { "b" },
                PacketKind::PingReq,
                None,
                1000 + i,
            )
        })
        .collect();
    // The log keeps 6 of the 10: serials 5 to 10.
    let hub = hub_with(packets, 6);
    let serials = |page: &sequence::SequencePage| -> Vec<f64> {
        page.rows.iter().map(|r| r.serial).collect()
    };
    let newest = sequence::page(&hub, &SourceId::Broker, &[], PageAt::Newest, 3);
    assert_eq!(serials(&newest), [8.0, 9.0, 10.0]);
    assert_eq!(newest.oldest_kept, 5.0);
    assert_eq!(newest.total, 10.0);
    assert_eq!(newest.clients, ["a", "b"]);
    let earlier = sequence::page(&hub, &SourceId::Broker, &[], PageAt::Before(8), 100);
    assert_eq!(serials(&earlier), [5.0, 6.0, 7.0]);
    let after = sequence::page(&hub, &SourceId::Broker, &[], PageAt::After(9), 100);
    assert_eq!(serials(&after), [10.0]);
    let only_a = sequence::page(&hub, &SourceId::Broker, &["a".into()], PageAt::Newest, 100);
    assert!(only_a.rows.iter().all(|r| r.packet.client_id == "a"));
    assert_eq!(serials(&only_a), [5.0, 7.0, 9.0]);
}

#[test]
fn who_is_busy_ranks_topics_and_clients_over_both_windows() {
    let now = 100_000;
    let mut packets = Vec::new();
    // "loud" publishes 20 times in the last 10 s; "quiet" 3 times, 30 s ago.
    for i in 0..20 {
        packets.push(packet(
            "loud",
            PacketKind::Publish,
            Some("flood/x"),
            now - 5_000 + i,
        ));
    }
    for i in 0..3 {
        packets.push(packet(
            "quiet",
            PacketKind::Publish,
            Some("calm/y"),
            now - 30_000 + i,
        ));
    }
    packets.push(packet(
        "old",
        PacketKind::Publish,
        Some("gone/z"),
        now - 90_000,
    ));
    let hub = hub_with(packets, 1000);
    let report = busy::report(&hub, &SourceId::Broker, now, false);
    assert_eq!(report.short_seconds, 10.0);
    assert_eq!(report.long_seconds, 60.0);
    let names: Vec<&str> = report.topics.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["flood/x", "calm/y"],
        "older than a minute is not counted"
    );
    assert_eq!(report.topics[0].rate_short, 2.0);
    assert_eq!(report.topics[1].rate_short, 0.0);
    assert_eq!(report.topics[1].rate_long, 0.05);
    assert_eq!(report.clients[0].name, "loud");
    assert_eq!(report.clients[0].bytes_short, 8.0);
}
