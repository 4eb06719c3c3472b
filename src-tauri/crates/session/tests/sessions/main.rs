//! Client sessions driven as the IPC commands drive them (through `SessionManager`), against the
//! embedded broker and a mosquitto started by each test, with mosquitto_pub/sub as independent
//! peers. Every error case checks its specific message, and that the session manager goes on.
//!
//! - [`delivery`]: QoS round trips, retained messages, wills, reconnecting, persistent sessions.
//! - [`errors`]: wrong passwords, broker disconnects, unreachable brokers, bad input, limits.
//! - [`transports`]: TLS, WebSocket, MQTT 5 properties, saved profiles.

mod delivery;
mod errors;
mod transports;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workbench_broker::BrokerSettings;
use workbench_core::hub::TrafficHub;
use workbench_session::payload::PayloadInput;
use workbench_session::profile::{MessageProperties, UserProperty, Will};
use workbench_session::secrets::Secrets;
use workbench_session::{
    AnswerPacket, ConnectionState, MqttVersion, Profile, PublishRequest, SessionError,
    SessionManager, SessionView, Subscription, SubscriptionStatus, TransportKind,
};
use workbench_testkit::mosquitto::{Mosquitto, MosquittoTls, TestCa};
use workbench_testkit::peers::{
    finish, mosquitto_pub, mosquitto_sub, wait_until, ReadySub, TestBroker, PATIENCE,
};
use workbench_traffic::source::SourceLimits;
use workbench_wire::{Coded, ErrorCode};
use workbench_wire::{Direction, PacketKind};

/// Sessions and the traffic model they feed, on their own runtime, as the app assembles them.
struct Harness {
    runtime: tokio::runtime::Runtime,
    sessions: Arc<SessionManager>,
    hub: Arc<TrafficHub>,
}

impl Harness {
    fn new() -> Harness {
        workbench_core::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let hub = TrafficHub::new(SourceLimits::default());
        runtime.spawn(hub.clone().ingest_sessions(rx));
        let sessions = Arc::new(SessionManager::new(None, Secrets::memory_only("tests"), tx));
        Harness {
            runtime,
            sessions,
            hub,
        }
    }

    fn add(&self, profile: Profile, password: Option<&str>) -> String {
        let (view, _) = self
            .sessions
            .save(profile, password.map(str::to_string))
            .expect("profile saved");
        view.profile.id
    }

    fn connect(&self, id: &str) {
        let _guard = self.runtime.enter();
        self.sessions.connect(id).expect("connect starts");
    }

    /// Waits until the session's state passes `accept`, failing with the last state seen.
    fn wait_state(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&ConnectionState) -> bool,
    ) -> SessionView {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let view = self.sessions.get(id).expect("session exists");
            if accept(&view.state) {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; state is {:?}",
                view.state
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_connected(&self, id: &str) -> SessionView {
        self.wait_state(id, "connected", |s| {
            matches!(s, ConnectionState::Connected { .. })
        })
    }

    /// Connects and waits until every subscription is granted.
    fn online(&self, id: &str) {
        self.connect(id);
        self.ready(id);
    }

    /// Waits until connected with every subscription granted.
    fn ready(&self, id: &str) {
        self.wait_connected(id);
        wait_until("subscriptions granted", || {
            self.sessions
                .get(id)
                .expect("session")
                .subscriptions
                .iter()
                .all(|s| matches!(s.status, SubscriptionStatus::Granted { .. }))
        });
    }

    fn subscribe(&self, id: &str, sub: Subscription) -> Result<SessionView, SessionError> {
        self.runtime.block_on(self.sessions.subscribe(id, sub))
    }

    fn publish(&self, id: &str, request: PublishRequest) -> Result<usize, SessionError> {
        self.runtime.block_on(self.sessions.publish(id, request))
    }

    fn publish_text(&self, id: &str, topic: &str, text: &str, qos: u8, retain: bool) {
        self.publish(
            id,
            PublishRequest {
                topic: topic.into(),
                payload: PayloadInput::Text(text.into()),
                qos,
                retain,
                properties: MessageProperties::default(),
            },
        )
        .expect("published");
    }

    /// The latest payload and message count of `topic` in the session's topic tree.
    fn received(&self, id: &str, topic: &str) -> Option<(Vec<u8>, u64, bool)> {
        self.hub
            .read_source(&workbench_wire::SourceId::Session(id.to_string()), |s| {
                let tree = &s.tree;
                let node = tree.node(tree.find(topic)?)?;
                let latest = node.history.latest()?;
                Some((latest.payload.to_vec(), node.own_count, latest.retain))
            })
    }

    fn wait_received(&self, id: &str, topic: &str, count: u64) -> (Vec<u8>, u64, bool) {
        let mut last = None;
        wait_until(&format!("{count} message(s) on {topic}"), || {
            last = self.received(id, topic);
            last.as_ref().is_some_and(|(_, n, _)| *n >= count)
        });
        last.expect("received")
    }

    /// The session's packet log: (direction, kind) in order.
    fn packets(&self, id: &str) -> Vec<(Direction, PacketKind)> {
        self.hub
            .read_source(&workbench_wire::SourceId::Session(id.to_string()), |s| {
                s.packets().map(|p| (p.direction, p.summary.kind)).collect()
            })
    }

    fn stop(&self, id: &str, graceful: bool) {
        self.sessions.disconnect(id, graceful).expect("disconnect");
        self.runtime.block_on(self.sessions.wait_stopped(id));
    }
}

fn profile(name: &str, port: u16, version: MqttVersion) -> Profile {
    let mut p = Profile::new(name, "127.0.0.1", port, version);
    p.client_id = format!(
        "{name}-{}",
        if version == MqttVersion::V5 {
            "v5"
        } else {
            "v311"
        }
    );
    p
}

fn text(request_topic: &str, payload: &str, qos: u8) -> PublishRequest {
    PublishRequest {
        topic: request_topic.into(),
        payload: PayloadInput::Text(payload.into()),
        qos,
        retain: false,
        properties: MessageProperties::default(),
    }
}
