//! An AMQP actor: a RabbitMQ client (an [`AmqpSession`] of the `workbench-amqp` crate) a lesson
//! starts beside its MQTT actors, to show RabbitMQ's tutorials next to MQTT's patterns. After
//! connecting it declares its queues and exchanges, binds, and consumes; its buttons publish to an
//! exchange with a routing key. A worker with manual acks works one second per `.` in a message
//! (as the tutorial's `worker.py`), then acks; "pause" stops it working (nothing acked, so the
//! broker sends it nothing more than its prefetch).
//!
//! What it does is written to the lesson's [`AmqpLog`] as the broker would see it, so the lesson
//! checks read it exactly as the embedded broker's log: a delivery is a PUBLISH *to* the actor, a
//! publish a PUBLISH *from* it, an ack a PUBACK from it, on the topic `<exchange>/<routing key>`
//! (the default exchange written `(default)`). At the end of a lesson the actor deletes the queues
//! and exchanges it created (not those that were there before it).

use super::{publish_status, ActorHandle, ActorStatus, Command, Link, Received};
use crate::format::{ActionKind, ActorSpec, AmqpAck};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::Instant;
use workbench_amqp::{
    AckMode, AmqpConsumer, AmqpDelivery, AmqpError, AmqpOptions, AmqpSession, AmqpTarget,
    BindingSpec, ConsumeSpec, ExchangeSpec, ExchangeType, OutgoingMessage, QueueSpec,
};
use workbench_wire::{Direction, PacketEvent, PacketKind, PacketSummary};

/// Events the lesson keeps (the oldest go first).
const LOG_KEPT: usize = 10_000;
/// The longest a worker works on one message.
const MOST_WORK: Duration = Duration::from_secs(10);
const RECEIVED_KEPT: usize = 5;
const SHOWN_PAYLOAD: usize = 200;

static CONNECTIONS: AtomicU64 = AtomicU64::new(1 << 40);

/// What the lesson's AMQP actors did, as the broker saw it (bounded), with a running serial.
#[derive(Debug, Default)]
pub struct AmqpLog {
    inner: Mutex<(VecDeque<PacketEvent>, u64)>,
}

impl AmqpLog {
    /// Events logged so far (the serial of the last one).
    pub fn total(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// The events logged after serial `from` (those still kept).
    pub fn since(&self, from: u64) -> Vec<PacketEvent> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let new = inner.1.saturating_sub(from) as usize;
        let skip = inner.0.len().saturating_sub(new);
        inner.0.iter().skip(skip).cloned().collect()
    }

    fn push(&self, event: PacketEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.0.len() >= LOG_KEPT {
            inner.0.pop_front();
        }
        inner.0.push_back(event);
        inner.1 += 1;
    }
}

/// The RabbitMQ an AMQP actor uses: its URL, or why there is none.
pub type Rabbit = Result<AmqpTarget, String>;

/// Starts an AMQP actor's task.
pub fn start(
    spec: ActorSpec,
    rabbit: Rabbit,
    log: Arc<AmqpLog>,
    changed: Arc<dyn Fn() + Send + Sync>,
) -> ActorHandle {
    let status = Arc::new(Mutex::new(ActorStatus {
        id: spec.id.clone(),
        link: Link::Offline,
        note: String::new(),
        detail: String::new(),
        subscriptions: Vec::new(),
        received: Vec::new(),
        unacknowledged: 0,
    }));
    let (commands, rx) = mpsc::channel(64);
    let (lost_tx, lost_rx) = mpsc::channel(4);
    let id = spec.id.clone();
    let actor = Actor {
        client: Arc::from(spec.id.as_str()),
        spec,
        rabbit,
        log,
        status: status.clone(),
        changed,
        session: None,
        consumer: None,
        own_queue: None,
        created: Vec::new(),
        work: VecDeque::new(),
        working_until: None,
        paused: false,
        received: VecDeque::new(),
        note: String::new(),
        detail: String::new(),
        connection: 0,
        lost_tx,
    };
    let task = tokio::spawn(actor.run(rx, lost_rx));
    ActorHandle {
        id,
        commands,
        status,
        task,
    }
}

/// Something the actor created on the broker and deletes when the lesson ends.
enum Created {
    Queue(String),
    Exchange(String),
}

struct Actor {
    spec: ActorSpec,
    client: Arc<str>,
    rabbit: Rabbit,
    log: Arc<AmqpLog>,
    status: Arc<Mutex<ActorStatus>>,
    changed: Arc<dyn Fn() + Send + Sync>,
    session: Option<AmqpSession>,
    consumer: Option<AmqpConsumer>,
    /// The server-named queue the actor declared with `queue = ""`.
    own_queue: Option<String>,
    created: Vec<Created>,
    /// Deliveries to work on, in order, with how long each takes.
    work: VecDeque<(u64, Duration)>,
    working_until: Option<Instant>,
    paused: bool,
    received: VecDeque<Received>,
    note: String,
    detail: String,
    /// Names this connection in the log (a new one on each connect).
    connection: u64,
    lost_tx: mpsc::Sender<(u64, AmqpError)>,
}

async fn next(consumer: &mut Option<AmqpConsumer>) -> Option<AmqpDelivery> {
    match consumer {
        Some(c) => c.next().await,
        None => std::future::pending().await,
    }
}

async fn until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// How long the tutorial's worker takes: one second per `.` in the body.
fn work_for(body: &[u8]) -> Duration {
    (Duration::from_secs(1) * body.iter().filter(|b| **b == b'.').count() as u32).min(MOST_WORK)
}

impl Actor {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut lost: mpsc::Receiver<(u64, AmqpError)>,
    ) {
        if self.spec.connect {
            self.connect().await;
        }
        loop {
            self.publish_status();
            let due = if self.paused {
                None
            } else {
                self.working_until
            };
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Act(action)) => self.act(action).await,
                    Some(Command::Stop { clear_session }) => {
                        self.leave(clear_session).await;
                        return;
                    }
                    None => {
                        self.leave(false).await;
                        return;
                    }
                },
                delivery = next(&mut self.consumer) => match delivery {
                    Some(d) => self.delivered(d),
                    None => {
                        let why = self
                            .consumer
                            .take()
                            .and_then(|c| c.ended())
                            .map(|e| e.to_string())
                            .unwrap_or_else(|| "the broker ended the consumer".into());
                        self.dropped("lost", why);
                    }
                },
                Some((connection, error)) = lost.recv() => {
                    // lapin reports a channel's error (a passive declare's NOT_FOUND) on the
                    // same stream as the connection's: only a closed connection is a loss.
                    let gone = self.session.as_ref().is_some_and(|s| !s.is_connected());
                    if connection == self.connection && gone {
                        self.dropped("lost", error.to_string());
                    }
                }
                _ = until(due) => self.worked().await,
            }
        }
    }

    fn say(&mut self, note: &str, detail: String) {
        self.note = note.to_string();
        self.detail = detail;
    }

    fn publish_status(&self) {
        let mut subscriptions = Vec::new();
        if self.session.is_some() {
            for b in &self.spec.bind {
                let queue = b
                    .queue
                    .clone()
                    .or(self.own_queue.clone())
                    .unwrap_or_default();
                subscriptions.push(format!("{} → {queue}", b.exchange));
            }
            if let (Some(c), Some(spec)) = (&self.consumer, &self.spec.consume) {
                subscriptions.push(match spec.ack {
                    AmqpAck::Auto => format!("queue {} · auto ack", c.queue()),
                    AmqpAck::Manual => format!(
                        "queue {} · prefetch {} · manual ack",
                        c.queue(),
                        spec.prefetch.unwrap_or(workbench_amqp::DEFAULT_PREFETCH)
                    ),
                });
            }
        }
        let status = ActorStatus {
            id: self.spec.id.clone(),
            link: match (&self.session, self.paused) {
                (None, _) => Link::Offline,
                (Some(_), true) => Link::Paused,
                (Some(_), false) => Link::Online,
            },
            note: self.note.clone(),
            detail: self.detail.clone(),
            subscriptions,
            received: self.received.iter().cloned().collect(),
            unacknowledged: self.work.len(),
        };
        publish_status(&self.status, status, &*self.changed);
    }

    /// Logs a packet as the broker would see it (`to` the actor: outbound).
    fn log(&self, kind: PacketKind, direction: Direction, f: impl FnOnce(&mut PacketSummary)) {
        let mut summary = PacketSummary::new(kind, 0);
        f(&mut summary);
        self.log.push(PacketEvent {
            connection: self.connection,
            client_id: self.client.clone(),
            remote: None,
            direction,
            summary,
            time: SystemTime::now(),
        });
    }

    async fn connect(&mut self) {
        self.leave(false).await;
        let target = match &self.rabbit {
            Ok(target) => target.clone(),
            Err(why) => {
                let why = why.clone();
                self.say("failed", why);
                return;
            }
        };
        let options = AmqpOptions {
            connection_name: format!("MQTT Workbench lesson: {}", self.spec.id),
            connect_timeout: Duration::from_secs(10),
            op_timeout: Duration::from_secs(10),
            ..AmqpOptions::default()
        };
        let session = match AmqpSession::connect(&target, options, None).await {
            Ok(session) => session,
            Err(e) => {
                self.say("failed", e.to_string());
                return;
            }
        };
        self.connection = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        let (lost, connection) = (self.lost_tx.clone(), self.connection);
        session.on_connection_lost(move |e| {
            let _ = lost.try_send((connection, e));
        });
        self.paused = false;
        match self.set_up(&session).await {
            Ok(consumer) => {
                self.consumer = consumer;
                self.session = Some(session);
                self.say("connected", String::new());
            }
            Err(e) => {
                let _ = session.close().await;
                self.say("failed", e.to_string());
            }
        }
    }

    /// Declares, binds and starts consuming, as the file says.
    async fn set_up(&mut self, session: &AmqpSession) -> Result<Option<AmqpConsumer>, AmqpError> {
        for d in &self.spec.declare {
            if let Some(name) = &d.queue {
                let existed = name.is_empty()
                    || session
                        .declare_queue(&QueueSpec {
                            name: name.clone(),
                            passive: true,
                            ..QueueSpec::default()
                        })
                        .await
                        .is_ok();
                let info = session
                    .declare_queue(&QueueSpec {
                        name: name.clone(),
                        durable: d.durable,
                        exclusive: d.exclusive,
                        auto_delete: d.auto_delete,
                        ..QueueSpec::default()
                    })
                    .await?;
                if name.is_empty() {
                    self.own_queue = Some(info.name);
                } else if !existed {
                    self.created.push(Created::Queue(name.clone()));
                }
            } else if let Some(name) = &d.exchange {
                let kind: ExchangeType = d.kind.as_deref().unwrap_or("direct").parse()?;
                let existed = session
                    .declare_exchange(&ExchangeSpec {
                        name: name.clone(),
                        kind,
                        passive: true,
                        ..ExchangeSpec::default()
                    })
                    .await
                    .is_ok();
                session
                    .declare_exchange(&ExchangeSpec {
                        name: name.clone(),
                        kind,
                        durable: d.durable,
                        auto_delete: d.auto_delete,
                        ..ExchangeSpec::default()
                    })
                    .await?;
                if !existed {
                    self.created.push(Created::Exchange(name.clone()));
                }
            }
        }
        for b in &self.spec.bind {
            session
                .bind(&BindingSpec {
                    queue: self.queue_or_own(&b.queue),
                    exchange: b.exchange.clone(),
                    routing_key: b.routing_key.clone(),
                    ..BindingSpec::default()
                })
                .await?;
        }
        let Some(consume) = &self.spec.consume else {
            return Ok(None);
        };
        let spec = ConsumeSpec {
            queue: self.queue_or_own(&consume.queue),
            ack: match consume.ack {
                AmqpAck::Auto => AckMode::Auto,
                AmqpAck::Manual => AckMode::Manual,
            },
            prefetch: consume.prefetch.unwrap_or(workbench_amqp::DEFAULT_PREFETCH),
            ..ConsumeSpec::default()
        };
        session.consume(&spec).await.map(Some)
    }

    fn queue_or_own(&self, queue: &Option<String>) -> String {
        queue
            .clone()
            .or_else(|| self.own_queue.clone())
            .unwrap_or_default()
    }

    fn delivered(&mut self, d: AmqpDelivery) {
        let manual = self
            .spec
            .consume
            .as_ref()
            .is_some_and(|c| c.ack == AmqpAck::Manual);
        let topic = d.topic();
        self.log(PacketKind::Publish, Direction::Outbound, |s| {
            s.size = d.body.len();
            s.payload_len = d.body.len();
            s.topic = Some(topic.clone());
            s.qos = u8::from(manual);
            s.dup = d.redelivered;
            s.fields.push(("Delivery Tag", d.delivery_tag.to_string()));
        });
        let text = String::from_utf8_lossy(&d.body);
        if self.received.len() >= RECEIVED_KEPT {
            self.received.pop_front();
        }
        self.received.push_back(Received {
            topic,
            payload: text.chars().take(SHOWN_PAYLOAD).collect(),
            qos: u8::from(manual),
            retain: false,
            dup: d.redelivered,
        });
        if manual {
            self.work.push_back((d.delivery_tag, work_for(&d.body)));
            if self.working_until.is_none() {
                self.working_until = Some(Instant::now() + self.work[0].1);
            }
        }
    }

    /// The message being worked on is done: ack it and start the next.
    async fn worked(&mut self) {
        self.working_until = None;
        let Some((tag, _)) = self.work.pop_front() else {
            return;
        };
        if let Some(c) = &self.consumer {
            match c.ack(tag, false).await {
                Ok(()) => self.log(PacketKind::PubAck, Direction::Inbound, |s| {
                    s.fields.push(("Method", "basic.ack".into()));
                    s.fields.push(("Delivery Tag", tag.to_string()));
                }),
                Err(e) => self.say("failed", e.to_string()),
            }
        }
        if let Some((_, took)) = self.work.front() {
            self.working_until = Some(Instant::now() + *took);
        }
    }

    async fn publish(&mut self, button: usize) {
        let Some(p) = self.spec.publish.get(button) else {
            return;
        };
        let message = OutgoingMessage {
            exchange: p.exchange.clone().unwrap_or_default(),
            routing_key: p.routing_key.clone().unwrap_or_default(),
            body: bytes::Bytes::from(p.payload.clone().into_bytes()),
            ..OutgoingMessage::default()
        };
        let Some(session) = &self.session else {
            self.say("offline", String::new());
            return;
        };
        match session.publish(&message).await {
            Ok(_) => {
                let topic = workbench_amqp::topic_for(&message.exchange, &message.routing_key);
                self.log(PacketKind::Publish, Direction::Inbound, |s| {
                    s.size = message.body.len();
                    s.payload_len = message.body.len();
                    s.topic = Some(topic);
                });
                self.say("published", String::new());
            }
            Err(e @ AmqpError::ConnectionClosed { .. }) => self.dropped("lost", e.to_string()),
            Err(e) => self.say("failed", e.to_string()),
        }
    }

    async fn act(&mut self, action: super::Action) {
        match action.kind {
            ActionKind::Connect | ActionKind::Reconnect => self.connect().await,
            ActionKind::Disconnect if self.session.is_some() => {
                self.leave(false).await;
                self.say("closed", String::new());
            }
            ActionKind::Pause if self.session.is_some() => {
                self.paused = true;
                self.say("not-working", String::new());
            }
            ActionKind::Resume if self.session.is_some() => {
                self.paused = false;
                if let Some((_, took)) = self.work.front() {
                    self.working_until = Some(Instant::now() + *took);
                }
                self.say("working", String::new());
            }
            ActionKind::Publish => {
                if let Some(button) = action.button {
                    self.publish(button).await;
                }
            }
            _ => {}
        }
    }

    /// The connection is gone (the broker requeues what was not acked).
    fn dropped(&mut self, note: &str, why: String) {
        self.consumer = None;
        self.session = None;
        self.work.clear();
        self.working_until = None;
        self.paused = false;
        self.say(note, why);
    }

    /// Closes the connection; with `clear`, first deletes what the actor created.
    async fn leave(&mut self, clear: bool) {
        if let Some(c) = self.consumer.take() {
            let _ = c.cancel().await;
        }
        self.work.clear();
        self.working_until = None;
        let mut session = self.session.take();
        if clear && session.is_none() && !self.created.is_empty() {
            // Offline at the end (the learner disconnected it): connect once to clean up.
            if let Ok(target) = &self.rabbit {
                let options = AmqpOptions {
                    connect_timeout: Duration::from_secs(3),
                    op_timeout: Duration::from_secs(3),
                    ..AmqpOptions::default()
                };
                session = AmqpSession::connect(target, options, None).await.ok();
            }
        }
        if let Some(session) = session {
            // A dead connection would only make each delete wait for its time limit.
            if clear && session.is_connected() {
                for created in self.created.drain(..) {
                    let _ = match created {
                        Created::Queue(name) => session.delete_queue(&name).await.map(|_| ()),
                        Created::Exchange(name) => session.delete_exchange(&name).await,
                    };
                }
            }
            let _ = session.close().await;
        }
    }
}

#[cfg(test)]
#[path = "amqp_tests.rs"]
mod tests;
