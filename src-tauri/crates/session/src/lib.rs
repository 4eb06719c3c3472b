//! Client sessions: the user's own MQTT clients (rumqttc) to the embedded broker or any external
//! broker, with reconnect, live subscriptions and a complete packet log. Never imports `tauri`.
//!
//! Each session reports its packets as [`workbench_wire::PacketEvent`]s over a bounded channel
//! ([`SessionTraffic`]); the app core feeds them to the traffic model. This crate must never
//! depend on the broker or the traffic model.
//!
//! - [`profile`]: what a connection is (host, transport, version, will, TLS...) and its checks;
//!   connection URLs as users write them.
//! - [`store`]: the profiles file (human-readable JSON, written atomically), never passwords.
//! - [`secrets`]: passwords in the OS keychain, or for this run only where there is none.
//! - [`dial`]: reaching a broker over TCP, TLS, WebSocket or secure WebSocket, with errors in words.
//! - [`tap`]: the relay between rumqttc and the broker that reads every packet both ways, so the
//!   log holds CONNECT, pings and retransmissions exactly as they crossed the wire.
//! - [`client`]: one running session: rumqttc's event loop, backoff, re-subscribing.
//! - [`payload`]: payload input (text, JSON, hex, base64, a file) into bytes, with precise errors.
//! - [`files`]: writing the app's own files atomically (the profiles here, the broker's settings
//!   in the app core).

pub mod client;
mod connection_url;
pub mod dial;
pub mod files;
mod manager;
pub mod payload;
pub mod profile;
pub mod reconnect;
/// Passwords (shared with the broker's users): see [`workbench_secrets`].
pub use workbench_secrets as secrets;
pub mod store;
pub mod tap;
pub mod words;

pub use manager::{is_app_session, OnChange, SessionManager, APP_CLIENT_ID, APP_SESSION_ID};
pub use profile::{MqttVersion, Profile, Subscription, TransportKind};
pub use tap::SessionTraffic;

use payload::PayloadInput;
use profile::MessageProperties;
use secrets::PasswordStorage;
use serde::{Deserialize, Serialize};
use workbench_wire::{Coded, ErrorCode};

/// Why a session operation failed, in words; each maps onto an [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("the topic filter '{filter}' is not valid: {reason}")]
    InvalidFilter { filter: String, reason: String },
    #[error("the topic '{topic}' cannot be published to: {reason}")]
    InvalidTopic { topic: String, reason: String },
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Tls(String),
    #[error("{0}")]
    AuthFailed(String),
    #[error("{0}")]
    Protocol(String),
    #[error("no session with id '{0}'")]
    NotFound(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    Io(String),
}

impl Coded for SessionError {
    fn code(&self) -> ErrorCode {
        match self {
            SessionError::InvalidInput(_) => ErrorCode::InvalidInput,
            SessionError::InvalidFilter { .. } => ErrorCode::InvalidTopicFilter,
            SessionError::InvalidTopic { .. } => ErrorCode::InvalidTopic,
            SessionError::Unreachable(_) => ErrorCode::Unreachable,
            SessionError::Tls(_) => ErrorCode::Tls,
            SessionError::AuthFailed(_) => ErrorCode::AuthFailed,
            SessionError::Protocol(_) => ErrorCode::Protocol,
            SessionError::NotFound(_) => ErrorCode::NotFound,
            SessionError::InvalidState(_) => ErrorCode::InvalidState,
            SessionError::Io(_) => ErrorCode::Io,
        }
    }
}

/// Where a session's connection is.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "state")]
pub enum ConnectionState {
    /// Not running.
    Disconnected,
    /// Dialing and waiting for CONNACK.
    Connecting { attempt: u32 },
    /// CONNACK received (`since`: epoch ms; `resumed`: the broker had a session).
    Connected {
        #[specta(type = u32)]
        since: f64,
        resumed: bool,
    },
    /// Lost or not reached; trying again at `at` (epoch ms).
    Reconnecting {
        #[specta(type = u32)]
        at: f64,
        attempt: u32,
        code: ErrorCode,
        reason: String,
        /// The broker's reason code behind `reason`, when the broker gave one.
        answer: Option<BrokerAnswer>,
    },
    /// Stopped for a reason retrying cannot fix (bad credentials, TLS trust, protocol).
    Failed {
        code: ErrorCode,
        reason: String,
        answer: Option<BrokerAnswer>,
    },
}

/// A reason code the broker answered with. The words for it are in `reason` (English); the code
/// itself lets the UI say it in its own language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BrokerAnswer {
    pub packet: AnswerPacket,
    pub code: u8,
    /// The broker's own reason string (MQTT 5), as it sent it; empty when it sent none.
    pub detail: String,
}

/// Which packet carried a reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "UPPERCASE")]
pub enum AnswerPacket {
    Connack,
    Suback,
    Disconnect,
}

impl BrokerAnswer {
    pub fn new(packet: AnswerPacket, code: u8) -> BrokerAnswer {
        BrokerAnswer {
            packet,
            code,
            detail: String::new(),
        }
    }
}

/// How the broker answered a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "status")]
pub enum SubscriptionStatus {
    /// The session is not connected.
    Inactive,
    /// Sent, no SUBACK yet.
    Pending,
    /// Granted at this QoS.
    Granted { qos: u8 },
    /// Refused, with the reason in words and the SUBACK code.
    Refused { reason: String, code: u8 },
}

/// A subscription and how the broker answered it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct SessionSubscription {
    pub subscription: Subscription,
    pub status: SubscriptionStatus,
}

/// A session as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub profile: Profile,
    /// The profile's URL (no password).
    pub url: String,
    /// The traffic source its packets and messages go to.
    pub source: workbench_wire::SourceId,
    pub state: ConnectionState,
    /// The client id in use while running (generated when the profile has none).
    pub client_id: Option<String>,
    pub has_password: bool,
    pub subscriptions: Vec<SessionSubscription>,
    /// The app's own session on the embedded broker (made by the app; not saved, not deleted).
    pub app_session: bool,
}

/// All sessions, and where their settings and passwords are kept.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionsOverview {
    pub sessions: Vec<SessionView>,
    pub password_storage: PasswordStorage,
    /// Why passwords are kept for this run only, when they are.
    pub password_note: Option<String>,
    /// The profiles file.
    pub profiles_file: Option<String>,
    /// A problem reading or writing the profiles file.
    pub warning: Option<String>,
}

/// A message to publish.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PublishRequest {
    pub topic: String,
    pub payload: PayloadInput,
    pub qos: u8,
    pub retain: bool,
    #[serde(default)]
    pub properties: MessageProperties,
}

/// The traffic source of a session.
pub fn source_id(profile_id: &str) -> workbench_wire::SourceId {
    workbench_wire::SourceId::Session(profile_id.to_string())
}

/// A fresh random id: `prefix` and 8 hex digits.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness (never seen): time still makes ids unique enough per run.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        bytes = nanos.to_le_bytes();
    }
    format!("{prefix}{:08x}", u32::from_le_bytes(bytes))
}

/// An id no one can guess: 128 bits from the OS random source. `None`-free: should the source
/// fail (never seen), the time and a counter make it unique, if guessable.
pub fn random_id_long(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (nanos ^ u128::from(SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
            .to_le_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}
