//! What a load test does, as the command line and the Bench panel set it, and its check.

use serde::Serialize;
use std::time::Duration;
use workbench_wire::codec::{Level, QoS};

/// The kind of load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Open connections and hold them.
    Conn,
    /// Publish (with subscribers measuring latency).
    Pub,
    /// Subscribe and measure.
    Sub,
}

/// A load test.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    pub mode: Mode,
    /// Connections (`conn`), publishers (`pub`) or subscribers (`sub`).
    pub clients: u32,
    /// New connections per second.
    pub connect_rate: f64,
    /// Messages per second per publisher; 0: as fast as the broker takes them.
    pub rate: f64,
    pub size: usize,
    pub qos: QoS,
    /// The topic, `%i` replaced by the client's number (`bench/%i`); for `sub`, the filter.
    pub topic: String,
    /// Subscribers of a `pub` run (to `topic` with `%i` as `+`), measuring latency.
    pub subscribers: u32,
    /// Messages per publisher.
    pub count: Option<u64>,
    /// How long to run.
    pub duration: Option<Duration>,
    pub level: Level,
    /// Client ids are this followed by the role and number (`mqttwb-bench-pub-7`).
    pub client_prefix: String,
    /// Unacknowledged QoS 1/2 publishes per publisher.
    pub window: usize,
}

impl Default for BenchSpec {
    fn default() -> Self {
        BenchSpec {
            mode: Mode::Pub,
            clients: 10,
            connect_rate: 1_000.0,
            rate: 100.0,
            size: 100,
            qos: QoS::AtMostOnce,
            topic: "bench/%i".into(),
            subscribers: 1,
            count: None,
            duration: Some(Duration::from_secs(10)),
            level: Level::V3_1_1,
            client_prefix: format!("mqttwb-bench-{}", std::process::id()),
            window: 200,
        }
    }
}

impl BenchSpec {
    /// What is wrong with it, in words.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=50_000).contains(&self.clients) {
            return Err(format!("clients is 1 to 50000, not {}", self.clients));
        }
        if self.subscribers > 10_000 {
            return Err("subscribers is at most 10000".into());
        }
        if !(self.connect_rate.is_finite() && self.connect_rate > 0.0) {
            return Err("the connect rate is above 0".into());
        }
        if !(self.rate.is_finite() && self.rate >= 0.0) || self.rate > 1_000_000.0 {
            return Err("the rate is 0 (as fast as possible) to 1000000 messages a second".into());
        }
        if self.size > 16 << 20 {
            return Err("the payload size is at most 16 MiB".into());
        }
        if self.count.is_none() && self.duration.is_none() {
            return Err("give a count or a duration".into());
        }
        if self.count == Some(0) {
            return Err("the count is at least 1".into());
        }
        if self.window == 0 {
            return Err("the window is at least 1".into());
        }
        let sample = self.topic_for(1);
        let valid = match self.mode {
            Mode::Sub => workbench_wire::topic::validate_filter(&sample),
            _ => workbench_wire::topic::validate_name(&sample),
        };
        valid.map_err(|e| format!("topic '{}': {e}", self.topic))
    }

    /// The topic of client `i` (`%i` replaced).
    pub fn topic_for(&self, i: u32) -> String {
        self.topic.replace("%i", &i.to_string())
    }

    /// The filter a `pub` run's subscribers use: `%i` as `+`.
    pub fn filter(&self) -> String {
        self.topic.replace("%i", "+")
    }
}
