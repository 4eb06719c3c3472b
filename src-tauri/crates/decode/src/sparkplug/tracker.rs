//! The state of a Sparkplug B system as one source's traffic shows it: each group's edge nodes
//! and their devices, online after a BIRTH and offline after a DEATH (or when the edge node's
//! connection is lost, which is when its will, the NDEATH, fires); host applications' STATE;
//! each edge node's `seq` (one more per message, 0 to 255) with gaps counted, its `bdSeq` (an
//! NDEATH whose bdSeq is not the BIRTH's is stale, flagged and ignored, as the specification
//! says), data before any BIRTH, and aliases the BIRTH never announced.
//!
//! Fed every PUBLISH of the source in order, from the traffic hub; bounded: at most
//! [`MAX_ENDPOINTS`] edge nodes and devices and [`MAX_ALIASES`] remembered aliases in all (more
//! are counted as not tracked), and the last [`MAX_ISSUES`] issues.

use super::message::state_online;
use super::proto::{self, MetricValue, Payload};
use super::{MessageKind, SparkplugTopic};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};

pub const MAX_ENDPOINTS: usize = 10_000;
pub const MAX_ALIASES: usize = 1_000_000;
pub const MAX_ISSUES: usize = 200;

/// The names and data types a BIRTH announced, by alias and by name.
#[derive(Debug, Clone, Default)]
pub struct BirthMetrics {
    pub by_alias: HashMap<u64, (String, u32)>,
    pub types: HashMap<String, u32>,
}

impl BirthMetrics {
    fn of(payload: &Payload) -> BirthMetrics {
        let mut birth = BirthMetrics::default();
        for metric in &payload.metrics {
            let (Some(name), datatype) = (&metric.name, metric.datatype.unwrap_or(0)) else {
                continue;
            };
            if let Some(alias) = metric.alias {
                birth.by_alias.insert(alias, (name.clone(), datatype));
            }
            birth.types.insert(name.clone(), datatype);
        }
        birth
    }

    fn size(&self) -> usize {
        self.by_alias.len() + self.types.len()
    }
}

/// Online, offline, or not known yet (data seen, never a BIRTH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    Unknown,
    Online,
    Offline,
}

/// Why an edge node or device went offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum OfflineReason {
    /// Its DEATH message.
    Death,
    /// Its edge node's NDEATH.
    NodeDeath,
    /// The edge node's MQTT connection closed (its will, the NDEATH, fires then).
    ConnectionLost,
}

#[derive(Debug, Default)]
struct Endpoint {
    presence: Option<Presence>,
    reason: Option<OfflineReason>,
    births: u32,
    deaths: u32,
    before_birth: u32,
    birth: Option<BirthMetrics>,
    last_ms: u64,
}

impl Endpoint {
    fn online(&self) -> bool {
        self.presence == Some(Presence::Online)
    }
    fn go_offline(&mut self, reason: OfflineReason) {
        if self.presence == Some(Presence::Online) {
            self.presence = Some(Presence::Offline);
            self.reason = Some(reason);
        }
    }
}

#[derive(Debug, Default)]
struct Node {
    endpoint: Endpoint,
    bd_seq: Option<u64>,
    last_seq: Option<u64>,
    seq_gaps: u32,
    /// The MQTT client that published the NBIRTH.
    client_id: Option<String>,
    devices: BTreeMap<String, Endpoint>,
}

/// What the tracker flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum IssueCode {
    /// `seq` is not one more than the last (`expected`, `got`).
    SeqGap,
    /// A message of the edge node has no `seq`.
    MissingSeq,
    /// An NBIRTH without the `bdSeq` metric.
    MissingBdSeq,
    /// An NDEATH whose `bdSeq` (`got`) is not the BIRTH's (`expected`): stale, ignored.
    StaleDeath,
    /// Data (or a DBIRTH) while the edge node or device has no BIRTH.
    BeforeBirth,
    /// A metric by an alias the BIRTH never announced (`got`).
    UnknownAlias,
    /// A topic in the namespace that is not a Sparkplug topic.
    BadTopic,
    /// A payload that does not decode.
    BadPayload,
}

/// One flagged message.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    #[specta(type = u32)]
    pub time_ms: f64,
    pub topic: String,
    pub code: IssueCode,
    pub expected: Option<f64>,
    pub got: Option<f64>,
    /// The decoder's reason, for bad topics and payloads.
    pub detail: Option<String>,
}

/// Every group, edge node, device and host application seen on one source.
#[derive(Debug, Default)]
pub struct SparkplugTracker {
    groups: BTreeMap<String, BTreeMap<String, Node>>,
    hosts: BTreeMap<String, (bool, u64)>,
    issues: VecDeque<Issue>,
    endpoints: usize,
    aliases: usize,
    not_tracked: u64,
    messages: u64,
}

impl SparkplugTracker {
    /// Reads one PUBLISH; topics outside `spBv1.0/` are ignored at the cost of a prefix check.
    pub fn observe(&mut self, topic: &str, payload: &[u8], time_ms: u64, client_id: &str) {
        let parsed = match SparkplugTopic::parse(topic) {
            None => return,
            Some(Err(e)) => {
                self.messages += 1;
                return self.flag(time_ms, topic, IssueCode::BadTopic, None, None, Some(e.0));
            }
            Some(Ok(parsed)) => parsed,
        };
        self.messages += 1;
        if parsed.kind == MessageKind::State {
            if let Some(online) = state_online(payload) {
                if self.hosts.len() < MAX_ENDPOINTS || self.hosts.contains_key(&parsed.node) {
                    self.hosts.insert(parsed.node, (online, time_ms));
                }
            } else {
                let detail = "a STATE message is JSON with a boolean \"online\"";
                self.flag(
                    time_ms,
                    topic,
                    IssueCode::BadPayload,
                    None,
                    None,
                    Some(detail),
                );
            }
            return;
        }
        let payload = match proto::decode(payload) {
            Ok(p) => p,
            Err(e) => {
                let detail = e.to_string();
                return self.flag(
                    time_ms,
                    topic,
                    IssueCode::BadPayload,
                    None,
                    None,
                    Some(&detail),
                );
            }
        };
        if !self.make_room(&parsed) {
            self.not_tracked += 1;
            return;
        }
        let mut flags: Vec<(IssueCode, Option<f64>, Option<f64>)> = Vec::new();
        let mut alias_delta: isize = 0;
        let groups = &mut self.groups;
        let node = groups
            .entry(parsed.group.clone())
            .or_default()
            .entry(parsed.node.clone())
            .or_default();
        node.endpoint.last_ms = time_ms;
        // Sequence numbers: every message an edge node sends but its NDEATH.
        let sequenced = !matches!(
            parsed.kind,
            MessageKind::NDeath | MessageKind::NCmd | MessageKind::DCmd
        );
        if sequenced {
            match payload.seq {
                None => flags.push((IssueCode::MissingSeq, None, None)),
                Some(seq) => {
                    if parsed.kind != MessageKind::NBirth {
                        if let Some(last) = node.last_seq {
                            let expected = (last + 1) % 256;
                            if seq != expected {
                                node.seq_gaps += 1;
                                flags.push((
                                    IssueCode::SeqGap,
                                    Some(expected as f64),
                                    Some(seq as f64),
                                ));
                            }
                        }
                    }
                    node.last_seq = Some(seq);
                }
            }
        }
        match parsed.kind {
            MessageKind::NBirth => {
                let birth = BirthMetrics::of(&payload);
                alias_delta += birth.size() as isize;
                if let Some(old) = node.endpoint.birth.replace(birth) {
                    alias_delta -= old.size() as isize;
                }
                node.bd_seq = bd_seq(&payload);
                if node.bd_seq.is_none() {
                    flags.push((IssueCode::MissingBdSeq, None, None));
                }
                node.endpoint.presence = Some(Presence::Online);
                node.endpoint.reason = None;
                node.endpoint.births += 1;
                node.client_id = Some(client_id.to_owned());
            }
            MessageKind::NDeath => {
                let death = bd_seq(&payload);
                match (node.bd_seq, death) {
                    (Some(born), Some(died)) if born != died => {
                        flags.push((IssueCode::StaleDeath, Some(born as f64), Some(died as f64)))
                    }
                    _ => {
                        node.endpoint.deaths += 1;
                        if node.endpoint.presence.is_none() {
                            node.endpoint.presence = Some(Presence::Offline);
                        }
                        node.endpoint.go_offline(OfflineReason::Death);
                        for device in node.devices.values_mut() {
                            device.go_offline(OfflineReason::NodeDeath);
                        }
                        node.last_seq = None;
                    }
                }
            }
            MessageKind::NData => {
                if !node.endpoint.online() {
                    node.endpoint.before_birth += 1;
                    flags.push((IssueCode::BeforeBirth, None, None));
                }
                unknown_aliases(&payload, node.endpoint.birth.as_ref(), &mut flags);
            }
            MessageKind::NCmd | MessageKind::DCmd | MessageKind::State => {}
            MessageKind::DBirth | MessageKind::DDeath | MessageKind::DData => {
                let node_online = node.endpoint.online();
                let id = parsed.device.clone().unwrap_or_default();
                let device = node.devices.entry(id).or_default();
                device.last_ms = time_ms;
                match parsed.kind {
                    MessageKind::DBirth => {
                        if !node_online {
                            flags.push((IssueCode::BeforeBirth, None, None));
                        }
                        let birth = BirthMetrics::of(&payload);
                        alias_delta += birth.size() as isize;
                        if let Some(old) = device.birth.replace(birth) {
                            alias_delta -= old.size() as isize;
                        }
                        device.presence = Some(Presence::Online);
                        device.reason = None;
                        device.births += 1;
                    }
                    MessageKind::DDeath => {
                        device.deaths += 1;
                        if device.presence.is_none() {
                            device.presence = Some(Presence::Offline);
                        }
                        device.go_offline(OfflineReason::Death);
                    }
                    _ => {
                        if !device.online() {
                            device.before_birth += 1;
                            flags.push((IssueCode::BeforeBirth, None, None));
                        }
                        unknown_aliases(&payload, device.birth.as_ref(), &mut flags);
                    }
                }
            }
        }
        self.aliases = self.aliases.saturating_add_signed(alias_delta);
        for (code, expected, got) in flags {
            self.flag(time_ms, topic, code, expected, got, None);
        }
    }

    /// Whether the message's edge node and device can be tracked (counting new ones).
    fn make_room(&mut self, topic: &SparkplugTopic) -> bool {
        let node = self
            .groups
            .get(&topic.group)
            .and_then(|g| g.get(&topic.node));
        let new = match (node, &topic.device) {
            (None, None) => 1,
            (None, Some(_)) => 2,
            (Some(n), Some(d)) if !n.devices.contains_key(d) => 1,
            _ => 0,
        };
        if self.endpoints + new > MAX_ENDPOINTS || self.aliases > MAX_ALIASES {
            return new == 0 && self.aliases <= MAX_ALIASES;
        }
        self.endpoints += new;
        true
    }

    /// The edge node's MQTT connection closed: the nodes it gave BIRTH to are offline (their
    /// will, the NDEATH, is what the broker publishes then), and so are their devices.
    pub fn connection_lost(&mut self, client_id: &str) {
        for node in self.groups.values_mut().flat_map(|g| g.values_mut()) {
            if node.client_id.as_deref() == Some(client_id) && node.endpoint.online() {
                node.endpoint.go_offline(OfflineReason::ConnectionLost);
                for device in node.devices.values_mut() {
                    device.go_offline(OfflineReason::NodeDeath);
                }
            }
        }
    }

    /// The BIRTH that names the aliases of messages on `topic`.
    pub fn birth_for(&self, topic: &SparkplugTopic) -> Option<&BirthMetrics> {
        let node = self.groups.get(&topic.group)?.get(&topic.node)?;
        match &topic.device {
            Some(device) => node.devices.get(device)?.birth.as_ref(),
            None => node.endpoint.birth.as_ref(),
        }
    }

    /// Sparkplug messages read so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    fn flag(
        &mut self,
        time_ms: u64,
        topic: &str,
        code: IssueCode,
        expected: Option<f64>,
        got: Option<f64>,
        detail: Option<&str>,
    ) {
        if self.issues.len() == MAX_ISSUES {
            self.issues.pop_front();
        }
        self.issues.push_back(Issue {
            time_ms: time_ms as f64,
            topic: topic.chars().take(512).collect(),
            code,
            expected,
            got,
            detail: detail.map(str::to_owned),
        });
    }

    /// What the Sparkplug view shows.
    pub fn view(&self) -> StateView {
        let endpoint = |id: &str, e: &Endpoint| EndpointView {
            id: id.to_owned(),
            presence: e.presence.unwrap_or(Presence::Unknown),
            reason: e.reason,
            births: e.births,
            deaths: e.deaths,
            before_birth: e.before_birth,
            metrics: e.birth.as_ref().map_or(0, |b| b.types.len() as u32),
            last_ms: e.last_ms as f64,
        };
        StateView {
            groups: self
                .groups
                .iter()
                .map(|(name, nodes)| GroupView {
                    name: name.clone(),
                    nodes: nodes
                        .iter()
                        .map(|(id, n)| NodeView {
                            node: endpoint(id, &n.endpoint),
                            bd_seq: n.bd_seq.map(|b| b as f64),
                            last_seq: n.last_seq.map(|s| s as f64),
                            seq_gaps: n.seq_gaps,
                            client_id: n.client_id.clone(),
                            devices: n.devices.iter().map(|(d, e)| endpoint(d, e)).collect(),
                        })
                        .collect(),
                })
                .collect(),
            hosts: self
                .hosts
                .iter()
                .map(|(id, (online, at))| HostView {
                    id: id.clone(),
                    online: *online,
                    time_ms: *at as f64,
                })
                .collect(),
            issues: self.issues.iter().rev().cloned().collect(),
            messages: self.messages as f64,
            not_tracked: self.not_tracked as f64,
        }
    }
}

/// The `bdSeq` metric of an NBIRTH or NDEATH.
fn bd_seq(payload: &Payload) -> Option<u64> {
    payload
        .metrics
        .iter()
        .find(|m| m.name.as_deref() == Some("bdSeq"))
        .and_then(|m| match m.value {
            Some(MetricValue::Long(v)) => Some(v),
            Some(MetricValue::Int(v)) => Some(u64::from(v)),
            _ => None,
        })
}

fn unknown_aliases(
    payload: &Payload,
    birth: Option<&BirthMetrics>,
    flags: &mut Vec<(IssueCode, Option<f64>, Option<f64>)>,
) {
    let unknown = payload
        .metrics
        .iter()
        .find_map(|m| match (&m.name, m.alias) {
            (None, Some(alias)) if birth.is_none_or(|b| !b.by_alias.contains_key(&alias)) => {
                Some(alias)
            }
            _ => None,
        });
    if let Some(alias) = unknown {
        flags.push((IssueCode::UnknownAlias, None, Some(alias as f64)));
    }
}

/// The whole state, for the UI.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    pub groups: Vec<GroupView>,
    pub hosts: Vec<HostView>,
    /// Newest first.
    pub issues: Vec<Issue>,
    #[specta(type = u32)]
    pub messages: f64,
    /// Messages of edge nodes or devices past the limits, not tracked.
    #[specta(type = u32)]
    pub not_tracked: f64,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct GroupView {
    pub name: String,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    pub node: EndpointView,
    pub bd_seq: Option<f64>,
    pub last_seq: Option<f64>,
    pub seq_gaps: u32,
    pub client_id: Option<String>,
    pub devices: Vec<EndpointView>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    pub id: String,
    pub presence: Presence,
    pub reason: Option<OfflineReason>,
    pub births: u32,
    pub deaths: u32,
    pub before_birth: u32,
    /// Metrics its BIRTH announced.
    pub metrics: u32,
    #[specta(type = u32)]
    pub last_ms: f64,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct HostView {
    pub id: String,
    pub online: bool,
    #[specta(type = u32)]
    pub time_ms: f64,
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
