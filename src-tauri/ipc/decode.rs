//! Decoder commands: one message's readings (Sparkplug B, Protobuf by the topic's mapped type,
//! inflated when compressed), a source's Sparkplug B state, its Protobuf schema settings, and JSON
//! encoded as a Protobuf message for the composer. Bodies are calls into
//! [`workbench_core::decoders`].

use super::IpcError;
use base64::Engine;
use std::sync::Arc;
use workbench_core::decoders::{self, DecodedPayload, Decoders, SchemaView};
use workbench_core::error::ErrorCode;
use workbench_core::hub::TrafficHub;
use workbench_decode::schema::SchemaConfig;
use workbench_decode::sparkplug::StateView;
use workbench_traffic::SourceId;

type Hub<'a> = tauri::State<'a, Arc<TrafficHub>>;
type Schemas<'a> = tauri::State<'a, Arc<Decoders>>;

/// Every reading that fits one message (`payload` in Base64, as the inspector has it).
#[tauri::command(async)]
#[specta::specta]
pub fn decode_payload(
    hub: Hub<'_>,
    schemas: Schemas<'_>,
    source: SourceId,
    topic: String,
    payload: String,
) -> Result<DecodedPayload, IpcError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.as_bytes())
        .map_err(|e| IpcError::new(ErrorCode::InvalidInput, format!("not Base64: {e}")))?;
    Ok(schemas.decode(&hub, &source, &topic, &bytes))
}

/// The Sparkplug B groups, edge nodes, devices, host applications and flagged messages of a
/// source.
#[tauri::command]
#[specta::specta]
pub fn decode_sparkplug_state(hub: Hub<'_>, source: SourceId) -> StateView {
    decoders::sparkplug_state(&hub, &source)
}

/// A source's Protobuf schema settings and the message types they define.
#[tauri::command(async)]
#[specta::specta]
pub fn decode_schema(schemas: Schemas<'_>, source: SourceId) -> SchemaView {
    schemas.view(&source)
}

/// Sets (and saves) a source's Protobuf schema settings.
#[tauri::command(async)]
#[specta::specta]
pub fn decode_set_schema(
    schemas: Schemas<'_>,
    source: SourceId,
    config: SchemaConfig,
) -> Result<SchemaView, IpcError> {
    schemas.set(&source, config)
}

/// `json` encoded as `message_type` with the source's schema, in Base64 (the composer publishes
/// it as a Base64 payload).
#[tauri::command(async)]
#[specta::specta]
pub fn decode_encode_protobuf(
    schemas: Schemas<'_>,
    source: SourceId,
    message_type: String,
    json: String,
) -> Result<String, IpcError> {
    let bytes = schemas.encode(&source, &message_type, &json)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}
