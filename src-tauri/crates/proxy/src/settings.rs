//! Where the proxy listens and which upstream broker it forwards to. Everything that can be
//! wrong (an unknown URL scheme, a certificate file that does not read, a TLS listener without
//! its key) is found by [`ProxySettings::check`] before anything listens.

use crate::ProxyError;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use workbench_broker::listeners::{self, Transport};
use workbench_broker::Limits;
use workbench_session::profile::parse_url;
use workbench_session::{MqttVersion, Profile, TransportKind};

/// How devices reach the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ListenKind {
    /// Plain TCP (`mqtt://`).
    Tcp,
    /// WebSocket (`ws://`), subprotocol "mqtt", any path.
    Ws,
    /// TLS with the user's certificate (`mqtts://`).
    Tls,
    /// WebSocket inside TLS (`wss://`).
    Wss,
}

impl ListenKind {
    pub fn scheme(self) -> &'static str {
        match self {
            ListenKind::Tcp => "mqtt",
            ListenKind::Ws => "ws",
            ListenKind::Tls => "mqtts",
            ListenKind::Wss => "wss",
        }
    }

    pub fn is_tls(self) -> bool {
        matches!(self, ListenKind::Tls | ListenKind::Wss)
    }

    pub fn is_websocket(self) -> bool {
        matches!(self, ListenKind::Ws | ListenKind::Wss)
    }

    /// Reads `mqtt`, `tcp`, `ws`, `mqtts`, `tls`, `wss`.
    pub fn parse(text: &str) -> Option<ListenKind> {
        Some(match text.to_ascii_lowercase().as_str() {
            "mqtt" | "tcp" => ListenKind::Tcp,
            "ws" => ListenKind::Ws,
            "mqtts" | "tls" | "ssl" => ListenKind::Tls,
            "wss" => ListenKind::Wss,
            _ => return None,
        })
    }
}

/// The broker the proxy forwards to.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct UpstreamSettings {
    /// `mqtt://host:1883`, `mqtts://host`, `ws://host:8080/mqtt`, `wss://host/mqtt`.
    pub url: String,
    /// PEM file of the CA that signed the upstream's certificate (else the system's roots).
    pub ca_file: Option<String>,
    /// PEM client certificate and key, for upstreams that ask for one.
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
    /// Trust any upstream certificate (test brokers with self-signed certificates).
    pub accept_invalid_certs: bool,
}

/// How the proxy runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProxySettings {
    /// Loopback by default; `0.0.0.0` lets devices on the network reach the proxy.
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub listen: ListenKind,
    /// PEM certificate chain and private key, for a TLS or secure WebSocket listener.
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
    pub upstream: UpstreamSettings,
    /// The broker's limits; the proxy applies those on what a device or the upstream controls:
    /// maximum packet size, connections in all and per address, the CONNECT and write timeouts.
    pub limits: Limits,
}

impl ProxySettings {
    /// A plain TCP proxy on loopback `port` to `url`, with the default limits.
    pub fn new(port: u16, url: &str) -> ProxySettings {
        ProxySettings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            listen: ListenKind::Tcp,
            cert_path: None,
            key_path: None,
            upstream: UpstreamSettings {
                url: url.to_string(),
                ..UpstreamSettings::default()
            },
            limits: Limits::default(),
        }
    }
}

/// Settings made ready to run.
pub(crate) struct Checked {
    pub transport: Transport,
    pub upstream: Profile,
}

impl ProxySettings {
    pub(crate) fn check(&self) -> Result<Checked, ProxyError> {
        self.limits
            .validate()
            .map_err(ProxyError::InvalidSettings)?;
        let transport = match self.listen {
            ListenKind::Tcp => Transport::Tcp,
            ListenKind::Ws => Transport::WebSocket,
            ListenKind::Tls | ListenKind::Wss => {
                let (Some(cert), Some(key)) = (&self.cert_path, &self.key_path) else {
                    return Err(ProxyError::InvalidSettings(format!(
                        "a {}:// listener needs a PEM certificate and its private key",
                        self.listen.scheme()
                    )));
                };
                let acceptor = listeners::tls_acceptor(cert, key)
                    .map_err(|e| ProxyError::InvalidSettings(e.to_string()))?;
                if self.listen == ListenKind::Tls {
                    Transport::Tls(acceptor)
                } else {
                    Transport::SecureWebSocket(acceptor)
                }
            }
        };
        Ok(Checked {
            transport,
            upstream: self.upstream.profile(self.limits.max_packet_size)?,
        })
    }
}

impl UpstreamSettings {
    /// The upstream as the session crate dials it, its TLS files read once to check them.
    pub fn profile(&self, max_packet_size: usize) -> Result<Profile, ProxyError> {
        let invalid = |e: workbench_session::SessionError| {
            ProxyError::InvalidSettings(format!("upstream: {e}"))
        };
        let url = parse_url(&self.url).map_err(invalid)?;
        if url.username.is_some() || url.password.is_some() {
            return Err(ProxyError::InvalidSettings(
                "upstream: leave credentials out of the URL; each device's CONNECT carries its own and is forwarded unchanged".into(),
            ));
        }
        let mut profile = Profile::new("upstream", &url.host, url.port, MqttVersion::V5);
        profile.transport = url.transport;
        profile.ws_path = url.ws_path;
        profile.max_packet_size = u32::try_from(max_packet_size).unwrap_or(u32::MAX);
        profile.tls.ca_file = self.ca_file.clone().filter(|f| !f.is_empty());
        profile.tls.client_cert_file = self.client_cert_file.clone().filter(|f| !f.is_empty());
        profile.tls.client_key_file = self.client_key_file.clone().filter(|f| !f.is_empty());
        profile.tls.accept_invalid_certs = self.accept_invalid_certs;
        if profile.tls.client_cert_file.is_some() != profile.tls.client_key_file.is_some() {
            return Err(ProxyError::InvalidSettings(
                "upstream: a client certificate needs its key, and a key its certificate".into(),
            ));
        }
        if matches!(profile.transport, TransportKind::Tls | TransportKind::Wss) {
            workbench_session::dial::client_config(&profile.tls).map_err(invalid)?;
        }
        Ok(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_are_checked_before_anything_listens() {
        let ok = UpstreamSettings {
            url: "ws://broker.example:8080/mqtt".into(),
            ..Default::default()
        };
        let profile = ok.profile(1 << 20).expect("valid");
        assert_eq!(profile.transport, TransportKind::Ws);
        assert_eq!(profile.ws_path, "/mqtt");
        assert_eq!(profile.port, 8080);
        for bad in ["gopher://x", "", "mqtt://user:secret@host"] {
            let settings = UpstreamSettings {
                url: bad.into(),
                ..Default::default()
            };
            assert!(settings.profile(1 << 20).is_err(), "{bad}");
        }
        let half = UpstreamSettings {
            url: "mqtts://host".into(),
            client_cert_file: Some("/tmp/cert.pem".into()),
            ..Default::default()
        };
        assert!(half.profile(1 << 20).is_err());
    }

    #[test]
    fn a_tls_listener_needs_its_certificate() {
        let mut settings = ProxySettings::new(0, "mqtt://127.0.0.1:1883");
        settings.listen = ListenKind::Tls;
        let error = settings.check().err().expect("refused");
        assert!(error.to_string().contains("certificate"), "{error}");
    }
}
