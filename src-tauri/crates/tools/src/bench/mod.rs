//! The load generator: `conn` (open many connections at a set rate and hold them), `pub`
//! (publishers at a set rate per client, or as fast as the broker takes them, with subscribers
//! measuring end-to-end latency) and `sub` (subscribers only, measuring the latency of whatever
//! publishes carry a timestamp, e.g. another `bench pub`).
//!
//! Every publish carries its send time (microseconds since the epoch, 8 bytes big-endian, then
//! a marker) at the start of its payload; a subscriber records now minus that time into an HDR
//! histogram, so latencies are end to end and agree with the payloads. Errors are counted by
//! reason. [`Bench`] runs it on the current tokio runtime; [`BenchStats`] is its live progress
//! and final report.

mod load;
mod spec;

pub use spec::{BenchSpec, Mode};

use crate::target::Target;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Distinct error reasons kept; past this they count as "other".
const MAX_REASONS: usize = 64;

/// The marker after the timestamp: a payload without it carries no time.
pub const MARKER: &[u8; 4] = b"MWB1";
/// The smallest payload that carries a timestamp.
pub const STAMPED: usize = 12;

/// A payload of `size` bytes stamped with `now_us`.
pub fn stamp(payload: &mut Vec<u8>, size: usize, now_us: u64) {
    payload.clear();
    if size >= STAMPED {
        payload.extend_from_slice(&now_us.to_be_bytes());
        payload.extend_from_slice(MARKER);
    }
    payload.resize(size, b'x');
}

/// The send time a stamped payload carries.
pub fn stamped_at(payload: &[u8]) -> Option<u64> {
    if payload.len() < STAMPED || &payload[8..12] != MARKER {
        return None;
    }
    let mut time = [0u8; 8];
    time.copy_from_slice(&payload[..8]);
    Some(u64::from_be_bytes(time))
}

/// What a run has done so far, shared by its clients.
pub struct Counters {
    pub connected: AtomicU64,
    pub connect_attempts: AtomicU64,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub received: AtomicU64,
    pub publishers_done: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    /// End-to-end latency in microseconds.
    latency: Mutex<Histogram<u64>>,
    /// Time to connect (TCP + CONNECT + CONNACK) in microseconds.
    connect_time: Mutex<Histogram<u64>>,
    first_connect: Mutex<Option<Instant>>,
    last_connect: Mutex<Option<Instant>>,
    first_send: Mutex<Option<Instant>>,
    last_receive: Mutex<Option<Instant>>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant digits; cannot fail with these bounds.
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            connected: AtomicU64::new(0),
            connect_attempts: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            received: AtomicU64::new(0),
            publishers_done: AtomicU64::new(0),
            errors: Mutex::default(),
            latency: Mutex::new(histogram()),
            connect_time: Mutex::new(histogram()),
            first_connect: Mutex::default(),
            last_connect: Mutex::default(),
            first_send: Mutex::default(),
            last_receive: Mutex::default(),
        }
    }
}

impl Counters {
    pub fn error(&self, reason: &str) {
        let mut errors = lock(&self.errors);
        let known = errors.contains_key(reason) || errors.len() < MAX_REASONS;
        *errors
            .entry(if known { reason } else { "other" }.to_string())
            .or_default() += 1;
    }

    pub(crate) fn connected(&self, took: Duration) {
        let now = Instant::now();
        self.connected.fetch_add(1, Relaxed);
        let _ = lock(&self.connect_time).record(took.as_micros().max(1) as u64);
        lock(&self.first_connect).get_or_insert(now);
        *lock(&self.last_connect) = Some(now);
    }

    pub(crate) fn sending(&self) {
        lock(&self.first_send).get_or_insert_with(Instant::now);
    }

    /// Merges a client's latencies (and clears them).
    pub(crate) fn merge(&self, local: &mut Histogram<u64>, received: u64) {
        if received > 0 {
            self.received.fetch_add(received, Relaxed);
            *lock(&self.last_receive) = Some(Instant::now());
        }
        if !local.is_empty() {
            let _ = lock(&self.latency).add(&*local);
            local.reset();
        }
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Percentiles {
    pub count: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Percentiles {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: h.len() as f64,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// A run's progress and, once it ended, its report (numbers as f64 for the UI's bindings).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BenchStats {
    pub mode: Mode,
    pub clients: f64,
    pub connected: f64,
    /// Connections per second, from the first to the last connection.
    pub connect_rate: f64,
    pub connect_time: Percentiles,
    pub sent: f64,
    pub acked: f64,
    pub received: f64,
    /// Publishes per second since the first one.
    pub send_rate: f64,
    /// Deliveries per second, from the first publish to the last delivery.
    pub receive_rate: f64,
    pub latency: Percentiles,
    pub errors: Vec<crate::sim::run::ErrorCount>,
    pub elapsed_ms: f64,
    /// 0 to 1, by count or by time; `null` when neither is set.
    pub progress: Option<f64>,
    pub running: bool,
}

/// A running load test.
pub struct Bench {
    pub spec: BenchSpec,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    started: Instant,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Bench {
    /// Starts it on the current tokio runtime (the spec must have passed [`BenchSpec::check`]).
    pub fn start(spec: BenchSpec, target: Target) -> Bench {
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(load::run(spec.clone(), target, counters.clone(), stopped));
        Bench {
            spec,
            counters,
            stop,
            started: Instant::now(),
            task: Some(task),
        }
    }

    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    pub fn stats(&self) -> BenchStats {
        let c = &self.counters;
        let elapsed = self.started.elapsed();
        let between = |a: &Mutex<Option<Instant>>, b: &Mutex<Option<Instant>>| {
            let (a, b) = (*lock(a), *lock(b));
            a.zip(b).map(|(a, b)| b.duration_since(a).as_secs_f64())
        };
        let connected = c.connected.load(Relaxed) as f64;
        let connect_span = between(&c.first_connect, &c.last_connect).unwrap_or(0.0);
        let sent = c.sent.load(Relaxed) as f64;
        let received = c.received.load(Relaxed) as f64;
        let since_first_send = lock(&c.first_send).map(|t| t.elapsed().as_secs_f64());
        let receive_span = between(&c.first_send, &c.last_receive);
        let spec = &self.spec;
        let progress = match (spec.count, spec.duration) {
            (Some(count), _) if spec.mode == Mode::Pub => {
                Some((sent / (count as f64 * f64::from(spec.clients)).max(1.0)).min(1.0))
            }
            (_, Some(d)) => Some((elapsed.as_secs_f64() / d.as_secs_f64().max(1e-3)).min(1.0)),
            _ => None,
        };
        let running = !self.is_finished();
        BenchStats {
            mode: spec.mode,
            clients: f64::from(spec.clients)
                + if spec.mode == Mode::Pub {
                    f64::from(spec.subscribers)
                } else {
                    0.0
                },
            connected,
            connect_rate: if connected > 1.0 && connect_span > 0.0 {
                (connected - 1.0) / connect_span
            } else {
                0.0
            },
            connect_time: Percentiles::of(&lock(&c.connect_time)),
            sent,
            acked: c.acked.load(Relaxed) as f64,
            received,
            send_rate: since_first_send.map_or(0.0, |s| sent / s.max(1e-3)),
            receive_rate: receive_span.map_or(0.0, |s| received / s.max(1e-3)),
            latency: Percentiles::of(&lock(&c.latency)),
            errors: lock(&c.errors)
                .iter()
                .map(|(reason, count)| crate::sim::run::ErrorCount {
                    reason: reason.clone(),
                    count: *count as f64,
                })
                .collect(),
            elapsed_ms: elapsed.as_millis() as f64,
            progress: if running { progress } else { Some(1.0) },
            running,
        }
    }

    /// Waits for the run to end by itself (its count or duration).
    pub async fn wait(&mut self) -> BenchStats {
        if let Some(task) = self.task.as_mut() {
            let _ = task.await;
        }
        self.task = None;
        self.stats()
    }

    /// Ends the run now and waits for its clients, at most `patience`.
    pub async fn stop(mut self, patience: Duration) -> BenchStats {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(patience, &mut task).await.is_err() {
                task.abort();
            }
        }
        self.stats()
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_their_send_time() {
        let mut payload = Vec::new();
        stamp(&mut payload, 100, 1_234_567);
        assert_eq!(payload.len(), 100);
        assert_eq!(stamped_at(&payload), Some(1_234_567));
        stamp(&mut payload, 8, 1);
        assert_eq!(stamped_at(&payload), None, "too small to carry a time");
        assert_eq!(stamped_at(b"an ordinary payload"), None);
    }
}
