//! Numbers read out of payloads, to chart a value over time: the whole payload as a number (a
//! device that publishes `21.5`) or one field of a JSON payload, named by a JSON pointer
//! (RFC 6901: `/sensors/0/celsius`). Payloads are untrusted: anything that is not a finite number
//! is skipped, never an error, and large payloads are not parsed at all.

use super::history::History;
use bytes::Bytes;
use serde_json::Value;

/// Payloads larger than this are skipped (telemetry values come in small messages; parsing
/// megabytes of JSON a second for a chart would stall the model's lock).
pub const VALUE_PAYLOAD_LIMIT: usize = 64 * 1024;

/// Why a pointer cannot name a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a JSON pointer: it is empty (the whole payload) or starts with '/', like /sensors/0/celsius")]
pub struct BadPointer(pub String);

/// Checks a pointer's form: empty, or `/`-separated reference tokens.
pub fn check_pointer(pointer: &str) -> Result<(), BadPointer> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(BadPointer(pointer.to_string()))
    }
}

/// The number a payload holds at `pointer` (empty: the payload itself), if it holds one.
/// Booleans count as 1 and 0; strings holding a number (`"21.5"`) count as that number.
pub fn value_of(payload: &[u8], pointer: &str) -> Option<f64> {
    if payload.len() > VALUE_PAYLOAD_LIMIT {
        return None;
    }
    if pointer.is_empty() {
        let text = std::str::from_utf8(payload).ok()?.trim();
        return number_in_text(text).or_else(|| scalar(&serde_json::from_str(text).ok()?));
    }
    let value: Value = serde_json::from_slice(payload).ok()?;
    scalar(value.pointer(pointer)?)
}

fn scalar(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|v| v.is_finite()),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => number_in_text(s.trim()),
        _ => None,
    }
}

fn number_in_text(text: &str) -> Option<f64> {
    match text {
        "true" => Some(1.0),
        "false" => Some(0.0),
        // Rust also reads "inf" and "NaN": neither can be charted.
        _ => text.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// A topic's kept payloads with their times, oldest first: cheap to take under the model's lock
/// (the payloads are shared, not copied), so the parsing happens after it is released.
pub fn kept_payloads(history: &History) -> Vec<(u64, Bytes)> {
    history
        .iter()
        .map(|m| (m.time_ms, m.payload.clone()))
        .collect()
}

/// The values in kept payloads, oldest first, as (time in ms, value), and how many held none.
pub fn value_points(kept: &[(u64, Bytes)], pointer: &str) -> (Vec<(u64, f64)>, usize) {
    let mut points = Vec::with_capacity(kept.len());
    let mut skipped = 0;
    for (time_ms, payload) in kept {
        match value_of(payload, pointer) {
            Some(value) => points.push((*time_ms, value)),
            None => skipped += 1,
        }
    }
    (points, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryLimits, StoredMessage};

    #[test]
    fn plain_numbers_json_fields_booleans_and_numeric_strings() {
        assert_eq!(value_of(b"21.5", ""), Some(21.5));
        assert_eq!(value_of(b" -7\n", ""), Some(-7.0));
        assert_eq!(value_of(b"\"3.25\"", ""), Some(3.25));
        assert_eq!(value_of(b"true", ""), Some(1.0));
        let json =
            br#"{"celsius": 21.0, "ok": false, "raw": "1e3", "list": [4, {"x~y": 5}], "a/b": 6}"#;
        assert_eq!(value_of(json, "/celsius"), Some(21.0));
        assert_eq!(value_of(json, "/ok"), Some(0.0));
        assert_eq!(value_of(json, "/raw"), Some(1000.0));
        assert_eq!(value_of(json, "/list/0"), Some(4.0));
        assert_eq!(value_of(json, "/list/1/x~0y"), Some(5.0), "~0 stands for ~");
        assert_eq!(value_of(json, "/a~1b"), Some(6.0), "~1 stands for /");
    }

    #[test]
    fn anything_else_is_skipped() {
        assert_eq!(value_of(b"on", ""), None);
        assert_eq!(value_of(b"NaN", ""), None);
        assert_eq!(value_of(b"inf", ""), None);
        assert_eq!(value_of(b"\xff\xfe", ""), None);
        assert_eq!(
            value_of(b"{\"a\": 1}", ""),
            None,
            "an object is not a number"
        );
        assert_eq!(value_of(b"{\"a\": null}", "/a"), None);
        assert_eq!(value_of(b"{\"a\": [1]}", "/a"), None);
        assert_eq!(value_of(b"{\"a\": 1}", "/b"), None);
        assert_eq!(value_of(b"{\"a\": 1", "/a"), None, "broken JSON");
        assert_eq!(value_of(b"{\"a\": 1e999}", "/a"), None, "out of range");
        let mut big = b"{\"a\": 1, \"pad\": \"".to_vec();
        big.extend(std::iter::repeat_n(b'x', VALUE_PAYLOAD_LIMIT));
        big.extend(b"\"}");
        assert_eq!(value_of(&big, "/a"), None, "too large to parse");
    }

    #[test]
    fn pointers_are_checked() {
        assert!(check_pointer("").is_ok());
        assert!(check_pointer("/a/0").is_ok());
        let error = check_pointer("celsius").unwrap_err();
        assert!(error.to_string().contains("starts with '/'"), "{error}");
    }

    #[test]
    fn points_come_oldest_first_with_the_skipped_counted() {
        let limits = HistoryLimits::default();
        let mut history = History::default();
        for (time_ms, payload) in [(1000, "1"), (2000, "oops"), (3000, "2.5")] {
            history.push(
                StoredMessage {
                    time_ms,
                    qos: 0,
                    retain: false,
                    payload: bytes::Bytes::from(payload),
                    properties: None,
                },
                &limits,
            );
        }
        assert_eq!(
            value_points(&kept_payloads(&history), ""),
            (vec![(1000, 1.0), (3000, 2.5)], 1)
        );
    }
}
