//! What every command of `mqttwb` starts with: the async runtime, and for the tools that talk to
//! a broker, the broker they target (an embedded one on a free port, or a URL).

use std::process::ExitCode;
use workbench_broker::{Broker, BrokerSettings};
use workbench_tools::Target;

/// A multi-threaded runtime, one worker per core (with the crypto provider installed), or the
/// exit after saying why.
pub(crate) fn runtime(program: &str, command: &str) -> Result<tokio::runtime::Runtime, ExitCode> {
    workbench_core::install_crypto_provider();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("{program} {command}: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        })
}

/// The broker a tool talks to: a fresh embedded one on a free loopback port (kept running while
/// the returned broker lives), or `url`; or the exit after saying why.
pub(crate) async fn target(
    program: &str,
    command: &str,
    embedded: bool,
    url: &str,
) -> Result<(Target, Option<Broker>), ExitCode> {
    if !embedded {
        return Target::from_url(url).map(|t| (t, None)).map_err(|e| {
            eprintln!("{program} {command}: {e}");
            ExitCode::from(2)
        });
    }
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    match Broker::start(settings, None).await {
        Ok(broker) => Ok((Target::tcp(broker.local_addr()), Some(broker))),
        Err(e) => {
            eprintln!("{program} {command}: cannot start the embedded broker: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}
