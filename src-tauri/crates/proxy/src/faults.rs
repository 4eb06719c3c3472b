//! Fault injection on a proxied connection: the fault engine ([`workbench_faults`]) asked about
//! every whole packet in each direction while rules are armed, and what its answers mean here:
//! a packet not forwarded (drop), forwarded twice (duplicate, DUP set), or held until its moment
//! (delay, order kept); the device no longer read (pause); the connection cut without a
//! DISCONNECT on either side (so the upstream publishes the will), or a DISCONNECT with a chosen
//! code sent to an MQTT 5 device; a CONNECT answered with a refusal instead of forwarded.
//!
//! Held bytes are bounded per direction ([`MAX_HELD_BYTES`]): beyond it the proxy stops reading
//! the side that sends them until they go, as with a slow peer. A fault touches only its own
//! connection.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use wire::{Direction, PacketEvent, PacketKind};
use workbench_faults::{Decision, FaultBook, Faults, Mark, Toward};

/// The most bytes held in each direction.
pub const MAX_HELD_BYTES: usize = 8 * 1024 * 1024;

/// The CONNACK refusing a device with `code` (an MQTT 5 reason code) in its protocol version: a
/// 3.1.1 device gets the nearest return code.
pub fn refusal(level: u8, code: u8) -> Vec<u8> {
    if level == 5 {
        return vec![0x20, 3, 0, code, 0];
    }
    let nearest = match code {
        0x84 => 1,
        0x85 => 2,
        0x88 | 0x89 | 0x97 | 0x9F => 3,
        0x86 => 4,
        _ => 5,
    };
    vec![0x20, 2, 0, nearest]
}

/// The DISCONNECT with `code` a fault sends an MQTT 5 device.
pub fn disconnect(code: u8) -> Vec<u8> {
    vec![0xE0, 1, code]
}

/// Puts `mark` first among an event's fields (the log bounds how many it keeps).
pub fn mark(event: &mut PacketEvent, mark: Mark) {
    event.summary.fields.insert(0, mark.field());
}

/// Packets held back in one direction, in order.
#[derive(Default)]
struct Held {
    packets: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
}

/// One connection's faults: its engine and what it holds.
pub struct Gate {
    engine: Faults,
    /// Toward the upstream (from the device), toward the device (from the upstream).
    held: [Held; 2],
}

fn way(direction: Direction) -> usize {
    match direction {
        Direction::Inbound => 0,
        Direction::Outbound => 1,
    }
}

impl Gate {
    pub fn new(book: Arc<FaultBook>, client_id: &str, seed: u64) -> Gate {
        Gate {
            engine: Faults::new(book, client_id, seed),
            held: [Held::default(), Held::default()],
        }
    }

    /// Whether anything needs asking: rules armed (anyone's: one atomic load) or packets held.
    pub fn active(&self) -> bool {
        !self.engine.book().is_empty() || self.held.iter().any(|h| !h.packets.is_empty())
    }

    /// The engine's answer for one packet.
    pub fn decide(&mut self, direction: Direction, kind: PacketKind, now: Instant) -> Decision {
        let mut decision = self.engine.on_packet(Toward::of(direction), kind, now);
        // Rules cleared while packets wait: what comes after them still waits its turn.
        let held = &self.held[way(direction)];
        if decision.hold_until.is_none() && !decision.drop {
            if let Some((at, _)) = held.packets.back() {
                decision.hold_until = Some(*at);
            }
        }
        decision
    }

    /// Holds `bytes` going `direction` until `at`.
    pub fn hold(&mut self, direction: Direction, at: Instant, bytes: Vec<u8>) {
        let held = &mut self.held[way(direction)];
        held.bytes += bytes.len();
        held.packets.push_back((at, bytes));
    }

    /// Moves what is due at `now` going `direction` to `out`.
    pub fn release(&mut self, direction: Direction, now: Instant, out: &mut Vec<u8>) {
        let held = &mut self.held[way(direction)];
        while held.packets.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, bytes)) = held.packets.pop_front() {
                held.bytes -= bytes.len();
                out.extend_from_slice(&bytes);
            }
        }
    }

    /// When the next held packet is due.
    pub fn next_release(&self) -> Option<Instant> {
        self.held
            .iter()
            .filter_map(|h| h.packets.front().map(|(at, _)| *at))
            .min()
    }

    /// Whether the side sending `direction` may be read (its held bytes are under the bound).
    pub fn room(&self, direction: Direction) -> bool {
        self.held[way(direction)].bytes < MAX_HELD_BYTES
    }

    /// Whether the device must not be read (a pause rule).
    pub fn paused(&self) -> bool {
        self.engine.paused()
    }

    pub fn take_action(&mut self) -> Option<workbench_faults::Action> {
        self.engine.take_action()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workbench_faults::Fault;

    #[test]
    fn refusals_speak_the_devices_version() {
        assert_eq!(refusal(5, 0x87), vec![0x20, 3, 0, 0x87, 0]);
        assert_eq!(refusal(4, 0x86), vec![0x20, 2, 0, 4]);
        assert_eq!(refusal(4, 0x88), vec![0x20, 2, 0, 3]);
        assert_eq!(refusal(4, 0x87), vec![0x20, 2, 0, 5]);
    }

    #[test]
    fn held_packets_keep_their_order_after_the_rule_is_cleared() {
        let book = Arc::new(FaultBook::new());
        let id = book
            .arm(
                "d",
                Fault::Delay {
                    toward: Toward::Broker,
                    fixed_ms: 1000,
                    jitter_ms: 0,
                },
            )
            .expect("armed");
        let mut gate = Gate::new(book.clone(), "d", 1);
        let now = Instant::now();
        let first = gate.decide(Direction::Inbound, PacketKind::Publish, now);
        let at = first.hold_until.expect("held");
        gate.hold(Direction::Inbound, at, vec![1]);
        book.clear(id);
        let second = gate.decide(Direction::Inbound, PacketKind::Publish, now);
        assert_eq!(second.hold_until, Some(at), "waits behind the first");
        gate.hold(Direction::Inbound, at, vec![2]);
        let mut out = Vec::new();
        gate.release(Direction::Inbound, now, &mut out);
        assert!(out.is_empty());
        gate.release(Direction::Inbound, at, &mut out);
        assert_eq!(out, vec![1, 2]);
        assert!(!gate.active());
    }
}
