//! What a lesson file says, as serde reads it (TOML; `docs/lessons.md` documents every field).
//! Only the shape lives here: [`crate::load`] checks what serde cannot (names that must exist,
//! valid topics and filters, durations) and names the line and field of every problem.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Text in each language: `{ en = "...", zh-CN = "..." }`. English is required; the other
/// languages fall back to it.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    #[serde(rename = "zh-CN", default)]
    pub zh_cn: Option<String>,
}

impl Text {
    /// The text in `language` ("en", "zh-CN"), English when it has none.
    pub fn get(&self, language: &str) -> &str {
        match (language, &self.zh_cn) {
            ("zh-CN" | "zh", Some(zh)) if !zh.trim().is_empty() => zh,
            _ => &self.en,
        }
    }
}

/// A whole lesson file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonFile {
    /// The lesson format's version: 1.
    pub format: u32,
    /// Unique among all lessons (progress is kept under it): letters, digits, `-`, `_`.
    pub id: String,
    /// Where it sorts in the list (the built-in lessons use 1 to 13).
    #[serde(default)]
    pub order: Option<u32>,
    pub title: Text,
    pub summary: Text,
    /// Users (name to password) the broker requires while the lesson is open.
    #[serde(default)]
    pub broker_users: BTreeMap<String, String>,
    #[serde(default)]
    pub actors: Vec<ActorSpec>,
    pub steps: Vec<StepSpec>,
}

/// MQTT version an actor speaks.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum VersionSpec {
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "5")]
    #[default]
    V5,
}

/// What an actor is: an MQTT client on the embedded broker, or an AMQP 0-9-1 client on the
/// RabbitMQ whose URL the learner gives.
#[derive(
    Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, serde::Serialize, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    #[default]
    Mqtt,
    Amqp,
}

/// A client the lesson starts, with a telling name (its client id).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSpec {
    /// The client id, also how checks and actions name it ("kitchen-sensor").
    pub id: String,
    /// `mqtt` (the default) or `amqp` (see [`crate::format::AmqpDeclare`] and the fields after).
    #[serde(default)]
    pub kind: ActorKind,
    /// What it stands for, shown beside its id ("the order service").
    #[serde(default)]
    pub role: Option<Text>,
    #[serde(default)]
    pub version: VersionSpec,
    #[serde(default = "yes")]
    pub clean_start: bool,
    #[serde(default = "sixty")]
    pub keep_alive: u16,
    /// MQTT 5 session expiry in seconds (a persistent session needs one above 0).
    #[serde(default)]
    pub session_expiry: Option<u32>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub will: Option<MessageSpec>,
    /// Connect when the lesson starts (false: only when an action or the learner connects it).
    #[serde(default = "yes")]
    pub connect: bool,
    #[serde(default)]
    pub subscribe: Vec<FilterSpec>,
    #[serde(default)]
    pub publish: Vec<PublishSpec>,
    /// AMQP: queues and exchanges declared after connecting, in order.
    #[serde(default)]
    pub declare: Vec<AmqpDeclare>,
    /// AMQP: bindings made after the declarations.
    #[serde(default)]
    pub bind: Vec<AmqpBind>,
    /// AMQP: the queue the actor consumes from, once bound.
    #[serde(default)]
    pub consume: Option<AmqpConsume>,
}

/// AMQP: a queue or an exchange an actor declares (exactly one of `queue` and `exchange`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AmqpDeclare {
    /// A queue; `""` has the broker name it (a temporary queue, `amq.gen-...`), which the actor's
    /// `bind` and `consume` then use when they name no queue.
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub exchange: Option<String>,
    /// The exchange's type: direct, fanout, topic or headers.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub durable: bool,
    /// Only this connection uses the queue; it goes when the connection closes.
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub auto_delete: bool,
}

/// AMQP: a binding from an exchange to a queue (the actor's own temporary queue when none).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AmqpBind {
    pub exchange: String,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub routing_key: String,
}

/// AMQP: who acknowledges the deliveries.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AmqpAck {
    /// The broker counts a message handled when it sends it (`no-ack`).
    #[default]
    Auto,
    /// The actor works one second per `.` in the body (as the tutorial's worker does), then acks.
    Manual,
}

/// AMQP: a consumer.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AmqpConsume {
    /// The queue (the actor's own temporary queue when none).
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub ack: AmqpAck,
    /// Unacknowledged deliveries the broker may send at once (manual acks; default 100).
    #[serde(default)]
    pub prefetch: Option<u16>,
}

fn yes() -> bool {
    true
}

fn sixty() -> u16 {
    60
}

/// One subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub filter: String,
    #[serde(default)]
    pub qos: u8,
}

/// A message: its topic, payload and how it is sent.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    pub topic: String,
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    /// MQTT 5: seconds before an undelivered copy expires.
    #[serde(default)]
    pub expiry: Option<u32>,
    /// MQTT 5 user properties.
    #[serde(default)]
    pub user_properties: BTreeMap<String, String>,
    /// MQTT 5 request/response: where the answer should go.
    #[serde(default)]
    pub response_topic: Option<String>,
    #[serde(default)]
    pub correlation_data: Option<String>,
}

/// A publish an actor makes on its own: once after connecting (`after`), repeatedly
/// (`every`), in answer to a message (`on`), or when the learner presses its button
/// (`button`). Exactly one of the four.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    /// MQTT: the topic (AMQP actors give `exchange` and `routing_key` instead).
    #[serde(default)]
    pub topic: String,
    /// AMQP: the exchange (`""`, the default exchange, routes to the queue named by the key).
    #[serde(default)]
    pub exchange: Option<String>,
    /// AMQP: the routing key.
    #[serde(default)]
    pub routing_key: Option<String>,
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    #[serde(default)]
    pub expiry: Option<u32>,
    #[serde(default)]
    pub user_properties: BTreeMap<String, String>,
    #[serde(default)]
    pub response_topic: Option<String>,
    #[serde(default)]
    pub correlation_data: Option<String>,
    /// Once, this long after connecting ("0s", "2s").
    #[serde(default)]
    pub after: Option<String>,
    /// Again and again at this period ("3s").
    #[serde(default)]
    pub every: Option<String>,
    /// In answer to each message on this filter the actor receives (the actor must subscribe
    /// to it). `{response_topic}` as the topic answers to the request's response topic.
    #[serde(default)]
    pub on: Option<String>,
    /// A button on the lesson page sends it; the text is the button's label.
    #[serde(default)]
    pub button: Option<Text>,
}

/// One step of a lesson: what to read, what to do, how the app knows it was done.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub title: Text,
    /// The explanation (a few sentences).
    pub text: Text,
    /// What the learner does.
    pub task: Text,
    #[serde(default)]
    pub hints: Vec<Text>,
    /// Show the wildcard playground (a filter and a topic typed, whether they match).
    #[serde(default)]
    pub playground: bool,
    /// Actions the lesson takes when the step begins.
    #[serde(default)]
    pub on_start: Vec<ActionSpec>,
    /// Every check must hold over the packets seen since the step began or since the learner's
    /// last action, whichever is later.
    pub checks: Vec<CheckSpec>,
}

/// What an actor does: the buttons a learner has on every actor, also usable by a step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub actor: String,
    #[serde(rename = "do")]
    pub action: ActionKind,
    /// For `subscribe` and `unsubscribe`.
    #[serde(default)]
    pub filter: Option<String>,
    /// For `subscribe`.
    #[serde(default)]
    pub qos: Option<u8>,
    /// For `publish` and `publish_and_drop`.
    #[serde(default)]
    pub message: Option<MessageSpec>,
}

/// The things an actor can be told to do.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Connect (again) with the same client id and its connect options.
    Connect,
    /// Connect again with the same client id, keeping the session (clean start off).
    Reconnect,
    /// Say DISCONNECT and close: the broker discards the will.
    Disconnect,
    /// Close the TCP connection without DISCONNECT, as a lost network would: the will fires.
    PullPlug,
    /// Stop reading from the socket (the broker's queue for it fills).
    Pause,
    Resume,
    Subscribe,
    Unsubscribe,
    Publish,
    /// Publish at QoS 1 or 2 and close the connection before the acknowledgement: after a
    /// reconnect the actor sends the message again with DUP set.
    PublishAndDrop,
}

/// A check over the packets the broker saw: "a PUBLISH on `home/kitchen/temp` went to
/// `dashboard`". With `absent = true` it holds when no such packet was seen.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK,
    /// UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT.
    pub packet: String,
    /// The packet went from the broker to this client.
    #[serde(default)]
    pub to: Option<String>,
    /// The packet came from this client to the broker.
    #[serde(default)]
    pub from: Option<String>,
    /// The topic (PUBLISH) or first filter (SUBSCRIBE, UNSUBSCRIBE) is exactly this.
    #[serde(default)]
    pub topic: Option<String>,
    /// The topic matches this filter.
    #[serde(default)]
    pub matching: Option<String>,
    #[serde(default)]
    pub qos: Option<u8>,
    #[serde(default)]
    pub retain: Option<bool>,
    #[serde(default)]
    pub dup: Option<bool>,
    /// The reason or return code (CONNACK, SUBACK's first, PUBACK, DISCONNECT).
    #[serde(default)]
    pub reason: Option<u8>,
    /// At least this many such packets (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// Holds when no such packet was seen.
    #[serde(default)]
    pub absent: bool,
    /// What the check says to the learner ("the display heard the will").
    pub says: Text,
}

impl PublishSpec {
    /// The message it sends.
    pub fn message(&self) -> MessageSpec {
        MessageSpec {
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            qos: self.qos,
            retain: self.retain,
            expiry: self.expiry,
            user_properties: self.user_properties.clone(),
            response_topic: self.response_topic.clone(),
            correlation_data: self.correlation_data.clone(),
        }
    }
}
