//! A consumer on one queue: its own channel with its prefetch (basic.qos), deliveries handed to
//! the front end through a bounded channel and reported to the traffic views, and ack, nack and
//! reject by delivery tag.
//!
//! Bounds: with manual acks the broker sends at most `prefetch` unacknowledged messages, and the
//! delivery channel holds that many, so nothing grows. With automatic acks the broker does not
//! wait for anyone: deliveries the front end has not taken when [`DELIVERY_BUFFER`] are waiting
//! are dropped from the front end's view (still reported to the traffic model) and counted.

use crate::properties::AmqpProperties;
use crate::session::AmqpSession;
use crate::topology::check_name;
use crate::traffic::{Message, Reporter};
use crate::AmqpError;
use futures_lite::StreamExt;
use lapin::options::*;
use lapin::types::FieldTable;
use lapin::Channel;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use workbench_wire::Direction;

/// Default prefetch: enough to keep a consumer busy, small enough to watch messages wait.
pub const DEFAULT_PREFETCH: u16 = 100;
/// Deliveries waiting for the front end under automatic acks.
pub const DELIVERY_BUFFER: usize = 1024;

/// Who acknowledges deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AckMode {
    /// The consumer acks, nacks or rejects each delivery; unacknowledged ones go back to the
    /// queue when the consumer leaves.
    #[default]
    Manual,
    /// The broker counts a message as handled when it sends it (AMQP's `no-ack`).
    Auto,
}

impl std::str::FromStr for AckMode {
    type Err = AmqpError;

    fn from_str(s: &str) -> Result<AckMode, AmqpError> {
        match s {
            "manual" => Ok(AckMode::Manual),
            "auto" => Ok(AckMode::Auto),
            _ => Err(AmqpError::BadInput(format!(
                "ack mode \"{s}\": it is manual or auto"
            ))),
        }
    }
}

/// A consumer to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeSpec {
    pub queue: String,
    pub ack: AckMode,
    /// Unacknowledged deliveries the broker may send at once (1 to 65535; manual acks only).
    pub prefetch: u16,
    /// No other consumer may read the queue meanwhile.
    pub exclusive: bool,
    /// Empty: the broker picks one.
    pub consumer_tag: String,
}

impl Default for ConsumeSpec {
    fn default() -> ConsumeSpec {
        ConsumeSpec {
            queue: String::new(),
            ack: AckMode::Manual,
            prefetch: DEFAULT_PREFETCH,
            exclusive: false,
            consumer_tag: String::new(),
        }
    }
}

/// One delivered message.
#[derive(Debug, Clone, PartialEq)]
pub struct AmqpDelivery {
    /// The tag to ack, nack or reject it with (per consumer channel).
    pub delivery_tag: u64,
    pub exchange: String,
    pub routing_key: String,
    /// The broker delivered it before (to this or another consumer) without an ack.
    pub redelivered: bool,
    pub properties: AmqpProperties,
    pub body: bytes::Bytes,
}

impl AmqpDelivery {
    pub(crate) fn from_lapin(d: lapin::message::Delivery) -> AmqpDelivery {
        AmqpDelivery {
            delivery_tag: d.delivery_tag,
            exchange: d.exchange.as_str().to_string(),
            routing_key: d.routing_key.as_str().to_string(),
            redelivered: d.redelivered,
            properties: AmqpProperties::from_basic(&d.properties),
            body: bytes::Bytes::from(d.data),
        }
    }

    /// Reports it to the traffic views as a PUBLISH coming in.
    pub(crate) fn report(&self, reporter: &Reporter, manual_ack: bool) {
        let mut fields = self.properties.fields();
        fields.push(("Exchange", self.exchange.clone()));
        fields.push(("Routing Key", self.routing_key.clone()));
        fields.push(("Delivery Tag", self.delivery_tag.to_string()));
        fields.push(("Redelivered", self.redelivered.to_string()));
        reporter.message(
            Direction::Inbound,
            Message {
                exchange: &self.exchange,
                routing_key: &self.routing_key,
                body: &self.body,
                fields,
                manual_ack,
                redelivered: self.redelivered,
            },
        );
    }

    /// The topic it is shown under in the topic tree: `<exchange>/<routing key>`.
    pub fn topic(&self) -> String {
        crate::traffic::topic_for(&self.exchange, &self.routing_key)
    }
}

/// A running consumer.
pub struct AmqpConsumer {
    channel: Channel,
    tag: String,
    queue: String,
    ack: AckMode,
    deliveries: mpsc::Receiver<AmqpDelivery>,
    reporter: Arc<Reporter>,
    dropped: Arc<AtomicU64>,
    ended: Arc<Mutex<Option<AmqpError>>>,
    task: tokio::task::JoinHandle<()>,
    who: crate::error::Who,
}

impl AmqpConsumer {
    pub(crate) async fn start(
        session: &AmqpSession,
        spec: &ConsumeSpec,
    ) -> Result<AmqpConsumer, AmqpError> {
        check_name("queue", &spec.queue, false)?;
        check_name("consumer tag", &spec.consumer_tag, true)?;
        if spec.ack == AckMode::Manual && spec.prefetch == 0 {
            return Err(AmqpError::BadInput(
                "prefetch 0 means no limit at all; give 1 to 65535 (the default is 100)".into(),
            ));
        }
        let channel = session.open_channel().await?;
        let started = async {
            if spec.ack == AckMode::Manual {
                session
                    .run(
                        "setting the prefetch",
                        channel.basic_qos(spec.prefetch, BasicQosOptions::default()),
                    )
                    .await?;
            }
            let options = BasicConsumeOptions {
                no_ack: spec.ack == AckMode::Auto,
                exclusive: spec.exclusive,
                ..BasicConsumeOptions::default()
            };
            session
                .run(
                    "starting the consumer",
                    channel.basic_consume(
                        &spec.queue,
                        &spec.consumer_tag,
                        options,
                        FieldTable::default(),
                    ),
                )
                .await
        };
        let consumer = match started.await {
            Ok(c) => c,
            Err(e) => {
                let _ = channel.close(200, "consumer not started").await;
                return Err(e);
            }
        };
        let capacity = match spec.ack {
            AckMode::Manual => usize::from(spec.prefetch).max(1),
            AckMode::Auto => DELIVERY_BUFFER,
        };
        let (tx, rx) = mpsc::channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let ended = Arc::new(Mutex::new(None));
        let tag = consumer.tag().as_str().to_string();
        let task = tokio::spawn(pump(
            consumer,
            tx,
            spec.ack,
            session.reporter.clone(),
            dropped.clone(),
            ended.clone(),
            session.who.clone(),
        ));
        Ok(AmqpConsumer {
            channel,
            tag,
            queue: spec.queue.clone(),
            ack: spec.ack,
            deliveries: rx,
            reporter: session.reporter.clone(),
            dropped,
            ended,
            task,
            who: session.who.clone(),
        })
    }

    /// The next delivery; `None` once the consumer has ended (see [`AmqpConsumer::ended`]).
    pub async fn next(&mut self) -> Option<AmqpDelivery> {
        self.deliveries.recv().await
    }

    /// The consumer tag the broker knows this consumer by.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Deliveries dropped from the front end's view (automatic acks, front end too slow).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Why the consumer ended, when the broker ended it (queue deleted, channel closed...).
    pub fn ended(&self) -> Option<AmqpError> {
        self.ended.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn manual(&self, what: &str) -> Result<(), AmqpError> {
        if self.ack == AckMode::Auto {
            return Err(AmqpError::BadInput(format!(
                "this consumer uses automatic acks: there is nothing to {what}"
            )));
        }
        Ok(())
    }

    fn explain(&self, e: lapin::Error) -> AmqpError {
        AmqpError::from_lapin(&e, &self.who, false)
    }

    /// Acknowledges a delivery (with `multiple`, every one up to it too).
    pub async fn ack(&self, delivery_tag: u64, multiple: bool) -> Result<(), AmqpError> {
        self.manual("ack")?;
        self.channel
            .basic_ack(delivery_tag, BasicAckOptions { multiple })
            .await
            .map_err(|e| self.explain(e))?;
        self.reporter.acknowledged("basic.ack", delivery_tag, None);
        Ok(())
    }

    /// Refuses a delivery (with `multiple`, every one up to it too); `requeue` puts it back in
    /// the queue, where it is delivered again with `redelivered` set.
    pub async fn nack(
        &self,
        delivery_tag: u64,
        multiple: bool,
        requeue: bool,
    ) -> Result<(), AmqpError> {
        self.manual("nack")?;
        self.channel
            .basic_nack(delivery_tag, BasicNackOptions { multiple, requeue })
            .await
            .map_err(|e| self.explain(e))?;
        self.reporter
            .acknowledged("basic.nack", delivery_tag, Some(requeue));
        Ok(())
    }

    /// Refuses one delivery (AMQP's original form of nack).
    pub async fn reject(&self, delivery_tag: u64, requeue: bool) -> Result<(), AmqpError> {
        self.manual("reject")?;
        self.channel
            .basic_reject(delivery_tag, BasicRejectOptions { requeue })
            .await
            .map_err(|e| self.explain(e))?;
        self.reporter
            .acknowledged("basic.reject", delivery_tag, Some(requeue));
        Ok(())
    }

    /// Stops consuming and closes the consumer's channel (unacknowledged deliveries go back to
    /// the queue).
    pub async fn cancel(self) -> Result<(), AmqpError> {
        self.task.abort();
        if !self.channel.status().connected() {
            return Ok(());
        }
        self.channel
            .close(200, "consumer cancelled")
            .await
            .map_err(|e| AmqpError::from_lapin(&e, &self.who, false))
    }
}

impl std::fmt::Debug for AmqpConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpConsumer")
            .field("queue", &self.queue)
            .field("tag", &self.tag)
            .field("ack", &self.ack)
            .finish_non_exhaustive()
    }
}

impl Drop for AmqpConsumer {
    fn drop(&mut self) {
        self.task.abort();
        if self.channel.status().connected() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let channel = self.channel.clone();
                runtime.spawn(async move {
                    let _ = channel.close(200, "consumer dropped").await;
                });
            }
        }
    }
}

async fn pump(
    mut consumer: lapin::Consumer,
    tx: mpsc::Sender<AmqpDelivery>,
    ack: AckMode,
    reporter: Arc<Reporter>,
    dropped: Arc<AtomicU64>,
    ended: Arc<Mutex<Option<AmqpError>>>,
    who: crate::error::Who,
) {
    while let Some(next) = consumer.next().await {
        let d = match next {
            Ok(d) => d,
            Err(e) => {
                *ended.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(AmqpError::from_lapin(&e, &who, false));
                return;
            }
        };
        let delivery = AmqpDelivery::from_lapin(d);
        delivery.report(&reporter, ack == AckMode::Manual);
        match ack {
            // At most `prefetch` are unacknowledged, and the channel holds that many.
            AckMode::Manual => {
                if tx.send(delivery).await.is_err() {
                    // Nobody reads any more: stop taking messages; the broker requeues them
                    // when the channel closes.
                    return;
                }
            }
            AckMode::Auto => match tx.try_send(delivery) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            },
        }
    }
    *ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(AmqpError::ConnectionClosed {
        said: "the broker ended the consumer (queue deleted, or the channel or connection closed)"
            .into(),
    });
}
