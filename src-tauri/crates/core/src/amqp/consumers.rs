//! One task per consumer: it takes the consumer's deliveries as they come (the `workbench-amqp`
//! crate has already reported them to the traffic views), keeps the unsettled ones of a
//! manual-ack consumer for the UI's ack buttons, and runs settle and cancel requests, so a
//! consumer is only ever touched by its own task.
//!
//! Bounds: the broker sends at most `prefetch` (1 to 65535) unsettled deliveries, and the tags of
//! those are kept; their details for the UI only for the newest [`MAX_SHOWN`] (older ones are
//! counted as dropped from the list, and may still be settled by tag). Requests wait in a small
//! bounded queue.

use super::notices::Notices;
use super::{preview, AmqpFailure, AmqpPending, AmqpSettle};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use workbench_amqp::{AckMode, AmqpConsumer, AmqpDelivery, AmqpError, ConsumeSpec};

/// Unsettled deliveries listed for the UI, per consumer.
pub const MAX_SHOWN: usize = 1000;

/// A consumer's unsettled deliveries.
#[derive(Debug, Default)]
pub struct PendingList {
    shown: VecDeque<AmqpPending>,
    unsettled: BTreeSet<u64>,
}

impl PendingList {
    pub fn add(&mut self, d: &AmqpDelivery) {
        self.unsettled.insert(d.delivery_tag);
        self.shown.push_back(AmqpPending {
            delivery_tag: d.delivery_tag,
            exchange: d.exchange.clone(),
            routing_key: d.routing_key.clone(),
            redelivered: d.redelivered,
            size: u32::try_from(d.body.len()).unwrap_or(u32::MAX),
            preview: preview(&d.body),
        });
        if self.shown.len() > MAX_SHOWN {
            self.shown.pop_front();
        }
    }

    /// Whether settling `tag` (with `multiple`, everything up to it) settles anything waiting.
    pub fn waiting(&self, tag: u64, multiple: bool) -> bool {
        if multiple {
            self.unsettled.range(..=tag).next().is_some()
        } else {
            self.unsettled.contains(&tag)
        }
    }

    pub fn settled(&mut self, tag: u64, multiple: bool) {
        if multiple {
            self.unsettled = self.unsettled.split_off(&(tag + 1));
            self.shown.retain(|p| p.delivery_tag > tag);
        } else {
            self.unsettled.remove(&tag);
            self.shown.retain(|p| p.delivery_tag != tag);
        }
    }

    /// The listed deliveries, oldest first, and how many unsettled ones are not listed.
    pub fn snapshot(&self) -> (Vec<AmqpPending>, u32) {
        let dropped = self.unsettled.len().saturating_sub(self.shown.len());
        (
            self.shown.iter().cloned().collect(),
            u32::try_from(dropped).unwrap_or(u32::MAX),
        )
    }
}

/// What a consumer's task is asked to do.
pub(crate) enum Command {
    Settle {
        delivery_tag: u64,
        how: AmqpSettle,
        requeue: bool,
        multiple: bool,
        reply: oneshot::Sender<Result<(), AmqpError>>,
    },
    Cancel {
        reply: oneshot::Sender<Result<(), AmqpError>>,
    },
    /// The session's connection was lost: end, saying why.
    Lost { failure: AmqpFailure },
}

/// A running consumer, as its session holds it.
pub(crate) struct ConsumerHandle {
    /// What it was started with (the broker's tag in `consumer_tag`).
    pub spec: ConsumeSpec,
    pub commands: mpsc::Sender<Command>,
    pub list: Arc<Mutex<PendingList>>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the task of `consumer` (of session `id`); `on_end` runs when it ends, however.
pub(crate) fn spawn(
    id: String,
    consumer: AmqpConsumer,
    spec: &ConsumeSpec,
    notices: Arc<Notices>,
    on_end: Box<dyn FnOnce() + Send>,
) -> ConsumerHandle {
    let (commands, rx) = mpsc::channel(64);
    let list = Arc::new(Mutex::new(PendingList::default()));
    let spec = ConsumeSpec {
        consumer_tag: consumer.tag().to_string(),
        ..spec.clone()
    };
    let task = tokio::spawn(run(
        id,
        consumer,
        spec.ack,
        notices,
        rx,
        list.clone(),
        on_end,
    ));
    ConsumerHandle {
        spec,
        commands,
        list,
        task,
    }
}

async fn run(
    id: String,
    mut consumer: AmqpConsumer,
    ack: AckMode,
    notices: Arc<Notices>,
    mut commands: mpsc::Receiver<Command>,
    list: Arc<Mutex<PendingList>>,
    on_end: Box<dyn FnOnce() + Send>,
) {
    let tag = consumer.tag().to_string();
    let lock = || list.lock().unwrap_or_else(|p| p.into_inner());
    let failure = loop {
        tokio::select! {
            delivery = consumer.next() => match delivery {
                Some(d) => {
                    if ack == AckMode::Manual {
                        lock().add(&d);
                        notices.unsettled(&id, &tag, &list);
                    }
                }
                None => break consumer.ended().as_ref().map(AmqpFailure::from),
            },
            command = commands.recv() => match command {
                Some(Command::Settle { delivery_tag, how, requeue, multiple, reply }) => {
                    let result = settle(&consumer, ack, &lock(), delivery_tag, how, multiple);
                    let result = match result {
                        Ok(()) => match how {
                            AmqpSettle::Ack => consumer.ack(delivery_tag, multiple).await,
                            AmqpSettle::Nack => consumer.nack(delivery_tag, multiple, requeue).await,
                            AmqpSettle::Reject => consumer.reject(delivery_tag, requeue).await,
                        },
                        Err(e) => Err(e),
                    };
                    if result.is_ok() {
                        lock().settled(delivery_tag, multiple);
                        notices.unsettled(&id, &tag, &list);
                    }
                    let _ = reply.send(result);
                }
                Some(Command::Cancel { reply }) => {
                    let _ = reply.send(consumer.cancel().await);
                    break None;
                }
                Some(Command::Lost { failure }) => break Some(failure),
                // The session is gone: the consumer's channel closes with it.
                None => break Some(AmqpFailure {
                    code: "ConnectionClosed".into(),
                    message: "the session's connection closed".into(),
                }),
            },
        }
    };
    notices.ended(&id, &tag, failure);
    on_end();
}

/// Checks a settle request before it reaches the broker (an unknown delivery tag would make
/// RabbitMQ close the consumer's channel).
fn settle(
    consumer: &AmqpConsumer,
    ack: AckMode,
    list: &PendingList,
    delivery_tag: u64,
    how: AmqpSettle,
    multiple: bool,
) -> Result<(), AmqpError> {
    if ack == AckMode::Auto {
        return Err(AmqpError::BadInput(format!(
            "consumer {} uses automatic acks: the broker counted its deliveries as handled when it sent them",
            consumer.tag()
        )));
    }
    if how == AmqpSettle::Reject && multiple {
        return Err(AmqpError::BadInput(
            "reject settles one delivery: use nack for several at once".into(),
        ));
    }
    if !list.waiting(delivery_tag, multiple) {
        return Err(AmqpError::BadInput(format!(
            "delivery {delivery_tag} is not waiting to be settled by consumer {} (already settled, or not delivered to it)",
            consumer.tag()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(tag: u64) -> AmqpDelivery {
        AmqpDelivery {
            delivery_tag: tag,
            exchange: String::new(),
            routing_key: "q".into(),
            redelivered: false,
            properties: Default::default(),
            body: "hi".into(),
        }
    }

    #[test]
    fn the_list_is_bounded_and_settles_one_or_many() {
        let mut list = PendingList::default();
        for tag in 1..=(MAX_SHOWN as u64 + 5) {
            list.add(&delivery(tag));
        }
        let (shown, dropped) = list.snapshot();
        assert_eq!((shown.len(), dropped), (MAX_SHOWN, 5));
        assert_eq!(shown[0].delivery_tag, 6);
        // The oldest are off the list but still waiting.
        assert!(list.waiting(2, false));
        list.settled(3, true);
        assert!(!list.waiting(2, false) && !list.waiting(3, true));
        assert_eq!(list.snapshot().1, 2);
        list.settled(10, false);
        assert!(!list.waiting(10, false) && list.waiting(11, false));
        assert_eq!(list.snapshot().0.len(), MAX_SHOWN - 1);
    }
}
