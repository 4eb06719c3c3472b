//! The management plugin's HTTP API (`rabbitmq_management`, port 15672 by default): the queues of
//! a vhost with their depth, consumers and rates, for the queue view. AMQP itself cannot list
//! queues; this is how RabbitMQ's own management UI does it.
//!
//! Plain HTTP only for now (ureq, already in the build, without a TLS stack). Bounded: at most
//! [`MAX_QUEUES`] queues per call (one page of the API) and [`MAX_RESPONSE`] bytes read.

use crate::{AmqpError, AmqpTarget};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::time::Duration;

/// The management plugin's default port.
pub const MANAGEMENT_PORT: u16 = 15672;
/// Queues listed per call (the API's page).
pub const MAX_QUEUES: usize = 500;
/// Largest answer read.
pub const MAX_RESPONSE: u64 = 16 * 1024 * 1024;

/// Where the management API is and who asks.
#[derive(Clone)]
pub struct ManagementApi {
    /// `http://host:15672`, no trailing slash.
    pub base: String,
    pub user: String,
    password: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for ManagementApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManagementApi({} as {})", self.base, self.user)
    }
}

/// One queue as the management API reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    pub name: String,
    pub vhost: String,
    /// Ready plus unacknowledged: what `rabbitmqctl list_queues` calls `messages`.
    #[specta(type = f64)]
    pub messages: u64,
    #[specta(type = f64)]
    pub messages_ready: u64,
    #[specta(type = f64)]
    pub messages_unacknowledged: u64,
    #[specta(type = f64)]
    pub consumers: u64,
    /// Messages per second published into the queue, and delivered from it (a few seconds'
    /// average by the broker; 0 when idle or not yet measured).
    pub publish_rate: f64,
    pub deliver_rate: f64,
    pub durable: bool,
    pub auto_delete: bool,
    pub exclusive: bool,
    /// `running`, `idle`, ... (absent for some queue types).
    pub state: Option<String>,
    /// classic, quorum or stream.
    pub kind: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    items: Vec<RawQueue>,
}

#[derive(Deserialize)]
struct RawQueue {
    name: String,
    vhost: String,
    #[serde(default)]
    messages: u64,
    #[serde(default)]
    messages_ready: u64,
    #[serde(default)]
    messages_unacknowledged: u64,
    #[serde(default)]
    consumers: u64,
    #[serde(default)]
    durable: bool,
    #[serde(default)]
    auto_delete: bool,
    #[serde(default)]
    exclusive: bool,
    state: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    message_stats: Option<Stats>,
}

#[derive(Deserialize, Default)]
struct Stats {
    publish_details: Option<Rate>,
    deliver_get_details: Option<Rate>,
}

#[derive(Deserialize)]
struct Rate {
    rate: f64,
}

impl ManagementApi {
    /// The API on the AMQP target's host at `port`, with the target's user and password.
    pub fn for_target(target: &AmqpTarget, port: u16) -> ManagementApi {
        let host = if target.host.contains(':') {
            format!("[{}]", target.host)
        } else {
            target.host.clone()
        };
        ManagementApi {
            base: format!("http://{host}:{port}"),
            user: target.user.clone(),
            password: target.password.clone(),
            timeout: Duration::from_secs(15),
        }
    }

    /// The queues of `vhost`, by name (at most [`MAX_QUEUES`]).
    pub async fn queues(&self, vhost: &str) -> Result<Vec<QueueStats>, AmqpError> {
        let api = self.clone();
        let vhost = vhost.to_string();
        tokio::task::spawn_blocking(move || api.queues_blocking(&vhost))
            .await
            .map_err(|e| AmqpError::Io(format!("the management request stopped: {e}")))?
    }

    fn queues_blocking(&self, vhost: &str) -> Result<Vec<QueueStats>, AmqpError> {
        let url = format!(
            "{}/api/queues/{}?page=1&page_size={MAX_QUEUES}&sort=name",
            self.base,
            encode_segment(vhost)
        );
        let auth = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", self.user, self.password),
        );
        let agent = ureq::AgentBuilder::new().timeout(self.timeout).build();
        let response = match agent
            .get(&url)
            .set("Authorization", &format!("Basic {auth}"))
            .call()
        {
            Ok(r) => r,
            Err(ureq::Error::Status(401, _)) => {
                return Err(AmqpError::AccessRefused {
                    user: self.user.clone(),
                    said: "the management API answered 401 Unauthorized (the user also needs the management tag)".into(),
                })
            }
            Err(ureq::Error::Status(404, _)) => {
                return Err(AmqpError::VhostNotFound {
                    vhost: vhost.to_string(),
                    user: self.user.clone(),
                })
            }
            Err(ureq::Error::Status(code, r)) => {
                return Err(AmqpError::Protocol {
                    code,
                    said: format!("the management API answered {code} {}", r.status_text()),
                })
            }
            Err(ureq::Error::Transport(t)) => {
                let why = t.to_string();
                return Err(if why.to_ascii_lowercase().contains("refused") {
                    AmqpError::Unreachable {
                        target: self.base.clone(),
                        why: "connection refused: is the management plugin enabled (rabbitmq-plugins enable rabbitmq_management), and is that its port?".into(),
                    }
                } else {
                    AmqpError::Unreachable {
                        target: self.base.clone(),
                        why,
                    }
                });
            }
        };
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_RESPONSE)
            .read_to_end(&mut body)
            .map_err(|e| AmqpError::Io(e.to_string()))?;
        let page: Page = serde_json::from_slice(&body).map_err(|e| {
            AmqpError::Io(format!(
                "the management API's answer is not what RabbitMQ sends: {e}"
            ))
        })?;
        Ok(page.items.into_iter().map(QueueStats::from).collect())
    }
}

impl From<RawQueue> for QueueStats {
    fn from(q: RawQueue) -> QueueStats {
        let stats = q.message_stats.unwrap_or_default();
        QueueStats {
            name: q.name,
            vhost: q.vhost,
            messages: q.messages,
            messages_ready: q.messages_ready,
            messages_unacknowledged: q.messages_unacknowledged,
            consumers: q.consumers,
            publish_rate: stats.publish_details.map_or(0.0, |r| r.rate),
            deliver_rate: stats.deliver_get_details.map_or(0.0, |r| r.rate),
            durable: q.durable,
            auto_delete: q.auto_delete,
            exclusive: q.exclusive,
            state: q.state,
            kind: q.kind,
        }
    }
}

/// Percent-encodes one path segment (the default vhost `/` is `%2F`).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_queues_reads_as_rabbitmq_sends_it() {
        let json = r#"{"items":[{"name":"hello","vhost":"/","messages":3,"messages_ready":2,
            "messages_unacknowledged":1,"consumers":1,"durable":false,"auto_delete":false,
            "exclusive":false,"state":"running","type":"classic",
            "message_stats":{"publish_details":{"rate":2.5},"deliver_get_details":{"rate":1.0}}},
            {"name":"idle","vhost":"/"}],"page":1,"page_count":1}"#;
        let page: Page = serde_json::from_str(json).unwrap();
        let q: Vec<QueueStats> = page.items.into_iter().map(QueueStats::from).collect();
        assert_eq!(
            (q[0].messages, q[0].consumers, q[0].publish_rate),
            (3, 1, 2.5)
        );
        assert_eq!((q[1].messages, q[1].deliver_rate), (0, 0.0));
        assert_eq!(encode_segment("/"), "%2F");
    }
}
