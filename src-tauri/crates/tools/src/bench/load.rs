//! The load itself: one task per client. Publishers stamp each payload with its send time and
//! keep a window of unacknowledged QoS 1/2 messages; subscribers acknowledge, count and record
//! latencies into a local histogram merged into the run's every few hundred milliseconds.

use super::{stamp, stamped_at, BenchSpec, Counters, Mode};
use crate::client::{ConnectOptions, Connection};
use crate::sim::run::stopping;
use crate::target::Target;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use workbench_wire::codec::{packet_type, AckKind, QoS};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// A subscriber of a `pub` run ends after the publishers, once nothing arrived for this long.
const QUIET: Duration = Duration::from_secs(2);
/// How long a publisher waits for its last acknowledgements.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
const MERGE_EVERY: Duration = Duration::from_millis(200);

fn far() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

async fn connect(
    spec: &BenchSpec,
    target: &Target,
    id: String,
    counters: &Counters,
) -> Option<Connection> {
    let mut options = ConnectOptions::new(spec.level, &id);
    options.username = target.profile.username.clone().filter(|u| !u.is_empty());
    options.password = target.password.clone().map(String::into_bytes);
    options.read_chunk = if spec.mode == Mode::Conn {
        512
    } else {
        64 * 1024
    };
    options.max_packet = (spec.size + 1024).max(1 << 20);
    counters.connect_attempts.fetch_add(1, Relaxed);
    let began = std::time::Instant::now();
    match Connection::connect(target, &options, CONNECT_TIMEOUT).await {
        Ok(c) => {
            counters.connected(began.elapsed());
            Some(c)
        }
        Err(e) => {
            counters.error(&e.reason());
            None
        }
    }
}

/// Runs a whole load test.
pub async fn run(
    spec: BenchSpec,
    target: Target,
    counters: Arc<Counters>,
    stopped: watch::Receiver<bool>,
) {
    let deadline = spec.duration.map_or_else(far, |d| Instant::now() + d);
    let spec = Arc::new(spec);
    let gap = Duration::from_secs_f64(1.0 / spec.connect_rate);
    let mut subscribers = JoinSet::new();
    let (publishers_done, done_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::channel::<()>(1024);
    let (sub_count, expected, filter) = match spec.mode {
        Mode::Conn => (0, None, String::new()),
        Mode::Sub => (spec.clients, spec.count, spec.topic.clone()),
        Mode::Pub => (
            spec.subscribers,
            spec.count.map(|c| c * u64::from(spec.clients)),
            spec.filter(),
        ),
    };
    let start = Instant::now();
    for i in 0..sub_count {
        tokio::time::sleep_until(start + gap.mul_f64(f64::from(i))).await;
        if *stopped.borrow() {
            break;
        }
        subscribers.spawn(subscriber(
            spec.clone(),
            target.clone(),
            counters.clone(),
            format!("{}-sub-{}", spec.client_prefix, i + 1),
            filter.clone(),
            expected,
            (stopped.clone(), done_rx.clone()),
            deadline,
            ready_tx.clone(),
        ));
    }
    drop(ready_tx);
    // Publishers start once every subscriber listens (or failed).
    let mut ready = 0;
    while ready < sub_count {
        match tokio::time::timeout(CONNECT_TIMEOUT * 2, ready_rx.recv()).await {
            Ok(Some(())) => ready += 1,
            _ => break,
        }
    }
    let mut others = JoinSet::new();
    if spec.mode != Mode::Sub {
        let start = Instant::now();
        for i in 0..spec.clients {
            tokio::time::sleep_until(start + gap.mul_f64(f64::from(i))).await;
            if *stopped.borrow() {
                break;
            }
            let id = format!(
                "{}-{}-{}",
                spec.client_prefix,
                if spec.mode == Mode::Conn {
                    "conn"
                } else {
                    "pub"
                },
                i + 1
            );
            if spec.mode == Mode::Conn {
                others.spawn(hold(
                    spec.clone(),
                    target.clone(),
                    counters.clone(),
                    id,
                    stopped.clone(),
                    deadline,
                ));
            } else {
                others.spawn(publisher(
                    spec.clone(),
                    target.clone(),
                    counters.clone(),
                    id,
                    i + 1,
                    stopped.clone(),
                    deadline,
                ));
            }
            while others.try_join_next().is_some() {}
        }
    }
    while others.join_next().await.is_some() {}
    let _ = publishers_done.send(true);
    while subscribers.join_next().await.is_some() {}
}

/// A connection held open until the run ends (`conn`).
async fn hold(
    spec: Arc<BenchSpec>,
    target: Target,
    counters: Arc<Counters>,
    id: String,
    mut stopped: watch::Receiver<bool>,
    deadline: Instant,
) {
    let Some(mut connection) = connect(&spec, &target, id, &counters).await else {
        return;
    };
    let ping_every = Duration::from_secs(45);
    loop {
        tokio::select! {
            _ = stopping(&mut stopped) => break,
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tokio::time::sleep(ping_every) => {
                connection.ping();
                if connection.flush().await.is_err() {
                    counters.error("connection lost");
                    return;
                }
            }
            read = connection.fill() => match read {
                Ok(0) | Err(_) => {
                    counters.error("connection lost");
                    return;
                }
                Ok(_) => while let Ok(Some(_)) = connection.next_frame() {},
            }
        }
    }
    connection.disconnect().await;
}

#[allow(clippy::too_many_arguments)]
async fn publisher(
    spec: Arc<BenchSpec>,
    target: Target,
    counters: Arc<Counters>,
    id: String,
    number: u32,
    mut stopped: watch::Receiver<bool>,
    deadline: Instant,
) {
    let Some(mut connection) = connect(&spec, &target, id, &counters).await else {
        counters.publishers_done.fetch_add(1, Relaxed);
        return;
    };
    let topic = spec.topic_for(number);
    let count = spec.count.unwrap_or(u64::MAX);
    let acknowledged = spec.qos != QoS::AtMostOnce;
    let (mut sent, mut inflight) = (0u64, 0usize);
    let mut payload = Vec::with_capacity(spec.size);
    counters.sending();
    let start = Instant::now();
    let mut last_ack = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline || *stopped.borrow() {
            break;
        }
        let mut due = if spec.rate > 0.0 {
            let by_now = ((now - start).as_secs_f64() * spec.rate) as u64 + 1;
            by_now.saturating_sub(sent)
        } else if acknowledged {
            // As fast as possible: fill the window, then wait for acknowledgements.
            spec.window as u64
        } else {
            256
        };
        due = due.min(count - sent).min(1024);
        if acknowledged {
            due = due.min((spec.window - inflight.min(spec.window)) as u64);
        }
        for _ in 0..due {
            stamp(&mut payload, spec.size, crate::time::now_us());
            connection.publish(&topic, &payload, spec.qos, false, &[]);
            sent += 1;
            if acknowledged {
                inflight += 1;
            }
        }
        counters.sent.fetch_add(due, Relaxed);
        if let Err(e) = connection.flush().await {
            counters.error(&e.reason());
            break;
        }
        if sent >= count && inflight == 0 {
            break;
        }
        if spec.rate == 0.0 && !acknowledged {
            tokio::task::yield_now().await;
            continue;
        }
        let can_send = sent < count && (!acknowledged || inflight < spec.window);
        let wake = if spec.rate > 0.0 && can_send {
            start + Duration::from_secs_f64(sent as f64 / spec.rate)
        } else if can_send {
            now
        } else {
            far()
        };
        if sent >= count && last_ack.elapsed() > ACK_TIMEOUT {
            counters.error("no acknowledgement within 30 s");
            break;
        }
        tokio::select! {
            _ = stopping(&mut stopped) => break,
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tokio::time::sleep_until(wake), if wake > now => {}
            _ = tokio::time::sleep(ACK_TIMEOUT), if !can_send => {}
            read = connection.fill() => match read {
                Ok(0) | Err(_) => {
                    counters.error("the broker closed the connection");
                    break;
                }
                Ok(_) => {
                    let mut acks = 0;
                    loop {
                        let (first, body) = match connection.next_frame() {
                            Ok(Some((first, body))) => (first, body.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]))),
                            Ok(None) => break,
                            Err(e) => {
                                counters.error(&e.reason());
                                return;
                            }
                        };
                        match (first >> 4, body) {
                            (packet_type::PUBACK | packet_type::PUBCOMP, Some(_)) => acks += 1,
                            (packet_type::PUBREC, Some(id)) => connection.ack(AckKind::PubRel, id),
                            _ => {}
                        }
                    }
                    if acks > 0 {
                        inflight = inflight.saturating_sub(acks);
                        counters.acked.fetch_add(acks as u64, Relaxed);
                        last_ack = Instant::now();
                    }
                }
            }
        }
    }
    counters.publishers_done.fetch_add(1, Relaxed);
    connection.disconnect().await;
}

#[allow(clippy::too_many_arguments)]
async fn subscriber(
    spec: Arc<BenchSpec>,
    target: Target,
    counters: Arc<Counters>,
    id: String,
    filter: String,
    expected: Option<u64>,
    (mut stopped, mut publishers_done): (watch::Receiver<bool>, watch::Receiver<bool>),
    deadline: Instant,
    ready: mpsc::Sender<()>,
) {
    let Some(mut connection) = connect(&spec, &target, id, &counters).await else {
        let _ = ready.send(()).await;
        return;
    };
    connection.subscribe(&[(filter, spec.qos)]);
    if let Err(e) = connection.flush().await {
        counters.error(&e.reason());
        let _ = ready.send(()).await;
        return;
    }
    let (mut subscribed, mut told) = (false, false);
    let mut local = super::histogram();
    let (mut received, mut unmerged) = (0u64, 0u64);
    let mut merge_at = Instant::now() + MERGE_EVERY;
    let mut last = Instant::now();
    // A `sub` run measures until its deadline; a `pub` run's until the publishers end.
    let wait_for_publishers = spec.mode == Mode::Pub;
    let grace = if wait_for_publishers {
        deadline + QUIET
    } else {
        deadline
    };
    loop {
        let quiet_end = if *publishers_done.borrow() {
            last + QUIET
        } else {
            far()
        };
        tokio::select! {
            _ = stopping(&mut stopped) => break,
            _ = tokio::time::sleep_until(grace) => break,
            _ = tokio::time::sleep_until(quiet_end) => break,
            _ = publishers_done.changed(), if wait_for_publishers && !*publishers_done.borrow() => {
                last = Instant::now();
            }
            _ = tokio::time::sleep_until(merge_at) => {
                counters.merge(&mut local, unmerged);
                unmerged = 0;
                merge_at = Instant::now() + MERGE_EVERY;
            }
            read = connection.fill() => match read {
                Ok(0) | Err(_) => {
                    counters.error("the broker closed the connection");
                    break;
                }
                Ok(_) => {
                    let now_us = crate::time::now_us();
                    loop {
                        let (first, body) = match connection.next_frame() {
                            Ok(Some((first, body))) => (first, body),
                            Ok(None) => break,
                            Err(e) => {
                                counters.error(&e.reason());
                                return;
                            }
                        };
                        let mut ack = None;
                        match first >> 4 {
                            packet_type::SUBACK if !subscribed => subscribed = true,
                            packet_type::PUBLISH => {
                                let qos = (first >> 1) & 3;
                                let topic_len = body.get(..2).map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
                                let id_at = 2 + topic_len;
                                let mut offset = id_at + if qos > 0 { 2 } else { 0 };
                                let packet_id = body.get(id_at..id_at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
                                if spec.level.is_v5() {
                                    // Skip the properties' length and bytes.
                                    let (len, used) = varint(body.get(offset..).unwrap_or_default());
                                    offset += used + len;
                                }
                                if let Some(sent_us) = body.get(offset..).and_then(stamped_at) {
                                    let _ = local.record(now_us.saturating_sub(sent_us).max(1));
                                }
                                ack = match (qos, packet_id) {
                                    (1, Some(id)) => Some((AckKind::PubAck, id)),
                                    (2, Some(id)) => Some((AckKind::PubRec, id)),
                                    _ => None,
                                };
                                received += 1;
                                unmerged += 1;
                            }
                            packet_type::PUBREL => {
                                ack = body.get(..2).map(|b| (AckKind::PubComp, u16::from_be_bytes([b[0], b[1]])));
                            }
                            _ => {}
                        }
                        if let Some((kind, id)) = ack {
                            connection.ack(kind, id);
                        }
                    }
                    if subscribed && !told {
                        told = true;
                        let _ = ready.send(()).await;
                    }
                    last = Instant::now();
                    if connection.flush().await.is_err() {
                        counters.error("connection lost");
                        break;
                    }
                    if expected.is_some_and(|e| received >= e) {
                        break;
                    }
                }
            }
        }
    }
    if !subscribed {
        counters.error("no SUBACK");
    }
    if !told {
        let _ = ready.send(()).await;
    }
    counters.merge(&mut local, unmerged);
    connection.disconnect().await;
}

/// A variable byte integer and how many bytes it used.
fn varint(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0usize;
    for (i, b) in bytes.iter().take(4).enumerate() {
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    (value, bytes.len().min(4))
}
