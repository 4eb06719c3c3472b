//! A simulator file compiled into what runs: templates parsed, durations and QoS checked, names
//! resolved, scripts compiled. Built only by [`super::check`], so a [`Plan`] is always valid.

use super::payload::PayloadPlan;
use super::values::ValueSpec;
use crate::reply::script::Sandbox;
use crate::reply::Rule;
use crate::template::Template;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use workbench_wire::codec::{Level, QoS};

/// A runnable simulator.
pub struct Plan {
    pub name: String,
    pub seed: u64,
    pub device: DevicePlan,
    pub streams: Vec<StreamPlan>,
    pub rules: Vec<Rule>,
    /// The rules' scripts (none when no rule has one).
    pub sandbox: Option<Arc<Sandbox>>,
}

pub struct DevicePlan {
    pub count: u32,
    pub id: Template,
    pub client_id: Template,
    pub level: Level,
    pub keep_alive: u16,
    pub clean_start: bool,
    pub session_expiry: Option<u32>,
    pub username: Option<Template>,
    pub password: Option<String>,
    pub connect_rate: f64,
    pub will: Option<MessagePlan>,
    pub birth: Option<MessagePlan>,
    pub vars: Vec<(String, Template)>,
    pub state: serde_json::Map<String, Value>,
    /// Backoff between reconnects: first wait, longest wait.
    pub reconnect: (Duration, Duration),
    pub flaky: Option<FlakyPlan>,
}

/// A will or birth message.
pub struct MessagePlan {
    pub topic: Template,
    pub payload: PayloadPlan,
    pub qos: QoS,
    pub retain: bool,
    /// MQTT 5 will delay, seconds.
    pub delay: Option<u32>,
}

pub struct FlakyPlan {
    pub share: f64,
    pub drop_every: Option<Duration>,
    pub silent_every: Option<Duration>,
    pub silent_for: Duration,
}

pub struct StreamPlan {
    pub topic: Template,
    pub every: Duration,
    pub jitter: Duration,
    pub qos: QoS,
    pub retain: bool,
    pub count: Option<u64>,
    pub payload: PayloadPlan,
    /// MQTT 5 property bytes sent with each message (content type).
    pub properties: Vec<u8>,
    pub values: Vec<(String, ValueSpec)>,
}

/// What a checked file will do, for the editor and the command line.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub name: String,
    pub devices: u32,
    pub streams: u32,
    pub replies: u32,
    /// Messages per second the whole fleet publishes, on average.
    pub messages_per_second: f64,
    /// The first device's client id and topics, as an example.
    pub example_client_id: String,
    pub example_topics: Vec<String>,
    pub mqtt5: bool,
}

impl Plan {
    /// A device's names: `id`, `n`, `i`, `client_id` and the file's vars.
    pub fn device_names(&self, index: u32) -> serde_json::Map<String, Value> {
        let mut names = serde_json::Map::new();
        names.insert("n".into(), Value::from(index + 1));
        names.insert("i".into(), Value::from(index));
        let id = self.device.id.render(&mut |name| names.get(name).cloned());
        names.insert("id".into(), Value::String(id));
        let client_id = self
            .device
            .client_id
            .render(&mut |name| names.get(name).cloned());
        names.insert("client_id".into(), Value::String(client_id));
        for (name, template) in &self.device.vars {
            let value = template.render(&mut |n| names.get(n).cloned());
            names.insert(name.clone(), Value::String(value));
        }
        names
    }

    pub fn summary(&self) -> Summary {
        let names = self.device_names(0);
        let state = &self.device.state;
        let mut lookup = |name: &str| {
            names
                .get(name)
                .or_else(|| state.get(name))
                .cloned()
                .or_else(|| Some(Value::String(format!("{{{name}}}"))))
        };
        let mut example_topics: Vec<String> = self
            .streams
            .iter()
            .map(|s| s.topic.render(&mut lookup))
            .collect();
        example_topics.extend(self.rules.iter().map(|r| r.on.render(&mut lookup)));
        let per_device: f64 = self
            .streams
            .iter()
            .map(|s| 1.0 / s.every.as_secs_f64().max(1e-3))
            .sum();
        Summary {
            name: self.name.clone(),
            devices: self.device.count,
            streams: self.streams.len() as u32,
            replies: self.rules.len() as u32,
            messages_per_second: per_device * f64::from(self.device.count),
            example_client_id: names
                .get("client_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            example_topics,
            mqtt5: self.device.level.is_v5(),
        }
    }
}
