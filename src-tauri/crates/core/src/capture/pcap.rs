//! Packet captures in and out of the workbench's views.
//!
//! - [`open_capture`]: a pcap or pcapng file (tcpdump on port 1883, Wireshark) opened as a
//!   source of its own: every MQTT packet in the packet log, sequence diagram and topic tree,
//!   each connection named by its client id, with its connects, subscriptions and closes as
//!   notices. Read as a stream on the caller's thread, in batches under the hub's lock.
//! - [`export_pcapng`]: any source's packet log saved as pcapng into the Downloads folder.

use crate::error::{ErrorCode, IpcError};
use crate::hub::TrafficHub;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use workbench_capture::pcap::{self, CaptureStats, Captured, LogSide, ReadOptions};
use workbench_traffic::source::{Notice, NoticeKind};
use workbench_traffic::SourceId;
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// Packets applied under one hold of the hub's lock.
const BATCH: usize = 512;

/// A capture opened as a source.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct OpenedCapture {
    pub source: SourceId,
    /// The file's name, for the source list.
    pub name: String,
    pub stats: CaptureStats,
}

/// Ids of opened captures, unique for the app's run.
static NEXT: AtomicU64 = AtomicU64::new(1);

fn notice(
    time: std::time::SystemTime,
    kind: NoticeKind,
    client_id: &str,
    remote: Option<SocketAddr>,
    detail: String,
) -> Notice {
    Notice {
        time_ms: time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        kind,
        client_id: client_id.to_string(),
        remote,
        detail,
    }
}

/// What each connection of the capture is known as, and its pending subscriptions.
#[derive(Default)]
struct Connection {
    client_id: Arc<str>,
    /// SUBSCRIBE filters (with QoS) and UNSUBSCRIBE filters by packet id, until acknowledged.
    subscribing: HashMap<u16, Vec<(String, u8)>>,
    unsubscribing: HashMap<u16, Vec<String>>,
}

/// Opens the capture at `path` as a new source (`{ kind: "capture" }`).
pub fn open_capture(
    hub: &TrafficHub,
    path: &Path,
    options: &ReadOptions,
) -> Result<OpenedCapture, IpcError> {
    let (file, _) = workbench_session::files::open_regular(path)
        .map_err(|e| IpcError::new(ErrorCode::Io, e.to_string()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capture".into());
    let source = SourceId::Capture(format!("{}-{name}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let mut connections: HashMap<u64, Connection> = HashMap::new();
    let mut packets: Vec<PacketEvent> = Vec::with_capacity(BATCH);
    let mut notices: Vec<Notice> = Vec::new();
    let flush = |packets: &mut Vec<PacketEvent>, notices: &mut Vec<Notice>| {
        if packets.is_empty() && notices.is_empty() {
            return;
        }
        hub.with_state(&source, |state| {
            for packet in packets.drain(..) {
                state.ingest(packet);
            }
            for notice in notices.drain(..) {
                state.model.notice(notice);
            }
        });
    };
    let stats = pcap::read_capture(file, options, |captured| {
        match captured {
            Captured::Opened {
                connection, client, ..
            } => {
                connections.insert(
                    connection,
                    Connection {
                        client_id: Arc::from(client.to_string()),
                        ..Connection::default()
                    },
                );
            }
            Captured::Packet {
                connection,
                client,
                from_client,
                time,
                version,
                client_id,
                summary,
                ..
            } => {
                let known = connections.entry(connection).or_default();
                if !client_id.is_empty() && &*known.client_id != client_id.as_str() {
                    known.client_id = Arc::from(client_id);
                }
                let id = known.client_id.clone();
                let packet_id = summary.packet_id.unwrap_or(0);
                match (summary.kind, from_client) {
                    (PacketKind::Connect, true) => notices.push(notice(
                        time,
                        NoticeKind::Connected,
                        &id,
                        Some(client),
                        format!("MQTT {}", version.label()),
                    )),
                    (PacketKind::Subscribe, true) => {
                        let mut filters = pcap::synth::subscribed_filters(&summary.fields);
                        if filters.is_empty() {
                            filters.extend(summary.topic.clone().map(|f| (f, 0)));
                        }
                        if known.subscribing.len() < 1_000 {
                            known.subscribing.insert(packet_id, filters);
                        }
                    }
                    (PacketKind::Unsubscribe, true) => {
                        let filters = summary.topic.clone().into_iter().collect();
                        if known.unsubscribing.len() < 1_000 {
                            known.unsubscribing.insert(packet_id, filters);
                        }
                    }
                    (PacketKind::SubAck, false) => {
                        for (filter, qos) in
                            known.subscribing.remove(&packet_id).unwrap_or_default()
                        {
                            notices.push(notice(
                                time,
                                NoticeKind::Subscribed,
                                &id,
                                None,
                                format!("{filter} (QoS {qos})"),
                            ));
                        }
                    }
                    (PacketKind::UnsubAck, false) => {
                        for filter in known.unsubscribing.remove(&packet_id).unwrap_or_default() {
                            notices.push(notice(time, NoticeKind::Unsubscribed, &id, None, filter));
                        }
                    }
                    _ => {}
                }
                packets.push(PacketEvent {
                    connection,
                    client_id: id,
                    remote: Some(client),
                    direction: if from_client {
                        Direction::Inbound
                    } else {
                        Direction::Outbound
                    },
                    summary,
                    time,
                });
            }
            Captured::Closed {
                connection,
                client,
                by_client,
                reset,
                time,
            } => {
                let id = connections
                    .remove(&connection)
                    .map_or_else(|| client.to_string(), |c| c.client_id.to_string());
                let how = match (by_client, reset) {
                    (true, false) => "the client closed the connection",
                    (true, true) => "the client reset the connection",
                    (false, false) => "the broker closed the connection",
                    (false, true) => "the broker reset the connection",
                };
                notices.push(notice(
                    time,
                    NoticeKind::Disconnected,
                    &id,
                    Some(client),
                    how.into(),
                ));
            }
        }
        if packets.len() >= BATCH || notices.len() >= BATCH {
            flush(&mut packets, &mut notices);
        }
    })
    .map_err(|e| IpcError::new(ErrorCode::InvalidInput, format!("{}: {e}", path.display())))?;
    flush(&mut packets, &mut notices);
    if stats.mqtt_packets == 0 {
        hub.remove(&source);
        let mut text =
            format!(
            "{} holds no MQTT packets ({} frames read; MQTT is found by its CONNECT or on port {})",
            path.display(),
            stats.frames,
            options.server_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        );
        if let Some(first) = stats.described.first() {
            text.push_str(&format!("; {first}"));
        }
        return Err(IpcError::new(ErrorCode::InvalidInput, text));
    }
    Ok(OpenedCapture {
        source,
        name,
        stats,
    })
}

/// The largest pcapng export (a log of 10,000 packets of large fanned-out payloads could
/// otherwise take gigabytes of memory).
const MAX_EXPORT: usize = 512 << 20;

/// A buffer that refuses to grow past [`MAX_EXPORT`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_EXPORT {
            return Err(std::io::Error::from(std::io::ErrorKind::FileTooLarge));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a pcapng export was saved.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PcapExport {
    pub path: String,
    pub packets: u32,
}

/// Saves a source's packet log (what passes the packet view's filters, oldest first) as pcapng
/// into the Downloads folder. `server` is the address the source listens on (the broker's, a
/// proxy's); `None` for a client session, whose log sees the other end.
pub fn export_pcapng(
    hub: &TrafficHub,
    source: &SourceId,
    server: Option<SocketAddr>,
    client: &str,
    kind: Option<PacketKind>,
) -> Result<PcapExport, IpcError> {
    let side = server.map_or(LogSide::Client, LogSide::Server);
    let internal = |e: std::io::Error| IpcError::new(ErrorCode::Internal, e.to_string());
    let (bytes, written) = hub
        .read_source(source, |s| {
            let events = s.packets().filter(|p| {
                kind.is_none_or(|k| p.summary.kind == k)
                    && (client.is_empty() || p.client_id.contains(client))
            });
            // The log keeps fields only; payloads are in the topics' history, found by time.
            let payload_of = |p: &PacketEvent| {
                let node = s.tree.node(s.tree.find(p.summary.topic.as_deref()?)?)?;
                let at = p
                    .time
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_millis() as u64;
                node.history
                    .iter()
                    .rev()
                    .find(|m| m.time_ms <= at && m.payload.len() == p.summary.payload_len)
                    .map(|m| m.payload.clone())
            };
            pcap::log_to_pcapng(Capped(Vec::new()), side, events, payload_of)
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::FileTooLarge => IpcError::new(
                ErrorCode::InvalidInput,
                format!(
                    "the capture would be larger than {} MB: filter the packet view by client or type first",
                    MAX_EXPORT >> 20
                ),
            ),
            _ => internal(e),
        })?;
    let bytes = bytes.0;
    let name = format!("mqtt-packets-{}.pcapng", source.slug());
    let path = crate::downloads::save(&name, &bytes).map_err(|e| IpcError::from_coded(&e))?;
    Ok(PcapExport {
        path: path.display().to_string(),
        packets: written.packets as u32,
    })
}
