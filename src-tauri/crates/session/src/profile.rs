//! A connection profile: everything a session needs to reach a broker, as the user saved it, plus
//! the checks that keep bad values away from rumqttc (several of its options panic on them).
//!
//! Profiles are plain data, serialised as they are to the profiles file and across IPC. Passwords
//! are not part of a profile: they live in the OS keychain (see [`super::secrets`]).

use super::SessionError;
use serde::{Deserialize, Serialize};
use workbench_wire::topic;

pub use crate::connection_url::{parse_url, ParsedUrl};

/// The largest maximum packet size MQTT can express (a four-byte remaining length: 256 MB).
pub const MAX_PACKET_SIZE_CEILING: u32 = 268_435_455;
/// The default maximum packet size of a session, in and out: far above rumqttc's 10 KiB, so
/// pictures and firmware chunks pass.
pub const DEFAULT_MAX_PACKET_SIZE: u32 = 64 * 1024 * 1024;
/// Keep-alive of a new profile, in seconds.
pub const DEFAULT_KEEP_ALIVE: u16 = 60;

/// MQTT protocol version a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub enum MqttVersion {
    /// MQTT 3.1.1
    V311,
    /// MQTT 5.0
    V5,
}

/// How the bytes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Plain TCP (`mqtt://`).
    Tcp,
    /// TLS over TCP (`mqtts://`).
    Tls,
    /// WebSocket (`ws://`), subprotocol "mqtt".
    Ws,
    /// WebSocket over TLS (`wss://`).
    Wss,
}

impl TransportKind {
    pub fn scheme(self) -> &'static str {
        match self {
            TransportKind::Tcp => "mqtt",
            TransportKind::Tls => "mqtts",
            TransportKind::Ws => "ws",
            TransportKind::Wss => "wss",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            TransportKind::Tcp => 1883,
            TransportKind::Tls => 8883,
            TransportKind::Ws => 80,
            TransportKind::Wss => 443,
        }
    }

    pub fn is_tls(self) -> bool {
        matches!(self, TransportKind::Tls | TransportKind::Wss)
    }

    pub fn is_websocket(self) -> bool {
        matches!(self, TransportKind::Ws | TransportKind::Wss)
    }
}

/// TLS options (used for `mqtts` and `wss`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct TlsOptions {
    /// A PEM file of CA certificates to trust instead of the system's.
    pub ca_file: Option<String>,
    /// A PEM client certificate chain, for brokers that authenticate clients by certificate.
    pub client_cert_file: Option<String>,
    /// The PEM private key of the client certificate.
    pub client_key_file: Option<String>,
    /// Accept any server certificate (self-signed test brokers). Never the default.
    pub accept_invalid_certs: bool,
}

/// A user property (MQTT 5): a name and value pair; names may repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct UserProperty {
    pub key: String,
    pub value: String,
}

/// MQTT 5 properties of a PUBLISH or of a will message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageProperties {
    pub content_type: Option<String>,
    /// True: the payload is UTF-8 text (payload format indicator 1).
    pub payload_is_utf8: bool,
    /// Seconds until the broker discards the message.
    pub message_expiry: Option<u32>,
    pub response_topic: Option<String>,
    /// Correlation data, as text (sent as its UTF-8 bytes).
    pub correlation_data: Option<String>,
    pub user_properties: Vec<UserProperty>,
    /// Will delay interval in seconds (only meaningful for a will).
    pub will_delay: Option<u32>,
}

impl MessageProperties {
    /// MQTT strings and binary data carry a two-byte length: longer values cannot be sent.
    pub fn check_lengths(&self, what: &str) -> Result<(), SessionError> {
        let limit = u16::MAX as usize;
        let fields = [
            ("content type", self.content_type.as_deref()),
            ("response topic", self.response_topic.as_deref()),
            ("correlation data", self.correlation_data.as_deref()),
        ];
        for (name, value) in fields {
            if value.is_some_and(|v| v.len() > limit) {
                return Err(SessionError::InvalidInput(format!(
                    "the {what}'s {name} is longer than 65,535 bytes"
                )));
            }
        }
        if let Some(topic) = self.response_topic.as_deref().filter(|t| !t.is_empty()) {
            topic::validate_name(topic).map_err(|e| {
                SessionError::InvalidInput(format!("the {what}'s response topic: {e}"))
            })?;
        }
        for p in &self.user_properties {
            if p.key.len() > limit || p.value.len() > limit {
                return Err(SessionError::InvalidInput(format!(
                    "a user property of the {what} is longer than 65,535 bytes"
                )));
            }
        }
        Ok(())
    }
}

/// The last will: published by the broker when the session ends without a DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Will {
    pub topic: String,
    pub payload: String,
    pub qos: u8,
    pub retain: bool,
    #[serde(default)]
    pub properties: MessageProperties,
}

/// What to do with retained messages when subscribing (MQTT 5 retain handling).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub enum RetainHandling {
    /// Send retained messages at every subscribe (0, the default).
    #[default]
    SendAlways,
    /// Only when the subscription is new (1).
    SendIfNew,
    /// Never (2).
    DontSend,
}

/// One subscription of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub filter: String,
    pub qos: u8,
    /// MQTT 5: do not receive one's own publishes.
    #[serde(default)]
    pub no_local: bool,
    /// MQTT 5: keep the retain flag as published.
    #[serde(default)]
    pub retain_as_published: bool,
    #[serde(default)]
    pub retain_handling: RetainHandling,
    /// MQTT 5: subscription identifier (1 to 268,435,455).
    #[serde(default)]
    pub identifier: Option<u32>,
}

/// A saved connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Stable id (set when first saved).
    #[serde(default)]
    pub id: String,
    /// What the user calls it ("sensor", "dashboard", "plant EMQX").
    pub name: String,
    pub host: String,
    pub port: u16,
    pub transport: TransportKind,
    /// Path of a WebSocket URL (`/mqtt`).
    #[serde(default = "default_ws_path")]
    pub ws_path: String,
    pub version: MqttVersion,
    /// Empty: one is generated at each connect.
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub username: Option<String>,
    /// Seconds; 0 turns keep-alive off (MQTT 3.1.1 only).
    #[serde(default = "default_keep_alive")]
    pub keep_alive: u16,
    /// MQTT 3.1.1 clean session / MQTT 5 clean start.
    #[serde(default = "yes")]
    pub clean_start: bool,
    /// MQTT 5 session expiry interval in seconds (none: the session ends with the connection).
    #[serde(default)]
    pub session_expiry: Option<u32>,
    #[serde(default)]
    pub will: Option<Will>,
    #[serde(default)]
    pub tls: TlsOptions,
    /// Largest packet accepted and sent, in bytes.
    #[serde(default = "default_max_packet")]
    pub max_packet_size: u32,
    /// Reconnect after a connection is lost.
    #[serde(default = "yes")]
    pub auto_reconnect: bool,
    /// Sent again after every connect that did not resume a session.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

pub(crate) fn default_ws_path() -> String {
    "/mqtt".to_string()
}
fn default_keep_alive() -> u16 {
    DEFAULT_KEEP_ALIVE
}
fn default_max_packet() -> u32 {
    DEFAULT_MAX_PACKET_SIZE
}
fn yes() -> bool {
    true
}

impl Profile {
    /// A profile for `host:port` over plain TCP, with the defaults a new profile gets.
    pub fn new(name: &str, host: &str, port: u16, version: MqttVersion) -> Profile {
        Profile {
            id: String::new(),
            name: name.to_string(),
            host: host.to_string(),
            port,
            transport: TransportKind::Tcp,
            ws_path: default_ws_path(),
            version,
            client_id: String::new(),
            username: None,
            keep_alive: DEFAULT_KEEP_ALIVE,
            clean_start: true,
            session_expiry: None,
            will: None,
            tls: TlsOptions::default(),
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            auto_reconnect: true,
            subscriptions: Vec::new(),
        }
    }

    /// The URL the profile connects to, as users write it (no password).
    pub fn url(&self) -> String {
        let user = match &self.username {
            Some(u) if !u.is_empty() => format!("{u}@"),
            _ => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let path = if self.transport.is_websocket() {
            self.ws_path.as_str()
        } else {
            ""
        };
        format!(
            "{}://{user}{host}:{}{path}",
            self.transport.scheme(),
            self.port
        )
    }

    /// Checks every field rumqttc would panic on or a broker would refuse, with a message naming
    /// the field.
    pub fn validate(&self) -> Result<(), SessionError> {
        let bad = |msg: String| Err(SessionError::InvalidInput(msg));
        if self.name.trim().is_empty() {
            return bad("the profile needs a name".into());
        }
        if self.host.trim().is_empty() {
            return bad("the host is empty".into());
        }
        if self.host.chars().any(|c| c.is_whitespace() || c == '/') {
            return bad(format!(
                "the host '{}' is not a host name or address (write just the name, as in 'broker.local', or paste a URL into the URL field)",
                self.host
            ));
        }
        if self.port == 0 {
            return bad("the port must be between 1 and 65535".into());
        }
        if self.transport.is_websocket() && !self.ws_path.starts_with('/') {
            return bad(format!(
                "the WebSocket path must start with '/' (as in '/mqtt'), not '{}'",
                self.ws_path
            ));
        }
        if self.client_id.len() > 65_535 {
            return bad("the client id is longer than 65,535 bytes".into());
        }
        if self.client_id.contains('\0') {
            return bad("the client id contains a NUL character".into());
        }
        if self.client_id.is_empty() && !self.clean_start && self.version == MqttVersion::V311 {
            return bad("a persistent session (clean session off) needs a client id: the broker finds the session by it".into());
        }
        match self.version {
            MqttVersion::V311 => {}
            MqttVersion::V5 => {
                if self.keep_alive < 5 {
                    return bad(format!(
                        "MQTT 5 sessions need a keep-alive of at least 5 seconds (got {})",
                        self.keep_alive
                    ));
                }
            }
        }
        if self.max_packet_size < 1024 || self.max_packet_size > MAX_PACKET_SIZE_CEILING {
            return bad(format!(
                "the maximum packet size must be between 1 KiB and 256 MB (got {} bytes)",
                self.max_packet_size
            ));
        }
        if let Some(will) = &self.will {
            topic::validate_name(&will.topic)
                .map_err(|e| SessionError::InvalidInput(format!("will topic: {e}")))?;
            if will.qos > 2 {
                return bad(format!("will QoS must be 0, 1 or 2 (got {})", will.qos));
            }
            if will.payload.len() > u16::MAX as usize {
                return bad("the will payload is longer than 65,535 bytes".into());
            }
            will.properties.check_lengths("will")?;
            if self.version == MqttVersion::V311 && will.properties != MessageProperties::default()
            {
                return bad("will properties need MQTT 5".into());
            }
        }
        let tls = &self.tls;
        if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
            return bad(
                "a client certificate needs both the certificate file and its key file".into(),
            );
        }
        for sub in &self.subscriptions {
            sub.validate(self.version)?;
        }
        Ok(())
    }
}

impl Subscription {
    pub fn new(filter: &str, qos: u8) -> Subscription {
        Subscription {
            filter: filter.to_string(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAlways,
            identifier: None,
        }
    }

    /// Checks the filter (precisely: which level is wrong and why) and the options.
    pub fn validate(&self, version: MqttVersion) -> Result<(), SessionError> {
        topic::validate_filter(&self.filter).map_err(|e| SessionError::InvalidFilter {
            filter: self.filter.clone(),
            reason: e.to_string(),
        })?;
        if self.qos > 2 {
            return Err(SessionError::InvalidInput(format!(
                "subscription QoS must be 0, 1 or 2 (got {})",
                self.qos
            )));
        }
        if let Some(id) = self.identifier {
            if id == 0 || id > MAX_PACKET_SIZE_CEILING {
                return Err(SessionError::InvalidInput(format!(
                    "a subscription identifier must be between 1 and 268,435,455 (got {id})"
                )));
            }
        }
        if version == MqttVersion::V311 {
            let v5_only = self.no_local
                || self.retain_as_published
                || self.retain_handling != RetainHandling::SendAlways
                || self.identifier.is_some();
            if v5_only {
                return Err(SessionError::InvalidInput(
                    "no-local, retain-as-published, retain handling and subscription identifiers need MQTT 5".into(),
                ));
            }
        }
        if self.no_local && self.filter.starts_with("$share/") {
            return Err(SessionError::InvalidInput(
                "no-local cannot be set on a shared subscription ($share/...)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let mut p = Profile::new("p", "localhost", 1883, MqttVersion::V5);
        p.validate().unwrap();
        p.keep_alive = 2;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("at least 5 seconds"));
        p.version = MqttVersion::V311;
        p.keep_alive = 0;
        p.validate().unwrap();
        p.clean_start = false;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("needs a client id"));
        p.client_id = "c".into();
        p.validate().unwrap();
        p.subscriptions
            .push(Subscription::new("sport/+/player#", 1));
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("sport/+/player#") && e.contains("'#'"), "{e}");
        p.subscriptions[0].filter = "sport/+/player/#".into();
        p.validate().unwrap();
        p.subscriptions[0].no_local = true;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("need MQTT 5"));
        p.max_packet_size = 10;
        p.subscriptions.clear();
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("maximum packet size"));
        p.max_packet_size = DEFAULT_MAX_PACKET_SIZE;
        p.will = Some(Will {
            topic: "w".into(),
            payload: "x".repeat(70_000),
            qos: 0,
            retain: false,
            properties: MessageProperties::default(),
        });
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("will payload"), "{e}");
        let will = p.will.as_mut().unwrap();
        will.payload = "bye".into();
        will.properties.content_type = Some("text/plain".into());
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("need MQTT 5"), "{e}");
        p.version = MqttVersion::V5;
        p.keep_alive = 60;
        p.validate().unwrap();
        p.will.as_mut().unwrap().properties.response_topic = Some("a/+".into());
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("response topic"), "{e}");
    }
}
