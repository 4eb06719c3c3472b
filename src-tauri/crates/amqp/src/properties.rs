//! A message's AMQP properties (content type, delivery mode, correlation id, headers...) in plain
//! types a front end can fill in and show, converted to and from lapin's `BasicProperties`, and
//! rendered as the named fields the traffic views show beside the payload.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::BasicProperties;
use serde::{Deserialize, Serialize};

/// One header value. Tables and arrays a broker sends are shown as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(untagged)]
pub enum HeaderValue {
    Bool(bool),
    Int(#[specta(type = f64)] i64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for HeaderValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderValue::Bool(v) => write!(f, "{v}"),
            HeaderValue::Int(v) => write!(f, "{v}"),
            HeaderValue::Float(v) => write!(f, "{v}"),
            HeaderValue::Text(v) => write!(f, "{v}"),
        }
    }
}

/// The properties of one message (all optional, as in AMQP's content header).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct AmqpProperties {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// Application headers, in order.
    pub headers: Vec<(String, HeaderValue)>,
    /// 1 transient, 2 persistent (kept on disk by a durable queue).
    pub delivery_mode: Option<u8>,
    pub priority: Option<u8>,
    pub correlation_id: Option<String>,
    pub reply_to: Option<String>,
    /// Per-message TTL in milliseconds, as text (AMQP's own form).
    pub expiration: Option<String>,
    pub message_id: Option<String>,
    /// Seconds since the Unix epoch.
    #[specta(type = Option<f64>)]
    pub timestamp: Option<u64>,
    /// AMQP's `type` property.
    pub kind: Option<String>,
    /// Checked by RabbitMQ: must be the connection's user when set.
    pub user_id: Option<String>,
    pub app_id: Option<String>,
}

/// Longest short string AMQP carries (property values, names, routing keys).
pub const SHORT_STRING_MAX: usize = 255;

fn short(what: &str, value: &str) -> Result<ShortString, crate::AmqpError> {
    if value.len() > SHORT_STRING_MAX {
        return Err(crate::AmqpError::BadInput(format!(
            "the {what} is {} bytes long; AMQP allows at most {SHORT_STRING_MAX}",
            value.len()
        )));
    }
    Ok(ShortString::from(value))
}

impl AmqpProperties {
    /// Checks the values and converts them for lapin.
    pub(crate) fn to_basic(&self) -> Result<BasicProperties, crate::AmqpError> {
        let mut p = BasicProperties::default();
        if let Some(v) = &self.content_type {
            p = p.with_content_type(short("content type", v)?);
        }
        if let Some(v) = &self.content_encoding {
            p = p.with_content_encoding(short("content encoding", v)?);
        }
        if !self.headers.is_empty() {
            p = p.with_headers(headers_table(&self.headers)?);
        }
        if let Some(v) = self.delivery_mode {
            if !(1..=2).contains(&v) {
                return Err(crate::AmqpError::BadInput(format!(
                    "delivery mode {v}: it is 1 (transient) or 2 (persistent)"
                )));
            }
            p = p.with_delivery_mode(v);
        }
        if let Some(v) = self.priority {
            p = p.with_priority(v);
        }
        if let Some(v) = &self.correlation_id {
            p = p.with_correlation_id(short("correlation id", v)?);
        }
        if let Some(v) = &self.reply_to {
            p = p.with_reply_to(short("reply-to", v)?);
        }
        if let Some(v) = &self.expiration {
            if v.parse::<u32>().is_err() {
                return Err(crate::AmqpError::BadInput(format!(
                    "expiration \"{v}\": RabbitMQ takes a whole number of milliseconds, as text"
                )));
            }
            p = p.with_expiration(short("expiration", v)?);
        }
        if let Some(v) = &self.message_id {
            p = p.with_message_id(short("message id", v)?);
        }
        if let Some(v) = self.timestamp {
            p = p.with_timestamp(v);
        }
        if let Some(v) = &self.kind {
            p = p.with_type(short("type", v)?);
        }
        if let Some(v) = &self.user_id {
            p = p.with_user_id(short("user id", v)?);
        }
        if let Some(v) = &self.app_id {
            p = p.with_app_id(short("app id", v)?);
        }
        Ok(p)
    }

    /// Reads lapin's properties of a delivered message.
    pub(crate) fn from_basic(p: &BasicProperties) -> AmqpProperties {
        let text = |v: &Option<ShortString>| v.as_ref().map(|s| s.as_str().to_string());
        AmqpProperties {
            content_type: text(p.content_type()),
            content_encoding: text(p.content_encoding()),
            headers: p
                .headers()
                .as_ref()
                .map(|t| {
                    t.inner()
                        .iter()
                        .take(MAX_HEADERS)
                        .map(|(k, v)| (k.as_str().to_string(), header_value(v)))
                        .collect()
                })
                .unwrap_or_default(),
            delivery_mode: *p.delivery_mode(),
            priority: *p.priority(),
            correlation_id: text(p.correlation_id()),
            reply_to: text(p.reply_to()),
            expiration: text(p.expiration()),
            message_id: text(p.message_id()),
            timestamp: *p.timestamp(),
            kind: text(p.kind()),
            user_id: text(p.user_id()),
            app_id: text(p.app_id()),
        }
    }

    /// The set properties as named fields, for the traffic views' inspectors.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |name: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((name, v));
            }
        };
        put("Content Type", self.content_type.clone());
        put("Content Encoding", self.content_encoding.clone());
        put(
            "Delivery Mode",
            self.delivery_mode.map(|m| match m {
                2 => "2 (persistent)".to_string(),
                1 => "1 (transient)".to_string(),
                m => m.to_string(),
            }),
        );
        put("Priority", self.priority.map(|v| v.to_string()));
        put("Correlation Id", self.correlation_id.clone());
        put("Reply To", self.reply_to.clone());
        put("Expiration", self.expiration.clone());
        put("Message Id", self.message_id.clone());
        put("Timestamp", self.timestamp.map(|v| v.to_string()));
        put("Type", self.kind.clone());
        put("User Id", self.user_id.clone());
        put("App Id", self.app_id.clone());
        for (name, value) in &self.headers {
            out.push(("Header", format!("{name}: {value}")));
        }
        out
    }
}

/// Headers kept from one delivered message (a broker may send thousands).
const MAX_HEADERS: usize = 64;

/// A table of arguments or headers for lapin (queue arguments such as `x-message-ttl` are
/// numbers; `x-queue-type` is text).
pub(crate) fn headers_table(
    headers: &[(String, HeaderValue)],
) -> Result<FieldTable, crate::AmqpError> {
    let mut table = FieldTable::default();
    for (name, value) in headers {
        let value = match value {
            HeaderValue::Bool(v) => AMQPValue::Boolean(*v),
            HeaderValue::Int(v) => AMQPValue::LongLongInt(*v),
            HeaderValue::Float(v) => AMQPValue::Double(*v),
            HeaderValue::Text(v) => AMQPValue::LongString(LongString::from(v.as_str())),
        };
        table.insert(short("header name", name)?, value);
    }
    Ok(table)
}

fn header_value(v: &AMQPValue) -> HeaderValue {
    match v {
        AMQPValue::Boolean(b) => HeaderValue::Bool(*b),
        AMQPValue::ShortShortInt(n) => HeaderValue::Int(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => HeaderValue::Int(i64::from(*n)),
        AMQPValue::ShortInt(n) => HeaderValue::Int(i64::from(*n)),
        AMQPValue::ShortUInt(n) => HeaderValue::Int(i64::from(*n)),
        AMQPValue::LongInt(n) => HeaderValue::Int(i64::from(*n)),
        AMQPValue::LongUInt(n) => HeaderValue::Int(i64::from(*n)),
        AMQPValue::LongLongInt(n) => HeaderValue::Int(*n),
        AMQPValue::Float(f) => HeaderValue::Float(f64::from(*f)),
        AMQPValue::Double(f) => HeaderValue::Float(*f),
        AMQPValue::ShortString(s) => HeaderValue::Text(s.as_str().to_string()),
        AMQPValue::LongString(s) => {
            HeaderValue::Text(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        AMQPValue::Timestamp(t) => HeaderValue::Int(i64::try_from(*t).unwrap_or(i64::MAX)),
        other => {
            let mut text = format!("{other:?}");
            text.truncate(1024);
            HeaderValue::Text(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_survive_the_round_trip_through_lapin() {
        let props = AmqpProperties {
            content_type: Some("text/plain".into()),
            headers: vec![
                ("n".into(), HeaderValue::Int(7)),
                ("s".into(), HeaderValue::Text("x".into())),
            ],
            delivery_mode: Some(2),
            correlation_id: Some("c1".into()),
            reply_to: Some("amq.rabbitmq.reply-to".into()),
            expiration: Some("60000".into()),
            message_id: Some("m1".into()),
            timestamp: Some(1_700_000_000),
            ..AmqpProperties::default()
        };
        let back = AmqpProperties::from_basic(&props.to_basic().unwrap());
        assert_eq!(back, props);
        let fields = back.fields();
        assert!(fields.contains(&("Delivery Mode", "2 (persistent)".into())));
        assert!(fields.contains(&("Header", "n: 7".into())));
    }

    #[test]
    fn bad_values_are_refused_in_words() {
        let p = AmqpProperties {
            expiration: Some("soon".into()),
            ..Default::default()
        };
        assert!(p
            .to_basic()
            .unwrap_err()
            .to_string()
            .contains("milliseconds"));
        let p = AmqpProperties {
            delivery_mode: Some(3),
            ..Default::default()
        };
        assert!(p.to_basic().unwrap_err().to_string().contains("persistent"));
        let p = AmqpProperties {
            message_id: Some("x".repeat(300)),
            ..Default::default()
        };
        assert!(p.to_basic().unwrap_err().to_string().contains("255"));
    }
}
