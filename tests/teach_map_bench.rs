//! Benchmark of the live map in the real window (`make bench-teach-map`; never in `make test`):
//! its frame time and frame rate with 50 clients at 5,000 messages a second in all, and what it
//! costs when idle; side by side with the topic tree open under the same load, in one run.
//!
//! 10 raw-socket publishers send 500 QoS 0 messages a second each to `bench/<p>/x`; 40 raw
//! subscribers each take `bench/<s % 10>/#` (so every message reaches 4 of them: 20,000
//! deliveries a second). The map's own counters (draw time per frame, frames drawn) are read from
//! the page; CPU is read from /proc for the app's process and WebKit's processes.

#[path = "support/mod.rs"]
#[allow(unused_imports)] // the benchmark uses the raw clients only
mod support;

use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::raw::{self, Connect, RawClient, V311};
use support::webdriver::AppWindow;

const PUBLISHERS: usize = 10;
const SUBSCRIBERS: usize = 40;
const RATE: u64 = 5_000;
const WINDOW: Duration = Duration::from_secs(10);

fn app_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mqtt-workbench"))
}

/// CPU seconds used so far by the app and WebKit's processes.
fn cpu_seconds() -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        if !(name.starts_with("mqtt-workbench") || name.starts_with("WebKit")) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let used: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
            .sum();
        total += used / ticks;
    }
    total
}

/// Frames drawn so far and the draw times kept (ms).
fn frames(window: &AppWindow) -> (f64, Vec<f64>) {
    let value = window.execute(
        "const s = globalThis.__mqttMapFrames; return s ? [s.frames, s.recent()] : [0, []];",
        json!([]),
    );
    let count = value[0].as_f64().unwrap_or(0.0);
    let times = value[1]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    (count, times)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn start_load(address: std::net::SocketAddr) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for s in 0..SUBSCRIBERS {
        let id = format!("bench-sub-{s:02}");
        let mut client = RawClient::connected(
            address,
            Connect {
                level: V311,
                client_id: &id,
                ..Connect::default()
            },
        );
        client.send(&raw::subscribe(
            V311,
            1,
            &[(&format!("bench/{}/#", s % PUBLISHERS), 0)],
        ));
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            let _ = client
                .stream
                .set_read_timeout(Some(Duration::from_millis(200)));
            while !stop.load(Ordering::Relaxed) {
                match client.stream.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    for p in 0..PUBLISHERS {
        let id = format!("bench-pub-{p:02}");
        let mut client = RawClient::connected(
            address,
            Connect {
                level: V311,
                client_id: &id,
                ..Connect::default()
            },
        );
        let packet = raw::publish(V311, &format!("bench/{p}/x"), b"{\"t\":21.5}", 0, false, 0);
        let (stop, sent) = (stop.clone(), sent.clone());
        threads.push(std::thread::spawn(move || {
            // 500 a second, in bursts of 10 every 20 ms.
            let per_tick = (RATE / PUBLISHERS as u64 / 50).max(1);
            let started = Instant::now();
            let mut ticks = 0u32;
            let burst: Vec<u8> = (0..per_tick).flat_map(|_| packet.clone()).collect();
            while !stop.load(Ordering::Relaxed) {
                if !client.try_send(&burst) {
                    break;
                }
                sent.fetch_add(per_tick, Ordering::Relaxed);
                ticks += 1;
                let next = started + Duration::from_millis(20) * ticks;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        }));
    }
    Load {
        stop,
        sent,
        threads,
    }
}

fn measure(window: &AppWindow, label: &str, map: bool) -> f64 {
    let (frames_before, _) = frames(window);
    let cpu_before = cpu_seconds();
    std::thread::sleep(WINDOW);
    let cpu = (cpu_seconds() - cpu_before) / WINDOW.as_secs_f64() * 100.0;
    let (frames_after, times) = frames(window);
    let drawn = (frames_after - frames_before) as usize;
    let fps = drawn as f64 / WINDOW.as_secs_f64();
    // The draw times of this window's frames only (the page keeps the latest 600).
    let mut times: Vec<f64> = times
        .iter()
        .rev()
        .take(drawn.min(times.len()))
        .copied()
        .collect();
    times.sort_by(f64::total_cmp);
    if map && drawn > 0 {
        println!(
            "{label:<34} {fps:>6.1} fps  draw p50 {:>5.2} ms  p95 {:>5.2} ms  max {:>6.2} ms  CPU {cpu:>5.1}% of a core",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.last().copied().unwrap_or(0.0)
        );
    } else {
        println!("{label:<34} {fps:>6.1} fps (map frames drawn)  CPU {cpu:>5.1}% of a core");
    }
    fps
}

#[test]
#[ignore = "a benchmark: run by `make bench-teach-map` under Xvfb"]
fn live_map_frame_time_at_50_clients_and_5000_messages_a_second() {
    let window = AppWindow::launch(app_binary());
    let status = window.wait_for_text("[data-testid='status-broker']", |t| {
        t.starts_with("Broker 127.0.0.1:")
    });
    let address: std::net::SocketAddr = status
        .trim_start_matches("Broker ")
        .parse()
        .expect("the broker's address");
    window.click("[data-testid='tab-teach']");
    window.click("[data-testid='teach-tab-map']");

    println!("live map benchmark: {PUBLISHERS} publishers + {SUBSCRIBERS} subscribers, {RATE} msg/s in, 4 deliveries each");
    measure(&window, "idle, map open", true);
    let load = start_load(address);
    window.wait_for("[data-testid='map-client'][data-client='bench-sub-39']");
    std::thread::sleep(Duration::from_secs(3));
    let started = load.sent.load(Ordering::Relaxed);
    let fps = measure(&window, "5,000 msg/s, map open", true);
    let rate = (load.sent.load(Ordering::Relaxed) - started) as f64 / WINDOW.as_secs_f64();
    println!("{:<34} {rate:>6.0} msg/s published", "  (load achieved)");
    window.click("[data-testid='tab-topics']");
    std::thread::sleep(Duration::from_secs(2));
    measure(&window, "5,000 msg/s, topic tree instead", false);
    load.stop.store(true, Ordering::Relaxed);
    for thread in load.threads {
        let _ = thread.join();
    }
    window.click("[data-testid='tab-teach']");
    window.click("[data-testid='teach-tab-map']");
    std::thread::sleep(Duration::from_secs(5));
    let idle_fps = measure(&window, "idle again, map open", true);
    assert!(fps > 0.0, "the map drew nothing under load");
    assert!(
        idle_fps < 1.0,
        "the map kept drawing while idle ({idle_fps} fps)"
    );
}
