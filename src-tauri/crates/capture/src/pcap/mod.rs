//! Packet captures as Wireshark and tcpdump keep them.
//!
//! - [`write`]: a pcapng writer that frames each MQTT packet in synthesized Ethernet, IP and TCP
//!   (real addresses and ports, a handshake per connection, sequence numbers that add up), so
//!   Wireshark and tshark open it with their MQTT dissector.
//! - [`synth`]: a logged packet's bytes, encoded again from what the packet log keeps.
//! - [`read`]: pcap and pcapng read back into MQTT packets, TCP streams put in order.
//! - [`log_to_pcapng`]: a packet log (any source's) written as pcapng.

pub mod read;
pub mod synth;
pub mod write;

pub use read::{read_capture, CaptureStats, Captured, PcapError, ReadOptions};
pub use write::{PcapngWriter, Segment};

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use workbench_wire::{Direction, PacketEvent, PacketKind, ProtocolVersion};

/// Which end of each connection a packet log sees from.
#[derive(Debug, Clone, Copy)]
pub enum LogSide {
    /// The log of a server (the embedded broker, a proxy or an opened capture) listening at this
    /// address: inbound packets come from clients, each event's `remote` is the client.
    Server(SocketAddr),
    /// The log of a client session: outbound packets go to the broker, `remote` is the broker.
    Client,
}

/// What a packet log written as pcapng holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// MQTT packets written.
    pub packets: u64,
    /// Frames in the file (packets plus each connection's handshake).
    pub frames: u64,
}

/// Writes `events` (oldest first) as pcapng. Each connection's protocol version is taken from its
/// CONNECT when the log holds it (3.1.1 otherwise). A PUBLISH whose event no longer holds its
/// payload (the packet log keeps fields only) gets it from `payload_of` (the topic's history),
/// when that has one of the right length.
pub fn log_to_pcapng<'a, W: Write>(
    out: W,
    side: LogSide,
    events: impl IntoIterator<Item = &'a PacketEvent>,
    mut payload_of: impl FnMut(&PacketEvent) -> Option<bytes::Bytes>,
) -> io::Result<(W, Written)> {
    let mut writer = PcapngWriter::new(out)?;
    let mut versions: HashMap<u64, ProtocolVersion> = HashMap::new();
    let mut packets = 0;
    for event in events {
        let summary = &event.summary;
        if summary.kind == PacketKind::Connect {
            if let Some(version) = synth::connect_version(event) {
                versions.insert(event.connection, version);
            }
        }
        let version = versions
            .get(&event.connection)
            .copied()
            .unwrap_or(ProtocolVersion::V311);
        let payload = (summary.kind == PacketKind::Publish && summary.payload.is_none())
            .then(|| payload_of(event))
            .flatten()
            .filter(|p| p.len() == summary.payload_len);
        let synthesized = synth::synthesize(event, version, payload.as_deref());
        let (client, server, from_client) = match side {
            LogSide::Server(server) => (
                event.remote.unwrap_or_else(|| stand_in(event.connection)),
                server,
                event.direction == Direction::Inbound,
            ),
            LogSide::Client => (
                stand_in(event.connection),
                event
                    .remote
                    .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1883)),
                event.direction == Direction::Outbound,
            ),
        };
        writer.write(&Segment {
            time: event.time,
            connection: event.connection,
            client,
            server,
            from_client,
            bytes: &synthesized.bytes,
            comment: synthesized.note.as_deref(),
        })?;
        packets += 1;
    }
    let frames = writer.frames();
    Ok((writer.finish()?, Written { packets, frames }))
}

/// An address for an end the log does not know: loopback, a port per connection.
fn stand_in(connection: u64) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        40_000 + (connection % 20_000) as u16,
    )
}

/// Writes recorded messages (a recording, or any format the importers read) as pcapng: each
/// client id a connection of its own from a stand-in address to `server`, opened by a CONNECT,
/// each message its PUBLISH with the broker's acknowledgements for QoS 1 and 2, at the message's
/// time. For Wireshark's views of what a device sent; no packet here was captured as such.
pub fn messages_to_pcapng<W: Write>(
    out: W,
    server: SocketAddr,
    messages: impl IntoIterator<Item = crate::Message>,
) -> io::Result<(W, Written)> {
    use workbench_wire::codec::{Ack, AckKind, Connect, Level, PublishOut, QoS};
    let mut writer = PcapngWriter::new(out)?;
    // Connection number and next packet id, by client id.
    let mut clients: HashMap<String, (u64, u16)> = HashMap::new();
    let mut packets = 0;
    let mut last = std::time::UNIX_EPOCH;
    for message in messages {
        let time = message.time_ms.map_or(last, |ms| {
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)
        });
        last = time;
        let name = message
            .client_id
            .clone()
            .unwrap_or_else(|| "recording".into());
        let known = clients.len() as u64;
        let fresh = !clients.contains_key(&name);
        let (connection, next_id) = clients.entry(name.clone()).or_insert((known + 1, 1));
        let connection = *connection;
        let mut send = |bytes: &[u8], from_client: bool| {
            packets += 1;
            writer.write(&Segment {
                time,
                connection,
                client: stand_in(connection),
                server,
                from_client,
                bytes,
                comment: None,
            })
        };
        let mut bytes = Vec::new();
        if fresh {
            Connect::new(Level::V3_1_1, &name, 60).encode(&mut bytes);
            send(&bytes, true)?;
            send(&[0x20, 2, 0, 0], false)?;
        }
        let qos = QoS::from_bits(message.qos.min(2)).unwrap_or(QoS::AtMostOnce);
        let id = (qos != QoS::AtMostOnce).then(|| {
            let id = *next_id;
            *next_id = next_id.checked_add(1).unwrap_or(1);
            id
        });
        bytes.clear();
        PublishOut {
            qos,
            retain: message.retain,
            topic: &message.topic,
            packet_id: id,
            payload: &message.payload,
            ..PublishOut::default()
        }
        .encode(Level::V3_1_1, &mut bytes);
        send(&bytes, true)?;
        let acks: &[(AckKind, bool)] = match qos {
            QoS::AtMostOnce => &[],
            QoS::AtLeastOnce => &[(AckKind::PubAck, false)],
            QoS::ExactlyOnce => &[
                (AckKind::PubRec, false),
                (AckKind::PubRel, true),
                (AckKind::PubComp, false),
            ],
        };
        for (kind, from_client) in acks {
            bytes.clear();
            Ack::new(*kind, id.unwrap_or(1), 0).encode(Level::V3_1_1, &mut bytes);
            send(&bytes, *from_client)?;
        }
    }
    let frames = writer.frames();
    Ok((writer.finish()?, Written { packets, frames }))
}
