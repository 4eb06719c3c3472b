//! Which sessions exist, by client id, and which connection serves each: attaching a new
//! connection (resuming or replacing the session, taking it over from a connection still open),
//! and detaching one (keeping the session until it expires, or ending it).

use super::message::SessionId;
use super::session::{Expiry, SessionCell, SessionState};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, Notify};

/// What the broker can tell a connection from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Another connection with the same client id arrived: hand the session back and close
    /// (MQTT 5: DISCONNECT 0x8E Session taken over).
    TakenOver,
    /// Close now with this MQTT 5 reason code (administrative action, shutting down).
    Close(u8),
    /// The client's fault rules changed: look at them again (cut, pause, resume...).
    Faults,
}

/// How a connection is reached from outside.
pub type ControlSender = mpsc::Sender<Control>;

#[derive(Debug)]
enum Status {
    Attached {
        connection: u64,
        control: ControlSender,
    },
    Detached {
        state: Box<SessionState>,
        /// When the session ends, if it does.
        expires_at: Option<Instant>,
    },
}

#[derive(Debug)]
struct Entry {
    cell: Arc<SessionCell>,
    /// Counts attaches: timers set for one detach do nothing after the next attach.
    generation: u64,
    status: Status,
    /// Connections waiting for this entry to be detached.
    released: Arc<Notify>,
}

/// The answer to a connection that asks for its session.
#[derive(Debug)]
pub enum Attach {
    Ready(Attached),
    /// Another connection holds the session and has been told to go: wait for `released`
    /// (with a timeout), then ask again.
    Wait(Arc<Notify>),
}

/// A session now served by the asking connection.
#[derive(Debug)]
pub struct Attached {
    pub cell: Arc<SessionCell>,
    pub state: Box<SessionState>,
    /// A session from before was resumed.
    pub session_present: bool,
    pub generation: u64,
    /// A session that had to end to make room (clean start over an old session, or a session
    /// whose connection did not let go): the caller removes its subscriptions.
    pub ended: Option<Ended>,
}

/// A session that has ended: what must be undone for it.
#[derive(Debug)]
pub struct Ended {
    pub cell: Arc<SessionCell>,
    pub state: Box<SessionState>,
}

/// What happened at a detach.
#[derive(Debug)]
pub enum Detached {
    /// The session is kept until `expires_at` (or for ever).
    Kept {
        generation: u64,
        expires_at: Option<Instant>,
    },
    /// The session ended with the connection.
    Ended(Ended),
}

/// A session kept for a client that is not connected.
#[derive(Debug, Clone)]
pub struct OfflineSession {
    pub client_id: Arc<str>,
    /// Messages waiting for the client.
    pub queued: usize,
    /// When the session ends; `None`: never.
    pub expires_at: Option<Instant>,
}

/// All sessions by client id.
#[derive(Debug, Default)]
pub struct Registry {
    entries: HashMap<Arc<str>, Entry>,
    /// Detached sessions kept (for `$SYS` and limits).
    detached: usize,
}

impl Registry {
    /// Sessions that exist, connected or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sessions kept for clients that are not connected.
    pub fn detached(&self) -> usize {
        self.detached
    }

    /// Attaches `connection` to the session of `client_id`. `force` takes the session from a
    /// connection that was told to go and did not let go in time: that old session ends.
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &mut self,
        client_id: &Arc<str>,
        clean_start: bool,
        expiry: Expiry,
        connection: u64,
        control: ControlSender,
        new_id: impl FnOnce() -> SessionId,
        force: bool,
    ) -> Attach {
        let fresh = |new_id: SessionId| {
            let cell = Arc::new(SessionCell::new(new_id, client_id.clone()));
            (cell, Box::new(SessionState::new(expiry)))
        };
        let attached_status = Status::Attached {
            connection,
            control: control.clone(),
        };
        match self.entries.get_mut(client_id) {
            None => {
                let (cell, state) = fresh(new_id());
                cell.set_online(true);
                self.entries.insert(
                    client_id.clone(),
                    Entry {
                        cell: cell.clone(),
                        generation: 1,
                        status: attached_status,
                        released: Arc::new(Notify::new()),
                    },
                );
                Attach::Ready(Attached {
                    cell,
                    state,
                    session_present: false,
                    generation: 1,
                    ended: None,
                })
            }
            Some(entry) => match &entry.status {
                Status::Attached { control: old, .. } if !force => {
                    // The old connection answers by detaching, which wakes `released`.
                    let _ = old.try_send(Control::TakenOver);
                    Attach::Wait(entry.released.clone())
                }
                Status::Attached { .. } => {
                    // Forced: the old connection keeps its state and ends it when it finally
                    // detaches (it finds a newer connection here); this one starts afresh.
                    let (cell, state) = fresh(new_id());
                    cell.set_online(true);
                    entry.cell = cell.clone();
                    entry.generation += 1;
                    entry.status = attached_status;
                    Attach::Ready(Attached {
                        cell,
                        state,
                        session_present: false,
                        generation: entry.generation,
                        ended: None,
                    })
                }
                Status::Detached { .. } => {
                    self.detached -= 1;
                    entry.generation += 1;
                    let Status::Detached {
                        state: old_state, ..
                    } = std::mem::replace(&mut entry.status, attached_status)
                    else {
                        unreachable!("matched as detached above")
                    };
                    if clean_start {
                        let ended = Ended {
                            cell: entry.cell.clone(),
                            state: old_state,
                        };
                        let (cell, state) = fresh(new_id());
                        cell.set_online(true);
                        entry.cell = cell.clone();
                        Attach::Ready(Attached {
                            cell,
                            state,
                            session_present: false,
                            generation: entry.generation,
                            ended: Some(ended),
                        })
                    } else {
                        let mut state = old_state;
                        state.expiry = expiry;
                        entry.cell.set_online(true);
                        Attach::Ready(Attached {
                            cell: entry.cell.clone(),
                            state,
                            session_present: true,
                            generation: entry.generation,
                            ended: None,
                        })
                    }
                }
            },
        }
    }

    /// Detaches `connection` from its session. `taken_over`: the session goes to a waiting
    /// connection whatever its expiry. Returns what became of the session.
    pub fn detach(
        &mut self,
        client_id: &Arc<str>,
        connection: u64,
        cell: Arc<SessionCell>,
        state: Box<SessionState>,
        taken_over: bool,
        now: Instant,
    ) -> Detached {
        let Some(entry) = self.entries.get_mut(client_id) else {
            return Detached::Ended(Ended { cell, state });
        };
        let ours = matches!(entry.status, Status::Attached { connection: c, .. } if c == connection)
            && Arc::ptr_eq(&entry.cell, &cell);
        if !ours {
            // A newer connection owns this client id now: this session is over.
            return Detached::Ended(Ended { cell, state });
        }
        cell.set_online(false);
        let released = entry.released.clone();
        let expires_at = match state.expiry {
            Expiry::AtDisconnect if !taken_over => {
                self.entries.remove(client_id);
                released.notify_waiters();
                return Detached::Ended(Ended { cell, state });
            }
            Expiry::AtDisconnect | Expiry::Never => None,
            Expiry::After(after) => Some(now + after),
        };
        entry.status = Status::Detached { state, expires_at };
        self.detached += 1;
        let generation = entry.generation;
        released.notify_waiters();
        Detached::Kept {
            generation,
            expires_at,
        }
    }

    /// Ends a detached session whose expiry came, if it is still the same one (`generation`).
    pub fn expire(&mut self, client_id: &str, generation: u64) -> Option<Ended> {
        let entry = self.entries.get(client_id)?;
        if entry.generation != generation || !matches!(entry.status, Status::Detached { .. }) {
            return None;
        }
        let entry = self.entries.remove(client_id)?;
        self.detached -= 1;
        match entry.status {
            Status::Detached { state, .. } => Some(Ended {
                cell: entry.cell,
                state,
            }),
            Status::Attached { .. } => None,
        }
    }

    /// True when the session of `client_id` is still the one of `generation` and detached (a
    /// delayed will may still be published for it).
    pub fn is_detached_generation(&self, client_id: &str, generation: u64) -> bool {
        self.entries.get(client_id).is_some_and(|e| {
            e.generation == generation && matches!(e.status, Status::Detached { .. })
        })
    }

    /// Every attached connection's control channel (to close them all at shutdown).
    pub fn controls(&self) -> Vec<ControlSender> {
        self.entries
            .values()
            .filter_map(|e| match &e.status {
                Status::Attached { control, .. } => Some(control.clone()),
                Status::Detached { .. } => None,
            })
            .collect()
    }

    /// The control channel of the connection serving `client_id`, if one does.
    pub fn control_of(&self, client_id: &str) -> Option<ControlSender> {
        match &self.entries.get(client_id)?.status {
            Status::Attached { control, .. } => Some(control.clone()),
            Status::Detached { .. } => None,
        }
    }

    /// Every session: its id, client id and whether a connection serves it.
    pub fn known_sessions(&self) -> Vec<super::explain::KnownSession> {
        self.entries
            .iter()
            .map(|(id, e)| super::explain::KnownSession {
                session: e.cell.id,
                client_id: id.clone(),
                connected: matches!(e.status, Status::Attached { .. }),
            })
            .collect()
    }

    /// Detached sessions: client id, messages waiting, and when the session ends (if it does).
    pub fn offline_sessions(&self) -> Vec<OfflineSession> {
        self.entries
            .iter()
            .filter_map(|(id, e)| match &e.status {
                Status::Detached { expires_at, .. } => Some(OfflineSession {
                    client_id: id.clone(),
                    queued: e.cell.queued(),
                    expires_at: *expires_at,
                }),
                Status::Attached { .. } => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn control() -> (ControlSender, mpsc::Receiver<Control>) {
        mpsc::channel(4)
    }

    fn ready(attach: Attach) -> Attached {
        match attach {
            Attach::Ready(attached) => attached,
            Attach::Wait(_) => panic!("expected the session at once"),
        }
    }

    #[test]
    fn persistent_sessions_resume_and_clean_start_replaces_them() {
        let mut registry = Registry::default();
        let id: Arc<str> = Arc::from("dev");
        let mut next = 1..;
        let mut new_id = || next.next().unwrap_or(0);
        let (tx, _rx) = control();
        let expiry = Expiry::After(Duration::from_secs(60));
        let first = ready(registry.attach(&id, true, expiry, 1, tx.clone(), &mut new_id, false));
        assert!(!first.session_present);
        let now = Instant::now();
        let kept = registry.detach(&id, 1, first.cell.clone(), first.state, false, now);
        assert!(matches!(
            kept,
            Detached::Kept {
                expires_at: Some(_),
                ..
            }
        ));
        assert_eq!(registry.detached(), 1);
        let second = ready(registry.attach(&id, false, expiry, 2, tx.clone(), &mut new_id, false));
        assert!(second.session_present);
        assert_eq!(second.cell.id, first.cell.id, "the same session");
        registry.detach(&id, 2, second.cell.clone(), second.state, false, now);
        let third = ready(registry.attach(&id, true, expiry, 3, tx, &mut new_id, false));
        assert!(!third.session_present);
        assert!(third.ended.is_some(), "the old session must be cleaned up");
        assert_ne!(third.cell.id, first.cell.id);
    }

    #[test]
    fn a_second_connection_waits_for_the_first_to_hand_over() {
        let mut registry = Registry::default();
        let id: Arc<str> = Arc::from("dev");
        let (tx1, mut rx1) = control();
        let (tx2, _rx2) = control();
        let first = ready(registry.attach(&id, true, Expiry::AtDisconnect, 1, tx1, || 1, false));
        assert!(matches!(
            registry.attach(
                &id,
                false,
                Expiry::AtDisconnect,
                2,
                tx2.clone(),
                || 2,
                false
            ),
            Attach::Wait(_)
        ));
        assert_eq!(rx1.try_recv().ok(), Some(Control::TakenOver));
        // Taken over: kept for the newcomer even though its expiry is "at disconnect".
        registry.detach(
            &id,
            1,
            first.cell.clone(),
            first.state,
            true,
            Instant::now(),
        );
        let second = ready(registry.attach(&id, false, Expiry::AtDisconnect, 2, tx2, || 2, false));
        assert!(second.session_present);
    }

    #[test]
    fn expiry_and_stale_detaches_end_sessions() {
        let mut registry = Registry::default();
        let id: Arc<str> = Arc::from("dev");
        let (tx, _rx) = control();
        let expiry = Expiry::After(Duration::from_secs(1));
        let first = ready(registry.attach(&id, true, expiry, 1, tx.clone(), || 1, false));
        let Detached::Kept { generation, .. } = registry.detach(
            &id,
            1,
            first.cell.clone(),
            first.state,
            false,
            Instant::now(),
        ) else {
            panic!("kept");
        };
        assert!(
            registry.expire(&id, generation + 1).is_none(),
            "wrong generation"
        );
        assert!(registry.expire(&id, generation).is_some());
        assert!(registry.is_empty());
        // A forced takeover leaves the old connection's detach to end its own session.
        let old = ready(registry.attach(&id, true, expiry, 5, tx.clone(), || 5, false));
        let new = ready(registry.attach(&id, false, expiry, 6, tx, || 6, true));
        assert!(!new.session_present);
        assert!(matches!(
            registry.detach(&id, 5, old.cell, old.state, false, Instant::now()),
            Detached::Ended(_)
        ));
    }
}
