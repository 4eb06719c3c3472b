//! The front door's protocol logic for one client connection, as a state machine with no I/O:
//! bytes from the client or from the engine go in; bytes for each side, packet events and
//! decisions (open the engine link, close, changes to subscriptions) come out.
//!
//! What the door does beyond relaying, and why:
//! - Authenticates against its own users and answers failures with the right CONNACK code
//!   (rumqttd just drops the socket), then logs in to the engine with credentials only it knows.
//! - Accepts keep-alive 0 (rumqttd refuses it): the engine is told the longest keep-alive and the
//!   door pings the engine itself, swallowing the answers.
//! - Serves `$SYS` subscriptions itself (rumqttd disconnects on `$` filters) and drops client
//!   publishes to `$` topics, which MQTT reserves for the server.
//! - Validates topic names and filters, answering a bad filter with a failure code for that
//!   filter instead of a disconnect.
//! - Refuses packets above the maximum size as soon as their header arrives, and malformed
//!   packets, with the MQTT 5 reason code where the client speaks MQTT 5.
//! - Speaks MQTT 5 to the engine for every client, translating for 3.1.1 clients, and tags each
//!   publish with a user property ([`MARKER_KEY`]) carrying what rumqttd loses: the publish QoS
//!   (it delivers at the subscription's QoS, not the minimum of both), whether the payload was
//!   empty (it deletes the retained message on any empty publish, retained or not), and when
//!   the message was sent (for MQTT 5 message expiry, which it ignores). The door strips the tag
//!   on the way out and applies the rules, acknowledging the engine itself where it downgrades.

use super::codec::{self, ConnectPacket, RequestedFilter, SubscribePacket};
use bytes::BytesMut;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use workbench_wire::topic;
use workbench_wire::{self as wire, Frame, WireError};
use workbench_wire::{Direction, PacketKind, PacketSummary, ProtocolVersion};

/// The user property the door adds to every publish it hands the engine. A client cannot
/// forge it: the door removes any such property a client sends.
pub const MARKER_KEY: &str = "x-mqtt-workbench-door";

/// What the door tells itself about a publish through the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Marker {
    /// QoS of the original publish.
    qos: u8,
    /// The payload was empty (and travels as one placeholder byte).
    empty: bool,
    /// The retain flag of the original publish.
    retain: bool,
    /// When the door received it (milliseconds since the Unix epoch).
    sent_at_ms: u64,
    /// The door connection it came from (for no-local).
    origin: u64,
}

impl Marker {
    /// Compact text: `q1er@1700000000000#42`.
    fn encode(&self) -> String {
        let mut text = format!("q{}", self.qos);
        if self.empty {
            text.push('e');
        }
        if self.retain {
            text.push('r');
        }
        text.push_str(&format!("@{}#{}", self.sent_at_ms, self.origin));
        text
    }

    fn decode(text: &str) -> Option<Marker> {
        let rest = text.strip_prefix('q')?;
        let (head, tail) = rest.split_once('@')?;
        let (ms, origin) = tail.split_once('#')?;
        let qos = head.get(..1)?.parse().ok()?;
        let flags = head.get(1..)?;
        Some(Marker {
            qos,
            empty: flags.contains('e'),
            retain: flags.contains('r'),
            sent_at_ms: ms.parse().ok()?,
            origin: origin.parse().ok()?,
        })
    }
}

/// What the door remembers of each of the client's subscriptions.
#[derive(Debug, Clone)]
struct SubscriptionOptions {
    no_local: bool,
    retain_as_published: bool,
    retain_handling: u8,
    identifier: Option<usize>,
    /// When the subscription was made: older messages are retained ones from the store.
    since_ms: u64,
    /// The subscription existed before its latest SUBSCRIBE (for retain handling 1).
    existed: bool,
}

use workbench_wire::now_ms;

fn ack(first: u8, packet_id: u16) -> [u8; 4] {
    let id = packet_id.to_be_bytes();
    [first, 0x02, id[0], id[1]]
}

/// The keep-alive the engine is told for a client that asked for none (0 = no timeout): the
/// longest MQTT can express, about 18 hours; the door pings the engine well within it.
pub const ENGINE_KEEP_ALIVE_FOR_ZERO: u16 = u16::MAX;

/// MQTT 5 reason codes the door sends.
mod reason {
    pub const UNSUPPORTED_PROTOCOL_VERSION: u8 = 0x84;
    pub const CLIENT_ID_NOT_VALID: u8 = 0x85;
    pub const BAD_USER_NAME_OR_PASSWORD: u8 = 0x86;
    pub const NOT_AUTHORIZED: u8 = 0x87;
    pub const MALFORMED_PACKET: u8 = 0x81;
    pub const PROTOCOL_ERROR: u8 = 0x82;
    pub const TOPIC_FILTER_INVALID: u8 = 0x8F;
    pub const TOPIC_NAME_INVALID: u8 = 0x90;
    pub const PACKET_TOO_LARGE: u8 = 0x95;
    pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: u8 = 0x9E;
}

/// MQTT 3.1.1 CONNACK return codes.
mod return_code {
    pub const UNACCEPTABLE_PROTOCOL_VERSION: u8 = 0x01;
    pub const IDENTIFIER_REJECTED: u8 = 0x02;
    pub const BAD_USER_NAME_OR_PASSWORD: u8 = 0x04;
    pub const NOT_AUTHORIZED: u8 = 0x05;
}

/// What every door on one listener shares.
#[derive(Debug, Clone)]
pub struct DoorSettings {
    /// Largest packet accepted from a client, in bytes.
    pub max_packet_size: usize,
    /// Username to password; empty means anyone may connect.
    pub users: HashMap<String, String>,
    /// The credentials the engine accepts (known only to the door).
    pub engine_login: (String, String),
}

/// Why a connection ended, in words for the log and the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT.
    ClientDisconnected,
    /// Authentication failed; the CONNACK said why.
    Refused(String),
    /// The client broke the protocol.
    ProtocolError(String),
    /// A packet could not be decoded.
    Malformed(String),
    /// A packet was larger than allowed.
    TooLarge { size: usize, max: usize },
    /// The engine refused the connection.
    EngineRefused(u8),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::ClientDisconnected => write!(f, "client disconnected"),
            CloseReason::Refused(why) => write!(f, "connection refused: {why}"),
            CloseReason::ProtocolError(why) => write!(f, "protocol error: {why}"),
            CloseReason::Malformed(why) => write!(f, "malformed packet: {why}"),
            CloseReason::TooLarge { size, max } => {
                write!(
                    f,
                    "packet of {size} bytes exceeds the maximum of {max} bytes"
                )
            }
            CloseReason::EngineRefused(code) => {
                write!(
                    f,
                    "the routing engine refused the connection (code {code:#04x})"
                )
            }
        }
    }
}

/// Everything one step of the state machine produced.
#[derive(Debug, Default)]
pub struct Output {
    pub to_engine: Vec<u8>,
    pub to_client: Vec<u8>,
    pub events: Vec<(Direction, PacketSummary)>,
    /// The CONNECT was accepted: connect to the engine, then send `to_engine`.
    pub open_engine: bool,
    /// The connection is now established (the client got a successful CONNACK).
    pub connected: bool,
    /// Send `to_client` (if any), then close both sides.
    pub close: Option<CloseReason>,
    /// A `$SYS` subscription was just made: send the current values now.
    pub sys_requested: bool,
    pub subscriptions_changed: bool,
    /// Retained messages set (true) or cleared (false) by client publishes.
    pub retained_changes: Vec<(String, bool)>,
}

impl Output {
    pub fn clear(&mut self) {
        self.to_engine.clear();
        self.to_client.clear();
        self.events.clear();
        self.open_engine = false;
        self.connected = false;
        self.close = None;
        self.sys_requested = false;
        self.subscriptions_changed = false;
        self.retained_changes.clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitConnect,
    AwaitConnAck,
    Open,
    Closed,
}

/// Where each filter's SUBACK code comes from.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Door(u8),
    Engine,
}

#[derive(Debug)]
struct PendingSubAck {
    slots: Vec<Slot>,
    filters: Vec<RequestedFilter>,
    /// When the SUBSCRIBE went to the engine: retained messages are older than this.
    sent_at_ms: u64,
}

/// An acknowledgement the engine expects, and its bytes once someone has given it.
#[derive(Debug)]
struct AckSlot {
    packet_id: u16,
    ready: Option<[u8; 4]>,
}

/// Marks the first slot for `packet_id` still waiting as answered with `ack`; false if none.
fn answer(queue: &mut VecDeque<AckSlot>, packet_id: u16, ack: [u8; 4]) -> bool {
    match queue
        .iter_mut()
        .find(|slot| slot.packet_id == packet_id && slot.ready.is_none())
    {
        Some(slot) => {
            slot.ready = Some(ack);
            true
        }
        None => false,
    }
}

/// Sends every answered acknowledgement at the front of the queue.
fn release(queue: &mut VecDeque<AckSlot>, out: &mut Output) {
    while let Some(bytes) = queue.front().and_then(|slot| slot.ready) {
        out.to_engine.extend_from_slice(&bytes);
        queue.pop_front();
    }
}

/// The state of one client connection at the door.
#[derive(Debug)]
pub struct Door {
    settings: Arc<DoorSettings>,
    phase: Phase,
    version: ProtocolVersion,
    client_id: String,
    assigned_id: Option<String>,
    keep_alive: u16,
    pending_engine_pings: u32,
    sys_filters: Vec<String>,
    /// By packet id, oldest first: a client may (against the specification, as rumqttc does past
    /// its inflight window) reuse an id before its SUBACK; the engine answers in order.
    pending_subacks: HashMap<u16, std::collections::VecDeque<PendingSubAck>>,
    door_qos2: HashSet<u16>,
    /// Engine QoS 2 deliveries the door completes itself (PUBREL from the engine → PUBCOMP).
    engine_qos2_by_door: HashSet<u16>,
    /// Engine QoS 2 deliveries passed to the client as QoS 1: its PUBACK becomes a PUBREC.
    downgraded_2_to_1: HashSet<u16>,
    /// The engine's QoS 1 and 2 deliveries in order, with the PUBACK or PUBREC for each once
    /// known. rumqttd requires acknowledgements in delivery order, but the door answers some
    /// itself (downgrades, drops) at once while the client answers others later: they leave
    /// in order from here.
    first_acks: VecDeque<AckSlot>,
    /// The engine's PUBRELs in order, with the PUBCOMP for each once known.
    completions: VecDeque<AckSlot>,
    subscriptions: BTreeMap<String, u8>,
    options: HashMap<String, SubscriptionOptions>,
    /// A hash of the client id (see [`Door::origin`]).
    origin: u64,
    clean: bool,
    /// MQTT 5 session expiry interval; `None` for 3.1.1.
    session_expiry: Option<u32>,
    /// The largest packet the client accepts (MQTT 5 Maximum Packet Size).
    client_max_packet: usize,
}

impl Door {
    /// A door for a new connection; `serial` names clients that send an empty client id.
    pub fn new(settings: Arc<DoorSettings>, serial: u64) -> Door {
        Door {
            settings,
            phase: Phase::AwaitConnect,
            version: ProtocolVersion::V311,
            client_id: String::new(),
            assigned_id: Some(format!("workbench-{serial}")),
            keep_alive: 0,
            pending_engine_pings: 0,
            sys_filters: Vec::new(),
            pending_subacks: HashMap::new(),
            door_qos2: HashSet::new(),
            engine_qos2_by_door: HashSet::new(),
            downgraded_2_to_1: HashSet::new(),
            first_acks: VecDeque::new(),
            completions: VecDeque::new(),
            subscriptions: BTreeMap::new(),
            options: HashMap::new(),
            origin: 0,
            clean: true,
            session_expiry: None,
            client_max_packet: usize::MAX,
        }
    }

    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn keep_alive(&self) -> u16 {
        self.keep_alive
    }

    pub fn clean_session(&self) -> bool {
        self.clean
    }

    /// How the engine keeps this client's session. rumqttd knows only 3.1.1's clean session
    /// (discard at connect and at disconnect); MQTT 5 separates the two, so:
    /// - expiry 0 (the MQTT 5 default): the session ends at disconnect, so the engine gets a
    ///   clean session;
    /// - clean start with an expiry: the door first ends any old session, then the engine keeps
    ///   the new one, and the door ends it when the expiry interval passes after disconnect.
    fn engine_clean(&self) -> bool {
        match self.session_expiry {
            None => self.clean,
            Some(0) => true,
            Some(_) => false,
        }
    }

    /// True when the door must end an old engine session before connecting (MQTT 5 clean start
    /// with a session expiry interval).
    pub fn needs_session_reset(&self) -> bool {
        matches!(self.session_expiry, Some(e) if e > 0) && self.clean
    }

    /// After a disconnect: how long the engine should keep the session, when the door must end
    /// it later (MQTT 5 with a finite expiry interval). `None`: nothing to do.
    pub fn session_expires_after(&self) -> Option<std::time::Duration> {
        match self.session_expiry {
            Some(0) | Some(u32::MAX) | None => None,
            Some(seconds) => Some(std::time::Duration::from_secs(u64::from(seconds))),
        }
    }

    /// True when the door must ping the engine on the client's behalf (keep-alive 0).
    pub fn pings_engine(&self) -> bool {
        self.phase != Phase::AwaitConnect && self.keep_alive == 0
    }

    /// The client's subscriptions with their granted QoS.
    pub fn subscriptions(&self) -> &BTreeMap<String, u8> {
        &self.subscriptions
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    fn close(&mut self, out: &mut Output, reason: CloseReason, v5_reason: Option<u8>) {
        if let (Some(code), ProtocolVersion::V5, Phase::Open | Phase::AwaitConnAck) =
            (v5_reason, self.version, self.phase)
        {
            let bytes = codec::encode_disconnect_v5(code);
            self.note_own(out, &bytes, Direction::Outbound);
            out.to_client.extend_from_slice(&bytes);
        }
        self.phase = Phase::Closed;
        out.close = Some(reason);
    }

    /// Records an event for a packet the door itself wrote.
    fn note_own(&self, out: &mut Output, bytes: &[u8], direction: Direction) {
        if let Ok(Some(frame)) = wire::frame(bytes, usize::MAX) {
            if let Ok(summary) = wire::summarize(bytes, &frame, self.version) {
                out.events.push((direction, summary));
            }
        }
    }

    fn refuse(&mut self, out: &mut Output, v4_code: u8, v5_code: u8, why: String) {
        let code = match self.version {
            ProtocolVersion::V311 => v4_code,
            ProtocolVersion::V5 => v5_code,
        };
        let bytes = codec::encode_connack(self.version, code);
        self.note_own(out, &bytes, Direction::Outbound);
        out.to_client.extend_from_slice(&bytes);
        self.phase = Phase::Closed;
        out.close = Some(CloseReason::Refused(why));
    }

    /// Consumes every complete packet the client sent. Incomplete bytes stay in `buf`.
    pub fn on_client_bytes(&mut self, buf: &mut BytesMut, out: &mut Output) {
        while self.phase != Phase::Closed {
            let frame = match wire::frame(buf, self.settings.max_packet_size) {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(WireError::TooLarge { size, max }) => {
                    let reason = CloseReason::TooLarge { size, max };
                    self.close(out, reason, Some(reason::PACKET_TOO_LARGE));
                    return;
                }
                Err(WireError::Malformed(why)) => {
                    let reason = CloseReason::Malformed(why.to_string());
                    self.close(out, reason, Some(reason::MALFORMED_PACKET));
                    return;
                }
            };
            let packet = buf.split_to(frame.len());
            if self.phase == Phase::AwaitConnect {
                self.on_connect(&packet, &frame, out);
                if out.open_engine {
                    // The rest waits until the engine link is open.
                    return;
                }
            } else {
                self.on_client_packet(&packet, &frame, out);
            }
        }
    }

    fn on_connect(&mut self, packet: &[u8], frame: &Frame, out: &mut Output) {
        if frame.kind() != Some(PacketKind::Connect) {
            self.phase = Phase::Closed;
            out.close = Some(CloseReason::ProtocolError(
                "the first packet was not CONNECT".to_string(),
            ));
            return;
        }
        let level = match wire::connect_protocol_level(packet, frame) {
            Ok(level) => level,
            Err(error) => {
                self.phase = Phase::Closed;
                out.close = Some(CloseReason::Malformed(error.to_string()));
                return;
            }
        };
        self.version = match level {
            4 => ProtocolVersion::V311,
            5 => ProtocolVersion::V5,
            other => {
                // MQTT 3.1 (level 3) and unknown levels: a 3.1.1-style refusal is what they read.
                self.version = ProtocolVersion::V311;
                return self.refuse(
                    out,
                    return_code::UNACCEPTABLE_PROTOCOL_VERSION,
                    reason::UNSUPPORTED_PROTOCOL_VERSION,
                    format!("protocol level {other} is not supported (3.1.1 and 5 are)"),
                );
            }
        };
        let connect = match ConnectPacket::decode(packet, self.version) {
            Ok(connect) => connect,
            Err(error) => {
                if let Ok(summary) = wire::summarize(packet, frame, self.version) {
                    out.events.push((Direction::Inbound, summary));
                }
                return self.refuse(
                    out,
                    return_code::IDENTIFIER_REJECTED,
                    reason::MALFORMED_PACKET,
                    error.to_string(),
                );
            }
        };
        if let Ok(summary) = wire::summarize(packet, frame, self.version) {
            out.events.push((Direction::Inbound, summary));
        }
        self.clean = connect.clean();
        self.keep_alive = connect.keep_alive();
        self.session_expiry = connect.session_expiry();
        self.client_max_packet = connect
            .client_max_packet()
            .map_or(usize::MAX, |max| max as usize);

        // The app's own short connections (deleting retained messages) log in as the engine.
        let (engine_user, engine_password) = &self.settings.engine_login;
        let internal = connect.login() == Some((engine_user.as_str(), engine_password.as_str()));
        if !self.settings.users.is_empty() && !internal {
            match connect.login() {
                None => {
                    return self.refuse(
                        out,
                        return_code::NOT_AUTHORIZED,
                        reason::NOT_AUTHORIZED,
                        "no username given, and this broker requires one".to_string(),
                    )
                }
                Some((user, password)) => {
                    if self.settings.users.get(user).map(String::as_str) != Some(password) {
                        return self.refuse(
                            out,
                            return_code::BAD_USER_NAME_OR_PASSWORD,
                            reason::BAD_USER_NAME_OR_PASSWORD,
                            format!("wrong username or password for user '{user}'"),
                        );
                    }
                }
            }
        }

        if connect.client_id().is_empty() {
            if self.version == ProtocolVersion::V311 && !self.clean {
                return self.refuse(
                    out,
                    return_code::IDENTIFIER_REJECTED,
                    reason::CLIENT_ID_NOT_VALID,
                    "an empty client id needs a clean session".to_string(),
                );
            }
            self.client_id = self.assigned_id.clone().unwrap_or_default();
        } else {
            self.client_id = connect.client_id().to_string();
            self.assigned_id = None;
        }

        self.origin = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.client_id.hash(&mut hasher);
            hasher.finish()
        };
        let engine_keep_alive = if self.keep_alive == 0 {
            ENGINE_KEEP_ALIVE_FOR_ZERO
        } else {
            self.keep_alive
        };
        let (user, password) = &self.settings.engine_login;
        let clean = self.engine_clean();
        // A will is a publish too: it carries the marker (its QoS, retain flag and origin; the
        // time it is sent is not known yet, so it counts as live and never expires early).
        let origin = self.origin();
        let make_marker = move |qos: u8, retain: bool| {
            Marker {
                qos,
                retain,
                origin,
                ..Marker::default()
            }
            .encode()
        };
        match connect.encode_for_engine(
            &self.client_id,
            engine_keep_alive,
            clean,
            (user, password),
            Some((MARKER_KEY, &make_marker)),
        ) {
            Ok(bytes) => {
                out.to_engine.extend_from_slice(&bytes);
                out.open_engine = true;
                self.phase = Phase::AwaitConnAck;
            }
            Err(error) => self.refuse(
                out,
                return_code::IDENTIFIER_REJECTED,
                reason::MALFORMED_PACKET,
                error.to_string(),
            ),
        }
    }

    fn on_client_packet(&mut self, packet: &[u8], frame: &Frame, out: &mut Output) {
        let summary = match wire::summarize(packet, frame, self.version) {
            Ok(summary) => summary,
            Err(error) => {
                let reason = CloseReason::Malformed(error.to_string());
                return self.close(out, reason, Some(reason::MALFORMED_PACKET));
            }
        };
        let mut summary = summary;
        if summary.kind == PacketKind::Publish {
            // The traffic model keeps the payload; the packet's own buffer is not held on to.
            let start = frame.len() - summary.payload_len;
            summary.payload = Some(bytes::Bytes::copy_from_slice(&packet[start..frame.len()]));
            if self.version == ProtocolVersion::V5 {
                // The publisher's MQTT 5 properties, for the inspector and the packet log (an
                // empty property block decodes to nothing and allocates nothing).
                summary.fields = wire::publish_properties(packet, frame).unwrap_or_default();
            }
        }
        let kind = summary.kind;
        let packet_id = summary.packet_id.unwrap_or(0);
        let qos = summary.qos;
        // What the door needs of a PUBLISH's topic, read before the summary joins the events (the
        // topic is copied only for a retained publish).
        let (topic_error, reserved_topic, retained_change) = match (&summary.topic, kind) {
            (Some(topic_name), PacketKind::Publish) => (
                topic::validate_name(topic_name)
                    .err()
                    .map(|e| format!("PUBLISH to '{topic_name}': {e}")),
                topic_name.starts_with('$'),
                (frame.flags & 0b0001 != 0).then(|| (topic_name.clone(), summary.payload_len > 0)),
            ),
            (None, PacketKind::Publish) => {
                (Some("PUBLISH without a topic".to_string()), false, None)
            }
            _ => (None, false, None),
        };
        out.events.push((Direction::Inbound, summary));
        match kind {
            PacketKind::Connect => {
                let reason = CloseReason::ProtocolError("a second CONNECT".to_string());
                self.close(out, reason, Some(reason::PROTOCOL_ERROR));
            }
            PacketKind::Publish => {
                if let Some(error) = topic_error {
                    let reason = CloseReason::ProtocolError(error);
                    return self.close(out, reason, Some(reason::TOPIC_NAME_INVALID));
                }
                if reserved_topic {
                    // Reserved for the server: acknowledge and drop, as mosquitto does.
                    let ack = match qos {
                        1 => Some(codec::encode_ack(0x40, self.version, packet_id, 0)),
                        2 => {
                            self.door_qos2.insert(packet_id);
                            Some(codec::encode_ack(0x50, self.version, packet_id, 0))
                        }
                        _ => None,
                    };
                    if let Some(ack) = ack {
                        self.note_own(out, &ack, Direction::Outbound);
                        out.to_client.extend_from_slice(&ack);
                    }
                    return;
                }
                if let Err(error) = self.forward_publish(packet, frame, out) {
                    let reason = CloseReason::Malformed(error.to_string());
                    return self.close(out, reason, Some(reason::MALFORMED_PACKET));
                }
                if let Some(change) = retained_change {
                    out.retained_changes.push(change);
                }
            }
            PacketKind::PubAck | PacketKind::PubRec => {
                // The client's answer to a delivery: a QoS 1 PUBACK for an engine QoS 2 message
                // becomes the PUBREC the engine waits for (then the door completes the flow).
                let engine_ack =
                    if kind == PacketKind::PubAck && self.downgraded_2_to_1.remove(&packet_id) {
                        self.engine_qos2_by_door.insert(packet_id);
                        ack(0x50, packet_id)
                    } else {
                        ack(packet[0] & 0xF0, packet_id)
                    };
                if answer(&mut self.first_acks, packet_id, engine_ack) {
                    release(&mut self.first_acks, out);
                } else {
                    out.to_engine.extend_from_slice(packet);
                }
            }
            PacketKind::PubComp => {
                if answer(&mut self.completions, packet_id, ack(0x70, packet_id)) {
                    release(&mut self.completions, out);
                } else {
                    out.to_engine.extend_from_slice(packet);
                }
            }
            PacketKind::PubRel if self.door_qos2.remove(&packet_id) => {
                let comp = codec::encode_ack(0x70, self.version, packet_id, 0);
                self.note_own(out, &comp, Direction::Outbound);
                out.to_client.extend_from_slice(&comp);
            }
            PacketKind::Subscribe => self.on_subscribe(packet, out),
            PacketKind::Unsubscribe => self.on_unsubscribe(packet, frame, out),
            PacketKind::Disconnect => {
                out.to_engine.extend_from_slice(packet);
                self.phase = Phase::Closed;
                out.close = Some(CloseReason::ClientDisconnected);
            }
            PacketKind::Auth => {
                let reason =
                    CloseReason::ProtocolError("enhanced authentication is not supported".into());
                self.close(out, reason, Some(reason::PROTOCOL_ERROR));
            }
            _ => out.to_engine.extend_from_slice(packet),
        }
    }

    fn on_subscribe(&mut self, packet: &[u8], out: &mut Output) {
        let subscribe = match SubscribePacket::decode(packet, self.version) {
            Ok(subscribe) => subscribe,
            Err(error) => {
                let reason = CloseReason::Malformed(format!("SUBSCRIBE: {error}"));
                return self.close(out, reason, Some(reason::MALFORMED_PACKET));
            }
        };
        let filters = subscribe.filters();
        let v5 = self.version == ProtocolVersion::V5;
        let mut slots = Vec::with_capacity(filters.len());
        let mut keep = Vec::with_capacity(filters.len());
        for requested in &filters {
            let filter = requested.filter.as_str();
            if topic::validate_filter(filter).is_err() {
                slots.push(Slot::Door(if v5 {
                    reason::TOPIC_FILTER_INVALID
                } else {
                    0x80
                }));
                keep.push(false);
            } else if filter.starts_with("$share/") {
                let code = if v5 {
                    reason::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
                } else {
                    0x80
                };
                slots.push(Slot::Door(code));
                keep.push(false);
            } else if filter.starts_with('$') {
                // Served by the door at QoS 0: `$SYS` values are published by the door itself.
                if !self.sys_filters.iter().any(|f| f == filter) {
                    self.sys_filters.push(filter.to_string());
                }
                self.subscriptions.insert(filter.to_string(), 0);
                out.subscriptions_changed = true;
                out.sys_requested = true;
                slots.push(Slot::Door(0));
                keep.push(false);
            } else {
                slots.push(Slot::Engine);
                keep.push(true);
            }
        }
        let pkid = subscribe.pkid();
        if keep.iter().any(|k| *k) {
            let subset;
            let bytes = if keep.iter().all(|k| *k) {
                packet
            } else {
                match subscribe.encode_subset(&keep) {
                    Ok(bytes) => {
                        subset = bytes;
                        &subset
                    }
                    Err(error) => {
                        let reason = CloseReason::Malformed(format!("SUBSCRIBE: {error}"));
                        return self.close(out, reason, Some(reason::MALFORMED_PACKET));
                    }
                }
            };
            if let Err(error) = self.forward_as_v5(bytes, out) {
                let reason = CloseReason::Malformed(format!("SUBSCRIBE: {error}"));
                return self.close(out, reason, Some(reason::MALFORMED_PACKET));
            }
        } else {
            let codes: Vec<u8> = slots
                .iter()
                .map(|slot| match slot {
                    Slot::Door(code) => *code,
                    Slot::Engine => 0x80,
                })
                .collect();
            let ack = codec::encode_suback(self.version, pkid, &codes);
            self.note_own(out, &ack, Direction::Outbound);
            out.to_client.extend_from_slice(&ack);
            return;
        }
        self.pending_subacks
            .entry(pkid)
            .or_default()
            .push_back(PendingSubAck {
                slots,
                filters,
                sent_at_ms: now_ms(),
            });
    }

    fn on_unsubscribe(&mut self, packet: &[u8], frame: &Frame, out: &mut Output) {
        let (pkid, filters) = match codec::decode_unsubscribe(packet, self.version) {
            Ok(decoded) => decoded,
            Err(error) => {
                let reason = CloseReason::Malformed(format!("UNSUBSCRIBE: {error}"));
                return self.close(out, reason, Some(reason::MALFORMED_PACKET));
            }
        };
        // The door answers UNSUBSCRIBE itself, one code per filter, and tells the engine only
        // about filters it holds: rumqttd answers once per removed filter and not at all for
        // unknown ones, which a client cannot match to its request.
        let mut codes = Vec::with_capacity(filters.len());
        let mut engine_filters = Vec::new();
        for filter in &filters {
            let existed = self.subscriptions.remove(filter).is_some();
            self.options.remove(filter);
            self.sys_filters.retain(|f| f != filter);
            codes.push(if existed { 0x00 } else { 0x11 });
            if existed && !filter.starts_with('$') {
                engine_filters.push(filter.as_str());
            }
        }
        let _ = (packet, frame);
        out.subscriptions_changed = true;
        if !engine_filters.is_empty() {
            out.to_engine
                .extend_from_slice(&codec::encode_unsubscribe_v5(pkid, &engine_filters));
        }
        let ack = codec::encode_unsuback(self.version, pkid, &codes);
        self.note_own(out, &ack, Direction::Outbound);
        out.to_client.extend_from_slice(&ack);
    }

    /// Forwards a SUBSCRIBE or UNSUBSCRIBE to the engine, adding the MQTT 5 property section a
    /// 3.1.1 client's packet lacks.
    fn forward_as_v5(&self, packet: &[u8], out: &mut Output) -> Result<(), WireError> {
        if self.version == ProtocolVersion::V5 {
            out.to_engine.extend_from_slice(packet);
            return Ok(());
        }
        let frame =
            wire::frame(packet, usize::MAX)?.ok_or(WireError::Malformed("incomplete packet"))?;
        out.to_engine
            .extend_from_slice(&wire::insert_empty_properties(packet, &frame)?);
        Ok(())
    }

    /// Hands a client's PUBLISH to the engine as MQTT 5, tagged with the door's marker.
    fn forward_publish(
        &self,
        packet: &[u8],
        frame: &Frame,
        out: &mut Output,
    ) -> Result<(), WireError> {
        let view = wire::parse_publish(packet, frame, self.version)?;
        let mut properties = Vec::with_capacity(view.properties.len() + 40);
        wire::walk_publish_properties(view.properties, |property, raw| match property {
            wire::PublishProperty::User(MARKER_KEY, _) => {}
            _ => properties.extend_from_slice(raw),
        })?;
        // rumqttd treats any empty publish as "delete the retained message"; only a retained one
        // may do that, so a non-retained empty payload travels as one byte and is restored.
        let empty = view.payload.is_empty() && !view.retain();
        let marker = Marker {
            qos: view.qos(),
            empty,
            retain: view.retain(),
            sent_at_ms: now_ms(),
            origin: self.origin(),
        };
        wire::push_user_property(&mut properties, MARKER_KEY, &marker.encode());
        let payload: &[u8] = if empty { b"\0" } else { view.payload };
        wire::encode_publish(
            &mut out.to_engine,
            view.flags,
            view.topic,
            view.packet_id,
            Some(&properties),
            payload,
        );
        Ok(())
    }

    /// Consumes every complete packet the engine sent to this client (always MQTT 5).
    pub fn on_engine_bytes(&mut self, buf: &mut BytesMut, out: &mut Output) {
        loop {
            // The engine is ours, but its packets are still framed defensively.
            let frame = match wire::frame(buf, usize::MAX) {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(error) => {
                    self.phase = Phase::Closed;
                    out.close = Some(CloseReason::Malformed(format!("from the engine: {error}")));
                    return;
                }
            };
            let packet = buf.split_to(frame.len());
            if let Err(error) = self.on_engine_packet(&packet, &frame, out) {
                self.phase = Phase::Closed;
                out.close = Some(CloseReason::Malformed(format!("from the engine: {error}")));
                return;
            }
            if out.close.is_some() {
                return;
            }
        }
    }

    /// Sends a packet to the client as it is (MQTT 5 clients) and records it.
    fn pass_to_client(&self, packet: &[u8], out: &mut Output) {
        self.note_own(out, packet, Direction::Outbound);
        out.to_client.extend_from_slice(packet);
    }

    fn on_engine_packet(
        &mut self,
        packet: &[u8],
        frame: &Frame,
        out: &mut Output,
    ) -> Result<(), WireError> {
        let v311 = self.version == ProtocolVersion::V311;
        let kind = frame.kind().ok_or(WireError::Malformed("packet type 0"))?;
        let body = &packet[frame.header_len..];
        let packet_id = || -> Result<u16, WireError> {
            match body {
                [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
                _ => Err(WireError::Malformed("packet id missing")),
            }
        };
        match kind {
            PacketKind::ConnAck if self.phase == Phase::AwaitConnAck => {
                let code = body.get(1).copied().unwrap_or(0x80);
                let bytes = match self.version {
                    ProtocolVersion::V311 => codec::connack_v5_to_v4(packet),
                    ProtocolVersion::V5 if code == 0 => {
                        codec::connack_for_v5_client(packet, self.assigned_id.as_deref())?
                    }
                    ProtocolVersion::V5 => packet.to_vec(),
                };
                self.pass_to_client(&bytes, out);
                if code == 0 {
                    self.phase = Phase::Open;
                    out.connected = true;
                } else {
                    self.phase = Phase::Closed;
                    out.close = Some(CloseReason::EngineRefused(code));
                }
            }
            PacketKind::PingResp if self.pending_engine_pings > 0 => {
                self.pending_engine_pings -= 1;
            }
            PacketKind::Publish => self.deliver_publish(packet, frame, out)?,
            PacketKind::PubRel => {
                let id = packet_id()?;
                if self.engine_qos2_by_door.remove(&id) {
                    // The door completes a flow the client saw as QoS 0 or 1.
                    self.completions.push_back(AckSlot {
                        packet_id: id,
                        ready: Some(ack(0x70, id)),
                    });
                    release(&mut self.completions, out);
                } else {
                    self.completions.push_back(AckSlot {
                        packet_id: id,
                        ready: None,
                    });
                    if v311 {
                        self.pass_to_client(&ack(0x62, id), out);
                    } else {
                        self.pass_to_client(packet, out);
                    }
                }
            }
            PacketKind::PubAck | PacketKind::PubRec | PacketKind::PubComp if v311 => {
                self.pass_to_client(&ack(packet[0], packet_id()?), out);
            }
            PacketKind::SubAck => {
                let (pkid, codes) = codec::suback_codes(body, ProtocolVersion::V5)
                    .ok_or(WireError::Malformed("SUBACK"))?;
                let pending = match self.pending_subacks.get_mut(&pkid) {
                    Some(queue) => {
                        let first = queue.pop_front();
                        if queue.is_empty() {
                            self.pending_subacks.remove(&pkid);
                        }
                        first
                    }
                    None => None,
                };
                match pending {
                    Some(pending) => self.merge_suback(pkid, codes, pending, out),
                    None if v311 => {
                        let codes: Vec<u8> = codes
                            .iter()
                            .map(|c| if *c < 0x80 { *c } else { 0x80 })
                            .collect();
                        self.pass_to_client(&codec::encode_suback(self.version, pkid, &codes), out);
                    }
                    None => self.pass_to_client(packet, out),
                }
            }
            // The door already answered the client's UNSUBSCRIBE.
            PacketKind::UnsubAck => {}
            PacketKind::Disconnect => {
                // A 3.1.1 client cannot receive DISCONNECT; it just sees the connection close.
                if !v311 {
                    self.pass_to_client(packet, out);
                }
                self.phase = Phase::Closed;
                out.close = Some(CloseReason::ProtocolError(
                    "the routing engine ended the session".to_string(),
                ));
            }
            _ => self.pass_to_client(packet, out),
        }
        Ok(())
    }

    /// Delivers a PUBLISH from the engine: removes the door's marker, applies the QoS the
    /// specification asks for (the minimum of publish and subscription QoS), restores an empty
    /// payload, applies message expiry, and acknowledges the engine where the client will not.
    fn deliver_publish(
        &mut self,
        packet: &[u8],
        frame: &Frame,
        out: &mut Output,
    ) -> Result<(), WireError> {
        let view = wire::parse_publish(packet, frame, ProtocolVersion::V5)?;
        let mut properties = Vec::with_capacity(view.properties.len());
        let mut marker = None;
        let mut expiry = None;
        wire::walk_publish_properties(view.properties, |property, raw| match property {
            wire::PublishProperty::User(MARKER_KEY, value) => marker = Marker::decode(value),
            wire::PublishProperty::MessageExpiry(seconds) => expiry = Some(seconds),
            // Subscription identifiers are the door's to set, from this client's subscriptions.
            _ if raw.first() == Some(&0x0B) => {}
            _ => properties.extend_from_slice(raw),
        })?;
        let engine_qos = view.qos();
        let engine_retain = view.retain();
        let topic_text = String::from_utf8_lossy(view.topic);
        let now = now_ms();

        // The client's subscriptions this message matches, and what their options ask for.
        let matching: Vec<&SubscriptionOptions> = self
            .options
            .iter()
            .filter(|(filter, _)| topic::matches(filter, &topic_text))
            .map(|(_, options)| options)
            .collect();
        // A retained message from the store predates the subscription; a will (time 0) counts
        // as live.
        let from_store = engine_retain
            && match &marker {
                Some(m) => m.sent_at_ms != 0 && matching.iter().all(|o| m.sent_at_ms <= o.since_ms),
                None => true,
            };
        let mut drop = false;
        if let Some(m) = &marker {
            if !matching.is_empty()
                && m.origin == self.origin()
                && matching.iter().all(|o| o.no_local)
            {
                drop = true; // no-local: the client's own message
            }
        }
        if from_store
            && !matching.is_empty()
            && matching
                .iter()
                .all(|o| o.retain_handling == 2 || (o.retain_handling == 1 && o.existed))
        {
            drop = true; // retain handling: no retained messages for this subscription
        }
        let retain = if from_store {
            true
        } else {
            marker.is_some_and(|m| m.retain) && matching.iter().any(|o| o.retain_as_published)
        };
        let marker = marker.unwrap_or(Marker {
            qos: engine_qos,
            ..Marker::default()
        });
        let target_qos = marker.qos.min(engine_qos);

        if let Some(seconds) = expiry {
            let elapsed = if marker.sent_at_ms > 0 {
                now.saturating_sub(marker.sent_at_ms) / 1000
            } else {
                0
            };
            match u64::from(seconds).checked_sub(elapsed).filter(|r| *r > 0) {
                Some(left) => {
                    properties.push(0x02);
                    properties.extend_from_slice(&(left as u32).to_be_bytes());
                }
                None => drop = true, // expired
            }
        }
        let mut identifiers: Vec<usize> = matching.iter().filter_map(|o| o.identifier).collect();
        identifiers.sort_unstable();
        identifiers.dedup();
        for id in identifiers {
            properties.push(0x0B);
            let mut varint = Vec::new();
            wire::encode_varint(id, &mut varint);
            properties.extend_from_slice(&varint);
        }

        let engine_id = view.packet_id.unwrap_or(0);
        let client_qos = if drop { 0 } else { target_qos };
        if engine_qos > 0 {
            self.first_acks.push_back(AckSlot {
                packet_id: engine_id,
                ready: None,
            });
        }
        if client_qos == 0 && engine_qos > 0 {
            self.door_acknowledges(engine_qos, engine_id, out);
        } else if (engine_qos, client_qos) == (2, 1) {
            self.downgraded_2_to_1.insert(engine_id);
        }
        if drop {
            return Ok(());
        }

        let payload: &[u8] = if marker.empty { &[] } else { view.payload };
        let mut flags = (view.flags & 0b1000) | (client_qos << 1) | u8::from(retain);
        if client_qos == 0 {
            flags &= !0b1000; // DUP is only meaningful with a packet id
        }
        let packet_id = (client_qos > 0).then_some(engine_id);
        let before = out.to_client.len();
        let client_properties =
            (self.version == ProtocolVersion::V5).then_some(properties.as_slice());
        wire::encode_publish(
            &mut out.to_client,
            flags,
            view.topic,
            packet_id,
            client_properties,
            payload,
        );
        if out.to_client.len() - before > self.client_max_packet {
            // Larger than the client said it accepts: MQTT 5 says discard it, as if delivered.
            out.to_client.truncate(before);
            self.downgraded_2_to_1.remove(&engine_id);
            if engine_qos > 0 {
                self.door_acknowledges(engine_qos, engine_id, out);
            }
            return Ok(());
        }
        out.events.push((
            Direction::Outbound,
            PacketSummary {
                kind: PacketKind::Publish,
                packet_id,
                qos: client_qos,
                retain: flags & 1 != 0,
                dup: flags & 0b1000 != 0,
                topic: Some(topic_text.into_owned()),
                payload_len: payload.len(),
                size: out.to_client.len() - before,
                reason: None,
                payload: None,
                fields: Vec::new(),
            },
        ));
        Ok(())
    }

    fn merge_suback(
        &mut self,
        pkid: u16,
        engine_codes: Vec<u8>,
        pending: PendingSubAck,
        out: &mut Output,
    ) {
        let v311 = self.version == ProtocolVersion::V311;
        let mut engine_codes = engine_codes.into_iter();
        let mut codes = Vec::with_capacity(pending.slots.len());
        for (slot, requested) in pending.slots.iter().zip(&pending.filters) {
            let code = match slot {
                Slot::Door(code) => *code,
                Slot::Engine => {
                    let code = engine_codes.next().unwrap_or(0x80);
                    if code < 0x80 {
                        // Granted: never more than was asked for.
                        let granted = code.min(requested.qos);
                        let existed = self
                            .subscriptions
                            .insert(requested.filter.clone(), granted)
                            .is_some();
                        self.options.insert(
                            requested.filter.clone(),
                            SubscriptionOptions {
                                no_local: requested.no_local,
                                retain_as_published: requested.retain_as_published,
                                retain_handling: requested.retain_handling,
                                identifier: requested.identifier,
                                since_ms: pending.sent_at_ms,
                                existed,
                            },
                        );
                        out.subscriptions_changed = true;
                        granted
                    } else if v311 {
                        0x80
                    } else {
                        code
                    }
                }
            };
            codes.push(code);
        }
        let ack = codec::encode_suback(self.version, pkid, &codes);
        self.pass_to_client(&ack, out);
    }

    /// Who published, for no-local: a hash of the client id (MQTT compares client ids, and the
    /// engine keeps messages across door restarts, so a connection counter would not do).
    /// Computed once, when the client id is known.
    fn origin(&self) -> u64 {
        self.origin
    }

    /// Answers an engine delivery the client will not answer (it got it at QoS 0, or not at
    /// all): PUBACK for QoS 1; PUBREC for QoS 2, the door completing the flow at the PUBREL.
    fn door_acknowledges(&mut self, engine_qos: u8, engine_id: u16, out: &mut Output) {
        let first = if engine_qos == 2 {
            self.engine_qos2_by_door.insert(engine_id);
            ack(0x50, engine_id)
        } else {
            ack(0x40, engine_id)
        };
        // This delivery's slot is the newest with its id; answer that one.
        if let Some(slot) = self
            .first_acks
            .iter_mut()
            .rev()
            .find(|s| s.packet_id == engine_id && s.ready.is_none())
        {
            slot.ready = Some(first);
        }
        release(&mut self.first_acks, out);
    }

    /// A PINGREQ for the engine, sent by the door for a client with keep-alive 0.
    pub fn engine_ping(&mut self) -> &'static [u8] {
        self.pending_engine_pings += 1;
        &codec::PINGREQ
    }

    /// `$SYS` values for this client's `$` subscriptions, as QoS 0 publishes. `initial` marks the
    /// values sent right after subscribing (flagged retained, as a broker sends retained values).
    pub fn sys_publishes(&self, values: &[(String, String)], initial: bool, out: &mut Output) {
        if self.phase != Phase::Open || self.sys_filters.is_empty() {
            return;
        }
        for (name, value) in values {
            if self.sys_filters.iter().any(|f| topic::matches(f, name)) {
                let bytes =
                    wire::encode_qos0_publish(name, value.as_bytes(), initial, self.version);
                self.note_own(out, &bytes, Direction::Outbound);
                out.to_client.extend_from_slice(&bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(users: &[(&str, &str)]) -> Arc<DoorSettings> {
        Arc::new(DoorSettings {
            max_packet_size: 1 << 20,
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            engine_login: ("engine".into(), "engine-secret".into()),
        })
    }

    fn string(text: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&(text.len() as u16).to_be_bytes());
        out.extend_from_slice(text);
    }

    fn connect_v4(client_id: &str, keep_alive: u16, login: Option<(&str, &str)>) -> BytesMut {
        let mut body = Vec::new();
        string(b"MQTT", &mut body);
        body.push(4);
        body.push(0b10 | if login.is_some() { 0b1100_0000 } else { 0 });
        body.extend_from_slice(&keep_alive.to_be_bytes());
        string(client_id.as_bytes(), &mut body);
        if let Some((u, p)) = login {
            string(u.as_bytes(), &mut body);
            string(p.as_bytes(), &mut body);
        }
        let mut out = vec![0x10];
        wire::encode_varint(body.len(), &mut out);
        out.extend(body);
        BytesMut::from(&out[..])
    }

    /// A door past its CONNECT and CONNACK, for a 3.1.1 client.
    fn open_door() -> Door {
        let mut door = Door::new(settings(&[]), 1);
        let mut out = Output::default();
        door.on_client_bytes(&mut connect_v4("c", 30, None), &mut out);
        assert!(out.open_engine);
        let mut connack = BytesMut::from(&[0x20, 0x03, 0x00, 0x00, 0x00][..]);
        out.clear();
        door.on_engine_bytes(&mut connack, &mut out);
        assert!(out.connected);
        assert_eq!(
            out.to_client,
            vec![0x20, 0x02, 0x00, 0x00],
            "v5 CONNACK translated"
        );
        door
    }

    #[test]
    fn a_v5_publishers_properties_reach_the_traffic_model() {
        let mut door = Door::new(settings(&[]), 1);
        let mut out = Output::default();
        let mut body = Vec::new();
        string(b"MQTT", &mut body);
        body.extend_from_slice(&[5, 0b10, 0, 30, 0]); // level 5, clean start, keep-alive, no props
        string(b"v5-client", &mut body);
        let mut connect = vec![0x10];
        wire::encode_varint(body.len(), &mut connect);
        connect.extend(body);
        door.on_client_bytes(&mut BytesMut::from(&connect[..]), &mut out);
        assert!(out.open_engine);
        out.clear();
        door.on_engine_bytes(
            &mut BytesMut::from(&[0x20, 0x03, 0x00, 0x00, 0x00][..]),
            &mut out,
        );
        assert!(out.connected);
        // PUBLISH QoS 0 "t" with a content type property and a payload.
        let mut body = Vec::new();
        string(b"t", &mut body);
        let mut props = vec![0x03];
        string(b"application/json", &mut props);
        wire::encode_varint(props.len(), &mut body);
        body.extend(props);
        body.extend_from_slice(b"{}");
        let mut publish = vec![0x30];
        wire::encode_varint(body.len(), &mut publish);
        publish.extend(body);
        out.clear();
        door.on_client_bytes(&mut BytesMut::from(&publish[..]), &mut out);
        let (_, summary) = out
            .events
            .iter()
            .find(|(_, s)| s.kind == PacketKind::Publish)
            .expect("the PUBLISH is reported");
        assert_eq!(
            summary.fields,
            vec![("Content Type", "application/json".to_string())]
        );
        assert_eq!(summary.payload.as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn connect_is_rewritten_for_the_engine() {
        let mut door = Door::new(settings(&[("alice", "pw")]), 7);
        let mut out = Output::default();
        door.on_client_bytes(&mut connect_v4("dev", 0, Some(("alice", "pw"))), &mut out);
        assert!(out.open_engine && out.close.is_none());
        assert!(
            door.pings_engine(),
            "keep-alive 0 makes the door ping the engine"
        );
        let engine_connect = ConnectPacket::decode(&out.to_engine, ProtocolVersion::V5)
            .expect("the engine gets an MQTT 5 CONNECT");
        assert_eq!(engine_connect.client_id(), "dev");
        assert_eq!(engine_connect.keep_alive(), ENGINE_KEEP_ALIVE_FOR_ZERO);
        assert_eq!(engine_connect.login(), Some(("engine", "engine-secret")));
    }

    #[test]
    fn refusals_carry_the_right_codes() {
        let mut door = Door::new(settings(&[("alice", "pw")]), 1);
        let mut out = Output::default();
        door.on_client_bytes(&mut connect_v4("dev", 30, Some(("alice", "no"))), &mut out);
        assert_eq!(out.to_client, vec![0x20, 0x02, 0x00, 0x04]);
        assert!(matches!(out.close, Some(CloseReason::Refused(_))));
        assert!(out.to_engine.is_empty(), "nothing reaches the engine");
    }

    #[test]
    fn delivery_uses_the_minimum_qos_and_acks_the_engine() {
        let mut door = open_door();
        // The engine delivers at QoS 1 (the subscription's) a message published at QoS 0.
        let marker = Marker {
            qos: 0,
            sent_at_ms: now_ms(),
            origin: 99,
            ..Marker::default()
        };
        let mut properties = Vec::new();
        wire::push_user_property(&mut properties, MARKER_KEY, &marker.encode());
        let mut packet = Vec::new();
        wire::encode_publish(&mut packet, 0b0010, b"t", Some(5), Some(&properties), b"hi");
        let mut out = Output::default();
        door.on_engine_bytes(&mut BytesMut::from(&packet[..]), &mut out);
        assert_eq!(
            out.to_client,
            vec![0x30, 0x05, 0x00, 0x01, b't', b'h', b'i']
        );
        assert_eq!(
            out.to_engine,
            vec![0x40, 0x02, 0x00, 0x05],
            "the door acks the engine"
        );
    }

    /// An engine delivery to the door: QoS `engine_qos`, marker QoS `published_qos`.
    fn delivery(engine_qos: u8, published_qos: u8, id: u16) -> BytesMut {
        let marker = Marker {
            qos: published_qos,
            sent_at_ms: now_ms(),
            origin: 7,
            ..Marker::default()
        };
        let mut properties = Vec::new();
        wire::push_user_property(&mut properties, MARKER_KEY, &marker.encode());
        let mut packet = Vec::new();
        wire::encode_publish(
            &mut packet,
            engine_qos << 1,
            b"t",
            Some(id),
            Some(&properties),
            b"x",
        );
        BytesMut::from(&packet[..])
    }

    #[test]
    fn the_doors_acks_wait_for_earlier_client_acks() {
        let mut door = open_door();
        let mut out = Output::default();
        // id 1 goes to the client at QoS 1; id 2 is downgraded to QoS 0 and acked by the door.
        door.on_engine_bytes(&mut delivery(1, 1, 1), &mut out);
        door.on_engine_bytes(&mut delivery(1, 0, 2), &mut out);
        assert!(
            out.to_engine.is_empty(),
            "the door's ack for 2 must wait for the client's for 1"
        );
        let mut out = Output::default();
        door.on_client_bytes(&mut BytesMut::from(&[0x40, 0x02, 0x00, 0x01][..]), &mut out);
        assert_eq!(
            out.to_engine,
            vec![0x40, 2, 0, 1, 0x40, 2, 0, 2],
            "acks in delivery order"
        );
    }

    #[test]
    fn a_qos2_delivery_downgraded_to_qos1_completes_at_the_door() {
        let mut door = open_door();
        let mut out = Output::default();
        door.on_engine_bytes(&mut delivery(2, 1, 3), &mut out);
        assert_eq!(out.to_client[0] & 0b0110, 0b0010, "the client gets QoS 1");
        let mut out = Output::default();
        door.on_client_bytes(&mut BytesMut::from(&[0x40, 0x02, 0x00, 0x03][..]), &mut out);
        assert_eq!(
            out.to_engine,
            vec![0x50, 2, 0, 3],
            "the client's PUBACK becomes a PUBREC"
        );
        let mut out = Output::default();
        door.on_engine_bytes(&mut BytesMut::from(&[0x62, 0x02, 0x00, 0x03][..]), &mut out);
        assert!(
            out.to_client.is_empty(),
            "the PUBREL is not the client's business"
        );
        assert_eq!(
            out.to_engine,
            vec![0x70, 2, 0, 3],
            "the door completes with PUBCOMP"
        );
    }

    #[test]
    fn markers_round_trip() {
        let marker = Marker {
            qos: 2,
            empty: true,
            retain: true,
            sent_at_ms: 1_700_000_000_123,
            origin: 42,
        };
        assert_eq!(Marker::decode(&marker.encode()), Some(marker));
        assert_eq!(Marker::decode("q1@nonsense#1"), None);
        assert_eq!(Marker::decode(""), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_door() {
        let mut seed = 0x853C_49E6_748F_EA9Bu64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..3000 {
            let mut door = if round % 2 == 0 {
                Door::new(settings(&[]), 1)
            } else {
                open_door()
            };
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut out = Output::default();
            door.on_client_bytes(&mut BytesMut::from(&bytes[..]), &mut out);
            let mut out = Output::default();
            door.on_engine_bytes(&mut BytesMut::from(&bytes[..]), &mut out);
        }
    }
}
