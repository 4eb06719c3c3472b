//! The embedded MQTT broker: MQTT 3.1, 3.1.1 and 5 on one port, over TCP, TLS, WebSocket and
//! secure WebSocket, with every packet of every client observable.
//!
//! A map of the crate, from the socket inwards:
//!
//! - [`listeners`]: accept loops and admission (connections in all, per address).
//! - [`connection`]: one task per connection: reads, writes, time; owns its [`door::Door`].
//! - [`door`]: the per-connection protocol state machine (sans I/O): CONNECT and
//!   authentication, publishes and their acknowledgements, subscriptions, deliveries with flow
//!   control and topic aliases, packet events for the traffic views.
//! - [`router`]: the routing engine shared by all connections: subscription tree, retained
//!   store, sessions and their mailboxes, session expiry and delayed wills.
//! - [`sys`]: `$SYS` statistics as retained messages.
//! - [`stats`]: counters and the connected clients for the dashboard.
//! - [`limits`]: every limit on what peers control, with its default.
//!
//! This crate never imports a UI toolkit and never trusts a byte a peer sends: nothing a client
//! sends can panic it, stall other clients or grow memory without bound.

extern crate workbench_wire as wire;

pub mod connection;
pub mod door;
pub mod limits;
pub mod listeners;
mod refusal;
pub mod router;
pub mod stats;
pub mod sys;

pub use limits::{Limits, DEFAULT_MAX_PACKET_SIZE, MAX_PACKET_SIZE_CEILING};
pub use stats::ClientInfo;

use connection::BrokerContext;
use door::{DoorConfig, Users};
use router::message::Message;
use router::Router;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;
use wire::codec::QoS;
use wire::{PacketEvent, ProtocolVersion};

/// The MQTT port every client tries first.
pub const DEFAULT_PORT: u16 = 1883;
/// How many ports after a taken default port are tried.
const PORT_FALLBACK_RANGE: u16 = 20;
/// How long stopping waits for connections to close before leaving them.
const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// How the broker listens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerSettings {
    /// The address to listen on: loopback by default; `0.0.0.0` exposes the broker on the network.
    pub bind: IpAddr,
    pub port: u16,
    /// When the port is taken, try the next ones (for the default port at start).
    pub port_fallback: bool,
    /// Username to password. Empty: anyone may connect.
    pub users: HashMap<String, String>,
    /// A WebSocket listener (path-agnostic, subprotocol "mqtt") on this port, if set.
    pub websocket_port: Option<u16>,
    /// A TLS listener, if set.
    pub tls: Option<TlsSettings>,
    /// Limits on what clients may do (packet size, queues, keep-alive, ...).
    #[serde(default)]
    pub limits: Limits,
}

/// A TLS listener's port and its PEM certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TlsSettings {
    pub port: u16,
    /// Also MQTT over secure WebSocket (`wss://`) on this port, with the same certificate.
    #[serde(default)]
    pub wss_port: Option<u16>,
    pub cert_path: std::path::PathBuf,
    pub key_path: std::path::PathBuf,
}

/// One listening socket of a running broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// "mqtt", "ws", "mqtts" or "wss".
    pub scheme: &'static str,
    pub address: SocketAddr,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            port_fallback: true,
            users: HashMap::new(),
            websocket_port: None,
            tls: None,
            limits: Limits::default(),
        }
    }
}

/// Why the broker could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    #[error("port {port} on {bind} is already in use by another program")]
    PortInUse { bind: IpAddr, port: u16 },
    #[error("cannot listen on {bind}:{port}: {reason}")]
    Bind {
        bind: IpAddr,
        port: u16,
        reason: String,
    },
    #[error("invalid broker settings: {0}")]
    InvalidSettings(String),
    #[error("the broker is not running")]
    NotRunning,
    /// The operating system refused a thread or a runtime.
    #[error("the broker could not start: {0}")]
    Start(String),
}

impl wire::Coded for BrokerError {
    fn code(&self) -> wire::ErrorCode {
        use wire::ErrorCode;
        match self {
            BrokerError::PortInUse { .. } => ErrorCode::PortInUse,
            BrokerError::Bind { .. } => ErrorCode::Io,
            BrokerError::InvalidSettings(_) => ErrorCode::InvalidInput,
            BrokerError::NotRunning => ErrorCode::InvalidState,
            BrokerError::Start(_) => ErrorCode::Internal,
        }
    }
}

/// Packet events taken together from one step of one connection. The bytes they hold count
/// against the broker's tap budget until the batch is consumed or dropped: a consumer that falls
/// behind makes the broker drop (and count) events, never hold gigabytes of them.
#[derive(Debug)]
pub struct PacketBatch {
    events: Vec<PacketEvent>,
    _held: Option<wire::budget::Held>,
}

impl PacketBatch {
    /// A batch outside any budget (tests, replays).
    pub fn new(events: Vec<PacketEvent>) -> PacketBatch {
        PacketBatch {
            events,
            _held: None,
        }
    }

    /// A batch holding its weight in `budget`; `None` when the budget has no room.
    pub fn within(events: Vec<PacketEvent>, budget: &wire::budget::Budget) -> Option<PacketBatch> {
        let held = budget.hold(wire::budget::weigh(&events))?;
        Some(PacketBatch {
            events,
            _held: Some(held),
        })
    }

    pub fn events(&self) -> &[PacketEvent] {
        &self.events
    }

    /// The events, giving their bytes back to the budget.
    pub fn into_events(self) -> Vec<PacketEvent> {
        self.events
    }
}

/// What the broker reports as it runs: packets in batches, and client lifecycle notices.
#[derive(Debug)]
pub enum BrokerEvent {
    Packets(PacketBatch),
    Connected {
        client_id: String,
        remote: SocketAddr,
        version: ProtocolVersion,
    },
    Refused {
        client_id: String,
        remote: SocketAddr,
        reason: String,
    },
    Subscribed {
        client_id: String,
        filter: String,
        qos: u8,
    },
    Unsubscribed {
        client_id: String,
        filter: String,
    },
    /// A topic's retained message was set (`present`) or deleted.
    Retained {
        topic: Arc<str>,
        present: bool,
    },
    Disconnected {
        client_id: String,
        remote: SocketAddr,
        reason: String,
        /// QoS 0 messages this client lost because it read too slowly.
        dropped_qos0: u64,
    },
}

/// A running broker. Dropping it stops it as [`Broker::stop`] does, without waiting.
///
/// The broker runs on a thread of its own with a single-threaded runtime, as mosquitto runs
/// one event loop: packets from different clients are handled in the order they arrived (a
/// client that subscribes just before another publishes gets the message, which tests and
/// learners rely on), no lock is ever contended, and the broker's work never competes with the
/// app's for a runtime.
pub struct Broker {
    address: SocketAddr,
    listeners: Vec<Listener>,
    ctx: Arc<BrokerContext>,
    shutdown: watch::Sender<bool>,
    tasks: TaskTracker,
    runtime: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.tasks.close();
    }
}

async fn stopped(mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

impl Broker {
    /// Starts listening with a routing engine of its own. `events`, when given, receives
    /// packets and notices; a full channel drops events (counted) rather than slowing the
    /// broker.
    pub async fn start(
        settings: BrokerSettings,
        events: Option<mpsc::Sender<BrokerEvent>>,
    ) -> Result<Broker, BrokerError> {
        let router = Arc::new(Router::new(settings.limits.router_limits()));
        Self::start_on(settings, events, router).await
    }

    /// Starts listening in front of `router`, which keeps its retained messages and sessions
    /// when a broker stops and another starts on it (the app changing ports, say).
    pub async fn start_on(
        settings: BrokerSettings,
        events: Option<mpsc::Sender<BrokerEvent>>,
        router: Arc<Router>,
    ) -> Result<Broker, BrokerError> {
        settings
            .limits
            .validate()
            .map_err(BrokerError::InvalidSettings)?;
        router.set_limits(settings.limits.router_limits());
        // Everything that can fail is checked before anything listens.
        let tls = match &settings.tls {
            Some(tls) => Some((
                tls.port,
                tls.wss_port,
                listeners::tls_acceptor(&tls.cert_path, &tls.key_path)?,
            )),
            None => None,
        };
        let mut bound = vec![(
            bind(&settings, settings.port, settings.port_fallback).await?,
            listeners::Transport::Tcp,
        )];
        if let Some(port) = settings.websocket_port {
            bound.push((
                bind(&settings, port, false).await?,
                listeners::Transport::WebSocket,
            ));
        }
        if let Some((port, wss_port, acceptor)) = tls {
            bound.push((
                bind(&settings, port, false).await?,
                listeners::Transport::Tls(acceptor.clone()),
            ));
            if let Some(wss_port) = wss_port {
                bound.push((
                    bind(&settings, wss_port, false).await?,
                    listeners::Transport::SecureWebSocket(acceptor),
                ));
            }
        }
        let mut listeners_info = Vec::new();
        for (listener, transport) in &bound {
            let address = listener.local_addr().map_err(|e| BrokerError::Bind {
                bind: settings.bind,
                port: settings.port,
                reason: e.to_string(),
            })?;
            listeners_info.push(Listener {
                scheme: transport.label(),
                address,
            });
        }
        let address = listeners_info[0].address;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let tasks = TaskTracker::new();
        let (handle, runtime) = broker_thread(shutdown_rx.clone(), tasks.clone())?;
        let stats = Arc::new(stats::Stats::default());
        let sys = Arc::new(sys::SysPublisher::new(router.clone(), stats.clone()));
        let ctx = Arc::new(BrokerContext {
            router: router.clone(),
            door: Arc::new(DoorConfig {
                limits: settings.limits.clone(),
                users: Users::new(&settings.users),
                tap: events.is_some(),
                sys: Some(sys.clone()),
            }),
            stats,
            events,
            serial: AtomicU64::new(0),
            unfinished: AtomicUsize::new(0),
            tapped: wire::budget::Budget::new(connection::TAP_BUDGET),
        });
        let admission = listeners::Admission::new(
            settings.limits.max_connections,
            settings.limits.max_connections_per_address,
        );
        for (listener, transport) in bound {
            // Listeners were bound on the caller's runtime; they move to the broker's.
            let listener = listener.into_std().map_err(|e| BrokerError::Bind {
                bind: settings.bind,
                port: settings.port,
                reason: e.to_string(),
            })?;
            let (ctx, admission, tasks_inner, shutdown_rx) = (
                ctx.clone(),
                admission.clone(),
                tasks.clone(),
                shutdown_rx.clone(),
            );
            tasks.spawn_on(
                async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            listeners::accept_loop(
                                listener,
                                transport,
                                ctx,
                                admission,
                                tasks_inner,
                                shutdown_rx,
                            )
                            .await
                        }
                        Err(error) => tracing::error!(%error, "a listener could not start"),
                    }
                },
                &handle,
            );
        }
        tasks.spawn_on(
            router.clone().run_timers(stopped(shutdown_rx.clone())),
            &handle,
        );
        tasks.spawn_on(sys::run(sys, stopped(shutdown_rx)), &handle);
        Ok(Broker {
            address,
            listeners: listeners_info,
            ctx,
            shutdown,
            tasks,
            runtime: Some(runtime),
        })
    }

    /// The address the broker listens on (with the port actually bound).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Every listening socket (TCP first, then WebSocket and TLS when configured).
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    pub fn router(&self) -> &Arc<Router> {
        &self.ctx.router
    }

    /// Deletes the retained messages of `topics`, as an empty retained publish of the broker's
    /// own would (subscribers see the deletion). Returns how many topics were cleared.
    pub fn delete_retained(&self, topics: &[String]) -> usize {
        let mut scratch = Vec::new();
        let mut congested = None;
        let mut cleared = 0;
        for topic in topics {
            if wire::topic::validate_name(topic).is_err() {
                continue;
            }
            let message = Arc::new(Message::new(topic, Vec::new(), QoS::AtMostOnce, true));
            let routed = self
                .ctx
                .router
                .publish(message, &mut scratch, &mut congested);
            if routed.retained == Some(router::retained::RetainChange::Removed) {
                cleared += 1;
                self.ctx.report(BrokerEvent::Retained {
                    topic: Arc::from(topic.as_str()),
                    present: false,
                });
            }
        }
        cleared
    }

    /// Topics holding a retained message (not counting `$SYS`).
    pub fn retained_count(&self) -> usize {
        self.ctx.router.retained_count()
    }

    /// Clients connected right now.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.ctx.stats.clients(1_000)
    }

    /// Events dropped because the consumer fell behind.
    pub fn events_dropped(&self) -> u64 {
        self.ctx
            .stats
            .events_dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current `$SYS` values.
    pub fn sys_values(&self) -> Vec<(String, String)> {
        self.ctx.stats.sys_values(&self.ctx.router)
    }

    /// Closes the connection of `client_id` with an MQTT 5 reason code (for example 0x98
    /// Administrative action). False when no connection serves that client id.
    pub fn disconnect_client(&self, client_id: &str, code: u8) -> bool {
        match self.ctx.router.control_of(client_id) {
            Some(control) => control
                .try_send(router::registry::Control::Close(code))
                .is_ok(),
            None => false,
        }
    }

    /// Stops listening and closes every connection (MQTT 5 clients are told the server is
    /// shutting down; wills fire, as on any abnormal close), waiting for every connection and
    /// timer task to end (at most a few seconds). The router keeps retained messages and
    /// sessions for the next start on it.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        self.tasks.close();
        if tokio::time::timeout(STOP_DEADLINE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "{} connection tasks did not end within {} s",
                self.tasks.len(),
                STOP_DEADLINE.as_secs()
            );
        }
        if let Some(runtime) = self.runtime.take() {
            // The thread ends once shutdown is signalled; it holds nothing to wait for.
            let _ = tokio::task::spawn_blocking(move || runtime.join()).await;
        }
    }

    /// Tasks still running (connections, listeners, timers): 0 after [`Broker::stop`].
    pub fn tasks_running(&self) -> usize {
        self.tasks.len()
    }
}

/// Starts the broker's thread and its single-threaded runtime. It runs until the shutdown
/// signal (sent by `stop` or by dropping the broker), then until every task has ended (at most
/// [`STOP_DEADLINE`]).
fn broker_thread(
    shutdown: watch::Receiver<bool>,
    tasks: TaskTracker,
) -> Result<(tokio::runtime::Handle, std::thread::JoinHandle<()>), BrokerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("mqtt-broker")
        .build()
        .map_err(|e| BrokerError::Start(e.to_string()))?;
    let handle = runtime.handle().clone();
    let thread = std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            runtime.block_on(async move {
                stopped(shutdown).await;
                tasks.close();
                let _ = tokio::time::timeout(STOP_DEADLINE, tasks.wait()).await;
            });
        })
        .map_err(|e| BrokerError::Start(e.to_string()))?;
    Ok((handle, thread))
}

async fn bind(
    settings: &BrokerSettings,
    first_port: u16,
    fallback: bool,
) -> Result<tokio::net::TcpListener, BrokerError> {
    let tries = if fallback && first_port != 0 {
        PORT_FALLBACK_RANGE
    } else {
        1
    };
    let mut port = first_port;
    for attempt in 0..tries {
        match tokio::net::TcpListener::bind((settings.bind, port)).await {
            Ok(listener) => {
                if attempt > 0 {
                    tracing::warn!("port {first_port} was taken; listening on port {port} instead");
                }
                return Ok(listener);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
                port = port.saturating_add(1);
            }
            Err(error) => {
                return Err(BrokerError::Bind {
                    bind: settings.bind,
                    port,
                    reason: error.to_string(),
                })
            }
        }
    }
    Err(BrokerError::PortInUse {
        bind: settings.bind,
        port: first_port,
    })
}
