//! Routing explained, as the UI shows it: the embedded broker's latest routed messages (for the
//! live map and the routing view), what became of one message at every client, and "why didn't
//! this client get it?" over the latest messages. Built from the broker's routing record
//! ([`workbench_broker::router::explain`]); the words are the UI's, this sends what happened.

use serde::Serialize;
use workbench_broker::router::explain::{Explained, Handed, Outcome, RouteRecord};
use workbench_broker::router::message::Origin;
use workbench_broker::router::Router;

/// How a message came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub enum MessageOrigin {
    Client,
    Will,
    Broker,
}

/// One routed message, as the map animates it and the routing view lists it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RoutedMessage {
    #[specta(type = u32)]
    pub serial: f64,
    #[specta(type = u32)]
    pub time_ms: f64,
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub payload_len: u32,
    pub origin: MessageOrigin,
    /// The publisher's client id ("" for the broker's own).
    pub publisher: String,
    /// The clients it was sent or queued to, with the QoS of each delivery.
    pub receivers: Vec<Receiver>,
    /// Deliveries not listed (a message that went to very many clients).
    pub more: u32,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Receiver {
    pub client_id: String,
    pub qos: u8,
    /// Sent to a connected client (false: queued offline, or not delivered by a limit).
    pub sent: bool,
}

/// The latest routed messages after a serial.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RoutedPage {
    pub messages: Vec<RoutedMessage>,
    /// The latest serial: the next page asks for what is after it.
    #[specta(type = u32)]
    pub latest: f64,
    /// Messages routed after the asked serial that this page leaves out (sampled).
    #[specta(type = u32)]
    pub skipped: f64,
}

/// What became of a message at one client, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub enum RoutingOutcome {
    Delivered,
    QueuedOffline,
    Expired,
    RefusedByLimit,
    SkippedOffline,
    SessionEnded,
    NoMatchingFilter,
    NoLocal,
    SharedToOther,
    SubscribedLater,
    NotRecorded,
}

/// One client's line of an explanation.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RoutingLine {
    pub client_id: String,
    pub connected: bool,
    pub outcome: RoutingOutcome,
    /// Its subscriptions matching the topic, as subscribed.
    pub filters: Vec<String>,
    /// The delivery's QoS, min(published, subscribed), when delivered or queued.
    pub qos: Option<u8>,
    /// The retain flag as sent, when delivered or queued.
    pub retain: Option<bool>,
    /// For a shared subscription that gave it to another member: the group and that member.
    pub group: Option<String>,
    pub member: Option<String>,
}

/// A message and what became of it at every client the broker knows.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RoutingExplanation {
    pub message: RoutedMessage,
    pub lines: Vec<RoutingLine>,
}

/// The most messages one page or one question covers.
pub const MAX_MESSAGES: usize = 256;

fn routed_message(record: &RouteRecord) -> RoutedMessage {
    RoutedMessage {
        serial: record.serial as f64,
        time_ms: record.time_ms as f64,
        topic: record.topic.to_string(),
        qos: record.qos.bits(),
        retain: record.retain,
        payload_len: record.payload_len.min(u32::MAX as usize) as u32,
        origin: match record.origin {
            Origin::Client => MessageOrigin::Client,
            Origin::Will => MessageOrigin::Will,
            Origin::Broker => MessageOrigin::Broker,
        },
        publisher: record
            .publisher_id
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        receivers: record
            .delivered
            .iter()
            .filter(|d| matches!(d.handed, Handed::Sent | Handed::QueuedOffline))
            .map(|d| Receiver {
                client_id: d.client_id.to_string(),
                qos: d.qos.bits(),
                sent: d.handed == Handed::Sent,
            })
            .collect(),
        more: record.more.min(u32::MAX as usize) as u32,
    }
}

fn routing_line(line: Explained) -> RoutingLine {
    let (outcome, group, member) = match line.outcome {
        Outcome::Delivered => (RoutingOutcome::Delivered, None, None),
        Outcome::QueuedOffline => (RoutingOutcome::QueuedOffline, None, None),
        Outcome::Expired => (RoutingOutcome::Expired, None, None),
        Outcome::RefusedByLimit => (RoutingOutcome::RefusedByLimit, None, None),
        Outcome::SkippedOffline => (RoutingOutcome::SkippedOffline, None, None),
        Outcome::SessionEnded => (RoutingOutcome::SessionEnded, None, None),
        Outcome::NoMatchingFilter => (RoutingOutcome::NoMatchingFilter, None, None),
        Outcome::NoLocal => (RoutingOutcome::NoLocal, None, None),
        Outcome::SharedToOther { group, member } => {
            (RoutingOutcome::SharedToOther, Some(group), Some(member))
        }
        Outcome::SubscribedLater => (RoutingOutcome::SubscribedLater, None, None),
        Outcome::NotRecorded => (RoutingOutcome::NotRecorded, None, None),
    };
    RoutingLine {
        client_id: line.client_id.to_string(),
        connected: line.connected,
        outcome,
        filters: line.filters,
        qos: line.qos.map(|q| q.bits()),
        retain: line.retain,
        group,
        member,
    }
}

/// The messages routed after `after` (0: the latest ones kept), oldest first, at most `limit`:
/// the newest when more were routed (the map samples at high rates).
pub fn recent(router: &Router, after: u64, limit: usize) -> RoutedPage {
    let limit = limit.clamp(1, MAX_MESSAGES);
    let latest = router.routing.latest();
    let records = router.routing.since(after, limit);
    let newer = latest.saturating_sub(after);
    RoutedPage {
        skipped: newer.saturating_sub(records.len() as u64) as f64,
        latest: latest as f64,
        messages: records.iter().map(routed_message).collect(),
    }
}

/// What became of message `serial` at every client; `None` when it is no longer kept.
pub fn explain(router: &Router, serial: u64) -> Option<RoutingExplanation> {
    let (record, lines) = router.explain(serial)?;
    let mut lines: Vec<RoutingLine> = lines.into_iter().map(routing_line).collect();
    lines.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    Some(RoutingExplanation {
        message: routed_message(&record),
        lines,
    })
}

/// For each of the latest `limit` messages (newest first), what became of it at `client_id`.
pub fn why_not(router: &Router, client_id: &str, limit: usize) -> Vec<RoutingExplanation> {
    let records: Vec<RouteRecord> = router.routing.since(0, limit.clamp(1, MAX_MESSAGES));
    records
        .iter()
        .rev()
        .filter_map(|record| {
            let (record, lines) = router.explain(record.serial)?;
            let lines: Vec<RoutingLine> = lines
                .into_iter()
                .filter(|l| &*l.client_id == client_id)
                .map(routing_line)
                .collect();
            Some(RoutingExplanation {
                message: routed_message(&record),
                lines,
            })
        })
        .collect()
}
