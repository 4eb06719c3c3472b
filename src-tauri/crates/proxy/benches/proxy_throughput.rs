//! The inspecting proxy against a direct connection to mosquitto, side by side in one run
//! (`make bench-proxy`):
//!
//! - throughput: one publisher to one subscriber, 100-byte messages, QoS 0 and QoS 1, both
//!   clients through the proxy (every packet framed and reported, the events drained as the app
//!   drains them) or both straight to mosquitto;
//! - added latency: one client publishes to a topic it subscribes to and waits for its own
//!   message before sending the next (QoS 0), so each round trip crosses the proxy twice each way.
//!
//! Sizes through `BENCH_MESSAGES` (default 200,000) and `BENCH_ROUNDS` (default 5,000).

use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workbench_proxy::{Proxy, ProxySettings};
use workbench_testkit::mosquitto::Mosquitto;
use workbench_testkit::raw;

/// Messages the publisher may be ahead of the subscriber (under mosquitto's queue of 1,000).
const WINDOW: usize = 600;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A raw MQTT 3.1.1 client: enough for a benchmark, nothing a library adds.
struct Client {
    stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    async fn connect(address: SocketAddr, client_id: &str) -> Client {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let connect = raw::Connect {
            client_id,
            keep_alive: 60,
            ..raw::Connect::default()
        };
        stream.write_all(&connect.encode()).await.expect("CONNECT");
        let mut client = Client {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
        };
        let connack = client.next().await;
        assert_eq!(connack[0], 0x20, "CONNACK");
        client
    }

    async fn subscribe(&mut self, topic: &str, qos: u8) {
        self.stream
            .write_all(&raw::subscribe(raw::V311, 1, &[(topic, qos)]))
            .await
            .expect("SUBSCRIBE");
        loop {
            if self.next().await[0] == 0x90 {
                return;
            }
        }
    }

    /// The next whole packet.
    async fn next(&mut self) -> Vec<u8> {
        loop {
            if let Ok(Some(frame)) = workbench_wire::frame(&self.buf, usize::MAX) {
                return self.buf.split_to(frame.len()).to_vec();
            }
            if self.buf.capacity() - self.buf.len() < 16 * 1024 {
                self.buf.reserve(64 * 1024);
            }
            let n = self.stream.read_buf(&mut self.buf).await.expect("read");
            assert!(n > 0, "the broker closed the connection");
        }
    }
}

/// Messages per second from one publisher to one subscriber.
async fn throughput(address: SocketAddr, qos: u8, messages: usize, tag: &str) -> f64 {
    let topic = format!("bench/{tag}/{qos}");
    let mut subscriber = Client::connect(address, &format!("sub-{tag}-{qos}")).await;
    subscriber.subscribe(&topic, qos).await;
    let publisher = Client::connect(address, &format!("pub-{tag}-{qos}")).await;
    let started = Instant::now();
    // End-to-end flow control: mosquitto queues at most 1,000 messages per subscriber (and only
    // 20 QoS 1 messages in flight), dropping the rest; the publisher stays within WINDOW of what
    // the subscriber has received, as a real pipeline would.
    let received = std::sync::Arc::new(AtomicUsize::new(0));
    let progress = std::sync::Arc::new(tokio::sync::Notify::new());
    let (counted, told) = (received.clone(), progress.clone());
    let receiving = tokio::spawn(async move {
        let mut got = 0;
        let mut acks = Vec::new();
        while got < messages {
            let packet = subscriber.next().await;
            if packet[0] >> 4 == 3 {
                got += 1;
                if qos == 1 {
                    // Topic length, then the packet id.
                    let at = 2 + usize::from(u16::from_be_bytes([packet[2], packet[3]])) + 2;
                    acks.extend_from_slice(&[0x40, 2, packet[at], packet[at + 1]]);
                }
            }
            // Acknowledged as soon as nothing more is buffered: mosquitto sends the next ones
            // only then.
            let buffered = matches!(
                workbench_wire::frame(&subscriber.buf, usize::MAX),
                Ok(Some(_))
            );
            if !acks.is_empty() && (!buffered || acks.len() >= 4096) {
                subscriber.stream.write_all(&acks).await.expect("PUBACK");
                acks.clear();
            }
            if !buffered || got % 64 == 0 {
                counted.store(got, Ordering::Release);
                told.notify_one();
            }
        }
    });
    let (mut read, mut write) = publisher.stream.into_split();
    // The publisher's PUBACKs are read and dropped, so its socket never fills.
    let draining = tokio::spawn(async move {
        let mut sink = vec![0u8; 64 * 1024];
        while matches!(read.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    let payload = vec![b'x'; 100];
    let mut batch = Vec::with_capacity(64 * 1024);
    for n in 0..messages {
        let id = (n % 65_535 + 1) as u16;
        batch.extend_from_slice(&raw::publish(raw::V311, &topic, &payload, qos, false, id));
        if batch.len() >= 16 * 1024 {
            while n + 1 > received.load(Ordering::Acquire) + WINDOW {
                let _ = tokio::time::timeout(Duration::from_millis(5), progress.notified()).await;
            }
            write.write_all(&batch).await.expect("PUBLISH");
            batch.clear();
        }
    }
    write.write_all(&batch).await.expect("PUBLISH");
    let finished = tokio::time::timeout(Duration::from_secs(300), receiving)
        .await
        .expect("every message arrived within 5 minutes");
    draining.abort();
    if finished.is_err() {
        // Seen now and then with mosquitto 2.0.11 at QoS 1 on a loaded machine: it closes the
        // subscriber mid-run. Said, not hidden; the other measurements go on.
        println!("  ({tag}, QoS {qos}: the broker closed the subscriber's connection; no figure)");
        return f64::NAN;
    }
    messages as f64 / started.elapsed().as_secs_f64()
}

/// Round-trip times in microseconds (sorted) of a client publishing to itself.
async fn round_trips(address: SocketAddr, rounds: usize, tag: &str) -> Vec<u64> {
    let topic = format!("bench/rtt/{tag}");
    let mut client = Client::connect(address, &format!("rtt-{tag}")).await;
    client.subscribe(&topic, 0).await;
    let publish = raw::publish(raw::V311, &topic, &[b'r'; 100], 0, false, 0);
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        client.stream.write_all(&publish).await.expect("PUBLISH");
        while client.next().await[0] >> 4 != 3 {}
        times.push(started.elapsed().as_micros() as u64);
    }
    times.sort_unstable();
    times
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn main() {
    let messages = env("BENCH_MESSAGES", 200_000);
    let rounds = env("BENCH_ROUNDS", 5_000);
    // BENCH_MOSQUITTO_PORT: a mosquitto already running (say with `-v`, to see its log).
    let external = std::env::var("BENCH_MOSQUITTO_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok());
    let mosquitto = external.is_none().then(|| Mosquitto::start(&[], None));
    let mosquitto_port = external
        .or(mosquitto.as_ref().map(|m| m.port))
        .unwrap_or(1883);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // The proxy as the app runs it: every packet reported, the events drained.
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let drained = tokio::spawn(async move {
            let mut packets = 0u64;
            while let Some(event) = rx.recv().await {
                if let workbench_broker::BrokerEvent::Packets(batch) = event {
                    packets += batch.events().len() as u64;
                }
            }
            packets
        });
        let upstream = format!("mqtt://127.0.0.1:{mosquitto_port}");
        let proxy = Proxy::start(ProxySettings::new(0, &upstream), Some(tx), None)
            .await
            .expect("proxy");
        let direct = SocketAddr::from(([127, 0, 0, 1], mosquitto_port));
        let proxied = proxy.local_addr();
        println!("proxy benchmark: {messages} messages of 100 bytes, 1 publisher -> 1 subscriber; {rounds} round trips");
        println!("{:<34} {:>14} {:>14} {:>8}", "", "direct", "via proxy", "ratio");
        for qos in [0u8, 1] {
            let a = throughput(direct, qos, messages, "direct").await;
            let b = throughput(proxied, qos, messages, "proxy").await;
            println!(
                "{:<34} {:>10.0} msg/s {:>10.0} msg/s {:>7.2}x",
                format!("throughput QoS {qos}"),
                a,
                b,
                b / a
            );
        }
        let a = round_trips(direct, rounds, "direct").await;
        let b = round_trips(proxied, rounds, "proxy").await;
        for (name, p) in [("round trip p50", 0.5), ("round trip p99", 0.99)] {
            let (x, y) = (percentile(&a, p), percentile(&b, p));
            println!(
                "{:<34} {:>11} us {:>11} us {:>+7} us",
                name,
                x,
                y,
                y as i64 - x as i64
            );
        }
        let dropped = proxy.events_dropped();
        proxy.stop().await;
        let reported = drained.await.unwrap_or(0);
        println!("packet events reported by the proxy: {reported}; dropped (consumer behind): {dropped}");
    });
}
