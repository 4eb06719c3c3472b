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

use super::codec::{self, ConnectPacket, RequestedFilter, SubscribePacket};
use super::wire::{self, Frame, WireError};
use crate::topic;
use crate::traffic::{Direction, PacketKind, PacketSummary, ProtocolVersion};
use bytes::BytesMut;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

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
    pending_subacks: HashMap<u16, PendingSubAck>,
    door_qos2: HashSet<u16>,
    subscriptions: BTreeMap<String, u8>,
    clean: bool,
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
            subscriptions: BTreeMap::new(),
            clean: true,
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

        if !self.settings.users.is_empty() {
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

        let engine_keep_alive = if self.keep_alive == 0 {
            ENGINE_KEEP_ALIVE_FOR_ZERO
        } else {
            self.keep_alive
        };
        let (user, password) = &self.settings.engine_login;
        match connect.encode_for_engine(&self.client_id, engine_keep_alive, (user, password)) {
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
        let kind = summary.kind;
        let packet_id = summary.packet_id.unwrap_or(0);
        let qos = summary.qos;
        let topic_name = summary.topic.clone();
        out.events.push((Direction::Inbound, summary));
        match kind {
            PacketKind::Connect => {
                let reason = CloseReason::ProtocolError("a second CONNECT".to_string());
                self.close(out, reason, Some(reason::PROTOCOL_ERROR));
            }
            PacketKind::Publish => {
                let topic_name = topic_name.unwrap_or_default();
                if let Err(error) = topic::validate_name(&topic_name) {
                    let reason =
                        CloseReason::ProtocolError(format!("PUBLISH to '{topic_name}': {error}"));
                    return self.close(out, reason, Some(reason::TOPIC_NAME_INVALID));
                }
                if topic_name.starts_with('$') {
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
                if frame.flags & 0b0001 != 0 {
                    let payload_empty = out
                        .events
                        .last()
                        .map(|(_, s)| s.payload_len == 0)
                        .unwrap_or(false);
                    out.retained_changes.push((topic_name, !payload_empty));
                }
                out.to_engine.extend_from_slice(packet);
            }
            PacketKind::PubRel if self.door_qos2.remove(&packet_id) => {
                let comp = codec::encode_ack(0x70, self.version, packet_id, 0);
                self.note_own(out, &comp, Direction::Outbound);
                out.to_client.extend_from_slice(&comp);
            }
            PacketKind::Subscribe => self.on_subscribe(packet, out),
            PacketKind::Unsubscribe => self.on_unsubscribe(packet, out),
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
        if keep.iter().all(|k| *k) {
            out.to_engine.extend_from_slice(packet);
        } else if keep.iter().any(|k| *k) {
            match subscribe.encode_subset(&keep) {
                Ok(bytes) => out.to_engine.extend_from_slice(&bytes),
                Err(error) => {
                    let reason = CloseReason::Malformed(format!("SUBSCRIBE: {error}"));
                    return self.close(out, reason, Some(reason::MALFORMED_PACKET));
                }
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
            .insert(pkid, PendingSubAck { slots, filters });
    }

    fn on_unsubscribe(&mut self, packet: &[u8], out: &mut Output) {
        let (pkid, filters) = match codec::decode_unsubscribe(packet, self.version) {
            Ok(decoded) => decoded,
            Err(error) => {
                let reason = CloseReason::Malformed(format!("UNSUBSCRIBE: {error}"));
                return self.close(out, reason, Some(reason::MALFORMED_PACKET));
            }
        };
        for filter in &filters {
            self.subscriptions.remove(filter);
            self.sys_filters.retain(|f| f != filter);
        }
        out.subscriptions_changed = true;
        if filters.iter().all(|f| f.starts_with('$')) {
            let ack = codec::encode_unsuback(self.version, pkid, filters.len());
            self.note_own(out, &ack, Direction::Outbound);
            out.to_client.extend_from_slice(&ack);
        } else {
            out.to_engine.extend_from_slice(packet);
        }
    }

    /// Consumes every complete packet the engine sent to this client.
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
            let Ok(summary) = wire::summarize(&packet, &frame, self.version) else {
                out.to_client.extend_from_slice(&packet);
                continue;
            };
            match summary.kind {
                PacketKind::ConnAck if self.phase == Phase::AwaitConnAck => {
                    let code = summary.reason.unwrap_or(0);
                    let rewritten = match (&self.assigned_id, self.version) {
                        (Some(id), ProtocolVersion::V5) if code == 0 => {
                            codec::connack_with_assigned_id(&packet, id).ok()
                        }
                        _ => None,
                    };
                    let bytes = rewritten.as_deref().unwrap_or(&packet);
                    self.note_own(out, bytes, Direction::Outbound);
                    out.to_client.extend_from_slice(bytes);
                    if code == 0 {
                        if self.phase == Phase::AwaitConnAck {
                            self.phase = Phase::Open;
                        }
                        out.connected = true;
                    } else {
                        self.phase = Phase::Closed;
                        out.close = Some(CloseReason::EngineRefused(code));
                        return;
                    }
                }
                PacketKind::PingResp if self.pending_engine_pings > 0 => {
                    self.pending_engine_pings -= 1;
                }
                PacketKind::SubAck => {
                    let pkid = summary.packet_id.unwrap_or(0);
                    match self.pending_subacks.remove(&pkid) {
                        Some(pending) => self.merge_suback(&packet, &frame, pending, out),
                        None => {
                            out.events.push((Direction::Outbound, summary));
                            out.to_client.extend_from_slice(&packet);
                        }
                    }
                }
                _ => {
                    out.events.push((Direction::Outbound, summary));
                    out.to_client.extend_from_slice(&packet);
                }
            }
        }
    }

    fn merge_suback(
        &mut self,
        packet: &[u8],
        frame: &Frame,
        pending: PendingSubAck,
        out: &mut Output,
    ) {
        let body = &packet[frame.header_len..frame.len()];
        let Some((pkid, engine_codes)) = codec::suback_codes(body, self.version) else {
            out.to_client.extend_from_slice(packet);
            return;
        };
        let mut engine_codes = engine_codes.into_iter();
        let mut codes = Vec::with_capacity(pending.slots.len());
        let mut door_answered = false;
        for (slot, requested) in pending.slots.iter().zip(&pending.filters) {
            let code = match slot {
                Slot::Door(code) => {
                    door_answered = true;
                    *code
                }
                Slot::Engine => {
                    let code = engine_codes.next().unwrap_or(0x80);
                    if code < 0x80 {
                        // Granted: never more than was asked for.
                        let granted = code.min(requested.qos);
                        self.subscriptions.insert(requested.filter.clone(), granted);
                        out.subscriptions_changed = true;
                    }
                    code
                }
            };
            codes.push(code);
        }
        if door_answered {
            let ack = codec::encode_suback(self.version, pkid, &codes);
            self.note_own(out, &ack, Direction::Outbound);
            out.to_client.extend_from_slice(&ack);
        } else {
            self.note_own(out, packet, Direction::Outbound);
            out.to_client.extend_from_slice(packet);
        }
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
