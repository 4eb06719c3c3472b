//! A byte budget shared by producers of packet events and released by their consumer: a
//! consumer that falls behind makes the producers drop (and count) events instead of queueing
//! gigabytes of payloads, topics and fields. Holding is a value: dropping it gives the bytes
//! back, however the event ends (consumed, dropped with a full channel, discarded).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes of packet events that may wait for their consumer at once.
#[derive(Debug, Clone)]
pub struct Budget {
    held: Arc<AtomicUsize>,
    max: usize,
}

/// Bytes taken from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Held {
    bytes: usize,
    held: Arc<AtomicUsize>,
}

impl Budget {
    pub fn new(max: usize) -> Budget {
        Budget {
            held: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Takes `bytes`, or `None` when that would exceed the budget.
    pub fn hold(&self, bytes: usize) -> Option<Held> {
        let before = self.held.fetch_add(bytes, Ordering::Relaxed);
        if before + bytes > self.max {
            self.held.fetch_sub(bytes, Ordering::Relaxed);
            return None;
        }
        Some(Held {
            bytes,
            held: self.held.clone(),
        })
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.held.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// What packet events hold in memory, roughly: topics, payloads and decoded fields.
pub fn weigh(events: &[crate::PacketEvent]) -> usize {
    events
        .iter()
        .map(|e| {
            let s = &e.summary;
            let fields: usize = s.fields.iter().map(|(_, v)| v.len() + 32).sum();
            160 + s.topic.as_ref().map_or(0, String::len)
                + s.payload.as_ref().map_or(0, |p| p.len())
                + fields
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_past_the_budget_is_refused_and_drops_give_back() {
        let budget = Budget::new(100);
        let a = budget.hold(60).expect("fits");
        assert!(budget.hold(50).is_none(), "over the budget");
        assert_eq!(budget.held(), 60);
        drop(a);
        assert_eq!(budget.held(), 0);
        assert!(budget.hold(100).is_some());
    }
}
