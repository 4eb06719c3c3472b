//! Protobuf by schema: `.proto` files compiled at run time (protox, with their imports, from the
//! files' own folders, the include folders given, and the well-known types), topic filters mapped
//! to message types, payloads decoded into JSON (the canonical protobuf JSON mapping: field names
//! in lowerCamelCase, enums by name, nested messages, `Any` unpacked when its type is in the
//! schema) and JSON encoded back into payloads for publishing.
//!
//! Every failure is a [`SchemaError`] with the file, type or payload it is about; nothing panics
//! on a malformed payload (prost checks every length against the bytes there and bounds nesting).

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The largest `.proto` file read.
pub const MAX_PROTO_FILE: u64 = 4 * 1024 * 1024;
/// At most this many files per source.
pub const MAX_FILES: usize = 64;
/// At most this many topic mappings per source.
pub const MAX_MAPPINGS: usize = 256;
/// JSON text past this is cut (the view shows the start).
pub const MAX_JSON: usize = 4 * 1024 * 1024;

/// A source's schema files and which message type each topic filter's payloads are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct SchemaConfig {
    /// `.proto` files to compile (absolute paths).
    pub files: Vec<String>,
    /// Further folders imports are looked up in (each file's own folder always is).
    pub include_dirs: Vec<String>,
    /// First match wins.
    pub mappings: Vec<TopicMapping>,
}

/// Payloads on topics matching `filter` are messages of type `message_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TopicMapping {
    /// An MQTT topic filter (`+` and `#` allowed).
    pub filter: String,
    /// A full message name, e.g. `factory.v1.Reading`.
    pub message_type: String,
}

/// What went wrong, with what it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read {path}: {reason}")]
    File { path: String, reason: String },
    #[error("the .proto files do not compile: {0}")]
    Compile(String),
    #[error("no message type {0} in the loaded .proto files")]
    UnknownType(String),
    #[error("the payload is not a {message_type}: {reason}")]
    Decode {
        message_type: String,
        reason: String,
    },
    #[error("the JSON is not a {message_type}: {reason}")]
    Encode {
        message_type: String,
        reason: String,
    },
}

/// Compiled schema files: every message type they define, by full name.
#[derive(Debug, Clone)]
pub struct Schema {
    pool: DescriptorPool,
}

impl SchemaConfig {
    /// Checks sizes, filters and that every mapped type is named (not yet that it exists).
    pub fn check(&self) -> Result<(), SchemaError> {
        if self.files.len() > MAX_FILES {
            return Err(SchemaError::Invalid(format!(
                "at most {MAX_FILES} .proto files"
            )));
        }
        if self.mappings.len() > MAX_MAPPINGS {
            return Err(SchemaError::Invalid(format!(
                "at most {MAX_MAPPINGS} topic mappings"
            )));
        }
        for m in &self.mappings {
            check_filter(&m.filter)?;
            if m.message_type.trim().is_empty() {
                return Err(SchemaError::Invalid(format!(
                    "the mapping for {} names no message type",
                    m.filter
                )));
            }
        }
        Ok(())
    }

    /// The message type mapped to `topic`, if any (first match).
    pub fn type_for(&self, topic: &str) -> Option<&str> {
        self.mappings
            .iter()
            .find(|m| filter_matches(&m.filter, topic))
            .map(|m| m.message_type.trim_start_matches('.'))
    }
}

fn check_filter(filter: &str) -> Result<(), SchemaError> {
    let bad = |why: &str| {
        Err(SchemaError::Invalid(format!(
            "topic filter {filter:?}: {why}"
        )))
    };
    if filter.is_empty() {
        return bad("empty");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return bad("# must be a whole level, the last one");
        }
        if level.contains('+') && *level != "+" {
            return bad("+ must be a whole level");
        }
    }
    Ok(())
}

/// MQTT topic matching (`+` one level, `#` the rest; `$` topics only by filters naming `$`).
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Schema {
    /// Compiles `config`'s files with their imports.
    pub fn compile(config: &SchemaConfig) -> Result<Schema, SchemaError> {
        config.check()?;
        if config.files.is_empty() {
            return Ok(Schema {
                pool: DescriptorPool::new(),
            });
        }
        let mut includes: Vec<PathBuf> = Vec::new();
        let mut files: Vec<PathBuf> = Vec::new();
        for file in &config.files {
            let path = PathBuf::from(file);
            check_file(&path)?;
            if let Some(parent) = path.parent() {
                if !includes.iter().any(|i| i == parent) {
                    includes.push(parent.to_path_buf());
                }
            }
            files.push(path);
        }
        for dir in &config.include_dirs {
            let dir = PathBuf::from(dir);
            if !dir.is_dir() {
                return Err(SchemaError::File {
                    path: dir.display().to_string(),
                    reason: "not a folder".into(),
                });
            }
            includes.push(dir);
        }
        let mut compiler =
            protox::Compiler::new(&includes).map_err(|e| SchemaError::Compile(e.to_string()))?;
        compiler.include_imports(true);
        for file in &files {
            compiler
                .open_file(file)
                .map_err(|e| SchemaError::Compile(e.to_string()))?;
        }
        Ok(Schema {
            pool: compiler.descriptor_pool(),
        })
    }

    /// Every message type, by full name, sorted (map entries left out).
    pub fn message_types(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .pool
            .all_messages()
            .filter(|m| !m.is_map_entry() && !m.full_name().starts_with("google.protobuf."))
            .map(|m| m.full_name().to_owned())
            .collect();
        names.sort();
        names
    }

    fn message(&self, name: &str) -> Result<prost_reflect::MessageDescriptor, SchemaError> {
        let name = name.trim().trim_start_matches('.');
        self.pool
            .get_message_by_name(name)
            .ok_or_else(|| SchemaError::UnknownType(name.to_owned()))
    }

    /// `payload` as a `message_type`, in pretty JSON (the canonical mapping: defaults left out,
    /// enums by name, 64-bit integers as strings so that no JSON reader rounds them).
    pub fn decode(&self, message_type: &str, payload: &[u8]) -> Result<String, SchemaError> {
        let descriptor = self.message(message_type)?;
        let decode_error = |reason: String| SchemaError::Decode {
            message_type: descriptor.full_name().to_owned(),
            reason,
        };
        let message = DynamicMessage::decode(descriptor.clone(), payload)
            .map_err(|e| decode_error(e.to_string()))?;
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::pretty(&mut out);
        let options = SerializeOptions::new();
        message
            .serialize_with_options(&mut serializer, &options)
            .map_err(|e| decode_error(e.to_string()))?;
        let mut text = String::from_utf8(out).map_err(|e| decode_error(e.to_string()))?;
        if text.len() > MAX_JSON {
            let mut end = MAX_JSON;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Ok(text)
    }

    /// `json` (the canonical JSON mapping; field names as written in the .proto also accepted)
    /// encoded as a `message_type`.
    pub fn encode(&self, message_type: &str, json: &str) -> Result<Vec<u8>, SchemaError> {
        let descriptor = self.message(message_type)?;
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let message = DynamicMessage::deserialize(descriptor.clone(), &mut deserializer)
            .and_then(|m| deserializer.end().map(|()| m))
            .map_err(|e| SchemaError::Encode {
                message_type: descriptor.full_name().to_owned(),
                reason: e.to_string(),
            })?;
        Ok(message.encode_to_vec())
    }
}

fn check_file(path: &Path) -> Result<(), SchemaError> {
    let fail = |reason: &str| {
        Err(SchemaError::File {
            path: path.display().to_string(),
            reason: reason.to_owned(),
        })
    };
    if !path.is_absolute() {
        return fail("give the full path");
    }
    match std::fs::metadata(path) {
        Err(e) => fail(&e.to_string()),
        Ok(m) if !m.is_file() => fail("not a regular file"),
        Ok(m) if m.len() > MAX_PROTO_FILE => fail("larger than 4 MiB"),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_as_mqtt_does() {
        assert!(filter_matches("a/+/c", "a/b/c"));
        assert!(filter_matches("a/#", "a"));
        assert!(filter_matches("a/#", "a/b/c"));
        assert!(!filter_matches("a/+", "a/b/c"));
        assert!(!filter_matches("#", "$SYS/x"));
        let config = SchemaConfig {
            mappings: vec![
                TopicMapping {
                    filter: "x/+/temp".into(),
                    message_type: ".pkg.Temp".into(),
                },
                TopicMapping {
                    filter: "x/#".into(),
                    message_type: "pkg.Any".into(),
                },
            ],
            ..SchemaConfig::default()
        };
        assert_eq!(config.type_for("x/1/temp"), Some("pkg.Temp"));
        assert_eq!(config.type_for("x/1/hum"), Some("pkg.Any"));
        assert_eq!(config.type_for("y"), None);
        for bad in ["", "a/#/b", "a+/b", "a/b#"] {
            let c = SchemaConfig {
                mappings: vec![TopicMapping {
                    filter: bad.into(),
                    message_type: "t".into(),
                }],
                ..SchemaConfig::default()
            };
            assert!(c.check().is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn a_file_that_is_not_there_or_does_not_compile_says_which() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("missing.proto");
        let config = SchemaConfig {
            files: vec![missing.display().to_string()],
            ..SchemaConfig::default()
        };
        let err = Schema::compile(&config).expect_err("missing");
        assert!(err.to_string().contains("missing.proto"), "{err}");
        let broken = dir.path().join("broken.proto");
        std::fs::write(&broken, "syntax = \"proto3\"; message A { int32 x = ; }").expect("write");
        let config = SchemaConfig {
            files: vec![broken.display().to_string()],
            ..SchemaConfig::default()
        };
        let err = Schema::compile(&config).expect_err("broken");
        assert!(matches!(err, SchemaError::Compile(_)), "{err}");
    }
}
