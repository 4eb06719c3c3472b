//! Every session's subscriptions in one tree of topic levels, so that routing a message costs
//! the depth of its topic, not the number of subscriptions: a client with 100,000 filters slows
//! nobody down.
//!
//! A filter is stored at the node of its last literal or `+` level: in that node's `exact` slot,
//! or in its `hash` slot when the filter ends in `/#` (`#` alone is the root's `hash`). Shared
//! subscriptions (`$share/group/filter`) sit in the same slots as groups whose members take
//! turns. The tree is an arena walked with explicit stacks: a filter or topic of 30,000 levels
//! cannot overflow a thread's stack.

use super::message::{SessionId, SubscriptionIds};
use super::session::SessionCell;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wire::codec::QoS;

mod matching;
pub use matching::{Matched, MAX_MATCHED};

/// What a subscription asked for (MQTT 5 options; 3.1.1 uses only the QoS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionOptions {
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub identifier: Option<u32>,
}

/// One session's entry in the tree.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub session: Arc<SessionCell>,
    pub options: SubscriptionOptions,
}

/// A filter as a subscription names it: plain, or shared by a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterName<'a> {
    pub filter: &'a str,
    pub group: Option<&'a str>,
}

impl<'a> FilterName<'a> {
    /// Splits `$share/group/filter`; anything else is a plain filter. `None` for a malformed
    /// shared subscription (empty group or filter, or a wildcard in the group name).
    pub fn parse(text: &'a str) -> Option<FilterName<'a>> {
        match text.strip_prefix("$share/") {
            None => Some(FilterName {
                filter: text,
                group: None,
            }),
            Some(rest) => {
                let (group, filter) = rest.split_once('/')?;
                if group.is_empty() || filter.is_empty() || group.contains(['+', '#']) {
                    return None;
                }
                Some(FilterName {
                    filter,
                    group: Some(group),
                })
            }
        }
    }
}

/// A message's destination in one session, after merging every matching subscription.
#[derive(Debug, Clone)]
pub struct Target {
    pub session: Arc<SessionCell>,
    /// The highest QoS among the matching subscriptions.
    pub qos: QoS,
    /// Some matching subscription asked for the retain flag as published.
    pub retain_as_published: bool,
    pub subscription_ids: SubscriptionIds,
    /// Chosen as one member of a shared subscription group.
    pub shared: bool,
}

#[derive(Debug)]
struct Group {
    name: Box<str>,
    members: Vec<Subscriber>,
    /// Round-robin position; atomic so routing needs only a read lock.
    next: AtomicUsize,
}

#[derive(Debug, Default)]
struct Slot {
    direct: Vec<Subscriber>,
    groups: Vec<Group>,
}

impl Slot {
    fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.groups.is_empty()
    }
}

#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, u32>,
    plus: Option<u32>,
    exact: Slot,
    hash: Slot,
    parent: u32,
    /// This node's level text in its parent ("+" for the parent's `plus`).
    key: Box<str>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.plus.is_none()
            && self.exact.is_empty()
            && self.hash.is_empty()
    }
}

const ROOT: u32 = 0;

/// All subscriptions of all sessions.
#[derive(Debug)]
pub struct SubscriptionTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    count: usize,
}

impl Default for SubscriptionTree {
    fn default() -> Self {
        SubscriptionTree {
            nodes: vec![Node::default()],
            free: Vec::new(),
            count: 0,
        }
    }
}

impl SubscriptionTree {
    /// Subscriptions stored (each group member counts once).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Nodes in use (for memory accounting and tests).
    pub fn node_count(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    fn new_node(&mut self, parent: u32, key: &str) -> u32 {
        let node = Node {
            parent,
            key: key.into(),
            ..Node::default()
        };
        match self.free.pop() {
            Some(index) => {
                self.nodes[index as usize] = node;
                index
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// The node a filter's slot lives in, and whether it is the `hash` slot. Creates the path
    /// when `create`; `None` when it does not exist.
    fn locate(&mut self, filter: &str, create: bool) -> Option<(u32, bool)> {
        let mut node = ROOT;
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            if level == "#" && levels.peek().is_none() {
                return Some((node, true));
            }
            let next = if level == "+" {
                self.nodes[node as usize].plus
            } else {
                self.nodes[node as usize].children.get(level).copied()
            };
            node = match next {
                Some(next) => next,
                None if create => {
                    let child = self.new_node(node, level);
                    if level == "+" {
                        self.nodes[node as usize].plus = Some(child);
                    } else {
                        self.nodes[node as usize]
                            .children
                            .insert(level.into(), child);
                    }
                    child
                }
                None => return None,
            };
        }
        Some((node, false))
    }

    fn slot_mut(&mut self, node: u32, hash: bool) -> &mut Slot {
        let node = &mut self.nodes[node as usize];
        if hash {
            &mut node.hash
        } else {
            &mut node.exact
        }
    }

    /// Adds or replaces `subscriber`'s subscription to `name` (the filter must be valid).
    /// Returns true when it replaced an existing one.
    pub fn insert(&mut self, name: FilterName<'_>, subscriber: Subscriber) -> bool {
        let Some((node, hash)) = self.locate(name.filter, true) else {
            return false;
        };
        let id = subscriber.session.id;
        let slot = self.slot_mut(node, hash);
        let list = match name.group {
            None => &mut slot.direct,
            Some(group) => {
                let index = match slot.groups.iter().position(|g| &*g.name == group) {
                    Some(index) => index,
                    None => {
                        slot.groups.push(Group {
                            name: group.into(),
                            members: Vec::new(),
                            next: AtomicUsize::new(0),
                        });
                        slot.groups.len() - 1
                    }
                };
                &mut slot.groups[index].members
            }
        };
        match list.iter_mut().find(|s| s.session.id == id) {
            Some(existing) => {
                *existing = subscriber;
                true
            }
            None => {
                list.push(subscriber);
                self.count += 1;
                false
            }
        }
    }

    /// Removes `session`'s subscription to `name`. Returns true when there was one.
    pub fn remove(&mut self, name: FilterName<'_>, session: SessionId) -> bool {
        let Some((node, hash)) = self.locate(name.filter, false) else {
            return false;
        };
        let slot = self.slot_mut(node, hash);
        let removed = match name.group {
            None => remove_member(&mut slot.direct, session),
            Some(group) => match slot.groups.iter().position(|g| &*g.name == group) {
                Some(index) => {
                    let removed = remove_member(&mut slot.groups[index].members, session);
                    if slot.groups[index].members.is_empty() {
                        slot.groups.swap_remove(index);
                    }
                    removed
                }
                None => false,
            },
        };
        if removed {
            self.count -= 1;
            self.prune(node);
        }
        removed
    }

    /// Frees empty nodes from `node` up towards the root.
    fn prune(&mut self, mut node: u32) {
        while node != ROOT && self.nodes[node as usize].is_empty() {
            let parent = self.nodes[node as usize].parent;
            let key = std::mem::take(&mut self.nodes[node as usize].key);
            let parent_node = &mut self.nodes[parent as usize];
            if &*key == "+" && parent_node.plus == Some(node) {
                parent_node.plus = None;
            } else {
                parent_node.children.remove(&key);
            }
            self.nodes[node as usize] = Node::default();
            self.free.push(node);
            node = parent;
        }
    }

    /// The sessions a message on `topic` from `publisher` goes to, one [`Target`] per session
    /// for ordinary subscriptions (merged: highest QoS, every identifier), plus one per shared
    /// group that matches. No-local subscriptions of the publisher are left out.
    pub fn route(&self, topic: &str, publisher: SessionId, out: &mut Vec<Target>) {
        let levels: SmallVec<[&str; 12]> = topic.split('/').collect();
        let dollar = topic.starts_with('$');
        let mut stack: SmallVec<[(u32, usize); 16]> = SmallVec::new();
        stack.push((ROOT, 0));
        let first = out.len();
        while let Some((index, depth)) = stack.pop() {
            let node = &self.nodes[index as usize];
            // Wildcards in the first level never match topics starting with '$'.
            let wild = !(depth == 0 && dollar);
            if depth == levels.len() {
                collect(&node.exact, publisher, out);
                collect(&node.hash, publisher, out);
                continue;
            }
            if wild {
                collect(&node.hash, publisher, out);
                if let Some(plus) = node.plus {
                    stack.push((plus, depth + 1));
                }
            }
            if let Some(&child) = node.children.get(levels[depth]) {
                stack.push((child, depth + 1));
            }
        }
        if out.len() - first > 1 {
            merge_per_session(out, first);
        }
    }
}

fn remove_member(list: &mut Vec<Subscriber>, session: SessionId) -> bool {
    match list.iter().position(|s| s.session.id == session) {
        Some(index) => {
            list.swap_remove(index);
            true
        }
        None => false,
    }
}

fn collect(slot: &Slot, publisher: SessionId, out: &mut Vec<Target>) {
    for subscriber in &slot.direct {
        if subscriber.options.no_local && subscriber.session.id == publisher {
            continue;
        }
        out.push(target(subscriber, false));
    }
    for group in &slot.groups {
        if let Some(member) = pick_member(group) {
            out.push(target(member, true));
        }
    }
}

fn target(subscriber: &Subscriber, shared: bool) -> Target {
    let mut subscription_ids = SubscriptionIds::None;
    if let Some(id) = subscriber.options.identifier {
        subscription_ids.add(id);
    }
    Target {
        session: subscriber.session.clone(),
        qos: subscriber.options.qos,
        retain_as_published: subscriber.options.retain_as_published,
        subscription_ids,
        shared,
    }
}

/// The next member of a group in turn, preferring members that are connected.
fn pick_member(group: &Group) -> Option<&Subscriber> {
    let count = group.members.len();
    if count == 0 {
        return None;
    }
    let start = group.next.fetch_add(1, Ordering::Relaxed);
    (0..count)
        .map(|offset| &group.members[(start + offset) % count])
        .find(|member| member.session.is_online())
        .or_else(|| group.members.get(start % count))
}

/// Merges the ordinary (not shared) targets of each session among `out[first..]` into one.
fn merge_per_session(out: &mut Vec<Target>, first: usize) {
    let mut found = out.split_off(first);
    found.sort_by_key(|t| (t.shared, t.session.id));
    for target in found {
        let merged_before = out.len() > first;
        match out.last_mut() {
            Some(last)
                if merged_before
                    && !last.shared
                    && !target.shared
                    && last.session.id == target.session.id =>
            {
                last.qos = last.qos.max(target.qos);
                last.retain_as_published |= target.retain_as_published;
                for id in target.subscription_ids.as_slice() {
                    last.subscription_ids.add(*id);
                }
            }
            _ => out.push(target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(id: SessionId) -> Arc<SessionCell> {
        let cell = SessionCell::new(id, Arc::from(format!("c{id}")));
        cell.set_online(true);
        Arc::new(cell)
    }

    fn sub(cell: &Arc<SessionCell>, qos: QoS) -> Subscriber {
        Subscriber {
            session: cell.clone(),
            options: SubscriptionOptions {
                qos,
                ..SubscriptionOptions::default()
            },
        }
    }

    fn plain(filter: &str) -> FilterName<'_> {
        FilterName::parse(filter).expect("valid")
    }

    fn routed(tree: &SubscriptionTree, topic: &str) -> Vec<(SessionId, QoS)> {
        let mut out = Vec::new();
        tree.route(topic, 999, &mut out);
        let mut pairs: Vec<_> = out.iter().map(|t| (t.session.id, t.qos)).collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn wildcards_match_as_the_specification_says() {
        let mut tree = SubscriptionTree::default();
        let cases: [(&str, SessionId); 8] = [
            ("sport/tennis/player1/#", 1),
            ("sport/+", 2),
            ("#", 3),
            ("+/+", 4),
            ("/+", 5),
            ("sport/tennis/+", 6),
            ("+", 7),
            ("$SYS/#", 8),
        ];
        for (filter, id) in cases {
            tree.insert(plain(filter), sub(&cell(id), QoS::AtMostOnce));
        }
        let ids = |topic| {
            routed(&tree, topic)
                .into_iter()
                .map(|(id, _)| id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("sport/tennis/player1"), vec![1, 3, 6]);
        assert_eq!(ids("sport/tennis/player1/ranking"), vec![1, 3]);
        assert_eq!(ids("sport"), vec![3, 7]);
        assert_eq!(ids("sport/"), vec![2, 3, 4]);
        assert_eq!(ids("/finance"), vec![3, 4, 5]);
        assert_eq!(
            ids("$SYS/broker/uptime"),
            vec![8],
            "no wildcard at the start matches $"
        );
        assert_eq!(tree.len(), 8);
    }

    #[test]
    fn overlapping_subscriptions_give_one_target_with_every_identifier() {
        let mut tree = SubscriptionTree::default();
        let a = cell(1);
        let mut hash = sub(&a, QoS::AtLeastOnce);
        hash.options.identifier = Some(1);
        let mut plus = sub(&a, QoS::ExactlyOnce);
        plus.options.identifier = Some(2);
        tree.insert(plain("ov/#"), hash);
        tree.insert(plain("ov/+"), plus);
        let mut out = Vec::new();
        tree.route("ov/x", 999, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].qos, QoS::ExactlyOnce);
        assert_eq!(out[0].subscription_ids.as_slice().len(), 2);
    }

    #[test]
    fn no_local_skips_only_the_publisher() {
        let mut tree = SubscriptionTree::default();
        let (a, b) = (cell(1), cell(2));
        for c in [&a, &b] {
            let mut s = sub(c, QoS::AtLeastOnce);
            s.options.no_local = true;
            tree.insert(plain("TopicA"), s);
        }
        let mut out = Vec::new();
        tree.route("TopicA", 1, &mut out);
        assert_eq!(
            out.iter().map(|t| t.session.id).collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn shared_groups_take_turns_and_prefer_connected_members() {
        let mut tree = SubscriptionTree::default();
        let (a, b, c) = (cell(1), cell(2), cell(3));
        let name = FilterName::parse("$share/workers/jobs/+").expect("valid");
        for member in [&a, &b, &c] {
            tree.insert(name, sub(member, QoS::AtLeastOnce));
        }
        let mut counts = HashMap::new();
        for _ in 0..30 {
            let mut out = Vec::new();
            tree.route("jobs/1", 999, &mut out);
            assert_eq!(out.len(), 1, "one member per message");
            *counts.entry(out[0].session.id).or_insert(0) += 1;
        }
        assert_eq!(
            counts.values().copied().collect::<Vec<_>>(),
            vec![10, 10, 10]
        );
        b.set_online(false);
        for _ in 0..10 {
            let mut out = Vec::new();
            tree.route("jobs/1", 999, &mut out);
            assert_ne!(out[0].session.id, 2, "an offline member is passed over");
        }
        assert!(FilterName::parse("$share//x").is_none());
        assert!(FilterName::parse("$share/g+/x").is_none());
        assert!(FilterName::parse("$share/g").is_none());
    }

    #[test]
    fn removal_prunes_nodes_and_deep_filters_do_not_recurse() {
        let mut tree = SubscriptionTree::default();
        let a = cell(1);
        let deep = vec!["x"; 40_000].join("/");
        tree.insert(plain(&deep), sub(&a, QoS::AtMostOnce));
        tree.insert(plain("a/b/c"), sub(&a, QoS::AtMostOnce));
        assert_eq!(routed(&tree, &deep).len(), 1);
        assert!(tree.node_count() > 40_000);
        assert!(tree.remove(plain(&deep), 1));
        assert!(!tree.remove(plain(&deep), 1));
        assert!(tree.remove(plain("a/b/c"), 1));
        assert_eq!(tree.node_count(), 1, "only the root is left");
        assert!(tree.is_empty());
    }

    #[test]
    fn many_filters_of_one_client_cost_the_topic_depth_to_route() {
        let mut tree = SubscriptionTree::default();
        let a = cell(1);
        for i in 0..100_000 {
            tree.insert(plain(&format!("f/{i}/+")), sub(&a, QoS::AtMostOnce));
        }
        let started = std::time::Instant::now();
        for i in 0..10_000 {
            let mut out = Vec::new();
            tree.route(&format!("f/{i}/x"), 999, &mut out);
            assert_eq!(out.len(), 1);
        }
        // Not a timing assertion: a linear scan would take minutes in a debug build.
        let _ = started.elapsed();
    }
}
