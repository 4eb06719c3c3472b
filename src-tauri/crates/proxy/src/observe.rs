//! What the packets crossing the proxy mean, without I/O: the device's CONNECT (client id,
//! protocol level, username; never the password), the upstream's CONNACK in words, which
//! subscriptions the upstream confirmed, and how the connection ended. Also the packet events
//! the traffic views read, built from the bytes as they pass.
//!
//! Directions are the embedded broker's: [`Direction::Inbound`] is from the device (into the
//! proxy, on its way upstream), [`Direction::Outbound`] is to the device (from the upstream).

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;
use wire::{Direction, Frame, PacketEvent, PacketKind, PacketSummary, ProtocolVersion};
use workbench_session::MqttVersion;

/// Unanswered SUBSCRIBE or UNSUBSCRIBE packets remembered per connection (a device that never
/// gets answers cannot grow the map).
const PENDING_MAX: usize = 1024;

/// The essentials of a device's CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// 3 (MQTT 3.1), 4 (3.1.1) or 5.
    pub level: u8,
    pub client_id: String,
    pub username: Option<String>,
}

impl Connect {
    pub fn version(&self) -> ProtocolVersion {
        if self.level == 5 {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V311
        }
    }

    pub fn version_label(&self) -> &'static str {
        match self.level {
            3 => "3.1",
            5 => "5.0",
            _ => "3.1.1",
        }
    }
}

/// Reads a CONNECT's protocol level, client id and username; `None` when the bytes are not a
/// CONNECT the proxy can forward (not MQTT, an unknown level, malformed).
pub fn parse_connect(packet: &[u8], frame: &Frame) -> Option<Connect> {
    if frame.kind() != Some(PacketKind::Connect) {
        return None;
    }
    let body = packet.get(frame.header_len..frame.len())?;
    let name_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let name = body.get(2..2 + name_len)?;
    let level = *body.get(2 + name_len)?;
    let known = matches!((name, level), (b"MQIsdp", 3) | (b"MQTT", 4) | (b"MQTT", 5));
    if !known {
        return None;
    }
    let version = if level == 5 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let fields = wire::describe(packet, frame, version).ok()?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    Some(Connect {
        level,
        client_id: field("Client Identifier").unwrap_or_default(),
        username: field("User Name"),
    })
}

/// The CONNACK the proxy answers a device with when the upstream cannot be reached: "server
/// unavailable" in the device's protocol version (3 in MQTT 3.1 and 3.1.1, 0x88 in MQTT 5).
pub fn server_unavailable(level: u8) -> Vec<u8> {
    if level == 5 {
        vec![0x20, 3, 0, 0x88, 0]
    } else {
        vec![0x20, 2, 0, 3]
    }
}

/// A notice for the rows and the views, from what passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The upstream accepted the CONNECT; `assigned` is an MQTT 5 Assigned Client Identifier.
    Connected {
        assigned: Option<String>,
    },
    /// The upstream refused the CONNECT: its code, in words.
    Refused {
        code: u8,
        words: String,
    },
    Subscribed {
        filter: String,
        qos: u8,
    },
    Unsubscribed {
        filter: String,
    },
}

/// One connection's view of its packets.
#[derive(Debug)]
pub struct Observer {
    pub connection: u64,
    pub client_id: Arc<str>,
    pub remote: SocketAddr,
    pub version: ProtocolVersion,
    /// Whether the upstream's CONNACK has been seen, and its code.
    pub connack: Option<u8>,
    /// The device sent DISCONNECT (a clean leave: no will).
    pub device_disconnected: bool,
    /// The upstream sent DISCONNECT (MQTT 5), with this reason code.
    pub upstream_disconnect: Option<u8>,
    subscribing: HashMap<u16, VecDeque<Vec<(String, u8)>>>,
    unsubscribing: HashMap<u16, VecDeque<Vec<String>>>,
    pending: usize,
}

impl Observer {
    pub fn new(
        connection: u64,
        client_id: Arc<str>,
        remote: SocketAddr,
        version: ProtocolVersion,
    ) -> Observer {
        Observer {
            connection,
            client_id,
            remote,
            version,
            connack: None,
            device_disconnected: false,
            upstream_disconnect: None,
            subscribing: HashMap::new(),
            unsubscribing: HashMap::new(),
            pending: 0,
        }
    }

    fn mqtt_version(&self) -> MqttVersion {
        if self.version == ProtocolVersion::V5 {
            MqttVersion::V5
        } else {
            MqttVersion::V311
        }
    }

    /// Notes what one whole packet means, returning a notice when it is one.
    pub fn observe(&mut self, direction: Direction, packet: &[u8], frame: &Frame) -> Vec<Seen> {
        let mut seen = Vec::new();
        match (direction, frame.kind()) {
            (Direction::Inbound, Some(PacketKind::Subscribe)) => {
                if let Ok((id, filters)) = wire::subscription_filters(packet, frame, self.version) {
                    if self.pending < PENDING_MAX {
                        self.pending += 1;
                        let requested = filters.into_iter().map(|f| (f, 0)).collect();
                        self.subscribing.entry(id).or_default().push_back(requested);
                    }
                }
            }
            (Direction::Inbound, Some(PacketKind::Unsubscribe)) => {
                if let Ok((id, filters)) = wire::subscription_filters(packet, frame, self.version) {
                    if self.pending < PENDING_MAX {
                        self.pending += 1;
                        self.unsubscribing.entry(id).or_default().push_back(filters);
                    }
                }
            }
            (Direction::Inbound, Some(PacketKind::Disconnect)) => self.device_disconnected = true,
            (Direction::Outbound, Some(PacketKind::ConnAck)) if self.connack.is_none() => {
                let code = packet.get(frame.header_len + 1).copied().unwrap_or(0x80);
                self.connack = Some(code);
                if code == 0 {
                    let assigned =
                        wire::describe(packet, frame, self.version)
                            .ok()
                            .and_then(|fields| {
                                fields
                                    .into_iter()
                                    .find(|(n, _)| *n == "Assigned Client Identifier")
                                    .map(|(_, v)| v)
                            });
                    seen.push(Seen::Connected { assigned });
                } else {
                    let (_, _, words) =
                        workbench_session::words::connack(self.mqtt_version(), code);
                    seen.push(Seen::Refused { code, words });
                }
            }
            (Direction::Outbound, Some(PacketKind::SubAck)) => {
                if let Ok((id, codes)) = wire::ack_codes(packet, frame, self.version) {
                    if let Some(filters) = take(&mut self.subscribing, id) {
                        self.pending = self.pending.saturating_sub(1);
                        for ((filter, _), code) in filters.into_iter().zip(codes) {
                            if code < 0x80 {
                                seen.push(Seen::Subscribed { filter, qos: code });
                            }
                        }
                    }
                }
            }
            (Direction::Outbound, Some(PacketKind::UnsubAck)) => {
                let id = packet
                    .get(frame.header_len..frame.header_len + 2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]));
                if let Some(filters) = id.and_then(|id| take(&mut self.unsubscribing, id)) {
                    self.pending = self.pending.saturating_sub(1);
                    seen.extend(
                        filters
                            .into_iter()
                            .map(|filter| Seen::Unsubscribed { filter }),
                    );
                }
            }
            (Direction::Outbound, Some(PacketKind::Disconnect)) => {
                let code = packet.get(frame.header_len).copied().unwrap_or(0);
                self.upstream_disconnect = Some(code);
            }
            _ => {}
        }
        seen
    }

    /// Why the connection ended, in words, given what closed it.
    pub fn ending(&self, closed: &str) -> String {
        if let Some(code) = self.connack.filter(|c| *c != 0) {
            let (_, _, words) = workbench_session::words::connack(self.mqtt_version(), code);
            return format!("refused by the upstream broker: {words}");
        }
        if self.device_disconnected {
            return "client disconnected".into();
        }
        if let Some(code) = self.upstream_disconnect {
            return format!(
                "the upstream broker disconnected it: {}",
                workbench_session::words::disconnect(code)
            );
        }
        closed.to_string()
    }

    /// The packet event of one whole packet. A PUBLISH from the device carries its payload (a
    /// view of the bytes, not a copy) for the topic tree.
    pub fn event(&self, direction: Direction, packet: Bytes, frame: &Frame) -> PacketEvent {
        let mut summary = match wire::summarize(&packet, frame, self.version) {
            Ok(summary) => summary,
            Err(e) => {
                let mut s =
                    PacketSummary::new(frame.kind().unwrap_or(PacketKind::Disconnect), frame.len());
                s.fields.push(("Malformed", e.to_string()));
                s
            }
        };
        if summary.fields.is_empty() {
            // The CONNECT's fields say only whether a password is set, never what it is.
            summary.fields = wire::describe(&packet, frame, self.version).unwrap_or_default();
        }
        if summary.kind == PacketKind::Publish && direction == Direction::Inbound {
            let start = packet.len().saturating_sub(summary.payload_len);
            summary.payload = Some(packet.slice(start..));
        }
        PacketEvent {
            connection: self.connection,
            client_id: self.client_id.clone(),
            remote: Some(self.remote),
            direction,
            summary,
            time: SystemTime::now(),
        }
    }
}

fn take<T>(map: &mut HashMap<u16, VecDeque<T>>, id: u16) -> Option<T> {
    let queue = map.get_mut(&id)?;
    let first = queue.pop_front();
    if queue.is_empty() {
        map.remove(&id);
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(bytes: &[u8]) -> Frame {
        wire::frame(bytes, usize::MAX)
            .expect("valid")
            .expect("whole")
    }

    fn connect_v4(client_id: &str, user: &str, password: &str) -> Vec<u8> {
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0xC2, 0, 60];
        for s in [client_id, user, password] {
            body.extend_from_slice(&(s.len() as u16).to_be_bytes());
            body.extend_from_slice(s.as_bytes());
        }
        let mut out = vec![0x10];
        wire::encode_varint(body.len(), &mut out);
        out.extend(body);
        out
    }

    #[test]
    fn a_connect_is_read_without_its_password() {
        let bytes = connect_v4("sensor-1", "alice", "hunter2");
        let frame = framed(&bytes);
        let connect = parse_connect(&bytes, &frame).expect("a CONNECT");
        assert_eq!(connect.client_id, "sensor-1");
        assert_eq!(connect.username.as_deref(), Some("alice"));
        assert_eq!(connect.version_label(), "3.1.1");
        let observer = Observer::new(
            1,
            "sensor-1".into(),
            ([127, 0, 0, 1], 1).into(),
            connect.version(),
        );
        let event = observer.event(Direction::Inbound, Bytes::from(bytes), &frame);
        let shown = format!("{:?}", event.summary);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("(set)"), "{shown}");
    }

    #[test]
    fn not_mqtt_is_not_a_connect() {
        let bytes = [0x10, 4, 0, 2, b'H', b'T'];
        assert!(parse_connect(&bytes, &framed(&bytes)).is_none());
    }

    #[test]
    fn connack_codes_and_subacks_become_notices() {
        let mut o = Observer::new(
            1,
            "c".into(),
            ([127, 0, 0, 1], 1).into(),
            ProtocolVersion::V311,
        );
        let refused = [0x20, 2, 0, 5];
        let seen = o.observe(Direction::Outbound, &refused, &framed(&refused));
        match &seen[..] {
            [Seen::Refused { code: 5, words }] => {
                assert!(words.contains("not authorized"), "{words}")
            }
            other => panic!("{other:?}"),
        }
        assert!(o
            .ending("closed")
            .starts_with("refused by the upstream broker"));

        let mut o = Observer::new(
            1,
            "c".into(),
            ([127, 0, 0, 1], 1).into(),
            ProtocolVersion::V311,
        );
        let subscribe = [0x82, 8, 0, 7, 0, 3, b'a', b'/', b'b', 1];
        assert!(o
            .observe(Direction::Inbound, &subscribe, &framed(&subscribe))
            .is_empty());
        let suback = [0x90, 3, 0, 7, 1];
        let seen = o.observe(Direction::Outbound, &suback, &framed(&suback));
        assert_eq!(
            seen,
            vec![Seen::Subscribed {
                filter: "a/b".into(),
                qos: 1
            }]
        );
    }

    #[test]
    fn unreachable_is_answered_in_the_devices_version() {
        assert_eq!(server_unavailable(4), vec![0x20, 2, 0, 3]);
        assert_eq!(server_unavailable(5), vec![0x20, 3, 0, 0x88, 0]);
    }
}
