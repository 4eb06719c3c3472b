//! The task that judges the open lesson's current step: five times a second it reads what is new
//! in the embedded broker's packet log (in the traffic hub) and in the lesson's AMQP log (what its
//! RabbitMQ actors did, written as the broker would see it), evaluates the step's checks over both
//! since the step began or the learner's last action, and marks the step done when all hold.

use crate::actor::amqp::AmqpLog;
use crate::check;
use crate::load::Lesson;
use crate::progress::Progress;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use workbench_core::hub::TrafficHub;
use workbench_wire::SourceId;

/// How often an open lesson looks for new packets.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// Where the current step's checks stand (shared with the task that evaluates them).
pub(crate) struct Eval {
    pub lesson: String,
    pub step: usize,
    /// The window: the broker's packets with a serial above this count...
    pub window_from: u64,
    /// ...and the AMQP log's events above this one.
    pub amqp_from: u64,
    pub results: Vec<bool>,
    pub done: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Evaluates the current step's checks over new packets until the lesson closes.
pub(crate) async fn look(
    lesson: Lesson,
    eval: Arc<Mutex<Eval>>,
    hub: Arc<TrafficHub>,
    amqp: Arc<AmqpLog>,
    progress: Arc<Mutex<Progress>>,
    changed: Arc<Notify>,
) {
    let mut ticker = tokio::time::interval(LOOK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let (step, from, amqp_from) = {
            let eval = lock(&eval);
            if eval.done {
                continue;
            }
            (eval.step, eval.window_from, eval.amqp_from)
        };
        let Some(spec) = lesson.file.steps.get(step) else {
            continue;
        };
        let amqp_events = amqp.since(amqp_from);
        let results: Vec<bool> = hub.read_source(&SourceId::Broker, |m| {
            let new = m.packets_total().saturating_sub(from) as usize;
            let names = check::Names::of(m.packets().rev().take(new));
            spec.checks
                .iter()
                .map(|c| {
                    check::holds(
                        c,
                        m.packets().rev().take(new).chain(amqp_events.iter()),
                        &names,
                    )
                })
                .collect()
        });
        let all = results.iter().all(|r| *r);
        let mut e = lock(&eval);
        if e.step != step || e.window_from != from || e.amqp_from != amqp_from {
            continue; // The learner moved on meanwhile: look again at the next tick.
        }
        if e.results != results || all {
            e.results = results;
            e.done = all;
            let lesson_id = e.lesson.clone();
            drop(e);
            if all {
                lock(&progress).step_done(&lesson_id, step as u32);
            }
            changed.notify_one();
        }
    }
}
