//! Guided lessons on the embedded broker: short steps that start clients with telling names
//! (actors), give the learner a task, and check it from the packets the broker saw.
//!
//! - [`format`]: what a lesson file says (TOML, documented in `docs/lessons.md`).
//! - [`load`]: the built-in lessons and the data folder's `lessons/`, each file checked with the
//!   line and field of every problem.
//! - [`actor`]: one actor, a client on the wire codec that also misbehaves on request (pulls
//!   the plug, stops reading, drops the connection before an acknowledgement).
//! - [`check`]: checks over observed packets, pure functions.
//! - [`runner`]: the open lesson: actors, steps, checks evaluated over the broker's packet log,
//!   reset, and [`progress`] kept across restarts.
//! - [`view`]: what the Learn view shows, in the learner's language.
//! - [`playground`]: the topics lesson's filter-and-topic playground.
//! - [`rabbit`]: the RabbitMQ that AMQP actors (`kind = "amqp"`) use, for the lessons that show
//!   RabbitMQ's tutorials beside MQTT.
//!
//! It never imports tauri; the desktop shell's `ipc::learn` only adapts it.

pub mod actor;
pub mod check;
pub mod format;
pub mod load;
mod look;
pub mod playground;
pub mod progress;
pub mod rabbit;
pub mod runner;
mod users;
pub mod view;

pub use runner::{Learn, LearnError};
