//! The packet tap: a relay between rumqttc and the broker connection the session dialed, reading
//! every packet in both directions as it passes. This is how a session's log holds every packet
//! exactly as sent and received (CONNECT, PINGREQ and retransmissions included, with their real
//! sizes, flags and properties), which rumqttc's own events cannot give.
//!
//! rumqttc connects to a private local endpoint: a Unix socket in a directory only this user can
//! enter (on Windows, an ephemeral loopback port, which any local program could connect to). So
//! the endpoint also checks who is calling: rumqttc is given a one-time client id, and only a
//! connection whose CONNECT carries it is relayed, with the real client id put back. Each
//! connection attempt is handed exactly one already-dialed broker stream.

use super::dial::Upstream;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use workbench_wire as wire;
use workbench_wire::{Direction, PacketEvent, PacketKind, ProtocolVersion};

/// Packets a session reports to the traffic model, in batches.
#[derive(Debug)]
pub struct SessionTraffic {
    /// The session's profile id.
    pub session: Arc<str>,
    pub packets: Vec<PacketEvent>,
    /// The batch's bytes in the sessions' budget, given back when the batch is dropped.
    pub held: Option<wire::budget::Held>,
}

/// Bytes of packet events all sessions together may have waiting for the traffic model: a model
/// that falls behind makes sessions drop (and count) events, never queue gigabytes of payloads.
static WAITING: std::sync::LazyLock<wire::budget::Budget> =
    std::sync::LazyLock::new(|| wire::budget::Budget::new(64 * 1024 * 1024));

/// What the tap saw the broker say, for the session to explain a failure in words.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// The reason code of the last CONNACK.
    pub connack: Option<u8>,
    /// Reason code and reason string of a DISCONNECT the broker sent.
    pub disconnect: Option<(u8, Option<String>)>,
    /// Filters of SUBSCRIBE packets sent and not yet acknowledged, by packet id (oldest first:
    /// rumqttc may reuse an id before the broker answered the first).
    pub subscribing: std::collections::HashMap<u16, std::collections::VecDeque<Vec<String>>>,
    /// The largest packet the broker accepts (MQTT 5 CONNACK Maximum Packet Size).
    pub server_max_packet: Option<usize>,
    /// Why the broker's side of the relay failed (TLS alert, reset...), if it did.
    pub upstream_error: Option<String>,
    /// The SUBACK code each filter got (granted QoS, or a failure code of 0x80 and above).
    pub granted: std::collections::HashMap<String, u8>,
}

/// Everything the tap needs to report one connection's packets.
pub struct TapContext {
    /// The session's profile id.
    pub session: Arc<str>,
    /// The client id the broker sees.
    pub client_id: Arc<str>,
    /// The one-time client id rumqttc was given: proof that a local connection is ours.
    pub local_id: Arc<str>,
    pub connection: u64,
    pub remote: Option<SocketAddr>,
    pub version: ProtocolVersion,
    /// Largest packet framed (a larger one is relayed without being decoded).
    pub max_packet: usize,
    pub events: mpsc::Sender<SessionTraffic>,
    /// Batches dropped because the traffic model fell behind.
    pub dropped: Arc<AtomicU64>,
    pub observed: Arc<Mutex<Observed>>,
    /// Told when the broker answered something the UI shows (CONNACK, SUBACK, DISCONNECT).
    pub on_change: Option<crate::OnChange>,
}

impl TapContext {
    fn emit(&self, packets: Vec<PacketEvent>) {
        let Some(held) = WAITING.hold(wire::budget::weigh(&packets)) else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let batch = SessionTraffic {
            session: self.session.clone(),
            packets,
            held: Some(held),
        };
        if self.events.try_send(batch).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn event(
        &self,
        direction: Direction,
        packet: bytes::Bytes,
        frame: &wire::Frame,
    ) -> PacketEvent {
        let mut summary = match wire::summarize(&packet, frame, self.version) {
            Ok(summary) => summary,
            Err(e) => {
                // Relayed all the same; rumqttc or the broker will refuse it with its own error.
                let mut s = workbench_wire::PacketSummary::new(
                    frame.kind().unwrap_or(PacketKind::Disconnect),
                    frame.len(),
                );
                s.fields.push(("Malformed", e.to_string()));
                s
            }
        };
        if summary.fields.is_empty() {
            summary.fields = wire::describe(&packet, frame, self.version).unwrap_or_default();
        }
        if summary.kind == PacketKind::Publish && direction == Direction::Inbound {
            let start = packet.len().saturating_sub(summary.payload_len);
            summary.payload = Some(packet.slice(start..));
        }
        self.observe(direction, &summary, &packet, frame);
        PacketEvent {
            connection: self.connection,
            client_id: self.client_id.clone(),
            remote: self.remote,
            direction,
            summary,
            time: SystemTime::now(),
        }
    }
}

impl TapContext {
    fn lock_observed(&self) -> std::sync::MutexGuard<'_, Observed> {
        self.observed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes what the session needs to know: CONNACK and DISCONNECT reasons, and which filter
    /// each SUBACK code belongs to.
    fn observe(
        &self,
        direction: Direction,
        summary: &workbench_wire::PacketSummary,
        packet: &[u8],
        frame: &wire::Frame,
    ) {
        let mut observed = self.lock_observed();
        match (summary.kind, direction) {
            (PacketKind::ConnAck, Direction::Inbound) => {
                observed.connack = summary.reason;
                observed.server_max_packet = summary
                    .fields
                    .iter()
                    .find(|(name, _)| *name == "Maximum Packet Size")
                    .and_then(|(_, v)| v.parse().ok());
            }
            (PacketKind::Disconnect, Direction::Inbound) => {
                let reason_string = summary
                    .fields
                    .iter()
                    .find(|(name, _)| *name == "Reason String")
                    .map(|(_, v)| v.clone());
                observed.disconnect = Some((summary.reason.unwrap_or(0), reason_string));
            }
            (PacketKind::Subscribe, Direction::Outbound) => {
                if let Ok((id, filters)) = wire::subscription_filters(packet, frame, self.version) {
                    observed
                        .subscribing
                        .entry(id)
                        .or_default()
                        .push_back(filters);
                }
            }
            (PacketKind::SubAck, Direction::Inbound) => {
                if let Ok((id, codes)) = wire::ack_codes(packet, frame, self.version) {
                    let filters = observed
                        .subscribing
                        .get_mut(&id)
                        .and_then(|q| q.pop_front());
                    for (filter, code) in filters.into_iter().flatten().zip(codes) {
                        observed.granted.insert(filter, code);
                    }
                }
            }
            _ => return,
        }
        drop(observed);
        if direction == Direction::Inbound {
            if let Some(on_change) = &self.on_change {
                on_change();
            }
        }
    }
}

/// How long a local connection may take to send its CONNECT.
const ADMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the first packet of a local connection: it must be a CONNECT with the one-time client
/// id. Returns the bytes to relay instead (the CONNECT with the real client id, then whatever
/// came after it), or `None` for a connection that is not rumqttc's.
pub async fn admit<L: Upstream>(local: &mut L, ctx: &TapContext) -> Option<BytesMut> {
    use workbench_wire::codec::{self, Level, Packet};
    let mut buf = BytesMut::with_capacity(4096);
    let read = async {
        loop {
            match codec::fixed_header(&buf, ctx.max_packet) {
                Ok(Some(header)) if buf.len() >= header.packet_len() => return Some(header),
                Ok(_) => {}
                Err(_) => return None,
            }
            match local.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    };
    let header = tokio::time::timeout(ADMIT_TIMEOUT, read).await.ok()??;
    let packet = buf.split_to(header.packet_len());
    let Ok(Packet::Connect(mut connect)) = codec::decode(&packet, Level::V3_1_1) else {
        return None;
    };
    if connect.client_id != *ctx.local_id {
        return None;
    }
    connect.client_id = ctx.client_id.to_string();
    let mut first = Vec::with_capacity(packet.len() + ctx.client_id.len());
    connect.encode(&mut first);
    let mut out = BytesMut::from(&first[..]);
    out.extend_from_slice(&buf);
    Some(out)
}

/// Relays between rumqttc's local connection and the broker until either side closes. `first`
/// holds what [`admit`] read from the local side already.
pub async fn relay<L: Upstream>(
    local: L,
    first: BytesMut,
    upstream: Box<dyn Upstream>,
    ctx: Arc<TapContext>,
) {
    let (local_read, local_write) = tokio::io::split(local);
    let (up_read, up_write) = tokio::io::split(upstream);
    let outbound = pump(
        local_read,
        first,
        up_write,
        Direction::Outbound,
        ctx.clone(),
    );
    let inbound = pump(
        up_read,
        BytesMut::new(),
        local_write,
        Direction::Inbound,
        ctx,
    );
    // When one direction ends the connection is over: dropping the other closes both sockets.
    tokio::select! {
        _ = outbound => {}
        _ = inbound => {}
    }
}

/// Copies one direction packet by packet: each whole packet is reported (and what it means for
/// the session noted) before it is forwarded, so the session never sees a packet before the tap
/// has read it. A partial packet waits in `buf` until the rest arrives.
async fn pump<R, W>(
    mut from: R,
    mut buf: BytesMut,
    mut to: W,
    direction: Direction,
    ctx: Arc<TapContext>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut framing = true;
    // What was read before the relay started is handled before the first read.
    let mut pending = !buf.is_empty();
    loop {
        if buf.capacity() - buf.len() < 4096 {
            // Doubling: a large packet arrives in a few reads, not thousands of small copies.
            buf.reserve(buf.capacity().max(16 * 1024));
        }
        let read = if pending {
            pending = false;
            Ok(1)
        } else {
            from.read_buf(&mut buf).await
        };
        match read {
            Ok(0) => {
                let _ = to.write_all(&buf).await;
                let _ = to.shutdown().await;
                return;
            }
            Err(error) => {
                if direction == Direction::Inbound {
                    ctx.lock_observed().upstream_error = Some(error.to_string());
                }
                let _ = to.shutdown().await;
                return;
            }
            Ok(_) => {}
        }
        let mut packets = Vec::new();
        let mut events = Vec::new();
        while framing {
            match wire::frame(&buf, ctx.max_packet) {
                Ok(Some(frame)) => {
                    let packet = buf.split_to(frame.len()).freeze();
                    events.push(ctx.event(direction, packet.clone(), &frame));
                    packets.push(packet);
                }
                Ok(None) => break,
                // Not MQTT framing (or larger than allowed): keep relaying, stop decoding.
                Err(_) => framing = false,
            }
        }
        if !events.is_empty() {
            ctx.emit(events);
        }
        let mut written = true;
        for packet in &packets {
            written = written && to.write_all(packet).await.is_ok();
        }
        if !framing {
            written = written && to.write_all(&buf).await.is_ok();
            buf.clear();
        }
        if !written || to.flush().await.is_err() {
            return;
        }
    }
}

/// The private endpoint rumqttc connects to.
pub struct LocalEndpoint {
    #[cfg(unix)]
    listener: tokio::net::UnixListener,
    #[cfg(unix)]
    dir: std::path::PathBuf,
    #[cfg(not(unix))]
    listener: tokio::net::TcpListener,
}

impl LocalEndpoint {
    /// Opens a new endpoint.
    pub fn open() -> std::io::Result<LocalEndpoint> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            let dir = std::env::temp_dir().join(format!(
                "mqtt-workbench-{}-{}",
                std::process::id(),
                crate::random_id_long("")
            ));
            // Created private (0700) in one step; fails if the name exists, so nobody can have
            // prepared it.
            std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
            match tokio::net::UnixListener::bind(dir.join("s")) {
                Ok(listener) => Ok(LocalEndpoint { listener, dir }),
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    Err(e)
                }
            }
        }
        #[cfg(not(unix))]
        {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            Ok(LocalEndpoint {
                listener: tokio::net::TcpListener::from_std(listener)?,
            })
        }
    }

    /// Where rumqttc connects: (address or socket path, port).
    pub fn target(&self) -> (String, u16) {
        #[cfg(unix)]
        {
            (self.dir.join("s").to_string_lossy().into_owned(), 0)
        }
        #[cfg(not(unix))]
        {
            let port = self.listener.local_addr().map(|a| a.port()).unwrap_or(0);
            ("127.0.0.1".to_string(), port)
        }
    }

    /// Accepts rumqttc's next connection.
    pub async fn accept(&self) -> std::io::Result<Box<dyn Upstream>> {
        let (stream, _) = self.listener.accept().await?;
        Ok(Box::new(stream))
    }
}

#[cfg(unix)]
impl Drop for LocalEndpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tap_relays_and_reports_whole_packets() {
        let (events, mut rx) = mpsc::channel(16);
        let ctx = Arc::new(TapContext {
            session: "t".into(),
            client_id: "c".into(),
            local_id: "one-time".into(),
            connection: 1,
            remote: None,
            version: ProtocolVersion::V311,
            max_packet: 1 << 20,
            events,
            dropped: Default::default(),
            observed: Default::default(),
            on_change: None,
        });
        let (client, local) = tokio::io::duplex(64);
        let (broker, upstream) = tokio::io::duplex(64);
        let task = tokio::spawn(relay(local, BytesMut::new(), Box::new(upstream), ctx));
        let (mut client, mut broker) = (client, broker);
        // A PUBLISH QoS 0 "a/b" with a 300-byte payload, written in small pieces.
        let mut publish = vec![0x30];
        let body_len = 2 + 3 + 300;
        publish.extend_from_slice(&[(body_len & 0x7F) as u8 | 0x80, (body_len >> 7) as u8]);
        publish.extend_from_slice(&[0, 3, b'a', b'/', b'b']);
        publish.extend(std::iter::repeat_n(7u8, 300));
        let writer = tokio::spawn(async move {
            for chunk in publish.chunks(50) {
                client.write_all(chunk).await.unwrap();
            }
            client
        });
        let mut got = vec![0u8; 3 + body_len];
        broker.read_exact(&mut got).await.unwrap();
        assert_eq!(got[0], 0x30);
        let batch = rx.recv().await.unwrap();
        assert_eq!(batch.packets.len(), 1);
        let p = &batch.packets[0];
        assert_eq!(p.direction, Direction::Outbound);
        assert_eq!(p.summary.topic.as_deref(), Some("a/b"));
        assert_eq!((p.summary.payload_len, p.summary.size), (300, 308));
        // The broker answers with PINGRESP; the client sees it.
        broker.write_all(&[0xD0, 0]).await.unwrap();
        let mut client = writer.await.unwrap();
        let mut pong = [0u8; 2];
        client.read_exact(&mut pong).await.unwrap();
        assert_eq!(pong, [0xD0, 0]);
        let batch = rx.recv().await.unwrap();
        assert_eq!(batch.packets[0].summary.kind, PacketKind::PingResp);
        assert_eq!(batch.packets[0].direction, Direction::Inbound);
        drop(broker);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn only_the_connection_with_the_one_time_id_is_admitted_and_gets_the_real_id() {
        use workbench_wire::codec::{self, Connect, Level, Packet};
        let (events, _rx) = mpsc::channel(16);
        let ctx = TapContext {
            session: "t".into(),
            client_id: "the-real-id".into(),
            local_id: "one-time".into(),
            connection: 1,
            remote: None,
            version: ProtocolVersion::V5,
            max_packet: 1 << 20,
            events,
            dropped: Default::default(),
            observed: Default::default(),
            on_change: None,
        };
        for (id, admitted) in [("someone-else", false), ("one-time", true)] {
            let (mut caller, mut local) = tokio::io::duplex(1024);
            let mut connect = Vec::new();
            Connect::new(Level::V5, id, 30).encode(&mut connect);
            connect.extend_from_slice(&[0xC0, 0x00]); // a PINGREQ right behind it
            caller.write_all(&connect).await.unwrap();
            let first = admit(&mut local, &ctx).await;
            assert_eq!(first.is_some(), admitted, "{id}");
            if let Some(first) = first {
                let header = codec::fixed_header(&first, usize::MAX).unwrap().unwrap();
                let Ok(Packet::Connect(rewritten)) =
                    codec::decode(&first[..header.packet_len()], Level::V5)
                else {
                    panic!("a CONNECT");
                };
                assert_eq!(rewritten.client_id, "the-real-id");
                assert_eq!(&first[header.packet_len()..], &[0xC0, 0x00]);
            }
        }
    }
}
