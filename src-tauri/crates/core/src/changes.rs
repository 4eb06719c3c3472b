//! What changed that the UI shows (the broker's state, its clients, the sessions), gathered and
//! told once: producers mark a change, a front end waits for the next batch of changes and pushes
//! the new state. Nothing is polled; many changes within a moment become one push.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// One kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The broker started, stopped, or its settings or client count changed.
    Broker = 1,
    /// The broker's clients changed (connected, subscribed, left).
    Clients = 2,
    /// A session's state, subscriptions or profile changed.
    Sessions = 4,
}

/// The set of kinds that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changed(u8);

impl Changed {
    pub fn contains(self, change: Change) -> bool {
        self.0 & change as u8 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Changes waiting to be told.
#[derive(Debug, Default)]
pub struct Changes {
    pending: AtomicU8,
    notify: Notify,
}

impl Changes {
    pub fn mark(&self, change: Change) {
        self.pending.fetch_or(change as u8, Ordering::Relaxed);
        self.notify.notify_one();
    }

    /// Waits for changes, lets more gather for `settle`, and takes them all.
    pub async fn next(&self, settle: Duration) -> Changed {
        loop {
            self.notify.notified().await;
            tokio::time::sleep(settle).await;
            let changed = Changed(self.pending.swap(0, Ordering::Relaxed));
            if !changed.is_empty() {
                return changed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_gather_into_one_batch() {
        let changes = Changes::default();
        changes.mark(Change::Broker);
        changes.mark(Change::Sessions);
        changes.mark(Change::Broker);
        let changed = changes.next(Duration::from_millis(1)).await;
        assert!(changed.contains(Change::Broker) && changed.contains(Change::Sessions));
        assert!(!changed.contains(Change::Clients));
        let waited = tokio::time::timeout(Duration::from_millis(50), changes.next(Duration::ZERO));
        assert!(
            waited.await.is_err(),
            "nothing more until something changes"
        );
    }
}
