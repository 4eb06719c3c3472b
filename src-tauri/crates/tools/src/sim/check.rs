//! The simulator file check: TOML syntax, then the schema ([`super::spec`], unknown keys
//! refused), then meaning (bounds, templates naming only names that exist, filters and topics
//! valid, scripts compiling). Every problem is reported, each with its line and field, e.g.
//! `line 14, stream[0].every: '5 parsecs': unknown unit`.

use super::payload::{binary_field, JsonTemplate, PayloadPlan};
use super::plan::{DevicePlan, FlakyPlan, MessagePlan, Plan, StreamPlan};
use super::spec::{MessageSpec, SimulatorFile, VersionSpec};
use super::values::toml_to_json;
use crate::client::publish_properties;
use crate::reply::script::Sandbox;
use crate::reply::{RequestScope, Rule};
use crate::template::Template;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use toml::de::DeTable;
use workbench_wire::codec::{Level, Properties, QoS};
use workbench_wire::topic;

use super::located::{at, key, line_of, path_text, Checker, FileError, FileErrors, Step, MAX_FILE};

fn qos(checker: &mut Checker<'_>, path: &[Step], value: u8) -> QoS {
    QoS::from_bits(value).unwrap_or_else(|| {
        checker.error(path, format!("QoS is 0, 1 or 2, not {value}"));
        QoS::AtMostOnce
    })
}

/// Checks that every placeholder of a template is a name in `known`.
fn names_known<'n>(
    checker: &mut Checker<'_>,
    path: &[Step],
    names: impl IntoIterator<Item = &'n str>,
    known: &dyn Fn(&str) -> bool,
) {
    for name in names {
        if !known(name) {
            checker.error(path, format!("unknown name {{{name}}}"));
        }
    }
}

/// Checks a topic template: valid once its placeholders are filled with a sample value.
fn topic_template(checker: &mut Checker<'_>, path: &[Step], text: &str, filter: bool) -> Template {
    let template = Template::parse(text);
    let sample = template.render(&mut |_| Some(serde_json::Value::String("x".into())));
    let valid = if filter {
        topic::validate_filter(&sample).map_err(|e| e.to_string())
    } else {
        topic::validate_name(&sample).map_err(|e| e.to_string())
    };
    if let Err(e) = valid {
        checker.error(path, format!("'{text}': {e}"));
    }
    template
}

/// A payload from the `payload`, `json` or `binary` a table gives (at most one).
fn payload_plan(
    checker: &mut Checker<'_>,
    path: &[Step],
    payload: &Option<String>,
    json: &Option<toml::Value>,
    binary: Option<&Vec<String>>,
) -> PayloadPlan {
    let given = usize::from(payload.is_some())
        + usize::from(json.is_some())
        + usize::from(binary.is_some());
    if given > 1 {
        checker.error(path, "give one of payload, json and binary, not several");
    }
    if let Some(text) = payload {
        return PayloadPlan::Text(Template::parse(text));
    }
    if let Some(json) = json {
        return PayloadPlan::Json(JsonTemplate::compile(json));
    }
    if let Some(fields) = binary {
        let mut out = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            match binary_field(field) {
                Ok(f) => out.push(f),
                Err(e) => checker.error(&at(path, &[key("binary"), Step::Index(i)]), e),
            }
        }
        return PayloadPlan::Binary(out);
    }
    PayloadPlan::Empty
}

fn message_plan(
    checker: &mut Checker<'_>,
    path: &[Step],
    spec: &MessageSpec,
    level: Level,
    known: &dyn Fn(&str) -> bool,
) -> MessagePlan {
    let topic = topic_template(checker, &at(path, &[key("topic")]), &spec.topic, false);
    names_known(checker, &at(path, &[key("topic")]), topic.names(), known);
    let payload = payload_plan(checker, path, &spec.payload, &spec.json, None);
    names_known(checker, path, payload.names(), known);
    let delay = spec.delay.map(|d| {
        if !level.is_v5() {
            checker.error(
                &at(path, &[key("delay")]),
                "a will delay needs version = \"5\"",
            );
        }
        d.0.as_secs().min(u64::from(u32::MAX)) as u32
    });
    MessagePlan {
        topic,
        payload,
        qos: qos(checker, &at(path, &[key("qos")]), spec.qos),
        retain: spec.retain,
        delay,
    }
}

/// Reads a simulator file into a runnable plan, or names every problem with its line.
pub fn check(text: &str) -> Result<Plan, FileErrors> {
    if text.len() > MAX_FILE {
        return Err(FileErrors(vec![FileError {
            line: None,
            field: String::new(),
            message: format!("the file is larger than {} KiB", MAX_FILE / 1024),
        }]));
    }
    let mut checker = Checker {
        text,
        doc: None,
        errors: Vec::new(),
    };
    match DeTable::parse(text) {
        Ok(doc) => checker.doc = Some(doc),
        Err(e) => {
            return Err(FileErrors(vec![FileError {
                line: e.span().map(|s| line_of(text, s.start)),
                field: String::new(),
                message: e.message().trim().to_string(),
            }]))
        }
    }
    let file: SimulatorFile = match toml::Deserializer::parse(text)
        .map_err(|e| (String::new(), e))
        .and_then(|d| {
            serde_path_to_error::deserialize(d).map_err(|e| (e.path().to_string(), e.into_inner()))
        }) {
        Ok(file) => file,
        Err((path, e)) => {
            let field = if path == "." { String::new() } else { path };
            let line = e.span().map(|s| line_of(text, s.start));
            return Err(FileErrors(vec![FileError {
                line,
                field,
                message: e.message().trim().to_string(),
            }]));
        }
    };
    let plan = build(&mut checker, &file);
    if checker.errors.is_empty() {
        Ok(plan)
    } else {
        checker.errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        Err(FileErrors(checker.errors))
    }
}

fn build(checker: &mut Checker<'_>, file: &SimulatorFile) -> Plan {
    let d = &file.device;
    let dev = [key("device")];
    if !(1..=10_000).contains(&d.count) {
        checker.error(
            &at(&dev, &[key("count")]),
            format!("count is 1 to 10000, not {}", d.count),
        );
    }
    if !(d.connect_rate.is_finite() && d.connect_rate > 0.0) {
        checker.error(
            &at(&dev, &[key("connect_rate")]),
            "connect_rate is a number of connections per second above 0",
        );
    }
    let level = match d.version {
        VersionSpec::V311 => Level::V3_1_1,
        VersionSpec::V5 => Level::V5,
    };
    if d.session_expiry.is_some() && !level.is_v5() {
        checker.error(
            &at(&dev, &[key("session_expiry")]),
            "session_expiry needs version = \"5\"",
        );
    }
    // Names, in the order they become known.
    let mut device_names: BTreeSet<String> = ["n", "i"].iter().map(|s| s.to_string()).collect();
    let id = Template::parse(&d.id);
    names_known(checker, &at(&dev, &[key("id")]), id.names(), &|n| {
        matches!(n, "n" | "i")
    });
    device_names.insert("id".into());
    let client_id = Template::parse(&d.client_id);
    names_known(
        checker,
        &at(&dev, &[key("client_id")]),
        client_id.names(),
        &|n| matches!(n, "n" | "i" | "id"),
    );
    device_names.insert("client_id".into());
    let mut vars = Vec::new();
    for (name, text) in &d.vars {
        let template = Template::parse(text);
        let known = device_names.clone();
        names_known(
            checker,
            &at(&dev, &[key("vars"), key(name)]),
            template.names(),
            &|n| known.contains(n),
        );
        vars.push((name.clone(), template));
    }
    device_names.extend(d.vars.keys().cloned());
    let state: serde_json::Map<String, serde_json::Value> = d
        .state
        .iter()
        .map(|(k, v)| (k.clone(), toml_to_json(v)))
        .collect();
    let device_or_state = {
        let names = device_names.clone();
        let state_names: BTreeSet<String> = state.keys().cloned().collect();
        move |n: &str| names.contains(n) || state_names.contains(n) || matches!(n, "time" | "ms")
    };
    let username = d.username.as_ref().map(|u| {
        let t = Template::parse(u);
        names_known(
            checker,
            &at(&dev, &[key("username")]),
            t.names(),
            &device_or_state,
        );
        t
    });
    let will = d.will.as_ref().map(|w| {
        message_plan(
            checker,
            &at(&dev, &[key("will")]),
            w,
            level,
            &device_or_state,
        )
    });
    let birth = d.birth.as_ref().map(|b| {
        let path = at(&dev, &[key("birth")]);
        if b.delay.is_some() {
            checker.error(&at(&path, &[key("delay")]), "delay is for wills only");
        }
        message_plan(checker, &path, b, level, &device_or_state)
    });
    let reconnect = match d.reconnect {
        Some(r) if r.min.0 > r.max.0 || r.min.0.is_zero() => {
            checker.error(
                &at(&dev, &[key("reconnect")]),
                "min must be above 0 and at most max",
            );
            (r.min.0, r.max.0)
        }
        Some(r) => (r.min.0, r.max.0),
        None => (Duration::from_secs(1), Duration::from_secs(30)),
    };
    let flaky = d.flaky.as_ref().map(|f| {
        let path = at(&dev, &[key("flaky")]);
        let share = f.share.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&share) {
            checker.error(&at(&path, &[key("share")]), "share is 0 to 1");
        }
        if f.drop_every
            .is_some_and(|d| d.0 < Duration::from_millis(100))
        {
            checker.error(
                &at(&path, &[key("drop_every")]),
                "drop_every must be at least 100ms",
            );
        }
        if f.silent_every.is_some() != f.silent_for.is_some() {
            checker.error(&path, "silent_every and silent_for go together");
        }
        if f.silent_every
            .is_some_and(|d| d.0 < Duration::from_millis(100))
        {
            checker.error(
                &at(&path, &[key("silent_every")]),
                "silent_every must be at least 100ms",
            );
        }
        FlakyPlan {
            share,
            drop_every: f.drop_every.map(|d| d.0),
            silent_every: f.silent_every.map(|d| d.0),
            silent_for: f.silent_for.map_or(Duration::ZERO, |d| d.0),
        }
    });

    let mut streams = Vec::new();
    for (index, s) in file.stream.iter().enumerate() {
        let path = [key("stream"), Step::Index(index)];
        if s.every.0 < Duration::from_millis(1) {
            checker.error(&at(&path, &[key("every")]), "every must be at least 1ms");
        }
        let jitter = s.jitter.map_or(Duration::ZERO, |j| j.0);
        if jitter > s.every.0 {
            checker.error(
                &at(&path, &[key("jitter")]),
                "jitter cannot be longer than every",
            );
        }
        for (name, value) in &s.values {
            if let Some(problem) = value.problem() {
                checker.error(&at(&path, &[key("values"), key(name)]), problem);
            }
        }
        let value_names: BTreeSet<&str> = s.values.keys().map(String::as_str).collect();
        let known = |n: &str| device_or_state(n) || value_names.contains(n) || n == "seq";
        let topic = topic_template(checker, &at(&path, &[key("topic")]), &s.topic, false);
        names_known(checker, &at(&path, &[key("topic")]), topic.names(), &known);
        let payload = payload_plan(checker, &path, &s.payload, &s.json, s.binary.as_ref());
        names_known(checker, &path, payload.names(), &known);
        let properties = match &s.content_type {
            Some(_) if !level.is_v5() => {
                checker.error(
                    &at(&path, &[key("content_type")]),
                    "content_type needs version = \"5\"",
                );
                Vec::new()
            }
            Some(ct) => publish_properties(&Properties {
                content_type: Some(ct.clone()),
                ..Properties::default()
            }),
            None => Vec::new(),
        };
        if s.count == Some(0) {
            checker.error(
                &at(&path, &[key("count")]),
                "count is at least 1 (leave it out for no limit)",
            );
        }
        streams.push(StreamPlan {
            topic,
            every: s.every.0.max(Duration::from_millis(1)),
            jitter,
            qos: qos(checker, &at(&path, &[key("qos")]), s.qos),
            retain: s.retain,
            count: s.count,
            payload,
            properties,
            values: s
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
    }

    let mut sandbox = Sandbox::new();
    let mut rules = Vec::new();
    for (index, r) in file.reply.iter().enumerate() {
        let path = [key("reply"), Step::Index(index)];
        let on = topic_template(checker, &at(&path, &[key("on")]), &r.on, true);
        names_known(checker, &at(&path, &[key("on")]), on.names(), &|n| {
            device_names.contains(n)
        });
        let plus = r.on.split('/').filter(|l| *l == "+").count();
        let set_names: BTreeSet<&str> = r.set.keys().map(String::as_str).collect();
        let known =
            |n: &str| device_or_state(n) || set_names.contains(n) || RequestScope::defines(n, plus);
        let topic = r.topic.as_ref().map(|t| {
            let template = topic_template(checker, &at(&path, &[key("topic")]), t, false);
            names_known(
                checker,
                &at(&path, &[key("topic")]),
                template.names(),
                &known,
            );
            template
        });
        if let Some(t) = &topic {
            let sample =
                |t: &Template| t.render(&mut |_| Some(serde_json::Value::String("x".into())));
            if topic::matches(&sample(&on), &sample(t)) {
                checker.error(
                    &at(&path, &[key("topic")]),
                    "the reply's topic matches the rule's own filter: the device would answer its own replies",
                );
            }
        }
        let payload = payload_plan(checker, &path, &r.payload, &r.json, None);
        names_known(checker, &path, payload.names(), &known);
        let mut set = Vec::new();
        for (name, value) in &r.set {
            let template = JsonTemplate::compile(&toml::Value::String(value.clone()));
            let mut used = Vec::new();
            template.names(&mut used);
            names_known(checker, &at(&path, &[key("set"), key(name)]), used, &known);
            set.push((name.clone(), template));
        }
        let script = r.script.as_ref().and_then(|source| {
            if r.payload.is_some() || r.json.is_some() {
                checker.error(
                    &path,
                    "a rule with a script builds its reply there: drop payload and json",
                );
            }
            match sandbox.compile(source) {
                Ok(i) => Some(i),
                Err(e) => {
                    let script_path = at(&path, &[key("script")]);
                    let start = checker.span(&script_path).map(|s| s.start).unwrap_or(0);
                    let quote = &checker.text[start.min(checker.text.len())..];
                    // A multi-line string's first newline is not part of it.
                    let skip =
                        usize::from(quote.starts_with("\"\"\"\n") || quote.starts_with("'''\n"));
                    let base = line_of(checker.text, start) + skip;
                    let line = e.line.map(|l| base + l - 1);
                    checker.errors.push(FileError {
                        line: line.or(Some(base)),
                        field: path_text(&script_path),
                        message: e.message,
                    });
                    None
                }
            }
        });
        if topic.is_none() && script.is_none() && !level.is_v5() {
            checker.error(
                &path,
                "give the reply a topic (only MQTT 5 requests name their own)",
            );
        }
        rules.push(Rule {
            on,
            qos: qos(checker, &at(&path, &[key("qos")]), r.qos),
            topic,
            delay: r.delay.map_or(Duration::ZERO, |d| d.0),
            reply_qos: qos(checker, &at(&path, &[key("reply_qos")]), r.reply_qos),
            retain: r.retain,
            payload,
            set,
            script,
        });
    }
    let uses_scripts = rules.iter().any(|r| r.script.is_some());

    Plan {
        name: file.name.clone().unwrap_or_else(|| "Simulator".into()),
        seed: file.seed.unwrap_or_else(|| fastrand::u64(..)),
        device: DevicePlan {
            count: d.count,
            id,
            client_id,
            level,
            keep_alive: d.keep_alive,
            clean_start: d.clean_start,
            session_expiry: d.session_expiry,
            username,
            password: d.password.clone(),
            connect_rate: d.connect_rate,
            will,
            birth,
            vars,
            state,
            reconnect,
            flaky,
        },
        streams,
        rules,
        sandbox: uses_scripts.then(|| Arc::new(sandbox)),
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
