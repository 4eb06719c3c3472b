//! The fault engine of one connection: asked about each whole packet in each direction, it
//! answers pass, drop, duplicate or hold until a moment, and tells the connection when to cut,
//! stop reading or send a DISCONNECT. Time is passed in; randomness (jitter) comes from a
//! small generator seeded per connection, so tests can repeat a run.
//!
//! It never holds packets itself: the connection (the broker's door task, the proxy's pump)
//! keeps what is held and writes it when its moment comes. Held packets keep their order: a
//! packet behind a delayed one waits at least as long.

use crate::book::FaultBook;
use crate::rule::{Fault, Toward};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::{Field, PacketKind};

/// The name of the packet field that marks an injected fault in the packet log.
pub const FAULT_FIELD: &str = "fault";

/// What a fault did to a packet or a connection, for the packet log and the sequence diagram.
/// It travels as the packet field [`FAULT_FIELD`] with a short machine-readable value
/// (`drop`, `duplicate`, `delay 120`, `refuse 0x87`, `disconnect 0x8e`, `cut`), which the views
/// put into words in the user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The packet was lost on purpose.
    Dropped,
    /// The packet is a copy sent on purpose (DUP set where the QoS allows it).
    Duplicated,
    /// The packet was held this many milliseconds.
    Delayed { ms: u32 },
    /// The CONNACK refuses the client on purpose, with this code.
    Refused { code: u8 },
    /// The DISCONNECT was sent on purpose, with this code.
    Disconnected { code: u8 },
    /// The connection was cut on purpose.
    Cut,
}

impl Mark {
    /// The packet field that carries the mark.
    pub fn field(self) -> Field {
        (FAULT_FIELD, self.to_string())
    }
}

impl std::fmt::Display for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mark::Dropped => write!(f, "drop"),
            Mark::Duplicated => write!(f, "duplicate"),
            Mark::Delayed { ms } => write!(f, "delay {ms}"),
            Mark::Refused { code } => write!(f, "refuse {code:#04x}"),
            Mark::Disconnected { code } => write!(f, "disconnect {code:#04x}"),
            Mark::Cut => write!(f, "cut"),
        }
    }
}

/// The fault mark among a packet's fields, if any.
pub fn mark_of(fields: &[Field]) -> Option<&str> {
    fields
        .iter()
        .find(|(name, _)| *name == FAULT_FIELD)
        .map(|(_, value)| value.as_str())
}

/// What to do with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// Do not send it.
    pub drop: bool,
    /// Send it, then a copy ([`duplicate`] makes one).
    pub duplicate: bool,
    /// Hold it (and everything after it going the same way) until then.
    pub hold_until: Option<Instant>,
    /// What to mark the packet with in the log.
    pub mark: Option<Mark>,
}

impl Decision {
    /// Nothing to do: send it now.
    pub const PASS: Decision = Decision {
        drop: false,
        duplicate: false,
        hold_until: None,
        mark: None,
    };
}

/// Something the connection must do at once, whatever packets flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Close the socket without a DISCONNECT (the will fires).
    Cut,
    /// Send a DISCONNECT with this reason code (MQTT 5), then close.
    Disconnect { code: u8 },
}

/// The fault engine of one connection, for one client id.
#[derive(Debug)]
pub struct Faults {
    book: Arc<FaultBook>,
    client_id: String,
    rng: u64,
    /// The latest moment a held packet goes, per way (client, broker).
    release: [Option<Instant>; 2],
}

fn slot(toward: Toward) -> usize {
    match toward {
        Toward::Client => 0,
        Toward::Broker => 1,
    }
}

impl Faults {
    /// The engine of a connection of `client_id`; `seed` varies the jitter between
    /// connections (the connection's serial number will do).
    pub fn new(book: Arc<FaultBook>, client_id: &str, seed: u64) -> Faults {
        Faults {
            book,
            client_id: client_id.to_string(),
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            release: [None, None],
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn book(&self) -> &Arc<FaultBook> {
        &self.book
    }

    /// Whether any rule is armed for this client (one atomic load when none is armed at all).
    pub fn armed(&self) -> bool {
        self.book.has_rules_for(&self.client_id)
    }

    /// Whether the connection must stop reading from the client.
    pub fn paused(&self) -> bool {
        !self.book.is_empty()
            && self
                .book
                .lock()
                .by_client
                .get(&self.client_id)
                .is_some_and(|rules| rules.iter().any(|r| r.fault == Fault::Pause))
    }

    /// Takes the first cut or disconnect armed for this client (each acts once).
    pub fn take_action(&mut self) -> Option<Action> {
        if self.book.is_empty() {
            return None;
        }
        let action = {
            let mut rules = self.book.lock();
            let (id, action) =
                rules
                    .by_client
                    .get(&self.client_id)?
                    .iter()
                    .find_map(|r| match r.fault {
                        Fault::Cut => Some((r.id, Action::Cut)),
                        Fault::Disconnect { code } => Some((r.id, Action::Disconnect { code })),
                        _ => None,
                    })?;
            self.book
                .remove_where(&mut rules, &self.client_id, |r| r.id == id);
            action
        };
        self.book.changed(&self.client_id);
        Some(action)
    }

    /// Forgets the moments held packets were promised: once the rules are cleared, the
    /// connection sends what it holds at once and nothing waits behind it.
    pub fn release_holds(&mut self) {
        self.release = [None, None];
    }

    /// Decides about one whole packet of `kind` going `toward`, at `now`.
    pub fn on_packet(&mut self, toward: Toward, kind: PacketKind, now: Instant) -> Decision {
        let way = slot(toward);
        let behind = self.release[way].filter(|at| *at > now);
        if self.book.is_empty() {
            return Decision {
                hold_until: behind,
                ..Decision::PASS
            };
        }
        let mut decision = Decision::PASS;
        let mut used_up = false;
        let mut delay = None;
        {
            let mut rules = self.book.lock();
            let Some(list) = rules.by_client.get_mut(&self.client_id) else {
                return Decision {
                    hold_until: behind,
                    ..Decision::PASS
                };
            };
            for rule in list.iter_mut() {
                match &mut rule.fault {
                    Fault::Drop {
                        kind: k,
                        toward: t,
                        count,
                    } if *k == kind && *t == toward && !decision.drop && *count > 0 => {
                        *count -= 1;
                        used_up |= *count == 0;
                        decision.drop = true;
                    }
                    Fault::Duplicate { toward: t, count }
                        if kind == PacketKind::Publish
                            && *t == toward
                            && !decision.duplicate
                            && *count > 0 =>
                    {
                        *count -= 1;
                        used_up |= *count == 0;
                        decision.duplicate = true;
                    }
                    Fault::Delay {
                        toward: t,
                        fixed_ms,
                        jitter_ms,
                    } if *t == toward && delay.is_none() => {
                        delay = Some((*fixed_ms, *jitter_ms));
                    }
                    _ => {}
                }
            }
            if used_up {
                let client = self.client_id.clone();
                self.book
                    .remove_where(&mut rules, &client, |r| r.fault.count() == Some(0));
            }
        }
        if used_up {
            self.book.changed(&self.client_id);
        }
        if decision.drop {
            // A dropped packet is not sent at all: drop wins over the rest.
            decision.duplicate = false;
            decision.mark = Some(Mark::Dropped);
            return decision;
        }
        if let Some((fixed, jitter)) = delay {
            let ms = fixed + self.jitter(jitter);
            let at = now + Duration::from_millis(u64::from(ms));
            let at = behind.map_or(at, |b| b.max(at));
            self.release[way] = Some(at);
            decision.hold_until = Some(at);
            decision.mark = Some(Mark::Delayed { ms });
        } else {
            decision.hold_until = behind;
        }
        if decision.duplicate {
            decision.mark = Some(Mark::Duplicated);
        }
        decision
    }

    /// A random 0..=`max` (xorshift; good enough for jitter, not for secrets).
    fn jitter(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % (u64::from(max) + 1)) as u32
    }
}

/// A copy of a whole PUBLISH packet with DUP set when its QoS is 1 or 2 (a QoS 0 PUBLISH must
/// keep DUP clear). Other packets are copied as they are.
pub fn duplicate(packet: &[u8]) -> Vec<u8> {
    let mut copy = packet.to_vec();
    if let Some(first) = copy.first_mut() {
        let is_publish = *first >> 4 == 3;
        let qos = (*first >> 1) & 0b11;
        if is_publish && qos > 0 {
            *first |= 0b1000;
        }
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book_with(client: &str, faults: &[Fault]) -> Arc<FaultBook> {
        let book = Arc::new(FaultBook::new());
        for fault in faults {
            book.arm(client, fault.clone()).unwrap();
        }
        book
    }

    #[test]
    fn the_next_n_packets_of_a_type_are_dropped_then_the_rule_is_gone() {
        let book = book_with(
            "dev1",
            &[Fault::Drop {
                kind: PacketKind::PubAck,
                toward: Toward::Client,
                count: 2,
            }],
        );
        let mut other = Faults::new(book.clone(), "dev2", 1);
        let mut faults = Faults::new(book.clone(), "dev1", 1);
        let now = Instant::now();
        assert_eq!(
            other.on_packet(Toward::Client, PacketKind::PubAck, now),
            Decision::PASS
        );
        assert_eq!(
            faults.on_packet(Toward::Broker, PacketKind::PubAck, now),
            Decision::PASS
        );
        assert_eq!(
            faults.on_packet(Toward::Client, PacketKind::SubAck, now),
            Decision::PASS
        );
        for _ in 0..2 {
            let d = faults.on_packet(Toward::Client, PacketKind::PubAck, now);
            assert!(d.drop);
            assert_eq!(d.mark, Some(Mark::Dropped));
        }
        assert_eq!(
            faults.on_packet(Toward::Client, PacketKind::PubAck, now),
            Decision::PASS
        );
        assert!(book.is_empty());
    }

    #[test]
    fn delays_keep_order_and_stay_within_fixed_plus_jitter() {
        let book = book_with(
            "dev1",
            &[Fault::Delay {
                toward: Toward::Client,
                fixed_ms: 100,
                jitter_ms: 50,
            }],
        );
        let mut faults = Faults::new(book.clone(), "dev1", 7);
        let start = Instant::now();
        let mut last = start;
        for i in 0..100 {
            let now = start + Duration::from_millis(i);
            let d = faults.on_packet(Toward::Client, PacketKind::Publish, now);
            let at = d.hold_until.unwrap();
            assert!(at >= last, "a packet overtook the one before it");
            assert!(at >= now + Duration::from_millis(100));
            assert!(at <= now + Duration::from_millis(150).max(last - now));
            last = at;
        }
        // Cleared: a packet right behind the held ones still waits for them, then none waits.
        book.clear_client("dev1");
        let d = faults.on_packet(Toward::Client, PacketKind::Publish, start);
        assert_eq!(d.hold_until, Some(last));
        assert_eq!(d.mark, None);
        let later = last + Duration::from_millis(1);
        assert_eq!(
            faults.on_packet(Toward::Client, PacketKind::Publish, later),
            Decision::PASS
        );
        // The other way was never delayed.
        assert_eq!(
            faults.on_packet(Toward::Broker, PacketKind::Publish, start),
            Decision::PASS
        );
    }

    #[test]
    fn duplicates_only_publish_and_set_dup_only_where_qos_allows() {
        let book = book_with(
            "dev1",
            &[Fault::Duplicate {
                toward: Toward::Client,
                count: 1,
            }],
        );
        let mut faults = Faults::new(book, "dev1", 1);
        let now = Instant::now();
        assert!(
            !faults
                .on_packet(Toward::Client, PacketKind::PubAck, now)
                .duplicate
        );
        let d = faults.on_packet(Toward::Client, PacketKind::Publish, now);
        assert!(d.duplicate);
        assert_eq!(d.mark, Some(Mark::Duplicated));
        assert!(
            !faults
                .on_packet(Toward::Client, PacketKind::Publish, now)
                .duplicate
        );
        assert_eq!(duplicate(&[0x32, 0])[0], 0x3a);
        assert_eq!(duplicate(&[0x30, 0])[0], 0x30);
        assert_eq!(duplicate(&[0x40, 2, 0, 1])[0], 0x40);
    }

    #[test]
    fn cut_and_disconnect_act_once_and_pause_lasts_until_cleared() {
        let book = book_with(
            "dev1",
            &[Fault::Pause, Fault::Disconnect { code: 0x8e }, Fault::Cut],
        );
        let mut faults = Faults::new(book.clone(), "dev1", 1);
        assert!(faults.paused());
        assert_eq!(
            faults.take_action(),
            Some(Action::Disconnect { code: 0x8e })
        );
        assert_eq!(faults.take_action(), Some(Action::Cut));
        assert_eq!(faults.take_action(), None);
        assert!(faults.paused());
        book.clear_client("dev1");
        assert!(!faults.paused());
        assert!(!faults.armed());
    }

    #[test]
    fn marks_read_back_from_packet_fields() {
        let fields = vec![
            ("client id", "x".to_string()),
            Mark::Refused { code: 0x87 }.field(),
        ];
        assert_eq!(mark_of(&fields), Some("refuse 0x87"));
        assert_eq!(Mark::Delayed { ms: 12 }.to_string(), "delay 12");
    }
}
