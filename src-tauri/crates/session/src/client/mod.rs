//! One running session: rumqttc's client and event loop (MQTT 3.1.1 or 5), driven by a task that
//! dials the broker itself (through the packet tap), reports its state, backs off exponentially
//! between attempts and re-subscribes after a connect that did not resume a session.
//!
//! rumqttc facts this relies on (0.25): polling after an error reconnects at once, so the task
//! sleeps first; subscriptions are not restored by it; several options panic on bad values, so
//! profiles are validated before they get here.

mod rumqtt;
mod task;

use super::profile::{MessageProperties, MqttVersion, Profile, RetainHandling, Subscription};
use super::tap::{LocalEndpoint, Observed, SessionTraffic};
use super::{random_id, ConnectionState, SessionError};
use rumqtt::build;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use task::Task;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Filters sent in one SUBSCRIBE when (re)subscribing several.
const FILTERS_PER_SUBSCRIBE: usize = 64;
/// Requests rumqttc queues before `publish` waits.
const REQUEST_CAPACITY: usize = 256;
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
    /// Told of every state change.
    on_change: Option<crate::OnChange>,
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
        drop(current);
        if let Some(on_change) = &self.on_change {
            on_change();
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

/// Starts a session's task. The profile must have passed validation.
pub fn start(
    profile: Profile,
    password: Option<String>,
    granted: HashMap<String, u8>,
    traffic: mpsc::Sender<SessionTraffic>,
    dropped: Arc<AtomicU64>,
    on_change: Option<crate::OnChange>,
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
        on_change,
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
        session: profile.id.as_str().into(),
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
