//! Property tests of the topic rules: the wildcard matcher against a literal reading of the
//! specification. (The packet decoders are tested where the door's full decoders are, in
//! workbench-broker; the topic tree's counts in workbench-traffic.)

use proptest::prelude::*;
use workbench_wire::topic;

/// MQTT 3.1.1 §4.7 and MQTT 5 §4.7, level by level, written as plainly as possible.
fn spec_matches(filter: &[&str], topic: &[&str], first: bool) -> bool {
    match (filter.first(), topic.first()) {
        (None, None) => true,
        // '#' matches the parent and any number of child levels, but not a leading '$' level.
        (Some(&"#"), _) => !(first && topic.first().is_some_and(|l| l.starts_with('$'))),
        (Some(&"+"), Some(level)) => {
            !(first && level.starts_with('$')) && spec_matches(&filter[1..], &topic[1..], false)
        }
        (Some(f), Some(t)) => f == t && spec_matches(&filter[1..], &topic[1..], false),
        _ => false,
    }
}

fn topic_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "", "$SYS", "c1"]), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("a topic is not empty", |t| !t.is_empty())
}

fn filter_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "", "+", "$SYS", "c1"]),
            0..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#");
            }
            let filter = levels.join("/");
            // A lone empty level is the empty string, which is not a filter.
            if filter.is_empty() {
                "#".to_string()
            } else {
                filter
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matcher_agrees_with_the_specification(filter in filter_strategy(), topic in topic_strategy()) {
        prop_assert!(topic::validate_filter(&filter).is_ok(), "generated an invalid filter {}", filter);
        let f: Vec<&str> = filter.split('/').collect();
        let t: Vec<&str> = topic.split('/').collect();
        prop_assert_eq!(topic::matches(&filter, &topic), spec_matches(&f, &t, true), "{} vs {}", filter, topic);
    }

    #[test]
    fn a_filter_without_wildcards_matches_only_itself(a in topic_strategy(), b in topic_strategy()) {
        prop_assert_eq!(topic::matches(&a, &b), a == b);
    }

    #[test]
    fn hash_matches_every_topic_not_starting_with_dollar(t in topic_strategy()) {
        prop_assert_eq!(topic::matches("#", &t), !t.starts_with('$'));
    }
}
