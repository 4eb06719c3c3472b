//! Fault injection at the front door: the gate a connection puts between its socket and its
//! door while rules are armed for its client (drop, hold, duplicate packets in each direction),
//! and the door's own faulty answers (a refused CONNECT, a DISCONNECT with a chosen code).
//!
//! A connection without rules has no gate: it asks the book one atomic question per step and
//! goes on (see [`crate::connection`]). The gate only ever touches its own connection's bytes,
//! so a fault never slows or changes another client. Every injected fault leaves its
//! [`Mark`] on the packet event of the packet it hit (the packet field `fault`).

use super::{CloseReason, ConnectStep, Door, Output, Phase};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use wire::codec::{reason, Disconnect};
use wire::{Direction, PacketKind, PacketSummary};
use workbench_faults::{self as engine, Decision, Faults, Mark, Toward};

/// The most bytes a gate holds in each direction; beyond it the connection stops reading (or
/// pulling deliveries) until held packets go, as with a slow peer.
pub const MAX_HELD_BYTES: usize = 8 * 1024 * 1024;

impl Door {
    /// Refuses the CONNECT just read with `code` because a fault rule says so (a 3.1.1 client
    /// gets the nearest return code). The CONNACK's event carries the mark.
    pub fn refuse_by_fault(&mut self, code: u8, out: &mut Output) -> ConnectStep {
        let from = out.events.len();
        let why = format!("refused by a fault rule with {code:#04x}");
        let step = self.refuse(out, code, why, Duration::ZERO);
        mark_last(out, from, Direction::Outbound, Mark::Refused { code });
        step
    }

    /// Reads the whole packets the gate passed (`staged`), while the client's unfinished packet
    /// waits in the socket's buffer (`unfinished`: its length): its deadline runs as without a
    /// gate, so a client with rules cannot hold a packet open for ever either.
    pub fn on_gated_bytes(
        &mut self,
        staged: &mut BytesMut,
        unfinished: usize,
        now: Instant,
        out: &mut Output,
    ) {
        let since = self.partial_since;
        self.on_bytes(staged, now, out);
        if unfinished > 0 && staged.is_empty() {
            self.partial_since = Some(since.unwrap_or(now));
        }
    }

    /// Sends a DISCONNECT with `code` (MQTT 5 only; 3.1.1 has no server DISCONNECT, the
    /// connection is just closed) because a fault rule says so, and closes.
    pub fn disconnect_by_fault(&mut self, code: u8, out: &mut Output) {
        if self.phase != Phase::Open {
            return;
        }
        if self.level.is_v5() {
            let from = out.events.len();
            let mut bytes = Vec::new();
            Disconnect::new(code).encode(self.level, &mut bytes);
            self.emit(out, &bytes, Direction::Outbound);
            mark_last(out, from, Direction::Outbound, Mark::Disconnected { code });
        }
        self.phase = Phase::Closed;
        out.close = Some(CloseReason::ServerClosed(format!(
            "a fault rule sent DISCONNECT {code:#04x} ({})",
            reason::name(code)
        )));
    }
}

/// Puts `mark` on the last event of `direction` pushed since `from`.
fn mark_last(out: &mut Output, from: usize, direction: Direction, mark: Mark) {
    let from = from.min(out.events.len());
    if let Some((_, summary)) = out.events[from..]
        .iter_mut()
        .rev()
        .find(|(d, _)| *d == direction)
    {
        add_mark(summary, mark);
    }
}

/// Adds the mark as the packet's first field (the log keeps the first fields of a packet).
fn add_mark(summary: &mut PacketSummary, mark: Mark) {
    summary.fields.insert(0, mark.field());
}

/// The kind of a whole packet, from its first byte.
fn kind_of(packet: &[u8]) -> Option<PacketKind> {
    PacketKind::from_type(packet.first()? >> 4)
}

/// A packet the gate holds.
struct Held {
    until: Instant,
    bytes: Bytes,
    kind: Option<PacketKind>,
    mark: Option<Mark>,
}

/// One connection's faults between its socket and its door.
pub struct FaultGate {
    pub faults: Faults,
    /// Packets for the client, held until their moment.
    to_client: VecDeque<Held>,
    to_client_bytes: usize,
    /// Whole packets from the client, held until their moment.
    to_broker: VecDeque<Held>,
    to_broker_bytes: usize,
    /// Packets from the client the door may read now, with the mark of each, in order.
    pub staged: BytesMut,
    staged_marks: VecDeque<(Option<PacketKind>, Option<Mark>)>,
}

impl FaultGate {
    pub fn new(faults: Faults) -> FaultGate {
        FaultGate {
            faults,
            to_client: VecDeque::new(),
            to_client_bytes: 0,
            to_broker: VecDeque::new(),
            to_broker_bytes: 0,
            staged: BytesMut::new(),
            staged_marks: VecDeque::new(),
        }
    }

    /// Nothing armed and nothing held: the connection may drop the gate.
    pub fn idle(&self) -> bool {
        self.to_client.is_empty()
            && self.to_broker.is_empty()
            && self.staged.is_empty()
            && !self.faults.armed()
    }

    /// Room to hold more packets for the client (else stop pulling deliveries).
    pub fn has_room_to_client(&self) -> bool {
        self.to_client_bytes < MAX_HELD_BYTES
    }

    /// Room to hold more packets from the client (else stop reading).
    pub fn has_room_to_broker(&self) -> bool {
        self.to_broker_bytes < MAX_HELD_BYTES
    }

    /// When the next held packet is due.
    pub fn next_release(&self) -> Option<Instant> {
        let a = self.to_client.front().map(|h| h.until);
        let b = self.to_broker.front().map(|h| h.until);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves every whole packet of `buf` (from the client) through the rules: dropped ones
    /// are logged with their mark and lost, the rest held or staged for the door.
    pub fn from_client(&mut self, buf: &mut BytesMut, door: &Door, now: Instant, out: &mut Output) {
        if !self.faults.armed() && (!self.to_client.is_empty() || !self.to_broker.is_empty()) {
            // The rules were cleared: what is held goes now.
            self.faults.release_holds();
            for held in self.to_client.iter_mut().chain(self.to_broker.iter_mut()) {
                held.until = now;
            }
        }
        let max = door.limits().max_packet_size;
        loop {
            let frame = match wire::frame(buf, max) {
                Ok(Some(frame)) if buf.len() >= frame.len() => frame,
                Ok(_) => break,
                Err(_) => {
                    // Not a packet the door would take: it sees the bytes and says why.
                    let rest = buf.split().freeze();
                    self.to_broker_bytes += rest.len();
                    self.to_broker.push_back(Held {
                        until: now,
                        bytes: rest,
                        kind: None,
                        mark: None,
                    });
                    break;
                }
            };
            let packet = buf.split_to(frame.len()).freeze();
            let kind = kind_of(&packet);
            let decision = match kind {
                Some(kind) => self.faults.on_packet(Toward::Broker, kind, now),
                None => Decision::PASS,
            };
            if decision.drop {
                if door.tap() {
                    if let Some(mut summary) = super::tap::summarize(&packet, door.level) {
                        add_mark(&mut summary, Mark::Dropped);
                        out.events.push((Direction::Inbound, summary));
                    }
                }
                continue;
            }
            let until = decision.hold_until.unwrap_or(now);
            let mark = decision.mark.filter(|m| *m != Mark::Duplicated);
            let copy = decision
                .duplicate
                .then(|| Bytes::from(engine::duplicate(&packet)));
            self.to_broker_bytes += packet.len();
            self.to_broker.push_back(Held {
                until,
                bytes: packet,
                kind,
                mark,
            });
            if let Some(copy) = copy {
                self.to_broker_bytes += copy.len();
                self.to_broker.push_back(Held {
                    until,
                    bytes: copy,
                    kind,
                    mark: Some(Mark::Duplicated),
                });
            }
        }
        while self.to_broker.front().is_some_and(|h| h.until <= now) {
            if let Some(held) = self.to_broker.pop_front() {
                self.to_broker_bytes -= held.bytes.len();
                self.staged.extend_from_slice(&held.bytes);
                self.staged_marks.push_back((held.kind, held.mark));
            }
        }
    }

    /// After the door read from [`FaultGate::staged`]: puts the marks of the packets it read on
    /// their events (the inbound events pushed since `from`, one per packet, in order).
    pub fn mark_read(&mut self, out: &mut Output, from: usize) {
        let from = from.min(out.events.len());
        for (direction, summary) in out.events[from..].iter_mut() {
            if *direction != Direction::Inbound {
                continue;
            }
            let Some((kind, mark)) = self.staged_marks.pop_front() else {
                break;
            };
            if let (Some(mark), true) = (mark, kind == Some(summary.kind)) {
                add_mark(summary, mark);
            }
        }
        if self.staged.is_empty() {
            self.staged_marks.clear();
        }
    }

    /// Passes the door's output for the client through the rules: `out.bytes` becomes what is
    /// due now (held packets first, in order), the rest is held; the events of dropped, held
    /// and duplicated packets get their marks (a copy gets an event of its own).
    pub fn to_client(&mut self, out: &mut Output, now: Instant) {
        let produced = std::mem::take(&mut out.bytes);
        let mut at = 0;
        let mut event = 0;
        while at < produced.len() {
            let Ok(Some(frame)) = wire::frame(&produced[at..], usize::MAX) else {
                // Not a whole packet (never written by the door): it goes as it is.
                let rest = Bytes::copy_from_slice(&produced[at..]);
                self.hold_to_client(now, rest);
                break;
            };
            let end = (at + frame.len()).min(produced.len());
            let packet = &produced[at..end];
            at = end;
            let kind = kind_of(packet);
            // The event of this packet: the next outbound one, if its kind agrees.
            let index =
                next_outbound(out, &mut event).filter(|i| Some(out.events[*i].1.kind) == kind);
            let decision = match kind {
                Some(kind) => self.faults.on_packet(Toward::Client, kind, now),
                None => Decision::PASS,
            };
            if let (Some(i), Some(mark)) = (index, decision.mark) {
                if mark != Mark::Duplicated {
                    add_mark(&mut out.events[i].1, mark);
                }
            }
            if decision.drop {
                continue;
            }
            let until = decision.hold_until.unwrap_or(now);
            self.hold_to_client(until, Bytes::copy_from_slice(packet));
            if decision.duplicate {
                let copy = engine::duplicate(packet);
                if let Some(i) = index {
                    let mut summary = out.events[i].1.clone();
                    summary.dup = summary.qos > 0;
                    summary
                        .fields
                        .retain(|(name, _)| *name != engine::FAULT_FIELD);
                    add_mark(&mut summary, Mark::Duplicated);
                    out.events.insert(i + 1, (Direction::Outbound, summary));
                    event = i + 2;
                }
                self.hold_to_client(until, Bytes::from(copy));
            }
        }
        let mut bytes = produced;
        bytes.clear();
        // Closing: what is held goes now, or never.
        let closing = out.close.is_some();
        while self
            .to_client
            .front()
            .is_some_and(|h| closing || h.until <= now)
        {
            if let Some(held) = self.to_client.pop_front() {
                self.to_client_bytes -= held.bytes.len();
                bytes.extend_from_slice(&held.bytes);
            }
        }
        out.bytes = bytes;
    }

    fn hold_to_client(&mut self, until: Instant, bytes: Bytes) {
        self.to_client_bytes += bytes.len();
        self.to_client.push_back(Held {
            until,
            bytes,
            kind: None,
            mark: None,
        });
    }
}

/// The index of the next outbound event at or after `*cursor`, moving the cursor past it.
fn next_outbound(out: &Output, cursor: &mut usize) -> Option<usize> {
    while *cursor < out.events.len() {
        let i = *cursor;
        *cursor += 1;
        if out.events[i].0 == Direction::Outbound {
            return Some(i);
        }
    }
    None
}

/// Arming and clearing rules through the router wakes the client's connection, so a cut, a
/// DISCONNECT or a pause acts at once and a cleared pause or delay ends at once.
impl crate::router::Router {
    /// Arms `fault` against `client_id` (connected or not yet); returns the rule's id.
    pub fn arm_fault(
        &self,
        client_id: &str,
        fault: workbench_faults::Fault,
    ) -> Result<u32, workbench_faults::RuleError> {
        let id = self.faults.arm(client_id, fault)?;
        self.wake_for_faults(client_id);
        Ok(id)
    }

    /// Clears one rule; false when no rule has that id (it may have been used up).
    pub fn clear_fault(&self, id: u32) -> bool {
        match self.faults.clear(id) {
            Some(client_id) => {
                self.wake_for_faults(&client_id);
                true
            }
            None => false,
        }
    }

    /// Clears every rule of `client_id`, or of everyone; returns how many.
    pub fn clear_faults(&self, client_id: Option<&str>) -> usize {
        match client_id {
            Some(client_id) => {
                let cleared = self.faults.clear_client(client_id);
                self.wake_for_faults(client_id);
                cleared
            }
            None => {
                let clients: Vec<String> = self
                    .faults
                    .rules()
                    .into_iter()
                    .map(|r| r.client_id)
                    .collect();
                let cleared = clients.len();
                self.faults.clear_all();
                for client_id in clients {
                    self.wake_for_faults(&client_id);
                }
                cleared
            }
        }
    }

    fn wake_for_faults(&self, client_id: &str) {
        if let Some(control) = self.control_of(client_id) {
            // A full channel already wakes the connection.
            let _ = control.try_send(crate::router::registry::Control::Faults);
        }
    }
}
