//! Bare rumqttd 0.20, the routing engine the workbench broker is compared with, as a process of
//! its own: the benchmarks start it, measure it from outside (throughput, latency, resident
//! memory) and kill it.
//!
//! Usage: `bare_rumqttd PORT` (MQTT 3.1.1 on 127.0.0.1:PORT, MQTT 5 on PORT+1). Prints "ready"
//! once the 3.1.1 port accepts connections, then runs until killed. No authentication, and
//! limits generous enough that none of the benchmarks meets one.

use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings};
use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn server(name: &str, port: u16) -> ServerSettings {
    ServerSettings {
        name: name.to_string(),
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        tls: None,
        // rumqttd's sample configuration pauses 1 ms after each accepted connection; 0 is the
        // least it allows. (Its accept loop still awaits `sleep(0)`, which tokio ends at its next
        // timer tick, about 1 ms: rumqttd accepts at most about 1,000 connections a second.)
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: 16 * 1024 * 1024,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            // Subscriptions may name filters the router was not configured with in advance.
            dynamic_filters: true,
        },
    }
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) if port < u16::MAX => port,
        _ => {
            eprintln!("usage: bare_rumqttd PORT (3.1.1 on PORT, 5 on PORT+1)");
            std::process::exit(2);
        }
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 100_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 4,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("v4".to_string(), server("v4", port))])),
        v5: Some(HashMap::from([("v5".to_string(), server("v5", port + 1))])),
        ..Config::default()
    };
    let mut broker = rumqttd::Broker::new(config);
    // `start` spawns the listeners' threads and joins them: it returns only if they all end.
    let engine = std::thread::spawn(move || broker.start().map_err(|e| e.to_string()));
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address).is_err() {
        if engine.is_finished() || Instant::now() > deadline {
            eprintln!("rumqttd did not start listening on {address}");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    match engine.join() {
        Ok(Ok(())) => eprintln!("rumqttd stopped"),
        Ok(Err(error)) => eprintln!("rumqttd failed: {error}"),
        Err(_) => eprintln!("rumqttd panicked"),
    }
    std::process::exit(1);
}
