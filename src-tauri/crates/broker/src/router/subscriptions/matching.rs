//! Every subscription that matches a topic, as subscribed (filter text, shared group, options):
//! for the routing explanations, which must also name the subscriptions routing passed over
//! (no-local ones, the members of a shared group that were not chosen). Walked like
//! [`SubscriptionTree::route`], never on the message path.

use super::{Node, Slot, SubscriptionTree, ROOT};
use crate::router::message::SessionId;
use smallvec::SmallVec;
use wire::codec::QoS;

/// One subscription matching a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub session: SessionId,
    pub filter: String,
    pub group: Option<String>,
    pub qos: QoS,
    pub no_local: bool,
}

impl Matched {
    /// The filter as the client subscribed it (`$share/group/filter` for a shared one).
    pub fn subscribed_as(&self) -> String {
        match &self.group {
            Some(group) => format!("$share/{group}/{}", self.filter),
            None => self.filter.clone(),
        }
    }
}

/// The most matches one question returns (a topic matched by a million subscriptions is
/// explained for the first ones).
pub const MAX_MATCHED: usize = 10_000;

impl SubscriptionTree {
    /// The filter text of `node` (and `/#` when `hash`).
    fn filter_text(&self, mut node: u32, hash: bool) -> String {
        let mut levels: Vec<&str> = Vec::new();
        while node != ROOT {
            let n: &Node = &self.nodes[node as usize];
            levels.push(&n.key);
            node = n.parent;
        }
        levels.reverse();
        if hash {
            levels.push("#");
        }
        levels.join("/")
    }

    /// Every subscription matching `topic`, in no particular order.
    pub fn matching(&self, topic: &str) -> Vec<Matched> {
        let levels: SmallVec<[&str; 12]> = topic.split('/').collect();
        let dollar = topic.starts_with('$');
        let mut out = Vec::new();
        let mut stack: SmallVec<[(u32, usize); 16]> = SmallVec::new();
        stack.push((ROOT, 0));
        while let Some((index, depth)) = stack.pop() {
            if out.len() >= MAX_MATCHED {
                break;
            }
            let node = &self.nodes[index as usize];
            let wild = !(depth == 0 && dollar);
            if depth == levels.len() {
                self.gather(&node.exact, index, false, &mut out);
                self.gather(&node.hash, index, true, &mut out);
                continue;
            }
            if wild {
                self.gather(&node.hash, index, true, &mut out);
                if let Some(plus) = node.plus {
                    stack.push((plus, depth + 1));
                }
            }
            if let Some(&child) = node.children.get(levels[depth]) {
                stack.push((child, depth + 1));
            }
        }
        out
    }

    fn gather(&self, slot: &Slot, node: u32, hash: bool, out: &mut Vec<Matched>) {
        if slot.is_empty() {
            return;
        }
        let filter = self.filter_text(node, hash);
        for subscriber in &slot.direct {
            out.push(Matched {
                session: subscriber.session.id,
                filter: filter.clone(),
                group: None,
                qos: subscriber.options.qos,
                no_local: subscriber.options.no_local,
            });
        }
        for group in &slot.groups {
            for member in &group.members {
                out.push(Matched {
                    session: member.session.id,
                    filter: filter.clone(),
                    group: Some(group.name.to_string()),
                    qos: member.options.qos,
                    no_local: member.options.no_local,
                });
            }
        }
    }
}
