//! AMQP 0-9-1 sessions in the app (RabbitMQ), beside the MQTT ones: saved profiles with their
//! passwords in the keychain, connected sessions whose publishes and deliveries feed the traffic
//! hub as the source `SourceId::Session(<profile id>)` (so the topic tree, packet log and
//! inspectors show them as MQTT traffic), consumers with their unsettled deliveries for the ack
//! buttons, and the study note's Hello World. Built on the `workbench-amqp` crate; no Tauri.
//!
//! - [`profiles`]: the profiles file `amqp-sessions.json` and passwords moved out of URLs.
//! - [`service`]: [`AmqpService`], one per app: connect, disconnect, the operations, Hello World,
//!   the management API for the queue view.
//! - [`hello`]: the Hello World example as steps.
//! - [`ops`]: the operations on a connected session, and its consumers.
//! - [`consumers`]: one task per consumer: deliveries kept (bounded) until settled.
//! - [`notices`]: what changed, gathered for a front end to push (session states, unsettled
//!   lists, consumers ended).
//!
//! What crosses the IPC is defined here (serde + specta, camelCase as everywhere in the app).

pub mod consumers;
pub mod hello;
pub mod notices;
pub mod ops;
pub mod profiles;
pub mod service;

pub use service::AmqpService;

use crate::error::{ErrorCode, IpcError};
use serde::{Deserialize, Serialize};
use workbench_amqp::{AmqpError, AmqpProperties};

/// A saved AMQP session. Its URL never holds a password (the keychain does, under `amqp:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AmqpProfile {
    /// `amqp-…`, assigned when first saved (never collides with MQTT profile ids).
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `amqp[s]://user@host:port/vhost`.
    pub url: String,
    /// The management plugin's HTTP port (the queue view); `None`: no management API.
    #[serde(default = "default_management_port")]
    pub management_port: Option<u16>,
    /// A PEM file of CA certificates trusted for `amqps://` (a broker with a private CA).
    #[serde(default)]
    pub ca_file: Option<String>,
}

fn default_management_port() -> Option<u16> {
    Some(workbench_amqp::management::MANAGEMENT_PORT)
}

/// Why a session was lost, in words, with `AmqpError::code()` to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AmqpFailure {
    pub code: String,
    pub message: String,
}

impl From<&AmqpError> for AmqpFailure {
    fn from(e: &AmqpError) -> AmqpFailure {
        AmqpFailure {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AmqpState {
    Disconnected,
    Connecting,
    Connected,
    /// The connection failed after it was open (the broker closed it, the network went).
    Lost(AmqpFailure),
}

/// A profile as the UI lists it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AmqpSessionView {
    pub profile: AmqpProfile,
    pub has_password: bool,
    pub state: AmqpState,
}

/// A message to publish, as the UI's form sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct AmqpPublish {
    /// Empty: the default exchange (routes to the queue named by the routing key).
    pub exchange: String,
    pub routing_key: String,
    pub body: String,
    /// `body` is the base64 of binary bytes.
    pub body_base64: bool,
    pub properties: AmqpProperties,
    /// Ask the broker to say when no queue receives it (`unroutable`).
    pub mandatory: bool,
}

/// A message taken with basic.get (the management UI's "Get messages").
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AmqpGot {
    pub exchange: String,
    pub routing_key: String,
    pub redelivered: bool,
    pub properties: AmqpProperties,
    /// The body as text when it is UTF-8, else its base64 (`bodyBase64`).
    pub body: String,
    pub body_base64: bool,
    /// The body's size in bytes.
    pub size: u32,
}

/// One step of the Hello World example.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct HelloWorldStep {
    /// An i18n key: `amqp.hello.declare`, `amqp.hello.publish`, `amqp.hello.receive`.
    pub what: String,
    pub ok: bool,
    /// What happened, or the failure in words.
    pub detail: String,
}

/// A delivery waiting for its consumer's ack, nack or reject.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AmqpPending {
    #[specta(type = f64)]
    pub delivery_tag: u64,
    pub exchange: String,
    pub routing_key: String,
    pub redelivered: bool,
    pub size: u32,
    /// At most [`PREVIEW_CHARS`] characters of the body as text (lossy UTF-8, control
    /// characters shown as `\u{…}`): text, never markup.
    pub preview: String,
}

/// A running consumer, as a window that opens later lists it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AmqpConsumerView {
    pub consumer_tag: String,
    pub queue: String,
    pub ack: workbench_amqp::AckMode,
    pub prefetch: u16,
    /// Its unsettled deliveries (manual acks), as [`notices::AmqpNotice::Unsettled`] pushes them.
    pub deliveries: Vec<AmqpPending>,
    pub dropped: u32,
}

/// How long a delivery's preview is.
pub const PREVIEW_CHARS: usize = 200;

/// The start of a body as one line of text.
pub fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(PREVIEW_CHARS * 4)]);
    let mut out = String::new();
    for c in text.chars().take(PREVIEW_CHARS) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// How a delivery is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AmqpSettle {
    Ack,
    Nack,
    Reject,
}

/// An AMQP failure as the UI receives it: the words, and the app's error code.
pub fn ipc_error(e: &AmqpError) -> IpcError {
    let code = match e {
        AmqpError::BadUrl(_) | AmqpError::BadInput(_) => ErrorCode::InvalidInput,
        AmqpError::ConnectionRefused { .. }
        | AmqpError::Unreachable { .. }
        | AmqpError::Timeout { .. } => ErrorCode::Unreachable,
        AmqpError::Tls { .. } => ErrorCode::Tls,
        AmqpError::AccessRefused { .. } | AmqpError::PermissionRefused { .. } => {
            ErrorCode::AuthFailed
        }
        AmqpError::VhostNotFound { .. } | AmqpError::NotFound { .. } => ErrorCode::NotFound,
        AmqpError::PreconditionFailed { .. }
        | AmqpError::ResourceLocked { .. }
        | AmqpError::ConnectionClosed { .. } => ErrorCode::InvalidState,
        AmqpError::Protocol { .. } => ErrorCode::Protocol,
        AmqpError::Io(_) => ErrorCode::Io,
    };
    IpcError::new(code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_profiles_cross_as_the_contract_says() {
        let lost = AmqpState::Lost(AmqpFailure {
            code: "ConnectionClosed".into(),
            message: "the broker closed the connection: bye".into(),
        });
        let json = serde_json::to_string(&lost).unwrap();
        assert_eq!(
            json,
            r#"{"lost":{"code":"ConnectionClosed","message":"the broker closed the connection: bye"}}"#
        );
        assert_eq!(
            serde_json::to_string(&AmqpState::Connected).unwrap(),
            r#""connected""#
        );
        let p: AmqpProfile = serde_json::from_str(r#"{"url":"amqp://h"}"#).unwrap();
        assert_eq!(p.management_port, Some(15672));
        assert_eq!(p.ca_file, None);
    }

    #[test]
    fn previews_are_short_single_lines() {
        assert_eq!(preview(b"a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(preview(&[b'x'; 1000]).chars().count(), PREVIEW_CHARS);
        assert_eq!(preview(&[0xff, b'o', b'k']), "\u{fffd}ok");
    }
}
