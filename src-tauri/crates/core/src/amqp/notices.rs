//! What changed in the AMQP sessions that the UI shows, gathered for a front end to push: a
//! session's state (the latest per session), a consumer's unsettled deliveries (read when pushed,
//! so a burst of deliveries is one push), consumers that ended. Nothing is polled; bounded: one
//! entry per session and per consumer, and at most [`MAX_ENDED`] ended consumers waiting.

use super::consumers::PendingList;
use super::{AmqpFailure, AmqpPending, AmqpState};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Ended consumers kept until pushed.
pub const MAX_ENDED: usize = 1024;

/// One thing to tell the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum AmqpNotice {
    SessionChanged {
        id: String,
        state: AmqpState,
    },
    Unsettled {
        id: String,
        consumer_tag: String,
        deliveries: Vec<AmqpPending>,
        /// Unsettled deliveries not in the list (older than the ones kept), still settleable.
        dropped: u32,
    },
    ConsumerEnded {
        id: String,
        consumer_tag: String,
        /// `None`: cancelled, or its session disconnected, by the user.
        failure: Option<AmqpFailure>,
    },
}

#[derive(Default)]
struct Pending {
    sessions: BTreeMap<String, AmqpState>,
    unsettled: BTreeMap<(String, String), Arc<Mutex<PendingList>>>,
    ended: VecDeque<(String, String, Option<AmqpFailure>)>,
}

/// The notices waiting to be pushed.
#[derive(Default)]
pub struct Notices {
    pending: Mutex<Pending>,
    notify: Notify,
}

impl Notices {
    fn with(&self, f: impl FnOnce(&mut Pending)) {
        f(&mut self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        self.notify.notify_one();
    }

    pub(crate) fn session(&self, id: &str, state: AmqpState) {
        self.with(|p| {
            p.sessions.insert(id.to_string(), state);
        });
    }

    pub(crate) fn unsettled(&self, id: &str, tag: &str, list: &Arc<Mutex<PendingList>>) {
        self.with(|p| {
            p.unsettled
                .insert((id.to_string(), tag.to_string()), list.clone());
        });
    }

    pub(crate) fn ended(&self, id: &str, tag: &str, failure: Option<AmqpFailure>) {
        self.with(|p| {
            p.unsettled.remove(&(id.to_string(), tag.to_string()));
            if p.ended.len() >= MAX_ENDED {
                p.ended.pop_front();
            }
            p.ended
                .push_back((id.to_string(), tag.to_string(), failure));
        });
    }

    /// Takes what is waiting now, in order: session states, unsettled lists, ended consumers.
    pub fn take(&self) -> Vec<AmqpNotice> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut out = Vec::new();
        for (id, state) in pending.sessions {
            out.push(AmqpNotice::SessionChanged { id, state });
        }
        for ((id, consumer_tag), list) in pending.unsettled {
            let (deliveries, dropped) = list.lock().unwrap_or_else(|p| p.into_inner()).snapshot();
            out.push(AmqpNotice::Unsettled {
                id,
                consumer_tag,
                deliveries,
                dropped,
            });
        }
        for (id, consumer_tag, failure) in pending.ended {
            out.push(AmqpNotice::ConsumerEnded {
                id,
                consumer_tag,
                failure,
            });
        }
        out
    }

    /// Waits for notices, lets more gather for `settle`, and takes them all (a front end that
    /// calls this in a loop pushes at most once per `settle`).
    pub async fn next(&self, settle: Duration) -> Vec<AmqpNotice> {
        loop {
            self.notify.notified().await;
            tokio::time::sleep(settle).await;
            let notices = self.take();
            if !notices.is_empty() {
                return notices;
            }
        }
    }
}
