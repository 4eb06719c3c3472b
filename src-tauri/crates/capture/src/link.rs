//! A publishing connection to any broker for replays, on the wire crate's codec: it sends each
//! message exactly as recorded (topic, payload bytes, QoS, retain, MQTT 5 properties), keeps up
//! to a window of QoS 1 and 2 messages in flight, completes their handshakes, and keeps the
//! connection alive while a replay is paused. Dialing (TCP, TLS, WebSocket) is the sessions'
//! own ([`workbench_session::dial`]), so every transport and every error in words is the same.
//!
//! It reads only acknowledgements: it never subscribes, and a packet larger than it accepts
//! ends the connection rather than being buffered.

use crate::message::Message;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use workbench_session::dial::Upstream;
use workbench_session::profile::parse_url;
use workbench_session::{MqttVersion, Profile};
use workbench_wire::codec::{
    self, packet_type, reason, AckKind, ConnAck, Connect, Level, PublishOut, QoS,
};

/// Unacknowledged QoS 1 and 2 messages at most.
pub const WINDOW: usize = 100;
/// Time allowed to connect, and for the last acknowledgements at the end.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// The largest packet read from the broker (told to MQTT 5 brokers in CONNECT).
const MAX_IN: usize = 16 * 1024 * 1024;

/// Where to replay to, and as whom.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// `mqtt://host:1883`, `mqtts://`, `ws://host/mqtt`, `wss://`; a password in it is used.
    pub url: String,
    /// MQTT 5 (properties are sent) or MQTT 3.1.1 (they are left out).
    pub mqtt5: bool,
    /// Empty: `mqttwb-replay-` and random letters.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A session's profile to dial instead of the URL (its TLS and WebSocket settings).
    pub profile: Option<Profile>,
}

impl LinkOptions {
    pub fn new(url: &str) -> LinkOptions {
        LinkOptions {
            url: url.to_string(),
            mqtt5: true,
            client_id: String::new(),
            username: None,
            password: None,
            profile: None,
        }
    }

    /// Reaching the broker of a session's profile, as that session does (its transport, TLS
    /// settings, username and version), with the session's password.
    pub fn for_profile(profile: &Profile, password: Option<String>) -> LinkOptions {
        LinkOptions {
            url: profile.url(),
            mqtt5: profile.version == MqttVersion::V5,
            client_id: String::new(),
            username: profile.username.clone(),
            password,
            profile: Some(profile.clone()),
        }
    }
}

/// A connection that publishes.
pub struct Link {
    read: ReadHalf<Box<dyn Upstream>>,
    write: WriteHalf<Box<dyn Upstream>>,
    level: Level,
    buf: Vec<u8>,
    out: Vec<u8>,
    next_id: u16,
    /// Packet id → QoS of messages waiting for PUBACK (1) or PUBREC/PUBCOMP (2).
    inflight: HashMap<u16, u8>,
    window: usize,
    keep_alive: Duration,
    last_sent: Instant,
    /// The broker's Maximum QoS (MQTT 5), if it said.
    max_qos: u8,
    retain_available: bool,
    /// Messages received (subscribed) and not yet taken by [`Link::next_message`].
    received: std::collections::VecDeque<Message>,
    /// QoS 2 packet ids received and not yet released (a resent PUBLISH is not a new message).
    unreleased: std::collections::HashSet<u16>,
}

fn qos_of(bits: u8) -> QoS {
    QoS::from_bits(bits).unwrap_or(QoS::AtMostOnce)
}

impl Link {
    /// Dials, sends CONNECT, and waits for a CONNACK that accepts it, within [`TIMEOUT`].
    pub async fn connect(options: &LinkOptions) -> Result<Link, String> {
        match tokio::time::timeout(TIMEOUT, Link::connect_inner(options)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no CONNACK from {} within {} s",
                options.url,
                TIMEOUT.as_secs()
            )),
        }
    }

    async fn connect_inner(options: &LinkOptions) -> Result<Link, String> {
        let version = if options.mqtt5 {
            MqttVersion::V5
        } else {
            MqttVersion::V311
        };
        let parsed = match &options.profile {
            Some(_) => None,
            None => Some(parse_url(&options.url).map_err(|e| e.to_string())?),
        };
        let profile = match (&options.profile, &parsed) {
            (Some(profile), _) => profile.clone(),
            (None, Some(parsed)) => {
                let mut profile = Profile::new("replay", &parsed.host, parsed.port, version);
                profile.transport = parsed.transport;
                profile.ws_path = parsed.ws_path.clone();
                profile
            }
            (None, None) => return Err("no broker to reach".into()),
        };
        let (url_user, url_password) = parsed.map(|p| (p.username, p.password)).unwrap_or_default();
        let dialed = workbench_session::dial::dial(&profile)
            .await
            .map_err(|e| e.to_string())?;
        let (read, write) = tokio::io::split(dialed.stream);
        let level = if options.mqtt5 {
            Level::V5
        } else {
            Level::V3_1_1
        };
        let client_id = if options.client_id.is_empty() {
            workbench_session::random_id("mqttwb-replay-")
        } else {
            options.client_id.clone()
        };
        let keep_alive = 60u16;
        let mut connect = Connect::new(level, &client_id, keep_alive);
        connect.clean_start = true;
        if level.is_v5() {
            connect.properties.maximum_packet_size = Some(MAX_IN as u32);
        }
        connect.username = options.username.clone().or(url_user);
        connect.password = options
            .password
            .clone()
            .or(url_password)
            .map(String::into_bytes);
        let mut link = Link {
            read,
            write,
            level,
            buf: Vec::with_capacity(4096),
            out: Vec::with_capacity(64 * 1024),
            next_id: 0,
            inflight: HashMap::new(),
            window: WINDOW,
            keep_alive: Duration::from_secs(u64::from(keep_alive)),
            last_sent: Instant::now(),
            max_qos: 2,
            retain_available: true,
            received: Default::default(),
            unreleased: Default::default(),
        };
        connect.encode(&mut link.out);
        link.flush().await?;
        loop {
            if let Some((kind, body)) = link.frame()? {
                if kind >> 4 != packet_type::CONNACK {
                    return Err("the broker's first packet is not a CONNACK".into());
                }
                let connack = ConnAck::decode(&body, level).map_err(|e| e.to_string())?;
                if connack.code != 0 {
                    let name = if level.is_v5() {
                        reason::name(connack.code)
                    } else {
                        reason::v3::name(connack.code)
                    };
                    return Err(format!(
                        "the broker refused the connection: {name} ({:#04x})",
                        connack.code
                    ));
                }
                let props = &connack.properties;
                if let Some(max) = props.receive_maximum {
                    link.window = usize::from(max).clamp(1, WINDOW);
                }
                if let Some(seconds) = props.server_keep_alive {
                    link.keep_alive = Duration::from_secs(u64::from(seconds));
                }
                link.max_qos = props.maximum_qos.unwrap_or(2);
                link.retain_available = props.retain_available.unwrap_or(1) != 0;
                return Ok(link);
            }
            link.fill().await?;
        }
    }

    /// Queues a message; waits only while the window of unacknowledged messages is full.
    /// `buffer`: leave it in the outgoing buffer (as fast as possible: written in batches).
    pub async fn publish(&mut self, message: &Message, buffer: bool) -> Result<(), String> {
        let qos = message.qos.min(self.max_qos);
        if message.retain && !self.retain_available {
            return Err("the broker does not accept retained messages".into());
        }
        if qos > 0 {
            while self.inflight.len() >= self.window {
                self.flush().await?;
                self.read_one().await?;
            }
        }
        let packet_id = if qos == 0 {
            None
        } else {
            self.next_id = self.next_id % u16::MAX + 1;
            while self.inflight.contains_key(&self.next_id) {
                self.next_id = self.next_id % u16::MAX + 1;
            }
            self.inflight.insert(self.next_id, qos);
            Some(self.next_id)
        };
        let properties = if self.level.is_v5() {
            message.properties.publish_bytes()
        } else {
            Vec::new()
        };
        PublishOut {
            qos: qos_of(qos),
            retain: message.retain,
            topic: &message.topic,
            packet_id,
            payload: &message.payload,
            message_expiry_interval: message
                .properties
                .message_expiry_interval
                .filter(|_| self.level.is_v5()),
            properties: &properties,
            ..PublishOut::default()
        }
        .encode(self.level, &mut self.out);
        if !buffer || self.out.len() >= 64 * 1024 {
            self.flush().await?;
        }
        // Take in acknowledgements already there without waiting.
        self.read_ready()?;
        Ok(())
    }

    /// Serves the connection until `until` (or an error): answers PUBRECs with PUBRELs,
    /// takes in acknowledgements, and sends a PINGREQ when nothing was sent for half the
    /// keep-alive. Cancel-safe: reads and writes pick up where they stopped.
    pub async fn serve(&mut self, until: tokio::time::Instant) -> Result<(), String> {
        loop {
            self.read_ready()?;
            if !self.keep_alive.is_zero() && self.last_sent.elapsed() >= self.keep_alive / 2 {
                self.out.extend_from_slice(&[0xC0, 0]);
            }
            self.flush().await?;
            if !self.received.is_empty() {
                // A subscriber's message waits to be taken: no more reading until it is.
                return Ok(());
            }
            match tokio::time::timeout_at(until, self.fill()).await {
                Ok(result) => result?,
                Err(_) => return Ok(()),
            }
        }
    }

    /// Subscribes to `filters` at QoS 2 (retain as published in MQTT 5, so a recording keeps
    /// the flag as the publisher set it). The SUBACK is read by [`Link::next_message`].
    pub async fn subscribe(&mut self, filters: &[String]) -> Result<(), String> {
        let mut subscribe = codec::subscribe::Subscribe {
            packet_id: 1,
            properties: codec::Properties::default(),
            filters: Vec::new(),
        };
        for filter in filters {
            let mut f = codec::subscribe::SubscribeFilter::new(filter, QoS::ExactlyOnce);
            f.retain_as_published = self.level.is_v5();
            subscribe.filters.push(f);
        }
        subscribe.encode(self.level, &mut self.out);
        self.flush().await
    }

    /// The next message the broker delivers (acknowledged as its QoS asks).
    pub async fn next_message(&mut self) -> Result<Message, String> {
        loop {
            if let Some(message) = self.received.pop_front() {
                return Ok(message);
            }
            self.serve(tokio::time::Instant::now() + self.keep_alive / 2)
                .await?;
        }
    }

    /// Writes what is buffered, waits for every acknowledgement (within [`TIMEOUT`]) and
    /// disconnects.
    pub async fn finish(mut self) -> Result<(), String> {
        self.flush().await?;
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while !self.inflight.is_empty() {
            match tokio::time::timeout_at(deadline, self.read_one()).await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(format!(
                        "{} messages were not acknowledged within {} s",
                        self.inflight.len(),
                        TIMEOUT.as_secs()
                    ))
                }
            }
        }
        codec::disconnect::Disconnect::new(0).encode(self.level, &mut self.out);
        self.flush().await?;
        let _ = self.write.shutdown().await;
        Ok(())
    }

    /// Messages sent and not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.inflight.len()
    }

    pub async fn flush(&mut self) -> Result<(), String> {
        if self.out.is_empty() {
            return Ok(());
        }
        // Written piece by piece, each piece taken off once written: cancelling this between
        // pieces loses nothing and sends nothing twice.
        while !self.out.is_empty() {
            let n = self
                .write
                .write(&self.out)
                .await
                .map_err(|e| format!("the connection to the broker broke: {e}"))?;
            if n == 0 {
                return Err("the connection to the broker broke".into());
            }
            self.out.drain(..n);
            self.last_sent = Instant::now();
        }
        self.write
            .flush()
            .await
            .map_err(|e| format!("the connection to the broker broke: {e}"))
    }

    /// Reads more bytes; an error when the broker closed the connection.
    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 8192];
        let n = self
            .read
            .read(&mut chunk)
            .await
            .map_err(|e| format!("the connection to the broker broke: {e}"))?;
        if n == 0 {
            return Err("the broker closed the connection".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// One whole packet from the buffer: its first byte and its body.
    fn frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, String> {
        let header = codec::fixed_header(&self.buf, MAX_IN)
            .map_err(|e| format!("the broker sent a bad packet: {e}"))?;
        let Some(header) = header else {
            return Ok(None);
        };
        if self.buf.len() < header.packet_len() {
            return Ok(None);
        }
        let first = self.buf[0];
        let body = self.buf[header.header_len..header.packet_len()].to_vec();
        self.buf.drain(..header.packet_len());
        Ok(Some((first, body)))
    }

    /// Handles every whole packet already read, without waiting.
    fn read_ready(&mut self) -> Result<(), String> {
        while let Some((first, body)) = self.frame()? {
            self.handle(first, &body)?;
        }
        Ok(())
    }

    /// Waits for and handles at least one packet.
    async fn read_one(&mut self) -> Result<(), String> {
        loop {
            if let Some((first, body)) = self.frame()? {
                self.handle(first, &body)?;
                return self.flush().await;
            }
            self.fill().await?;
        }
    }

    fn received(&mut self, first: u8, body: &[u8]) -> Result<(), String> {
        let publish = codec::publish::PublishView::decode(first & 0x0F, body, self.level)
            .map_err(|e| format!("the broker sent a bad PUBLISH: {e}"))?;
        let id = publish.packet_id.unwrap_or(0);
        let fresh = match publish.qos {
            QoS::AtMostOnce => true,
            QoS::AtLeastOnce => {
                codec::ack::Ack::new(AckKind::PubAck, id, 0).encode(self.level, &mut self.out);
                true
            }
            QoS::ExactlyOnce => {
                codec::ack::Ack::new(AckKind::PubRec, id, 0).encode(self.level, &mut self.out);
                self.unreleased.insert(id)
            }
        };
        if !fresh {
            return Ok(());
        }
        let properties = if self.level.is_v5() && !publish.properties.is_empty() {
            let mut framed = Vec::with_capacity(publish.properties.len() + 4);
            codec::encode_varint(publish.properties.len(), &mut framed);
            framed.extend_from_slice(publish.properties);
            codec::Properties::decode(
                &mut codec::Reader::new(&framed),
                codec::properties::Context::Publish,
            )
            .map(|p| crate::message::Properties::from_codec(&p))
            .unwrap_or_default()
        } else {
            Default::default()
        };
        self.received.push_back(Message {
            time_ms: Some(workbench_wire::now_ms()),
            topic: publish.topic.to_string(),
            payload: bytes::Bytes::copy_from_slice(publish.payload),
            qos: publish.qos.bits(),
            retain: publish.retain,
            properties,
            direction: Some(crate::message::Direction::In),
            client_id: None,
        });
        Ok(())
    }

    fn handle(&mut self, first: u8, body: &[u8]) -> Result<(), String> {
        let kind = first >> 4;
        match kind {
            packet_type::PUBACK | packet_type::PUBREC | packet_type::PUBCOMP => {
                let ack = codec::ack::Ack::decode(AckKind::from_type(kind), body, self.level)
                    .map_err(|e| format!("the broker sent a bad acknowledgement: {e}"))?;
                if ack.reason >= 0x80 {
                    self.inflight.remove(&ack.packet_id);
                    return Err(format!(
                        "the broker refused a message: {} ({:#04x})",
                        reason::name(ack.reason),
                        ack.reason
                    ));
                }
                if kind == packet_type::PUBREC {
                    codec::ack::Ack::new(AckKind::PubRel, ack.packet_id, 0)
                        .encode(self.level, &mut self.out);
                } else {
                    self.inflight.remove(&ack.packet_id);
                }
                Ok(())
            }
            packet_type::PINGRESP | packet_type::UNSUBACK => Ok(()),
            packet_type::SUBACK => {
                let refused = body.iter().skip(2).any(|&code| code >= 0x80);
                if refused && !self.level.is_v5() {
                    return Err("the broker refused the subscription".into());
                }
                Ok(())
            }
            packet_type::PUBREL => {
                let id = body
                    .get(..2)
                    .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                self.unreleased.remove(&id);
                codec::ack::Ack::new(AckKind::PubComp, id, 0).encode(self.level, &mut self.out);
                Ok(())
            }
            packet_type::PUBLISH => self.received(first, body),
            packet_type::DISCONNECT => {
                let reason = codec::disconnect::Disconnect::decode(body, self.level)
                    .map(|d| reason::name(d.reason).to_string())
                    .unwrap_or_default();
                Err(format!("the broker disconnected: {reason}"))
            }
            other => Err(format!(
                "the broker sent an unexpected packet (type {other})"
            )),
        }
    }
}

impl crate::replay::Sink for Link {
    async fn send(&mut self, message: &Message, buffer: bool) -> Result<(), String> {
        self.publish(message, buffer).await
    }
    async fn serve(&mut self, until: tokio::time::Instant) -> Result<(), String> {
        Link::serve(self, until).await
    }
    async fn finish(self) -> Result<(), String> {
        Link::finish(self).await
    }
}
