//! `broker`: the embedded broker alone, without a window, logging client activity to stdout
//! (who connects, is refused, subscribes and leaves) until Ctrl-C or SIGTERM, then stopping
//! cleanly. Its own warnings go to stderr.

use std::io::Write;
use std::process::ExitCode;
use workbench_broker::{Broker, BrokerEvent, BrokerSettings, TlsSettings};

/// The broker's options, as the help of `mqttwb` and of `mqtt-workbench` lists them.
pub const OPTIONS: &str = "\
Broker options:
  --port N                    TCP port for MQTT 3.1.1 and 5 clients (default 1883; 0 picks a free
                              one). A taken default port falls back to the next free one.
  --bind ADDR                 address to listen on (default 127.0.0.1; 0.0.0.0 exposes the broker
                              to your network)
  --ws N                      also listen for MQTT over WebSocket on port N (subprotocol mqtt)
  --tls-port N --tls-cert FILE --tls-key FILE
                              also listen for MQTT over TLS on port N, with a PEM certificate
                              chain and private key
  --wss N                     with the TLS options, also MQTT over secure WebSocket on port N
  --user NAME:PASSWORD        require this username and password (repeat for more users)
  --max-packet-size BYTES     largest packet accepted (default 16777216, at most 268435456)
";

/// Reads the broker's options (as [`OPTIONS`] lists them) into broker settings.
pub fn settings(args: &[String]) -> Result<BrokerSettings, String> {
    let mut settings = BrokerSettings::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let text = value()?;
                settings.port = text
                    .parse()
                    .map_err(|_| format!("--port takes a number from 0 to 65535, not '{text}'"))?;
                // An explicitly chosen port is used as given, or refused.
                settings.port_fallback = false;
            }
            "--bind" => {
                let text = value()?;
                settings.bind = text
                    .parse()
                    .map_err(|_| format!("--bind takes an IP address, not '{text}'"))?;
            }
            "--ws" => {
                let text = value()?;
                let port = text
                    .parse()
                    .map_err(|_| format!("--ws takes a port number, not '{text}'"))?;
                settings.websocket_port = Some(port);
            }
            "--tls-port" | "--tls-cert" | "--tls-key" | "--wss" => {
                let text = value()?;
                let tls = settings.tls.get_or_insert(TlsSettings {
                    port: 8883,
                    wss_port: None,
                    cert_path: Default::default(),
                    key_path: Default::default(),
                });
                match flag.as_str() {
                    "--tls-port" => {
                        tls.port = text
                            .parse()
                            .map_err(|_| format!("--tls-port takes a port number, not '{text}'"))?
                    }
                    "--wss" => {
                        tls.wss_port = Some(
                            text.parse()
                                .map_err(|_| format!("--wss takes a port number, not '{text}'"))?,
                        )
                    }
                    "--tls-cert" => tls.cert_path = text.into(),
                    _ => tls.key_path = text.into(),
                }
            }
            "--user" => {
                let text = value()?;
                let (name, password) = text
                    .split_once(':')
                    .ok_or_else(|| format!("--user takes NAME:PASSWORD, not '{text}'"))?;
                if name.is_empty() {
                    return Err("--user needs a non-empty name".to_string());
                }
                settings
                    .users
                    .insert(name.to_string(), password.to_string());
            }
            "--max-packet-size" => {
                let text = value()?;
                settings.max_packet_size = text.parse().map_err(|_| {
                    format!("--max-packet-size takes a number of bytes, not '{text}'")
                })?;
            }
            other => return Err(format!("unknown broker option '{other}'")),
        }
    }
    if let Some(tls) = &settings.tls {
        if tls.cert_path.as_os_str().is_empty() || tls.key_path.as_os_str().is_empty() {
            return Err("TLS needs both --tls-cert and --tls-key".to_string());
        }
    }
    Ok(settings)
}

/// A future that resolves at Ctrl+C (SIGINT) or, on Unix, SIGTERM (a service manager stopping
/// the broker). The handlers are installed when this is called, not when it is first polled, so
/// a signal sent as soon as the banner is out is already caught.
fn stop_requested() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (Ok(mut interrupt), Err(_)) => {
                    interrupt.recv().await;
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs the broker with the options in `args` until Ctrl-C or SIGTERM. `program` names the
/// executable in messages (`mqttwb`, or `mqtt-workbench` for the app's own), and `usage` is its
/// help text, shown after a wrong option. Returns the process's exit code: 2 for wrong options.
pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    let settings = match settings(args) {
        Ok(settings) => settings,
        Err(problem) => {
            eprintln!("{program} broker: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    init_logging_to_stderr();
    workbench_core::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{program} broker: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(headless_broker(program, settings))
}

async fn headless_broker(program: &str, settings: BrokerSettings) -> ExitCode {
    let (events_tx, mut events) = tokio::sync::mpsc::channel(4096);
    let exposed = !settings.bind.is_loopback();
    let broker = match Broker::start(settings, Some(events_tx)).await {
        Ok(broker) => broker,
        Err(error) => {
            eprintln!("{program} broker: {error}");
            return ExitCode::FAILURE;
        }
    };
    // One listener for the whole run, in place before the banner: a signal that arrives while
    // an event is being handled is kept for the next turn, never lost between two listeners.
    let stop = stop_requested();
    tokio::pin!(stop);
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(format!(
        "MQTT Workbench broker listening on {} (MQTT 3.1.1 and 5){}",
        broker.local_addr(),
        if exposed {
            "; reachable from the network"
        } else {
            "; loopback only"
        }
    ));
    for listener in broker.listeners().iter().skip(1) {
        say(format!(
            "also listening: {}://{}",
            listener.scheme, listener.address
        ));
    }
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = events.recv() => match event {
                None => break,
                Some(BrokerEvent::Packets(_)) => {}
                Some(BrokerEvent::Connected { client_id, remote, version }) => {
                    say(format!("connected: {client_id} from {remote} (MQTT {})", version.label()));
                }
                Some(BrokerEvent::Refused { client_id, remote, reason }) => {
                    say(format!("refused: '{client_id}' from {remote}: {reason}"));
                }
                Some(BrokerEvent::Subscribed { client_id, filter, qos }) => {
                    say(format!("subscribed: {client_id} to {filter} (QoS {qos})"));
                }
                Some(BrokerEvent::Disconnected { client_id, remote, reason }) => {
                    say(format!("disconnected: {client_id} from {remote}: {reason}"));
                }
            }
        }
    }
    say("stopping".to_string());
    broker.stop().await;
    say("stopped".to_string());
    ExitCode::SUCCESS
}

/// Warnings and errors go to stderr (stdout is the activity log); rumqttd logs an error for every
/// normal disconnect, so its own logs are off unless RUST_LOG asks for them.
fn init_logging_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rumqttd=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
