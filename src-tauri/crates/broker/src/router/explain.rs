//! Routing explained: a bounded record of what routing did with each recent message (who it
//! went to, at what QoS, whether it was queued for an offline session or refused by a full
//! queue), and the explanation built from it on demand for every session the broker knows:
//! delivered and through which filter, queued, or why not.
//!
//! Recording is the cheap part (one short lock and one small vector per routed message, at
//! most [`RECORDS`] messages of at most [`TARGETS_RECORDED`] deliveries each); explaining is done
//! only when someone asks, against the subscription tree as it is then. It never changes
//! routing.

use super::message::{Origin, SessionId, BROKER_ORIGIN};
use super::session::{Pushed, SessionCell};
use super::subscriptions::Matched;
use smallvec::SmallVec;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use wire::codec::QoS;

/// Messages whose routing is remembered.
pub const RECORDS: usize = 256;
/// Deliveries remembered per message; beyond that they are only counted.
pub const TARGETS_RECORDED: usize = 256;

/// What became of one message at one session, as routing saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handed {
    /// Queued for a connected session (it is sent from there).
    Sent,
    /// Queued for a session whose client is not connected.
    QueuedOffline,
    /// The session's queue (or the broker's total) was full: dropped.
    RefusedByLimit,
    /// QoS 0 while the client is offline: not kept (unless the broker keeps QoS 0 offline).
    SkippedOffline,
    /// The session ended just then.
    SessionEnded,
}

/// One delivery routing made.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub session: SessionId,
    pub client_id: Arc<str>,
    /// QoS of the delivery: min(published QoS, the subscription's).
    pub qos: QoS,
    /// The retain flag as it is sent.
    pub retain: bool,
    /// Chosen as the member of a shared subscription group.
    pub shared: bool,
    pub handed: Handed,
}

/// What routing did with one message.
#[derive(Debug, Clone)]
pub struct RouteRecord {
    /// Counts routed messages from 1 (never reused while the broker's router lives).
    pub serial: u64,
    pub time_ms: u64,
    pub topic: Arc<str>,
    pub qos: QoS,
    pub retain: bool,
    pub payload_len: usize,
    pub origin: Origin,
    pub publisher: SessionId,
    /// The publisher's client id (`None` for the broker's own messages).
    pub publisher_id: Option<Arc<str>>,
    pub expires_at: Option<Instant>,
    /// Inline for the usual few receivers: recording allocates nothing for them.
    pub delivered: SmallVec<[Delivered; 4]>,
    /// Deliveries beyond [`TARGETS_RECORDED`], counted only.
    pub more: usize,
}

#[derive(Debug, Default)]
struct Log {
    records: VecDeque<RouteRecord>,
    serial: u64,
    /// Client ids of the sessions alive now (for the publisher's name).
    names: HashMap<SessionId, Arc<str>>,
}

/// The routing record of the latest [`RECORDS`] messages.
#[derive(Debug, Default)]
pub struct RoutingLog {
    log: Mutex<Log>,
}

impl RoutingLog {
    // std Mutex: held for one push or one copy, never across an await.
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session of `client_id` exists now.
    pub fn named(&self, session: SessionId, client_id: &Arc<str>) {
        self.lock().names.insert(session, client_id.clone());
    }

    /// A session ended.
    pub fn unnamed(&self, session: SessionId) {
        self.lock().names.remove(&session);
    }

    /// Starts the record of one message; deliveries are added with [`RecordDraft::add`].
    pub fn draft(&self, message: &super::message::Message) -> RecordDraft {
        RecordDraft(RouteRecord {
            serial: 0,
            time_ms: wire::now_ms(),
            topic: message.topic.clone(),
            qos: message.qos,
            retain: message.retain,
            payload_len: message.payload.len(),
            origin: message.origin,
            publisher: message.publisher,
            publisher_id: None,
            expires_at: message.expires_at,
            delivered: SmallVec::new(),
            more: 0,
        })
    }

    /// Keeps a finished record, forgetting the oldest beyond [`RECORDS`].
    pub fn keep(&self, draft: RecordDraft) {
        let mut record = draft.0;
        let mut log = self.lock();
        log.serial += 1;
        record.serial = log.serial;
        if record.publisher != BROKER_ORIGIN {
            if let Some(name) = log.names.get(&record.publisher) {
                record.publisher_id = Some(name.clone());
            }
        }
        if log.records.len() >= RECORDS {
            log.records.pop_front();
        }
        log.records.push_back(record);
    }

    /// The records newer than `after` (a serial; 0 for all), oldest first, at most `limit`
    /// (the newest ones when there are more).
    pub fn since(&self, after: u64, limit: usize) -> Vec<RouteRecord> {
        let log = self.lock();
        let newer = log.records.iter().filter(|r| r.serial > after).count();
        log.records
            .iter()
            .filter(|r| r.serial > after)
            .skip(newer.saturating_sub(limit))
            .cloned()
            .collect()
    }

    /// One record, if still kept.
    pub fn get(&self, serial: u64) -> Option<RouteRecord> {
        let log = self.lock();
        log.records.iter().find(|r| r.serial == serial).cloned()
    }

    /// The serial of the latest record (0: none yet).
    pub fn latest(&self) -> u64 {
        self.lock().serial
    }
}

/// A record being filled while a message is routed.
#[derive(Debug)]
pub struct RecordDraft(RouteRecord);

impl RecordDraft {
    /// Notes what offering the message to `session` did.
    pub fn add(
        &mut self,
        session: &SessionCell,
        qos: QoS,
        retain: bool,
        shared: bool,
        online: bool,
        pushed: Pushed,
    ) {
        if self.0.delivered.len() >= TARGETS_RECORDED {
            self.0.more += 1;
            return;
        }
        let handed = match pushed {
            Pushed::Queued { .. } if online => Handed::Sent,
            Pushed::Queued { .. } => Handed::QueuedOffline,
            Pushed::Dropped => Handed::RefusedByLimit,
            Pushed::Skipped if online => Handed::SessionEnded,
            Pushed::Skipped => Handed::SkippedOffline,
        };
        self.0.delivered.push(Delivered {
            session: session.id,
            client_id: session.client_id.clone(),
            qos,
            retain,
            shared,
            handed,
        });
    }
}

/// Why a session got a message or did not, in a form the views put into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent to the connected client.
    Delivered,
    /// Queued for its offline persistent session.
    QueuedOffline,
    /// Queued for the offline session, but the message expired before the client came back.
    Expired,
    /// A limit refused it: the session's queue or the broker's total was full.
    RefusedByLimit,
    /// QoS 0 and the client offline: QoS 0 messages are not kept for offline sessions.
    SkippedOffline,
    /// The session ended as the message was routed.
    SessionEnded,
    /// No subscription of this session matches the topic.
    NoMatchingFilter,
    /// Its only matching subscription has no-local set and it published the message itself.
    NoLocal,
    /// It matches only through shared subscription groups, which gave it to another member.
    SharedToOther { group: String, member: String },
    /// A matching subscription exists now but was made after the message was routed.
    SubscribedLater,
    /// The broker knows nothing more (the routing record listed more clients than it keeps).
    NotRecorded,
}

/// One session's line of an explanation.
#[derive(Debug, Clone)]
pub struct Explained {
    pub client_id: Arc<str>,
    pub connected: bool,
    pub outcome: Outcome,
    /// The filters of this session that match the topic, as subscribed (`$share/g/f` for shared).
    pub filters: Vec<String>,
    /// The delivery's QoS and retain flag, when it was delivered or queued.
    pub qos: Option<QoS>,
    pub retain: Option<bool>,
}

/// A known session: its id, client id and whether its client is connected.
#[derive(Debug, Clone)]
pub struct KnownSession {
    pub session: SessionId,
    pub client_id: Arc<str>,
    pub connected: bool,
}

/// Explains `record` for every session in `sessions` and every session it was delivered to
/// (which may have gone since), given the subscriptions matching its topic now.
pub fn explain(
    record: &RouteRecord,
    sessions: &[KnownSession],
    matching: &[Matched],
    now: Instant,
) -> Vec<Explained> {
    let mut lines: Vec<Explained> = Vec::new();
    let mut seen: HashMap<SessionId, usize> = HashMap::new();
    let filters_of = |session: SessionId| -> Vec<String> {
        matching
            .iter()
            .filter(|m| m.session == session)
            .map(|m| m.subscribed_as())
            .collect()
    };
    let connected_now =
        |session: SessionId| sessions.iter().any(|s| s.session == session && s.connected);
    for delivered in &record.delivered {
        let outcome = match delivered.handed {
            Handed::Sent => Outcome::Delivered,
            Handed::QueuedOffline
                if record.expires_at.is_some_and(|at| at <= now)
                    && !connected_now(delivered.session) =>
            {
                Outcome::Expired
            }
            Handed::QueuedOffline => Outcome::QueuedOffline,
            Handed::RefusedByLimit => Outcome::RefusedByLimit,
            Handed::SkippedOffline => Outcome::SkippedOffline,
            Handed::SessionEnded => Outcome::SessionEnded,
        };
        seen.insert(delivered.session, lines.len());
        lines.push(Explained {
            client_id: delivered.client_id.clone(),
            connected: connected_now(delivered.session),
            outcome,
            filters: filters_of(delivered.session),
            qos: Some(delivered.qos),
            retain: Some(delivered.retain),
        });
    }
    for known in sessions {
        if seen.contains_key(&known.session) {
            continue;
        }
        let mine: Vec<&Matched> = matching
            .iter()
            .filter(|m| m.session == known.session)
            .collect();
        let outcome = if record.more > 0 && !mine.is_empty() {
            Outcome::NotRecorded
        } else if mine.is_empty() {
            Outcome::NoMatchingFilter
        } else if mine
            .iter()
            .all(|m| m.no_local && m.session == record.publisher && m.group.is_none())
        {
            Outcome::NoLocal
        } else if let Some(shared) = mine.iter().find(|m| m.group.is_some()) {
            let group = shared.group.clone().unwrap_or_default();
            let member = record
                .delivered
                .iter()
                .filter(|d| d.shared)
                .find(|d| {
                    matching.iter().any(|m| {
                        m.session == d.session && m.group.as_deref() == Some(group.as_str())
                    })
                })
                .map(|d| d.client_id.to_string());
            match member {
                Some(member) if mine.iter().all(|m| m.group.is_some()) => {
                    Outcome::SharedToOther { group, member }
                }
                _ => Outcome::SubscribedLater,
            }
        } else {
            Outcome::SubscribedLater
        };
        lines.push(Explained {
            client_id: known.client_id.clone(),
            connected: known.connected,
            outcome,
            filters: mine.iter().map(|m| m.subscribed_as()).collect(),
            qos: None,
            retain: None,
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::message::Message;
    use crate::router::session::new_cell;

    #[test]
    fn the_record_is_bounded_in_messages_and_in_deliveries_per_message() {
        let log = RoutingLog::default();
        let publisher = new_cell(7, "pub");
        log.named(7, &publisher.client_id);
        let subscriber = new_cell(8, "sub");
        for i in 0..(RECORDS + 44) {
            let mut message = Message::new("t", vec![1], QoS::AtLeastOnce, false);
            message.publisher = 7;
            let mut draft = log.draft(&message);
            let deliveries = if i == 0 { TARGETS_RECORDED + 5 } else { 1 };
            for _ in 0..deliveries {
                draft.add(
                    &subscriber,
                    QoS::AtMostOnce,
                    false,
                    false,
                    true,
                    Pushed::Queued { congested: false },
                );
            }
            log.keep(draft);
        }
        let kept = log.since(0, usize::MAX);
        assert_eq!(kept.len(), RECORDS);
        assert_eq!(kept[0].serial, 45, "the oldest are forgotten");
        assert_eq!(log.latest(), (RECORDS + 44) as u64);
        assert_eq!(kept[0].publisher_id.as_deref(), Some("pub"));
        assert_eq!(kept[0].delivered[0].handed, Handed::Sent);
        assert_eq!(
            log.since(RECORDS as u64 + 40, 2)
                .iter()
                .map(|r| r.serial)
                .collect::<Vec<_>>(),
            [299, 300]
        );
        log.unnamed(7);
        let mut message = Message::new("t", vec![], QoS::AtMostOnce, false);
        message.publisher = 7;
        log.keep(log.draft(&message));
        assert_eq!(
            log.get(301).expect("kept").publisher_id,
            None,
            "a session that ended"
        );
    }

    #[test]
    fn more_deliveries_than_recorded_are_counted() {
        let log = RoutingLog::default();
        let subscriber = new_cell(8, "sub");
        let mut draft = log.draft(&Message::new("t", vec![], QoS::AtMostOnce, false));
        for _ in 0..TARGETS_RECORDED + 5 {
            draft.add(
                &subscriber,
                QoS::AtMostOnce,
                false,
                false,
                false,
                Pushed::Skipped,
            );
        }
        log.keep(draft);
        let record = log.get(1).expect("kept");
        assert_eq!(record.delivered.len(), TARGETS_RECORDED);
        assert_eq!(record.more, 5);
        assert_eq!(record.delivered[0].handed, Handed::SkippedOffline);
    }

    /// What recording costs per message, next to routing it: `cargo test --release -p
    /// workbench-broker --lib routing_record_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, run by hand in release"]
    fn routing_record_cost() {
        use crate::router::Router;
        let router = Router::new(crate::Limits::default().router_limits());
        let subscriber = new_cell(8, "sub");
        let mut message = Message::new("home/kitchen/temp", vec![0; 100], QoS::AtMostOnce, false);
        message.origin = Origin::Client;
        message.publisher = 7;
        let message = std::sync::Arc::new(message);
        const N: u32 = 1_000_000;
        let (mut scratch, mut congested) = (Vec::new(), None);
        let started = std::time::Instant::now();
        for _ in 0..N {
            router.publish(message.clone(), &mut scratch, &mut congested);
        }
        let routed = started.elapsed() / N;
        let log = RoutingLog::default();
        let started = std::time::Instant::now();
        for _ in 0..N {
            let mut draft = log.draft(&message);
            draft.add(
                &subscriber,
                QoS::AtMostOnce,
                false,
                false,
                true,
                Pushed::Queued { congested: false },
            );
            log.keep(draft);
        }
        let recorded = started.elapsed() / N;
        println!("routing a message to nobody (record included): {routed:?}; recording one delivery alone: {recorded:?}");
    }
}
