//! Broker throughput, side by side: the embedded broker (front door + rumqttd) against a
//! mosquitto started here, in the same run, with the same load generator.
//!
//! One publisher to one subscriber on one topic, 100-byte payloads, QoS 0 and QoS 1. The load
//! generator is a raw MQTT 3.1.1 client (pre-encoded packets, batched writes), so it measures the
//! brokers rather than a client library. Each case runs several rounds, alternating brokers;
//! the report gives each rate and the ratio of medians. A third configuration is the broker as
//! the app runs it, with every packet also feeding the live traffic model. The machine is shared and noisy: read
//! the ratio, not the absolute numbers.
//!
//! Run: `make bench-broker` (or `cargo bench -p workbench-broker --bench broker_throughput`).
//! Options through the environment: BENCH_MESSAGES (default 200000), BENCH_ROUNDS (default 3).

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workbench_broker::{Broker, BrokerSettings};
use workbench_core::hub::{TrafficHub, BROKER_SOURCE};
use workbench_traffic::source::SourceLimits;

const PAYLOAD: usize = 100;
const QOS1_WINDOW: usize = 200;
const QUIET: Duration = Duration::from_secs(3);

use workbench_wire::encode_varint as varint;

fn connect_packet(client_id: &str) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0b10, 0, 60];
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    let mut out = vec![0x10];
    varint(body.len(), &mut out);
    out.extend(body);
    out
}

fn subscribe_packet(topic: &str, qos: u8) -> Vec<u8> {
    let mut body = vec![0, 1];
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.push(qos);
    let mut out = vec![0x82];
    varint(body.len(), &mut out);
    out.extend(body);
    out
}

fn publish_packet(topic: &str, qos: u8, pkid: u16, out: &mut Vec<u8>) {
    let remaining = 2 + topic.len() + if qos > 0 { 2 } else { 0 } + PAYLOAD;
    out.push(0x30 | (qos << 1));
    varint(remaining, out);
    out.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        out.extend_from_slice(&pkid.to_be_bytes());
    }
    out.extend(std::iter::repeat_n(b'x', PAYLOAD));
}

/// Reads whole packets from `buf`, calling `each` with (first byte, body); returns bytes used.
fn drain_packets(buf: &[u8], mut each: impl FnMut(u8, &[u8])) -> usize {
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        if rest.len() < 2 {
            return at;
        }
        let (mut len, mut shift, mut i) = (0usize, 0, 1);
        loop {
            let Some(&b) = rest.get(i) else { return at };
            len += usize::from(b & 0x7F) << shift;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        if rest.len() < i + len {
            return at;
        }
        each(rest[0], &rest[i..i + len]);
        at += i + len;
    }
}

async fn mqtt_connect(address: SocketAddr, client_id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .write_all(&connect_packet(client_id))
        .await
        .expect("CONNECT");
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).await.expect("CONNACK");
    assert_eq!(connack, [0x20, 2, 0, 0], "connection refused");
    stream
}

/// Subscribes, then counts publishes until `total` arrived or the line goes quiet.
async fn subscriber(
    address: SocketAddr,
    topic: String,
    qos: u8,
    total: usize,
    ready: tokio::sync::oneshot::Sender<()>,
) -> (usize, Instant) {
    let mut stream = mqtt_connect(address, "bench-sub").await;
    stream
        .write_all(&subscribe_packet(&topic, qos))
        .await
        .expect("SUBSCRIBE");
    let mut suback = [0u8; 5];
    stream.read_exact(&mut suback).await.expect("SUBACK");
    let _ = ready.send(());
    let mut buf = vec![0u8; 0];
    let mut chunk = vec![0u8; 256 * 1024];
    let mut received = 0;
    let mut last = Instant::now();
    let mut acks = Vec::new();
    while received < total {
        let n = match tokio::time::timeout(QUIET, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        acks.clear();
        let used = drain_packets(&buf, |first, body| {
            if first >> 4 == 3 {
                received += 1;
                if (first >> 1) & 3 == 1 {
                    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                    let id = &body[2 + topic_len..4 + topic_len];
                    acks.extend_from_slice(&[0x40, 2, id[0], id[1]]);
                }
            }
        });
        buf.drain(..used);
        last = Instant::now();
        if !acks.is_empty() {
            stream.write_all(&acks).await.expect("PUBACK");
        }
    }
    (received, last)
}

async fn publisher(address: SocketAddr, topic: String, qos: u8, total: usize) {
    let mut stream = mqtt_connect(address, "bench-pub").await;
    if qos == 0 {
        let mut batch = Vec::with_capacity(1000 * (PAYLOAD + 32));
        let mut sent = 0;
        while sent < total {
            batch.clear();
            for _ in 0..1000.min(total - sent) {
                publish_packet(&topic, 0, 0, &mut batch);
                sent += 1;
            }
            stream.write_all(&batch).await.expect("PUBLISH");
        }
        stream.write_all(&[0xE0, 0]).await.expect("DISCONNECT");
        return;
    }
    let (mut read, mut write) = stream.into_split();
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut acked = 0;
        while acked < total {
            let n = match read.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut count = 0;
            let used = drain_packets(&buf, |first, _| count += usize::from(first >> 4 == 4));
            buf.drain(..used);
            acked += count;
            let _ = acked_tx.send(count);
        }
    });
    let mut sent = 0;
    let mut in_flight = 0;
    let mut batch = Vec::new();
    while sent < total {
        batch.clear();
        while in_flight < QOS1_WINDOW && sent < total {
            let pkid = (sent % 65_535) as u16 + 1;
            publish_packet(&topic, 1, pkid, &mut batch);
            sent += 1;
            in_flight += 1;
        }
        write.write_all(&batch).await.expect("PUBLISH");
        match acked_rx.recv().await {
            Some(n) => in_flight -= n.min(in_flight),
            None => break,
        }
    }
    while in_flight > 0 {
        match acked_rx.recv().await {
            Some(n) => in_flight -= n.min(in_flight),
            None => break,
        }
    }
    let _ = reader.await;
    let _ = write.write_all(&[0xE0, 0]).await;
}

/// One run: returns delivered messages per second, and how many arrived.
async fn run(address: SocketAddr, qos: u8, total: usize, round: usize) -> (f64, usize) {
    let topic = format!("bench/{qos}/{round}");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let sub = tokio::spawn(subscriber(address, topic.clone(), qos, total, ready_tx));
    ready_rx.await.expect("subscriber ready");
    let start = Instant::now();
    publisher(address, topic, qos, total).await;
    let (received, last) = sub.await.expect("subscriber");
    let seconds = last.duration_since(start).as_secs_f64().max(1e-9);
    (received as f64 / seconds, received)
}

struct Mosquitto(Child, std::path::PathBuf);

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_file(&self.1);
    }
}

fn start_mosquitto() -> (Mosquitto, SocketAddr) {
    let port = StdListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = std::env::temp_dir().join(format!("bench-mosquitto-{port}.conf"));
    std::fs::write(
        &config,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
    )
    .expect("write mosquitto config");
    let child = Command::new("mosquitto")
        .args(["-c", config.to_str().expect("utf-8 path")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto is installed (apt package mosquitto)");
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "mosquitto did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Mosquitto(child, config), address)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let total: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    workbench_core::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let workbench = runtime
        .block_on(Broker::start(settings.clone(), None))
        .expect("start the embedded broker");
    // The same broker as the app runs it: every packet also feeds the live traffic model.
    let hub = TrafficHub::new(SourceLimits::default());
    let (events_tx, events_rx) = tokio::sync::mpsc::channel(1024);
    runtime.spawn(hub.clone().ingest_broker(events_rx));
    let observed = runtime
        .block_on(Broker::start(settings, Some(events_tx)))
        .expect("start the observed broker");
    let (_mosquitto, mosquitto) = start_mosquitto();

    println!("broker throughput: 1 publisher -> 1 subscriber, {PAYLOAD}-byte payloads, {total} messages, {rounds} rounds");
    for qos in [0u8, 1] {
        let (mut ours, mut theirs, mut with_model) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (rate, got) = runtime.block_on(run(workbench.local_addr(), qos, total, round));
            println!("  QoS {qos} round {round}: workbench {rate:>10.0} msg/s ({got} delivered)");
            ours.push(rate);
            let (rate, got) = runtime.block_on(run(observed.local_addr(), qos, total, round));
            println!("  QoS {qos} round {round}: + model   {rate:>10.0} msg/s ({got} delivered)");
            with_model.push(rate);
            let (rate, got) = runtime.block_on(run(mosquitto, qos, total, round));
            println!("  QoS {qos} round {round}: mosquitto {rate:>10.0} msg/s ({got} delivered)");
            theirs.push(rate);
        }
        let (ours, theirs, with_model) = (median(ours), median(theirs), median(with_model));
        println!(
            "QoS {qos}: workbench {ours:.0} msg/s, mosquitto {theirs:.0} msg/s, ratio {:.2}x (medians)",
            ours / theirs
        );
        println!(
            "QoS {qos}: workbench feeding the traffic model {with_model:.0} msg/s, ratio {:.2}x",
            with_model / theirs
        );
    }
    runtime.block_on(workbench.stop());
    runtime.block_on(observed.stop());
    println!(
        "traffic model after the runs: {} messages over {} topics",
        hub.with_source(BROKER_SOURCE, |s| s.model.tree.messages()),
        hub.with_source(BROKER_SOURCE, |s| s.model.tree.len())
    );
}
