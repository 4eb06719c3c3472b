//! The lesson runner: one open lesson at a time on the app's embedded broker. Opening a lesson
//! starts its actors; each step's checks are evaluated over the broker's packet log (the same
//! log the sequence diagram and live map read) since the step began or the learner's last
//! action; a step whose checks all hold is done and saved. Reset stops the actors, deletes the
//! retained messages the lesson left and the actors' sessions, and starts the lesson again.
//!
//! While a lesson is open, a task looks at the log five times a second (reading only what is
//! new); with no lesson open nothing runs. Changes are told through [`Learn::changed`].

use crate::actor::amqp::AmqpLog;
use crate::actor::{Action, ActorHandle};
use crate::format::{ActionKind, ActionSpec, ActorKind, MessageSpec};
use crate::load::{Catalog, Lesson, Origin};
use crate::look::{look, Eval};
use crate::progress::Progress;
use crate::view::{ActorView, ButtonView, CheckView, LessonList, LessonState, LessonSummary};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use workbench_core::broker::service::BrokerService;
use workbench_core::hub::TrafficHub;
use workbench_tools::Target;
use workbench_wire::{Direction, PacketKind, SourceId};

/// The largest payload a learner has an actor publish.
const MAX_PAYLOAD: usize = 64 * 1024;

/// Why the runner could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LearnError {
    #[error("there is no lesson \"{0}\"")]
    NoLesson(String),
    #[error("no lesson is open")]
    NotOpen,
    #[error("the lesson has no actor \"{0}\"")]
    NoActor(String),
    #[error("the lesson has no step {0}")]
    NoStep(u32),
    #[error("{0}")]
    InvalidInput(String),
    #[error("the broker is not running and could not start: {0}")]
    Broker(String),
    #[error("the actor {0} is busy; try again")]
    Busy(String),
}

impl workbench_wire::Coded for LearnError {
    fn code(&self) -> workbench_wire::ErrorCode {
        use workbench_wire::ErrorCode;
        match self {
            LearnError::NoLesson(_) | LearnError::NoActor(_) | LearnError::NoStep(_) => {
                ErrorCode::NotFound
            }
            LearnError::NotOpen | LearnError::Busy(_) => ErrorCode::InvalidState,
            LearnError::InvalidInput(_) => ErrorCode::InvalidInput,
            LearnError::Broker(_) => ErrorCode::Unreachable,
        }
    }
}

struct Active {
    lesson: Lesson,
    actors: Vec<ActorHandle>,
    /// The log's serial when the lesson (re)started: what the lesson left is found after it.
    started_at: u64,
    eval: Arc<Mutex<Eval>>,
    /// What the lesson's AMQP actors did, for the checks.
    amqp: Arc<AmqpLog>,
    looker: tokio::task::JoinHandle<()>,
    /// The broker's settings before the lesson added its users.
    restore: Option<workbench_broker::BrokerSettings>,
}

/// The lessons and the one open.
pub struct Learn {
    data_dir: Option<PathBuf>,
    hub: Arc<TrafficHub>,
    broker: Arc<BrokerService>,
    catalog: Mutex<Catalog>,
    progress: Arc<Mutex<Progress>>,
    active: tokio::sync::Mutex<Option<Active>>,
    changed: Arc<Notify>,
    /// The RabbitMQ the AMQP actors use (with its password: never shown).
    rabbitmq: Mutex<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Learn {
    /// The lessons built in and in `data_dir/lessons/`; progress kept in `data_dir`.
    pub fn new(
        data_dir: Option<PathBuf>,
        hub: Arc<TrafficHub>,
        broker: Arc<BrokerService>,
    ) -> Learn {
        Learn {
            catalog: Mutex::new(Catalog::load(data_dir.as_deref())),
            progress: Arc::new(Mutex::new(Progress::load(data_dir.as_deref()))),
            data_dir,
            hub,
            broker,
            active: tokio::sync::Mutex::new(None),
            changed: Arc::new(Notify::new()),
            rabbitmq: Mutex::new(crate::rabbit::DEFAULT_URL.to_string()),
        }
    }

    /// Waits until something the Learn view shows changed (one waiter: the front end's pump).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// Reads the lessons folder again (a teacher added or fixed a file).
    pub fn reload(&self) {
        *lock(&self.catalog) = Catalog::load(self.data_dir.as_deref());
    }

    /// The lesson list in `language`.
    pub fn list(&self, language: &str) -> LessonList {
        let catalog = lock(&self.catalog);
        let progress = lock(&self.progress);
        LessonList {
            lessons: catalog
                .lessons
                .iter()
                .map(|l| LessonSummary {
                    id: l.file.id.clone(),
                    title: l.file.title.get(language).to_string(),
                    summary: l.file.summary.get(language).to_string(),
                    steps: l.file.steps.len() as u32,
                    steps_done: progress.steps_done(&l.file.id).len() as u32,
                    built_in: l.origin == Origin::BuiltIn,
                })
                .collect(),
            rejected: catalog.rejected.clone(),
            folder: self
                .data_dir
                .as_ref()
                .map(|d| d.join(crate::load::LESSONS_FOLDER).display().to_string())
                .unwrap_or_default(),
        }
    }

    fn serial(&self) -> u64 {
        self.hub
            .read_source(&SourceId::Broker, |m| m.packets_total())
    }

    async fn target(&self) -> Result<Target, LearnError> {
        if let Some(address) = self.broker.status().await.address {
            return Ok(Target::tcp(address));
        }
        let status = self
            .broker
            .start(None)
            .await
            .map_err(|e| LearnError::Broker(e.to_string()))?;
        status
            .address
            .map(Target::tcp)
            .ok_or_else(|| LearnError::Broker("no address".into()))
    }

    /// Opens lesson `id` at its first step not done (closing the open one), starting its actors.
    pub async fn open(&self, id: &str) -> Result<(), LearnError> {
        let lesson = lock(&self.catalog)
            .get(id)
            .cloned()
            .ok_or_else(|| LearnError::NoLesson(id.to_string()))?;
        let mut active = self.active.lock().await;
        if let Some(old) = active.take() {
            self.finish(old).await;
        }
        let restore = crate::users::require(&self.broker, &lesson.file.broker_users).await?;
        let target = self.target().await?;
        let first = {
            let progress = lock(&self.progress);
            let done = progress.steps_done(id);
            (0..lesson.file.steps.len() as u32)
                .find(|s| !done.contains(s))
                .unwrap_or(0) as usize
        };
        *active = Some(self.begin(lesson, target, first, restore));
        drop(active);
        self.enter_step(first).await;
        self.changed.notify_one();
        Ok(())
    }

    fn begin(
        &self,
        lesson: Lesson,
        target: Target,
        step: usize,
        restore: Option<workbench_broker::BrokerSettings>,
    ) -> Active {
        let changed = self.changed.clone();
        let on_change: Arc<dyn Fn() + Send + Sync> = Arc::new(move || changed.notify_one());
        let amqp = Arc::new(AmqpLog::default());
        let rabbit = crate::rabbit::target(&lock(&self.rabbitmq));
        let actors = lesson
            .file
            .actors
            .iter()
            .map(|spec| match spec.kind {
                ActorKind::Mqtt => {
                    ActorHandle::start(spec.clone(), target.clone(), on_change.clone())
                }
                ActorKind::Amqp => crate::actor::amqp::start(
                    spec.clone(),
                    rabbit.clone(),
                    amqp.clone(),
                    on_change.clone(),
                ),
            })
            .collect();
        let started_at = self.serial();
        let eval = Arc::new(Mutex::new(Eval {
            lesson: lesson.file.id.clone(),
            step,
            window_from: started_at,
            amqp_from: 0,
            results: vec![false; lesson.file.steps[step].checks.len()],
            done: false,
        }));
        let looker = tokio::spawn(look(
            lesson.clone(),
            eval.clone(),
            self.hub.clone(),
            amqp.clone(),
            self.progress.clone(),
            self.changed.clone(),
        ));
        Active {
            lesson,
            actors,
            started_at,
            eval,
            amqp,
            looker,
            restore,
        }
    }

    /// Makes `step` the current one: its checks start over and its opening actions run.
    async fn enter_step(&self, step: usize) {
        let active = self.active.lock().await;
        let Some(active) = active.as_ref() else {
            return;
        };
        let Some(spec) = active.lesson.file.steps.get(step) else {
            return;
        };
        {
            let mut eval = lock(&active.eval);
            eval.step = step;
            eval.window_from = self.serial();
            eval.amqp_from = active.amqp.total();
            eval.results = vec![false; spec.checks.len()];
            eval.done = false;
        }
        for action in &spec.on_start {
            if let Some(actor) = active.actors.iter().find(|a| a.id == action.actor) {
                actor.act(action_of(action));
            }
        }
    }

    /// Goes to step `step` of the open lesson.
    pub async fn go_to_step(&self, step: u32) -> Result<(), LearnError> {
        {
            let active = self.active.lock().await;
            let active = active.as_ref().ok_or(LearnError::NotOpen)?;
            if step as usize >= active.lesson.file.steps.len() {
                return Err(LearnError::NoStep(step));
            }
        }
        self.enter_step(step as usize).await;
        self.changed.notify_one();
        Ok(())
    }

    /// Has an actor of the open lesson act as the learner asked; the checks then look only at
    /// what happens from now on.
    pub async fn act(
        &self,
        actor: &str,
        kind: ActionKind,
        filter: Option<String>,
        qos: u8,
        message: Option<MessageSpec>,
    ) -> Result<(), LearnError> {
        if qos > 2 || message.as_ref().is_some_and(|m| m.qos > 2) {
            return Err(LearnError::InvalidInput("QoS is 0, 1 or 2".into()));
        }
        if let Some(filter) = &filter {
            workbench_wire::topic::validate_filter(filter).map_err(|e| {
                LearnError::InvalidInput(format!("\"{filter}\" is not a valid topic filter: {e}"))
            })?;
        }
        if let Some(message) = &message {
            if message.payload.len() > MAX_PAYLOAD {
                return Err(LearnError::InvalidInput(format!(
                    "a lesson's payload is at most {} KiB",
                    MAX_PAYLOAD / 1024
                )));
            }
            workbench_wire::topic::validate_name(&message.topic).map_err(|e| {
                LearnError::InvalidInput(format!("\"{}\" is not a valid topic: {e}", message.topic))
            })?;
        }
        match kind {
            ActionKind::Subscribe | ActionKind::Unsubscribe if filter.is_none() => {
                return Err(LearnError::InvalidInput("a topic filter is needed".into()))
            }
            ActionKind::Publish | ActionKind::PublishAndDrop if message.is_none() => {
                return Err(LearnError::InvalidInput("a topic is needed".into()))
            }
            _ => {}
        }
        let action = Action {
            kind,
            filter,
            qos,
            message,
            button: None,
        };
        if let Some(active) = self.active.lock().await.as_ref() {
            crate::rabbit::refuse(&active.lesson.file.actors, actor, kind)?;
        }
        self.send(actor, action).await
    }

    /// Sends the prepared publish `button` of `actor` (a button the lesson gives it).
    pub async fn press(&self, actor: &str, button: u32) -> Result<(), LearnError> {
        let (message, button) = {
            let active = self.active.lock().await;
            let active = active.as_ref().ok_or(LearnError::NotOpen)?;
            let spec = active
                .lesson
                .file
                .actors
                .iter()
                .find(|a| a.id == actor)
                .ok_or_else(|| LearnError::NoActor(actor.to_string()))?;
            spec.publish
                .get(button as usize)
                .filter(|p| p.button.is_some())
                .map(|p| (p.message(), Some(button as usize)))
                .ok_or_else(|| {
                    LearnError::InvalidInput(format!("{actor} has no button {button}"))
                })?
        };
        let kind = ActionKind::Publish;
        let action = Action {
            kind,
            filter: None,
            qos: message.qos,
            message: Some(message),
            button,
        };
        self.send(actor, action).await
    }

    async fn send(&self, actor: &str, action: Action) -> Result<(), LearnError> {
        let active = self.active.lock().await;
        let active = active.as_ref().ok_or(LearnError::NotOpen)?;
        let handle = active
            .actors
            .iter()
            .find(|a| a.id == actor)
            .ok_or_else(|| LearnError::NoActor(actor.to_string()))?;
        {
            // In a step with an `absent` check only what follows the learner's last action
            // counts: the last attempt is judged, not the first.
            let mut eval = lock(&active.eval);
            let judged_last = active
                .lesson
                .file
                .steps
                .get(eval.step)
                .is_some_and(|s| s.checks.iter().any(|c| c.absent));
            if !eval.done && judged_last {
                eval.window_from = self.serial();
                eval.amqp_from = active.amqp.total();
            }
        }
        if !handle.act(action) {
            return Err(LearnError::Busy(actor.to_string()));
        }
        Ok(())
    }

    /// The RabbitMQ URL the AMQP actors of lessons use from now on (`amqp://user:pass@host/vhost`);
    /// an open lesson with AMQP actors starts its current step again on it.
    pub async fn set_rabbitmq(&self, url: &str) -> Result<(), LearnError> {
        let url = url.trim();
        workbench_amqp::AmqpTarget::parse(url)
            .map_err(|e| LearnError::InvalidInput(e.to_string()))?;
        *lock(&self.rabbitmq) = url.to_string();
        let uses_amqp = self.active.lock().await.as_ref().is_some_and(|a| {
            a.lesson
                .file
                .actors
                .iter()
                .any(|s| s.kind == ActorKind::Amqp)
        });
        if uses_amqp {
            self.reset().await?;
        }
        self.changed.notify_one();
        Ok(())
    }

    /// Puts the broker and the actors back and starts the open lesson again at its current step.
    pub async fn reset(&self) -> Result<(), LearnError> {
        let mut active = self.active.lock().await;
        let old = active.take().ok_or(LearnError::NotOpen)?;
        let step = lock(&old.eval).step;
        let lesson = old.lesson.clone();
        self.finish(old).await;
        let restore = crate::users::require(&self.broker, &lesson.file.broker_users).await?;
        let target = self.target().await?;
        *active = Some(self.begin(lesson, target, step, restore));
        drop(active);
        self.enter_step(step).await;
        self.changed.notify_one();
        Ok(())
    }

    /// Closes the open lesson, leaving the broker as it was before it.
    pub async fn close(&self) {
        if let Some(old) = self.active.lock().await.take() {
            self.finish(old).await;
        }
        self.changed.notify_one();
    }

    /// Forgets a lesson's progress.
    pub fn forget(&self, id: &str) {
        lock(&self.progress).forget(id);
        self.changed.notify_one();
    }

    /// Stops the actors (their sessions forgotten) and deletes the retained messages the lesson
    /// left: its actors' retained publishes and wills, and any retained message the log shows
    /// an actor sent since the lesson started.
    async fn finish(&self, old: Active) {
        old.looker.abort();
        for actor in old.actors {
            actor.stop(true).await;
        }
        let ids: BTreeSet<&str> = old
            .lesson
            .file
            .actors
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        let mut topics: BTreeSet<String> = BTreeSet::new();
        for actor in &old.lesson.file.actors {
            if let Some(will) = actor.will.as_ref().filter(|w| w.retain) {
                topics.insert(will.topic.clone());
            }
            for p in actor.publish.iter().filter(|p| p.retain) {
                topics.insert(p.topic.clone());
            }
        }
        let since = old.started_at;
        self.hub.read_source(&SourceId::Broker, |m| {
            let new = m.packets_total().saturating_sub(since) as usize;
            for e in m.packets().rev().take(new) {
                let s = &e.summary;
                if s.kind == PacketKind::Publish
                    && s.retain
                    && e.direction == Direction::Inbound
                    && ids.contains(&*e.client_id)
                {
                    if let Some(t) = &s.topic {
                        topics.insert(t.clone());
                    }
                }
            }
        });
        topics.retain(|t| !t.contains('{'));
        let topics: Vec<String> = topics.into_iter().collect();
        if !topics.is_empty() {
            let _ = self.broker.delete_retained(&topics).await;
        }
        crate::users::restore(&self.broker, old.restore).await;
    }

    /// The open lesson in `language`, if any.
    pub async fn state(&self, language: &str) -> Option<LessonState> {
        let active = self.active.lock().await;
        let active = active.as_ref()?;
        let file = &active.lesson.file;
        let (step, results, done) = {
            let eval = lock(&active.eval);
            (eval.step, eval.results.clone(), eval.done)
        };
        let spec = file.steps.get(step)?;
        let steps_done = lock(&self.progress).steps_done(&file.id).to_vec();
        Some(LessonState {
            id: file.id.clone(),
            title: file.title.get(language).to_string(),
            step_titles: file
                .steps
                .iter()
                .map(|s| s.title.get(language).to_string())
                .collect(),
            step: step as u32,
            complete: (0..file.steps.len() as u32).all(|s| steps_done.contains(&s)),
            steps_done,
            text: spec.text.get(language).to_string(),
            task: spec.task.get(language).to_string(),
            hints: spec
                .hints
                .iter()
                .map(|h| h.get(language).to_string())
                .collect(),
            playground: spec.playground,
            checks: spec
                .checks
                .iter()
                .zip(results.iter().chain(std::iter::repeat(&false)))
                .map(|(c, holds)| CheckView {
                    says: c.says.get(language).to_string(),
                    holds: *holds,
                })
                .collect(),
            done,
            rabbitmq: crate::rabbit::view(&lock(&self.rabbitmq), &file.actors, &active.actors),
            actors: active
                .actors
                .iter()
                .zip(&file.actors)
                .map(|(handle, spec)| ActorView {
                    kind: spec.kind,
                    pausable: crate::rabbit::pausable(spec),
                    role: spec
                        .role
                        .as_ref()
                        .map(|r| r.get(language).to_string())
                        .unwrap_or_default(),
                    status: handle.snapshot(),
                    buttons: spec
                        .publish
                        .iter()
                        .enumerate()
                        .filter_map(|(i, p)| {
                            p.button.as_ref().map(|b| ButtonView {
                                index: i as u32,
                                label: b.get(language).to_string(),
                            })
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

fn action_of(spec: &ActionSpec) -> Action {
    Action {
        kind: spec.action,
        filter: spec.filter.clone(),
        qos: spec.qos.unwrap_or(0),
        message: spec.message.clone(),
        button: None,
    }
}
