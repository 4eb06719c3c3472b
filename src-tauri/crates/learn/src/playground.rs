//! The wildcard playground of the topics lesson: does a filter match a topic, and if not, is
//! either of them invalid (and why)? The same rules the broker routes by
//! ([`workbench_wire::topic`]).

use serde::Serialize;

/// The playground's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TopicMatch {
    /// Why the filter is not a valid filter, if it is not.
    pub filter_error: Option<String>,
    /// Why the topic is not a valid topic name, if it is not.
    pub topic_error: Option<String>,
    /// Both valid and the filter matches the topic.
    pub matches: bool,
}

/// Whether `filter` matches `topic`, as the broker decides.
pub fn topic_match(filter: &str, topic: &str) -> TopicMatch {
    let filter_error = workbench_wire::topic::validate_filter(filter)
        .err()
        .map(|e| e.to_string());
    let topic_error = workbench_wire::topic::validate_name(topic)
        .err()
        .map(|e| e.to_string());
    let matches = filter_error.is_none()
        && topic_error.is_none()
        && workbench_wire::topic::matches(filter, topic);
    TopicMatch {
        filter_error,
        topic_error,
        matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_one_level_hash_the_rest_and_dollar_topics_stay_apart() {
        assert!(topic_match("home/+/temperature", "home/kitchen/temperature").matches);
        assert!(!topic_match("home/+/temperature", "home/kitchen/fridge/temperature").matches);
        assert!(topic_match("home/#", "home/kitchen/fridge/temperature").matches);
        assert!(topic_match("home/#", "home").matches);
        assert!(!topic_match("#", "$SYS/broker/uptime").matches);
        assert!(topic_match("$SYS/#", "$SYS/broker/uptime").matches);
        let bad = topic_match("home/#/x", "home/a/x");
        assert!(!bad.matches && bad.filter_error.is_some() && bad.topic_error.is_none());
        let bad = topic_match("home/+", "home/+");
        assert!(!bad.matches && bad.topic_error.is_some());
    }
}
