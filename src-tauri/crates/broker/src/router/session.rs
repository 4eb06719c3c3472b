//! A session: the part others reach ([`SessionCell`]: its identity and its mailbox, where
//! publishers leave deliveries) and the part only its owner touches ([`SessionState`]:
//! subscriptions, messages in flight, packet identifiers). The connection serving a session owns
//! its state; between connections the registry keeps it.
//!
//! Mailboxes are bounded in messages and bytes, per session and for all sessions together.
//! A full mailbox drops (and counts) what does not fit: no publisher ever waits on a subscriber
//! that does not read. A filling one tells the publisher so, and the publisher may wait a moment
//! for it to drain (see [`SessionCell::wait_for_room`]): that keeps a fast publisher and a slower
//! subscriber in step without losing messages.

use super::message::{Delivery, SessionId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use wire::codec::QoS;

/// How much a session's mailbox may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Messages waiting per session.
    pub max_messages: usize,
    /// Bytes waiting per session.
    pub max_bytes: usize,
    /// Bytes waiting in all sessions together.
    pub max_total_bytes: usize,
    /// Queue QoS 0 messages for disconnected persistent sessions (mosquitto does not, by
    /// default).
    pub qos0_while_offline: bool,
}

impl QueueLimits {
    fn congested(&self, messages: usize, bytes: usize) -> bool {
        messages >= (self.max_messages / 10).max(1) || bytes >= self.max_bytes / 10
    }

    fn relieved(&self, messages: usize, bytes: usize) -> bool {
        messages <= self.max_messages / 20 && bytes <= self.max_bytes / 20
    }
}

/// How many times its timeout a publisher may wait for its turn at a mailbox that drains.
pub const PATIENCE_ROUNDS: u32 = 8;

/// What became of a delivery offered to a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued; `congested` says the mailbox is filling and the publisher should let it drain.
    Queued { congested: bool },
    /// The mailbox was full: dropped and counted.
    Dropped,
    /// Not for this session: a QoS 0 message while it is offline, or the session has ended.
    Skipped,
}

#[derive(Debug, Default)]
struct Mailbox {
    queue: VecDeque<Delivery>,
    bytes: usize,
    /// The session ended; nothing more is accepted.
    closed: bool,
    /// A publisher waited for this mailbox to drain and it did not: publishers stop waiting
    /// for it until it drains.
    stalled: bool,
    /// Publishers waiting on `drained`.
    waiting: usize,
    /// Deliveries taken out so far: a waiting publisher tells a slow mailbox from a stuck one.
    taken_total: u64,
}

/// Counters a session keeps for the dashboard, `$SYS` and the log.
#[derive(Debug, Default)]
pub struct SessionCounters {
    pub dropped_qos0: AtomicU64,
    pub dropped_qos12: AtomicU64,
}

/// The shared face of a session.
#[derive(Debug)]
pub struct SessionCell {
    pub id: SessionId,
    pub client_id: Arc<str>,
    online: AtomicBool,
    mailbox: Mutex<Mailbox>,
    /// Wakes the connection serving this session when deliveries arrive.
    pub wake: Notify,
    /// Wakes publishers waiting for this mailbox to drain.
    drained: Notify,
    pub counters: SessionCounters,
}

impl SessionCell {
    pub fn new(id: SessionId, client_id: Arc<str>) -> SessionCell {
        SessionCell {
            id,
            client_id,
            online: AtomicBool::new(false),
            mailbox: Mutex::new(Mailbox::default()),
            wake: Notify::new(),
            drained: Notify::new(),
            counters: SessionCounters::default(),
        }
    }

    // std Mutex, not tokio's: it is held for a push or a pop, never across an await.
    fn lock(&self) -> MutexGuard<'_, Mailbox> {
        self.mailbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    pub fn set_online(&self, online: bool) {
        self.online.store(online, Ordering::Relaxed);
        if !online {
            // Nobody drains an offline mailbox: let waiting publishers go.
            self.drained.notify_waiters();
        }
    }

    /// Messages waiting.
    pub fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    /// Offers a delivery. `total` counts the bytes queued in all sessions.
    pub fn push(&self, delivery: Delivery, limits: &QueueLimits, total: &AtomicUsize) -> Pushed {
        let online = self.is_online();
        if !online && delivery.qos == QoS::AtMostOnce && !limits.qos0_while_offline {
            return Pushed::Skipped;
        }
        let cost = delivery.cost();
        let qos = delivery.qos;
        let mut mailbox = self.lock();
        if mailbox.closed {
            return Pushed::Skipped;
        }
        let full = mailbox.queue.len() >= limits.max_messages
            || mailbox.bytes + cost > limits.max_bytes
            || total.load(Ordering::Relaxed) + cost > limits.max_total_bytes;
        if full {
            drop(mailbox);
            let counter = if qos == QoS::AtMostOnce {
                &self.counters.dropped_qos0
            } else {
                &self.counters.dropped_qos12
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return Pushed::Dropped;
        }
        mailbox.queue.push_back(delivery);
        mailbox.bytes += cost;
        total.fetch_add(cost, Ordering::Relaxed);
        let congested =
            online && !mailbox.stalled && limits.congested(mailbox.queue.len(), mailbox.bytes);
        drop(mailbox);
        self.wake.notify_one();
        Pushed::Queued { congested }
    }

    /// Moves deliveries out for sending, in order: every QoS 0 one, and QoS 1 and 2 ones while
    /// `window` lasts (the first that does not fit stops the taking, to keep the order).
    /// Returns how many were taken.
    pub fn take(
        &self,
        mut window: usize,
        limit: usize,
        limits: &QueueLimits,
        total: &AtomicUsize,
        out: &mut VecDeque<Delivery>,
    ) -> usize {
        let mut mailbox = self.lock();
        let mut taken = 0;
        let mut freed = 0;
        while taken < limit {
            let Some(front) = mailbox.queue.front() else {
                break;
            };
            if front.qos != QoS::AtMostOnce {
                if window == 0 {
                    break;
                }
                window -= 1;
            }
            let Some(delivery) = mailbox.queue.pop_front() else {
                break;
            };
            freed += delivery.cost();
            out.push_back(delivery);
            taken += 1;
        }
        mailbox.bytes -= freed;
        mailbox.taken_total += taken as u64;
        total.fetch_sub(freed, Ordering::Relaxed);
        let relieved = limits.relieved(mailbox.queue.len(), mailbox.bytes);
        // Waiting publishers go on a few at a time, first come first served: as many as there
        // is room for before the mailbox is congested again (each sends at least one message).
        // Waking them all at once would let thousands of publishers overflow it together.
        let wake = if relieved {
            mailbox.stalled = false;
            let room = (limits.max_messages / 10)
                .max(1)
                .saturating_sub(mailbox.queue.len())
                .max(1);
            mailbox.waiting.min(room)
        } else {
            0
        };
        if mailbox.queue.capacity() > 1024 && mailbox.queue.len() < 64 {
            mailbox.queue.shrink_to(64);
        }
        drop(mailbox);
        for _ in 0..wake {
            self.drained.notify_one();
        }
        taken
    }

    /// True when a delivery is waiting that a window of `window` QoS 1/2 messages lets go now.
    pub fn can_take(&self, window: usize) -> bool {
        self.lock()
            .queue
            .front()
            .is_some_and(|d| d.qos == QoS::AtMostOnce || window > 0)
    }

    /// Waits for a congested mailbox to drain, in turn with other waiting publishers. While the
    /// mailbox drains, a publisher may wait up to [`PATIENCE_ROUNDS`] times `timeout` for its
    /// turn; when nothing at all is taken out for `timeout`, the mailbox is marked stalled and
    /// nobody waits for it again until it drains. False when the wait ended that way.
    pub async fn wait_for_room(&self, limits: &QueueLimits, timeout: Duration) -> bool {
        for _ in 0..PATIENCE_ROUNDS {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let seen = {
                let mut mailbox = self.lock();
                if mailbox.closed
                    || !self.is_online()
                    || mailbox.stalled
                    || limits.relieved(mailbox.queue.len(), mailbox.bytes)
                {
                    return true;
                }
                mailbox.waiting += 1;
                mailbox.taken_total
            };
            let woken = tokio::time::timeout(timeout, notified).await.is_ok();
            let mut mailbox = self.lock();
            mailbox.waiting -= 1;
            if woken {
                return true;
            }
            if mailbox.taken_total == seen {
                mailbox.stalled = true;
                return false;
            }
            // Draining, but others were first: wait for the next turn.
        }
        true
    }

    /// Ends the mailbox: its deliveries are dropped and nothing more is accepted.
    pub fn close(&self, total: &AtomicUsize) {
        let mut mailbox = self.lock();
        mailbox.closed = true;
        total.fetch_sub(mailbox.bytes, Ordering::Relaxed);
        mailbox.bytes = 0;
        mailbox.queue = VecDeque::new();
        drop(mailbox);
        self.drained.notify_waiters();
    }
}

/// A subscription as its session remembers it (the tree holds the routing copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSubscription {
    pub options: super::subscriptions::SubscriptionOptions,
}

/// A QoS 1 or 2 delivery sent and not yet acknowledged.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub packet_id: u16,
    pub delivery: Delivery,
    /// QoS 2: PUBREC received and PUBREL sent; waiting for PUBCOMP.
    pub released: bool,
}

/// How long a session outlives its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Ends with the connection (clean session, or MQTT 5 expiry 0).
    AtDisconnect,
    After(Duration),
    Never,
}

/// What only a session's owner touches.
#[derive(Debug)]
pub struct SessionState {
    /// Filters as the client sent them (shared ones with their `$share/group/` prefix).
    pub subscriptions: HashMap<Box<str>, StoredSubscription>,
    /// Sent QoS 1 and 2 deliveries, oldest first.
    pub in_flight: VecDeque<InFlight>,
    next_packet_id: u16,
    /// QoS 2 packet identifiers received and acknowledged with PUBREC, waiting for PUBREL.
    pub awaiting_release: HashSet<u16>,
    /// Retained messages owed to new subscriptions, sent before the mailbox.
    pub backlog: VecDeque<Delivery>,
    pub expiry: Expiry,
}

impl SessionState {
    pub fn new(expiry: Expiry) -> SessionState {
        SessionState {
            subscriptions: HashMap::new(),
            in_flight: VecDeque::new(),
            next_packet_id: 1,
            awaiting_release: HashSet::new(),
            backlog: VecDeque::new(),
            expiry,
        }
    }

    /// The next packet identifier, or `None` when it is still in flight from 65,535 sends ago.
    /// Identifiers go up in order and the in-flight queue is in send order, so the oldest entry
    /// is the only one that can be reached again.
    pub fn allocate_packet_id(&mut self) -> Option<u16> {
        let id = self.next_packet_id;
        if self
            .in_flight
            .front()
            .is_some_and(|oldest| oldest.packet_id == id)
        {
            return None;
        }
        if self.in_flight.len() >= usize::from(u16::MAX) - 1 {
            return None;
        }
        self.next_packet_id = if id == u16::MAX { 1 } else { id + 1 };
        Some(id)
    }

    /// Removes and returns the in-flight entry for `packet_id`.
    pub fn acknowledge(&mut self, packet_id: u16) -> Option<InFlight> {
        let index = self
            .in_flight
            .iter()
            .position(|f| f.packet_id == packet_id)?;
        self.in_flight.remove(index)
    }

    /// A rough count of the bytes this state holds (for accounting offline sessions).
    pub fn cost(&self) -> usize {
        let subscriptions: usize = self.subscriptions.keys().map(|k| k.len() + 48).sum();
        let in_flight: usize = self.in_flight.iter().map(|f| f.delivery.cost()).sum();
        subscriptions + in_flight + self.awaiting_release.len() * 4 + 256
    }
}

/// The session ids in use and how to make new ones.
#[derive(Debug)]
pub struct SessionIds(AtomicU64);

impl Default for SessionIds {
    fn default() -> Self {
        SessionIds(AtomicU64::new(1))
    }
}

impl SessionIds {
    pub fn next(&self) -> SessionId {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// Shortcut for tests and callers that build a cell directly.
pub fn new_cell(id: SessionId, client_id: &str) -> Arc<SessionCell> {
    Arc::new(SessionCell::new(id, Arc::from(client_id)))
}

#[cfg(test)]
mod tests;
