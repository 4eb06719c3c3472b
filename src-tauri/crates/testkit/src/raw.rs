//! A hand-rolled MQTT client over a plain socket, for probing exactly what bytes a broker sends:
//! return codes, reason codes, and behaviour under malformed input.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub const V311: u8 = 4;
pub const V5: u8 = 5;

fn varint(value: usize, out: &mut Vec<u8>) {
    workbench_wire::encode_varint(value, out);
}

fn string(text: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text);
}

/// Wraps a body in a fixed header.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// Options of a CONNECT.
pub struct Connect<'a> {
    pub level: u8,
    pub client_id: &'a str,
    pub keep_alive: u16,
    pub clean: bool,
    pub login: Option<(&'a str, &'a str)>,
    /// Will topic, payload, QoS.
    pub will: Option<(&'a str, &'a [u8], u8)>,
}

impl Default for Connect<'_> {
    fn default() -> Self {
        Connect {
            level: V311,
            client_id: "raw",
            keep_alive: 30,
            clean: true,
            login: None,
            will: None,
        }
    }
}

impl Connect<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        string(b"MQTT", &mut body);
        body.push(self.level);
        let mut flags = 0u8;
        if self.clean {
            flags |= 0b10;
        }
        if let Some((_, _, qos)) = self.will {
            flags |= 0b100 | (qos << 3);
        }
        if self.login.is_some() {
            flags |= 0b1100_0000;
        }
        body.push(flags);
        body.extend_from_slice(&self.keep_alive.to_be_bytes());
        if self.level == V5 {
            body.push(0);
        }
        string(self.client_id.as_bytes(), &mut body);
        if let Some((topic, payload, _)) = self.will {
            if self.level == V5 {
                body.push(0);
            }
            string(topic.as_bytes(), &mut body);
            string(payload, &mut body);
        }
        if let Some((user, password)) = self.login {
            string(user.as_bytes(), &mut body);
            string(password.as_bytes(), &mut body);
        }
        packet(0x10, &body)
    }
}

/// A SUBSCRIBE for `filters` (filter, QoS).
pub fn subscribe(level: u8, pkid: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    if level == V5 {
        body.push(0);
    }
    for (filter, qos) in filters {
        string(filter.as_bytes(), &mut body);
        body.push(*qos);
    }
    packet(0x82, &body)
}

/// A PUBLISH.
pub fn publish(
    level: u8,
    topic: &str,
    payload: &[u8],
    qos: u8,
    retain: bool,
    pkid: u16,
) -> Vec<u8> {
    let mut body = Vec::new();
    string(topic.as_bytes(), &mut body);
    if qos > 0 {
        body.extend_from_slice(&pkid.to_be_bytes());
    }
    if level == V5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1) | u8::from(retain), &body)
}

pub const PINGREQ: [u8; 2] = [0xC0, 0x00];
pub const DISCONNECT: [u8; 2] = [0xE0, 0x00];

/// A PUBLISH as received: its flags, topic, packet id and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub topic: String,
    pub packet_id: Option<u16>,
    pub payload: Vec<u8>,
}

/// Reads a whole PUBLISH packet (`None` for anything else).
pub fn parse_publish(packet: &[u8], level: u8) -> Option<Received> {
    if packet.first()? >> 4 != 3 {
        return None;
    }
    let first = packet[0];
    let mut at = 1;
    while packet.get(at)? & 0x80 != 0 {
        at += 1;
    }
    at += 1;
    let len = usize::from(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]));
    let topic = String::from_utf8(packet.get(at + 2..at + 2 + len)?.to_vec()).ok()?;
    at += 2 + len;
    let qos = (first >> 1) & 3;
    let packet_id = if qos > 0 {
        let id = u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]);
        at += 2;
        Some(id)
    } else {
        None
    };
    if level == V5 {
        let (mut props, mut shift) = (0usize, 0);
        loop {
            let byte = *packet.get(at)?;
            at += 1;
            props += usize::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        at += props;
    }
    Some(Received {
        qos,
        retain: first & 1 != 0,
        dup: first & 0b1000 != 0,
        topic,
        packet_id,
        payload: packet.get(at..)?.to_vec(),
    })
}

/// One connection to a broker.
pub struct RawClient {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl RawClient {
    pub fn connect(address: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(address).expect("connect to the broker");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("set timeout");
        let reader = BufReader::with_capacity(
            64 * 1024,
            stream.try_clone().expect("a second handle on the socket"),
        );
        RawClient { stream, reader }
    }

    /// Reads PUBLISH packets until `count` have arrived, acknowledging QoS 1 and 2 as a
    /// well-behaved client does (and answering PUBREL with PUBCOMP). Other packets are skipped.
    /// Returns what arrived; fewer than `count` when the broker closed the connection or went
    /// quiet for the read timeout.
    pub fn receive_publishes(&mut self, count: usize, level: u8) -> Vec<Received> {
        let mut got = Vec::with_capacity(count);
        let mut acks = Vec::new();
        while got.len() < count {
            let Some(packet) = self.read_packet() else {
                break;
            };
            match packet[0] >> 4 {
                3 => {
                    if let Some(publish) = parse_publish(&packet, level) {
                        if let Some(id) = publish.packet_id {
                            let first = if publish.qos == 1 { 0x40 } else { 0x50 };
                            acks.extend_from_slice(&[first, 2]);
                            acks.extend_from_slice(&id.to_be_bytes());
                        }
                        got.push(publish);
                    }
                }
                6 => {
                    acks.extend_from_slice(&[0x70, 2]);
                    acks.extend_from_slice(packet.get(2..4).unwrap_or(&[0, 0]));
                }
                _ => {}
            }
            if !acks.is_empty() && (self.reader.buffer().is_empty() || acks.len() > 4096) {
                self.send(&acks);
                acks.clear();
            }
        }
        if !acks.is_empty() {
            let _ = self.try_send(&acks);
        }
        got
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the broker");
    }

    /// Connects, sends `connect` and checks that a CONNACK came back.
    pub fn connected(address: SocketAddr, connect: Connect<'_>) -> RawClient {
        let mut client = RawClient::connect(address);
        client.send(&connect.encode());
        let connack = client.read_packet().expect("a CONNACK");
        assert_eq!(connack[0], 0x20, "CONNACK expected, got {connack:02x?}");
        client
    }

    /// Sends without failing when the broker has already closed the socket.
    pub fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Reads one whole packet; `None` when the broker closed the connection.
    pub fn read_packet(&mut self) -> Option<Vec<u8>> {
        let mut first = [0u8; 1];
        if self.reader.read_exact(&mut first).is_err() {
            return None;
        }
        let mut packet = vec![first[0]];
        let mut remaining = 0usize;
        let mut shift = 0;
        loop {
            let mut byte = [0u8; 1];
            self.reader.read_exact(&mut byte).ok()?;
            packet.push(byte[0]);
            remaining += usize::from(byte[0] & 0x7F) << shift;
            if byte[0] & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let start = packet.len();
        packet.resize(start + remaining, 0);
        self.reader.read_exact(&mut packet[start..]).ok()?;
        Some(packet)
    }

    /// True when the broker closes the connection (reads end) within the read timeout.
    pub fn closed_by_broker(&mut self) -> bool {
        let mut sink = [0u8; 4096];
        loop {
            match self.reader.read(&mut sink) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(error) => {
                    return matches!(
                        error.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    )
                }
            }
        }
    }
}
