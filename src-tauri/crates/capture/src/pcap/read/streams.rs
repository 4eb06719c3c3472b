//! TCP connections of a capture put back together: each direction's bytes in sequence order
//! (retransmissions trimmed, out-of-order segments held until the gap fills, a gap that never
//! fills skipped and counted), then framed into MQTT packets.

use super::{CaptureStats, Captured, Frame, ReadOptions, MAX_MQTT_PACKET, MAX_PENDING};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::SystemTime;
use workbench_wire::{PacketKind, ProtocolVersion};

/// Connections followed at once; more are counted and skipped.
const MAX_CONNECTIONS: usize = 10_000;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

#[derive(Default)]
struct Direction {
    next: Option<u32>,
    buffer: Vec<u8>,
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    broken: bool,
    fin: bool,
}

struct Connection {
    id: u64,
    /// Unknown until its first bytes (or its SYN and a server port) tell.
    mqtt: Option<bool>,
    client: Option<SocketAddr>,
    version: ProtocolVersion,
    client_id: String,
    /// Indexed by whether the bytes go from the lower address of the pair.
    ways: [Direction; 2],
}

pub(super) struct Streams<'o> {
    options: &'o ReadOptions,
    connections: HashMap<(SocketAddr, SocketAddr), Connection>,
    next_id: u64,
}

fn key(a: SocketAddr, b: SocketAddr) -> ((SocketAddr, SocketAddr), usize) {
    if a <= b {
        ((a, b), 0)
    } else {
        ((b, a), 1)
    }
}

/// Whether `bytes` begin like a CONNECT: type 1, a remaining length, then "MQTT" or "MQIsdp".
fn looks_like_connect(bytes: &[u8]) -> Option<bool> {
    if bytes.first()? != &0x10 {
        return Some(false);
    }
    let mut at = 1;
    loop {
        let byte = *bytes.get(at)?;
        at += 1;
        if byte & 0x80 == 0 || at > 4 {
            break;
        }
    }
    let name = bytes.get(at..at + 8)?;
    Some(name.starts_with(b"\x00\x04MQTT") || name.starts_with(b"\x00\x06MQIsdp"))
}

impl<'o> Streams<'o> {
    pub(super) fn new(options: &'o ReadOptions) -> Streams<'o> {
        Streams {
            options,
            connections: HashMap::new(),
            next_id: 1,
        }
    }

    pub(super) fn frame(
        &mut self,
        frame: Frame<'_>,
        stats: &mut CaptureStats,
        on: &mut impl FnMut(Captured),
    ) {
        let Some(tcp) = super::tcp_of(frame.link, frame.data) else {
            stats.skipped += 1;
            return;
        };
        let (pair, way) = key(tcp.from, tcp.to);
        if tcp.flags & SYN != 0 && tcp.flags & ACK == 0 {
            // A new connection (a port reused by a later connection starts afresh).
            if self.connections.len() >= MAX_CONNECTIONS && !self.connections.contains_key(&pair) {
                stats.problem(format!(
                    "more than {MAX_CONNECTIONS} connections at once; {} is skipped",
                    tcp.from
                ));
                return;
            }
            let id = self.next_id;
            self.next_id += 1;
            let mut connection = Connection::new(id);
            connection.client = Some(tcp.from);
            connection.ways[way].next = Some(tcp.seq.wrapping_add(1));
            self.connections.insert(pair, connection);
            return;
        }
        if !self.connections.contains_key(&pair) {
            if tcp.payload.is_empty() || self.connections.len() >= MAX_CONNECTIONS {
                stats.skipped += 1;
                return;
            }
            let id = self.next_id;
            self.next_id += 1;
            self.connections.insert(pair, Connection::new(id));
        }
        let options = self.options;
        let connection = self.connections.get_mut(&pair).expect("inserted above");
        if tcp.flags & SYN != 0 {
            connection.ways[way].next = Some(tcp.seq.wrapping_add(1));
            return;
        }
        if connection.mqtt == Some(false) {
            stats.skipped += 1;
        } else if !tcp.payload.is_empty() {
            connection.take(way, tcp.seq, tcp.payload, stats);
            if connection.mqtt.is_none() {
                connection.decide(way, tcp.from, tcp.to, options);
                if connection.mqtt == Some(true) {
                    stats.connections += 1;
                    let client = connection.client.expect("decided with a client");
                    let server = if client == tcp.from { tcp.to } else { tcp.from };
                    on(Captured::Opened {
                        connection: connection.id,
                        client,
                        server,
                        time: frame.time,
                    });
                }
            }
            if connection.mqtt == Some(true) {
                connection.emit(way, tcp.from, tcp.to, frame.time, frame.offset, stats, on);
            }
        }
        if tcp.flags & (FIN | RST) != 0 {
            let reset = tcp.flags & RST != 0;
            connection.ways[way].fin = true;
            if connection.mqtt == Some(true) {
                let client = connection
                    .client
                    .expect("an MQTT connection knows its client");
                on(Captured::Closed {
                    connection: connection.id,
                    client,
                    by_client: client == tcp.from,
                    reset,
                    time: frame.time,
                });
                // Told once: the other side's FIN closes nothing more.
                connection.mqtt = Some(false);
            }
            if reset || connection.ways.iter().all(|w| w.fin) {
                self.connections.remove(&pair);
            }
        }
    }

    pub(super) fn finish(&mut self, stats: &mut CaptureStats) {
        for connection in self.connections.values() {
            if connection.mqtt != Some(true) {
                continue;
            }
            for way in &connection.ways {
                if !way.buffer.is_empty() && !way.broken {
                    stats.problem(format!(
                        "the capture ends inside a packet of connection {} ({} bytes of it)",
                        connection.id,
                        way.buffer.len()
                    ));
                }
            }
        }
    }
}

impl Connection {
    fn new(id: u64) -> Connection {
        Connection {
            id,
            mqtt: None,
            client: None,
            version: ProtocolVersion::V311,
            client_id: String::new(),
            ways: Default::default(),
        }
    }

    /// Puts a segment's bytes in place in one direction's stream.
    fn take(&mut self, way: usize, seq: u32, payload: &[u8], stats: &mut CaptureStats) {
        let dir = &mut self.ways[way];
        if dir.broken {
            return;
        }
        let next = *dir.next.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next) as i32;
        if ahead < 0 {
            // Bytes seen already (a retransmission), perhaps with new ones after them.
            let seen = ahead.unsigned_abs() as usize;
            if seen >= payload.len() {
                return;
            }
            dir.append(&payload[seen..]);
        } else if ahead > 0 {
            dir.pending_bytes += payload.len();
            dir.pending.entry(seq).or_insert_with(|| payload.to_vec());
            if dir.pending_bytes > MAX_PENDING {
                // The gap will not fill: skip it, losing the packet it cut.
                stats.problem(format!(
                    "connection {}: {} bytes never captured; the packet they belonged to is skipped",
                    self.id,
                    dir.pending.keys().next().map_or(0, |s| s.wrapping_sub(next))
                ));
                dir.buffer.clear();
                let first = *dir.pending.keys().next().expect("not empty");
                dir.next = Some(first);
            } else {
                return;
            }
        } else {
            dir.append(payload);
        }
        // Whatever was waiting for these bytes.
        while let Some((&seq, _)) = dir.pending.iter().next() {
            let next = dir.next.expect("set above");
            let ahead = seq.wrapping_sub(next) as i32;
            if ahead > 0 {
                break;
            }
            let bytes = dir.pending.remove(&seq).expect("present");
            dir.pending_bytes -= bytes.len();
            let seen = ahead.unsigned_abs() as usize;
            if seen < bytes.len() {
                dir.append(&bytes[seen..]);
            }
        }
    }

    /// Settles whether this connection is MQTT, and which end is the client.
    fn decide(&mut self, way: usize, from: SocketAddr, to: SocketAddr, options: &ReadOptions) {
        let buffer = &self.ways[way].buffer;
        match looks_like_connect(buffer) {
            Some(true) => {
                self.mqtt = Some(true);
                self.client = Some(from);
            }
            None => {} // too few bytes to tell yet
            Some(false) => {
                let server_port = |a: SocketAddr| options.server_ports.contains(&a.port());
                if server_port(to) || server_port(from) {
                    self.mqtt = Some(true);
                    if self.client.is_none() {
                        self.client = Some(if server_port(to) { from } else { to });
                    }
                } else {
                    self.mqtt = Some(false);
                }
            }
        }
    }

    /// Frames and reports every whole packet the direction holds.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        way: usize,
        from: SocketAddr,
        to: SocketAddr,
        time: SystemTime,
        offset: u64,
        stats: &mut CaptureStats,
        on: &mut impl FnMut(Captured),
    ) {
        let client = self.client.expect("an MQTT connection knows its client");
        let from_client = client == from;
        let server = if from_client { to } else { from };
        loop {
            let dir = &mut self.ways[way];
            if dir.broken {
                return;
            }
            let frame = match workbench_wire::frame(&dir.buffer, MAX_MQTT_PACKET) {
                Ok(Some(frame)) if frame.len() <= dir.buffer.len() => frame,
                Ok(_) => return,
                Err(e) => {
                    stats.problem(format!(
                        "connection {} ({}), frame at byte {offset}: {e}; the rest of its {} bytes are skipped",
                        self.id,
                        client,
                        if from_client { "client's" } else { "server's" }
                    ));
                    dir.broken = true;
                    dir.buffer = Vec::new();
                    return;
                }
            };
            let bytes: Vec<u8> = dir.buffer.drain(..frame.len()).collect();
            if from_client && frame.kind() == Some(PacketKind::Connect) {
                let name = bytes.get(frame.header_len + 1).map(|n| usize::from(*n));
                if let Some(&level) = name.and_then(|n| bytes.get(frame.header_len + 2 + n)) {
                    self.version = if level == 5 {
                        ProtocolVersion::V5
                    } else {
                        ProtocolVersion::V311
                    };
                }
            }
            let mut summary = match workbench_wire::summarize(&bytes, &frame, self.version) {
                Ok(summary) => summary,
                Err(e) => {
                    stats.problem(format!(
                        "connection {}, packet at byte {offset}: {e}",
                        self.id
                    ));
                    continue;
                }
            };
            if summary.kind == PacketKind::Publish {
                let start = bytes.len() - summary.payload_len;
                summary.payload = Some(bytes::Bytes::copy_from_slice(&bytes[start..]));
            } else {
                summary.fields =
                    workbench_wire::describe(&bytes, &frame, self.version).unwrap_or_default();
            }
            if summary.kind == PacketKind::Connect {
                if let Some((_, id)) = summary
                    .fields
                    .iter()
                    .find(|(name, _)| *name == "Client Identifier")
                {
                    self.client_id = id.clone();
                }
            }
            stats.mqtt_packets += 1;
            on(Captured::Packet {
                connection: self.id,
                client,
                server,
                from_client,
                time,
                version: self.version,
                client_id: self.client_id.clone(),
                summary,
                bytes,
            });
        }
    }
}

impl Direction {
    fn append(&mut self, bytes: &[u8]) {
        let next = self.next.unwrap_or(0);
        self.next = Some(next.wrapping_add(bytes.len() as u32));
        if self.buffer.len() + bytes.len() > MAX_MQTT_PACKET + 8 {
            self.broken = true;
            self.buffer = Vec::new();
            return;
        }
        self.buffer.extend_from_slice(bytes);
    }
}
