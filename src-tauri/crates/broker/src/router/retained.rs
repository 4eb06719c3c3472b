//! Retained messages in a tree of topic levels, so that a new subscription finds the ones it
//! matches by walking the filter, not by scanning every topic; all of them, at any count.
//!
//! Walks use explicit stacks (a topic may have tens of thousands of levels). Expired messages
//! are never returned and are removed by [`RetainedStore::purge_expired`].

use super::message::Message;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, u32>,
    message: Option<Arc<Message>>,
    parent: u32,
    key: Box<str>,
}

const ROOT: u32 = 0;

/// What a retained publish did to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainChange {
    /// A message is kept for a topic that had none.
    Added,
    /// A topic's message was replaced.
    Replaced,
    /// A topic's message was deleted (an empty retained publish).
    Removed,
    /// Nothing changed (deleting where there was none).
    Unchanged,
    /// The store is full: the message was routed but not kept.
    Refused,
}

/// Every retained message, by topic.
#[derive(Debug)]
pub struct RetainedStore {
    nodes: Vec<Node>,
    free: Vec<u32>,
    count: usize,
    /// Topics starting with '$' (the broker's `$SYS` values among them).
    dollar: usize,
    /// Messages with an expiry (a purge is needed only when there are some).
    expiring: usize,
    bytes: usize,
}

impl Default for RetainedStore {
    fn default() -> Self {
        RetainedStore {
            nodes: vec![Node::default()],
            free: Vec::new(),
            count: 0,
            dollar: 0,
            expiring: 0,
            bytes: 0,
        }
    }
}

impl RetainedStore {
    /// Topics holding a retained message.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Topics holding a retained message, leaving out those starting with '$' (`$SYS`).
    pub fn user_len(&self) -> usize {
        self.count - self.dollar
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the messages hold (topics, payloads, properties).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn find(&self, topic: &str) -> Option<u32> {
        let mut node = ROOT;
        for level in topic.split('/') {
            node = *self.nodes[node as usize].children.get(level)?;
        }
        Some(node)
    }

    fn child(&mut self, parent: u32, level: &str) -> u32 {
        if let Some(&child) = self.nodes[parent as usize].children.get(level) {
            return child;
        }
        let node = Node {
            parent,
            key: level.into(),
            ..Node::default()
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.nodes[index as usize] = node;
                index
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.nodes[parent as usize]
            .children
            .insert(level.into(), index);
        index
    }

    /// Applies a retained publish: an empty payload deletes, anything else replaces. New topics
    /// are refused once `max_messages` or `max_bytes` is reached.
    pub fn set(
        &mut self,
        message: Arc<Message>,
        max_messages: usize,
        max_bytes: usize,
    ) -> RetainChange {
        if message.payload.is_empty() {
            return match self.find(&message.topic) {
                Some(node) => match self.nodes[node as usize].message.take() {
                    Some(old) => {
                        self.forget(&old);
                        self.prune(node);
                        RetainChange::Removed
                    }
                    None => RetainChange::Unchanged,
                },
                None => RetainChange::Unchanged,
            };
        }
        let cost = message.cost();
        let existing = self.find(&message.topic);
        let old_cost = existing
            .and_then(|n| self.nodes[n as usize].message.as_ref())
            .map(|m| m.cost());
        let (count_after, bytes_after) = match old_cost {
            Some(old) => (self.count, self.bytes - old + cost),
            None => (self.count + 1, self.bytes + cost),
        };
        if count_after > max_messages || bytes_after > max_bytes {
            return RetainChange::Refused;
        }
        let node = match existing {
            Some(node) => node,
            None => {
                let mut node = ROOT;
                let topic = message.topic.clone();
                for level in topic.split('/') {
                    node = self.child(node, level);
                }
                node
            }
        };
        if old_cost.is_none() && message.topic.starts_with('$') {
            self.dollar += 1;
        }
        self.expiring += usize::from(message.expires_at.is_some());
        let old = self.nodes[node as usize].message.replace(message);
        if let Some(old) = &old {
            self.expiring -= usize::from(old.expires_at.is_some());
        }
        self.count = count_after;
        self.bytes = bytes_after;
        if old.is_some() {
            RetainChange::Replaced
        } else {
            RetainChange::Added
        }
    }

    fn prune(&mut self, mut node: u32) {
        while node != ROOT {
            let n = &self.nodes[node as usize];
            if !n.children.is_empty() || n.message.is_some() {
                return;
            }
            let parent = n.parent;
            let key = std::mem::take(&mut self.nodes[node as usize].key);
            self.nodes[parent as usize].children.remove(&key);
            self.nodes[node as usize] = Node::default();
            self.free.push(node);
            node = parent;
        }
    }

    /// Every live retained message matching the (valid, not shared) `filter`, appended to `out`.
    pub fn matching(&self, filter: &str, now: Instant, out: &mut Vec<Arc<Message>>) {
        let levels: SmallVec<[&str; 12]> = filter.split('/').collect();
        let mut stack: SmallVec<[(u32, usize); 16]> = SmallVec::new();
        stack.push((ROOT, 0));
        while let Some((index, depth)) = stack.pop() {
            let node = &self.nodes[index as usize];
            if depth == levels.len() {
                self.keep(node, now, out);
                continue;
            }
            // A wildcard in the first level does not match topics starting with '$'.
            let skip_dollar = depth == 0;
            match levels[depth] {
                "#" => {
                    // "a/#" also matches "a" itself.
                    if depth > 0 {
                        self.keep(node, now, out);
                    }
                    for (key, &child) in &node.children {
                        if !(skip_dollar && key.starts_with('$')) {
                            self.subtree(child, now, out);
                        }
                    }
                }
                "+" => {
                    for (key, &child) in &node.children {
                        if !(skip_dollar && key.starts_with('$')) {
                            stack.push((child, depth + 1));
                        }
                    }
                }
                literal => {
                    if let Some(&child) = node.children.get(literal) {
                        stack.push((child, depth + 1));
                    }
                }
            }
        }
    }

    fn keep(&self, node: &Node, now: Instant, out: &mut Vec<Arc<Message>>) {
        if let Some(message) = &node.message {
            if !message.is_expired(now) {
                out.push(message.clone());
            }
        }
    }

    fn subtree(&self, root: u32, now: Instant, out: &mut Vec<Arc<Message>>) {
        let mut stack = vec![root];
        while let Some(index) = stack.pop() {
            let node = &self.nodes[index as usize];
            self.keep(node, now, out);
            stack.extend(node.children.values().copied());
        }
    }

    /// Takes a removed message out of the counts.
    fn forget(&mut self, old: &Message) {
        self.count -= 1;
        self.dollar -= usize::from(old.topic.starts_with('$'));
        self.expiring -= usize::from(old.expires_at.is_some());
        self.bytes -= old.cost();
    }

    /// Removes messages whose expiry has passed; returns how many.
    pub fn purge_expired(&mut self, now: Instant) -> usize {
        if self.expiring == 0 {
            return 0;
        }
        let expired: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&i| {
                self.nodes[i as usize]
                    .message
                    .as_ref()
                    .is_some_and(|m| m.is_expired(now))
            })
            .collect();
        for &node in &expired {
            if let Some(old) = self.nodes[node as usize].message.take() {
                self.forget(&old);
            }
            self.prune(node);
        }
        expired.len()
    }

    /// Retained topics below `prefix` (all of them for ""), leaving out `$` topics unless the
    /// prefix names one, up to `limit`.
    pub fn topics(&self, prefix: &str, limit: usize) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        let start = if prefix.is_empty() {
            Some(ROOT)
        } else {
            self.find(prefix)
        };
        let mut stack: Vec<u32> = start.into_iter().collect();
        while let Some(index) = stack.pop() {
            if out.len() >= limit {
                break;
            }
            let node = &self.nodes[index as usize];
            if let Some(message) = &node.message {
                out.push(message.topic.clone());
            }
            for (key, &child) in &node.children {
                if !(index == ROOT && key.starts_with('$')) {
                    stack.push(child);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::codec::QoS;

    fn message(topic: &str, payload: &str) -> Arc<Message> {
        Arc::new(Message::new(
            topic,
            payload.to_string(),
            QoS::AtMostOnce,
            true,
        ))
    }

    fn topics(store: &RetainedStore, filter: &str) -> Vec<String> {
        let mut out = Vec::new();
        store.matching(filter, Instant::now(), &mut out);
        let mut topics: Vec<String> = out.iter().map(|m| m.topic.to_string()).collect();
        topics.sort();
        topics
    }

    #[test]
    fn filters_find_exactly_their_retained_messages() {
        let mut store = RetainedStore::default();
        for topic in ["a", "a/b", "a/b/c", "a/x/c", "$SYS/uptime", "/lead"] {
            store.set(message(topic, "v"), usize::MAX, usize::MAX);
        }
        assert_eq!(topics(&store, "a/#"), vec!["a", "a/b", "a/b/c", "a/x/c"]);
        assert_eq!(topics(&store, "a/+/c"), vec!["a/b/c", "a/x/c"]);
        assert_eq!(
            topics(&store, "#"),
            vec!["/lead", "a", "a/b", "a/b/c", "a/x/c"]
        );
        assert_eq!(topics(&store, "+"), vec!["a"]);
        assert_eq!(topics(&store, "$SYS/#"), vec!["$SYS/uptime"]);
        assert_eq!(topics(&store, "+/lead"), vec!["/lead"]);
        assert_eq!(topics(&store, "a/b"), vec!["a/b"]);
    }

    #[test]
    fn fifty_thousand_retained_all_come_back_and_deletes_prune() {
        let mut store = RetainedStore::default();
        for i in 0..50_000 {
            store.set(
                message(&format!("ret/{}/{i}", i % 100), "v"),
                usize::MAX,
                usize::MAX,
            );
        }
        assert_eq!(topics(&store, "ret/#").len(), 50_000);
        assert_eq!(topics(&store, "ret/50/#").len(), 500);
        for i in 0..50_000 {
            let change = store.set(
                message(&format!("ret/{}/{i}", i % 100), ""),
                usize::MAX,
                usize::MAX,
            );
            assert_eq!(change, RetainChange::Removed);
        }
        assert!(store.is_empty());
        assert_eq!(store.bytes(), 0);
        assert_eq!(store.nodes.len() - store.free.len(), 1);
    }

    #[test]
    fn limits_refuse_new_topics_but_allow_replacing() {
        let mut store = RetainedStore::default();
        assert_eq!(
            store.set(message("a", "1"), 1, usize::MAX),
            RetainChange::Added
        );
        assert_eq!(
            store.set(message("b", "1"), 1, usize::MAX),
            RetainChange::Refused
        );
        assert_eq!(
            store.set(message("a", "2"), 1, usize::MAX),
            RetainChange::Replaced
        );
        assert_eq!(
            store.set(message("b", ""), 1, usize::MAX),
            RetainChange::Unchanged
        );
    }

    #[test]
    fn expired_messages_are_not_returned_and_are_purged() {
        let mut store = RetainedStore::default();
        let now = Instant::now();
        let mut expiring = Message::new("e", "v", QoS::AtMostOnce, true);
        expiring.expires_at = Some(now);
        store.set(Arc::new(expiring), usize::MAX, usize::MAX);
        store.set(message("k", "v"), usize::MAX, usize::MAX);
        assert_eq!(topics(&store, "#"), vec!["k"]);
        assert_eq!(store.purge_expired(now), 1);
        assert_eq!(store.len(), 1);
    }
}
