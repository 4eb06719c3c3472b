//! Deadlines the broker keeps for sessions that are gone: when a kept session ends, and when a
//! delayed will is due. One ordered map and one task for all of them, woken only when the
//! earliest deadline changes: an idle broker sleeps until the next deadline, or for ever.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// What is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// The kept session of `client_id` ends (if it is still the one of `generation`).
    SessionExpiry {
        client_id: Arc<str>,
        generation: u64,
    },
    /// The delayed will of `client_id` is published (if still pending for `generation`).
    Will {
        client_id: Arc<str>,
        generation: u64,
    },
}

#[derive(Debug, Default)]
pub struct Timers {
    queue: Mutex<BTreeMap<(Instant, u64), Due>>,
    serial: AtomicU64,
    /// Woken when a new earliest deadline is set.
    pub changed: Notify,
}

impl Timers {
    pub fn schedule(&self, at: Instant, due: Due) {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let earliest = queue.keys().next().map(|(at, _)| *at);
        queue.insert((at, serial), due);
        drop(queue);
        if earliest.is_none_or(|earliest| at < earliest) {
            self.changed.notify_one();
        }
    }

    /// The earliest deadline, if any.
    pub fn earliest(&self) -> Option<Instant> {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.keys().next().map(|(at, _)| *at)
    }

    /// Removes and returns one entry that is due at `now`.
    pub fn pop_due(&self, now: Instant) -> Option<Due> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let key = *queue.keys().next()?;
        if key.0 > now {
            return None;
        }
        queue.remove(&key)
    }

    pub fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn deadlines_come_out_in_order_and_only_when_due() {
        let timers = Timers::default();
        let now = Instant::now();
        let id: Arc<str> = Arc::from("a");
        timers.schedule(
            now + Duration::from_secs(2),
            Due::Will {
                client_id: id.clone(),
                generation: 2,
            },
        );
        timers.schedule(
            now + Duration::from_secs(1),
            Due::SessionExpiry {
                client_id: id.clone(),
                generation: 1,
            },
        );
        assert_eq!(timers.earliest(), Some(now + Duration::from_secs(1)));
        assert_eq!(timers.pop_due(now), None);
        assert!(matches!(
            timers.pop_due(now + Duration::from_secs(5)),
            Some(Due::SessionExpiry { generation: 1, .. })
        ));
        assert!(matches!(
            timers.pop_due(now + Duration::from_secs(5)),
            Some(Due::Will { generation: 2, .. })
        ));
        assert!(timers.is_empty());
    }
}
