//! One running session: rumqttc's client and event loop (MQTT 3.1.1 or 5), driven by a task that
//! dials the broker itself (through the packet tap), reports its state, backs off exponentially
//! between attempts and re-subscribes after a connect that did not resume a session.
//!
//! rumqttc facts this relies on (0.25): polling after an error reconnects at once, so the task
//! sleeps first; subscriptions are not restored by it; several options panic on bad values, so
//! profiles are validated before they get here.

use super::dial;
use super::profile::{MessageProperties, MqttVersion, Profile, RetainHandling, Subscription};
use super::tap::{self, LocalEndpoint, Observed, SessionTraffic, TapContext};
use super::{
    random_id, source_id, words, AnswerPacket, BrokerAnswer, ConnectionState, SessionError,
};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use workbench_wire::ErrorCode;
use workbench_wire::ProtocolVersion;

/// Filters sent in one SUBSCRIBE when (re)subscribing several.
const FILTERS_PER_SUBSCRIBE: usize = 64;
/// Requests rumqttc queues before `publish` waits.
const REQUEST_CAPACITY: usize = 256;
/// First and longest pause between connection attempts.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a request may wait for room in rumqttc's queue.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one write may take to leave (MQTT 3.1.1 sessions; see `build`).
const FLUSH_TIMEOUT_SECS: u64 = 60;
/// How long a graceful stop waits for the DISCONNECT to go out.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

fn now_ms() -> f64 {
    workbench_wire::now_ms() as f64
}

fn qos4(qos: u8) -> rumqttc::QoS {
    match qos {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn qos5(qos: u8) -> rumqttc::v5::mqttbytes::QoS {
    match qos {
        0 => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        1 => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        _ => rumqttc::v5::mqttbytes::QoS::ExactlyOnce,
    }
}

/// How a session is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Run,
    /// Send DISCONNECT, then close.
    Graceful,
    /// Close without DISCONNECT (the broker publishes the will).
    Drop,
}

/// What the session's task and the manager share.
struct Shared {
    state: Mutex<ConnectionState>,
    observed: Arc<Mutex<Observed>>,
    /// The session's subscriptions as they are now (changed live by the manager).
    subscriptions: Mutex<Vec<Subscription>>,
    /// Dropped by the user: the task's later state reports (it may still be running on another
    /// thread for a moment) are ignored.
    dropped: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn set(&self, state: ConnectionState) {
        let mut current = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !self.dropped.load(std::sync::atomic::Ordering::Acquire) {
            *current = state;
        }
    }
}

/// A session's handle for sending: rumqttc's client for the session's protocol version.
#[derive(Clone)]
pub enum Client {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

fn closing<E: std::fmt::Display>(e: E) -> SessionError {
    SessionError::InvalidState(format!("the session's connection is closing ({e})"))
}

async fn in_time<T, E: std::fmt::Display>(
    request: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, SessionError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(result) => result.map_err(closing),
        Err(_) => Err(SessionError::InvalidState(
            "the session's send queue stayed full for 5 s (the broker is not taking messages)"
                .into(),
        )),
    }
}

fn filter5(sub: &Subscription) -> rumqttc::v5::mqttbytes::v5::Filter {
    use rumqttc::v5::mqttbytes::v5::RetainForwardRule;
    let mut filter = rumqttc::v5::mqttbytes::v5::Filter::new(sub.filter.clone(), qos5(sub.qos));
    filter.nolocal = sub.no_local;
    filter.preserve_retain = sub.retain_as_published;
    filter.retain_forward_rule = match sub.retain_handling {
        RetainHandling::SendAlways => RetainForwardRule::OnEverySubscribe,
        RetainHandling::SendIfNew => RetainForwardRule::OnNewSubscribe,
        RetainHandling::DontSend => RetainForwardRule::Never,
    };
    filter
}

fn subscribe_properties(sub: &Subscription) -> rumqttc::v5::mqttbytes::v5::SubscribeProperties {
    rumqttc::v5::mqttbytes::v5::SubscribeProperties {
        id: sub.identifier.map(|id| id as usize),
        user_properties: Vec::new(),
    }
}

fn user_properties(props: &MessageProperties) -> Vec<(String, String)> {
    props
        .user_properties
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect()
}

impl Client {
    pub async fn subscribe(
        &self,
        version: MqttVersion,
        sub: &Subscription,
    ) -> Result<(), SessionError> {
        match (self, version) {
            (Client::V4(c), _) => in_time(c.subscribe(sub.filter.clone(), qos4(sub.qos))).await,
            (Client::V5(c), _) => {
                in_time(c.subscribe_many_with_properties([filter5(sub)], subscribe_properties(sub)))
                    .await
            }
        }
    }

    /// Queues a subscription without waiting (used by the session's own task, which must not
    /// wait on the queue it drains).
    ///
    /// Several filters go in one SUBSCRIBE (at most [`FILTERS_PER_SUBSCRIBE`]; in MQTT 5 one per
    /// subscription identifier, which belongs to the packet): rumqttc reuses packet ids once it
    /// has sent as many packets as its inflight window, even while their SUBACKs are still
    /// outstanding, which a broker may not handle.
    fn try_subscribe_all(&self, subs: &[&Subscription]) -> Result<(), SessionError> {
        match self {
            Client::V4(c) => {
                for chunk in subs.chunks(FILTERS_PER_SUBSCRIBE) {
                    let filters = chunk
                        .iter()
                        .map(|s| rumqttc::SubscribeFilter::new(s.filter.clone(), qos4(s.qos)));
                    c.try_subscribe_many(filters).map_err(closing)?;
                }
                Ok(())
            }
            Client::V5(c) => {
                let mut by_identifier: Vec<(Option<u32>, Vec<&Subscription>)> = Vec::new();
                for sub in subs {
                    match by_identifier
                        .iter_mut()
                        .find(|(id, _)| *id == sub.identifier)
                    {
                        Some((_, group)) => group.push(sub),
                        None => by_identifier.push((sub.identifier, vec![sub])),
                    }
                }
                for (_, group) in by_identifier {
                    for chunk in group.chunks(FILTERS_PER_SUBSCRIBE) {
                        let properties = subscribe_properties(chunk[0]);
                        let filters = chunk.iter().map(|s| filter5(s));
                        c.try_subscribe_many_with_properties(filters, properties)
                            .map_err(closing)?;
                    }
                }
                Ok(())
            }
        }
    }

    pub async fn unsubscribe(&self, filter: &str) -> Result<(), SessionError> {
        match self {
            Client::V4(c) => in_time(c.unsubscribe(filter.to_string())).await,
            Client::V5(c) => in_time(c.unsubscribe(filter.to_string())).await,
        }
    }

    pub async fn publish(
        &self,
        _version: MqttVersion,
        topic: &str,
        qos: u8,
        retain: bool,
        payload: Vec<u8>,
        props: &MessageProperties,
    ) -> Result<(), SessionError> {
        match self {
            Client::V4(c) => in_time(c.publish(topic, qos4(qos), retain, payload)).await,
            Client::V5(c) => {
                let properties = rumqttc::v5::mqttbytes::v5::PublishProperties {
                    payload_format_indicator: props.payload_is_utf8.then_some(1),
                    message_expiry_interval: props.message_expiry,
                    topic_alias: None,
                    response_topic: props.response_topic.clone().filter(|t| !t.is_empty()),
                    correlation_data: props
                        .correlation_data
                        .clone()
                        .filter(|c| !c.is_empty())
                        .map(bytes::Bytes::from),
                    user_properties: user_properties(props),
                    subscription_identifiers: Vec::new(),
                    content_type: props.content_type.clone().filter(|t| !t.is_empty()),
                };
                in_time(c.publish_with_properties(topic, qos5(qos), retain, payload, properties))
                    .await
            }
        }
    }

    fn try_disconnect(&self) {
        let _ = match self {
            Client::V4(c) => c.try_disconnect().map_err(|e| e.to_string()),
            Client::V5(c) => c.try_disconnect().map_err(|e| e.to_string()),
        };
    }
}

/// A running session, as the manager holds it.
pub struct Running {
    shared: Arc<Shared>,
    client: Client,
    client_id: String,
    stop: watch::Sender<Stop>,
    task: JoinHandle<()>,
}

impl Running {
    pub fn state(&self) -> ConnectionState {
        let state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match state {
            // A task that ended without saying so (it cannot, short of a bug) is not running.
            ConnectionState::Failed { .. } => state,
            _ if self.task.is_finished() => ConnectionState::Disconnected,
            _ => state,
        }
    }

    /// SUBACK codes by filter, for the current connection.
    pub fn granted(&self) -> HashMap<String, u8> {
        self.shared
            .observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .granted
            .clone()
    }

    /// The largest packet the broker said it accepts (MQTT 5), if it said.
    pub fn server_max_packet(&self) -> Option<usize> {
        self.shared
            .observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .server_max_packet
    }

    /// Forgets the SUBACK result of a filter that is being changed or removed.
    pub fn forget_grant(&self, filter: &str) {
        self.shared
            .observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .granted
            .remove(filter);
    }

    /// Replaces the subscriptions sent at the next (re)connect.
    pub fn set_subscriptions(&self, subscriptions: Vec<Subscription>) {
        *self
            .shared
            .subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = subscriptions;
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Asks the task to stop; it ends by itself (gracefully within a few seconds).
    pub fn stop(&self, graceful: bool) {
        if matches!(self.state(), ConnectionState::Failed { .. }) {
            // Nothing is running; the user has read the failure and put the session away.
            *self.shared.state.lock().unwrap_or_else(|p| p.into_inner()) =
                ConnectionState::Disconnected;
        }
        if graceful {
            let _ = self.stop.send(Stop::Graceful);
        } else {
            // Without DISCONNECT: end the task now; dropping it closes the connection.
            let _ = self.stop.send(Stop::Drop);
            let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            self.shared
                .dropped
                .store(true, std::sync::atomic::Ordering::Release);
            *state = ConnectionState::Disconnected;
            drop(state);
            self.task.abort();
        }
    }
}

/// Aborts a spawned task when dropped (the relay of a connection that is over).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// rumqttc's event loop for either version.
enum EventLoop {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<rumqttc::v5::EventLoop>),
}

/// What one poll of the event loop meant to the session.
enum Polled {
    ConnAck { session_present: bool },
    SentDisconnect,
    Other,
}

/// Why the event loop stopped, before the session puts it in words.
enum PollError {
    /// CONNACK with a failure code (the tap saw which).
    Refused,
    /// The connection closed or failed at the socket level.
    Closed(String),
    /// No CONNACK in time.
    Timeout,
    /// The broker did not answer a PINGREQ within the keep-alive.
    NoPong,
    /// Something other than CONNACK came back for CONNECT (not an MQTT broker?).
    NotConnAck(String),
    /// A packet over a size limit, received or about to be sent.
    TooLarge(String),
    /// rumqttc's protocol state machine refused something.
    Protocol(String),
}

impl EventLoop {
    /// Drops the connection to the tap without a word.
    fn close(&mut self) {
        match self {
            EventLoop::V4(e) => e.clean(),
            EventLoop::V5(e) => e.clean(),
        }
    }

    async fn poll(&mut self) -> Result<Polled, PollError> {
        match self {
            EventLoop::V4(e) => {
                use rumqttc::{ConnectionError as E, Event, Outgoing, Packet, StateError};
                match e.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => Ok(Polled::ConnAck {
                        session_present: ack.session_present,
                    }),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => Ok(Polled::SentDisconnect),
                    Ok(_) => Ok(Polled::Other),
                    Err(E::ConnectionRefused(_)) => Err(PollError::Refused),
                    Err(E::NotConnAck(packet)) => Err(PollError::NotConnAck(format!("{packet:?}"))),
                    Err(E::Io(io)) | Err(E::MqttState(StateError::Io(io))) => {
                        Err(PollError::Closed(io.to_string()))
                    }
                    Err(E::MqttState(StateError::ConnectionAborted)) => {
                        Err(PollError::Closed("closed by the broker".into()))
                    }
                    Err(E::MqttState(StateError::Deserialization(rumqttc::Error::Io(io)))) => {
                        Err(PollError::Closed(io.to_string()))
                    }
                    Err(E::MqttState(StateError::Deserialization(
                        e @ (rumqttc::Error::PayloadSizeLimitExceeded(_)
                        | rumqttc::Error::OutgoingPacketTooLarge { .. }),
                    ))) => Err(PollError::TooLarge(e.to_string())),
                    Err(E::MqttState(StateError::AwaitPingResp)) => Err(PollError::NoPong),
                    Err(E::NetworkTimeout) | Err(E::FlushTimeout) => Err(PollError::Timeout),
                    Err(other) => Err(PollError::Protocol(other.to_string())),
                }
            }
            EventLoop::V5(e) => {
                use rumqttc::v5::mqttbytes::v5::Packet;
                use rumqttc::v5::{ConnectionError as E, Event, StateError};
                use rumqttc::Outgoing;
                match e.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => Ok(Polled::ConnAck {
                        session_present: ack.session_present,
                    }),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => Ok(Polled::SentDisconnect),
                    Ok(_) => Ok(Polled::Other),
                    Err(E::ConnectionRefused(_)) => Err(PollError::Refused),
                    Err(E::NotConnAck(packet)) => Err(PollError::NotConnAck(format!("{packet:?}"))),
                    Err(E::Io(io)) | Err(E::MqttState(StateError::Io(io))) => {
                        Err(PollError::Closed(io.to_string()))
                    }
                    Err(E::MqttState(StateError::ServerDisconnect { .. })) => {
                        Err(PollError::Closed("the broker sent DISCONNECT".into()))
                    }
                    Err(E::MqttState(StateError::ConnectionAborted)) => {
                        Err(PollError::Closed("closed by the broker".into()))
                    }
                    Err(E::MqttState(StateError::Deserialization(
                        rumqttc::v5::mqttbytes::Error::Io(io),
                    ))) => Err(PollError::Closed(io.to_string())),
                    Err(E::MqttState(StateError::Deserialization(
                        e @ (rumqttc::v5::mqttbytes::Error::PayloadSizeLimitExceeded { .. }
                        | rumqttc::v5::mqttbytes::Error::OutgoingPacketTooLarge { .. }),
                    ))) => Err(PollError::TooLarge(e.to_string())),
                    Err(E::MqttState(StateError::AwaitPingResp)) => Err(PollError::NoPong),
                    Err(E::Timeout(_)) => Err(PollError::Timeout),
                    Err(other) => Err(PollError::Protocol(other.to_string())),
                }
            }
        }
    }
}

/// Builds rumqttc's options and client for a profile, pointed at the tap's local endpoint.
fn build(
    profile: &Profile,
    client_id: &str,
    password: Option<&str>,
    endpoint: &LocalEndpoint,
) -> (Client, EventLoop) {
    let (addr, port) = endpoint.target();
    let keep_alive = Duration::from_secs(u64::from(profile.keep_alive));
    let max = profile.max_packet_size as usize;
    let username = profile.username.clone().unwrap_or_default();
    let credentials = (!username.is_empty() || password.is_some())
        .then(|| (username, password.unwrap_or_default().to_string()));
    match profile.version {
        MqttVersion::V311 => {
            let mut o = rumqttc::MqttOptions::new(client_id, addr, port);
            #[cfg(unix)]
            o.set_transport(rumqttc::Transport::Unix);
            o.set_keep_alive(keep_alive)
                .set_clean_session(profile.clean_start)
                .set_max_packet_size(max, max);
            if let Some((user, pass)) = credentials {
                o.set_credentials(user, pass);
            }
            if let Some(will) = &profile.will {
                o.set_last_will(rumqttc::LastWill::new(
                    will.topic.clone(),
                    will.payload.clone().into_bytes(),
                    qos4(will.qos),
                    will.retain,
                ));
            }
            let (client, mut eventloop) = rumqttc::AsyncClient::new(o, REQUEST_CAPACITY);
            // rumqttc 3.1.1 also limits each write's flush to this: a large payload over a slow
            // link needs far more than the default 5 s.
            let mut network = rumqttc::NetworkOptions::new();
            network.set_connection_timeout(FLUSH_TIMEOUT_SECS);
            eventloop.set_network_options(network);
            (Client::V4(client), EventLoop::V4(Box::new(eventloop)))
        }
        MqttVersion::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(client_id, addr, port);
            #[cfg(unix)]
            o.set_transport(rumqttc::Transport::Unix);
            o.set_keep_alive(keep_alive)
                .set_clean_start(profile.clean_start)
                .set_max_packet_size(Some(profile.max_packet_size))
                .set_session_expiry_interval(profile.session_expiry);
            if let Some((user, pass)) = credentials {
                o.set_credentials(user, pass);
            }
            if let Some(will) = &profile.will {
                let p = &will.properties;
                let properties = rumqttc::v5::mqttbytes::v5::LastWillProperties {
                    delay_interval: p.will_delay,
                    payload_format_indicator: p.payload_is_utf8.then_some(1),
                    message_expiry_interval: p.message_expiry,
                    content_type: p.content_type.clone().filter(|t| !t.is_empty()),
                    response_topic: p.response_topic.clone().filter(|t| !t.is_empty()),
                    correlation_data: p
                        .correlation_data
                        .clone()
                        .filter(|c| !c.is_empty())
                        .map(bytes::Bytes::from),
                    user_properties: user_properties(p),
                };
                o.set_last_will(rumqttc::v5::mqttbytes::v5::LastWill::new(
                    will.topic.clone(),
                    will.payload.clone().into_bytes(),
                    qos5(will.qos),
                    will.retain,
                    Some(properties),
                ));
            }
            let (client, eventloop) = rumqttc::v5::AsyncClient::new(o, REQUEST_CAPACITY);
            (Client::V5(client), EventLoop::V5(Box::new(eventloop)))
        }
    }
}

/// Starts a session's task. The profile must have passed validation.
pub fn start(
    profile: Profile,
    password: Option<String>,
    granted: HashMap<String, u8>,
    traffic: mpsc::Sender<SessionTraffic>,
    dropped: Arc<AtomicU64>,
) -> std::io::Result<Running> {
    let endpoint = LocalEndpoint::open()?;
    let client_id = if profile.client_id.is_empty() {
        random_id("mqttwb-")
    } else {
        profile.client_id.clone()
    };
    // rumqttc knows the session by a one-time id; the tap puts the real one in the CONNECT.
    let local_id = crate::random_id_long("wb-local-");
    let (client, eventloop) = build(&profile, &local_id, password.as_deref(), &endpoint);
    let shared = Arc::new(Shared {
        state: Mutex::new(ConnectionState::Connecting { attempt: 1 }),
        observed: Arc::new(Mutex::new(Observed {
            granted,
            ..Observed::default()
        })),
        subscriptions: Mutex::new(profile.subscriptions.clone()),
        dropped: Default::default(),
    });
    let (stop_tx, stop_rx) = watch::channel(Stop::Run);
    let task = Task {
        source: source_id(&profile.id).into(),
        client_id: client_id.clone().into(),
        local_id: local_id.into(),
        profile,
        endpoint: Arc::new(endpoint),
        client: client.clone(),
        eventloop,
        shared: shared.clone(),
        traffic,
        dropped,
        stop: stop_rx,
        connection: 0,
        ever_connected: false,
    };
    Ok(Running {
        shared,
        client,
        client_id,
        stop: stop_tx,
        task: tokio::spawn(task.run()),
    })
}

/// The session's task and everything it owns.
struct Task {
    profile: Profile,
    source: Arc<str>,
    client_id: Arc<str>,
    /// The one-time client id rumqttc uses towards the tap.
    local_id: Arc<str>,
    endpoint: Arc<LocalEndpoint>,
    client: Client,
    eventloop: EventLoop,
    shared: Arc<Shared>,
    traffic: mpsc::Sender<SessionTraffic>,
    dropped: Arc<AtomicU64>,
    stop: watch::Receiver<Stop>,
    connection: u64,
    /// Whether any connection of this run got as far as CONNACK.
    ever_connected: bool,
}

/// Cuts a message that may embed a whole packet's debug dump.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The pause before attempt `attempt + 1`: 1 s, 2 s, 4 s ... up to 30 s.
fn backoff(attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(5);
    (BACKOFF_FIRST * factor).min(BACKOFF_MAX)
}

/// How one connection ended (when the user did not stop it).
struct Outcome {
    error: SessionError,
    /// The broker's reason code behind the error, if it gave one.
    answer: Option<BrokerAnswer>,
    /// Whether trying again can help.
    retry: bool,
    /// Whether it got as far as CONNACK (the backoff starts over then).
    was_connected: bool,
}

impl Task {
    fn observed(&self) -> std::sync::MutexGuard<'_, Observed> {
        self.shared
            .observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn version(&self) -> ProtocolVersion {
        match self.profile.version {
            MqttVersion::V311 => ProtocolVersion::V311,
            MqttVersion::V5 => ProtocolVersion::V5,
        }
    }

    async fn run(mut self) {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.shared.set(ConnectionState::Connecting { attempt });
            let Some(outcome) = self.connection().await else {
                break;
            };
            if outcome.was_connected {
                attempt = 1;
            }
            let code = workbench_wire::Coded::code(&outcome.error);
            if !(outcome.retry && self.profile.auto_reconnect) {
                self.shared.set(ConnectionState::Failed {
                    code,
                    reason: outcome.error.to_string(),
                    answer: outcome.answer,
                });
                return;
            }
            let pause = backoff(attempt);
            self.shared.set(ConnectionState::Reconnecting {
                at: now_ms() + pause.as_millis() as f64,
                attempt: attempt + 1,
                code,
                reason: outcome.error.to_string(),
                answer: outcome.answer,
            });
            let mut stop = self.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
        }
        self.shared.set(ConnectionState::Disconnected);
    }

    /// One connection: dial (through the tap), then drive rumqttc until the connection ends.
    /// `None` when the user stopped the session.
    async fn connection(&mut self) -> Option<Outcome> {
        let mut stop = self.stop.clone();
        if *stop.borrow() != Stop::Run {
            return None;
        }
        let dialed = tokio::select! {
            dialed = dial::dial(&self.profile) => dialed,
            _ = stop.changed() => return None,
        };
        let dialed = match dialed {
            Ok(dialed) => dialed,
            Err(error) => {
                // Name resolution and refused ports may heal; certificates and settings do not.
                let retry = matches!(error, SessionError::Unreachable(_));
                return Some(Outcome {
                    error,
                    answer: None,
                    retry,
                    was_connected: false,
                });
            }
        };
        self.connection += 1;
        {
            let mut observed = self.observed();
            observed.connack = None;
            observed.disconnect = None;
            observed.subscribing.clear();
        }
        let ctx = Arc::new(TapContext {
            source: self.source.clone(),
            client_id: self.client_id.clone(),
            local_id: self.local_id.clone(),
            connection: self.connection,
            remote: Some(dialed.remote),
            version: self.version(),
            max_packet: self.profile.max_packet_size as usize + 16,
            events: self.traffic.clone(),
            dropped: self.dropped.clone(),
            observed: self.shared.observed.clone(),
        });
        let endpoint = self.endpoint.clone();
        let upstream = dialed.stream;
        let mut relay = AbortOnDrop(tokio::spawn(async move {
            // The first local connection whose CONNECT proves it is rumqttc's is relayed;
            // anything else that connects to the endpoint is closed.
            while let Ok(mut local) = endpoint.accept().await {
                if let Some(first) = tap::admit(&mut local, &ctx).await {
                    tap::relay(local, first, upstream, ctx).await;
                    return;
                }
                tracing::warn!("a local program connected to the session's endpoint; refused");
            }
        }));
        let mut was_connected = false;
        loop {
            let polled = tokio::select! {
                polled = self.eventloop.poll() => polled,
                _ = stop.changed() => {
                    self.stop_connection(&mut relay).await;
                    return None;
                }
            };
            match polled {
                Ok(Polled::ConnAck { session_present }) => {
                    was_connected = true;
                    self.ever_connected = true;
                    self.shared.set(ConnectionState::Connected {
                        since: now_ms(),
                        resumed: session_present,
                    });
                    self.resubscribe(session_present);
                }
                Ok(Polled::SentDisconnect) if *self.stop.borrow() != Stop::Run => {
                    self.stop_connection(&mut relay).await;
                    return None;
                }
                Ok(Polled::SentDisconnect) => {
                    // rumqttc gave up on the connection itself (MQTT 5: a protocol error such as
                    // an unknown topic alias from the broker): a lost connection, not a stop.
                    return Some(Outcome {
                        error: SessionError::Protocol(
                            "the client ended the connection after a protocol error from the broker".into(),
                        ),
                        answer: None,
                        retry: true,
                        was_connected,
                    });
                }
                Ok(Polled::Other) => {}
                Err(error) => {
                    let (error, retry, answer) = self.explain(error);
                    return Some(Outcome {
                        error,
                        answer,
                        retry,
                        was_connected,
                    });
                }
            }
        }
    }

    /// After CONNACK: sends every subscription the broker does not hold (all of them unless
    /// the session was resumed).
    fn resubscribe(&mut self, session_present: bool) {
        let subscriptions = self
            .shared
            .subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let granted = {
            let mut observed = self.observed();
            if !session_present {
                observed.granted.clear();
            }
            observed.granted.clone()
        };
        let wanted: Vec<&Subscription> = subscriptions
            .iter()
            // Refused filters (codes 0x80 and above) are asked for again: an ACL may have changed.
            .filter(|s| granted.get(&s.filter).is_none_or(|code| *code >= 0x80))
            .collect();
        if let Err(e) = self.client.try_subscribe_all(&wanted) {
            tracing::warn!(error = %e, "re-subscribing failed");
        }
    }

    /// Ends the connection as asked: with DISCONNECT (waiting until it went out and the relay
    /// forwarded it), or by closing the socket.
    async fn stop_connection(&mut self, relay: &mut AbortOnDrop) {
        let graceful = *self.stop.borrow() == Stop::Graceful;
        let online = matches!(
            *self.shared.state.lock().unwrap_or_else(|p| p.into_inner()),
            ConnectionState::Connected { .. }
        );
        if graceful && online {
            self.client.try_disconnect();
            let _ = tokio::time::timeout(STOP_TIMEOUT, async {
                loop {
                    match self.eventloop.poll().await {
                        Ok(Polled::SentDisconnect) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
        }
        // Closing rumqttc's side lets the relay forward what is left, then close the broker's.
        self.eventloop.close();
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut relay.0).await;
    }

    /// Puts a failed connection in words: the CONNACK code, the broker's DISCONNECT reason,
    /// or what happened to the socket; with the broker's reason code itself when it gave one.
    fn explain(&self, error: PollError) -> (SessionError, bool, Option<BrokerAnswer>) {
        let observed = self.observed().clone();
        let answer = match &error {
            PollError::Refused => Some(BrokerAnswer::new(
                AnswerPacket::Connack,
                observed.connack.unwrap_or(0x80),
            )),
            PollError::Closed(_) => {
                observed
                    .disconnect
                    .as_ref()
                    .map(|(code, reason)| BrokerAnswer {
                        detail: reason.clone().unwrap_or_default(),
                        ..BrokerAnswer::new(AnswerPacket::Disconnect, *code)
                    })
            }
            _ => None,
        };
        let (error, retry) = match error {
            PollError::Refused => {
                let code = observed.connack.unwrap_or(0x80);
                let (class, retry, text) = words::connack(self.profile.version, code);
                let error = match class {
                    ErrorCode::AuthFailed => SessionError::AuthFailed(text),
                    ErrorCode::Unreachable => SessionError::Unreachable(text),
                    _ => SessionError::Protocol(text),
                };
                (error, retry)
            }
            PollError::Closed(io) => {
                // What happened on the broker's side (a TLS alert, a reset) says more than the
                // local socket rumqttc saw close.
                let io = observed.upstream_error.clone().unwrap_or(io);
                match observed.disconnect {
                Some((code, reason_string)) => {
                    let mut text = words::disconnect(code);
                    if let Some(reason) = reason_string {
                        text.push_str(&format!(": {reason}"));
                    }
                    (SessionError::Unreachable(text), true)
                }
                None if observed.connack.is_none() && self.profile.transport.is_tls() => (
                    SessionError::Tls(format!(
                        "the broker closed the TLS connection before answering CONNECT ({io}); it may require a client certificate, or refuse the one given"
                    )),
                    // A certificate the broker refuses does not become acceptable by retrying;
                    // but once connected before, this is more likely a restarting broker.
                    self.ever_connected,
                ),
                None if observed.connack.is_none() => (
                    SessionError::Protocol(format!(
                        "the connection closed before the broker answered CONNECT ({io}); is this an MQTT port, and does the broker speak MQTT {}?",
                        self.version().label()
                    )),
                    true,
                ),
                None => (
                    SessionError::Unreachable(format!("the connection to the broker was lost ({io})")),
                    true,
                ),
            }
            }
            PollError::Timeout => (
                SessionError::Unreachable(
                    "the broker did not answer in time (no CONNACK, or a write could not finish)"
                        .into(),
                ),
                true,
            ),
            PollError::NotConnAck(packet) => (
                SessionError::Protocol(format!(
                    "the server answered CONNECT with something other than CONNACK ({}); is this an MQTT port, and does the broker speak MQTT {}?",
                    shorten(&packet, 120),
                    self.version().label()
                )),
                true,
            ),
            PollError::NoPong => (
                SessionError::Unreachable(format!(
                    "the broker did not answer a ping within the keep-alive of {} s; the connection is presumed dead",
                    self.profile.keep_alive
                )),
                true,
            ),
            PollError::TooLarge(text) => (
                SessionError::Protocol(format!(
                    "a packet larger than allowed arrived or was about to be sent (this session accepts {} bytes{}); raise the limit in the profile, or send less ({text})",
                    self.profile.max_packet_size,
                    observed
                        .server_max_packet
                        .map(|m| format!(", the broker {m}"))
                        .unwrap_or_default()
                )),
                // It would happen again at once (a replayed publish, a retained message).
                false,
            ),
            PollError::Protocol(text) => (
                SessionError::Protocol(format!("protocol error: {}", shorten(&text, 300))),
                true,
            ),
        };
        (error, retry, answer)
    }
}
