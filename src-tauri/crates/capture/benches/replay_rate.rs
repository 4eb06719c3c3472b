//! How fast a recording replays as fast as possible (`mqttwb replay --max`): a recording of
//! `BENCH_REPLAY_MESSAGES` messages (default 200,000; 100-byte payloads, 50 topics) replayed
//! into the embedded broker and, side by side in the same run, into mosquitto, at QoS 0 and
//! QoS 1. The rate counts from the first message read to the last one acknowledged (QoS 1)
//! or written (QoS 0); memory is the process's peak resident size, to show a replay stays
//! flat whatever the file's size.
//!
//! `make bench-replay` (release build). Nothing is asserted: the numbers are printed.

use std::path::Path;
use std::time::Instant;
use workbench_broker::{Broker, BrokerSettings};
use workbench_capture::link::{Link, LinkOptions};
use workbench_capture::replay::{self, ReplayOptions};
use workbench_capture::Message;
use workbench_testkit::mosquitto::Mosquitto;

fn write_recording(path: &Path, count: usize, qos: u8) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("create");
    let mut out = std::io::BufWriter::new(file);
    let start = 1_764_583_200_000u64;
    for n in 0..count {
        let mut m = Message::new(format!("bench/{}/value", n % 50), vec![b'x'; 100]);
        m.time_ms = Some(start + n as u64);
        m.qos = qos;
        writeln!(out, "{}", workbench_capture::jsonl::encode(&m, Some(start))).expect("write");
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn replay_to(url: &str, path: &Path) -> (u64, f64) {
    let link = Link::connect(&LinkOptions::new(url))
        .await
        .expect("connect");
    let options = ReplayOptions {
        speed: 0.0,
        ..ReplayOptions::default()
    };
    let started = Instant::now();
    let handle = replay::start(path, options, link).expect("replay");
    let done = handle.wait().await;
    let seconds = started.elapsed().as_secs_f64();
    assert!(done.error.is_none(), "{:?}", done.error);
    (done.sent, seconds)
}

fn main() {
    let count: usize = std::env::var("BENCH_REPLAY_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let broker = runtime
        .block_on(Broker::start(settings, None))
        .expect("embedded broker");
    let embedded = format!("mqtt://{}", broker.local_addr());
    let mosquitto = Mosquitto::start(&[], None);
    let external = format!("mqtt://127.0.0.1:{}", mosquitto.port);
    println!("replay as fast as possible, {count} messages of 100 bytes, 50 topics");
    println!(
        "{:<10} {:<6} {:>12} {:>10}",
        "broker", "QoS", "msg/s", "seconds"
    );
    for qos in [0u8, 1] {
        let path = dir.path().join(format!("bench-qos{qos}.jsonl"));
        write_recording(&path, count, qos);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        for (name, url) in [("embedded", &embedded), ("mosquitto", &external)] {
            let (sent, seconds) = runtime.block_on(replay_to(url, &path));
            println!(
                "{name:<10} {qos:<6} {:>12.0} {seconds:>10.2}",
                sent as f64 / seconds
            );
        }
        println!("  (file {:.1} MB)", size as f64 / 1e6);
    }
    println!(
        "peak resident memory of this process: {} MiB",
        peak_rss_kib() / 1024
    );
    runtime.block_on(broker.stop());
}
