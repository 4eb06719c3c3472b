//! The simulator file, as written: TOML, read with serde. Every table refuses keys it does not
//! know, so a typo (`intervall = "5s"`) is an error with its line, never silently ignored.
//! [`super::check`] turns a file into a runnable [`super::Plan`], naming the line and field of
//! each problem.
//!
//! ```toml
//! name = "Temperature sensors"
//!
//! [device]
//! count = 20
//! id = "sensor-{n:02}"            # {n}: 1..count, {i}: 0..count-1
//! version = "5"
//!
//! [device.will]
//! topic = "sensors/{id}/status"
//! payload = "offline"
//! retain = true
//!
//! [[stream]]
//! topic = "sensors/{id}/temperature"
//! every = "5s"
//! jitter = "500ms"
//! json = { celsius = "{temp}", at = "{time}" }
//! values.temp = { kind = "walk", min = 15, max = 30, step = 0.3 }
//! ```

use super::values::ValueSpec;
use crate::duration::Dur;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorFile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Seeds every device's randomness: the same seed gives the same values.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub device: DeviceSpec,
    #[serde(default)]
    pub stream: Vec<StreamSpec>,
    #[serde(default)]
    pub reply: Vec<ReplySpec>,
}

/// MQTT version as written: `"3.1.1"`, `"5"` (also `"5.0"`, `4`, `5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionSpec {
    #[default]
    V311,
    V5,
}

impl<'de> Deserialize<'de> for VersionSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(t) if matches!(t.trim(), "3.1.1" | "4") => Ok(VersionSpec::V311),
            Raw::Text(t) if matches!(t.trim(), "5" | "5.0") => Ok(VersionSpec::V5),
            Raw::Number(4) => Ok(VersionSpec::V311),
            Raw::Number(5) => Ok(VersionSpec::V5),
            _ => Err(serde::de::Error::custom(
                "the MQTT version is \"3.1.1\" or \"5\"",
            )),
        }
    }
}

fn one() -> u32 {
    1
}
fn default_id() -> String {
    "device-{n}".into()
}
fn default_client_id() -> String {
    "{id}".into()
}
fn default_keep_alive() -> u16 {
    60
}
fn yes() -> bool {
    true
}
fn default_connect_rate() -> f64 {
    200.0
}
fn qos1() -> u8 {
    1
}

/// The device template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// How many devices (1 to 10,000).
    #[serde(default = "one")]
    pub count: u32,
    /// Each device's id: `{id}` in every other template.
    #[serde(default = "default_id")]
    pub id: String,
    #[serde(default = "default_client_id")]
    pub client_id: String,
    #[serde(default)]
    pub version: VersionSpec,
    #[serde(default = "default_keep_alive")]
    pub keep_alive: u16,
    #[serde(default = "yes")]
    pub clean_start: bool,
    /// MQTT 5 session expiry interval, in seconds.
    #[serde(default)]
    pub session_expiry: Option<u32>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// New connections per second while the fleet comes online.
    #[serde(default = "default_connect_rate")]
    pub connect_rate: f64,
    /// Published by the broker when a device goes away without saying goodbye.
    #[serde(default)]
    pub will: Option<MessageSpec>,
    /// Published by the device after each connect (its "online" message).
    #[serde(default)]
    pub birth: Option<MessageSpec>,
    /// Per-device constants, from templates (`room = "hall-{n}"`).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Per-device state: starting values that replies may change and streams read.
    #[serde(default)]
    pub state: BTreeMap<String, toml::Value>,
    /// Backoff between reconnects after a lost connection.
    #[serde(default)]
    pub reconnect: Option<ReconnectSpec>,
    #[serde(default)]
    pub flaky: Option<FlakySpec>,
}

impl Default for DeviceSpec {
    fn default() -> Self {
        DeviceSpec {
            count: 1,
            id: default_id(),
            client_id: default_client_id(),
            version: VersionSpec::default(),
            keep_alive: default_keep_alive(),
            clean_start: true,
            session_expiry: None,
            username: None,
            password: None,
            connect_rate: default_connect_rate(),
            will: None,
            birth: None,
            vars: BTreeMap::new(),
            state: BTreeMap::new(),
            reconnect: None,
            flaky: None,
        }
    }
}

/// A will or birth message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    pub topic: String,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub json: Option<toml::Value>,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    /// MQTT 5 will delay interval (wills only).
    #[serde(default)]
    pub delay: Option<Dur>,
}

/// Exponential backoff between reconnect attempts, with jitter.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconnectSpec {
    pub min: Dur,
    pub max: Dur,
}

/// Trouble on purpose.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlakySpec {
    /// The share of devices that are flaky (0 to 1; default all).
    #[serde(default)]
    pub share: Option<f64>,
    /// Drop the connection without DISCONNECT (the will fires) about this often.
    #[serde(default)]
    pub drop_every: Option<Dur>,
    /// Go silent (no messages, no pings) about this often...
    #[serde(default)]
    pub silent_every: Option<Dur>,
    /// ...for this long (past 1.5 keep-alives the broker closes the connection).
    #[serde(default)]
    pub silent_for: Option<Dur>,
}

/// One stream of messages from every device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    pub topic: String,
    pub every: Dur,
    /// A random shift of each message, up to this much either way.
    #[serde(default)]
    pub jitter: Option<Dur>,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    /// Stop after this many messages per device.
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub json: Option<toml::Value>,
    #[serde(default)]
    pub binary: Option<Vec<String>>,
    /// MQTT 5 content type.
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub values: BTreeMap<String, ValueSpec>,
}

/// One auto-reply rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplySpec {
    /// The filter the device listens on (`plugs/{id}/set`, `cmd/+/ping`).
    pub on: String,
    /// QoS of the subscription.
    #[serde(default = "qos1")]
    pub qos: u8,
    /// Where the reply goes when the request names no response topic (MQTT 5).
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub delay: Option<Dur>,
    #[serde(default)]
    pub reply_qos: u8,
    #[serde(default)]
    pub retain: bool,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub json: Option<toml::Value>,
    /// State the request changes (`on = "{json.on}"`), before the reply is built.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// A sandboxed Rhai script deciding the reply (see [`crate::reply::script`]).
    #[serde(default)]
    pub script: Option<String>,
}
