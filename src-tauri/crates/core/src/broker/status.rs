//! The broker as the UI shows it (status, settings without passwords, connected clients), and
//! the settings the UI sends, checked before they reach the broker.

use super::limits::LimitsView;
use super::service::ServiceStatus;
use crate::error::{ErrorCode, IpcError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use workbench_broker::{BrokerSettings, ClientInfo, TlsSettings, MAX_PACKET_SIZE_CEILING};

/// The broker as the UI shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatus {
    pub running: bool,
    /// `host:port` actually listened on, when running.
    pub address: Option<String>,
    /// Every listener, as URLs (`mqtt://127.0.0.1:1883`, `ws://…`, `mqtts://…`).
    pub listeners: Vec<String>,
    /// True when the broker listens beyond loopback (reachable from the network).
    pub exposed: bool,
    pub settings: BrokerSettingsView,
    pub clients_connected: u32,
    /// Topics holding a retained message.
    pub retained_messages: u32,
    /// Something to know about the settings: restored only in part, or not saved.
    pub note: Option<String>,
    /// Why the last start failed.
    pub last_error: Option<String>,
}

/// Broker settings as the UI shows them. Passwords go in, never out.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BrokerSettingsView {
    /// `127.0.0.1` (this computer only) or `0.0.0.0` (every network interface), or an address.
    pub bind: String,
    pub port: u16,
    pub websocket_port: Option<u16>,
    pub tls: Option<TlsView>,
    pub max_packet_size: u32,
    /// Usernames that may connect; empty means anyone may.
    pub usernames: Vec<String>,
    pub limits: LimitsView,
}

/// A TLS listener's settings: its port and PEM files.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TlsView {
    pub port: u16,
    /// A secure WebSocket (`wss://`) listener with the same certificate, if any.
    #[serde(default)]
    pub wss_port: Option<u16>,
    pub cert_path: String,
    pub key_path: String,
}

/// A user the broker accepts.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BrokerUser {
    pub username: String,
    pub password: String,
}

/// New broker settings from the UI.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BrokerSettingsInput {
    pub bind: String,
    pub port: u16,
    /// A WebSocket listener's port, or none.
    pub websocket_port: Option<u16>,
    /// A TLS listener, or none.
    pub tls: Option<TlsView>,
    pub max_packet_size: u32,
    pub users: Vec<BrokerUser>,
    /// Every other limit; none: the broker's current limits stay.
    #[serde(default)]
    pub limits: Option<LimitsView>,
}

/// A connected client, as the dashboard lists it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    pub client_id: String,
    pub remote: String,
    /// "3.1.1" or "5.0".
    pub protocol: String,
    pub keep_alive: u16,
    pub clean_session: bool,
    /// Milliseconds since the Unix epoch.
    #[specta(type = u32)] // a plain number in TypeScript (f64 would export as number | null)
    pub connected_at_ms: f64,
    pub subscriptions: Vec<SubscriptionView>,
    #[specta(type = u32)] // a plain number in TypeScript (f64 would export as number | null)
    pub publish_received: f64,
    #[specta(type = u32)] // a plain number in TypeScript (f64 would export as number | null)
    pub publish_sent: f64,
    #[specta(type = u32)] // a plain number in TypeScript (f64 would export as number | null)
    pub bytes_received: f64,
    #[specta(type = u32)] // a plain number in TypeScript (f64 would export as number | null)
    pub bytes_sent: f64,
    /// QoS 0 messages dropped because the client read too slowly (allowed, but shown).
    #[specta(type = u32)] // a plain number in TypeScript (f64 would export as number | null)
    pub dropped_qos0: f64,
    /// QoS 1 and 2 messages dropped because the client's queue was full.
    #[specta(type = u32)] // a plain number in TypeScript (f64 would export as number | null)
    pub dropped_qos12: f64,
    /// Messages waiting for the client now.
    pub queued: u32,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    pub filter: String,
    pub qos: u8,
}

/// The broker's status as the UI shows it (user names, never passwords).
pub fn view(status: ServiceStatus) -> BrokerStatus {
    let mut usernames: Vec<String> = status.settings.users.keys().cloned().collect();
    usernames.sort();
    BrokerStatus {
        running: status.running,
        address: status.address.map(|a| a.to_string()),
        listeners: status
            .listeners
            .iter()
            .map(|l| format!("{}://{}", l.scheme, l.address))
            .collect(),
        exposed: !status.settings.bind.is_loopback(),
        settings: BrokerSettingsView {
            bind: status.settings.bind.to_string(),
            port: status.settings.port,
            websocket_port: status.settings.websocket_port,
            tls: status.settings.tls.as_ref().map(|t| TlsView {
                port: t.port,
                wss_port: t.wss_port,
                cert_path: t.cert_path.display().to_string(),
                key_path: t.key_path.display().to_string(),
            }),
            max_packet_size: status.settings.limits.max_packet_size as u32,
            usernames,
            limits: LimitsView::from(&status.settings.limits),
        },
        clients_connected: status.clients_connected as u32,
        retained_messages: status.retained as u32,
        note: status.note,
        last_error: status.last_error,
    }
}

/// A connected client as the dashboard lists it.
pub fn client_view(client: ClientInfo) -> ClientView {
    ClientView {
        client_id: client.client_id,
        remote: client.remote.to_string(),
        protocol: client.version.label().to_string(),
        keep_alive: client.keep_alive,
        clean_session: client.clean_session,
        connected_at_ms: client
            .connected_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as f64)
            .unwrap_or(0.0),
        subscriptions: client
            .subscriptions
            .into_iter()
            .map(|(filter, qos)| SubscriptionView { filter, qos })
            .collect(),
        publish_received: client.publish_received as f64,
        publish_sent: client.publish_sent as f64,
        bytes_received: client.bytes_received as f64,
        bytes_sent: client.bytes_sent as f64,
        dropped_qos0: client.dropped_qos0 as f64,
        dropped_qos12: client.dropped_qos12 as f64,
        queued: u32::try_from(client.queued).unwrap_or(u32::MAX),
    }
}

/// Validates settings from the UI into broker settings.
pub fn settings_from_input(input: BrokerSettingsInput) -> Result<BrokerSettings, IpcError> {
    let bind = input.bind.trim().parse().map_err(|_| {
        IpcError::new(
            ErrorCode::InvalidInput,
            format!(
                "'{}' is not an IP address (use 127.0.0.1 for this computer only, 0.0.0.0 for all networks)",
                input.bind
            ),
        )
    })?;
    let max = input.max_packet_size as usize;
    if !(64..=MAX_PACKET_SIZE_CEILING).contains(&max) {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            format!(
                "the maximum packet size must be between 64 bytes and {} MB",
                MAX_PACKET_SIZE_CEILING / (1024 * 1024)
            ),
        ));
    }
    let mut users = HashMap::new();
    for user in input.users {
        if user.username.is_empty() {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                "a username cannot be empty",
            ));
        }
        users.insert(user.username, user.password);
    }
    Ok(BrokerSettings {
        bind,
        port: input.port,
        // A port the user typed is used as given, or refused with a clear error.
        port_fallback: false,
        users,
        websocket_port: input.websocket_port,
        limits: match &input.limits {
            Some(view) => view
                .to_limits(max)
                .map_err(|e| IpcError::new(ErrorCode::InvalidInput, e))?,
            None => workbench_broker::Limits {
                max_packet_size: max,
                ..workbench_broker::Limits::default()
            },
        },
        tls: input.tls.map(|t| TlsSettings {
            port: t.port,
            wss_port: t.wss_port,
            cert_path: t.cert_path.into(),
            key_path: t.key_path.into(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(bind: &str, max: u32) -> BrokerSettingsInput {
        BrokerSettingsInput {
            bind: bind.to_string(),
            port: 1883,
            websocket_port: Some(8083),
            tls: None,
            max_packet_size: max,
            users: vec![BrokerUser {
                username: "alice".into(),
                password: "secret".into(),
            }],
            limits: None,
        }
    }

    #[test]
    fn settings_from_the_ui_are_validated() {
        let settings = settings_from_input(input("0.0.0.0", 1 << 20)).unwrap();
        assert!(!settings.bind.is_loopback());
        assert!(!settings.port_fallback);
        assert_eq!(
            settings.users.get("alice").map(String::as_str),
            Some("secret")
        );

        let error = settings_from_input(input("localhost:1883", 1 << 20)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput);
        assert!(
            error.message.contains("localhost:1883"),
            "{}",
            error.message
        );

        let error = settings_from_input(input("127.0.0.1", 10)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput);
    }

    #[test]
    fn status_hides_passwords_and_flags_exposure() {
        let status = view(ServiceStatus {
            running: true,
            address: Some("0.0.0.0:1883".parse().unwrap()),
            listeners: vec![],
            settings: settings_from_input(input("0.0.0.0", 1 << 20)).unwrap(),
            clients_connected: 2,
            retained: 3,
            last_error: None,
            note: None,
        });
        assert!(status.exposed);
        assert_eq!(status.settings.usernames, vec!["alice".to_string()]);
        let json = serde_json::to_string(&status).unwrap();
        assert!(!json.contains("secret"), "{json}");
    }
}
