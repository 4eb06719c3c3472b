//! What the Learn view shows, in the learner's language: the lesson list with progress and the
//! refused files, and the open lesson (its step, task, hints, checks, actors).

use crate::actor::ActorStatus;
use crate::load::RejectedFile;
use serde::Serialize;

/// A lesson in the list.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LessonSummary {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub steps: u32,
    pub steps_done: u32,
    /// Built into the app (false: a file in the lessons folder).
    pub built_in: bool,
}

/// The lesson list.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LessonList {
    pub lessons: Vec<LessonSummary>,
    /// Lesson files that were refused, each with its problems (line and field).
    pub rejected: Vec<RejectedFile>,
    /// The folder teachers put lesson files in (empty when the app saves nothing).
    pub folder: String,
}

/// One check of the step and whether it holds yet.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CheckView {
    pub says: String,
    pub holds: bool,
}

/// A button a lesson gives an actor (a prepared publish).
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ButtonView {
    pub index: u32,
    pub label: String,
}

/// An actor on the lesson page.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ActorView {
    /// `mqtt` (on the embedded broker) or `amqp` (on RabbitMQ: only connect, disconnect, pause,
    /// resume and its buttons apply).
    pub kind: crate::format::ActorKind,
    /// Pause applies: every MQTT actor; an AMQP actor only when it acks by hand (a worker).
    pub pausable: bool,
    pub role: String,
    pub status: ActorStatus,
    pub buttons: Vec<ButtonView>,
}

/// The open lesson.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LessonState {
    pub id: String,
    pub title: String,
    /// The titles of every step, for the step bar.
    pub step_titles: Vec<String>,
    pub step: u32,
    pub steps_done: Vec<u32>,
    pub text: String,
    pub task: String,
    pub hints: Vec<String>,
    /// Show the wildcard playground.
    pub playground: bool,
    pub checks: Vec<CheckView>,
    /// Every check of this step held: the step is done.
    pub done: bool,
    /// Every step is done.
    pub complete: bool,
    /// The RabbitMQ the lesson's AMQP actors use; none when it has none.
    pub rabbitmq: Option<RabbitView>,
    pub actors: Vec<ActorView>,
}

/// The RabbitMQ a lesson needs, and whether it answers.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RabbitView {
    /// The URL without its password.
    pub url: String,
    /// Why an AMQP actor could not connect (in words), empty when none failed.
    pub problem: String,
}
