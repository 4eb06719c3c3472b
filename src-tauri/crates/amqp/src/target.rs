//! Where an AMQP session connects: `amqp://user:pass@host:5672/vhost` or `amqps://...`, parsed
//! and checked before anything is dialed, with the password kept apart so a front end can take it
//! from the keychain instead of the URL. Never prints a password.

use crate::AmqpError;

/// The plain AMQP port, and the TLS one.
pub const AMQP_PORT: u16 = 5672;
pub const AMQPS_PORT: u16 = 5671;

/// A parsed AMQP 0-9-1 URL.
#[derive(Clone, PartialEq, Eq)]
pub struct AmqpTarget {
    /// `amqps://`: TLS (rustls, the system's CA roots).
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The virtual host: `/` when the URL has no path (as RabbitMQ's URI spec says; `%2f` is `/`).
    pub vhost: String,
    /// RabbitMQ's default `guest` when the URL names no user.
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for AmqpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AmqpTarget({})", self.display())
    }
}

impl AmqpTarget {
    /// Parses `amqp[s]://[user[:password]@]host[:port][/vhost]`. User, password and vhost are
    /// percent-decoded (`%2f` is `/`, so the default vhost is `/` or `/%2f`).
    pub fn parse(text: &str) -> Result<AmqpTarget, AmqpError> {
        let bad = |why: String| AmqpError::BadUrl(why);
        let url = url::Url::parse(text.trim()).map_err(|e| bad(format!("{e}")))?;
        let tls = match url.scheme() {
            "amqp" => false,
            "amqps" => true,
            other => {
                return Err(bad(format!(
                    "the scheme is \"{other}\": an AMQP URL starts with amqp:// or amqps://"
                )))
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err(bad("it names no host".into())),
        };
        if host.is_empty() {
            return Err(bad("it names no host".into()));
        }
        let port = url
            .port()
            .unwrap_or(if tls { AMQPS_PORT } else { AMQP_PORT });
        if port == 0 {
            return Err(bad("port 0 is not a port to connect to".into()));
        }
        let decode = |s: &str, what: &str| -> Result<String, AmqpError> {
            percent_decode(s)
                .ok_or_else(|| bad(format!("the {what} is not valid percent-encoded UTF-8")))
        };
        let path = url.path();
        let vhost = match path.strip_prefix('/').unwrap_or(path) {
            "" => "/".to_string(),
            rest if rest.contains('/') => {
                return Err(bad(format!(
                    "the vhost \"{rest}\" has a '/': write it as %2F (the default vhost is /%2f)"
                )))
            }
            rest => decode(rest, "vhost")?,
        };
        let user = match url.username() {
            "" => "guest".to_string(),
            u => decode(u, "user name")?,
        };
        let password = match url.password() {
            Some(p) => decode(p, "password")?,
            None if url.username().is_empty() => "guest".to_string(),
            None => String::new(),
        };
        Ok(AmqpTarget {
            tls,
            host,
            port,
            vhost,
            user,
            password,
        })
    }

    /// The same target with another password (one from the keychain).
    pub fn with_password(mut self, password: impl Into<String>) -> AmqpTarget {
        self.password = password.into();
        self
    }

    /// The URL without its password, for titles, logs and errors.
    pub fn display(&self) -> String {
        let scheme = if self.tls { "amqps" } else { "amqp" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{scheme}://{}@{host}:{}/{}",
            self.user,
            self.port,
            percent_encode(&self.vhost)
        )
    }

    /// lapin's form of the target (its own URL parser is never given the password as text).
    pub(crate) fn to_uri(&self, heartbeat_s: u16) -> lapin::uri::AMQPUri {
        use lapin::uri::*;
        AMQPUri {
            scheme: if self.tls {
                AMQPScheme::AMQPS
            } else {
                AMQPScheme::AMQP
            },
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: self.user.clone(),
                    password: self.password.clone(),
                },
                host: self.host.clone(),
                port: self.port,
            },
            vhost: self.vhost.clone(),
            query: AMQPQueryString {
                heartbeat: Some(heartbeat_s),
                // Bounded: a session opens one channel per consumer plus two of its own.
                channel_max: Some(crate::MAX_CHANNELS),
                ..AMQPQueryString::default()
            },
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_rabbitmq_defaults() {
        let t = AmqpTarget::parse("amqp://localhost").unwrap();
        assert_eq!(
            (
                t.tls,
                t.port,
                t.vhost.as_str(),
                t.user.as_str(),
                t.password.as_str()
            ),
            (false, 5672, "/", "guest", "guest")
        );
        let t = AmqpTarget::parse("amqps://al%40ce:p%3Ass@rabbit.example:5999/%2f").unwrap();
        assert_eq!((t.tls, t.port, t.vhost.as_str()), (true, 5999, "/"));
        assert_eq!((t.user.as_str(), t.password.as_str()), ("al@ce", "p:ss"));
        let t = AmqpTarget::parse("amqps://u@h/dev").unwrap();
        assert_eq!(
            (t.port, t.vhost.as_str(), t.password.as_str()),
            (5671, "dev", "")
        );
        assert_eq!(t.display(), "amqps://u@h:5671/dev");
        assert!(!format!("{:?}", t.with_password("secret")).contains("secret"));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (url, words) in [
            ("mqtt://h", "amqp:// or amqps://"),
            ("amqp://h/a/b", "%2F"),
            ("amqp://h:0", "port 0"),
            ("amqp:///x", "host"),
            ("amqp://h/%ff", "vhost"),
        ] {
            let e = AmqpTarget::parse(url).unwrap_err().to_string();
            assert!(e.contains(words), "{url}: {e}");
        }
    }
}
