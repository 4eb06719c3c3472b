//! One Sparkplug message decoded for the inspector: its header, a metrics table (names resolved
//! from the BIRTH's aliases, data types from the BIRTH where the message leaves them out) and the
//! whole payload as a JSON tree. STATE messages are JSON (3.0) or the words ONLINE/OFFLINE (2.2).

use super::proto::{self, data_type_name};
use super::tracker::BirthMetrics;
use super::values::{hex, metric_json, property_pairs, value_text};
use super::{MessageKind, SparkplugTopic};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Metrics past this many are counted but not listed (the JSON tree has them all).
pub const MAX_ROWS: usize = 5_000;

/// A decoded Sparkplug message.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SparkplugMessage {
    pub kind: MessageKind,
    pub group: String,
    /// The edge node (for STATE, the host application).
    pub node: String,
    pub device: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub timestamp: Option<f64>,
    pub seq: Option<f64>,
    pub uuid: Option<String>,
    /// Bytes in the opaque `body` field, when there is one.
    pub body_bytes: Option<u32>,
    pub metrics: Vec<MetricRow>,
    /// Metrics in the payload (more than `metrics` holds when over [`MAX_ROWS`]).
    pub metric_count: u32,
    /// The whole message as JSON text (pretty), for the tree.
    pub json: String,
    /// Whether a BIRTH was known to resolve aliases and types.
    pub birth_known: bool,
}

/// One metric, as the table shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MetricRow {
    /// The metric's name; when only an alias came, the name the BIRTH gave that alias.
    pub name: Option<String>,
    pub alias: Option<f64>,
    /// The name came from the BIRTH (the message carried the alias alone).
    pub name_from_birth: bool,
    /// The message used an alias the BIRTH never announced (or no BIRTH was seen).
    pub unknown_alias: bool,
    pub datatype: String,
    pub value: String,
    pub is_null: bool,
    pub is_historical: bool,
    pub is_transient: bool,
    pub timestamp: Option<f64>,
    /// Property set pairs, e.g. `Quality: 192`.
    pub properties: Vec<(String, String)>,
}

/// Why a payload on a Sparkplug topic could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SparkplugError {
    #[error("{0}")]
    Topic(#[from] super::TopicError),
    #[error("not a Sparkplug B payload: {0}")]
    Payload(String),
}

/// Decodes `payload` published on `topic` (which must be in the namespace), resolving aliases
/// and data types with `birth` (the edge node's or device's last BIRTH).
pub fn decode_message(
    topic: &SparkplugTopic,
    payload: &[u8],
    birth: Option<&BirthMetrics>,
) -> Result<SparkplugMessage, SparkplugError> {
    let mut message = SparkplugMessage {
        kind: topic.kind,
        group: topic.group.clone(),
        node: topic.node.clone(),
        device: topic.device.clone(),
        timestamp: None,
        seq: None,
        uuid: None,
        body_bytes: None,
        metrics: Vec::new(),
        metric_count: 0,
        json: String::new(),
        birth_known: birth.is_some(),
    };
    if topic.kind == MessageKind::State {
        let value = state_json(payload)?;
        message.timestamp = value.get("timestamp").and_then(Value::as_f64);
        message.json = pretty(&value);
        return Ok(message);
    }
    let decoded = proto::decode(payload).map_err(|e| SparkplugError::Payload(e.to_string()))?;
    message.timestamp = decoded.timestamp.map(|t| t as f64);
    message.seq = decoded.seq.map(|s| s as f64);
    message.uuid = decoded.uuid.clone();
    message.body_bytes = decoded.body.as_ref().map(|b| b.len() as u32);
    message.metric_count = decoded.metrics.len() as u32;
    let mut metrics_json = Vec::with_capacity(decoded.metrics.len());
    for metric in &decoded.metrics {
        let known = metric
            .alias
            .and_then(|a| birth.and_then(|b| b.by_alias.get(&a)));
        let (name, name_from_birth) = match (&metric.name, known) {
            (Some(name), _) => (Some(name.clone()), false),
            (None, Some((name, _))) => (Some(name.clone()), true),
            (None, None) => (None, false),
        };
        let unknown_alias = metric.name.is_none() && metric.alias.is_some() && known.is_none();
        let datatype = metric
            .datatype
            .or_else(|| known.map(|(_, t)| *t))
            .or_else(|| {
                let name = name.as_deref()?;
                birth.and_then(|b| b.types.get(name).copied())
            });
        let is_null = metric.is_null == Some(true) || metric.value.is_none();
        let value = match (&metric.value, metric.is_null) {
            (_, Some(true)) | (None, _) => Value::Null,
            (Some(v), _) => metric_json(v, datatype),
        };
        let properties = metric
            .properties
            .as_ref()
            .map(property_pairs)
            .unwrap_or_default();
        let mut entry = Map::new();
        entry.insert("name".into(), json!(name));
        if let Some(alias) = metric.alias {
            entry.insert("alias".into(), json!(alias));
        }
        entry.insert("datatype".into(), json!(datatype.map(data_type_name)));
        if let Some(t) = metric.timestamp {
            entry.insert("timestamp".into(), json!(t));
        }
        entry.insert("value".into(), value.clone());
        for (flag, on) in [
            ("isHistorical", metric.is_historical),
            ("isTransient", metric.is_transient),
        ] {
            if on == Some(true) {
                entry.insert(flag.into(), json!(true));
            }
        }
        if !properties.is_empty() {
            let props: Map<String, Value> = properties
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            entry.insert("properties".into(), Value::Object(props));
        }
        if let Some(meta) = &metric.metadata {
            entry.insert(
                "metadata".into(),
                json!({
                    "contentType": meta.content_type,
                    "size": meta.size,
                    "fileName": meta.file_name,
                    "fileType": meta.file_type,
                    "md5": meta.md5,
                    "description": meta.description,
                }),
            );
        }
        metrics_json.push(Value::Object(entry));
        if message.metrics.len() < MAX_ROWS {
            message.metrics.push(MetricRow {
                name,
                alias: metric.alias.map(|a| a as f64),
                name_from_birth,
                unknown_alias,
                datatype: datatype.map_or("", data_type_name).to_owned(),
                value: if is_null {
                    "null".to_owned()
                } else {
                    value_text(&value)
                },
                is_null,
                is_historical: metric.is_historical == Some(true),
                is_transient: metric.is_transient == Some(true),
                timestamp: metric.timestamp.map(|t| t as f64),
                properties,
            });
        }
    }
    let mut whole = Map::new();
    if let Some(t) = decoded.timestamp {
        whole.insert("timestamp".into(), json!(t));
    }
    if let Some(seq) = decoded.seq {
        whole.insert("seq".into(), json!(seq));
    }
    if let Some(uuid) = &decoded.uuid {
        whole.insert("uuid".into(), json!(uuid));
    }
    whole.insert("metrics".into(), Value::Array(metrics_json));
    if let Some(body) = &decoded.body {
        whole.insert("body".into(), json!(hex(body)));
    }
    message.json = pretty(&Value::Object(whole));
    Ok(message)
}

/// A STATE payload: JSON in Sparkplug 3.0, the text ONLINE or OFFLINE before it.
fn state_json(payload: &[u8]) -> Result<Value, SparkplugError> {
    match payload {
        b"ONLINE" => Ok(json!({ "online": true })),
        b"OFFLINE" => Ok(json!({ "online": false })),
        _ => match serde_json::from_slice::<Value>(payload) {
            Ok(value) if value.get("online").is_some_and(Value::is_boolean) => Ok(value),
            _ => Err(SparkplugError::Payload(
                "a STATE message is JSON with a boolean \"online\"".into(),
            )),
        },
    }
}

/// Whether a STATE payload says its host is online.
pub fn state_online(payload: &[u8]) -> Option<bool> {
    state_json(payload).ok()?.get("online")?.as_bool()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
