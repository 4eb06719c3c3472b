use super::*;

fn at(tree: &mut TopicTree, topic: &str, payload: &[u8], time_ms: u64) -> NodeId {
    tree.record(&Incoming {
        topic,
        payload,
        qos: 0,
        retain: false,
        time_ms,
    })
    .expect("shown")
}

#[test]
fn counts_roll_up_the_levels() {
    let mut tree = TopicTree::new(HistoryLimits::default());
    let a = at(&mut tree, "home/kitchen/temp", b"21.5", 1000);
    at(&mut tree, "home/kitchen/temp", b"21.6", 2000);
    at(&mut tree, "home/hall", b"on", 3000);
    let home = tree.find("home").unwrap();
    let kitchen = tree.find("home/kitchen").unwrap();
    assert_eq!(tree.node(a).unwrap().own_count, 2);
    assert_eq!(tree.node(kitchen).unwrap().own_count, 0);
    assert_eq!(tree.node(kitchen).unwrap().subtree_count, 2);
    assert_eq!(tree.node(home).unwrap().subtree_count, 3);
    assert_eq!(tree.node(ROOT).unwrap().subtree_count, 3);
    assert_eq!(tree.node(home).unwrap().last_time_ms, 3000);
    assert_eq!(tree.node(a).unwrap().preview(), b"21.6");
    assert_eq!(tree.topic_of(a), "home/kitchen/temp");
    assert_eq!(tree.len(), 4);
}

#[test]
fn empty_levels_are_topics_too() {
    let mut tree = TopicTree::new(HistoryLimits::default());
    let id = at(&mut tree, "a//b", b"x", 1);
    assert_eq!(tree.topic_of(id), "a//b");
    let slash = at(&mut tree, "/", b"y", 2);
    assert_eq!(tree.topic_of(slash), "/");
    assert!(tree.find("a/").is_some());
}

#[test]
fn the_global_limit_drops_the_least_recent_histories() {
    let limits = HistoryLimits {
        per_topic_messages: 10,
        per_topic_bytes: 1 << 20,
        total_bytes: 100 * (100 + super::super::history::MESSAGE_OVERHEAD),
    };
    let mut tree = TopicTree::new(limits);
    for i in 0..1000u64 {
        let topic = format!("t/{}", i % 50);
        at(&mut tree, &topic, &[0u8; 100], i);
    }
    assert!(tree.history_bytes() <= limits.total_bytes);
    // The most recent topic kept its history; counts survive eviction.
    let recent = tree.find("t/49").unwrap();
    assert!(!tree.node(recent).unwrap().history.is_empty());
    assert_eq!(tree.node(ROOT).unwrap().subtree_count, 1000);
}

#[test]
fn recent_counts_come_from_the_histories_and_only_where_they_are_exact() {
    let limits = HistoryLimits {
        per_topic_messages: 3,
        ..HistoryLimits::default()
    };
    let mut tree = TopicTree::new(limits);
    // a/x: one message in each of the seconds 10, 11, 12 (kept whole).
    for second in 10..13 {
        at(&mut tree, "a/x", b"1", second * 1000);
    }
    // a/y: two in second 11 and one in 12, also whole.
    at(&mut tree, "a/y", b"1", 11_100);
    at(&mut tree, "a/y", b"1", 11_200);
    at(&mut tree, "a/y", b"1", 12_000);
    let a = tree.find("a").unwrap();
    assert_eq!(
        tree.recent_counts(a, 9, 13, 100),
        Some((9, vec![0, 1, 3, 2]))
    );
    // a/z dropped its oldest message (kept: 12.5 s, 13 s, 13.5 s), so seconds up to 12
    // are no longer exact for the subtree; a/x alone still is.
    for time in [12_000, 12_500, 13_000, 13_500] {
        at(&mut tree, "a/z", b"1", time);
    }
    assert_eq!(tree.recent_counts(a, 9, 14, 100), Some((13, vec![2])));
    let x = tree.find("a/x").unwrap();
    assert_eq!(
        tree.recent_counts(x, 9, 14, 100),
        Some((9, vec![0, 1, 1, 1, 0]))
    );
    // A topic whose history was cleared vouches only for the time after its last message;
    // one whose last message is older than the window does not matter at all.
    tree.clear_history(x);
    assert_eq!(tree.recent_counts(x, 9, 14, 100), Some((13, vec![0])));
    assert_eq!(tree.recent_counts(x, 13, 15, 100), Some((13, vec![0, 0])));
    assert_eq!(tree.recent_counts(a, 9, 14, 2), None, "too many nodes");
}

#[test]
fn retained_markers_follow_retained_publishes() {
    let mut tree = TopicTree::new(HistoryLimits::default());
    let id = tree
        .record(&Incoming {
            topic: "r/a",
            payload: b"v",
            qos: 1,
            retain: true,
            time_ms: 1,
        })
        .expect("shown");
    assert!(tree.node(id).unwrap().retained);
    assert_eq!(tree.retained_below(ROOT), vec!["r/a".to_string()]);
    tree.record(&Incoming {
        topic: "r/a",
        payload: b"",
        qos: 1,
        retain: true,
        time_ms: 2,
    });
    assert!(!tree.node(id).unwrap().retained);
}

#[test]
fn a_topic_costs_its_length_whatever_its_depth() {
    let mut tree = TopicTree::new(HistoryLimits::default());
    // 32,768 empty levels: too deep to show, counted, and nothing kept per level.
    let deep = "/".repeat(65_535);
    assert_eq!(
        tree.record(&Incoming {
            topic: &deep,
            payload: b"x",
            qos: 0,
            retain: false,
            time_ms: 1,
        }),
        None
    );
    assert_eq!(tree.len(), 0);
    assert_eq!(
        tree.not_shown(),
        NotShown {
            topics: 1,
            messages: 1
        }
    );
    // The deepest shown topic: one node per level, each holding only its own name.
    let levels: Vec<String> = (0..MAX_DEPTH).map(|i| format!("l{i}")).collect();
    let topic = levels.join("/");
    let id = at(&mut tree, &topic, b"y", 2);
    assert_eq!(tree.len(), MAX_DEPTH);
    let names: usize = tree
        .ids()
        .map(|i| tree.node(i).map_or(0, |n| n.name.len()))
        .sum();
    assert!(names < topic.len(), "no level stores its prefix");
    assert_eq!(tree.topic_of(id), topic);
    assert_eq!(tree.find(&levels[..3].join("/")), Some(3));
    assert_eq!(
        tree.node(ROOT).map(|n| n.subtree_count),
        Some(1),
        "counted where shown"
    );
    assert_eq!(tree.messages(), 2, "every message counts");
}

#[test]
fn many_children_are_found_by_name() {
    let mut tree = TopicTree::new(HistoryLimits::default());
    for i in 0..1000 {
        at(&mut tree, &format!("wide/{i}"), b"x", i);
    }
    assert_eq!(
        tree.find("wide/999").map(|id| tree.topic_of(id)).as_deref(),
        Some("wide/999")
    );
    // Found through the parent's children when not a topic of its own.
    at(&mut tree, "wide/5/deeper", b"x", 1);
    assert_eq!(tree.len(), 1002);
}
