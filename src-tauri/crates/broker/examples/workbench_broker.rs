//! The workbench's embedded broker as a process of its own, with default settings and no packet
//! events: what the benchmarks measure from outside (throughput, latency, resident memory)
//! against bare rumqttd and mosquitto, each in its own process.
//!
//! Usage: `workbench_broker PORT`. Prints "ready" once the port accepts connections, then runs
//! until killed.

use std::io::Write;
use workbench_broker::{Broker, BrokerSettings};

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: workbench_broker PORT");
            std::process::exit(2);
        }
    };
    // The broker runs on a thread and runtime of its own; this runtime only starts it and waits.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime to start the broker on");
    runtime.block_on(async {
        let settings = BrokerSettings {
            port,
            port_fallback: false,
            ..BrokerSettings::default()
        };
        let broker = match Broker::start(settings, None).await {
            Ok(broker) => broker,
            Err(error) => {
                eprintln!("the broker did not start: {error}");
                std::process::exit(1);
            }
        };
        // `start` returns once the port is bound and listening.
        println!("ready");
        let _ = std::io::stdout().flush();
        std::future::pending::<()>().await;
        drop(broker);
    });
}
