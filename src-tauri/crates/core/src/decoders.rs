//! The payload decoders as the app runs them: each source's Protobuf schema (its `.proto` files
//! and topic mappings, saved in `decoders.json` in the config folder and compiled once when set
//! or first used), and what the inspector asks of one message: its Sparkplug B reading (aliases
//! resolved from the BIRTH the source's tracker keeps), its Protobuf reading by the mapped type,
//! and its inflated form when compressed. The Sparkplug view reads the tracker's state.

use crate::error::{ErrorCode, IpcError};
use crate::hub::TrafficHub;
use base64::Engine;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use workbench_decode::compressed::{self, Compression};
use workbench_decode::schema::{Schema, SchemaConfig};
use workbench_decode::sparkplug::{self, SparkplugMessage, SparkplugTopic, StateView};
use workbench_session::files::{create_private_dir, read_bounded, write_atomically};
use workbench_traffic::SourceId;

/// The file, in the config folder, keeping each source's schema settings.
pub const DECODERS_FILE: &str = "decoders.json";

/// Payloads larger than this are not decoded by the inspector (the other views still show them).
pub const MAX_DECODED_PAYLOAD: usize = 16 * 1024 * 1024;

#[derive(Default)]
struct Entry {
    config: SchemaConfig,
    compiled: Option<Result<Arc<Schema>, String>>,
}

/// Every source's schema settings.
pub struct Decoders {
    path: Option<PathBuf>,
    entries: Mutex<HashMap<String, Entry>>,
}

/// A source's schema settings and what they compiled to.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SchemaView {
    pub config: SchemaConfig,
    /// The message types the files define.
    pub message_types: Vec<String>,
    /// Why the files do not compile, when they do not.
    pub error: Option<String>,
}

/// Every reading of one message that fits it.
#[derive(Debug, Clone, Default, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DecodedPayload {
    /// On `spBv1.0/` topics only.
    pub sparkplug: Option<SparkplugReading>,
    /// When a mapping names a type for the topic.
    pub protobuf: Option<ProtobufReading>,
    /// When the payload is gzip or zlib.
    pub compressed: Option<CompressedReading>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SparkplugReading {
    pub message: Option<SparkplugMessage>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProtobufReading {
    pub message_type: String,
    /// The message as pretty JSON.
    pub json: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CompressedReading {
    pub compression: Compression,
    /// The inflated bytes, Base64 (the UI reads them with its own decoders).
    pub inflated: Option<String>,
    pub inflated_bytes: Option<u32>,
    pub error: Option<String>,
}

/// The key a source's settings are saved under.
fn key(source: &SourceId) -> String {
    match source {
        SourceId::Broker => "broker".to_owned(),
        SourceId::Session(id) => format!("session:{id}"),
        SourceId::Proxy(id) => format!("proxy:{id}"),
        SourceId::Capture(id) => format!("capture:{id}"),
    }
}

fn invalid(message: impl Into<String>) -> IpcError {
    IpcError::new(ErrorCode::InvalidInput, message)
}

impl Decoders {
    /// Reads the saved settings (none when there is no config folder or file; a damaged file
    /// is left as it is and starts empty).
    pub fn load(config_dir: Option<PathBuf>) -> Decoders {
        let path = config_dir.map(|d| d.join(DECODERS_FILE));
        let saved: HashMap<String, SchemaConfig> = path
            .as_ref()
            .and_then(|p| read_bounded(p, 4 * 1024 * 1024).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let entries = saved
            .into_iter()
            .map(|(k, config)| {
                (
                    k,
                    Entry {
                        config,
                        compiled: None,
                    },
                )
            })
            .collect();
        Decoders {
            path,
            entries: Mutex::new(entries),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The source's schema, compiled on first use.
    fn schema(&self, source: &SourceId) -> (SchemaConfig, Result<Arc<Schema>, String>) {
        let k = key(source);
        let config = self
            .lock()
            .get(&k)
            .map(|e| e.config.clone())
            .unwrap_or_default();
        if let Some(Some(compiled)) = self.lock().get(&k).map(|e| e.compiled.clone()) {
            return (config, compiled);
        }
        // Compiled outside the lock: reading and compiling files takes a while.
        let compiled = Schema::compile(&config)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        if let Some(entry) = self.lock().get_mut(&k) {
            if entry.config == config {
                entry.compiled = Some(compiled.clone());
            }
        }
        (config, compiled)
    }

    /// The source's settings and what they compile to.
    pub fn view(&self, source: &SourceId) -> SchemaView {
        let (config, compiled) = self.schema(source);
        match compiled {
            Ok(schema) => SchemaView {
                config,
                message_types: schema.message_types(),
                error: None,
            },
            Err(error) => SchemaView {
                config,
                message_types: Vec::new(),
                error: Some(error),
            },
        }
    }

    /// Sets a source's settings: kept and saved even when the files do not compile (the view
    /// says why), refused when they are malformed.
    pub fn set(&self, source: &SourceId, config: SchemaConfig) -> Result<SchemaView, IpcError> {
        config.check().map_err(|e| invalid(e.to_string()))?;
        let compiled = Schema::compile(&config)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let snapshot: HashMap<String, SchemaConfig> = {
            let mut entries = self.lock();
            let entry = entries.entry(key(source)).or_default();
            entry.config = config;
            entry.compiled = Some(compiled);
            entries
                .iter()
                .filter(|(_, e)| e.config != SchemaConfig::default())
                .map(|(k, e)| (k.clone(), e.config.clone()))
                .collect()
        };
        if let Some(path) = &self.path {
            let text = serde_json::to_vec_pretty(&snapshot)
                .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
            if let Some(dir) = path.parent() {
                create_private_dir(dir).map_err(|e| {
                    IpcError::new(
                        ErrorCode::Io,
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
            }
            write_atomically(path, &text).map_err(|e| {
                IpcError::new(
                    ErrorCode::Io,
                    format!("cannot save {}: {e}", path.display()),
                )
            })?;
        }
        Ok(self.view(source))
    }

    /// `json` encoded as `message_type` with the source's schema, for publishing.
    pub fn encode(
        &self,
        source: &SourceId,
        message_type: &str,
        json: &str,
    ) -> Result<Vec<u8>, IpcError> {
        let (_, compiled) = self.schema(source);
        let schema = compiled.map_err(invalid)?;
        schema
            .encode(message_type, json)
            .map_err(|e| invalid(e.to_string()))
    }

    /// Every reading of `payload`, published on `topic` in `source`, that fits it.
    pub fn decode(
        &self,
        hub: &TrafficHub,
        source: &SourceId,
        topic: &str,
        payload: &[u8],
    ) -> DecodedPayload {
        let mut out = DecodedPayload::default();
        if payload.len() > MAX_DECODED_PAYLOAD {
            return out;
        }
        if let Some(parsed) = SparkplugTopic::parse(topic) {
            out.sparkplug = Some(match parsed {
                Err(e) => SparkplugReading {
                    message: None,
                    error: Some(e.to_string()),
                },
                Ok(parsed) => hub.read_state(source, |state| {
                    let birth = state.sparkplug.birth_for(&parsed);
                    match sparkplug::decode_message(&parsed, payload, birth) {
                        Ok(message) => SparkplugReading {
                            message: Some(message),
                            error: None,
                        },
                        Err(e) => SparkplugReading {
                            message: None,
                            error: Some(e.to_string()),
                        },
                    }
                }),
            });
        }
        let (config, compiled) = self.schema(source);
        if let Some(message_type) = config.type_for(topic) {
            let decoded =
                compiled.and_then(|s| s.decode(message_type, payload).map_err(|e| e.to_string()));
            out.protobuf = Some(ProtobufReading {
                message_type: message_type.to_owned(),
                json: decoded.as_ref().ok().cloned(),
                error: decoded.err(),
            });
        }
        if let Some(compression) = compressed::detect(payload) {
            let inflated = compressed::inflate(payload, compression, compressed::MAX_INFLATED);
            out.compressed = Some(match inflated {
                Ok(bytes) => CompressedReading {
                    compression,
                    inflated_bytes: Some(bytes.len() as u32),
                    inflated: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                    error: None,
                },
                Err(e) => CompressedReading {
                    compression,
                    inflated: None,
                    inflated_bytes: None,
                    error: Some(e.to_string()),
                },
            });
        }
        out
    }
}

/// The Sparkplug B state of a source.
pub fn sparkplug_state(hub: &TrafficHub, source: &SourceId) -> StateView {
    hub.read_state(source, |state| state.sparkplug.view())
}
