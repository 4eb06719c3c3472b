//! Reading lesson files: the built-in set (compiled in) and the `.toml` files in the data
//! folder's `lessons/`, each checked before it is offered. A broken file never stops the others:
//! it is listed with its problems, each naming its line and field (`line 12, steps[0].checks[1].to:
//! no actor is called "dashbord"`).

use crate::format::{ActionKind, ActionSpec, CheckSpec, LessonFile, MessageSpec, Text};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};
use workbench_wire::topic;

/// The built-in lessons, in the same format a teacher writes.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "01-why-a-broker.toml",
        include_str!("../lessons/01-why-a-broker.toml"),
    ),
    (
        "02-publish-subscribe.toml",
        include_str!("../lessons/02-publish-subscribe.toml"),
    ),
    (
        "03-connect.toml",
        include_str!("../lessons/03-connect.toml"),
    ),
    (
        "04-subscribe.toml",
        include_str!("../lessons/04-subscribe.toml"),
    ),
    (
        "05-wildcards.toml",
        include_str!("../lessons/05-wildcards.toml"),
    ),
    ("06-qos.toml", include_str!("../lessons/06-qos.toml")),
    (
        "07-persistent-sessions.toml",
        include_str!("../lessons/07-persistent-sessions.toml"),
    ),
    (
        "08-retained.toml",
        include_str!("../lessons/08-retained.toml"),
    ),
    (
        "09-last-will.toml",
        include_str!("../lessons/09-last-will.toml"),
    ),
    (
        "10-keep-alive.toml",
        include_str!("../lessons/10-keep-alive.toml"),
    ),
    (
        "11-security.toml",
        include_str!("../lessons/11-security.toml"),
    ),
    (
        "12-queue-vs-pubsub.toml",
        include_str!("../lessons/12-queue-vs-pubsub.toml"),
    ),
    ("13-mqtt5.toml", include_str!("../lessons/13-mqtt5.toml")),
    (
        "14-rabbitmq-queues.toml",
        include_str!("../lessons/14-rabbitmq-queues.toml"),
    ),
];

/// The folder under the app's data folder that teachers put lesson files in.
pub const LESSONS_FOLDER: &str = "lessons";
/// The longest lesson file read.
pub const MAX_FILE: usize = 256 * 1024;
/// The most lesson files read from the folder.
pub const MAX_FILES: usize = 200;

/// Where a lesson came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    File(PathBuf),
}

/// A lesson that passed every check, ready to run.
#[derive(Debug, Clone)]
pub struct Lesson {
    pub file: LessonFile,
    pub origin: Origin,
}

/// One problem in a lesson file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LessonProblem {
    /// The line (from 1), when known.
    #[specta(type = Option<u32>)]
    pub line: Option<usize>,
    /// Where in the file (`steps[0].checks[1].to`), empty for the file as a whole.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for LessonProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.field.is_empty()) {
            (Some(line), false) => write!(f, "line {line}, {}: {}", self.field, self.message),
            (Some(line), true) => write!(f, "line {line}: {}", self.message),
            (None, false) => write!(f, "{}: {}", self.field, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// A lesson file that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RejectedFile {
    /// The file's name in the lessons folder.
    pub file: String,
    pub problems: Vec<LessonProblem>,
}

/// Every lesson offered, and the files that were refused.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub lessons: Vec<Lesson>,
    pub rejected: Vec<RejectedFile>,
}

impl Catalog {
    /// The built-in lessons and those in `data_dir/lessons/` (a file whose id is already taken
    /// is refused).
    pub fn load(data_dir: Option<&Path>) -> Catalog {
        let mut catalog = Catalog::default();
        for (name, text) in BUILT_IN {
            match parse(text) {
                Ok(file) => catalog.lessons.push(Lesson {
                    file,
                    origin: Origin::BuiltIn,
                }),
                // A test keeps this from happening; a broken built-in lesson is still only listed.
                Err(problems) => catalog.rejected.push(RejectedFile {
                    file: (*name).to_string(),
                    problems,
                }),
            }
        }
        if let Some(dir) = data_dir {
            catalog.load_folder(&dir.join(LESSONS_FOLDER));
        }
        catalog.lessons.sort_by(|a, b| {
            (a.file.order.unwrap_or(u32::MAX), &a.file.id)
                .cmp(&(b.file.order.unwrap_or(u32::MAX), &b.file.id))
        });
        catalog
    }

    fn load_folder(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths.into_iter().take(MAX_FILES) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = match workbench_session::files::read_text_bounded(&path, MAX_FILE) {
                Ok(text) => text,
                Err(error) => {
                    self.rejected.push(RejectedFile {
                        file: name,
                        problems: vec![LessonProblem {
                            line: None,
                            field: String::new(),
                            message: error.to_string(),
                        }],
                    });
                    continue;
                }
            };
            match parse(&text) {
                Ok(file) if self.lessons.iter().any(|l| l.file.id == file.id) => {
                    self.rejected.push(RejectedFile {
                        file: name,
                        problems: vec![LessonProblem {
                            line: locate(&text, &[key("id")]),
                            field: "id".into(),
                            message: format!("another lesson already has the id \"{}\"", file.id),
                        }],
                    })
                }
                Ok(file) => self.lessons.push(Lesson {
                    file,
                    origin: Origin::File(path),
                }),
                Err(problems) => self.rejected.push(RejectedFile {
                    file: name,
                    problems,
                }),
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Lesson> {
        self.lessons.iter().find(|l| l.file.id == id)
    }
}

/// Reads and checks one lesson file; every problem names its line and field.
pub fn parse(text: &str) -> Result<LessonFile, Vec<LessonProblem>> {
    if text.len() > MAX_FILE {
        return Err(vec![LessonProblem {
            line: None,
            field: String::new(),
            message: format!("the file is larger than {} KiB", MAX_FILE / 1024),
        }]);
    }
    let file: LessonFile = toml::Deserializer::parse(text)
        .map_err(|e| (String::new(), e))
        .and_then(|d| {
            serde_path_to_error::deserialize(d).map_err(|e| (e.path().to_string(), e.into_inner()))
        })
        .map_err(|(path, e)| {
            vec![LessonProblem {
                line: e.span().map(|s| line_of(text, s.start)),
                field: if path == "." { String::new() } else { path },
                message: e.message().trim().to_string(),
            }]
        })?;
    let mut checker = Checker {
        text,
        problems: Vec::new(),
    };
    checker.lesson(&file);
    if checker.problems.is_empty() {
        Ok(file)
    } else {
        checker
            .problems
            .sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        Err(checker.problems)
    }
}

/// A duration as files write it ("2s", "500ms").
pub fn duration(text: &str) -> Result<Duration, String> {
    workbench_tools::duration::parse(text)
}

/// The packet names a check may use.
pub const PACKETS: &[&str] = &[
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
];

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line of the deepest part of `path` present in the file.
fn locate(text: &str, path: &[Step]) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut value: Option<&DeValue<'_>> = None;
    let table: &DeTable<'_> = doc.get_ref();
    for (i, step) in path.iter().enumerate() {
        let next = match (step, value) {
            (Step::Key(k), None) if i == 0 => table.get(k.as_str()),
            (Step::Key(k), Some(v)) => v.get(k.as_str()),
            (Step::Index(n), Some(v)) => v.get(*n),
            _ => None,
        };
        let Some(next) = next else { break };
        span = Some(next.span());
        value = Some(next.get_ref());
    }
    span.map(|s| line_of(text, s.start))
}

struct Checker<'a> {
    text: &'a str,
    problems: Vec<LessonProblem>,
}

fn at(base: &[Step], more: &[Step]) -> Vec<Step> {
    base.iter().chain(more).cloned().collect()
}

impl Checker<'_> {
    fn error(&mut self, path: &[Step], message: impl Into<String>) {
        self.problems.push(LessonProblem {
            line: locate(self.text, path),
            field: path_text(path),
            message: message.into(),
        });
    }

    fn lesson(&mut self, file: &LessonFile) {
        if file.format != 1 {
            self.error(
                &[key("format")],
                format!(
                    "this app reads lesson format 1, not {} (a newer app may read it)",
                    file.format
                ),
            );
        }
        let id_ok = !file.id.is_empty()
            && file.id.len() <= 64
            && file
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            self.error(&[key("id")], "an id is 1 to 64 letters, digits, '-' or '_'");
        }
        if file
            .broker_users
            .keys()
            .any(|name| name.is_empty() || name.len() > 64)
        {
            self.error(&[key("broker_users")], "a user name is 1 to 64 characters");
        }
        self.text_of(&[key("title")], &file.title);
        self.text_of(&[key("summary")], &file.summary);
        let mut ids: Vec<&str> = Vec::new();
        for (i, actor) in file.actors.iter().enumerate() {
            let base = [key("actors"), Step::Index(i)];
            if actor.id.is_empty() || actor.id.len() > 64 {
                self.error(
                    &at(&base, &[key("id")]),
                    "an actor's id is 1 to 64 characters",
                );
            } else if ids.contains(&actor.id.as_str()) {
                self.error(
                    &at(&base, &[key("id")]),
                    format!("two actors are called \"{}\"", actor.id),
                );
            }
            ids.push(&actor.id);
            if actor.kind == crate::format::ActorKind::Amqp {
                self.amqp_actor(&base, actor);
                continue;
            }
            self.mqtt_actor(&base, actor);
            if actor.keep_alive != 0 && actor.keep_alive < 1 {
                self.error(&at(&base, &[key("keep_alive")]), "keep_alive is 0 or more");
            }
            if actor.session_expiry.is_some() && actor.version != crate::format::VersionSpec::V5 {
                self.error(
                    &at(&base, &[key("session_expiry")]),
                    "session_expiry needs version = \"5\"",
                );
            }
            if let Some(will) = &actor.will {
                self.message(&at(&base, &[key("will")]), will);
            }
            for (j, sub) in actor.subscribe.iter().enumerate() {
                let path = at(&base, &[key("subscribe"), Step::Index(j)]);
                self.filter(&at(&path, &[key("filter")]), &sub.filter);
                self.qos(&at(&path, &[key("qos")]), sub.qos);
            }
            for (j, publish) in actor.publish.iter().enumerate() {
                let path = at(&base, &[key("publish"), Step::Index(j)]);
                let message = publish.message();
                if !(publish.on.is_some() && message.topic == "{response_topic}") {
                    self.message(&path, &message);
                }
                let ways = [
                    publish.after.is_some(),
                    publish.every.is_some(),
                    publish.on.is_some(),
                    publish.button.is_some(),
                ];
                if ways.iter().filter(|w| **w).count() != 1 {
                    self.error(
                        &path,
                        "a publish says when with exactly one of after, every, on or button",
                    );
                }
                for (name, value) in [("after", &publish.after), ("every", &publish.every)] {
                    if let Some(value) = value {
                        match duration(value) {
                            Ok(d) if name == "every" && d < Duration::from_millis(100) => self
                                .error(
                                    &at(&path, &[key(name)]),
                                    "every is at least 100ms (a lesson is read, not flooded)",
                                ),
                            Ok(_) => {}
                            Err(e) => self.error(&at(&path, &[key(name)]), e),
                        }
                    }
                }
                if let Some(on) = &publish.on {
                    self.filter(&at(&path, &[key("on")]), on);
                }
                if let Some(button) = &publish.button {
                    self.text_of(&at(&path, &[key("button")]), button);
                }
            }
        }
        if file.steps.is_empty() {
            self.error(&[key("steps")], "a lesson has at least one step");
        }
        for (i, step) in file.steps.iter().enumerate() {
            let base = [key("steps"), Step::Index(i)];
            self.text_of(&at(&base, &[key("title")]), &step.title);
            self.text_of(&at(&base, &[key("text")]), &step.text);
            self.text_of(&at(&base, &[key("task")]), &step.task);
            for (j, action) in step.on_start.iter().enumerate() {
                self.action(&at(&base, &[key("on_start"), Step::Index(j)]), action, &ids);
            }
            if step.checks.iter().all(|c| c.absent) {
                self.error(
                    &at(&base, &[key("checks")]),
                    "a step needs at least one check that something happened (not only absent ones)",
                );
            }
            for (j, check) in step.checks.iter().enumerate() {
                self.check(&at(&base, &[key("checks"), Step::Index(j)]), check, &ids);
            }
        }
        self.amqp_steps(file);
    }

    fn text_of(&mut self, path: &[Step], text: &Text) {
        if text.en.trim().is_empty() {
            self.error(&at(path, &[key("en")]), "the English text is empty");
        }
    }

    fn qos(&mut self, path: &[Step], qos: u8) {
        if qos > 2 {
            self.error(path, format!("QoS is 0, 1 or 2, not {qos}"));
        }
    }

    fn filter(&mut self, path: &[Step], filter: &str) {
        if let Err(e) = topic::validate_filter(filter) {
            self.error(
                path,
                format!("\"{filter}\" is not a valid topic filter: {e}"),
            );
        }
    }

    fn message(&mut self, path: &[Step], message: &MessageSpec) {
        if let Err(e) = topic::validate_name(&message.topic) {
            self.error(
                &at(path, &[key("topic")]),
                format!("\"{}\" is not a valid topic: {e}", message.topic),
            );
        }
        self.qos(&at(path, &[key("qos")]), message.qos);
    }

    fn actor(&mut self, path: &[Step], name: &str, ids: &[&str]) {
        if !ids.contains(&name) {
            let known = if ids.is_empty() {
                "the lesson has no actors".to_string()
            } else {
                format!("the actors are {}", ids.join(", "))
            };
            self.error(path, format!("no actor is called \"{name}\" ({known})"));
        }
    }

    fn action(&mut self, path: &[Step], action: &ActionSpec, ids: &[&str]) {
        self.actor(&at(path, &[key("actor")]), &action.actor, ids);
        match action.action {
            ActionKind::Subscribe | ActionKind::Unsubscribe => match &action.filter {
                Some(filter) => self.filter(&at(path, &[key("filter")]), filter),
                None => self.error(path, "subscribe and unsubscribe need a filter"),
            },
            ActionKind::Publish | ActionKind::PublishAndDrop => match &action.message {
                Some(message) => {
                    self.message(&at(path, &[key("message")]), message);
                    if action.action == ActionKind::PublishAndDrop && message.qos == 0 {
                        self.error(
                            &at(path, &[key("message"), key("qos")]),
                            "publish_and_drop needs QoS 1 or 2 (QoS 0 is never sent again)",
                        );
                    }
                }
                None => self.error(path, "publish needs a message = { topic = ... }"),
            },
            _ => {}
        }
        if let Some(qos) = action.qos {
            self.qos(&at(path, &[key("qos")]), qos);
        }
    }

    fn check(&mut self, path: &[Step], check: &CheckSpec, ids: &[&str]) {
        if !PACKETS.contains(&check.packet.as_str()) {
            self.error(
                &at(path, &[key("packet")]),
                format!(
                    "\"{}\" is not a packet name (one of {})",
                    check.packet,
                    PACKETS.join(", ")
                ),
            );
        }
        match (&check.to, &check.from) {
            (Some(_), Some(_)) => self.error(path, "a check names either to or from, not both"),
            (Some(name), None) => self.actor(&at(path, &[key("to")]), name, ids),
            (None, Some(name)) => self.actor(&at(path, &[key("from")]), name, ids),
            (None, None) => {}
        }
        if let Some(filter) = &check.matching {
            self.filter(&at(path, &[key("matching")]), filter);
        }
        if let Some(qos) = check.qos {
            self.qos(&at(path, &[key("qos")]), qos);
        }
        if check.count == Some(0) {
            self.error(&at(path, &[key("count")]), "count is at least 1");
        }
        self.text_of(&at(path, &[key("says")]), &check.says);
    }
}

#[path = "load_amqp.rs"]
mod amqp;

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
