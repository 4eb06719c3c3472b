//! The fault book: every armed rule, keyed by client id, shared by all connections of a broker
//! or proxy and by whoever arms rules (the app, the command line). A rule may be armed before
//! its client connects ("refuse the next CONNECT of dev1").
//!
//! Connections ask [`FaultBook::is_empty`] first, a single atomic load, so a broker without
//! rules pays nothing else; only a client with rules takes the lock.

use crate::rule::{ArmedRule, Fault, RuleError, MAX_CLIENT_ID, MAX_RULES, MAX_RULES_PER_CLIENT};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Called with a client id after its rules changed (armed, cleared, or used up).
pub type Listener = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Rules {
    pub(crate) by_client: HashMap<String, Vec<ArmedRule>>,
    next_id: u32,
}

/// The armed rules of one broker or proxy.
#[derive(Default)]
pub struct FaultBook {
    rules: Mutex<Rules>,
    /// How many rules are armed in all: the hot path's only question.
    armed: AtomicUsize,
    /// Bumped on every change.
    changes: AtomicU64,
    listeners: Mutex<Vec<Listener>>,
}

impl std::fmt::Debug for FaultBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultBook")
            .field("armed", &self.armed.load(Ordering::Relaxed))
            .finish()
    }
}

impl FaultBook {
    pub fn new() -> FaultBook {
        FaultBook::default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when no rule is armed for anyone (one relaxed atomic load).
    pub fn is_empty(&self) -> bool {
        self.armed.load(Ordering::Relaxed) == 0
    }

    /// Whether `client_id` has a rule armed.
    pub fn has_rules_for(&self, client_id: &str) -> bool {
        !self.is_empty() && self.lock().by_client.contains_key(client_id)
    }

    /// Arms `fault` against `client_id`; returns the rule's id.
    pub fn arm(&self, client_id: &str, fault: Fault) -> Result<u32, RuleError> {
        if client_id.is_empty() {
            return Err(RuleError::NoClient);
        }
        if client_id.len() > MAX_CLIENT_ID {
            return Err(RuleError::ClientTooLong);
        }
        fault.validate()?;
        let id = {
            let mut rules = self.lock();
            if self.armed.load(Ordering::Relaxed) >= MAX_RULES {
                return Err(RuleError::TooMany);
            }
            if rules.by_client.get(client_id).map_or(0, Vec::len) >= MAX_RULES_PER_CLIENT {
                return Err(RuleError::TooManyForClient(client_id.to_string()));
            }
            rules.next_id = rules.next_id.wrapping_add(1).max(1);
            let id = rules.next_id;
            rules
                .by_client
                .entry(client_id.to_string())
                .or_default()
                .push(ArmedRule {
                    id,
                    client_id: client_id.to_string(),
                    fault,
                });
            self.armed.fetch_add(1, Ordering::Relaxed);
            id
        };
        self.changed(client_id);
        Ok(id)
    }

    /// Clears one rule; returns the client it was armed against.
    pub fn clear(&self, id: u32) -> Option<String> {
        let client = {
            let mut rules = self.lock();
            let client = rules
                .by_client
                .iter()
                .find(|(_, list)| list.iter().any(|r| r.id == id))
                .map(|(client, _)| client.clone())?;
            self.remove_where(&mut rules, &client, |r| r.id == id);
            client
        };
        self.changed(&client);
        Some(client)
    }

    /// Clears every rule of `client_id`; returns how many there were.
    pub fn clear_client(&self, client_id: &str) -> usize {
        let removed = {
            let mut rules = self.lock();
            self.remove_where(&mut rules, client_id, |_| true)
        };
        if removed > 0 {
            self.changed(client_id);
        }
        removed
    }

    /// Clears every rule.
    pub fn clear_all(&self) {
        let clients: Vec<String> = {
            let mut rules = self.lock();
            self.armed.store(0, Ordering::Relaxed);
            rules.by_client.drain().map(|(client, _)| client).collect()
        };
        for client in clients {
            self.changed(&client);
        }
    }

    /// Every armed rule, by client id then in the order armed.
    pub fn rules(&self) -> Vec<ArmedRule> {
        let rules = self.lock();
        let mut all: Vec<ArmedRule> = rules.by_client.values().flatten().cloned().collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id).then(a.id.cmp(&b.id)));
        all
    }

    /// The rules armed against `client_id`, in the order armed.
    pub fn rules_for(&self, client_id: &str) -> Vec<ArmedRule> {
        if self.is_empty() {
            return Vec::new();
        }
        self.lock()
            .by_client
            .get(client_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Takes the refusal armed for `client_id`'s next CONNECT, if any: its reason code.
    pub fn take_refusal(&self, client_id: &str) -> Option<u8> {
        if self.is_empty() {
            return None;
        }
        let code = {
            let mut rules = self.lock();
            let code = rules
                .by_client
                .get(client_id)?
                .iter()
                .find_map(|r| match r.fault {
                    Fault::Refuse { code } => Some((r.id, code)),
                    _ => None,
                })?;
            self.remove_where(&mut rules, client_id, |r| r.id == code.0);
            code.1
        };
        self.changed(client_id);
        Some(code)
    }

    /// Calls `listener` with a client id after that client's rules changed (armed, cleared,
    /// or used up). A broker wakes the client's connection with it; the app tells its views.
    /// The listener runs on the thread that made the change and must not call the book.
    pub fn on_change(&self, listener: impl Fn(&str) + Send + Sync + 'static) {
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(listener));
    }

    /// How many changes the book has seen.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    pub(crate) fn changed(&self, client_id: &str) {
        self.changes.fetch_add(1, Ordering::Relaxed);
        let listeners: Vec<Listener> = self
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for listener in listeners {
            listener(client_id);
        }
    }

    /// Removes `client_id`'s rules that match; returns how many.
    pub(crate) fn remove_where(
        &self,
        rules: &mut Rules,
        client_id: &str,
        mut matches: impl FnMut(&ArmedRule) -> bool,
    ) -> usize {
        let Some(list) = rules.by_client.get_mut(client_id) else {
            return 0;
        };
        let before = list.len();
        list.retain(|r| !matches(r));
        let removed = before - list.len();
        if list.is_empty() {
            rules.by_client.remove(client_id);
        }
        self.armed.fetch_sub(removed, Ordering::Relaxed);
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Toward;
    use wire::PacketKind;

    #[test]
    fn rules_are_armed_listed_and_cleared_per_client() {
        let book = FaultBook::new();
        assert!(book.is_empty());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        book.on_change(move |client| s.lock().unwrap().push(client.to_string()));
        let a = book.arm("dev1", Fault::Cut).unwrap();
        let b = book
            .arm(
                "dev2",
                Fault::Drop {
                    kind: PacketKind::PubAck,
                    toward: Toward::Client,
                    count: 2,
                },
            )
            .unwrap();
        assert_ne!(a, b);
        assert!(!book.is_empty());
        assert!(book.has_rules_for("dev1"));
        assert!(!book.has_rules_for("dev3"));
        assert_eq!(book.rules().len(), 2);
        assert_eq!(book.clear(a).as_deref(), Some("dev1"));
        assert!(!book.has_rules_for("dev1"));
        assert_eq!(book.clear_client("dev2"), 1);
        assert!(book.is_empty());
        assert_eq!(*seen.lock().unwrap(), ["dev1", "dev2", "dev1", "dev2"]);
    }

    #[test]
    fn a_refusal_is_used_once() {
        let book = FaultBook::new();
        book.arm("dev1", Fault::Refuse { code: 0x87 }).unwrap();
        assert_eq!(book.take_refusal("dev2"), None);
        assert_eq!(book.take_refusal("dev1"), Some(0x87));
        assert_eq!(book.take_refusal("dev1"), None);
        assert!(book.is_empty());
    }

    #[test]
    fn the_book_is_bounded() {
        let book = FaultBook::new();
        for _ in 0..MAX_RULES_PER_CLIENT {
            book.arm("dev1", Fault::Pause).unwrap();
        }
        assert!(matches!(
            book.arm("dev1", Fault::Pause),
            Err(RuleError::TooManyForClient(_))
        ));
        assert_eq!(book.arm("", Fault::Pause), Err(RuleError::NoClient));
    }
}
