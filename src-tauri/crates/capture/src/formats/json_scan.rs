//! A streaming scanner for one large JSON document that cuts out the objects of arrays named
//! `messages` (MQTTX's export: `[{"clientId": …, "messages": [{…}, {…}]}]`) without holding the
//! document: each object comes out as its own bytes with the line it starts on, to be parsed on
//! its own, so one broken message never spoils the others. The string values of `clientId` and
//! `name` keys seen on the way are kept (the connection the messages belong to).
//!
//! It checks only the structure it walks (brackets, strings); everything inside a cut-out object
//! is checked by the parser that reads it.

use crate::lines::MAX_LINE;
use std::io::BufRead;

/// What the scanner found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// One object of a `messages` array: its bytes, and the line it starts on.
    Object {
        line: u64,
        bytes: Vec<u8>,
    },
    /// An object too large to hold, skipped; its line.
    TooLarge {
        line: u64,
    },
    /// The document breaks off or is not JSON here; nothing after it is read.
    Broken {
        line: u64,
        reason: String,
    },
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Container {
    Array { messages: bool },
    Object { key: Option<String>, want_key: bool },
}

/// Scans a reader; see the module doc.
pub struct Scanner<R> {
    inner: R,
    stack: Vec<Container>,
    line: u64,
    pub position: u64,
    /// The latest `clientId` and `name` string values.
    pub client_id: Option<String>,
    pub name: Option<String>,
    /// A string being read (a key or a value), raw.
    string: Option<Vec<u8>>,
    escape: bool,
    /// An object being cut out: its depth in `stack`, its start line, its bytes.
    capture: Option<(usize, u64, Vec<u8>, bool)>,
    done: bool,
    seen_anything: bool,
}

impl<R: BufRead> Scanner<R> {
    pub fn new(inner: R) -> Scanner<R> {
        Scanner {
            inner,
            stack: Vec::new(),
            line: 1,
            position: 0,
            client_id: None,
            name: None,
            string: None,
            escape: false,
            capture: None,
            done: false,
            seen_anything: false,
        }
    }

    fn broken(&mut self, reason: impl Into<String>) -> Found {
        self.done = true;
        Found::Broken {
            line: self.line,
            reason: reason.into(),
        }
    }

    /// The next object of a `messages` array, or the end.
    pub fn next_found(&mut self) -> Found {
        if self.done {
            return Found::End;
        }
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) => return self.broken(format!("reading stopped: {e}")),
            };
            if chunk.is_empty() {
                self.done = true;
                if let Some((_, line, _, _)) = self.capture.take() {
                    return Found::Broken {
                        line,
                        reason: "the file ends inside this message".into(),
                    };
                }
                if !self.stack.is_empty() {
                    return Found::Broken {
                        line: self.line,
                        reason: "the file ends before its JSON is closed (cut short?)".into(),
                    };
                }
                if !self.seen_anything {
                    return Found::Broken {
                        line: 1,
                        reason: "the file is empty".into(),
                    };
                }
                return Found::End;
            }
            let chunk = chunk.to_vec();
            let mut used = 0;
            let mut found = None;
            for &byte in &chunk {
                used += 1;
                if let Some(result) = self.step(byte) {
                    found = Some(result);
                    break;
                }
            }
            self.inner.consume(used);
            self.position += used as u64;
            if let Some(found) = found {
                return found;
            }
        }
    }

    /// Takes one byte; returns what it completed, if anything.
    fn step(&mut self, byte: u8) -> Option<Found> {
        if byte == b'\n' {
            self.line += 1;
        }
        if let Some((_, line, bytes, too_large)) = &mut self.capture {
            if !*too_large {
                if bytes.len() >= MAX_LINE {
                    *too_large = true;
                    *bytes = Vec::new();
                } else {
                    bytes.push(byte);
                }
            }
            let _ = line;
        }
        if let Some(string) = &mut self.string {
            if self.escape {
                self.escape = false;
                string.push(byte);
            } else if byte == b'\\' {
                self.escape = true;
                string.push(byte);
            } else if byte == b'"' {
                let raw = self.string.take().unwrap_or_default();
                self.string_done(raw);
            } else if string.len() < 64 * 1024 {
                string.push(byte);
            }
            return None;
        }
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => None,
            // A byte order mark (EF BB BF) before the document.
            0xEF | 0xBB | 0xBF if !self.seen_anything => None,
            b'"' => {
                self.seen_anything = true;
                self.string = Some(Vec::new());
                None
            }
            b'{' | b'[' => {
                self.seen_anything = true;
                let in_messages =
                    matches!(self.stack.last(), Some(Container::Array { messages: true }));
                let messages = byte == b'['
                    && matches!(
                        self.stack.last(),
                        Some(Container::Object { key: Some(key), .. }) if key == "messages"
                    );
                self.value_started();
                if byte == b'{' {
                    if in_messages && self.capture.is_none() {
                        self.capture = Some((self.stack.len(), self.line, vec![b'{'], false));
                    }
                    self.stack.push(Container::Object {
                        key: None,
                        want_key: true,
                    });
                } else {
                    self.stack.push(Container::Array { messages });
                }
                None
            }
            b'}' | b']' => {
                let closes_object = byte == b'}';
                match self.stack.pop() {
                    Some(Container::Object { .. }) if closes_object => {}
                    Some(Container::Array { .. }) if !closes_object => {}
                    _ => {
                        return Some(self.broken(format!(
                            "'{}' does not close what is open here",
                            byte as char
                        )))
                    }
                }
                if let Some((depth, line, _, _)) = &self.capture {
                    if *depth == self.stack.len() {
                        let line = *line;
                        let (_, _, bytes, too_large) = self.capture.take()?;
                        return Some(if too_large {
                            Found::TooLarge { line }
                        } else {
                            Found::Object { line, bytes }
                        });
                    }
                }
                None
            }
            b':' => None,
            b',' => {
                if let Some(Container::Object { want_key, .. }) = self.stack.last_mut() {
                    *want_key = true;
                }
                None
            }
            _ => {
                // A number, true, false or null: only its first byte marks a value.
                if self.stack.is_empty() && !self.seen_anything {
                    return Some(self.broken("this is not JSON (an array or object was expected)"));
                }
                self.seen_anything = true;
                if let Some(Container::Object { want_key: true, .. }) = self.stack.last() {
                    return Some(
                        self.broken(format!("'{}' where a key was expected", byte as char)),
                    );
                }
                self.value_started();
                None
            }
        }
    }

    /// A value starts in the current container: an object's key is then used up.
    fn value_started(&mut self) {
        if let Some(Container::Object { want_key, .. }) = self.stack.last_mut() {
            *want_key = false;
        }
    }

    fn string_done(&mut self, raw: Vec<u8>) {
        let decode = |raw: &[u8]| -> String {
            let mut quoted = Vec::with_capacity(raw.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(raw);
            quoted.push(b'"');
            serde_json::from_slice(&quoted).unwrap_or_default()
        };
        match self.stack.last_mut() {
            Some(Container::Object { key, want_key }) if *want_key => {
                *key = Some(decode(&raw));
                *want_key = false;
            }
            Some(Container::Object { key, .. }) if self.capture.is_none() => match key.as_deref() {
                Some("clientId") => self.client_id = Some(decode(&raw)),
                Some("name") => self.name = Some(decode(&raw)),
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> (Vec<Found>, Option<String>) {
        let mut scanner = Scanner::new(std::io::BufReader::with_capacity(7, text.as_bytes()));
        let mut found = Vec::new();
        loop {
            let next = scanner.next_found();
            if next == Found::End {
                break;
            }
            let stop = matches!(next, Found::Broken { .. });
            found.push(next);
            if stop {
                break;
            }
        }
        (found, scanner.client_id)
    }

    #[test]
    fn message_objects_are_cut_out_with_their_lines() {
        let text = "[\n  {\n    \"clientId\": \"c\\\"1\",\n    \"messages\": [\n      {\"topic\": \"a}\", \"n\": [1]},\n      {\n        \"topic\": \"b\"\n      }\n    ],\n    \"subscriptions\": [{\"topic\": \"x\"}]\n  }\n]\n";
        let (found, client) = all(text);
        assert_eq!(
            found,
            vec![
                Found::Object {
                    line: 5,
                    bytes: b"{\"topic\": \"a}\", \"n\": [1]}".to_vec()
                },
                Found::Object {
                    line: 6,
                    bytes: b"{\n        \"topic\": \"b\"\n      }".to_vec()
                },
            ]
        );
        assert_eq!(client.as_deref(), Some("c\"1"));
    }

    #[test]
    fn broken_documents_are_reported_where_they_break() {
        let (found, _) = all("[{\"messages\": [{\"topic\": \"a\"},\n{\"topic\": ");
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[1],
            Found::Broken {
                line: 2,
                reason: "the file ends inside this message".into()
            }
        );
        let (found, _) = all("[{\"messages\": [}]");
        assert!(
            matches!(found[0], Found::Broken { line: 1, .. }),
            "{found:?}"
        );
        let (found, _) = all("hello");
        assert!(matches!(found[0], Found::Broken { .. }), "{found:?}");
        let (found, _) = all("");
        assert!(matches!(found[0], Found::Broken { .. }), "{found:?}");
    }
}
