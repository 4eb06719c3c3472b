//! The inspecting proxy: devices connect to it as to a broker (TCP, TLS with the user's
//! certificate, WebSocket, secure WebSocket), and it forwards every connection to an upstream
//! broker (mqtt, mqtts with a CA and client certificate, ws, wss), MQTT 3.1, 3.1.1 and 5. Every
//! byte passes unchanged; every packet is framed in both directions and reported as the embedded
//! broker reports its own clients' ([`workbench_broker::BrokerEvent`]), so the traffic views show
//! a proxied device exactly as they show a device on the embedded broker.
//!
//! A map of the crate, from the socket inwards:
//!
//! - [`settings`]: where the proxy listens and which upstream it forwards to, checked up front.
//! - [`listen`]: the accept loop (the broker's listeners' TLS, WebSocket and admission reused).
//! - [`relay`]: one task per device: its CONNECT, the upstream dialed, the packets pumped both
//!   ways with the door's bounds (maximum packet size, write timeouts, bounded buffers).
//! - [`observe`]: what the packets mean (sans I/O): the client id, the upstream's CONNACK in
//!   words, subscriptions confirmed by their SUBACK, how the connection ended.
//! - [`faults`]: fault injection per proxied client (drop, delay, duplicate, cut, pause,
//!   refuse, disconnect), from the same rule book and engine as the embedded broker's.
//! - [`clients`]: the proxied clients' rows, refusals in words included, for the UI and the CLI.
//!
//! A password in a CONNECT is forwarded, never decoded into an event, a row or a log line.
//! Nothing a device or the upstream sends can panic the proxy or grow its memory without bound.

extern crate workbench_wire as wire;

mod bounds;
pub mod clients;
pub mod faults;
pub mod listen;
pub mod observe;
pub mod relay;
pub mod settings;

pub use clients::{ClientState, ProxyClient};
pub use settings::{ListenKind, ProxySettings, UpstreamSettings};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;
use workbench_broker::BrokerEvent;

/// How long stopping waits for connections to close.
const STOP_DEADLINE: Duration = Duration::from_secs(5);
/// Bytes of packet events waiting for the consumer, as the broker allows its own.
const TAP_BUDGET: usize = 64 * 1024 * 1024;

/// Why the proxy could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    #[error("port {port} on {bind} is already in use by another program")]
    PortInUse { bind: std::net::IpAddr, port: u16 },
    #[error("cannot listen on {bind}:{port}: {reason}")]
    Bind {
        bind: std::net::IpAddr,
        port: u16,
        reason: String,
    },
    #[error("invalid proxy settings: {0}")]
    InvalidSettings(String),
}

impl wire::Coded for ProxyError {
    fn code(&self) -> wire::ErrorCode {
        match self {
            ProxyError::PortInUse { .. } => wire::ErrorCode::PortInUse,
            ProxyError::Bind { .. } => wire::ErrorCode::Io,
            ProxyError::InvalidSettings(_) => wire::ErrorCode::InvalidInput,
        }
    }
}

/// Called when a client row changed (connected, refused, left): front ends push the rows.
pub type OnChange = Arc<dyn Fn() + Send + Sync>;

/// What every connection of one proxy shares.
pub struct ProxyContext {
    pub settings: ProxySettings,
    /// The upstream as the session crate dials it.
    pub(crate) upstream: workbench_session::Profile,
    pub(crate) events: Option<mpsc::Sender<BrokerEvent>>,
    pub(crate) tapped: wire::budget::Budget,
    pub(crate) serial: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) clients: clients::ClientTable,
    /// Bytes of large unfinished packets held by all connections.
    pub(crate) unfinished: std::sync::atomic::AtomicUsize,
    /// The fault rules armed on this proxy's clients.
    pub(crate) faults: Arc<workbench_faults::FaultBook>,
    /// Wakes every connection when the rules change (a cut, a pause, a cleared delay).
    pub(crate) fault_wake: Arc<tokio::sync::Notify>,
}

impl ProxyContext {
    pub(crate) fn report(&self, event: BrokerEvent) {
        if let Some(events) = &self.events {
            if events.try_send(event).is_err() {
                // A slow consumer loses events, never the devices their speed.
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn report_packets(&self, events: Vec<wire::PacketEvent>) {
        if events.is_empty() || self.events.is_none() {
            return;
        }
        let count = events.len() as u64;
        match workbench_broker::PacketBatch::within(events, &self.tapped) {
            Some(batch) => self.report(BrokerEvent::Packets(batch)),
            None => {
                self.dropped.fetch_add(count, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn tapping(&self) -> bool {
        self.events.is_some()
    }
}

/// A running proxy. Dropping it stops it as [`Proxy::stop`] does, without waiting.
pub struct Proxy {
    address: SocketAddr,
    ctx: Arc<ProxyContext>,
    shutdown: watch::Sender<bool>,
    tasks: TaskTracker,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.tasks.close();
    }
}

impl Proxy {
    /// Starts listening on the caller's runtime. `events`, when given, receives every packet
    /// and client notice; a full channel drops events (counted), never slows a device.
    /// `on_change` is told when a client row changes.
    pub async fn start(
        settings: ProxySettings,
        events: Option<mpsc::Sender<BrokerEvent>>,
        on_change: Option<OnChange>,
    ) -> Result<Proxy, ProxyError> {
        let checked = settings.check()?;
        let listener = tokio::net::TcpListener::bind((settings.bind, settings.port))
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    ProxyError::PortInUse {
                        bind: settings.bind,
                        port: settings.port,
                    }
                } else {
                    ProxyError::Bind {
                        bind: settings.bind,
                        port: settings.port,
                        reason: e.to_string(),
                    }
                }
            })?;
        let address = listener.local_addr().map_err(|e| ProxyError::Bind {
            bind: settings.bind,
            port: settings.port,
            reason: e.to_string(),
        })?;
        let admission = workbench_broker::listeners::Admission::new(
            settings.limits.max_connections,
            settings.limits.max_connections_per_address,
        );
        let faults = Arc::new(workbench_faults::FaultBook::new());
        let fault_wake = Arc::new(tokio::sync::Notify::new());
        {
            let wake = fault_wake.clone();
            faults.on_change(move |_| wake.notify_waiters());
        }
        let ctx = Arc::new(ProxyContext {
            settings,
            upstream: checked.upstream,
            events,
            tapped: wire::budget::Budget::new(TAP_BUDGET),
            serial: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            clients: clients::ClientTable::new(on_change),
            unfinished: std::sync::atomic::AtomicUsize::new(0),
            faults,
            fault_wake,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let tasks = TaskTracker::new();
        tasks.spawn(listen::accept_loop(
            listener,
            checked.transport,
            ctx.clone(),
            admission,
            tasks.clone(),
            shutdown_rx,
        ));
        Ok(Proxy {
            address,
            ctx,
            shutdown,
            tasks,
        })
    }

    /// The address devices connect to (with the port actually bound).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The URL devices are pointed at (`mqtt://127.0.0.1:1884`, `ws://...`).
    pub fn listen_url(&self) -> String {
        format!(
            "{}://{}{}",
            self.ctx.settings.listen.scheme(),
            self.address,
            if self.ctx.settings.listen.is_websocket() {
                "/mqtt"
            } else {
                ""
            }
        )
    }

    pub fn settings(&self) -> &ProxySettings {
        &self.ctx.settings
    }

    /// The proxied clients: connected ones, then the latest that were refused or left.
    pub fn clients(&self) -> Vec<ProxyClient> {
        self.ctx.clients.rows()
    }

    /// The fault rules of this proxy's clients: arm one and the client's connection obeys it
    /// at its next packet (a cut or a pause at once).
    pub fn faults(&self) -> &Arc<workbench_faults::FaultBook> {
        &self.ctx.faults
    }

    /// Packet events dropped because the consumer fell behind.
    pub fn events_dropped(&self) -> u64 {
        self.ctx.dropped.load(Ordering::Relaxed)
    }

    /// Stops listening and closes every proxied connection (both sides), waiting for their tasks
    /// to end (at most a few seconds).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.tasks.close();
        if tokio::time::timeout(STOP_DEADLINE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "{} proxy tasks did not end within {} s",
                self.tasks.len(),
                STOP_DEADLINE.as_secs()
            );
        }
    }

    /// Tasks still running (the listener and the connections): 0 after [`Proxy::stop`].
    pub fn tasks_running(&self) -> usize {
        self.tasks.len()
    }
}
