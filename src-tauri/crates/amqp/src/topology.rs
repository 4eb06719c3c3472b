//! What a session declares on the broker: queues, exchanges and the bindings between them, as
//! plain specs a form or a command line fills in. The session runs them (see `session.rs`).

use crate::properties::HeaderValue;
use crate::AmqpError;
use serde::{Deserialize, Serialize};

/// A queue to declare, or (passive) to check that it exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueSpec {
    /// Empty: the broker names it (`amq.gen-...`), returned in [`QueueInfo`].
    pub name: String,
    /// Only check that it exists (NOT_FOUND if not); the other settings are ignored.
    pub passive: bool,
    /// Survives a broker restart.
    pub durable: bool,
    /// Only this connection may use it; deleted when the connection closes.
    pub exclusive: bool,
    /// Deleted when its last consumer leaves.
    pub auto_delete: bool,
    /// Optional arguments: `x-message-ttl`, `x-max-length`, `x-queue-type`, `x-dead-letter-exchange`...
    pub arguments: Vec<(String, HeaderValue)>,
}

impl QueueSpec {
    /// A queue declared as RabbitMQ's tutorials do: not durable, not exclusive, kept.
    pub fn named(name: impl Into<String>) -> QueueSpec {
        QueueSpec {
            name: name.into(),
            ..QueueSpec::default()
        }
    }
}

/// What the broker said about a declared queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct QueueInfo {
    pub name: String,
    /// Messages ready for delivery (not counting those delivered and not yet acknowledged).
    pub messages: u32,
    pub consumers: u32,
}

/// AMQP 0-9-1's exchange types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ExchangeType {
    /// Routes to the queues bound with exactly the message's routing key.
    #[default]
    Direct,
    /// Routes to every bound queue, ignoring the routing key.
    Fanout,
    /// Routes by pattern: `*` one dot-separated word, `#` zero or more.
    Topic,
    /// Routes by the message's headers (`x-match` all or any).
    Headers,
}

impl ExchangeType {
    pub fn name(self) -> &'static str {
        match self {
            ExchangeType::Direct => "direct",
            ExchangeType::Fanout => "fanout",
            ExchangeType::Topic => "topic",
            ExchangeType::Headers => "headers",
        }
    }

    pub(crate) fn lapin(self) -> lapin::ExchangeKind {
        match self {
            ExchangeType::Direct => lapin::ExchangeKind::Direct,
            ExchangeType::Fanout => lapin::ExchangeKind::Fanout,
            ExchangeType::Topic => lapin::ExchangeKind::Topic,
            ExchangeType::Headers => lapin::ExchangeKind::Headers,
        }
    }
}

impl std::str::FromStr for ExchangeType {
    type Err = AmqpError;

    fn from_str(s: &str) -> Result<ExchangeType, AmqpError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "direct" => ExchangeType::Direct,
            "fanout" => ExchangeType::Fanout,
            "topic" => ExchangeType::Topic,
            "headers" => ExchangeType::Headers,
            _ => {
                return Err(AmqpError::BadInput(format!(
                    "exchange type \"{s}\": it is direct, fanout, topic or headers"
                )))
            }
        })
    }
}

/// An exchange to declare, or (passive) to check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct ExchangeSpec {
    pub name: String,
    pub kind: ExchangeType,
    pub passive: bool,
    pub durable: bool,
    /// Deleted when its last binding goes.
    pub auto_delete: bool,
    /// Only other exchanges may publish to it.
    pub internal: bool,
    pub arguments: Vec<(String, HeaderValue)>,
}

/// A binding: messages from `exchange` that match `routing_key` (or `arguments`, for a headers
/// exchange) go to `queue`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct BindingSpec {
    pub queue: String,
    pub exchange: String,
    pub routing_key: String,
    pub arguments: Vec<(String, HeaderValue)>,
}

/// Checks a queue, exchange or routing key name before it is sent.
pub(crate) fn check_name(what: &str, name: &str, may_be_empty: bool) -> Result<(), AmqpError> {
    if name.is_empty() && !may_be_empty {
        return Err(AmqpError::BadInput(format!("the {what} needs a name")));
    }
    if name.len() > crate::properties::SHORT_STRING_MAX {
        return Err(AmqpError::BadInput(format!(
            "the {what} name is {} bytes long; AMQP allows at most {}",
            name.len(),
            crate::properties::SHORT_STRING_MAX
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AmqpError::BadInput(format!(
            "the {what} name has a control character"
        )));
    }
    Ok(())
}
