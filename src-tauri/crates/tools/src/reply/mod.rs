//! Auto-reply rules: a device mock. When a message arrives on a rule's filter, the device
//! answers after the rule's delay with a reply built from the request:
//!
//! - `{1}`, `{2}`...: the levels the filter's `+` matched, in order; `{#}`: what its `#` matched;
//! - `{json.on}`, `{json.sensors.0.rh}`: fields of a JSON payload; `{json}`: all of it;
//! - `{payload}`, `{topic}`: the request's payload (as text) and topic; `{time}`, `{ms}`: now;
//! - the device's own names (`{id}`, `{n}`, its `vars`) and its state (`{on}`), which the
//!   rule's `set` may change first (`set = { on = "{json.on}" }`).
//!
//! MQTT 5 request/response: a request carrying a response topic is answered there, with its
//! correlation data; otherwise the reply goes to the rule's `topic`. Where logic is needed, a
//! [`script`] decides the reply instead (sandboxed, with limits).

pub mod script;

use crate::sim::payload::{as_text, JsonTemplate, PayloadPlan};
use crate::template::Template;
use serde_json::Value;
use std::time::Duration;
use workbench_wire::codec::QoS;

/// One rule, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The filter, with the device's names still to fill in.
    pub on: Template,
    pub qos: QoS,
    pub topic: Option<Template>,
    pub delay: Duration,
    pub reply_qos: QoS,
    pub retain: bool,
    pub payload: PayloadPlan,
    /// State changed by a request, in order.
    pub set: Vec<(String, JsonTemplate)>,
    /// The index of its script in the simulator's [`script::Sandbox`].
    pub script: Option<usize>,
}

/// A message that arrived.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub response_topic: Option<&'a str>,
    pub correlation: Option<&'a [u8]>,
}

/// A reply to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub delay: Duration,
    /// MQTT 5 correlation data, copied from the request.
    pub correlation: Option<Vec<u8>>,
}

/// The levels of `topic` matched by the `+` and `#` of `filter` (`#`'s as one string, last), or
/// `None` when it does not match.
pub fn captures(filter: &str, topic: &str) -> Option<Vec<String>> {
    let mut found = Vec::new();
    let mut levels = topic.split('/');
    let mut filter_levels = filter.split('/').peekable();
    // A wildcard at the first level does not match `$` topics.
    if filter.starts_with(['+', '#']) && topic.starts_with('$') {
        return None;
    }
    while let Some(f) = filter_levels.next() {
        if f == "#" {
            let rest: Vec<&str> = levels.collect();
            found.push(rest.join("/"));
            return Some(found);
        }
        let level = levels.next()?;
        if f == "+" {
            found.push(level.to_string());
        } else if f != level {
            return None;
        }
        if filter_levels.peek() == Some(&"#") && levels.clone().next().is_none() {
            // `a/#` matches `a` itself.
            found.push(String::new());
            return Some(found);
        }
    }
    levels.next().is_none().then_some(found)
}

/// A field of a JSON value by a dotted path (`a.b.0`).
fn json_field<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(json, |value, key| match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The names a request gives a reply's templates.
pub struct RequestScope<'a> {
    pub request: Request<'a>,
    pub captures: Vec<String>,
    pub json: Option<Value>,
    pub text: String,
}

impl<'a> RequestScope<'a> {
    pub fn new(request: Request<'a>, captures: Vec<String>) -> RequestScope<'a> {
        RequestScope {
            json: serde_json::from_slice(request.payload).ok(),
            text: as_text(request.payload),
            captures,
            request,
        }
    }

    /// The value of a request name (`1`, `#`, `json.x`, `payload`, `topic`, `time`, `ms`).
    pub fn get(&self, name: &str) -> Option<Value> {
        match name {
            "topic" => Some(Value::String(self.request.topic.to_string())),
            "payload" => Some(Value::String(self.text.clone())),
            "json" => self.json.clone(),
            "#" => self.captures.last().cloned().map(Value::String),
            "time" => Some(Value::String(
                crate::time::iso8601(workbench_wire::now_ms()),
            )),
            "ms" => Some(Value::from(workbench_wire::now_ms())),
            _ => {
                if let Some(path) = name.strip_prefix("json.") {
                    return self
                        .json
                        .as_ref()
                        .and_then(|j| json_field(j, path))
                        .cloned();
                }
                let index: usize = name.parse().ok()?;
                self.captures
                    .get(index.checked_sub(1)?)
                    .cloned()
                    .map(Value::String)
            }
        }
    }

    /// True for names a request defines (for the file check).
    pub fn defines(name: &str, captures: usize) -> bool {
        matches!(name, "topic" | "payload" | "json" | "time" | "ms")
            || name.starts_with("json.")
            || (name == "#")
            || name.parse::<usize>().is_ok_and(|i| i >= 1 && i <= captures)
    }
}

/// A device as a rule sees it: its names and its state.
pub struct DeviceScope<'a> {
    /// `id`, `n`, `i`, `client_id` and the file's vars.
    pub names: &'a serde_json::Map<String, Value>,
    pub state: &'a mut serde_json::Map<String, Value>,
}

impl Rule {
    /// The replies to `request` (matched by `filter`, this device's rendering of `on`).
    pub fn answer(
        &self,
        scope: &RequestScope<'_>,
        device: &mut DeviceScope<'_>,
        sandbox: Option<&script::Sandbox>,
        rng: &mut fastrand::Rng,
    ) -> Result<Vec<Reply>, String> {
        for (name, value) in &self.set {
            let new = {
                let state = &*device.state;
                value.fill(&mut |n| lookup(scope, device.names, state, n))
            };
            device.state.insert(name.clone(), new);
        }
        let correlation = scope
            .request
            .response_topic
            .and(scope.request.correlation)
            .map(<[u8]>::to_vec);
        let base = Reply {
            topic: String::new(),
            payload: Vec::new(),
            qos: self.reply_qos,
            retain: self.retain,
            delay: self.delay,
            correlation,
        };
        if let (Some(index), Some(sandbox)) = (self.script, sandbox) {
            let input = script::ScriptInput {
                topic: scope.request.topic,
                payload: &scope.text,
                json: scope.json.as_ref(),
                captures: &scope.captures,
                device: device.names,
            };
            let answers = sandbox.run(index, &input, device.state)?;
            let fallback = self.reply_topic(scope, device);
            return answers
                .into_iter()
                .map(|answer| {
                    let topic = answer.topic.or_else(|| fallback.clone()).ok_or(
                        "the script's reply has no topic, and the request named no response topic",
                    )?;
                    Ok(Reply {
                        topic,
                        payload: answer.payload.unwrap_or_default(),
                        qos: answer.qos.and_then(QoS::from_bits).unwrap_or(base.qos),
                        retain: answer.retain.unwrap_or(base.retain),
                        delay: answer.delay.unwrap_or(base.delay),
                        correlation: base.correlation.clone(),
                    })
                })
                .collect();
        }
        let Some(topic) = self.reply_topic(scope, device) else {
            return Err("the rule has no topic, and the request named no response topic".into());
        };
        let mut payload = Vec::new();
        let state = &*device.state;
        self.payload.fill(&mut payload, rng, &mut |n| {
            lookup(scope, device.names, state, n)
        });
        Ok(vec![Reply {
            topic,
            payload,
            ..base
        }])
    }
}

impl Rule {
    /// Where a reply goes by default: the request's response topic, else the rule's topic.
    fn reply_topic(&self, scope: &RequestScope<'_>, device: &DeviceScope<'_>) -> Option<String> {
        if let Some(response) = scope.request.response_topic {
            return Some(response.to_string());
        }
        let state = &*device.state;
        self.topic
            .as_ref()
            .map(|t| t.render(&mut |n| lookup(scope, device.names, state, n)))
    }
}

fn lookup(
    scope: &RequestScope<'_>,
    names: &serde_json::Map<String, Value>,
    state: &serde_json::Map<String, Value>,
    name: &str,
) -> Option<Value> {
    scope
        .get(name)
        .or_else(|| state.get(name).cloned())
        .or_else(|| names.get(name).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn captures_follow_the_filter() {
        assert_eq!(
            captures("plugs/+/set", "plugs/p1/set"),
            Some(vec!["p1".into()])
        );
        assert_eq!(
            captures("a/+/b/#", "a/x/b/c/d"),
            Some(vec!["x".into(), "c/d".into()])
        );
        assert_eq!(captures("a/#", "a"), Some(vec!["".into()]));
        assert_eq!(captures("a/+", "a/b/c"), None);
        assert_eq!(captures("a/b", "a/c"), None);
        assert_eq!(captures("#", "$SYS/x"), None);
        assert_eq!(captures("a/b", "a/b"), Some(vec![]));
    }

    #[test]
    fn declarative_rules_build_replies_from_requests() {
        let table: toml::Value = toml::from_str(
            r#"on = "{on}"
device = "{id}"
room = "{1}"
at = "{json.meta.0}""#,
        )
        .unwrap();
        let rule = Rule {
            on: Template::parse("plugs/{id}/+/set"),
            qos: QoS::AtLeastOnce,
            topic: Some(Template::parse("plugs/{id}/{1}/state")),
            delay: Duration::ZERO,
            reply_qos: QoS::AtLeastOnce,
            retain: true,
            payload: PayloadPlan::Json(JsonTemplate::compile(&table)),
            set: vec![(
                "on".into(),
                JsonTemplate::compile(&toml::Value::from("{json.on}")),
            )],
            script: None,
        };
        let names = json!({"id": "p1"}).as_object().cloned().unwrap();
        let mut state = json!({"on": false}).as_object().cloned().unwrap();
        let request = Request {
            topic: "plugs/p1/kitchen/set",
            payload: br#"{"on": true, "meta": ["x"]}"#,
            response_topic: None,
            correlation: Some(b"ignored without a response topic"),
        };
        let scope = RequestScope::new(request, captures("plugs/p1/+/set", request.topic).unwrap());
        let mut device = DeviceScope {
            names: &names,
            state: &mut state,
        };
        let mut rng = fastrand::Rng::with_seed(1);
        let replies = rule.answer(&scope, &mut device, None, &mut rng).unwrap();
        assert_eq!(replies[0].topic, "plugs/p1/kitchen/state");
        let body: Value = serde_json::from_slice(&replies[0].payload).unwrap();
        assert_eq!(
            body,
            json!({"on": true, "device": "p1", "room": "kitchen", "at": "x"})
        );
        assert_eq!(state["on"], json!(true), "the state changed");
        assert_eq!(replies[0].correlation, None);

        // MQTT 5: the response topic wins, with the correlation data.
        let request = Request {
            response_topic: Some("replies/42"),
            correlation: Some(b"c-42"),
            ..request
        };
        let scope = RequestScope::new(request, vec!["kitchen".into()]);
        let mut device = DeviceScope {
            names: &names,
            state: &mut state,
        };
        let replies = rule.answer(&scope, &mut device, None, &mut rng).unwrap();
        assert_eq!(replies[0].topic, "replies/42");
        assert_eq!(replies[0].correlation.as_deref(), Some(&b"c-42"[..]));
    }
}
