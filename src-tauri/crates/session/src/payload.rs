//! Payload input as users type it: text, JSON (checked before sending), hex, base64, or a file.
//! Every refusal says where the input went wrong.

use super::SessionError;
use base64::Engine;
use serde::Deserialize;

/// A payload and the format it was written in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(tag = "format", content = "data", rename_all = "lowercase")]
pub enum PayloadInput {
    /// Sent as its UTF-8 bytes.
    Text(String),
    /// Checked to be valid JSON, then sent as written.
    Json(String),
    /// Hex digits, spaces and newlines allowed between bytes (`de ad be ef`, `0xDEADBEEF`).
    Hex(String),
    /// Standard or URL-safe base64, padding optional.
    Base64(String),
}

impl PayloadInput {
    /// The bytes to send. (A file's contents reach a session as bytes read by its front end,
    /// never as a path the session opens: the UI cannot make the backend read a file.)
    pub fn into_bytes(self) -> Result<Vec<u8>, SessionError> {
        let bad = |m: String| SessionError::InvalidInput(m);
        match self {
            PayloadInput::Text(text) => Ok(text.into_bytes()),
            PayloadInput::Json(text) => {
                serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| {
                    bad(format!(
                        "the payload is not valid JSON: {} at line {}, column {}",
                        json_problem(&e),
                        e.line(),
                        e.column()
                    ))
                })?;
                Ok(text.into_bytes())
            }
            PayloadInput::Hex(text) => decode_hex(&text),
            PayloadInput::Base64(text) => {
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                let trimmed = compact.trim_end_matches('=');
                let engine = if trimmed.contains(['-', '_']) {
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD
                } else {
                    &base64::engine::general_purpose::STANDARD_NO_PAD
                };
                engine
                    .decode(trimmed)
                    .map_err(|e| bad(format!("the payload is not valid base64: {e}")))
            }
        }
    }
}

fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the caller adds its own position.
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Decodes hex digits; whitespace, `:` and `0x` prefixes between bytes are allowed.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, SessionError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if high.is_none() && c == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
            i += 2;
            continue;
        }
        if c.is_whitespace() || c == ':' {
            if high.is_some() {
                return Err(SessionError::InvalidInput(format!(
                    "hex: a byte is cut in half before position {}",
                    i + 1
                )));
            }
            i += 1;
            continue;
        }
        let Some(digit) = c.to_digit(16) else {
            return Err(SessionError::InvalidInput(format!(
                "hex: '{c}' at position {} is not a hex digit",
                i + 1
            )));
        };
        match high.take() {
            None => high = Some(digit as u8),
            Some(h) => out.push(h << 4 | digit as u8),
        }
        i += 1;
    }
    if high.is_some() {
        return Err(SessionError::InvalidInput(
            "hex: odd number of digits (the last byte is missing a digit)".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_decodes_and_says_where_it_fails() {
        assert_eq!(
            PayloadInput::Text("hé".into()).into_bytes().unwrap(),
            "hé".as_bytes()
        );
        assert_eq!(
            PayloadInput::Hex("de ad:BE 0xef\n00".into())
                .into_bytes()
                .unwrap(),
            vec![0xde, 0xad, 0xbe, 0xef, 0]
        );
        let e = PayloadInput::Hex("abc".into())
            .into_bytes()
            .unwrap_err()
            .to_string();
        assert!(e.contains("odd number"), "{e}");
        let e = PayloadInput::Hex("ag".into())
            .into_bytes()
            .unwrap_err()
            .to_string();
        assert!(e.contains("'g' at position 2"), "{e}");
        assert_eq!(
            PayloadInput::Base64("aGk=".into()).into_bytes().unwrap(),
            b"hi"
        );
        assert_eq!(
            PayloadInput::Base64("_-8".into()).into_bytes().unwrap(),
            vec![0xff, 0xef]
        );
        assert!(PayloadInput::Base64("a*".into()).into_bytes().is_err());
        assert_eq!(
            PayloadInput::Json("{\"a\": 1}".into())
                .into_bytes()
                .unwrap(),
            b"{\"a\": 1}"
        );
        let e = PayloadInput::Json("{\"a\": }".into())
            .into_bytes()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not valid JSON") && e.contains("line 1, column 7"),
            "{e}"
        );
    }
}
