//! Property tests of the traffic model: the topic tree's counts against the messages that built
//! it, and payload values read out of any bytes without a panic.

use proptest::prelude::*;
use workbench_traffic::history::HistoryLimits;
use workbench_traffic::tree::{Incoming, TopicTree, ROOT};

fn topic_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "", "$SYS", "c1"]), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("a topic is not empty", |t| !t.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn value_charts_read_any_payload_without_panicking(
        payload in prop::collection::vec(any::<u8>(), 0..64),
        pointer in "(/[a-z0-9~]{0,3}){0,3}",
    ) {
        let value = workbench_traffic::values::value_of(&payload, &pointer);
        prop_assert!(value.is_none_or(f64::is_finite));
    }

    #[test]
    fn tree_counts_add_up(topics in prop::collection::vec(topic_strategy(), 1..200)) {
        let mut tree = TopicTree::new(HistoryLimits::default());
        for (i, t) in topics.iter().enumerate() {
            tree.record(&Incoming { topic: t, payload: b"x", qos: 0, retain: false, time_ms: i as u64 });
        }
        prop_assert_eq!(tree.node(ROOT).unwrap().subtree_count, topics.len() as u64);
        for id in tree.ids().chain([ROOT]) {
            let node = tree.node(id).unwrap();
            let children: u64 = node.children.iter().map(|c| tree.node(*c).unwrap().subtree_count).sum();
            prop_assert_eq!(node.subtree_count, node.own_count + children);
        }
        for t in &topics {
            let id = tree.find(t).expect("every published topic has a node");
            prop_assert_eq!(&tree.topic_of(id), t);
            let expected = topics.iter().filter(|x| *x == t).count() as u64;
            prop_assert_eq!(tree.node(id).unwrap().own_count, expected);
        }
    }
}
