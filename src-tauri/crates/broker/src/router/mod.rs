//! The routing engine: who is subscribed to what, which messages are retained, which sessions
//! exist and what waits for them. Shared by every connection; never does I/O and never waits
//! while holding a lock.
//!
//! - [`subscriptions`]: the subscription tree (matching costs the topic's depth).
//! - [`retained`]: retained messages by topic.
//! - [`session`]: a session's mailbox and its owner-only state.
//! - [`registry`]: sessions by client id; attach, detach, take over.
//! - [`timers`]: session expiry and delayed wills.
//! - [`message`]: messages and deliveries.
//!
//! Locks are taken one at a time (never one inside another), except that routing pushes into
//! mailboxes after releasing the subscription tree's read lock.

pub mod explain;
pub mod message;
pub mod registry;
pub mod retained;
pub mod session;
pub mod subscriptions;
pub mod timers;

use message::{Delivery, Message, Origin, SessionId};
use registry::{Attach, ControlSender, Detached, Ended, Registry};
use retained::{RetainChange, RetainedStore};
use session::{Expiry, Pushed, QueueLimits, SessionCell, SessionIds, SessionState};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use subscriptions::{FilterName, Subscriber, SubscriptionOptions, SubscriptionTree, Target};
use timers::{Due, Timers};
use wire::codec::{QoS, RetainHandling, SubscribeFilter};

/// The engine's limits (the connection-level ones live with the listeners).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterLimits {
    pub queue: QueueLimits,
    pub max_retained_messages: usize,
    pub max_retained_bytes: usize,
}

/// A will waiting to be published: built when its client went away, published when its delay
/// passes or its session ends, dropped if the client comes back first.
#[derive(Debug, Clone)]
pub struct WillMessage {
    pub topic: Arc<str>,
    pub payload: bytes::Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub properties: bytes::Bytes,
    /// MQTT 5 message expiry interval, counted from when the will is published.
    pub expiry_interval: Option<u32>,
    /// MQTT 5 will delay interval.
    pub delay: Duration,
}

impl WillMessage {
    fn into_message(self, publisher: SessionId, now: Instant) -> Message {
        Message {
            topic: self.topic,
            payload: self.payload,
            qos: self.qos,
            retain: self.retain,
            properties: self.properties,
            expires_at: self
                .expiry_interval
                .map(|secs| now + Duration::from_secs(u64::from(secs))),
            publisher,
            origin: Origin::Will,
        }
    }
}

/// What routing one message did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Routed {
    /// Sessions the message matched (shared groups count once).
    pub matched: usize,
    /// Deliveries dropped because a mailbox was full.
    pub dropped: usize,
    pub retained: Option<RetainChange>,
}

/// Counters over the engine's life.
#[derive(Debug, Default)]
pub struct RouterCounters {
    pub routed: AtomicU64,
    pub dropped_qos0: AtomicU64,
    pub dropped_qos12: AtomicU64,
    pub wills_published: AtomicU64,
    pub sessions_expired: AtomicU64,
}

/// The answer to one filter of a SUBSCRIBE.
#[derive(Debug)]
pub struct Subscribed {
    /// The subscription existed before (MQTT 5 retain handling 1).
    pub existed: bool,
    /// Retained messages owed to it (already filtered by retain handling).
    pub retained: Vec<Arc<Message>>,
}

#[derive(Debug)]
struct PendingWill {
    generation: u64,
    publisher: SessionId,
    will: Box<WillMessage>,
}

#[derive(Debug)]
pub struct Router {
    subscriptions: RwLock<SubscriptionTree>,
    retained: RwLock<RetainedStore>,
    registry: Mutex<Registry>,
    /// Delayed wills by client id: (session generation, publishing session, will).
    wills: Mutex<HashMap<Arc<str>, PendingWill>>,
    timers: Timers,
    limits: std::sync::RwLock<RouterLimits>,
    queued_bytes: AtomicUsize,
    ids: SessionIds,
    pub counters: RouterCounters,
    /// What routing did with the latest messages, for the views that explain it.
    pub routing: explain::RoutingLog,
    /// Fault rules armed against clients, kept across broker restarts like sessions.
    pub faults: Arc<workbench_faults::FaultBook>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Router {
    pub fn new(limits: RouterLimits) -> Router {
        Router {
            subscriptions: RwLock::new(SubscriptionTree::default()),
            retained: RwLock::new(RetainedStore::default()),
            registry: Mutex::new(Registry::default()),
            wills: Mutex::new(HashMap::new()),
            timers: Timers::default(),
            limits: std::sync::RwLock::new(limits),
            queued_bytes: AtomicUsize::new(0),
            ids: SessionIds::default(),
            counters: RouterCounters::default(),
            routing: explain::RoutingLog::default(),
            faults: Arc::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> RouterLimits {
        *self.limits.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the limits; queues and the retained store keep what they hold.
    pub fn set_limits(&self, limits: RouterLimits) {
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// Bytes waiting in all mailboxes.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Relaxed)
    }

    pub fn queued_total(&self) -> &AtomicUsize {
        &self.queued_bytes
    }

    /// Routes one message: keeps it if retained, then offers it to every matching session.
    /// `congested` receives a session whose mailbox is filling (other than the publisher's),
    /// so the publisher can let it drain before sending more. `scratch` is reused between calls.
    pub fn publish(
        &self,
        message: Arc<Message>,
        scratch: &mut Vec<Target>,
        congested: &mut Option<Arc<SessionCell>>,
    ) -> Routed {
        let mut routed = Routed::default();
        let limits = self.limits();
        if message.retain {
            let mut store = self.retained.write().unwrap_or_else(|p| p.into_inner());
            routed.retained = Some(store.set(
                message.clone(),
                limits.max_retained_messages,
                limits.max_retained_bytes,
            ));
        }
        scratch.clear();
        {
            let tree = self.subscriptions.read().unwrap_or_else(|p| p.into_inner());
            tree.route(&message.topic, message.publisher, scratch);
        }
        routed.matched = scratch.len();
        let mut record = self.routing.draft(&message);
        for target in scratch.drain(..) {
            let delivery = Delivery {
                qos: message.qos.min(target.qos),
                retain: message.retain && target.retain_as_published,
                subscription_ids: target.subscription_ids,
                message: message.clone(),
            };
            let qos = delivery.qos;
            let (retain, online) = (delivery.retain, target.session.is_online());
            let pushed = target
                .session
                .push(delivery, &limits.queue, &self.queued_bytes);
            record.add(&target.session, qos, retain, target.shared, online, pushed);
            match pushed {
                Pushed::Queued { congested: true } if target.session.id != message.publisher => {
                    *congested = Some(target.session);
                }
                Pushed::Dropped => {
                    routed.dropped += 1;
                    let counter = if qos == QoS::AtMostOnce {
                        &self.counters.dropped_qos0
                    } else {
                        &self.counters.dropped_qos12
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        // The broker's own `$SYS` values that nobody subscribed to would crowd the clients'
        // messages out of the record: they are not kept.
        if !(routed.matched == 0 && message.origin == Origin::Broker) {
            self.routing.keep(record);
        }
        self.counters.routed.fetch_add(1, Ordering::Relaxed);
        routed
    }

    /// Explains what routing did with a recent message (by its routing serial) for every
    /// session the broker knows and every session it went to; `None` when it is no longer kept.
    pub fn explain(&self, serial: u64) -> Option<(explain::RouteRecord, Vec<explain::Explained>)> {
        let record = self.routing.get(serial)?;
        let sessions = lock(&self.registry).known_sessions();
        let matching = self
            .subscriptions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .matching(&record.topic);
        let lines = explain::explain(&record, &sessions, &matching, Instant::now());
        Some((record, lines))
    }

    /// Adds (or replaces) one subscription of a session. The filter must be valid.
    pub fn subscribe(
        &self,
        cell: &Arc<SessionCell>,
        state: &mut SessionState,
        request: &SubscribeFilter,
        identifier: Option<u32>,
        now: Instant,
    ) -> Subscribed {
        let options = SubscriptionOptions {
            qos: request.qos,
            no_local: request.no_local,
            retain_as_published: request.retain_as_published,
            identifier,
        };
        let Some(name) = FilterName::parse(&request.filter) else {
            return Subscribed {
                existed: false,
                retained: Vec::new(),
            };
        };
        let existed = {
            let mut tree = self
                .subscriptions
                .write()
                .unwrap_or_else(|p| p.into_inner());
            tree.insert(
                name,
                Subscriber {
                    session: cell.clone(),
                    options,
                },
            )
        };
        state.subscriptions.insert(
            request.filter.as_str().into(),
            session::StoredSubscription { options },
        );
        let send_retained = name.group.is_none()
            && match request.retain_handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendIfNew => !existed,
                RetainHandling::DoNotSend => false,
            };
        let mut retained = Vec::new();
        if send_retained {
            let store = self.retained.read().unwrap_or_else(|p| p.into_inner());
            store.matching(name.filter, now, &mut retained);
        }
        Subscribed { existed, retained }
    }

    /// Removes one subscription of a session; false when it had none with this filter.
    pub fn unsubscribe(&self, cell: &SessionCell, state: &mut SessionState, filter: &str) -> bool {
        if state.subscriptions.remove(filter).is_none() {
            return false;
        }
        let Some(name) = FilterName::parse(filter) else {
            return false;
        };
        let mut tree = self
            .subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner());
        tree.remove(name, cell.id)
    }

    /// Subscriptions stored for all sessions.
    pub fn subscription_count(&self) -> usize {
        self.subscriptions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Topics holding a retained message (not counting the broker's own `$SYS` values).
    pub fn retained_count(&self) -> usize {
        self.retained
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .user_len()
    }

    /// Messages the broker holds: retained ones and those queued for disconnected sessions.
    pub fn stored_messages(&self) -> usize {
        let queued: usize = self.offline_sessions().iter().map(|s| s.queued).sum();
        self.retained_count() + queued
    }

    pub fn retained_bytes(&self) -> usize {
        self.retained
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .bytes()
    }

    /// Topics holding a retained message below `prefix` ("" for all), up to `limit`.
    pub fn retained_topics(&self, prefix: &str, limit: usize) -> Vec<Arc<str>> {
        self.retained
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .topics(prefix, limit)
    }

    /// Removes expired retained messages.
    pub fn purge_expired(&self, now: Instant) -> usize {
        self.retained
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .purge_expired(now)
    }

    /// Sessions that exist, and how many of them are kept for disconnected clients.
    pub fn session_counts(&self) -> (usize, usize) {
        let registry = lock(&self.registry);
        (registry.len(), registry.detached())
    }

    /// Sessions kept for clients that are not connected.
    pub fn offline_sessions(&self) -> Vec<registry::OfflineSession> {
        lock(&self.registry).offline_sessions()
    }

    /// Asks for the session of `client_id` on behalf of `connection`. A pending delayed will of
    /// that client is cancelled when its session is resumed.
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &self,
        client_id: &Arc<str>,
        clean_start: bool,
        expiry: Expiry,
        connection: u64,
        control: ControlSender,
        force: bool,
        now: Instant,
    ) -> Attach {
        let attach = lock(&self.registry).attach(
            client_id,
            clean_start,
            expiry,
            connection,
            control,
            || self.ids.next(),
            force,
        );
        if let Attach::Ready(attached) = &attach {
            self.routing.named(attached.cell.id, client_id);
            // A delayed will of the previous connection: dropped when its session is resumed
            // before the delay passed (MQTT 5 §3.1.3.2.2), published when that session ends.
            let pending = lock(&self.wills).remove(client_id);
            if let Some(ended) = &attached.ended {
                if let Some(pending) = pending {
                    self.publish_will(*pending.will, pending.publisher, now);
                }
                self.finish(ended);
            }
        }
        attach
    }

    /// Gives a session back at the end of its connection. `will` is the will to publish (the
    /// connection closed without a normal DISCONNECT), at once or after its delay.
    #[allow(clippy::too_many_arguments)]
    pub fn detach(
        &self,
        client_id: &Arc<str>,
        connection: u64,
        cell: Arc<SessionCell>,
        state: Box<SessionState>,
        will: Option<WillMessage>,
        taken_over: bool,
        now: Instant,
    ) {
        let publisher = cell.id;
        let detached =
            lock(&self.registry).detach(client_id, connection, cell, state, taken_over, now);
        match detached {
            Detached::Ended(ended) => {
                if let Some(will) = will {
                    self.publish_will(will, publisher, now);
                }
                self.finish(&ended);
            }
            Detached::Kept {
                generation,
                expires_at,
            } => {
                if let Some(at) = expires_at {
                    self.timers.schedule(
                        at,
                        Due::SessionExpiry {
                            client_id: client_id.clone(),
                            generation,
                        },
                    );
                }
                if let Some(will) = will {
                    if will.delay.is_zero() {
                        self.publish_will(will, publisher, now);
                        return;
                    }
                    let due = now + will.delay;
                    // When the session ends first, the will goes when it ends (see end_expired).
                    let session_ends_first = expires_at.is_some_and(|at| at <= due);
                    lock(&self.wills).insert(
                        client_id.clone(),
                        PendingWill {
                            generation,
                            publisher,
                            will: Box::new(will),
                        },
                    );
                    if !session_ends_first {
                        self.timers.schedule(
                            due,
                            Due::Will {
                                client_id: client_id.clone(),
                                generation,
                            },
                        );
                    }
                }
            }
        }
    }

    fn publish_will(&self, will: WillMessage, publisher: SessionId, now: Instant) {
        let message = Arc::new(will.into_message(publisher, now));
        let mut scratch = Vec::new();
        let mut congested = None;
        self.publish(message, &mut scratch, &mut congested);
        self.counters
            .wills_published
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Undoes an ended session: its subscriptions leave the tree and its mailbox closes.
    fn finish(&self, ended: &Ended) {
        self.routing.unnamed(ended.cell.id);
        if !ended.state.subscriptions.is_empty() {
            let mut tree = self
                .subscriptions
                .write()
                .unwrap_or_else(|p| p.into_inner());
            for filter in ended.state.subscriptions.keys() {
                if let Some(name) = FilterName::parse(filter) {
                    tree.remove(name, ended.cell.id);
                }
            }
        }
        ended.cell.close(&self.queued_bytes);
    }

    /// Ends a session the registry no longer holds (publishing its pending will).
    fn end_expired(&self, client_id: &Arc<str>, ended: Ended, generation: u64, now: Instant) {
        if let Some(pending) = self.take_will(client_id, generation) {
            self.publish_will(*pending.will, pending.publisher, now);
        }
        self.finish(&ended);
        self.counters
            .sessions_expired
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The pending will of `client_id`, if it belongs to session `generation`.
    fn take_will(&self, client_id: &str, generation: u64) -> Option<PendingWill> {
        let mut wills = lock(&self.wills);
        if wills.get(client_id)?.generation != generation {
            return None;
        }
        wills.remove(client_id)
    }

    /// Handles every deadline that has come.
    pub fn run_due(&self, now: Instant) {
        while let Some(due) = self.timers.pop_due(now) {
            match due {
                Due::SessionExpiry {
                    client_id,
                    generation,
                } => {
                    let ended = lock(&self.registry).expire(&client_id, generation);
                    if let Some(ended) = ended {
                        self.end_expired(&client_id, ended, generation, now);
                    }
                }
                Due::Will {
                    client_id,
                    generation,
                } => {
                    let still = lock(&self.registry).is_detached_generation(&client_id, generation);
                    if still {
                        if let Some(pending) = self.take_will(&client_id, generation) {
                            self.publish_will(*pending.will, pending.publisher, now);
                        }
                    }
                }
            }
        }
    }

    /// Runs the deadlines until `stop` resolves. Sleeps until the next deadline; costs nothing
    /// when there is none.
    pub async fn run_timers(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            self.run_due(Instant::now());
            let changed = self.timers.changed.notified();
            let next = self.timers.earliest();
            tokio::select! {
                _ = &mut stop => return,
                _ = changed => {}
                _ = async {
                    match next {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
    }

    /// Every attached connection's control channel.
    pub fn controls(&self) -> Vec<ControlSender> {
        lock(&self.registry).controls()
    }

    /// The control channel of the connection serving `client_id`.
    pub fn control_of(&self, client_id: &str) -> Option<ControlSender> {
        lock(&self.registry).control_of(client_id)
    }
}

#[cfg(test)]
mod tests;
