//! Which broker the tools talk to, and how: a session [`Profile`] (host, port, TCP, TLS or
//! WebSocket, TLS options) and a password. From the command line it comes from a URL
//! (`mqtt://host:1883`, `mqtts://`, `ws://`, `wss://`); in the app, from the embedded broker's
//! address or a saved session's settings. Dialing is the sessions' own
//! ([`workbench_session::dial`]), so every transport and every error in words is the same.

use crate::client::ClientError;
use workbench_session::dial::{self, Upstream};
use workbench_session::profile::parse_url;
use workbench_session::{MqttVersion, Profile};

/// A broker to reach.
#[derive(Debug, Clone)]
pub struct Target {
    pub profile: Profile,
    pub password: Option<String>,
}

impl Target {
    /// The broker a URL names (`mqtt://user:secret@host:1883`); a password in the URL is used.
    pub fn from_url(url: &str) -> Result<Target, crate::ToolsError> {
        let parsed = parse_url(url).map_err(|e| crate::ToolsError::InvalidInput(e.to_string()))?;
        let mut profile = Profile::new("tools", &parsed.host, parsed.port, MqttVersion::V311);
        profile.transport = parsed.transport;
        profile.ws_path = parsed.ws_path;
        profile.username = parsed.username;
        Ok(Target {
            profile,
            password: parsed.password,
        })
    }

    /// A plain TCP broker at `address`.
    pub fn tcp(address: std::net::SocketAddr) -> Target {
        let profile = Profile::new(
            "tools",
            &address.ip().to_string(),
            address.port(),
            MqttVersion::V311,
        );
        Target {
            profile,
            password: None,
        }
    }

    /// Where it is, as users write it (no password).
    pub fn url(&self) -> String {
        self.profile.url()
    }

    /// A connected byte stream to it (TCP, TLS or WebSocket, as the profile says).
    pub async fn dial(&self) -> Result<Box<dyn Upstream>, ClientError> {
        dial::dial(&self.profile)
            .await
            .map(|d| d.stream)
            .map_err(|e| ClientError::Dial(e.to_string()))
    }
}
