//! The embedded broker: rumqttd as the routing engine behind our own front door.
//!
//! The front door owns every listening socket, decodes every packet in both directions,
//! authenticates, serves `$SYS`, reports each packet to the traffic model and relays to rumqttd
//! over a loopback link guarded by credentials only the door knows, correcting rumqttd where it
//! departs from the MQTT specification. It must never import `tauri`, and never trust a byte a
//! peer sends.
//!
//! Each packet is reported as a [`workbench_wire::PacketEvent`] inside a [`BrokerEvent`]; the
//! app core feeds them to the traffic model. This crate must never depend on the traffic model or
//! the sessions.
//!
//! - [`workbench_wire`]: framing and light decoding, without copies (the hot path).
//! - [`codec`]: full decoding and encoding of the packets the door rewrites or answers itself.
//! - [`door`]: the per-connection protocol state machine: bytes in, bytes and events out.

pub mod codec;
pub mod door;
pub mod engine;
pub mod listeners;
pub mod server;
pub mod stats;

pub use door::DoorSettings;
pub use stats::ClientInfo;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use workbench_wire::{self as wire, Coded, ErrorCode, PacketEvent, ProtocolVersion};

/// The MQTT port every client tries first.
pub const DEFAULT_PORT: u16 = 1883;
/// How many ports after a taken default port are tried.
const PORT_FALLBACK_RANGE: u16 = 20;
/// The default maximum packet size: large enough for images and firmware chunks.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 16 * 1024 * 1024;
/// The largest maximum packet size a user may choose.
pub const MAX_PACKET_SIZE_CEILING: usize = 256 * 1024 * 1024;

/// How the broker listens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerSettings {
    /// The address to listen on: loopback by default; `0.0.0.0` exposes the broker on the network.
    pub bind: IpAddr,
    pub port: u16,
    /// When the port is taken, try the next ones (for the default port at start).
    pub port_fallback: bool,
    pub max_packet_size: usize,
    /// Username to password. Empty: anyone may connect.
    pub users: HashMap<String, String>,
    /// A WebSocket listener (path-agnostic, subprotocol "mqtt") on this port, if set.
    pub websocket_port: Option<u16>,
    /// A TLS listener, if set.
    pub tls: Option<TlsSettings>,
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
    /// "mqtt", "ws" or "mqtts".
    pub scheme: &'static str,
    pub address: SocketAddr,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            port_fallback: true,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            users: HashMap::new(),
            websocket_port: None,
            tls: None,
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
    #[error("the routing engine failed: {0}")]
    Engine(String),
}

impl Coded for BrokerError {
    fn code(&self) -> ErrorCode {
        match self {
            BrokerError::PortInUse { .. } => ErrorCode::PortInUse,
            BrokerError::Bind { .. } => ErrorCode::Io,
            BrokerError::InvalidSettings(_) => ErrorCode::InvalidInput,
            BrokerError::Engine(_) => ErrorCode::Internal,
        }
    }
}

/// What the broker reports as it runs: packets in batches, and client lifecycle notices.
#[derive(Debug, Clone)]
pub enum BrokerEvent {
    Packets(Vec<PacketEvent>),
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
    Disconnected {
        client_id: String,
        remote: SocketAddr,
        reason: String,
    },
}

/// Which routing engine a broker fronts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// The process-wide engine (the app's broker): state survives a stop and start.
    Shared,
    /// A fresh engine of its own (tests and benchmarks that must not see each other).
    Dedicated,
}

/// A running broker. Dropping it stops it as [`Broker::stop`] does, without waiting.
pub struct Broker {
    address: SocketAddr,
    /// The engine's credentials, which the door also accepts for the app's own connections.
    login: (String, String),
    listeners: Vec<Listener>,
    state: Arc<stats::BrokerState>,
    shutdown: watch::Sender<bool>,
    accept_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Broker {
    /// Starts listening. `events`, when given, receives packets and notices; a full channel
    /// drops events (counted) rather than slowing the broker.
    pub async fn start(
        settings: BrokerSettings,
        events: Option<mpsc::Sender<BrokerEvent>>,
    ) -> Result<Broker, BrokerError> {
        Self::start_with(settings, events, EngineChoice::Shared).await
    }

    /// Starts listening in front of the chosen engine.
    pub async fn start_with(
        settings: BrokerSettings,
        events: Option<mpsc::Sender<BrokerEvent>>,
        engine: EngineChoice,
    ) -> Result<Broker, BrokerError> {
        if settings.max_packet_size < 64 || settings.max_packet_size > MAX_PACKET_SIZE_CEILING {
            return Err(BrokerError::InvalidSettings(format!(
                "the maximum packet size must be between 64 bytes and {} MB",
                MAX_PACKET_SIZE_CEILING / (1024 * 1024)
            )));
        }
        let engine = tokio::task::spawn_blocking(move || match engine {
            EngineChoice::Shared => engine::shared(),
            EngineChoice::Dedicated => engine::dedicated(),
        })
        .await
        .map_err(|e| BrokerError::Engine(e.to_string()))??;
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
            let address = listener
                .local_addr()
                .map_err(|e| BrokerError::Engine(e.to_string()))?;
            listeners_info.push(Listener {
                scheme: transport.label(),
                address,
            });
        }
        let address = listeners_info[0].address;
        let state = Arc::new(stats::BrokerState::default());
        let shared = Arc::new(server::Shared {
            settings: Arc::new(DoorSettings {
                max_packet_size: settings.max_packet_size,
                users: settings.users.clone(),
                engine_login: (engine.username.clone(), engine.password.clone()),
            }),
            engine,
            state: state.clone(),
            events,
            serial: AtomicU64::new(0),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_tasks = bound
            .into_iter()
            .map(|(listener, transport)| {
                tokio::spawn(listeners::accept_loop(
                    listener,
                    transport,
                    shared.clone(),
                    shutdown_rx.clone(),
                ))
            })
            .collect();
        Ok(Broker {
            address,
            login: (
                shared.engine.username.clone(),
                shared.engine.password.clone(),
            ),
            listeners: listeners_info,
            state,
            shutdown,
            accept_tasks,
        })
    }

    /// The address the broker listens on (with the port actually bound).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Publishes an empty retained QoS 1 message to each topic through the front door, waiting
    /// for each acknowledgement. Returns how many topics were cleared.
    pub async fn delete_retained(&self, topics: &[String]) -> Result<usize, BrokerError> {
        use tokio::io::AsyncWriteExt;
        let io =
            |e: std::io::Error| BrokerError::Engine(format!("deleting retained messages: {e}"));
        let mut address = self.address;
        if address.ip().is_unspecified() {
            address.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let mut stream = tokio::net::TcpStream::connect(address).await.map_err(io)?;
        let connect = codec::encode_session_end(
            "mqtt-workbench-retained-cleaner",
            (&self.login.0, &self.login.1),
        )
        .map_err(|e| BrokerError::Engine(e.to_string()))?;
        stream.write_all(&connect).await.map_err(io)?;
        let mut buffer = bytes::BytesMut::with_capacity(1024);
        let connack = read_packet(&mut stream, &mut buffer).await?;
        if connack.get(3) != Some(&0) {
            return Err(BrokerError::Engine(
                "the broker refused the app's own connection".into(),
            ));
        }
        let mut cleared = 0;
        for (index, topic) in topics.iter().enumerate() {
            let packet_id = (index % 65_535) as u16 + 1;
            let mut packet = Vec::new();
            wire::encode_publish(
                &mut packet,
                0b0011,
                topic.as_bytes(),
                Some(packet_id),
                Some(&[]),
                &[],
            );
            stream.write_all(&packet).await.map_err(io)?;
            // Wait for the PUBACK.
            while read_packet(&mut stream, &mut buffer).await?[0] >> 4 != 4 {}
            cleared += 1;
        }
        stream.write_all(&[0xE0, 0x00]).await.map_err(io)?;
        Ok(cleared)
    }

    /// Every listening socket (TCP first, then WebSocket and TLS when configured).
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// Topics holding a retained message.
    pub fn retained_count(&self) -> usize {
        self.state.retained_count()
    }

    /// Clients connected right now.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.state.clients()
    }

    /// Events dropped because the consumer fell behind.
    pub fn events_dropped(&self) -> u64 {
        self.state
            .events_dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current `$SYS` values.
    pub fn sys_values(&self) -> Vec<(String, String)> {
        self.state.sys_values()
    }

    /// Stops listening and closes every connection (clients' wills fire, as on any abnormal
    /// close). The routing engine keeps retained messages for the next start.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.accept_tasks {
            let _ = task.await;
        }
    }
}

/// Reads one whole packet from the broker.
async fn read_packet(
    stream: &mut tokio::net::TcpStream,
    buffer: &mut bytes::BytesMut,
) -> Result<bytes::BytesMut, BrokerError> {
    use tokio::io::AsyncReadExt;
    loop {
        if let Ok(Some(frame)) = wire::frame(buffer, 1 << 20) {
            return Ok(buffer.split_to(frame.len()));
        }
        let read = stream
            .read_buf(buffer)
            .await
            .map_err(|e| BrokerError::Engine(format!("reading from the broker: {e}")))?;
        if read == 0 {
            return Err(BrokerError::Engine(
                "the broker closed the connection".into(),
            ));
        }
    }
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
