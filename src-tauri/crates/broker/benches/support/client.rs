//! A raw MQTT 3.1.1 client over tokio sockets, built for load rather than for features: packets
//! are encoded with `workbench_wire::codec` (once, where they repeat), writes are batched, reads
//! frame whole packets out of large chunks, and QoS 1 publishes are acknowledged in batches. It
//! measures the brokers rather than a client library.
//!
//! Every wait is bounded: a broker that stalls ends a run with what arrived so far ([`End`]),
//! never hangs the benchmark.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use workbench_wire::codec::{
    self, ack, AckKind, Connect, Level, PublishOut, PublishView, QoS, Subscribe, SubscribeFilter,
};

/// Payload size of the benchmarks' messages.
pub const PAYLOAD: usize = 100;
/// Keep-alive of every client, in seconds (longer than any run needs a connection).
pub const KEEP_ALIVE: u16 = 60;
/// How long connecting (TCP, CONNECT, CONNACK) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a QoS 1 publisher waits for a PUBACK before giving up.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(30);
const CHUNK: usize = 64 * 1024;

pub type Result<T> = std::result::Result<T, String>;

pub fn qos(bits: u8) -> QoS {
    QoS::from_bits(bits).expect("QoS 0, 1 or 2")
}

/// The packet id of the `n`-th message: 1 to 65535, cycling.
pub fn packet_id(n: usize) -> u16 {
    (n % 65_535) as u16 + 1
}

pub fn connect_packet(client_id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    Connect::new(Level::V3_1_1, client_id, KEEP_ALIVE).encode(&mut out);
    out
}

pub fn subscribe_packet(packet_id: u16, filters: &[String], qos: QoS) -> Vec<u8> {
    let mut out = Vec::new();
    Subscribe {
        packet_id,
        properties: Default::default(),
        filters: filters
            .iter()
            .map(|f| SubscribeFilter::new(f, qos))
            .collect(),
    }
    .encode(Level::V3_1_1, &mut out);
    out
}

pub fn publish_packet(
    topic: &str,
    qos: QoS,
    packet_id: u16,
    retain: bool,
    payload: &[u8],
    out: &mut Vec<u8>,
) {
    PublishOut {
        qos,
        retain,
        topic,
        packet_id: (qos != QoS::AtMostOnce).then_some(packet_id),
        payload,
        ..PublishOut::default()
    }
    .encode(Level::V3_1_1, out);
}

pub const DISCONNECT: [u8; 2] = [0xE0, 0x00];

/// Whole packets out of a byte stream.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
}

impl Framer {
    /// Reads one chunk from `read`; Ok(0) at the end of the stream.
    pub async fn fill(&mut self, read: &mut OwnedReadHalf) -> std::io::Result<usize> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > CHUNK {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let result = read.read(&mut self.buf[old..]).await;
        self.buf.truncate(old + *result.as_ref().unwrap_or(&0));
        result
    }

    /// The next whole packet: its first byte and its body.
    pub fn next_packet(&mut self) -> Option<(u8, &[u8])> {
        let rest = &self.buf[self.start..];
        let header = codec::fixed_header(rest, usize::MAX)
            .expect("the broker sent a malformed fixed header")?;
        let len = header.packet_len();
        if rest.len() < len {
            return None;
        }
        let first = rest[0];
        let body = self.start + header.header_len;
        self.start += len;
        Some((first, &self.buf[body..self.start]))
    }
}

/// One connected client.
pub struct Client {
    pub read: OwnedReadHalf,
    pub write: OwnedWriteHalf,
    pub frames: Framer,
}

async fn tcp(address: SocketAddr) -> Result<TcpStream> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("TCP connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    Ok(stream)
}

impl Client {
    /// Connects (CONNECT with keep-alive 60, clean session) and waits for a CONNACK accepting it.
    pub async fn connect(address: SocketAddr, client_id: &str) -> Result<Client> {
        tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut stream = tcp(address).await?;
            stream
                .write_all(&connect_packet(client_id))
                .await
                .map_err(|e| format!("CONNECT: {e}"))?;
            Client::connack(stream).await
        })
        .await
        .map_err(|_| format!("no CONNACK within {CONNECT_TIMEOUT:?}"))?
    }

    /// Waits for the CONNACK of a CONNECT already written to `stream`.
    async fn connack(stream: TcpStream) -> Result<Client> {
        let (read, write) = stream.into_split();
        let mut client = Client {
            read,
            write,
            frames: Framer::default(),
        };
        let (first, body) = client.packet(CONNECT_TIMEOUT).await?;
        if first != 0x20 || body.len() != 2 || body[1] != 0 {
            return Err(format!(
                "refused: CONNACK {first:#04x} {body:?} (expected 0x20 [_, 0])"
            ));
        }
        Ok(client)
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.write
            .write_all(bytes)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// The next packet (first byte, body), owned; an error on timeout or a closed connection.
    pub async fn packet(&mut self, timeout: Duration) -> Result<(u8, Vec<u8>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some((first, body)) = self.frames.next_packet() {
                return Ok((first, body.to_vec()));
            }
            match tokio::time::timeout_at(deadline, self.frames.fill(&mut self.read)).await {
                Err(_) => return Err(format!("nothing for {timeout:?}")),
                Ok(Ok(0)) => return Err("the broker closed the connection".into()),
                Ok(Err(e)) => return Err(format!("read: {e}")),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Subscribes and waits for the SUBACK; returns its codes. Publishes that arrive before it
    /// are skipped (use [`receive`] after writing a SUBSCRIBE to count them).
    pub async fn subscribe(
        &mut self,
        packet_id: u16,
        filters: &[String],
        qos: QoS,
    ) -> Result<Vec<u8>> {
        self.send(&subscribe_packet(packet_id, filters, qos))
            .await?;
        loop {
            let (first, body) = self.packet(CONNECT_TIMEOUT).await?;
            if first == 0x90 && body.len() >= 3 && body[..2] == packet_id.to_be_bytes() {
                return Ok(body[2..].to_vec());
            }
        }
    }

    /// Sends DISCONNECT and closes.
    pub async fn disconnect(mut self) {
        let _ = self.write.write_all(&DISCONNECT).await;
        let _ = self.write.shutdown().await;
    }
}

/// Opens `n` clients `{prefix}-{i}` from `lanes` concurrent tasks, each connecting `batch` sockets
/// and writing their CONNECTs before reading the CONNACKs (pipelined).
pub async fn open_many(
    address: SocketAddr,
    prefix: &str,
    n: usize,
    lanes: usize,
    batch: usize,
) -> Result<Vec<Client>> {
    let mut set = JoinSet::new();
    for lane in 0..lanes.max(1) {
        let ids: Vec<usize> = (lane..n).step_by(lanes.max(1)).collect();
        let prefix = prefix.to_string();
        set.spawn(async move {
            let mut clients = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(batch.max(1)) {
                let mut pending = Vec::with_capacity(chunk.len());
                for i in chunk {
                    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, tcp(address))
                        .await
                        .map_err(|_| "TCP connect timed out".to_string())??;
                    stream
                        .write_all(&connect_packet(&format!("{prefix}-{i}")))
                        .await
                        .map_err(|e| format!("CONNECT: {e}"))?;
                    pending.push(stream);
                }
                for stream in pending {
                    clients.push(Client::connack(stream).await?);
                }
            }
            Ok::<_, String>(clients)
        });
    }
    let mut all = Vec::with_capacity(n);
    let mut failure = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(clients)) => all.extend(clients),
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(format!("a connecting task failed: {e}")),
        }
    }
    match failure {
        Some(e) => Err(format!("{} of {n} connected, then: {e}", all.len())),
        None => Ok(all),
    }
}

/// Why a receiving run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Everything expected arrived.
    All,
    /// Nothing arrived for the quiet period.
    Quiet,
    /// The broker closed the connection (or reading failed).
    Closed,
}

/// What one subscriber received.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub count: usize,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
    pub end: End,
}

/// Reads publishes until `expected` arrived, nothing came for `quiet`, or the connection ended,
/// acknowledging QoS 1 publishes (in a batch per chunk read). `each` sees every publish with the
/// time its chunk arrived. Other packets (SUBACK, PUBACK) are skipped.
pub async fn receive(
    client: &mut Client,
    expected: usize,
    quiet: Duration,
    mut each: impl FnMut(&PublishView<'_>, Instant),
) -> Received {
    let mut got = Received {
        count: 0,
        first: None,
        last: None,
        end: End::All,
    };
    let mut acks = Vec::new();
    let mut now = Instant::now();
    loop {
        let before = got.count;
        while let Some((first, body)) = client.frames.next_packet() {
            if first >> 4 != codec::packet_type::PUBLISH {
                continue;
            }
            let publish = PublishView::decode(first & 0x0F, body, Level::V3_1_1)
                .expect("a PUBLISH from the broker decodes");
            got.count += 1;
            if let (QoS::AtLeastOnce, Some(id)) = (publish.qos, publish.packet_id) {
                acks.extend_from_slice(&ack::short(AckKind::PubAck, id));
            }
            each(&publish, now);
        }
        if got.count > before {
            got.first.get_or_insert(now);
            got.last = Some(now);
        }
        if !acks.is_empty() {
            if client.write.write_all(&acks).await.is_err() {
                got.end = End::Closed;
                return got;
            }
            acks.clear();
        }
        if got.count >= expected {
            return got;
        }
        match tokio::time::timeout(quiet, client.frames.fill(&mut client.read)).await {
            Err(_) => {
                got.end = End::Quiet;
                return got;
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                got.end = End::Closed;
                return got;
            }
            Ok(Ok(_)) => now = Instant::now(),
        }
    }
}

/// Publishes `count` messages with `payload`, the topic of message `i` written by `topic` into
/// a reused string. QoS 0: batched writes, done when written. QoS 1: at most `window`
/// unacknowledged, done when every PUBACK arrived.
pub async fn publish_many(
    client: &mut Client,
    count: usize,
    qos: QoS,
    retain: bool,
    window: usize,
    payload: &[u8],
    mut topic: impl FnMut(usize, &mut String),
) -> Result<()> {
    let mut name = String::new();
    let mut batch = Vec::with_capacity(256 * (PAYLOAD + 64));
    let mut sent = 0;
    if qos == QoS::AtMostOnce {
        while sent < count {
            batch.clear();
            for _ in 0..256.min(count - sent) {
                name.clear();
                topic(sent, &mut name);
                publish_packet(&name, qos, 0, retain, payload, &mut batch);
                sent += 1;
            }
            client.send(&batch).await?;
        }
        return Ok(());
    }
    let mut acked = 0;
    while acked < count {
        batch.clear();
        while sent < count && sent - acked < window.max(1) {
            name.clear();
            topic(sent, &mut name);
            publish_packet(&name, qos, packet_id(sent), retain, payload, &mut batch);
            sent += 1;
        }
        if !batch.is_empty() {
            client.send(&batch).await?;
        }
        match tokio::time::timeout(ACK_TIMEOUT, client.frames.fill(&mut client.read)).await {
            Err(_) => {
                return Err(format!(
                    "{acked} of {count} acknowledged, then nothing for {ACK_TIMEOUT:?}"
                ))
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Err(format!(
                    "{acked} of {count} acknowledged, then the broker closed the connection"
                ))
            }
            Ok(Ok(_)) => {}
        }
        while let Some((first, _)) = client.frames.next_packet() {
            if first >> 4 == codec::packet_type::PUBACK {
                acked += 1;
            }
        }
    }
    Ok(())
}

/// A payload of [`PAYLOAD`] bytes.
pub fn payload() -> Vec<u8> {
    vec![b'x'; PAYLOAD]
}
