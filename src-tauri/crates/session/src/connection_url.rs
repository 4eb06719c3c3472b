//! Connection URLs as users write them (`mqtt://user@host:1883`, `wss://host/mqtt`...): what
//! they fill in of a profile.

use crate::profile::{default_ws_path, TransportKind};
use crate::SessionError;
use serde::Serialize;

/// What a connection URL says: the parts of a profile it fills in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ParsedUrl {
    pub transport: TransportKind,
    pub host: String,
    pub port: u16,
    pub ws_path: String,
    pub username: Option<String>,
    /// A password written in the URL (kept only to move it to the keychain).
    pub password: Option<String>,
}

/// Reads a connection URL as users write them: `mqtt://user@host:1883`, `mqtts://host`,
/// `ws://host:8083/mqtt`, `wss://host/mqtt`; also `tcp://`, `ssl://`, `tls://`, and a bare
/// `host:port` or `host` (plain TCP).
pub fn parse_url(input: &str) -> Result<ParsedUrl, SessionError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(SessionError::InvalidInput("the URL is empty".into()));
    }
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("mqtt://{text}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| SessionError::InvalidInput(format!("'{text}' is not a valid URL: {e}")))?;
    let transport = match url.scheme() {
        "mqtt" | "tcp" => TransportKind::Tcp,
        "mqtts" | "ssl" | "tls" | "mqtt+ssl" => TransportKind::Tls,
        "ws" => TransportKind::Ws,
        "wss" => TransportKind::Wss,
        other => {
            return Err(SessionError::InvalidInput(format!(
                "unknown scheme '{other}://': use mqtt://, mqtts://, ws:// or wss://"
            )))
        }
    };
    let host = match url.host() {
        Some(url::Host::Ipv6(addr)) => addr.to_string(),
        Some(host) => host.to_string(),
        None => {
            return Err(SessionError::InvalidInput(format!(
                "'{text}' names no host"
            )))
        }
    };
    // The url crate knows ws/wss default ports; for mqtt schemes it reports none.
    let port = url.port().unwrap_or_else(|| transport.default_port());
    let path = url.path();
    let ws_path = if path.is_empty() || path == "/" {
        // What EMQX, HiveMQ and MQTTX use; mosquitto accepts any path.
        default_ws_path()
    } else {
        path.to_string()
    };
    if !(transport.is_websocket() || path.is_empty() || path == "/") {
        return Err(SessionError::InvalidInput(format!(
            "a {}:// URL has no path; '{path}' only makes sense for ws:// or wss://",
            url.scheme()
        )));
    }
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let username = (!url.username().is_empty()).then(|| decode(url.username()));
    let password = url.password().map(decode);
    Ok(ParsedUrl {
        transport,
        host,
        port,
        ws_path,
        username,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{MqttVersion, Profile};

    #[test]
    fn urls_as_users_write_them() {
        let u = parse_url("mqtt://alice@broker.local:1884").unwrap();
        assert_eq!(
            (u.transport, u.host.as_str(), u.port, u.username.as_deref()),
            (TransportKind::Tcp, "broker.local", 1884, Some("alice"))
        );
        let u = parse_url("mqtts://test.mosquitto.org").unwrap();
        assert_eq!((u.transport, u.port), (TransportKind::Tls, 8883));
        let u = parse_url("ws://host:8083/mqtt").unwrap();
        assert_eq!(
            (u.transport, u.port, u.ws_path.as_str()),
            (TransportKind::Ws, 8083, "/mqtt")
        );
        let u = parse_url("wss://host").unwrap();
        assert_eq!(
            (u.transport, u.port, u.ws_path.as_str()),
            (TransportKind::Wss, 443, "/mqtt")
        );
        let u = parse_url("localhost:1883").unwrap();
        assert_eq!(
            (u.transport, u.host.as_str()),
            (TransportKind::Tcp, "localhost")
        );
        let u = parse_url("mqtt://bob:s%40cret@[::1]:1883").unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        let u = parse_url("ssl://h").unwrap();
        assert_eq!(u.transport, TransportKind::Tls);
    }

    #[test]
    fn bad_urls_say_why() {
        let e = parse_url("http://host").unwrap_err().to_string();
        assert!(e.contains("unknown scheme 'http://'"), "{e}");
        let e = parse_url("mqtt://host:99999").unwrap_err().to_string();
        assert!(e.contains("not a valid URL"), "{e}");
        let e = parse_url("mqtt://host/path").unwrap_err().to_string();
        assert!(e.contains("has no path"), "{e}");
        assert!(parse_url("  ").is_err());
    }

    #[test]
    fn a_profile_reads_back_from_its_url() {
        let mut p = Profile::new("p", "::1", 8083, MqttVersion::V5);
        p.transport = TransportKind::Ws;
        p.username = Some("u".into());
        assert_eq!(p.url(), "ws://u@[::1]:8083/mqtt");
        let back = parse_url(&p.url()).unwrap();
        assert_eq!((back.host.as_str(), back.port), ("::1", 8083));
    }
}
