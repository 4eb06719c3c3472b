//! The message flows of the scale benchmark: fan-out, fan-in, many topics, latency at a fixed
//! rate, and connecting many clients one after another, each run against one broker address.

use super::client::{self, open_many, publish_many, receive, Client, End, Received};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use workbench_wire::codec::QoS;

/// A subscriber that hears nothing for this long has everything it will get.
pub const QUIET: Duration = Duration::from_secs(2);
/// Unacknowledged QoS 1 messages per publisher.
pub const WINDOW: usize = 100;
/// Concurrent tasks opening connections, and CONNECTs each pipelines.
pub const LANES: usize = 10;
pub const PIPELINE: usize = 10;

/// Connects `n` clients `{prefix}-{i}` (CONNECT, then CONNACK), one at a time in each of `lanes`
/// concurrent tasks; returns them all, open.
pub async fn connect_all(
    address: SocketAddr,
    prefix: &str,
    n: usize,
    lanes: usize,
) -> Result<Vec<Client>, String> {
    let mut set = JoinSet::new();
    for lane in 0..lanes {
        let prefix = prefix.to_string();
        set.spawn(async move {
            let mut clients = Vec::new();
            for i in (lane..n).step_by(lanes) {
                match Client::connect(address, &format!("{prefix}-{i}")).await {
                    Ok(c) => clients.push(c),
                    Err(e) => return (clients, Some(e)),
                }
            }
            (clients, None)
        });
    }
    let mut all = Vec::with_capacity(n);
    let mut failure = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((clients, error)) => {
                all.extend(clients);
                failure = failure.or(error);
            }
            Err(e) => failure = Some(e.to_string()),
        }
    }
    match failure {
        Some(e) => Err(format!("{} of {n} connected, then: {e}", all.len())),
        None => Ok(all),
    }
}

/// One run of a message flow.
pub struct Flow {
    pub delivered: usize,
    pub expected: usize,
    /// From the first publish to the last delivery.
    pub seconds: f64,
    /// Subscribers that did not get everything, and why their runs ended.
    pub short: Vec<String>,
}

impl Flow {
    pub fn rate(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }

    fn from(received: &[Received], expected: usize, start: Instant) -> Flow {
        let last = received.iter().filter_map(|r| r.last).max();
        let mut short = Vec::new();
        for (i, r) in received.iter().enumerate() {
            if r.end != End::All {
                short.push(format!("subscriber {i}: {} ({:?})", r.count, r.end));
            }
        }
        Flow {
            delivered: received.iter().map(|r| r.count).sum(),
            expected,
            seconds: last.map_or(f64::NAN, |l| l.duration_since(start).as_secs_f64()),
            short,
        }
    }
}

pub async fn subscribe_all(clients: &mut [Client], filter: &str, qos: QoS) -> Result<(), String> {
    for client in clients.iter_mut() {
        let codes = client.subscribe(1, &[filter.to_string()], qos).await?;
        if codes.first().is_none_or(|c| *c >= 0x80) {
            return Err(format!("subscription refused: {codes:?}"));
        }
    }
    Ok(())
}

fn spawn_receivers(clients: Vec<Client>, expected: usize) -> JoinSet<Received> {
    let mut set = JoinSet::new();
    for mut client in clients {
        set.spawn(async move { receive(&mut client, expected, QUIET, |_, _| {}).await });
    }
    set
}

pub async fn collect(mut set: JoinSet<Received>) -> Vec<Received> {
    let mut all = Vec::new();
    while let Some(joined) = set.join_next().await {
        all.push(joined.expect("a receiving task"));
    }
    all
}

/// 1 publisher → `subscribers` subscribers on one topic.
pub async fn fan_out(
    address: SocketAddr,
    subscribers: usize,
    messages: usize,
    qos: QoS,
    tag: String,
) -> Result<Flow, String> {
    let topic = format!("fanout/{tag}");
    let mut subs = open_many(address, &format!("fo-{tag}"), subscribers, LANES, PIPELINE).await?;
    subscribe_all(&mut subs, &topic, qos).await?;
    let mut publisher = Client::connect(address, &format!("fo-{tag}-pub")).await?;
    let receivers = spawn_receivers(subs, messages);
    let payload = client::payload();
    let start = Instant::now();
    let published = publish_many(
        &mut publisher,
        messages,
        qos,
        false,
        WINDOW,
        &payload,
        |_, t| t.push_str(&topic),
    )
    .await;
    let received = collect(receivers).await;
    publisher.disconnect().await;
    let mut flow = Flow::from(&received, subscribers * messages, start);
    if let Err(e) = published {
        flow.short.insert(0, format!("publisher: {e}"));
    }
    Ok(flow)
}

/// `publishers` publishers (topics `bench/{i}`) → 1 subscriber on `bench/#`.
pub async fn fan_in(
    address: SocketAddr,
    publishers: usize,
    messages: usize,
    qos: QoS,
    tag: String,
) -> Result<Flow, String> {
    let mut subscriber = Client::connect(address, &format!("fi-{tag}-sub")).await?;
    subscribe_all(std::slice::from_mut(&mut subscriber), "bench/#", qos).await?;
    let pubs = open_many(address, &format!("fi-{tag}"), publishers, LANES, PIPELINE).await?;
    let receiver = spawn_receivers(vec![subscriber], messages);
    let payload = client::payload();
    let start = Instant::now();
    let mut set = JoinSet::new();
    for (i, mut publisher) in pubs.into_iter().enumerate() {
        let count = messages / publishers + usize::from(i < messages % publishers);
        let payload = payload.clone();
        set.spawn(async move {
            let result = publish_many(
                &mut publisher,
                count,
                qos,
                false,
                WINDOW,
                &payload,
                |_, t| {
                    t.push_str("bench/");
                    t.push_str(&i.to_string());
                },
            )
            .await;
            publisher.disconnect().await;
            result
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(Err(e)) = joined {
            failures.push(format!("publisher: {e}"));
        }
    }
    let received = collect(receiver).await;
    let mut flow = Flow::from(&received, messages, start);
    flow.short.extend(failures.into_iter().take(3));
    Ok(flow)
}

/// `n` publishers, each on `dev/{i}/temp`, `per` QoS 1 messages each → 1 subscriber on `#`.
pub async fn many_topics(
    address: SocketAddr,
    n: usize,
    per: usize,
    tag: String,
) -> Result<Flow, String> {
    const TASKS: usize = 20;
    let mut subscriber = Client::connect(address, &format!("mt-{tag}-sub")).await?;
    subscribe_all(std::slice::from_mut(&mut subscriber), "#", QoS::AtLeastOnce).await?;
    let pubs = open_many(address, &format!("mt-{tag}"), n, LANES, PIPELINE).await?;
    let receiver = spawn_receivers(vec![subscriber], n * per);
    let payload = client::payload();
    let start = Instant::now();
    let mut set = JoinSet::new();
    let mut pubs = pubs.into_iter().enumerate().collect::<Vec<_>>();
    let chunk = n.div_ceil(TASKS).max(1);
    while !pubs.is_empty() {
        let mut mine: Vec<(usize, Client)> = pubs.drain(..chunk.min(pubs.len())).collect();
        let payload = payload.clone();
        set.spawn(async move {
            let mut bytes = Vec::new();
            for (i, publisher) in mine.iter_mut() {
                bytes.clear();
                let topic = format!("dev/{i}/temp");
                for m in 0..per {
                    client::publish_packet(
                        &topic,
                        QoS::AtLeastOnce,
                        client::packet_id(m),
                        false,
                        &payload,
                        &mut bytes,
                    );
                }
                publisher.send(&bytes).await?;
            }
            for (_, publisher) in mine.iter_mut() {
                let mut acked = 0;
                while acked < per {
                    let (first, _) = publisher.packet(client::ACK_TIMEOUT).await?;
                    acked += usize::from(first >> 4 == 4);
                }
            }
            Ok::<_, String>(())
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(Err(e)) = joined {
            failures.push(format!("publisher: {e}"));
        }
    }
    let received = collect(receiver).await;
    let mut flow = Flow::from(&received, n * per, start);
    flow.short.extend(failures.into_iter().take(3));
    Ok(flow)
}

/// End-to-end latencies (ns) of `count` messages published at `per_second` on one topic.
pub async fn latency_run(
    address: SocketAddr,
    per_second: usize,
    count: usize,
    qos: QoS,
    tag: &str,
) -> Result<(Vec<u64>, Received), String> {
    let topic = format!("lat/{tag}");
    let mut subscriber = Client::connect(address, &format!("lat-{tag}-sub")).await?;
    subscribe_all(std::slice::from_mut(&mut subscriber), &topic, qos).await?;
    let publisher = Client::connect(address, &format!("lat-{tag}-pub")).await?;
    let base = Instant::now();
    let receiver = tokio::spawn(async move {
        let mut samples = Vec::with_capacity(count);
        let got = receive(&mut subscriber, count, QUIET, |p, now| {
            if let Some(stamp) = p.payload.get(..8) {
                let sent = u64::from_le_bytes(stamp.try_into().expect("8 bytes"));
                let arrived = now.duration_since(base).as_nanos() as u64;
                samples.push(arrived.saturating_sub(sent));
            }
        })
        .await;
        (samples, got)
    });
    let Client {
        mut read,
        mut write,
        mut frames,
    } = publisher;
    // QoS 1: PUBACKs are read (and dropped) on the side; the rate stays fixed.
    let drain = tokio::spawn(async move {
        while let Ok(n) = frames.fill(&mut read).await {
            if n == 0 {
                break;
            }
            while frames.next_packet().is_some() {}
        }
    });
    let mut payload = client::payload();
    let mut batch = Vec::new();
    let started = Instant::now();
    let mut sent = 0;
    while sent < count {
        let due = ((started.elapsed().as_secs_f64() * per_second as f64) as usize + 1).min(count);
        batch.clear();
        while sent < due {
            let stamp = Instant::now().duration_since(base).as_nanos() as u64;
            payload[..8].copy_from_slice(&stamp.to_le_bytes());
            client::publish_packet(
                &topic,
                qos,
                client::packet_id(sent),
                false,
                &payload,
                &mut batch,
            );
            sent += 1;
        }
        tokio::io::AsyncWriteExt::write_all(&mut write, &batch)
            .await
            .map_err(|e| format!("publish: {e}"))?;
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let (mut samples, got) = receiver.await.map_err(|e| e.to_string())?;
    let _ = tokio::io::AsyncWriteExt::write_all(&mut write, &client::DISCONNECT).await;
    drain.abort();
    samples.sort_unstable();
    Ok((samples, got))
}
