//! One actor: an in-process MQTT client on the wire codec ([`workbench_tools::client`]) that a
//! lesson starts, with a telling client id. It does what its file says (subscribes, publishes
//! on schedule or in answer, its will) and what it is told, including what well-behaved
//! clients never do: close the socket without DISCONNECT, stop reading, publish and drop the
//! connection before the acknowledgement (then send the message again with DUP set after
//! reconnecting with its session).
//!
//! One task per actor owns its connection; commands arrive on a bounded channel and its state
//! is published for the lesson page. It never retries on its own: a lesson shows what happens.

use crate::format::{ActionKind, ActorSpec, MessageSpec, VersionSpec};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use workbench_tools::client::{self, ConnectOptions, Connection};
use workbench_tools::Target;
use workbench_wire::codec::{self, AckKind, Level, Properties, QoS, Will};

pub mod amqp;
mod wire;
use wire::{encode_publish, subscribe};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages an actor remembers having received, for the lesson page.
const RECEIVED_KEPT: usize = 5;
/// The longest payload shown of a received message.
const SHOWN_PAYLOAD: usize = 200;
/// Unacknowledged outgoing messages kept for sending again.
const MAX_INFLIGHT: usize = 100;

/// What the learner or a step asks an actor to do.
#[derive(Debug, Clone)]
pub struct Action {
    pub kind: ActionKind,
    pub filter: Option<String>,
    pub qos: u8,
    pub message: Option<MessageSpec>,
    /// The lesson's button pressed (AMQP actors publish only through their buttons).
    pub button: Option<usize>,
}

/// How an actor is, as the lesson page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Link {
    Offline,
    Online,
    /// Connected but not reading (nor sending anything, pings included).
    Paused,
}

/// A message an actor received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    pub topic: String,
    pub payload: String,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
}

/// An actor's state for the lesson page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ActorStatus {
    pub id: String,
    pub link: Link,
    /// What happened last, as a key the view words in the learner's language: `connected`,
    /// `session-kept`, `failed`, `lost`, `disconnected`, `plug-pulled`, `paused`, `resumed`,
    /// `dropped-before-ack`, `suback-refused`; AMQP actors also `published`, `offline`, `closed`,
    /// `not-working`, `working` (empty: nothing yet).
    pub note: String,
    /// The note's detail: the error or the reason code, as the client reported it.
    pub detail: String,
    pub subscriptions: Vec<String>,
    /// The latest messages received, newest last.
    pub received: Vec<Received>,
    /// Outgoing QoS 1 and 2 messages not yet acknowledged.
    #[specta(type = u32)]
    pub unacknowledged: usize,
}

/// Puts `status` in `slot`; tells `changed` only when it differs from what was there (the `id`
/// never changes). MQTT and AMQP actors both report through here.
pub(crate) fn publish_status(
    slot: &Mutex<ActorStatus>,
    status: ActorStatus,
    changed: &(dyn Fn() + Send + Sync),
) {
    let moved = {
        let mut now = slot.lock().unwrap_or_else(|p| p.into_inner());
        let moved = *now != status;
        *now = status;
        moved
    };
    if moved {
        changed();
    }
}

/// A running actor: where to send it commands and its state.
pub struct ActorHandle {
    pub id: String,
    commands: mpsc::Sender<Command>,
    pub status: Arc<Mutex<ActorStatus>>,
    task: tokio::task::JoinHandle<()>,
}

enum Command {
    Act(Action),
    /// Leave: DISCONNECT, or (clearing) connect with a clean session and leave.
    Stop {
        clear_session: bool,
    },
}

impl ActorHandle {
    /// Starts the actor's task against `target`; `changed` is called whenever its state moves.
    pub fn start(
        spec: ActorSpec,
        target: Target,
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
        let actor = Actor {
            subscriptions: spec
                .subscribe
                .iter()
                .map(|s| (s.filter.clone(), s.qos))
                .collect(),
            spec,
            target,
            connection: None,
            paused: false,
            inflight: BTreeMap::new(),
            incoming_qos2: Vec::new(),
            timers: Vec::new(),
            next_ping: None,
            received: VecDeque::new(),
            status: status.clone(),
            changed,
            note: String::new(),
            detail: String::new(),
        };
        let id = actor.spec.id.clone();
        let task = tokio::spawn(actor.run(rx));
        ActorHandle {
            id,
            commands,
            status,
            task,
        }
    }

    /// Asks the actor to act; false when it is too busy or gone.
    pub fn act(&self, action: Action) -> bool {
        self.commands.try_send(Command::Act(action)).is_ok()
    }

    /// Stops the actor and waits (within a deadline) until it has left; with `clear_session`
    /// the broker forgets its session too.
    pub async fn stop(self, clear_session: bool) {
        let _ = self.commands.send(Command::Stop { clear_session }).await;
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }

    pub fn snapshot(&self) -> ActorStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// An outgoing QoS 1 or 2 message not yet acknowledged.
struct Inflight {
    message: MessageSpec,
    /// PUBREC came (QoS 2): PUBREL is what is sent again.
    released: bool,
}

struct Timer {
    due: Instant,
    publish: usize,
    every: Option<Duration>,
}

struct Actor {
    spec: ActorSpec,
    target: Target,
    connection: Option<Connection>,
    paused: bool,
    subscriptions: Vec<(String, u8)>,
    inflight: BTreeMap<u16, Inflight>,
    incoming_qos2: Vec<u16>,
    timers: Vec<Timer>,
    next_ping: Option<Instant>,
    received: VecDeque<Received>,
    status: Arc<Mutex<ActorStatus>>,
    changed: Arc<dyn Fn() + Send + Sync>,
    note: String,
    detail: String,
}

fn level(version: VersionSpec) -> Level {
    match version {
        VersionSpec::V311 => Level::V3_1_1,
        VersionSpec::V5 => Level::V5,
    }
}

fn qos(bits: u8) -> QoS {
    QoS::from_bits(bits).unwrap_or(QoS::AtMostOnce)
}

/// Waits for the next read on `connection`, or forever when there is none or it is paused.
async fn read(
    connection: &mut Option<Connection>,
    paused: bool,
) -> Result<usize, client::ClientError> {
    match connection {
        Some(c) if !paused => c.fill().await,
        _ => std::future::pending().await,
    }
}

async fn until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

impl Actor {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        if self.spec.connect {
            self.connect(self.spec.clean_start).await;
        }
        loop {
            self.publish_status();
            let timer = if self.paused || self.connection.is_none() {
                None
            } else {
                self.timers
                    .iter()
                    .map(|t| t.due)
                    .chain(self.next_ping)
                    .min()
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
                got = read(&mut self.connection, self.paused) => match got {
                    Ok(0) => self.lost("the broker closed the connection".into()),
                    Ok(_) => self.handle_packets().await,
                    Err(e) => self.lost(e.to_string()),
                },
                _ = until(timer) => self.tick().await,
            }
        }
    }

    fn say(&mut self, note: &str, detail: String) {
        self.note = note.to_string();
        self.detail = detail;
    }

    fn publish_status(&self) {
        let status = ActorStatus {
            id: self.spec.id.clone(),
            link: match (&self.connection, self.paused) {
                (None, _) => Link::Offline,
                (Some(_), true) => Link::Paused,
                (Some(_), false) => Link::Online,
            },
            note: self.note.clone(),
            detail: self.detail.clone(),
            subscriptions: self
                .subscriptions
                .iter()
                .map(|(f, q)| format!("{f} (QoS {q})"))
                .collect(),
            received: self.received.iter().cloned().collect(),
            unacknowledged: self.inflight.len(),
        };
        publish_status(&self.status, status, &*self.changed);
    }

    fn options(&self, clean_start: bool) -> ConnectOptions {
        let spec = &self.spec;
        let mut options = ConnectOptions::new(level(spec.version), &spec.id);
        options.keep_alive = spec.keep_alive;
        options.clean_start = clean_start;
        options.session_expiry = spec.session_expiry;
        options.username = spec.username.clone();
        options.password = spec.password.clone().map(String::into_bytes);
        options.will = spec.will.as_ref().map(|w| Will {
            topic: w.topic.clone(),
            payload: w.payload.clone().into_bytes(),
            qos: qos(w.qos),
            retain: w.retain,
            properties: Properties::default(),
        });
        options
    }

    /// Connects (a second connection with the same client id takes over the first, which is
    /// then dropped); sends again what was not acknowledged when the session was kept.
    async fn connect(&mut self, clean_start: bool) {
        let options = self.options(clean_start);
        match Connection::connect(&self.target, &options, CONNECT_TIMEOUT).await {
            Ok(connection) => {
                let kept = connection.connack.session_present;
                // The old connection (if any) goes without a word: the broker already took over.
                self.connection = Some(connection);
                self.paused = false;
                self.say(
                    if kept { "session-kept" } else { "connected" },
                    String::new(),
                );
                if !kept {
                    self.inflight.clear();
                    self.incoming_qos2.clear();
                }
                // New packet ids must not collide with those still owed from the session.
                if let (Some(c), Some(last)) = (&mut self.connection, self.inflight.keys().max()) {
                    while c.next_id() < *last {}
                }
                self.resend_inflight();
                if !kept || clean_start {
                    let filters: Vec<(String, QoS)> = self
                        .subscriptions
                        .iter()
                        .map(|(f, q)| (f.clone(), qos(*q)))
                        .collect();
                    if let Some(c) = &mut self.connection {
                        subscribe(c, &filters);
                    }
                }
                let now = Instant::now();
                self.timers = self
                    .spec
                    .publish
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| {
                        let after = p
                            .after
                            .as_deref()
                            .and_then(|d| crate::load::duration(d).ok());
                        let every = p
                            .every
                            .as_deref()
                            .and_then(|d| crate::load::duration(d).ok());
                        match (after, every) {
                            (Some(after), _) => Some(Timer {
                                due: now + after,
                                publish: i,
                                every: None,
                            }),
                            (None, Some(every)) => Some(Timer {
                                due: now + every,
                                publish: i,
                                every: Some(every),
                            }),
                            _ => None,
                        }
                    })
                    .collect();
                self.next_ping = (self.spec.keep_alive > 0)
                    .then(|| now + Duration::from_secs(u64::from(self.spec.keep_alive)) / 2);
                self.flush().await;
            }
            Err(e) => {
                self.say("failed", e.to_string());
            }
        }
    }

    fn resend_inflight(&mut self) {
        let Some(c) = &mut self.connection else {
            return;
        };
        for (id, inflight) in &self.inflight {
            if inflight.released {
                c.out
                    .extend_from_slice(&codec::ack::short(AckKind::PubRel, *id));
            } else {
                encode_publish(c, &inflight.message, Some(*id), true);
            }
        }
    }

    async fn flush(&mut self) {
        if let Some(c) = &mut self.connection {
            if let Err(e) = c.flush().await {
                let text = e.to_string();
                self.lost(text);
            }
        }
    }

    fn lost(&mut self, why: String) {
        self.connection = None;
        self.paused = false;
        self.say("lost", why);
    }

    async fn tick(&mut self) {
        let now = Instant::now();
        if self.next_ping.is_some_and(|p| p <= now) {
            if let Some(c) = &mut self.connection {
                c.ping();
            }
            self.next_ping =
                Some(now + Duration::from_secs(u64::from(self.spec.keep_alive.max(1))) / 2);
        }
        let mut due = Vec::new();
        self.timers.retain_mut(|t| {
            if t.due > now {
                return true;
            }
            due.push(t.publish);
            match t.every {
                Some(every) => {
                    t.due = now + every;
                    true
                }
                None => false,
            }
        });
        for i in due {
            if let Some(p) = self.spec.publish.get(i) {
                let message = p.message();
                self.publish(message);
            }
        }
        self.flush().await;
    }

    fn publish(&mut self, message: MessageSpec) -> Option<u16> {
        let c = self.connection.as_mut()?;
        let id = (message.qos > 0).then(|| c.next_id());
        encode_publish(c, &message, id, false);
        if let Some(id) = id {
            if self.inflight.len() < MAX_INFLIGHT {
                self.inflight.insert(
                    id,
                    Inflight {
                        message,
                        released: false,
                    },
                );
            }
        }
        id
    }

    async fn act(&mut self, action: Action) {
        match action.kind {
            ActionKind::Connect => self.connect(self.spec.clean_start).await,
            ActionKind::Reconnect => self.connect(false).await,
            ActionKind::Disconnect => {
                if let Some(c) = self.connection.take() {
                    c.disconnect().await;
                    self.say("disconnected", String::new());
                }
            }
            ActionKind::PullPlug => {
                if let Some(c) = self.connection.take() {
                    c.drop_now();
                    self.say("plug-pulled", String::new());
                }
            }
            ActionKind::Pause => {
                if self.connection.is_some() {
                    self.paused = true;
                    self.say("paused", String::new());
                }
            }
            ActionKind::Resume => {
                if self.connection.is_some() {
                    self.paused = false;
                    self.say("resumed", String::new());
                }
            }
            ActionKind::Subscribe => {
                let Some(filter) = action.filter else { return };
                self.subscriptions.retain(|(f, _)| *f != filter);
                self.subscriptions.push((filter.clone(), action.qos.min(2)));
                if let Some(c) = &mut self.connection {
                    subscribe(c, &[(filter, qos(action.qos))]);
                }
                self.flush().await;
            }
            ActionKind::Unsubscribe => {
                let Some(filter) = action.filter else { return };
                self.subscriptions.retain(|(f, _)| *f != filter);
                if let Some(c) = &mut self.connection {
                    let packet_id = c.next_id();
                    codec::Unsubscribe {
                        packet_id,
                        properties: Properties::default(),
                        filters: vec![filter],
                    }
                    .encode(c.level, &mut c.out);
                }
                self.flush().await;
            }
            ActionKind::Publish => {
                if let Some(message) = action.message {
                    self.publish(message);
                    self.flush().await;
                }
            }
            ActionKind::PublishAndDrop => {
                if let Some(message) = action.message {
                    if self.publish(message).is_some() {
                        self.flush().await;
                        if let Some(c) = self.connection.take() {
                            c.drop_now();
                            self.say("dropped-before-ack", String::new());
                        }
                    }
                }
            }
        }
    }

    /// Leaves at the end of a lesson: DISCONNECT (no will); with `clear_session`, also connects
    /// once with a clean start and no session expiry so the broker forgets its session.
    async fn leave(&mut self, clear_session: bool) {
        if let Some(c) = self.connection.take() {
            c.disconnect().await;
        }
        let persistent = !self.spec.clean_start || self.spec.session_expiry.unwrap_or(0) > 0;
        if clear_session && persistent {
            let mut options = self.options(true);
            options.session_expiry = None;
            options.will = None;
            if let Ok(c) = Connection::connect(&self.target, &options, CONNECT_TIMEOUT).await {
                c.disconnect().await;
            }
        }
    }
}
