//! Bounded message history: each topic keeps its latest messages up to a count and a byte limit,
//! and the tree as a whole stays under a global byte limit by dropping the history of the least
//! recently active topics first.

use bytes::Bytes;
use std::collections::VecDeque;

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub qos: u8,
    pub retain: bool,
    pub payload: Bytes,
    /// MQTT 5 properties, where the reporter decoded them (sessions); none on the broker's path.
    pub properties: Option<Box<[workbench_wire::Field]>>,
}

impl StoredMessage {
    /// What the message costs in memory, as the limits count it: the payload plus a fixed
    /// overhead for the record and its allocation.
    pub fn cost(&self) -> usize {
        let properties: usize = self
            .properties
            .as_deref()
            .map_or(0, |p| p.iter().map(|(_, v)| v.len() + 32).sum());
        self.payload.len() + MESSAGE_OVERHEAD + properties
    }
}

/// Bytes a stored message costs beyond its payload (record, `Bytes` handle, allocator slack).
pub const MESSAGE_OVERHEAD: usize = 64;

/// The history limits (all configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    pub per_topic_messages: usize,
    pub per_topic_bytes: usize,
    pub total_bytes: usize,
}

impl HistoryLimits {
    /// The largest single message kept (as the latest of its topic): a quarter of the global
    /// limit, so one topic cannot take all of it.
    pub fn largest_message(&self) -> usize {
        self.total_bytes / 4
    }
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits {
            per_topic_messages: 100,
            per_topic_bytes: 1024 * 1024,
            total_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A topic's recent messages, oldest first.
#[derive(Debug, Clone, Default)]
pub struct History {
    messages: VecDeque<StoredMessage>,
    bytes: usize,
}

impl History {
    /// Adds a message, dropping the oldest ones over the per-topic limits. Returns the change in
    /// bytes held (may be negative).
    pub fn push(&mut self, message: StoredMessage, limits: &HistoryLimits) -> isize {
        let before = self.bytes as isize;
        let cost = message.cost();
        if limits.per_topic_messages == 0 || cost > limits.largest_message() {
            // Too large to keep at all (more than a quarter of the global limit).
            self.clear();
            return -before;
        }
        if cost > limits.per_topic_bytes {
            // Larger than the topic's byte limit: the topic keeps this latest message alone, so
            // the inspector can still show (and save) a large payload.
            self.clear();
            self.bytes = cost;
            self.messages.push_back(message);
            return self.bytes as isize - before;
        }
        self.bytes += cost;
        self.messages.push_back(message);
        while self.messages.len() > limits.per_topic_messages || self.bytes > limits.per_topic_bytes
        {
            if let Some(old) = self.messages.pop_front() {
                self.bytes -= old.cost();
            }
        }
        self.bytes as isize - before
    }

    /// Drops everything; returns the bytes freed.
    pub fn clear(&mut self) -> usize {
        let freed = self.bytes;
        self.messages = VecDeque::new();
        self.bytes = 0;
        freed
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn latest(&self) -> Option<&StoredMessage> {
        self.messages.back()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &StoredMessage> {
        self.messages.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: usize) -> StoredMessage {
        StoredMessage {
            time_ms: 0,
            qos: 0,
            retain: false,
            payload: Bytes::from(vec![0u8; len]),
            properties: None,
        }
    }

    #[test]
    fn keeps_within_both_limits() {
        let limits = HistoryLimits {
            per_topic_messages: 3,
            per_topic_bytes: 1000,
            total_bytes: usize::MAX,
        };
        let mut history = History::default();
        for _ in 0..10 {
            history.push(message(10), &limits);
        }
        assert_eq!(history.len(), 3);
        assert_eq!(history.bytes(), 3 * (10 + MESSAGE_OVERHEAD));
        history.push(message(800), &limits);
        assert_eq!(
            history.len(),
            2,
            "the large message pushed out old ones until it fit"
        );
        assert!(history.bytes() <= limits.per_topic_bytes);
        let held = history.bytes() as isize;
        let change = history.push(message(5000), &limits);
        assert_eq!(
            history.len(),
            1,
            "a message above the topic limit is kept alone, as the latest"
        );
        assert_eq!(change, (5000 + MESSAGE_OVERHEAD) as isize - held);
        history.push(message(10), &limits);
        assert_eq!(history.len(), 1, "and pushed out by the next one");
        let tight = HistoryLimits {
            total_bytes: 4000,
            ..limits
        };
        history.push(message(5000), &tight);
        assert!(
            history.is_empty(),
            "beyond a quarter of the global limit: not kept"
        );
    }
}
