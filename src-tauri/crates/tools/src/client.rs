//! A small MQTT client on the wire crate's codec, made for many connections and high rates:
//! packets are encoded into one outgoing buffer and written together ([`Connection::flush`]);
//! reads fill a buffer from which whole packets are framed without copying
//! ([`Connection::next_frame`]). What to do with each packet is the caller's (a simulated device
//! acknowledges and answers; the load generator counts and measures).
//!
//! Each buffer is bounded: a packet larger than the connection's maximum is refused from its
//! header, and the read buffer never holds more than one such packet plus one read.
//! [`Connection::fill`] is cancel-safe, so a caller can `select!` it against its timers.

use crate::target::Target;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use workbench_session::dial::Upstream;
use workbench_wire::codec::{
    self, reason, AckKind, ConnAck, Connect, Level, Packet, Properties, PublishOut, QoS, Subscribe,
    SubscribeFilter, Will,
};

/// Why a connection failed or ended. [`ClientError::reason`] is the short kind, for counting
/// errors by reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Dial(String),
    #[error("the broker refused the connection: {name} ({code:#04x})")]
    Refused { code: u8, name: String },
    #[error("no {0} within the time allowed")]
    Timeout(&'static str),
    #[error("the broker closed the connection")]
    Closed,
    #[error("the broker disconnected: {0}")]
    Disconnected(String),
    #[error("{0}")]
    Io(String),
    #[error("the broker sent a bad packet: {0}")]
    Protocol(String),
}

impl ClientError {
    /// The kind of failure without per-connection detail: the key errors are counted by.
    pub fn reason(&self) -> String {
        match self {
            ClientError::Dial(text) => text
                .split(" (")
                .next()
                .unwrap_or(text)
                .chars()
                .take(120)
                .collect(),
            ClientError::Io(text) => {
                format!("I/O error: {}", text.chars().take(80).collect::<String>())
            }
            other => other.to_string(),
        }
    }
}

/// What a CONNECT says.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub level: Level,
    pub client_id: String,
    pub keep_alive: u16,
    pub clean_start: bool,
    pub session_expiry: Option<u32>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    pub will: Option<Will>,
    /// The largest packet accepted from the broker.
    pub max_packet: usize,
    /// How much one read asks for (small for thousands of quiet devices, large for load).
    pub read_chunk: usize,
}

impl ConnectOptions {
    pub fn new(level: Level, client_id: &str) -> ConnectOptions {
        ConnectOptions {
            level,
            client_id: client_id.to_string(),
            keep_alive: 60,
            clean_start: true,
            session_expiry: None,
            username: None,
            password: None,
            will: None,
            max_packet: 1 << 20,
            read_chunk: 4096,
        }
    }
}

/// One connection to a broker.
pub struct Connection {
    read: ReadHalf<Box<dyn Upstream>>,
    write: WriteHalf<Box<dyn Upstream>>,
    buf: Vec<u8>,
    start: usize,
    pub level: Level,
    max_packet: usize,
    read_chunk: usize,
    next_id: u16,
    /// Packets encoded and not yet written.
    pub out: Vec<u8>,
    pub connack: ConnAck,
}

impl Connection {
    /// Dials, sends CONNECT and waits for a CONNACK accepting it, all within `timeout`.
    pub async fn connect(
        target: &Target,
        options: &ConnectOptions,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        tokio::time::timeout(timeout, Self::connect_inner(target, options))
            .await
            .unwrap_or(Err(ClientError::Timeout("CONNACK")))
    }

    async fn connect_inner(
        target: &Target,
        options: &ConnectOptions,
    ) -> Result<Connection, ClientError> {
        let stream = target.dial().await?;
        let (read, write) = tokio::io::split(stream);
        let mut connect = Connect::new(options.level, &options.client_id, options.keep_alive);
        connect.clean_start = options.clean_start;
        connect.username = options.username.clone();
        connect.password = options.password.clone();
        connect.will = options.will.clone();
        if options.level.is_v5() {
            connect.properties.session_expiry_interval = options.session_expiry;
            connect.properties.maximum_packet_size = u32::try_from(options.max_packet).ok();
        }
        let mut connection = Connection {
            read,
            write,
            buf: Vec::new(),
            start: 0,
            level: options.level,
            max_packet: options.max_packet,
            read_chunk: options.read_chunk.max(256),
            next_id: 0,
            out: Vec::new(),
            connack: ConnAck::new(false, 0),
        };
        connect.encode(&mut connection.out);
        connection.flush().await?;
        loop {
            if let Some((first, body)) = connection.next_frame()? {
                if first >> 4 != codec::packet_type::CONNACK {
                    return Err(ClientError::Protocol(
                        "the first packet is not a CONNACK".into(),
                    ));
                }
                let connack = ConnAck::decode(body, options.level)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                if connack.code != 0 {
                    let name = if options.level.is_v5() {
                        reason::name(connack.code)
                    } else {
                        reason::v3::name(connack.code)
                    };
                    return Err(ClientError::Refused {
                        code: connack.code,
                        name: name.to_string(),
                    });
                }
                connection.connack = connack;
                return Ok(connection);
            }
            if connection.fill().await? == 0 {
                return Err(ClientError::Closed);
            }
        }
    }

    /// The next packet identifier (1 to 65535, cycling).
    pub fn next_id(&mut self) -> u16 {
        self.next_id = self.next_id % u16::MAX + 1;
        self.next_id
    }

    /// Encodes a PUBLISH into the outgoing buffer; returns its packet id (0 at QoS 0).
    /// `properties` are MQTT 5 property bytes without their length (ignored for 3.1.1).
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[u8],
    ) -> u16 {
        let packet_id = if qos == QoS::AtMostOnce {
            0
        } else {
            self.next_id()
        };
        PublishOut {
            qos,
            retain,
            topic,
            packet_id: (packet_id != 0).then_some(packet_id),
            payload,
            properties,
            ..PublishOut::default()
        }
        .encode(self.level, &mut self.out);
        packet_id
    }

    /// Encodes a SUBSCRIBE for `filters`; returns its packet id.
    pub fn subscribe(&mut self, filters: &[(String, QoS)]) -> u16 {
        let packet_id = self.next_id();
        Subscribe {
            packet_id,
            properties: Properties::default(),
            filters: filters
                .iter()
                .map(|(f, q)| SubscribeFilter {
                    // A device never hears its own messages (MQTT 5): a reply cannot answer itself.
                    no_local: self.level.is_v5(),
                    ..SubscribeFilter::new(f, *q)
                })
                .collect(),
        }
        .encode(self.level, &mut self.out);
        packet_id
    }

    /// Encodes an acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP) with success.
    pub fn ack(&mut self, kind: AckKind, packet_id: u16) {
        self.out
            .extend_from_slice(&codec::ack::short(kind, packet_id));
    }

    pub fn ping(&mut self) {
        self.out.extend_from_slice(&codec::PINGREQ);
    }

    /// Writes what is waiting in the outgoing buffer.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let result = self.write.write_all(&self.out).await;
        self.out.clear();
        result.map_err(|e| ClientError::Io(e.to_string()))
    }

    /// Reads what arrived (waiting for at least one byte); 0 at the end of the stream.
    /// Cancel-safe: a cancelled read loses nothing.
    pub async fn fill(&mut self) -> Result<usize, ClientError> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > 4 * self.read_chunk.max(1 << 16) {
                // A large packet passed: give its memory back.
                self.buf.shrink_to(self.read_chunk);
            }
        } else if self.start > self.read_chunk {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(self.read_chunk);
        self.read
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| ClientError::Io(e.to_string()))
    }

    /// The next whole packet (its first byte and its body), if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<(u8, &[u8])>, ClientError> {
        let rest = &self.buf[self.start..];
        let header = codec::fixed_header(rest, self.max_packet)
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let Some(header) = header else {
            return Ok(None);
        };
        if rest.len() < header.packet_len() {
            return Ok(None);
        }
        let first = rest[0];
        let body = self.start + header.header_len;
        self.start += header.packet_len();
        Ok(Some((first, &self.buf[body..self.start])))
    }

    /// The next whole packet, decoded.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, ClientError> {
        let start = self.start;
        if self.next_frame()?.is_none() {
            return Ok(None);
        }
        codec::decode(&self.buf[start..self.start], self.level)
            .map(Some)
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Sends DISCONNECT (the broker discards the will) and closes.
    pub async fn disconnect(mut self) {
        let mut bytes = Vec::new();
        codec::Disconnect::new(0).encode(self.level, &mut bytes);
        self.out.extend_from_slice(&bytes);
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = self.flush().await;
            let _ = self.write.shutdown().await;
        })
        .await;
    }

    /// Closes the socket without DISCONNECT, as a device losing power would: the broker
    /// publishes the will.
    pub fn drop_now(self) {
        drop(self);
    }
}

/// A PUBLISH's MQTT 5 response topic and correlation data (from its raw property bytes).
pub fn request_properties(properties: &[u8]) -> (Option<String>, Option<Vec<u8>>) {
    if properties.is_empty() {
        return (None, None);
    }
    let mut block = Vec::with_capacity(properties.len() + 4);
    codec::encode_varint(properties.len(), &mut block);
    block.extend_from_slice(properties);
    match Properties::decode(
        &mut codec::Reader::new(&block),
        codec::properties::Context::Publish,
    ) {
        Ok(p) => (p.response_topic, p.correlation_data),
        Err(_) => (None, None),
    }
}

/// MQTT 5 property bytes (without their length) for a PUBLISH.
pub fn publish_properties(properties: &Properties) -> Vec<u8> {
    if properties.is_empty() {
        return Vec::new();
    }
    let mut block = Vec::new();
    properties.encode(&mut block);
    let prefix = codec::varint_len(properties.body_len());
    block.split_off(prefix)
}
