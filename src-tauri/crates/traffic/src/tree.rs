//! The topic tree of one source: a node per topic level, with counts, bytes, the last message
//! time, a retained marker, a short payload preview, a rate estimate and a bounded history.
//!
//! Nodes live in one arena (`Vec`). A topic that received messages is found through one hash map
//! of full topics, so a message for a known topic costs one lookup plus a walk up its ancestors;
//! a new topic walks its levels through each node's children. Memory is linear in what arrived:
//! a node keeps only its own level's name, so a topic of L bytes costs O(L), whatever its depth.
//!
//! Nodes are never removed (topics are few next to messages); histories are what the memory
//! limits trim. Topics deeper than [`MAX_DEPTH`] levels, and new topics once the tree holds
//! [`MAX_NODES`] nodes, are counted but not placed in the tree ([`TopicTree::not_shown`]).

use super::history::{History, HistoryLimits, StoredMessage};
use super::rates::TopicRate;
use bytes::Bytes;
use std::collections::HashMap;

/// A node's index in the arena.
pub type NodeId = u32;

/// The root: the empty name above every first level.
pub const ROOT: NodeId = 0;

/// Bytes of payload kept as a node's preview.
pub const PREVIEW_BYTES: usize = 48;

/// The deepest topic the tree shows, in levels; deeper ones are counted, not shown.
pub const MAX_DEPTH: usize = 128;

/// The most nodes one source's tree holds; later new topics are counted, not shown.
pub const MAX_NODES: usize = 500_000;

/// Children looked up by a linear scan up to this many; a hash map beyond.
const SCAN_CHILDREN: usize = 8;

/// Distinct topics remembered (as hashes) to count those not shown.
const NOT_SHOWN_REMEMBERED: usize = 100_000;

/// One topic level.
#[derive(Debug, Clone)]
pub struct Node {
    /// This level's name (may be empty: `a//b` has an empty middle level).
    pub name: Box<str>,
    pub parent: NodeId,
    pub children: Vec<NodeId>,
    /// The children by name, once there are more than a few. Boxed: most nodes have none, and a
    /// bare map would add 40 bytes to every node.
    #[allow(clippy::box_collection)]
    by_name: Option<Box<HashMap<Box<str>, NodeId>>>,
    /// Children are kept in arrival order and sorted by name only when a view needs them.
    pub children_sorted: bool,
    pub depth: u16,
    /// Messages published to exactly this topic.
    pub own_count: u64,
    /// Messages to this topic and every topic below it.
    pub subtree_count: u64,
    /// Payload bytes published to exactly this topic.
    pub bytes: u64,
    /// When this topic or one below it last got a message (ms since the Unix epoch; 0: never).
    pub last_time_ms: u64,
    /// When this exact topic last got a message (for history eviction).
    pub own_last_time_ms: u64,
    /// The broker holds a retained message for this topic.
    pub retained: bool,
    preview: [u8; PREVIEW_BYTES],
    preview_len: u8,
    pub last_payload_len: u32,
    pub rate: TopicRate,
    pub history: History,
}

impl Node {
    fn new(name: &str, parent: NodeId, depth: u16) -> Node {
        Node {
            name: name.into(),
            parent,
            children: Vec::new(),
            by_name: None,
            children_sorted: true,
            depth,
            own_count: 0,
            subtree_count: 0,
            bytes: 0,
            last_time_ms: 0,
            own_last_time_ms: 0,
            retained: false,
            preview: [0; PREVIEW_BYTES],
            preview_len: 0,
            last_payload_len: 0,
            rate: TopicRate::default(),
            history: History::default(),
        }
    }

    /// The first bytes of the last payload.
    pub fn preview(&self) -> &[u8] {
        &self.preview[..usize::from(self.preview_len)]
    }
}

/// A message as the tree records it.
#[derive(Debug, Clone)]
pub struct Incoming<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    pub retain: bool,
    pub time_ms: u64,
}

/// Messages to topics the tree does not show (too deep, or beyond its size).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NotShown {
    /// Distinct topics (counted exactly up to 100,000, then no more).
    pub topics: u64,
    pub messages: u64,
}

/// The topic tree of one source.
#[derive(Debug)]
pub struct TopicTree {
    nodes: Vec<Node>,
    /// Topics that received messages, by their full name.
    topics: HashMap<Box<str>, NodeId>,
    not_shown: NotShown,
    not_shown_seen: std::collections::HashSet<u64>,
    limits: HistoryLimits,
    history_bytes: usize,
    /// Bumped when a node is added: views cache their flattened rows against it.
    structure_version: u64,
    messages: u64,
}

impl TopicTree {
    pub fn new(limits: HistoryLimits) -> TopicTree {
        TopicTree {
            nodes: vec![Node::new("", ROOT, 0)],
            topics: HashMap::new(),
            not_shown: NotShown::default(),
            not_shown_seen: std::collections::HashSet::new(),
            limits,
            history_bytes: 0,
            structure_version: 0,
            messages: 0,
        }
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize)
    }

    pub fn len(&self) -> usize {
        self.nodes.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    pub fn structure_version(&self) -> u64 {
        self.structure_version
    }

    /// Messages recorded since the tree was made or cleared.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Bytes the histories hold, as the limits count them.
    pub fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    pub fn limits(&self) -> HistoryLimits {
        self.limits
    }

    /// Messages and topics not shown in the tree.
    pub fn not_shown(&self) -> NotShown {
        self.not_shown
    }

    /// The child of `parent` named `level`.
    fn child(&self, parent: NodeId, level: &str) -> Option<NodeId> {
        let node = &self.nodes[parent as usize];
        match &node.by_name {
            Some(map) => map.get(level).copied(),
            None => node
                .children
                .iter()
                .copied()
                .find(|c| &*self.nodes[*c as usize].name == level),
        }
    }

    /// The node for a full topic (or a level above one), if it has been seen.
    pub fn find(&self, topic: &str) -> Option<NodeId> {
        if let Some(id) = self.topics.get(topic) {
            return Some(*id);
        }
        let mut at = ROOT;
        for level in topic.split('/') {
            at = self.child(at, level)?;
        }
        Some(at)
    }

    /// The full topic of a node (its levels joined by '/').
    pub fn topic_of(&self, id: NodeId) -> String {
        let mut levels = Vec::new();
        let mut at = id;
        while at != ROOT {
            let node = &self.nodes[at as usize];
            levels.push(&*node.name);
            at = node.parent;
        }
        levels.reverse();
        levels.join("/")
    }

    /// The node for `topic`, creating it and any missing ancestors; `None` when the topic is
    /// too deep, or new while the tree is full.
    fn node_for(&mut self, topic: &str) -> Option<NodeId> {
        if let Some(id) = self.topics.get(topic) {
            return Some(*id);
        }
        if topic.split('/').nth(MAX_DEPTH).is_some() {
            return None;
        }
        let mut parent = ROOT;
        for (index, level) in topic.split('/').enumerate() {
            parent = match self.child(parent, level) {
                Some(id) => id,
                None => {
                    if self.nodes.len() >= MAX_NODES {
                        return None;
                    }
                    let id = self.nodes.len() as NodeId;
                    self.nodes.push(Node::new(level, parent, index as u16 + 1));
                    let parent_node = &mut self.nodes[parent as usize];
                    parent_node.children.push(id);
                    parent_node.children_sorted = false;
                    if let Some(map) = &mut parent_node.by_name {
                        map.insert(level.into(), id);
                    } else if parent_node.children.len() > SCAN_CHILDREN {
                        let children = parent_node.children.clone();
                        let map = children
                            .into_iter()
                            .map(|c| (self.nodes[c as usize].name.clone(), c))
                            .collect();
                        self.nodes[parent as usize].by_name = Some(Box::new(map));
                    }
                    self.structure_version += 1;
                    id
                }
            };
        }
        self.topics.insert(topic.into(), parent);
        Some(parent)
    }

    /// Counts a message the tree does not show.
    fn not_shown_message(&mut self, topic: &str) {
        use std::hash::{BuildHasher, BuildHasherDefault};
        self.not_shown.messages += 1;
        if self.not_shown_seen.len() < NOT_SHOWN_REMEMBERED {
            let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .hash_one(topic);
            if self.not_shown_seen.insert(hash) {
                self.not_shown.topics += 1;
            }
        }
    }

    /// Notes that a topic's retained message was deleted (an empty retained publish that was
    /// sent, not received: a session deleting it on its broker).
    pub fn forget_retained(&mut self, topic: &str) {
        if let Some(id) = self.find(topic) {
            self.nodes[id as usize].retained = false;
        }
    }

    /// Records one message. Returns the topic's node (`None`: counted, not shown).
    pub fn record(&mut self, message: &Incoming<'_>) -> Option<NodeId> {
        self.record_with(message, None)
    }

    /// Records one message with its MQTT 5 properties (kept in its history entry).
    pub fn record_with(
        &mut self,
        message: &Incoming<'_>,
        properties: Option<Box<[workbench_wire::Field]>>,
    ) -> Option<NodeId> {
        self.messages += 1;
        let Some(id) = self.node_for(message.topic) else {
            self.not_shown_message(message.topic);
            return None;
        };
        let second = message.time_ms / 1000;
        let len = message.payload.len();
        let limits = self.limits;
        let node = &mut self.nodes[id as usize];
        node.own_count += 1;
        node.bytes += len as u64;
        node.own_last_time_ms = message.time_ms;
        node.last_payload_len = len.min(u32::MAX as usize) as u32;
        let preview = len.min(PREVIEW_BYTES);
        node.preview[..preview].copy_from_slice(&message.payload[..preview]);
        node.preview_len = preview as u8;
        if message.retain {
            // A retained message with an empty payload deletes the retained message.
            node.retained = len > 0;
        }
        node.rate.record(second, len as u64);
        let change = node.history.push(
            StoredMessage {
                time_ms: message.time_ms,
                qos: message.qos,
                retain: message.retain,
                payload: Bytes::copy_from_slice(message.payload),
                properties,
            },
            &limits,
        );
        self.history_bytes = (self.history_bytes as isize + change).max(0) as usize;

        let mut at = id;
        loop {
            let node = &mut self.nodes[at as usize];
            node.subtree_count += 1;
            node.last_time_ms = node.last_time_ms.max(message.time_ms);
            if at == ROOT {
                break;
            }
            at = node.parent;
        }
        if self.history_bytes > limits.total_bytes {
            self.evict();
        }
        Some(id)
    }

    /// Brings the histories under 90% of the global limit, dropping the history of the least
    /// recently active topics first. The slack keeps this from running on every message.
    fn evict(&mut self) {
        let target = self.limits.total_bytes / 10 * 9;
        let mut candidates: Vec<(u64, NodeId)> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.history.is_empty())
            .map(|(i, n)| (n.own_last_time_ms, i as NodeId))
            .collect();
        candidates.sort_unstable();
        for (_, id) in candidates {
            if self.history_bytes <= target {
                break;
            }
            let freed = self.nodes[id as usize].history.clear();
            self.history_bytes -= freed;
        }
    }

    /// Drops every node and message.
    pub fn clear(&mut self) {
        *self = TopicTree::new(self.limits);
    }

    /// Drops the history of a node and everything below it (counts stay).
    pub fn clear_history(&mut self, id: NodeId) {
        let mut stack = vec![id];
        while let Some(at) = stack.pop() {
            let Some(node) = self.nodes.get_mut(at as usize) else {
                continue;
            };
            self.history_bytes -= node.history.clear();
            stack.extend(node.children.iter().copied());
        }
    }

    /// `id` and every node below it, depth first (nothing for an unknown id).
    pub fn subtree(&self, id: NodeId) -> impl Iterator<Item = (NodeId, &Node)> {
        let mut stack = vec![id];
        std::iter::from_fn(move || loop {
            let at = stack.pop()?;
            if let Some(node) = self.nodes.get(at as usize) {
                stack.extend(node.children.iter().copied());
                return Some((at, node));
            }
        })
    }

    /// The topics at and below `id` that hold a retained message.
    pub fn retained_below(&self, id: NodeId) -> Vec<String> {
        let mut found: Vec<String> = self
            .subtree(id)
            .filter(|(_, node)| node.retained)
            .map(|(at, _)| self.topic_of(at))
            .collect();
        found.sort();
        found
    }

    /// Messages per second at and below `id` for the seconds `from..to`, counted from the kept
    /// histories. A topic that dropped old messages only vouches for the seconds after its oldest
    /// kept one (after its last message, when it keeps none), so the answer starts at the first
    /// second every topic below covers exactly: `(that second, its counts up to to)`. Gives up
    /// (`None`) beyond `max_nodes` nodes, so a selection never holds the lock for long.
    pub fn recent_counts(
        &self,
        id: NodeId,
        from: u64,
        to: u64,
        max_nodes: usize,
    ) -> Option<(u64, Vec<u64>)> {
        self.nodes.get(id as usize)?;
        let mut counts = vec![0u64; to.saturating_sub(from) as usize];
        let mut exact_from = from;
        for (visited, (_, node)) in self.subtree(id).enumerate() {
            if visited >= max_nodes {
                return None;
            }
            if node.own_count == 0 || node.own_last_time_ms / 1000 < from {
                continue; // nothing of this topic falls in the window
            }
            if (node.history.len() as u64) < node.own_count {
                let oldest = node
                    .history
                    .iter()
                    .next()
                    .map_or(node.own_last_time_ms, |m| m.time_ms);
                exact_from = exact_from.max(oldest / 1000 + 1);
            }
            for message in node.history.iter().rev() {
                let second = message.time_ms / 1000;
                if second < from {
                    break;
                }
                if second < to {
                    counts[(second - from) as usize] += 1;
                }
            }
        }
        let exact_from = exact_from.min(to);
        counts.drain(..(exact_from - from) as usize);
        Some((exact_from, counts))
    }

    /// Sorts a node's children by name if new ones arrived since the last sort.
    pub fn sort_children(&mut self, id: NodeId) {
        let Some(node) = self.nodes.get(id as usize) else {
            return;
        };
        if node.children_sorted {
            return;
        }
        let mut children = std::mem::take(&mut self.nodes[id as usize].children);
        children.sort_by(|a, b| {
            self.nodes[*a as usize]
                .name
                .cmp(&self.nodes[*b as usize].name)
        });
        let node = &mut self.nodes[id as usize];
        node.children = children;
        node.children_sorted = true;
    }

    /// Every node id (root excluded), in arena order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        1..self.nodes.len() as NodeId
    }
}

#[cfg(test)]
mod tests;
