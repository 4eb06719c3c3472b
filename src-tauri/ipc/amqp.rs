//! AMQP 0-9-1 session commands (RabbitMQ): profiles, connect and disconnect, declare, bind,
//! publish, consume and settle, basic.get, Hello World; and the events pushed when a session's
//! state, a consumer's unsettled deliveries or a consumer's life changed. Bodies are calls into
//! [`workbench_core::amqp`]; the contract with the UI is `/work/notes/amqp-contract.md`.

use super::IpcError;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tauri_specta::Event;
use workbench_amqp::{
    BindingSpec, ConsumeSpec, ExchangeSpec, PublishOutcome, QueueInfo, QueueSpec,
};
use workbench_core::amqp::notices::AmqpNotice;
use workbench_core::amqp::{
    AmqpConsumerView, AmqpFailure, AmqpGot, AmqpPending, AmqpProfile, AmqpPublish, AmqpService,
    AmqpSessionView, AmqpSettle, AmqpState, HelloWorldStep,
};
use workbench_core::error::ErrorCode;

type State<'a> = tauri::State<'a, Arc<AmqpService>>;

/// An AMQP session's state changed (connecting, connected, disconnected, lost with why).
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct AmqpSessionChanged {
    pub id: String,
    pub state: AmqpState,
}

/// A manual-ack consumer's unsettled deliveries (the newest 1000; `dropped`: how many older
/// ones are not listed but still wait). At most about ten a second per consumer.
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct AmqpUnsettled {
    pub id: String,
    pub consumer_tag: String,
    pub deliveries: Vec<AmqpPending>,
    pub dropped: u32,
}

/// A consumer ended: `failure` says why when the broker ended it (queue deleted, connection
/// lost); null when the user cancelled it or disconnected.
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct AmqpConsumerEnded {
    pub id: String,
    pub consumer_tag: String,
    pub failure: Option<AmqpFailure>,
}

/// How long changes gather before they are pushed (at most ten pushes a second).
const SETTLE: Duration = Duration::from_millis(100);

/// Pushes the AMQP sessions' changes to every window until the app ends.
pub async fn push_changes(service: Arc<AmqpService>, handle: tauri::AppHandle) {
    loop {
        for notice in service.next_notices(SETTLE).await {
            let _ = match notice {
                AmqpNotice::SessionChanged { id, state } => {
                    AmqpSessionChanged { id, state }.emit(&handle)
                }
                AmqpNotice::Unsettled {
                    id,
                    consumer_tag,
                    deliveries,
                    dropped,
                } => AmqpUnsettled {
                    id,
                    consumer_tag,
                    deliveries,
                    dropped,
                }
                .emit(&handle),
                AmqpNotice::ConsumerEnded {
                    id,
                    consumer_tag,
                    failure,
                } => AmqpConsumerEnded {
                    id,
                    consumer_tag,
                    failure,
                }
                .emit(&handle),
            };
        }
    }
}

/// Every AMQP profile with its state.
#[tauri::command]
#[specta::specta]
pub async fn amqp_profiles(service: State<'_>) -> Result<Vec<AmqpSessionView>, IpcError> {
    Ok(service.profiles())
}

/// What the user should know about the saved profiles and passwords (a broken profiles file
/// kept aside, passwords kept for this session only), in words; empty when all is well.
#[tauri::command]
#[specta::specta]
pub async fn amqp_notes(service: State<'_>) -> Result<Vec<String>, IpcError> {
    Ok(service.notes())
}

/// Saves a profile (id "" = new). A password typed in the URL is moved to the keychain;
/// `password`: null keeps the stored one, "" forgets it.
#[tauri::command]
#[specta::specta]
pub async fn amqp_save_profile(
    service: State<'_>,
    profile: AmqpProfile,
    password: Option<String>,
) -> Result<AmqpSessionView, IpcError> {
    service.save_profile(profile, password)
}

/// Deletes a profile: disconnected, its password and traffic forgotten.
#[tauri::command]
#[specta::specta]
pub async fn amqp_delete_profile(service: State<'_>, id: String) -> Result<(), IpcError> {
    service.delete_profile(&id).await
}

/// Connects a profile; its traffic shows as the source `{ session: id }`.
#[tauri::command]
#[specta::specta]
pub async fn amqp_connect(service: State<'_>, id: String) -> Result<AmqpSessionView, IpcError> {
    service.connect(&id).await
}

/// Disconnects a profile (its consumers' unsettled deliveries go back to their queues).
#[tauri::command]
#[specta::specta]
pub async fn amqp_disconnect(service: State<'_>, id: String) -> Result<(), IpcError> {
    service.disconnect(&id).await
}

/// Declares a queue (`spec.passive`: only checks it exists) and says its depth.
#[tauri::command]
#[specta::specta]
pub async fn amqp_declare_queue(
    service: State<'_>,
    id: String,
    spec: QueueSpec,
) -> Result<QueueInfo, IpcError> {
    service.declare_queue(&id, &spec).await
}

/// Declares an exchange (`spec.passive`: only checks it exists).
#[tauri::command]
#[specta::specta]
pub async fn amqp_declare_exchange(
    service: State<'_>,
    id: String,
    spec: ExchangeSpec,
) -> Result<(), IpcError> {
    service.declare_exchange(&id, &spec).await
}

/// Binds a queue to an exchange.
#[tauri::command]
#[specta::specta]
pub async fn amqp_bind(service: State<'_>, id: String, spec: BindingSpec) -> Result<(), IpcError> {
    service.bind(&id, &spec).await
}

/// Removes a binding.
#[tauri::command]
#[specta::specta]
pub async fn amqp_unbind(
    service: State<'_>,
    id: String,
    spec: BindingSpec,
) -> Result<(), IpcError> {
    service.unbind(&id, &spec).await
}

/// Empties a queue of its ready messages; returns how many there were.
#[tauri::command]
#[specta::specta]
pub async fn amqp_purge_queue(
    service: State<'_>,
    id: String,
    name: String,
) -> Result<u32, IpcError> {
    service.purge_queue(&id, &name).await
}

/// Deletes a queue; returns how many messages it held.
#[tauri::command]
#[specta::specta]
pub async fn amqp_delete_queue(
    service: State<'_>,
    id: String,
    name: String,
) -> Result<u32, IpcError> {
    service.delete_queue(&id, &name).await
}

/// Publishes a message (with publisher confirms) and says what the broker did with it.
#[tauri::command]
#[specta::specta]
pub async fn amqp_publish(
    service: State<'_>,
    id: String,
    message: AmqpPublish,
) -> Result<PublishOutcome, IpcError> {
    service.publish(&id, &message).await
}

/// Starts a consumer; returns its tag.
#[tauri::command]
#[specta::specta]
pub async fn amqp_consume(
    service: State<'_>,
    id: String,
    spec: ConsumeSpec,
) -> Result<String, IpcError> {
    service.consume(&id, &spec).await
}

/// The session's running consumers with their unsettled deliveries (for a window that opens
/// later; changes are pushed as `AmqpUnsettled` and `AmqpConsumerEnded`). Empty when not
/// connected.
#[tauri::command]
#[specta::specta]
pub async fn amqp_consumers(
    service: State<'_>,
    id: String,
) -> Result<Vec<AmqpConsumerView>, IpcError> {
    service.consumers(&id)
}

/// Stops a consumer (its unsettled deliveries go back to the queue).
#[tauri::command]
#[specta::specta]
pub async fn amqp_cancel(service: State<'_>, id: String, tag: String) -> Result<(), IpcError> {
    service.cancel(&id, &tag).await
}

/// Acks, nacks or rejects a delivery of a manual-ack consumer.
#[tauri::command]
#[specta::specta]
pub async fn amqp_settle(
    service: State<'_>,
    id: String,
    consumer_tag: String,
    delivery_tag: f64,
    how: AmqpSettle,
    requeue: bool,
    multiple: bool,
) -> Result<(), IpcError> {
    if !(delivery_tag.is_finite() && delivery_tag >= 1.0 && delivery_tag.fract() == 0.0)
        || delivery_tag > 9_007_199_254_740_991.0
    {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            format!("{delivery_tag} is not a delivery tag (a whole number from 1)"),
        ));
    }
    service
        .settle(
            &id,
            &consumer_tag,
            delivery_tag as u64,
            how,
            requeue,
            multiple,
        )
        .await
}

/// Takes one message from a queue (basic.get); `requeue` puts it back (marked redelivered).
/// Null when the queue is empty.
#[tauri::command]
#[specta::specta]
pub async fn amqp_get(
    service: State<'_>,
    id: String,
    queue: String,
    requeue: bool,
) -> Result<Option<AmqpGot>, IpcError> {
    service.get(&id, &queue, requeue).await
}

/// The study note's Hello World on this session, step by step.
#[tauri::command]
#[specta::specta]
pub async fn amqp_hello_world(
    service: State<'_>,
    id: String,
) -> Result<Vec<HelloWorldStep>, IpcError> {
    service.hello_world(&id).await
}
