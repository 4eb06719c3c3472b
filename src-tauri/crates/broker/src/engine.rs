//! The routing engine: one rumqttd instance per process, reachable only over loopback and only
//! with credentials the front door generates at start.
//!
//! rumqttd's `Broker::start` blocks forever, cannot be stopped, and only logs a port it cannot
//! bind. So the engine starts once, on ports chosen here, in its own thread; start-up is confirmed
//! by connecting to both listeners. Stopping or reconfiguring the broker happens at the door.

use super::BrokerError;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The largest packet the engine accepts; the door enforces the user's (smaller) limit.
pub const ENGINE_MAX_PACKET: usize = 256 * 1024 * 1024 + 1024;

/// Where the engine listens and how to log in to it.
#[derive(Debug, Clone)]
pub struct Engine {
    pub v4: SocketAddr,
    pub v5: SocketAddr,
    pub username: String,
    pub password: String,
}

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

/// The process's engine, started on first use. Every broker start in the app shares it, so
/// retained messages and persistent sessions outlive a stop and start of the broker.
pub fn shared() -> Result<Engine, BrokerError> {
    ENGINE
        .get_or_init(start)
        .clone()
        .map_err(BrokerError::Engine)
}

/// A new engine of its own, for a broker that must share nothing (tests, benchmarks). Its
/// threads live until the process ends: rumqttd cannot be stopped.
pub fn dedicated() -> Result<Engine, BrokerError> {
    start().map_err(BrokerError::Engine)
}

fn random_token() -> String {
    let mut text = String::new();
    for round in 0..4u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(round);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        text.push_str(&format!("{:016x}", hasher.finish()));
    }
    text
}

fn free_loopback_port() -> Result<SocketAddr, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("no free loopback port for the engine: {e}"))
}

fn server_settings(name: &str, listen: SocketAddr, login: (&str, &str)) -> rumqttd::ServerSettings {
    let mut auth = HashMap::new();
    auth.insert(login.0.to_string(), login.1.to_string());
    rumqttd::ServerSettings {
        name: name.to_string(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections: rumqttd::ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: ENGINE_MAX_PACKET,
            max_inflight_count: 500,
            auth: Some(auth),
            external_auth: None,
            dynamic_filters: true,
        },
    }
}

fn start() -> Result<Engine, String> {
    let username = format!("door-{}", &random_token()[..16]);
    let password = random_token();
    let v4 = free_loopback_port()?;
    let v5 = free_loopback_port()?;
    let login = (username.as_str(), password.as_str());

    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 100_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 4,
            ..Default::default()
        },
        v4: Some(HashMap::from([(
            "engine-v4".to_string(),
            server_settings("engine-v4", v4, login),
        )])),
        v5: Some(HashMap::from([(
            "engine-v5".to_string(),
            server_settings("engine-v5", v5, login),
        )])),
        ..Default::default()
    };

    std::thread::Builder::new()
        .name("mqtt-engine".to_string())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(error) = broker.start() {
                tracing::error!(%error, "the routing engine stopped");
            }
        })
        .map_err(|e| format!("cannot start the engine thread: {e}"))?;

    // rumqttd only logs a failed bind, so confirm both listeners answer.
    let deadline = Instant::now() + Duration::from_secs(20);
    for address in [v4, v5] {
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the routing engine did not start listening on {address}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(Engine {
        v4,
        v5,
        username,
        password,
    })
}
