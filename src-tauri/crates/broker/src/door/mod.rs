//! The front door's protocol logic for one client connection, as a state machine without I/O:
//! bytes from the client and deliveries from the router go in, with the time; bytes for the
//! client, packet events, notices and decisions (close, wait for a congested subscriber) come
//! out. The connection task ([`crate::connection`]) owns one door and does the I/O.
//!
//! - [`connect`]: CONNECT checks, authentication, the CONNACK.
//! - [`inbound`]: what the client publishes and acknowledges.
//! - [`subscribe`]: SUBSCRIBE and UNSUBSCRIBE.
//! - [`outbound`]: deliveries to the client: flow control, packet ids, topic aliases.
//! - [`tap`]: packet events for the traffic views.
//!
//! The door never trusts a length or a value a peer sends, never panics on input, and never
//! waits: anything that needs waiting (a login delay, a session held by another connection, a
//! subscriber to let drain) is handed to the connection task as a decision.

pub mod connect;
pub mod faults;
pub mod inbound;
pub mod outbound;
pub mod subscribe;
pub mod tap;

use crate::limits::Limits;
use crate::router::message::Delivery;
use crate::router::session::{SessionCell, SessionState};
use crate::router::subscriptions::Target;
use crate::router::{Router, WillMessage};
use bytes::BytesMut;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::codec::{self, reason, DecodeError, Disconnect, Level, Packet};
use wire::{Direction, PacketSummary};

pub use connect::{ConnectStep, Users};
pub use outbound::OutboundAliases;

/// What the door is configured with; shared by every connection of a broker.
#[derive(Debug)]
pub struct DoorConfig {
    pub limits: Limits,
    pub users: Users,
    /// Record every packet for the traffic views.
    pub tap: bool,
    /// Refreshes `$SYS` before a `$SYS` subscription is served (none in unit tests).
    pub sys: Option<Arc<crate::sys::SysPublisher>>,
}

/// Why a connection ended, in words for the log and the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT (`with_will`: reason 0x04, publish the will anyway).
    ClientDisconnected { with_will: bool },
    /// The client closed the socket without DISCONNECT.
    ConnectionLost(String),
    /// CONNECT was refused; the CONNACK said why.
    Refused(String),
    /// The client broke the protocol; an MQTT 5 client was told the reason code.
    ProtocolError { code: u8, detail: String },
    /// Nothing arrived for one and a half keep-alive periods.
    KeepAliveTimeout,
    /// Another connection took the client id.
    TakenOver,
    /// A limit of the broker was reached.
    Limit { code: u8, detail: String },
    /// The broker is stopping, or closed the connection on purpose.
    ServerClosed(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::ClientDisconnected { with_will: false } => {
                write!(f, "client disconnected")
            }
            CloseReason::ClientDisconnected { with_will: true } => {
                write!(
                    f,
                    "client disconnected and asked for its will to be published"
                )
            }
            CloseReason::ConnectionLost(why) => write!(f, "connection lost: {why}"),
            CloseReason::Refused(why) => write!(f, "connection refused: {why}"),
            CloseReason::ProtocolError { code, detail } => {
                write!(
                    f,
                    "{} (reason code {code:#04x}): {detail}",
                    reason::name(*code)
                )
            }
            CloseReason::KeepAliveTimeout => {
                write!(f, "nothing arrived within 1.5 times the keep-alive")
            }
            CloseReason::TakenOver => write!(f, "another connection took over the client id"),
            CloseReason::Limit { code, detail } => {
                write!(
                    f,
                    "{} (reason code {code:#04x}): {detail}",
                    reason::name(*code)
                )
            }
            CloseReason::ServerClosed(why) => write!(f, "closed by the broker: {why}"),
        }
    }
}

impl CloseReason {
    /// True when the will must be published (anything but a normal DISCONNECT).
    pub fn publishes_will(&self) -> bool {
        !matches!(self, CloseReason::ClientDisconnected { with_will: false })
    }
}

/// Something the connection reports beyond packets (for the dashboard and the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Subscribed {
        filter: String,
        qos: u8,
    },
    Unsubscribed {
        filter: String,
    },
    /// A topic's retained message was set (true) or deleted (false).
    Retained {
        topic: Arc<str>,
        present: bool,
    },
}

/// Everything one step produced.
#[derive(Debug, Default)]
pub struct Output {
    /// Bytes for the client.
    pub bytes: Vec<u8>,
    /// Packets in both directions, when the door taps traffic.
    pub events: Vec<(Direction, PacketSummary)>,
    pub notices: Vec<Notice>,
    /// Write `bytes`, then close.
    pub close: Option<CloseReason>,
}

impl Output {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.events.clear();
        self.notices.clear();
        self.close = None;
    }
}

/// Per-connection counts, added to the broker's totals by the connection task.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub publish_in: u64,
    pub publish_out: u64,
}

impl Counts {
    pub fn take(&mut self) -> Counts {
        std::mem::take(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitConnect,
    /// CONNECT accepted, waiting for the session.
    Attaching,
    Open,
    Closed,
}

/// What the client said about itself in CONNECT (MQTT 5 limits on what it receives).
#[derive(Debug, Clone, Copy)]
struct Peer {
    receive_maximum: u16,
    max_packet_size: usize,
    topic_alias_maximum: u16,
}

impl Default for Peer {
    fn default() -> Self {
        Peer {
            receive_maximum: u16::MAX,
            max_packet_size: usize::MAX,
            topic_alias_maximum: 0,
        }
    }
}

/// The session the connection serves, owned while it is attached.
#[derive(Debug)]
pub struct Live {
    pub cell: Arc<SessionCell>,
    pub state: Box<SessionState>,
    pub generation: u64,
}

/// The state of one client connection.
pub struct Door {
    config: Arc<DoorConfig>,
    router: Arc<Router>,
    pub serial: u64,
    pub remote: SocketAddr,
    phase: Phase,
    level: Level,
    client_id: Arc<str>,
    /// The keep-alive in force (after the server's maximum), seconds; 0 = none.
    keep_alive: u16,
    last_packet: Instant,
    /// An unfinished packet has been waiting since then.
    partial_since: Option<Instant>,
    live: Option<Live>,
    will: Option<WillMessage>,
    /// MQTT 5 session expiry interval asked for in CONNECT (for DISCONNECT's rule on 0).
    connect_expiry: u32,
    clean_start: bool,
    /// The client id was assigned by the broker (the client sent an empty one).
    assigned: bool,
    peer: Peer,
    aliases_in: HashMap<u16, Arc<str>>,
    aliases_out: OutboundAliases,
    scratch: Vec<Target>,
    batch: VecDeque<Delivery>,
    /// A subscriber's mailbox filled while routing: the connection lets it drain before
    /// reading more from this client.
    pub congested: Option<Arc<SessionCell>>,
    pub counts: Counts,
}

impl Door {
    pub fn new(
        config: Arc<DoorConfig>,
        router: Arc<Router>,
        serial: u64,
        remote: SocketAddr,
        now: Instant,
    ) -> Door {
        Door {
            config,
            router,
            serial,
            remote,
            phase: Phase::AwaitConnect,
            level: Level::V3_1_1,
            client_id: Arc::from(""),
            keep_alive: 0,
            last_packet: now,
            partial_since: None,
            live: None,
            will: None,
            connect_expiry: 0,
            clean_start: true,
            assigned: false,
            peer: Peer::default(),
            aliases_in: HashMap::new(),
            aliases_out: OutboundAliases::default(),
            scratch: Vec::new(),
            batch: VecDeque::new(),
            congested: None,
            counts: Counts::default(),
        }
    }

    pub fn level(&self) -> Level {
        self.level
    }

    pub fn client_id(&self) -> &Arc<str> {
        &self.client_id
    }

    pub fn keep_alive(&self) -> u16 {
        self.keep_alive
    }

    pub fn clean_start(&self) -> bool {
        self.clean_start
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// The session served, while attached.
    pub fn live(&self) -> Option<&Live> {
        self.live.as_ref()
    }

    fn tap(&self) -> bool {
        self.config.tap
    }

    /// The earliest moment the door must be asked to [`Door::on_tick`]: the keep-alive deadline
    /// or the deadline of an unfinished packet.
    pub fn next_deadline(&self) -> Option<Instant> {
        let keep_alive = (self.phase == Phase::Open && self.keep_alive > 0)
            .then(|| self.last_packet + Duration::from_millis(u64::from(self.keep_alive) * 1500));
        let partial = self
            .partial_since
            .map(|since| since + self.config.limits.packet_timeout);
        match (keep_alive, partial) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Checks the deadlines at `now`.
    pub fn on_tick(&mut self, now: Instant, out: &mut Output) {
        if self.phase == Phase::Closed {
            return;
        }
        if let Some(since) = self.partial_since {
            if now >= since + self.config.limits.packet_timeout {
                let detail = format!(
                    "a packet did not finish arriving within {} s",
                    self.config.limits.packet_timeout.as_secs()
                );
                self.fail(
                    out,
                    CloseReason::Limit {
                        code: reason::MALFORMED_PACKET,
                        detail,
                    },
                );
                return;
            }
        }
        if self.phase == Phase::Open && self.keep_alive > 0 {
            let limit = Duration::from_millis(u64::from(self.keep_alive) * 1500);
            if now.saturating_duration_since(self.last_packet) >= limit {
                self.fail(out, CloseReason::KeepAliveTimeout);
            }
        }
    }

    /// Closes with `reason`, telling an MQTT 5 client the reason code where there is one.
    fn fail(&mut self, out: &mut Output, reason: CloseReason) {
        let code = match &reason {
            CloseReason::ProtocolError { code, .. } | CloseReason::Limit { code, .. } => {
                Some(*code)
            }
            CloseReason::KeepAliveTimeout => Some(reason::KEEP_ALIVE_TIMEOUT),
            CloseReason::TakenOver => Some(reason::SESSION_TAKEN_OVER),
            CloseReason::ServerClosed(_) => Some(reason::SERVER_SHUTTING_DOWN),
            _ => None,
        };
        if let (Some(code), true, Phase::Open) = (code, self.level.is_v5(), self.phase) {
            let mut bytes = Vec::new();
            Disconnect::new(code).encode(self.level, &mut bytes);
            self.emit(out, &bytes, Direction::Outbound);
        }
        self.phase = Phase::Closed;
        out.close = Some(reason);
    }

    /// Closes because the broker asks (`code`: an MQTT 5 reason code for the client).
    pub fn close_by_server(&mut self, code: u8, why: &str, out: &mut Output) {
        let reason = if code == reason::SESSION_TAKEN_OVER {
            CloseReason::TakenOver
        } else {
            CloseReason::ServerClosed(why.to_string())
        };
        if code != reason::SERVER_SHUTTING_DOWN && code != reason::SESSION_TAKEN_OVER {
            if let (true, Phase::Open) = (self.level.is_v5(), self.phase) {
                let mut bytes = Vec::new();
                Disconnect::new(code).encode(self.level, &mut bytes);
                self.emit(out, &bytes, Direction::Outbound);
            }
            self.phase = Phase::Closed;
            out.close = Some(reason);
            return;
        }
        self.fail(out, reason);
    }

    /// Appends bytes the door wrote itself, with their packet event.
    fn emit(&mut self, out: &mut Output, bytes: &[u8], direction: Direction) {
        if direction == Direction::Outbound {
            self.counts.packets_out += 1;
            self.counts.bytes_out += bytes.len() as u64;
            out.bytes.extend_from_slice(bytes);
        }
        if self.tap() {
            if let Some(summary) = tap::summarize(bytes, self.level) {
                out.events.push((direction, summary));
            }
        }
    }

    /// Consumes every whole packet in `buf` (after CONNECT was accepted). Incomplete bytes stay
    /// in `buf`. Stops early when a subscriber is congested ([`Door::congested`] is set) or the
    /// connection closes.
    pub fn on_bytes(&mut self, buf: &mut BytesMut, now: Instant, out: &mut Output) {
        while self.phase == Phase::Open && self.congested.is_none() {
            let header = match codec::fixed_header(buf, self.config.limits.max_packet_size) {
                Ok(Some(header)) => header,
                Ok(None) => {
                    if buf.is_empty() {
                        self.partial_since = None;
                    } else if self.partial_since.is_none() {
                        self.partial_since = Some(now);
                    }
                    return;
                }
                Err(error) => {
                    self.decode_failed(error, out);
                    return;
                }
            };
            if buf.len() < header.packet_len() {
                self.partial_since.get_or_insert(now);
                return;
            }
            self.partial_since = None;
            let packet = buf.split_to(header.packet_len());
            self.last_packet = now;
            self.counts.packets_in += 1;
            self.counts.bytes_in += packet.len() as u64;
            self.on_packet(&packet, now, out);
        }
    }

    fn decode_failed(&mut self, error: DecodeError, out: &mut Output) {
        let code = error.reason_code();
        let reason = match error {
            DecodeError::TooLarge { .. } => CloseReason::Limit {
                code,
                detail: error.to_string(),
            },
            _ => CloseReason::ProtocolError {
                code,
                detail: error.to_string(),
            },
        };
        self.fail(out, reason);
    }

    fn on_packet(&mut self, packet: &[u8], now: Instant, out: &mut Output) {
        let decoded = match codec::decode(packet, self.level) {
            Ok(decoded) => decoded,
            Err(error) => {
                if self.tap() {
                    if let Some(summary) = tap::summarize(packet, self.level) {
                        out.events.push((Direction::Inbound, summary));
                    }
                }
                return self.decode_failed(error, out);
            }
        };
        if self.tap() && !matches!(decoded, Packet::Publish(_)) {
            if let Some(summary) = tap::summarize(packet, self.level) {
                out.events.push((Direction::Inbound, summary));
            }
        }
        match decoded {
            Packet::Publish(publish) => self.on_publish(&publish, packet.len(), now, out),
            Packet::Ack(ack) => self.on_ack(&ack, out),
            Packet::Subscribe(subscribe) => self.on_subscribe(&subscribe, now, out),
            Packet::Unsubscribe(unsubscribe) => self.on_unsubscribe(&unsubscribe, out),
            Packet::PingReq => self.emit(out, &codec::PINGRESP, Direction::Outbound),
            Packet::Disconnect(disconnect) => self.on_disconnect(&disconnect, out),
            Packet::Connect(_) => self.fail(
                out,
                CloseReason::ProtocolError {
                    code: reason::PROTOCOL_ERROR,
                    detail: "a second CONNECT on one connection".into(),
                },
            ),
            Packet::Auth(_) => self.fail(
                out,
                CloseReason::ProtocolError {
                    code: reason::PROTOCOL_ERROR,
                    detail: "AUTH without an authentication method in CONNECT".into(),
                },
            ),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => self
                .fail(
                    out,
                    CloseReason::ProtocolError {
                        code: reason::PROTOCOL_ERROR,
                        detail: "a client sent a packet only a server may send".into(),
                    },
                ),
        }
    }

    fn on_disconnect(&mut self, disconnect: &Disconnect, out: &mut Output) {
        if let Some(expiry) = disconnect.properties.session_expiry_interval {
            if self.connect_expiry == 0 && expiry != 0 {
                return self.fail(
                    out,
                    CloseReason::ProtocolError {
                        code: reason::PROTOCOL_ERROR,
                        detail: "DISCONNECT set a session expiry after CONNECT set none".into(),
                    },
                );
            }
            if let Some(live) = &mut self.live {
                live.state.expiry =
                    connect::expiry_of(expiry, self.config.limits.max_session_expiry);
            }
        }
        self.phase = Phase::Closed;
        out.close = Some(CloseReason::ClientDisconnected {
            with_will: disconnect.reason == reason::DISCONNECT_WITH_WILL,
        });
    }

    /// Ends the connection's part: what the connection task gives back to the router. The will
    /// is included when `reason` publishes it.
    pub fn finish(&mut self, reason: &CloseReason) -> Option<(Live, Option<WillMessage>)> {
        self.phase = Phase::Closed;
        let live = self.live.take()?;
        let will = if reason.publishes_will() {
            self.will.take()
        } else {
            None
        };
        Some((live, will))
    }
}
