//! The tree as the UI scrolls it: flattened by what is expanded (or by a filter), served as
//! windows of rows. The flattened order is cached until the tree grows or the view changes, so a
//! frame costs only the rows on screen.

use super::search;
use super::tree::{Node, NodeId, TopicTree, ROOT};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use workbench_wire::topic::{self, TopicError};

/// What the tree shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TreeFilter {
    #[default]
    All,
    /// Topics containing this text.
    Substring(String),
    /// Topics matching this MQTT filter (`+` and `#`).
    Wildcard(String),
    /// Topics the inner filter accepts whose last payload holds `text` (ASCII-lowercased); see
    /// [`crate::search`].
    Payload {
        topic: Box<TreeFilter>,
        text: String,
    },
}

impl TreeFilter {
    /// Reads what a user typed: a text with `+` or `#` is a topic filter, any other a substring.
    /// `payload:` starts a search of the last payloads: `home/# payload:on`, `payload:21.5`.
    pub fn parse(text: &str) -> Result<TreeFilter, TopicError> {
        let text = text.trim();
        if let Some(at) = text.find(search::PAYLOAD_PREFIX) {
            let needle = text[at + search::PAYLOAD_PREFIX.len()..].trim();
            let topic = TreeFilter::parse(&text[..at])?;
            if needle.is_empty() {
                return Ok(topic);
            }
            return Ok(TreeFilter::Payload {
                topic: Box::new(topic),
                text: needle.to_ascii_lowercase(),
            });
        }
        if text.is_empty() {
            Ok(TreeFilter::All)
        } else if topic::has_wildcard(text) {
            topic::validate_filter(text)?;
            Ok(TreeFilter::Wildcard(text.to_string()))
        } else {
            Ok(TreeFilter::Substring(text.to_string()))
        }
    }

    fn accepts(&self, topic: &str) -> bool {
        match self {
            TreeFilter::All => true,
            TreeFilter::Substring(text) => topic.contains(text.as_str()),
            TreeFilter::Wildcard(filter) => topic::matches(filter, topic),
            TreeFilter::Payload { topic: inner, .. } => inner.accepts(topic),
        }
    }

    /// Whether the node's last payload passes (always, without a payload part).
    fn accepts_payload(&self, topic: &str, node: &Node) -> bool {
        match self {
            TreeFilter::Payload { text, .. } => {
                let payload = node
                    .history
                    .latest()
                    .map_or(node.preview(), |m| &m.payload[..]);
                search::payload_matches(topic, payload, text)
            }
            _ => true,
        }
    }

    /// Whether what it shows changes with payloads, not only with topics.
    fn searches_payloads(&self) -> bool {
        matches!(self, TreeFilter::Payload { .. })
    }
}

/// One visible row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: NodeId,
    pub depth: u16,
    pub name: String,
    pub topic: String,
    pub own_count: u64,
    pub subtree_count: u64,
    pub has_children: bool,
    pub expanded: bool,
    pub retained: bool,
    pub last_time_ms: u64,
    /// Messages in the last complete second.
    pub rate: f64,
    /// The start of the last payload, as text (invalid UTF-8 shown as U+FFFD).
    pub preview: String,
    pub payload_len: u32,
}

#[derive(Debug)]
struct Flattened {
    structure_version: u64,
    view_version: u64,
    /// The tree's message count, for a payload search (0 otherwise).
    messages: u64,
    rows: Vec<NodeId>,
    matches: Option<usize>,
    /// When it was built, and how long that took.
    scanned: Instant,
    cost: Duration,
}

/// While a tree has at most this many nodes, new branches open as they arrive (unless the user
/// closed them), so a topic published to a small tree shows without a click.
pub const AUTO_EXPAND_MAX_NODES: usize = 200;

/// What one viewer of a tree has expanded and filtered.
#[derive(Debug, Default)]
pub struct TreeView {
    expanded: HashSet<NodeId>,
    /// Branches the user closed: never opened again by the small-tree rule.
    collapsed: HashSet<NodeId>,
    /// The tree's structure the small-tree rule last looked at.
    auto_seen: Option<u64>,
    filter: TreeFilter,
    view_version: u64,
    cache: Option<Flattened>,
}

impl TreeView {
    pub fn is_expanded(&self, id: NodeId) -> bool {
        self.expanded.contains(&id)
    }

    pub fn set_expanded(&mut self, id: NodeId, expanded: bool) {
        let changed = if expanded {
            self.collapsed.remove(&id);
            self.expanded.insert(id)
        } else {
            self.collapsed.insert(id);
            self.expanded.remove(&id)
        };
        if changed {
            self.view_version += 1;
        }
    }

    pub fn expand_all(&mut self, tree: &TopicTree) {
        self.expanded = tree
            .ids()
            .filter(|id| tree.node(*id).is_some_and(|n| !n.children.is_empty()))
            .collect();
        self.collapsed.clear();
        self.auto_seen = None;
        self.view_version += 1;
    }

    pub fn collapse_all(&mut self) {
        self.collapsed.extend(self.expanded.drain());
        // Closing everything also keeps the small-tree rule from reopening what was never open.
        self.auto_seen = Some(u64::MAX);
        self.view_version += 1;
    }

    /// Opens the branches a small tree gained since the last look (see [`AUTO_EXPAND_MAX_NODES`]).
    fn open_new_branches(&mut self, tree: &TopicTree) {
        let version = tree.structure_version();
        if self.auto_seen == Some(u64::MAX) || self.auto_seen == Some(version) {
            return;
        }
        self.auto_seen = Some(version);
        if tree.len() > AUTO_EXPAND_MAX_NODES {
            return;
        }
        let mut opened = false;
        for id in tree.ids() {
            if tree.node(id).is_some_and(|n| !n.children.is_empty())
                && !self.collapsed.contains(&id)
            {
                opened |= self.expanded.insert(id);
            }
        }
        if opened {
            self.view_version += 1;
        }
    }

    pub fn filter(&self) -> &TreeFilter {
        &self.filter
    }

    pub fn set_filter(&mut self, filter: TreeFilter) {
        if filter != self.filter {
            self.filter = filter;
            self.view_version += 1;
        }
    }

    /// The flattened rows, rebuilt only when the tree or the view changed.
    fn flattened(&mut self, tree: &mut TopicTree) -> &[NodeId] {
        self.open_new_branches(tree);
        // A payload search is redone when messages came in, topics only when the tree changed;
        // new messages alone rescan at once when the last scan was quick (under a millisecond),
        // otherwise once it is ten of its own durations old: a search over many topics takes at
        // most about a tenth of a core however fast messages come.
        let messages = if self.filter.searches_payloads() {
            tree.messages()
        } else {
            0
        };
        let fresh = self.cache.as_ref().is_some_and(|c| {
            c.structure_version == tree.structure_version()
                && c.view_version == self.view_version
                && (c.messages == messages
                    || (c.cost >= Duration::from_millis(1) && c.scanned.elapsed() < c.cost * 10))
        });
        if !fresh {
            let scanned = Instant::now();
            let (rows, matches) = self.flatten(tree);
            self.cache = Some(Flattened {
                structure_version: tree.structure_version(),
                view_version: self.view_version,
                messages,
                rows,
                matches,
                scanned,
                cost: scanned.elapsed(),
            });
        }
        self.cache
            .as_ref()
            .map(|c| c.rows.as_slice())
            .unwrap_or(&[])
    }

    /// The rows, and with a filter how many topics matched it.
    fn flatten(&self, tree: &mut TopicTree) -> (Vec<NodeId>, Option<usize>) {
        // With a filter, only matching topics and their ancestors show, all expanded.
        let mut matches = None;
        let visible: Option<HashSet<NodeId>> = match &self.filter {
            TreeFilter::All => None,
            filter => {
                let mut visible = HashSet::new();
                let mut matched = 0;
                let ids: Vec<NodeId> = tree.ids().collect();
                for id in ids {
                    let Some(node) = tree.node(id).filter(|n| n.own_count > 0) else {
                        continue;
                    };
                    let topic = tree.topic_of(id);
                    if filter.accepts(&topic) && filter.accepts_payload(&topic, node) {
                        matched += 1;
                        let mut at = id;
                        while at != ROOT && visible.insert(at) {
                            at = tree.node(at).map_or(ROOT, |n| n.parent);
                        }
                    }
                }
                matches = Some(matched);
                Some(visible)
            }
        };
        let mut rows = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(id) = stack.pop() {
            if id != ROOT {
                rows.push(id);
                let open = match &visible {
                    Some(_) => true,
                    None => self.expanded.contains(&id),
                };
                if !open {
                    continue;
                }
            }
            tree.sort_children(id);
            if let Some(node) = tree.node(id) {
                for child in node.children.iter().rev() {
                    if visible.as_ref().is_none_or(|v| v.contains(child)) {
                        stack.push(*child);
                    }
                }
            }
        }
        (rows, matches)
    }

    /// With a filter, how many topics matched it when the rows were last built.
    pub fn matches(&self) -> Option<usize> {
        self.cache.as_ref().and_then(|c| c.matches)
    }

    /// How many rows the view has.
    pub fn row_count(&mut self, tree: &mut TopicTree) -> usize {
        self.flattened(tree).len()
    }

    /// The position of a node among the rows, if it shows.
    pub fn position(&mut self, tree: &mut TopicTree, id: NodeId) -> Option<usize> {
        self.flattened(tree).iter().position(|r| *r == id)
    }

    /// Rows `from..from + count`, as of `now_ms`.
    pub fn rows(
        &mut self,
        tree: &mut TopicTree,
        from: usize,
        count: usize,
        now_ms: u64,
    ) -> Vec<Row> {
        let ids: Vec<NodeId> = self
            .flattened(tree)
            .iter()
            .skip(from)
            .take(count)
            .copied()
            .collect();
        let filtered = self.filter != TreeFilter::All;
        ids.into_iter()
            .filter_map(|id| {
                let node = tree.node(id)?;
                Some(Row {
                    id,
                    depth: node.depth,
                    name: node.name.to_string(),
                    topic: tree.topic_of(id),
                    own_count: node.own_count,
                    subtree_count: node.subtree_count,
                    has_children: !node.children.is_empty(),
                    expanded: filtered || self.expanded.contains(&id),
                    retained: node.retained,
                    last_time_ms: node.last_time_ms,
                    rate: node.rate.rates(now_ms / 1000).messages_1s,
                    preview: preview_text(node.preview()),
                    payload_len: node.last_payload_len,
                })
            })
            .collect()
    }
}

/// A row's payload preview: the text when the payload starts as text (a character cut at the end
/// of the preview is dropped), otherwise the first bytes in hex, so binary payloads read as data
/// instead of replacement characters.
pub fn preview_text(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        // Only the last character cut short by the preview's length: still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(text)
            if !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
        {
            text.to_string()
        }
        _ => {
            let hex: Vec<String> = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("0x {}", hex.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::history::HistoryLimits;
    use super::super::tree::Incoming;
    use super::*;

    fn tree_with(topics: &[&str]) -> TopicTree {
        let mut tree = TopicTree::new(HistoryLimits::default());
        for (i, topic) in topics.iter().enumerate() {
            tree.record(&Incoming {
                topic,
                payload: b"p",
                qos: 0,
                retain: false,
                time_ms: i as u64,
            });
        }
        tree
    }

    fn names(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| format!("{}{}", " ".repeat(r.depth as usize - 1), r.name))
            .collect()
    }

    #[test]
    fn expanding_reveals_sorted_children() {
        let mut tree = tree_with(&["b/2", "a/1", "b/1", "c"]);
        let mut view = TreeView::default();
        view.collapse_all();
        assert_eq!(names(&view.rows(&mut tree, 0, 10, 0)), ["a", "b", "c"]);
        let b = tree.find("b").unwrap();
        view.set_expanded(b, true);
        assert_eq!(
            names(&view.rows(&mut tree, 0, 10, 0)),
            ["a", "b", " 1", " 2", "c"]
        );
        assert_eq!(names(&view.rows(&mut tree, 2, 2, 0)), [" 1", " 2"]);
        view.collapse_all();
        assert_eq!(view.row_count(&mut tree), 3);
        view.expand_all(&tree);
        assert_eq!(view.row_count(&mut tree), 6);
    }

    #[test]
    fn a_small_tree_opens_new_branches_but_not_the_ones_closed() {
        let mut tree = tree_with(&["plant/line1/temp"]);
        let mut view = TreeView::default();
        assert_eq!(
            names(&view.rows(&mut tree, 0, 10, 0)),
            ["plant", " line1", "  temp"]
        );
        let line1 = tree.find("plant/line1").unwrap();
        view.set_expanded(line1, false);
        for (i, topic) in ["plant/line1/speed", "plant/line2/deep/er/temp"]
            .iter()
            .enumerate()
        {
            tree.record(&Incoming {
                topic,
                payload: b"p",
                qos: 0,
                retain: false,
                time_ms: 10 + i as u64,
            });
        }
        assert_eq!(
            names(&view.rows(&mut tree, 0, 10, 0)),
            ["plant", " line1", " line2", "  deep", "   er", "    temp"]
        );
    }

    #[test]
    fn a_large_tree_keeps_new_branches_closed() {
        let topics: Vec<String> = (0..AUTO_EXPAND_MAX_NODES)
            .map(|i| format!("many/{i}"))
            .collect();
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        let mut tree = tree_with(&refs);
        let mut view = TreeView::default();
        // Past the limit: nothing opens by itself.
        assert_eq!(names(&view.rows(&mut tree, 0, 10, 0)), ["many"]);
        tree.record(&Incoming {
            topic: "other/x",
            payload: b"p",
            qos: 0,
            retain: false,
            time_ms: 1,
        });
        assert_eq!(names(&view.rows(&mut tree, 0, 10, 0)), ["many", "other"]);
    }

    #[test]
    fn a_payload_search_follows_the_last_message_of_each_topic() {
        let mut tree = TopicTree::new(HistoryLimits::default());
        let publish = |tree: &mut TopicTree, topic: &str, payload: &[u8]| {
            tree.record(&Incoming {
                topic,
                payload,
                qos: 0,
                retain: false,
                time_ms: 1,
            })
        };
        publish(&mut tree, "home/kitchen/state", b"{\"mode\": \"ON\"}");
        publish(&mut tree, "home/hall/state", b"off");
        publish(&mut tree, "office/state", b"on");
        let mut view = TreeView::default();
        view.set_filter(TreeFilter::parse("home/# payload: on").unwrap());
        assert_eq!(
            names(&view.rows(&mut tree, 0, 10, 0)),
            ["home", " kitchen", "  state"]
        );
        assert_eq!(view.matches(), Some(1));
        // A new last message moves the search, though no topic was added.
        publish(&mut tree, "home/hall/state", b"on again");
        assert_eq!(view.row_count(&mut tree), 5);
        assert_eq!(view.matches(), Some(2));
        view.set_filter(TreeFilter::parse("payload:nothing").unwrap());
        assert_eq!((view.row_count(&mut tree), view.matches()), (0, Some(0)));
        view.set_filter(TreeFilter::parse("office payload:").unwrap());
        assert_eq!(view.filter(), &TreeFilter::Substring("office".into()));
        view.set_filter(TreeFilter::All);
        view.row_count(&mut tree);
        assert_eq!(view.matches(), None);
        assert!(TreeFilter::parse("home/#/x payload:on").is_err());
    }

    #[test]
    fn filters_show_matches_with_their_ancestors() {
        let mut tree = tree_with(&[
            "home/kitchen/temp",
            "home/hall/temp",
            "office/temp",
            "home/kitchen/light",
        ]);
        let mut view = TreeView::default();
        view.set_filter(TreeFilter::parse("home/+/temp").unwrap());
        assert_eq!(
            names(&view.rows(&mut tree, 0, 10, 0)),
            ["home", " hall", "  temp", " kitchen", "  temp"]
        );
        view.set_filter(TreeFilter::parse("light").unwrap());
        assert_eq!(
            names(&view.rows(&mut tree, 0, 10, 0)),
            ["home", " kitchen", "  light"]
        );
        assert!(TreeFilter::parse("sport/+/player#").is_err());
        assert_eq!(TreeFilter::parse("  ").unwrap(), TreeFilter::All);
    }

    #[test]
    fn new_topics_invalidate_the_cache() {
        let mut tree = tree_with(&["a"]);
        let mut view = TreeView::default();
        assert_eq!(view.row_count(&mut tree), 1);
        tree.record(&Incoming {
            topic: "b",
            payload: b"",
            qos: 0,
            retain: false,
            time_ms: 9,
        });
        assert_eq!(view.row_count(&mut tree), 2);
    }

    #[test]
    fn previews_show_text_as_text_and_binary_as_hex() {
        assert_eq!(preview_text(b"{\"t\":1}"), "{\"t\":1}");
        assert_eq!(preview_text("caf\u{e9}".as_bytes()), "caf\u{e9}");
        // A two-byte character cut in half by the preview's end.
        assert_eq!(preview_text(&"ab\u{e9}".as_bytes()[..3]), "ab");
        assert_eq!(
            preview_text(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a]),
            "0x 89 50 4e 47 0d 0a"
        );
        assert_eq!(preview_text(&[0, 1, 2]), "0x 00 01 02");
    }
}
