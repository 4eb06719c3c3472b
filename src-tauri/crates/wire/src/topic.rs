//! MQTT topic names and topic filters: validation and matching, exactly as the specification
//! says (MQTT 3.1.1 §4.7, MQTT 5 §4.7). Used by the broker's front door, the sessions (to reject
//! a bad filter before it is sent) and the traffic model (to filter the tree).
//!
//! Rules worth remembering: `#` must be the last level and alone in it; `+` must be alone in its
//! level; filters starting with a wildcard never match topics starting with `$`; topic names never
//! contain wildcards; neither may be empty, hold U+0000, or exceed 65,535 bytes.

use crate::error::{Coded, ErrorCode};

/// The longest topic name or filter the protocol can carry (a two-byte length prefix).
pub const MAX_TOPIC_BYTES: usize = 65_535;

/// Why a topic name or filter was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("the topic is empty")]
    Empty,
    #[error("the topic is {0} bytes long; MQTT allows at most 65,535")]
    TooLong(usize),
    #[error("the topic contains a NUL character (U+0000), which MQTT forbids")]
    Nul,
    #[error("a topic name used for publishing cannot contain the wildcard '{0}'")]
    WildcardInName(char),
    #[error("'#' must be the last character of the filter, alone in its level (as in 'a/#'); found it in level {level} ('{text}')")]
    MisplacedHash { level: usize, text: String },
    #[error(
        "'+' must stand alone in its level (as in 'a/+/b'); found it in level {level} ('{text}')"
    )]
    MisplacedPlus { level: usize, text: String },
}

impl Coded for TopicError {
    fn code(&self) -> ErrorCode {
        match self {
            TopicError::WildcardInName(_) => ErrorCode::InvalidTopic,
            TopicError::MisplacedHash { .. } | TopicError::MisplacedPlus { .. } => {
                ErrorCode::InvalidTopicFilter
            }
            // Shared rules: the caller's context decides; a name is the stricter reading.
            TopicError::Empty | TopicError::TooLong(_) | TopicError::Nul => ErrorCode::InvalidTopic,
        }
    }
}

fn common_checks(text: &str) -> Result<(), TopicError> {
    if text.is_empty() {
        return Err(TopicError::Empty);
    }
    if text.len() > MAX_TOPIC_BYTES {
        return Err(TopicError::TooLong(text.len()));
    }
    if text.contains('\0') {
        return Err(TopicError::Nul);
    }
    Ok(())
}

/// Checks a topic name for publishing.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    common_checks(name)?;
    if let Some(wildcard) = name.chars().find(|c| *c == '+' || *c == '#') {
        return Err(TopicError::WildcardInName(wildcard));
    }
    Ok(())
}

/// Checks a topic filter for subscribing.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    common_checks(filter)?;
    let levels: Vec<&str> = filter.split('/').collect();
    let last = levels.len() - 1;
    for (index, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || index != last) {
            return Err(TopicError::MisplacedHash {
                level: index + 1,
                text: (*level).to_string(),
            });
        }
        if level.contains('+') && *level != "+" {
            return Err(TopicError::MisplacedPlus {
                level: index + 1,
                text: (*level).to_string(),
            });
        }
    }
    Ok(())
}

/// True when `filter` has a wildcard.
pub fn has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// True when the topic name `topic` matches the (valid) filter `filter`.
pub fn matches(filter: &str, topic: &str) -> bool {
    // A filter starting with a wildcard must not match topics starting with '$' (§4.7.2).
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for filter_level in filter.split('/') {
        if filter_level == "#" {
            // '#' also matches the parent level itself: "a/#" matches "a".
            return true;
        }
        match topic_levels.next() {
            Some(topic_level) if filter_level == "+" || filter_level == topic_level => {}
            _ => return false,
        }
    }
    topic_levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("sport/tennis/player1").is_ok());
        assert!(validate_name("/").is_ok());
        assert!(validate_name("$SYS/broker/uptime").is_ok());
        assert_eq!(validate_name(""), Err(TopicError::Empty));
        assert_eq!(validate_name("a/+"), Err(TopicError::WildcardInName('+')));
        assert_eq!(validate_name("a/#"), Err(TopicError::WildcardInName('#')));
        assert_eq!(validate_name("a\0b"), Err(TopicError::Nul));
        assert!(matches!(
            validate_name(&"x".repeat(65_536)),
            Err(TopicError::TooLong(65_536))
        ));
    }

    #[test]
    fn filters() {
        for good in [
            "#",
            "+",
            "a/#",
            "a/+/b",
            "+/+",
            "/+",
            "a//b",
            "$SYS/#",
            "+/tennis/#",
        ] {
            assert!(validate_filter(good).is_ok(), "{good} should be valid");
        }
        assert!(matches!(
            validate_filter("sport/+/player#"),
            Err(TopicError::MisplacedHash { level: 3, .. })
        ));
        assert!(matches!(
            validate_filter("a/#/b"),
            Err(TopicError::MisplacedHash { level: 2, .. })
        ));
        assert!(matches!(
            validate_filter("a/b+"),
            Err(TopicError::MisplacedPlus { level: 2, .. })
        ));
        assert_eq!(
            validate_filter("sport/+/player#").map_err(|e| e.code()),
            Err(ErrorCode::InvalidTopicFilter)
        );
    }

    #[test]
    fn matching_follows_the_specification() {
        let cases = [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/ranking",
                true,
            ),
            ("sport/#", "sport", true),
            ("#", "anything/at/all", true),
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player1/tournament", false),
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("#", "$SYS/broker", false),
            ("+/monitor/Clients", "$SYS/monitor/Clients", false),
            ("$SYS/#", "$SYS/monitor/Clients", true),
            ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
            ("a/b", "a/b", true),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
        ];
        for (filter, topic, expected) in cases {
            assert_eq!(matches(filter, topic), expected, "{filter} vs {topic}");
        }
    }
}
