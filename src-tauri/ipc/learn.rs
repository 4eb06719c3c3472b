//! Learn commands: the lesson list (built in and from the data folder's `lessons/`, with the
//! files refused and why), opening a lesson, its state in the learner's language, moving between
//! steps, the learner's actions on the lesson's actors, reset and close. Every change is pushed
//! as [`LearnChanged`]; the view then asks for the state. Bodies are calls into
//! [`workbench_learn`].

use super::IpcError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tauri::Manager;
use tauri_specta::Event;
use workbench_learn::format::{ActionKind, MessageSpec};
use workbench_learn::playground::TopicMatch;
use workbench_learn::view::{LessonList, LessonState};
use workbench_learn::{Learn, LearnError};

type State<'a> = tauri::State<'a, Arc<Learn>>;

/// The open lesson, its progress or the lesson list changed: ask again.
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct LearnChanged(pub bool);

/// How long changes gather before one event goes out.
const SETTLE: Duration = Duration::from_millis(100);

/// Pushes [`LearnChanged`] until the app ends (started once at setup).
pub async fn push_changes(handle: tauri::AppHandle) {
    let learn = handle.state::<Arc<Learn>>().inner().clone();
    loop {
        learn.changed().await;
        tokio::time::sleep(SETTLE).await;
        let _ = LearnChanged(true).emit(&handle);
    }
}

fn coded(error: LearnError) -> IpcError {
    IpcError::from_coded(&error)
}

/// A message the learner has an actor publish.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LearnMessage {
    pub topic: String,
    pub payload: String,
    pub qos: u8,
    pub retain: bool,
}

/// Every lesson with its progress in `language` ("en", "zh-CN"), and the refused files.
#[tauri::command]
#[specta::specta]
pub fn learn_lessons(learn: State<'_>, language: String) -> LessonList {
    learn.list(&language)
}

/// Reads the lessons folder again, then lists.
#[tauri::command]
#[specta::specta]
pub fn learn_reload(learn: State<'_>, language: String) -> LessonList {
    learn.reload();
    learn.list(&language)
}

/// Opens a lesson at its first step not done, starting its actors on the embedded broker.
#[tauri::command]
#[specta::specta]
pub async fn learn_open(learn: State<'_>, id: String) -> Result<(), IpcError> {
    learn.open(&id).await.map_err(coded)
}

/// The open lesson in `language`, or none.
#[tauri::command]
#[specta::specta]
pub async fn learn_state(
    learn: State<'_>,
    language: String,
) -> Result<Option<LessonState>, IpcError> {
    Ok(learn.state(&language).await)
}

/// Goes to step `step` (from 0) of the open lesson.
#[tauri::command]
#[specta::specta]
pub async fn learn_step(learn: State<'_>, step: u32) -> Result<(), IpcError> {
    learn.go_to_step(step).await.map_err(coded)
}

/// Has an actor act: connect, reconnect, disconnect, pull the plug, pause, resume, subscribe,
/// unsubscribe, publish, or publish and drop the connection before the acknowledgement.
#[tauri::command]
#[specta::specta]
pub async fn learn_act(
    learn: State<'_>,
    actor: String,
    action: ActionKind,
    filter: Option<String>,
    qos: u8,
    message: Option<LearnMessage>,
) -> Result<(), IpcError> {
    let message = message.map(|m| MessageSpec {
        topic: m.topic,
        payload: m.payload,
        qos: m.qos,
        retain: m.retain,
        ..MessageSpec::default()
    });
    learn
        .act(&actor, action, filter, qos, message)
        .await
        .map_err(coded)
}

/// Presses a button the lesson gives an actor (a prepared publish).
#[tauri::command]
#[specta::specta]
pub async fn learn_press(learn: State<'_>, actor: String, button: u32) -> Result<(), IpcError> {
    learn.press(&actor, button).await.map_err(coded)
}

/// Puts the broker and the actors back and starts the current step again.
#[tauri::command]
#[specta::specta]
pub async fn learn_reset(learn: State<'_>) -> Result<(), IpcError> {
    learn.reset().await.map_err(coded)
}

/// Closes the open lesson (its actors leave, what it retained is deleted).
#[tauri::command]
#[specta::specta]
pub async fn learn_close(learn: State<'_>) -> Result<(), IpcError> {
    learn.close().await;
    Ok(())
}

/// Forgets a lesson's progress.
#[tauri::command]
#[specta::specta]
pub fn learn_forget(learn: State<'_>, id: String) {
    learn.forget(&id);
}

/// The RabbitMQ the lessons' AMQP actors use (`amqp://user:pass@host:5672/vhost`); an open
/// lesson with AMQP actors starts its current step again on it. Kept while the app runs.
#[tauri::command]
#[specta::specta]
pub async fn learn_set_rabbitmq(learn: State<'_>, url: String) -> Result<(), IpcError> {
    learn.set_rabbitmq(&url).await.map_err(coded)
}

/// The wildcard playground: whether `filter` matches `topic`, or why either is invalid.
#[tauri::command]
#[specta::specta]
pub fn learn_match(filter: String, topic: String) -> TopicMatch {
    workbench_learn::playground::topic_match(&filter, &topic)
}
