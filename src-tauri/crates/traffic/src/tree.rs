//! The topic tree of one source: a node per topic level, with counts, bytes, the last message
//! time, a retained marker, a short payload preview, a rate estimate and a bounded history.
//!
//! Nodes live in one arena (`Vec`) and are found by their full topic through one hash map, so a
//! message for a known topic costs one lookup plus a walk up its few ancestors; only a new topic
//! walks its levels. Nodes are never removed (topics are few next to messages); histories are
//! what the memory limits trim.

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

/// One topic level.
#[derive(Debug, Clone)]
pub struct Node {
    /// This level's name (may be empty: `a//b` has an empty middle level).
    pub name: Box<str>,
    pub parent: NodeId,
    pub children: Vec<NodeId>,
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

/// The topic tree of one source.
#[derive(Debug)]
pub struct TopicTree {
    nodes: Vec<Node>,
    index: HashMap<Box<str>, NodeId>,
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
            index: HashMap::new(),
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

    /// The node for a full topic, if it has been seen.
    pub fn find(&self, topic: &str) -> Option<NodeId> {
        self.index.get(topic).copied()
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

    /// The node for `topic`, creating it and any missing ancestors.
    fn node_for(&mut self, topic: &str) -> NodeId {
        if let Some(id) = self.index.get(topic) {
            return *id;
        }
        let mut parent = ROOT;
        let mut depth = 0u16;
        let mut end = 0;
        for level in topic.split('/') {
            end += level.len();
            let path = &topic[..end];
            depth = depth.saturating_add(1);
            parent = match self.index.get(path) {
                Some(id) => *id,
                None => {
                    let id = self.nodes.len() as NodeId;
                    self.nodes.push(Node::new(level, parent, depth));
                    let parent_node = &mut self.nodes[parent as usize];
                    parent_node.children.push(id);
                    parent_node.children_sorted = false;
                    self.index.insert(path.into(), id);
                    self.structure_version += 1;
                    id
                }
            };
            end += 1; // the '/' after this level
        }
        parent
    }

    /// Notes that a topic's retained message was deleted (an empty retained publish that was
    /// sent, not received: a session deleting it on its broker).
    pub fn forget_retained(&mut self, topic: &str) {
        if let Some(id) = self.find(topic) {
            self.nodes[id as usize].retained = false;
        }
    }

    /// Records one message. Returns the topic's node.
    pub fn record(&mut self, message: &Incoming<'_>) -> NodeId {
        self.record_with(message, None)
    }

    /// Records one message with its MQTT 5 properties (kept in its history entry).
    pub fn record_with(
        &mut self,
        message: &Incoming<'_>,
        properties: Option<Box<[workbench_wire::Field]>>,
    ) -> NodeId {
        let id = self.node_for(message.topic);
        self.messages += 1;
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
        id
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
mod tests {
    use super::*;

    fn at(tree: &mut TopicTree, topic: &str, payload: &[u8], time_ms: u64) -> NodeId {
        tree.record(&Incoming {
            topic,
            payload,
            qos: 0,
            retain: false,
            time_ms,
        })
    }

    #[test]
    fn counts_roll_up_the_levels() {
        let mut tree = TopicTree::new(HistoryLimits::default());
        let a = at(&mut tree, "home/kitchen/temp", b"21.5", 1000);
        at(&mut tree, "home/kitchen/temp", b"21.6", 2000);
        at(&mut tree, "home/hall", b"on", 3000);
        let home = tree.find("home").unwrap();
        let kitchen = tree.find("home/kitchen").unwrap();
        assert_eq!(tree.node(a).unwrap().own_count, 2);
        assert_eq!(tree.node(kitchen).unwrap().own_count, 0);
        assert_eq!(tree.node(kitchen).unwrap().subtree_count, 2);
        assert_eq!(tree.node(home).unwrap().subtree_count, 3);
        assert_eq!(tree.node(ROOT).unwrap().subtree_count, 3);
        assert_eq!(tree.node(home).unwrap().last_time_ms, 3000);
        assert_eq!(tree.node(a).unwrap().preview(), b"21.6");
        assert_eq!(tree.topic_of(a), "home/kitchen/temp");
        assert_eq!(tree.len(), 4);
    }

    #[test]
    fn empty_levels_are_topics_too() {
        let mut tree = TopicTree::new(HistoryLimits::default());
        let id = at(&mut tree, "a//b", b"x", 1);
        assert_eq!(tree.topic_of(id), "a//b");
        let slash = at(&mut tree, "/", b"y", 2);
        assert_eq!(tree.topic_of(slash), "/");
        assert!(tree.find("a/").is_some());
    }

    #[test]
    fn the_global_limit_drops_the_least_recent_histories() {
        let limits = HistoryLimits {
            per_topic_messages: 10,
            per_topic_bytes: 1 << 20,
            total_bytes: 100 * (100 + super::super::history::MESSAGE_OVERHEAD),
        };
        let mut tree = TopicTree::new(limits);
        for i in 0..1000u64 {
            let topic = format!("t/{}", i % 50);
            at(&mut tree, &topic, &[0u8; 100], i);
        }
        assert!(tree.history_bytes() <= limits.total_bytes);
        // The most recent topic kept its history; counts survive eviction.
        let recent = tree.find("t/49").unwrap();
        assert!(!tree.node(recent).unwrap().history.is_empty());
        assert_eq!(tree.node(ROOT).unwrap().subtree_count, 1000);
    }

    #[test]
    fn recent_counts_come_from_the_histories_and_only_where_they_are_exact() {
        let limits = HistoryLimits {
            per_topic_messages: 3,
            ..HistoryLimits::default()
        };
        let mut tree = TopicTree::new(limits);
        // a/x: one message in each of the seconds 10, 11, 12 (kept whole).
        for second in 10..13 {
            at(&mut tree, "a/x", b"1", second * 1000);
        }
        // a/y: two in second 11 and one in 12, also whole.
        at(&mut tree, "a/y", b"1", 11_100);
        at(&mut tree, "a/y", b"1", 11_200);
        at(&mut tree, "a/y", b"1", 12_000);
        let a = tree.find("a").unwrap();
        assert_eq!(
            tree.recent_counts(a, 9, 13, 100),
            Some((9, vec![0, 1, 3, 2]))
        );
        // a/z dropped its oldest message (kept: 12.5 s, 13 s, 13.5 s), so seconds up to 12
        // are no longer exact for the subtree; a/x alone still is.
        for time in [12_000, 12_500, 13_000, 13_500] {
            at(&mut tree, "a/z", b"1", time);
        }
        assert_eq!(tree.recent_counts(a, 9, 14, 100), Some((13, vec![2])));
        let x = tree.find("a/x").unwrap();
        assert_eq!(
            tree.recent_counts(x, 9, 14, 100),
            Some((9, vec![0, 1, 1, 1, 0]))
        );
        // A topic whose history was cleared vouches only for the time after its last message;
        // one whose last message is older than the window does not matter at all.
        tree.clear_history(x);
        assert_eq!(tree.recent_counts(x, 9, 14, 100), Some((13, vec![0])));
        assert_eq!(tree.recent_counts(x, 13, 15, 100), Some((13, vec![0, 0])));
        assert_eq!(tree.recent_counts(a, 9, 14, 2), None, "too many nodes");
    }

    #[test]
    fn retained_markers_follow_retained_publishes() {
        let mut tree = TopicTree::new(HistoryLimits::default());
        let id = tree.record(&Incoming {
            topic: "r/a",
            payload: b"v",
            qos: 1,
            retain: true,
            time_ms: 1,
        });
        assert!(tree.node(id).unwrap().retained);
        assert_eq!(tree.retained_below(ROOT), vec!["r/a".to_string()]);
        tree.record(&Incoming {
            topic: "r/a",
            payload: b"",
            qos: 1,
            retain: true,
            time_ms: 2,
        });
        assert!(!tree.node(id).unwrap().retained);
    }
}
