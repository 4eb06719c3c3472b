//! Searching what topics last carried: the topic filter box's `payload:` part. A topic matches
//! when the text (ASCII case ignored) is in its last payload as it is, in the string values of a
//! JSON payload (escapes read, so `é` finds `"\u00e9"`), in the metric names and values of a
//! Sparkplug B payload (on `spBv1.0/` topics only), or in a gzip or zlib payload inflated (up to
//! [`INFLATE_LIMIT`] bytes, so a decompression bomb costs nothing).

use workbench_decode::compressed;
use workbench_decode::sparkplug::{self, SparkplugTopic};

/// What starts the payload part of a filter: `home/# payload:on`, or `payload:21.5` alone.
pub const PAYLOAD_PREFIX: &str = "payload:";

/// Compressed payloads are searched in their first this many bytes inflated.
pub const INFLATE_LIMIT: usize = 1024 * 1024;

/// Whether `payload`, last published on `topic`, holds `needle` (ASCII-lowercased already).
pub fn payload_matches(topic: &str, payload: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    if needle.is_empty() || contains_ignore_case(payload, needle) {
        return true;
    }
    if payload.contains(&b'\\') && matches!(first_non_space(payload), Some(b'{' | b'[' | b'"')) {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(payload) {
            return json_holds(&value, needle);
        }
    }
    if let Some(Ok(parsed)) = SparkplugTopic::parse(topic) {
        if let Ok(message) = sparkplug::decode_message(&parsed, payload, None) {
            return message.metrics.iter().any(|m| {
                m.name
                    .as_deref()
                    .is_some_and(|n| contains_ignore_case(n.as_bytes(), needle))
                    || contains_ignore_case(m.value.as_bytes(), needle)
            });
        }
    }
    if let Some(how) = compressed::detect(payload) {
        return match compressed::inflate(payload, how, INFLATE_LIMIT) {
            Ok(inflated) => contains_ignore_case(&inflated, needle),
            Err(_) => false,
        };
    }
    false
}

fn first_non_space(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn json_holds(value: &serde_json::Value, needle: &[u8]) -> bool {
    match value {
        serde_json::Value::String(s) => contains_ignore_case(s.as_bytes(), needle),
        serde_json::Value::Array(items) => items.iter().any(|v| json_holds(v, needle)),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| contains_ignore_case(k.as_bytes(), needle) || json_holds(v, needle)),
        _ => false,
    }
}

/// `needle` (lowercase) in `haystack`, ASCII letters compared without case.
pub fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if haystack.len() < needle.len() {
        return false;
    }
    let last_start = haystack.len() - needle.len();
    let upper = first.to_ascii_uppercase();
    let mut at = 0;
    while at <= last_start {
        let b = haystack[at];
        if (b == first || b == upper)
            && haystack[at + 1..at + needle.len()]
                .iter()
                .zip(rest)
                .all(|(h, n)| h.to_ascii_lowercase() == *n)
        {
            return true;
        }
        at += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_json_values_and_compressed_payloads_are_searched() {
        assert!(payload_matches("a", b"Temperature HIGH", "high"));
        assert!(payload_matches("a", br#"{"t": 21.5}"#, "21.5"));
        assert!(!payload_matches("a", br#"{"t": 21.5}"#, "22"));
        assert!(payload_matches(
            "a",
            br#"{"city": "Z\u00fcrich"}"#,
            "zürich"
        ));
        assert!(!payload_matches(
            "a",
            br#"{"city": "Z\u00fcrich"}"#,
            "paris"
        ));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"{\"state\": \"overheat\"}").expect("write");
        let gz = gz.finish().expect("gzip");
        assert!(payload_matches("a", &gz, "overheat"));
        assert!(!payload_matches("a", &gz, "cold"));
        assert!(payload_matches("a", b"", ""));
        assert!(!payload_matches("a", b"", "x"));
    }

    #[test]
    fn case_is_ignored_for_ascii_only() {
        assert!(contains_ignore_case(b"xxABCxx", b"abc"));
        assert!(contains_ignore_case(b"abc", b"abc"));
        assert!(!contains_ignore_case(b"ab", b"abc"));
        assert!(!contains_ignore_case(b"xxABDxx", b"abc"));
    }
}
