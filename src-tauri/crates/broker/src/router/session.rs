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
    /// Some publisher waits on `drained`.
    waiters: bool,
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
        total.fetch_sub(freed, Ordering::Relaxed);
        let relieved = limits.relieved(mailbox.queue.len(), mailbox.bytes);
        let notify = relieved && (mailbox.waiters || mailbox.stalled);
        if relieved {
            mailbox.waiters = false;
            mailbox.stalled = false;
        }
        if mailbox.queue.capacity() > 1024 && mailbox.queue.len() < 64 {
            mailbox.queue.shrink_to(64);
        }
        drop(mailbox);
        if notify {
            self.drained.notify_waiters();
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

    /// Waits (at most `timeout`) for a congested mailbox to drain. False when it did not: the
    /// mailbox is then marked stalled and nobody waits for it again until it drains.
    pub async fn wait_for_room(&self, limits: &QueueLimits, timeout: Duration) -> bool {
        let notified = self.drained.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut mailbox = self.lock();
            if mailbox.closed
                || !self.is_online()
                || mailbox.stalled
                || limits.relieved(mailbox.queue.len(), mailbox.bytes)
            {
                return true;
            }
            mailbox.waiters = true;
        }
        if tokio::time::timeout(timeout, notified).await.is_err() {
            self.lock().stalled = true;
            return false;
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
mod tests {
    use super::super::message::{Message, SubscriptionIds};
    use super::*;

    fn limits(max_messages: usize) -> QueueLimits {
        QueueLimits {
            max_messages,
            max_bytes: 1 << 30,
            max_total_bytes: 1 << 30,
            qos0_while_offline: false,
        }
    }

    fn delivery(qos: QoS) -> Delivery {
        Delivery {
            message: Arc::new(Message::new("t", "x", qos, false)),
            qos,
            retain: false,
            subscription_ids: SubscriptionIds::None,
        }
    }

    #[test]
    fn a_full_mailbox_drops_and_counts_and_says_when_it_fills() {
        let cell = new_cell(1, "c");
        cell.set_online(true);
        let total = AtomicUsize::new(0);
        let limits = limits(20);
        let mut congested_at = None;
        for i in 0..25 {
            match cell.push(delivery(QoS::AtMostOnce), &limits, &total) {
                Pushed::Queued { congested: true } if congested_at.is_none() => {
                    congested_at = Some(i)
                }
                _ => {}
            }
        }
        assert_eq!(congested_at, Some(1), "a tenth of 20 is 2 messages");
        assert_eq!(cell.queued(), 20);
        assert_eq!(cell.counters.dropped_qos0.load(Ordering::Relaxed), 5);
        let mut out = VecDeque::new();
        assert_eq!(cell.take(0, usize::MAX, &limits, &total, &mut out), 20);
        assert_eq!(total.load(Ordering::Relaxed), 0, "bytes are given back");
    }

    #[test]
    fn taking_respects_the_window_and_the_order() {
        let cell = new_cell(1, "c");
        cell.set_online(true);
        let total = AtomicUsize::new(0);
        let limits = limits(100);
        for qos in [
            QoS::AtMostOnce,
            QoS::AtLeastOnce,
            QoS::AtLeastOnce,
            QoS::AtMostOnce,
        ] {
            cell.push(delivery(qos), &limits, &total);
        }
        let mut out = VecDeque::new();
        assert_eq!(cell.take(1, usize::MAX, &limits, &total, &mut out), 2);
        assert_eq!(
            cell.queued(),
            2,
            "the second QoS 1 waits, and the QoS 0 behind it too"
        );
    }

    #[test]
    fn offline_sessions_skip_qos0_unless_asked() {
        let cell = new_cell(1, "c");
        let total = AtomicUsize::new(0);
        assert_eq!(
            cell.push(delivery(QoS::AtMostOnce), &limits(10), &total),
            Pushed::Skipped
        );
        assert!(matches!(
            cell.push(delivery(QoS::AtLeastOnce), &limits(10), &total),
            Pushed::Queued { congested: false }
        ));
        cell.close(&total);
        assert_eq!(total.load(Ordering::Relaxed), 0);
        assert_eq!(
            cell.push(delivery(QoS::AtLeastOnce), &limits(10), &total),
            Pushed::Skipped
        );
    }

    #[test]
    fn packet_ids_skip_zero_and_never_reuse_one_in_flight() {
        let mut state = SessionState::new(Expiry::AtDisconnect);
        let first = state.allocate_packet_id();
        assert_eq!(first, Some(1));
        state.in_flight.push_back(InFlight {
            packet_id: 1,
            delivery: delivery(QoS::AtLeastOnce),
            released: false,
        });
        for expected in 2..=u16::MAX {
            assert_eq!(state.allocate_packet_id(), Some(expected));
        }
        assert_eq!(state.allocate_packet_id(), None, "1 is still in flight");
        assert!(state.acknowledge(1).is_some());
        assert_eq!(state.allocate_packet_id(), Some(1));
    }

    #[tokio::test]
    async fn a_publisher_waits_for_a_draining_mailbox_but_not_for_a_stuck_one() {
        let cell = new_cell(1, "c");
        cell.set_online(true);
        let total = Arc::new(AtomicUsize::new(0));
        let limits = limits(100);
        for _ in 0..50 {
            cell.push(delivery(QoS::AtMostOnce), &limits, &total);
        }
        // Nobody drains: the wait ends at its timeout and the mailbox is marked stalled.
        assert!(!cell.wait_for_room(&limits, Duration::from_millis(20)).await);
        assert!(
            cell.wait_for_room(&limits, Duration::from_secs(60)).await,
            "a stalled mailbox is not waited for again"
        );
        // Draining clears the mark and wakes waiters.
        let mut out = VecDeque::new();
        cell.take(0, usize::MAX, &limits, &total, &mut out);
        for _ in 0..50 {
            cell.push(delivery(QoS::AtMostOnce), &limits, &total);
        }
        let drainer = {
            let cell = Arc::new(cell);
            let waiting = cell.clone();
            let total = total.clone();
            let task = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut out = VecDeque::new();
                cell.take(0, usize::MAX, &limits, &total, &mut out);
            });
            (waiting, task)
        };
        assert!(
            drainer
                .0
                .wait_for_room(&limits, Duration::from_secs(60))
                .await
        );
        drainer.1.await.expect("drainer");
    }
}
