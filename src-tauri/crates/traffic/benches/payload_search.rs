//! The topic filter box's payload search (`payload:`) on 100,000 topics, side by side in one
//! run with the plain topic filters it extends. Each line is the time to rebuild the filtered
//! rows: once after the filter changed (a full scan); in the next frame after one more message
//! arrived (a payload search then keeps its rows until the last scan is ten of its durations
//! old); and once that time has passed (it scans again: the last payloads may have changed).
//! The topics' last payloads: JSON (100 bytes or so, 1 in 1,000 with an alarm, 1 in 100 with an
//! escaped string), plus 1,000 Sparkplug B NDATA topics and 1,000 gzip-compressed JSON topics.
//!
//! Run: `make bench-search` (or `cargo bench -p workbench-traffic --bench payload_search`).

use prost::Message;
use std::io::Write;
use std::time::{Duration, Instant};
use workbench_decode::sparkplug::proto::{Metric, MetricValue, Payload};
use workbench_traffic::history::HistoryLimits;
use workbench_traffic::tree::{Incoming, TopicTree};
use workbench_traffic::view::{TreeFilter, TreeView};

const TOPICS: usize = 100_000;
const SPECIAL: usize = 1_000;

fn record(tree: &mut TopicTree, topic: &str, payload: &[u8], time_ms: u64) {
    tree.record(&Incoming {
        topic,
        payload,
        qos: 0,
        retain: false,
        time_ms,
    });
}

fn json_payload(i: usize) -> Vec<u8> {
    let status = if i % 1000 == 7 { "alarm" } else { "ok" };
    let city = if i % 100 == 3 {
        "Z\\u00fcrich"
    } else {
        "Basel"
    };
    format!(
        r#"{{"id":{i},"temperature":{:.1},"status":"{status}","city":"{city}","battery":87}}"#,
        20.0 + (i % 150) as f64 / 10.0
    )
    .into_bytes()
}

fn sparkplug_payload(i: usize) -> Vec<u8> {
    Payload {
        timestamp: Some(1_700_000_000_000),
        seq: Some((i % 256) as u64),
        metrics: vec![Metric {
            name: Some(if i == 500 {
                "Vibration".into()
            } else {
                "Speed".into()
            }),
            datatype: Some(10),
            value: Some(MetricValue::Double(1450.0 + i as f64)),
            ..Metric::default()
        }],
        ..Payload::default()
    }
    .encode_to_vec()
}

fn gzip_payload(i: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let text = if i == 900 {
        "compressed-needle"
    } else {
        "plain"
    };
    let _ = gz.write_all(format!(r#"{{"id":{i},"note":"{text}"}}"#).as_bytes());
    gz.finish().unwrap_or_default()
}

fn build() -> TopicTree {
    let mut tree = TopicTree::new(HistoryLimits::default());
    for i in 0..TOPICS {
        let topic = format!("site/{}/device/{i}/state", i % 100);
        record(&mut tree, &topic, &json_payload(i), i as u64);
    }
    for i in 0..SPECIAL {
        let topic = format!("spBv1.0/Plant/NDATA/edge{i}");
        record(&mut tree, &topic, &sparkplug_payload(i), 1);
        let topic = format!("zipped/{i}");
        record(&mut tree, &topic, &gzip_payload(i), 1);
    }
    tree
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let started = Instant::now();
    let mut tree = build();
    println!(
        "payload search: {} topics built in {:.1} s",
        tree.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<34} {:>9} {:>12} {:>12} {:>12}",
        "filter", "matches", "filter set", "next frame", "rescan"
    );
    let filters = [
        ("topic substring: device/4242/", "device/4242/"),
        ("topic filter: site/7/#", "site/7/#"),
        ("payload: alarm (text)", "payload:alarm"),
        ("payload: zürich (JSON escapes)", "payload:zürich"),
        ("payload: vibration (Sparkplug B)", "payload:vibration"),
        (
            "payload: compressed-needle (gzip)",
            "payload:compressed-needle",
        ),
        ("payload: nothing matches", "payload:no-such-value"),
        ("site/7/# payload:alarm", "site/7/# payload:alarm"),
    ];
    let mut tick = 0u64;
    for (label, text) in filters {
        let filter = TreeFilter::parse(text).expect("a valid filter");
        let mut set = Vec::new();
        let mut after = Vec::new();
        let mut rescan = Vec::new();
        let mut matches = 0;
        for _ in 0..5 {
            let mut view = TreeView::default();
            let at = Instant::now();
            view.set_filter(filter.clone());
            view.row_count(&mut tree);
            set.push(at.elapsed());
            matches = view.matches().unwrap_or(0);
            // One more message to a topic already there: no new topic, new last payload.
            tick += 1;
            record(&mut tree, "site/0/device/0/state", &json_payload(0), tick);
            let at = Instant::now();
            view.row_count(&mut tree);
            after.push(at.elapsed());
            std::thread::sleep(set.last().copied().unwrap_or_default() * 10);
            let at = Instant::now();
            view.row_count(&mut tree);
            rescan.push(at.elapsed());
        }
        println!(
            "{label:<34} {matches:>9} {:>9.1} ms {:>9.1} ms {:>9.1} ms",
            median(set).as_secs_f64() * 1e3,
            median(after).as_secs_f64() * 1e3,
            median(rescan).as_secs_f64() * 1e3
        );
    }
}
