//! The traffic model under load, measured in one process:
//! - ingest rate into one source's model (100,000 distinct topics, 100-byte payloads);
//! - memory per topic and per stored message (resident memory, read from /proc);
//! - the cost of a view frame for a 10,000-row expanded tree;
//! - memory over a simulated 10-minute run at 100,000 messages/s with the default limits.
//!
//! Run: `make bench-traffic` (or `cargo bench -p workbench-traffic --bench traffic_model`).
//! BENCH_SOAK_MINUTES (default 10) shortens or lengthens the simulated run.

use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use workbench_traffic::history::HistoryLimits;
use workbench_traffic::source::{SourceLimits, SourceModel};
use workbench_traffic::tree::{Incoming, TopicTree};
use workbench_traffic::view::TreeView;
use workbench_wire::{Direction, PacketEvent, PacketKind, PacketSummary};

/// Resident memory of this process, in bytes (from /proc: what the machine really gives us).
fn live() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: isize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

const TOPICS: usize = 100_000;
const PAYLOAD: [u8; 100] = [b'x'; 100];

fn topics() -> Vec<String> {
    (0..TOPICS)
        .map(|i| format!("site/{}/device/{}/temperature", i % 100, i))
        .collect()
}

fn event(topic: &str, time: SystemTime) -> PacketEvent {
    PacketEvent {
        connection: 1,
        client_id: Arc::from("bench"),
        remote: None,
        direction: Direction::Inbound,
        summary: PacketSummary {
            kind: PacketKind::Publish,
            packet_id: None,
            qos: 0,
            retain: false,
            dup: false,
            topic: Some(topic.to_string()),
            payload_len: PAYLOAD.len(),
            size: PAYLOAD.len() + topic.len() + 4,
            reason: None,
            payload: Some(Bytes::copy_from_slice(&PAYLOAD)),
            fields: Vec::new(),
        },
        time,
    }
}

fn ingest_rate(topics: &[String]) {
    let messages = 3_000_000;
    // The tree alone.
    let mut tree = TopicTree::new(HistoryLimits::default());
    let start = Instant::now();
    for i in 0..messages {
        tree.record(&Incoming {
            topic: &topics[i % topics.len()],
            payload: &PAYLOAD,
            qos: 0,
            retain: false,
            time_ms: 1_700_000_000_000 + (i as u64 / 100),
        });
    }
    let elapsed = start.elapsed();
    println!(
        "ingest, topic tree:   {:>9.0} msg/s ({messages} messages over {} topics, {:.2} s)",
        messages as f64 / elapsed.as_secs_f64(),
        topics.len(),
        elapsed.as_secs_f64()
    );
    drop(tree);

    // The whole source model, from packet events as the broker sends them (built in the loop).
    let mut model = SourceModel::new(SourceLimits::default());
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let start = Instant::now();
    for i in 0..messages {
        let time = base + Duration::from_micros(i as u64 * 10);
        model.ingest(event(&topics[i % topics.len()], time));
    }
    let elapsed = start.elapsed();
    println!(
        "ingest, source model: {:>9.0} msg/s (packet events built, logged and recorded)",
        messages as f64 / elapsed.as_secs_f64()
    );
}

fn memory(topics: &[String]) {
    // Per topic: one message each, no history kept.
    let before = live();
    let mut tree = TopicTree::new(HistoryLimits {
        per_topic_messages: 0,
        ..HistoryLimits::default()
    });
    for (i, topic) in topics.iter().enumerate() {
        tree.record(&Incoming {
            topic,
            payload: &PAYLOAD,
            qos: 0,
            retain: false,
            time_ms: i as u64,
        });
    }
    let per_node = (live() - before) as f64 / (tree.len() as f64);
    let per_topic = (live() - before) as f64 / (topics.len() as f64);
    println!(
        "memory per topic:     {per_topic:>9.0} bytes ({} nodes for {} topics: {per_node:.0} bytes a node)",
        tree.len(),
        topics.len()
    );
    drop(tree);

    // Per stored message: 10,000 topics holding 100 messages each.
    let mut tree = TopicTree::new(HistoryLimits::default());
    for (i, topic) in topics.iter().take(10_000).enumerate() {
        tree.record(&Incoming {
            topic,
            payload: &PAYLOAD,
            qos: 0,
            retain: false,
            time_ms: i as u64,
        });
    }
    let with_topics = live();
    let mut stored = 0;
    for round in 0..99 {
        for (i, topic) in topics.iter().take(10_000).enumerate() {
            tree.record(&Incoming {
                topic,
                payload: &PAYLOAD,
                qos: 0,
                retain: false,
                time_ms: (round * 10_000 + i) as u64,
            });
            stored += 1;
        }
    }
    let per_message = (live() - with_topics) as f64 / stored as f64;
    println!("memory per message:   {per_message:>9.0} bytes (100-byte payloads; {stored} stored)");
}

fn view_frame() {
    let mut tree = TopicTree::new(HistoryLimits::default());
    for a in 0..100 {
        for b in 0..99 {
            tree.record(&Incoming {
                topic: &format!("area{a:02}/sensor{b:02}"),
                payload: b"21.5",
                qos: 0,
                retain: false,
                time_ms: 0,
            });
        }
    }
    let mut view = TreeView::default();
    view.expand_all(&tree);
    let rows = view.row_count(&mut tree);
    let rounds = 1000;
    let start = Instant::now();
    for i in 0..rounds {
        let from = (i * 97) % rows.saturating_sub(60).max(1);
        std::hint::black_box(view.rows(&mut tree, from, 60, 1_000));
    }
    let warm = start.elapsed() / rounds as u32;
    // A frame after the tree grew: the flattened order is rebuilt.
    let start = Instant::now();
    let rebuilds = 50;
    for i in 0..rebuilds {
        tree.record(&Incoming {
            topic: &format!("area00/new{i}"),
            payload: b"1",
            qos: 0,
            retain: false,
            time_ms: 0,
        });
        std::hint::black_box(view.rows(&mut tree, 5_000, 60, 1_000));
    }
    let cold = start.elapsed() / rebuilds;
    println!(
        "view frame:           {:>9.3} ms for 60 rows of a {rows}-row expanded tree ({:.3} ms when the tree just grew)",
        warm.as_secs_f64() * 1e3,
        cold.as_secs_f64() * 1e3
    );
}

fn soak(topics: &[String]) {
    let minutes: u64 = std::env::var("BENCH_SOAK_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let rate = 100_000u64;
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let before = live();
    let mut model = SourceModel::new(SourceLimits::default());
    let start = Instant::now();
    let mut line = String::new();
    for minute in 0..minutes {
        for i in 0..rate * 60 {
            let n = minute * rate * 60 + i;
            let time = base + Duration::from_micros(n * 1_000_000 / rate);
            model.ingest(event(&topics[(n as usize) % topics.len()], time));
        }
        line.push_str(&format!(" {:.0}", (live() - before) as f64 / 1048576.0));
    }
    println!(
        "soak, simulated {minutes} min at {rate} msg/s, 100k topics, default limits: live MiB after each minute:{line} (ran in {:.0} s)",
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    let topics = topics();
    // Memory first: resident memory only grows, so later phases would hide earlier ones.
    memory(&topics);
    soak(&topics);
    ingest_rate(&topics);
    view_frame();
}
