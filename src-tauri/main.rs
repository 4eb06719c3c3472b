//! The `mqtt-workbench` executable: the desktop app by default.
//!
//! `mqtt-workbench --help` lists the modes. Without a display the app says so and exits instead of
//! crashing inside GTK.

// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

const USAGE: &str = "\
MQTT Workbench: an MQTT broker, client sessions and live traffic views in one desktop app.

Usage:
  mqtt-workbench              start the desktop app
  mqtt-workbench broker [OPTIONS]
                              run only the embedded broker, without a window, until Ctrl-C
  mqtt-workbench --version    print the version
  mqtt-workbench --help       print this help

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--help" | "-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("--version" | "-V") => {
            println!("mqtt-workbench {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("broker") => run_headless_broker(&args[1..]),
        Some(other) => {
            eprintln!("mqtt-workbench: unknown argument '{other}'\n\n{USAGE}");
            ExitCode::from(2)
        }
        None => run_desktop(),
    }
}

fn run_desktop() -> ExitCode {
    init_logging();
    if let Some(problem) = missing_display() {
        eprintln!("{problem}");
        return ExitCode::from(2);
    }
    match mqtt_workbench::run_app() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mqtt-workbench: the app could not start: {error}");
            ExitCode::FAILURE
        }
    }
}

/// rumqttd logs an error for every normal disconnect and for the door's start-up probe; its own
/// logs are off unless RUST_LOG asks for them.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rumqttd=off"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// On Linux and the BSDs a window needs an X11 or Wayland display; GTK aborts without one.
fn missing_display() -> Option<String> {
    if !cfg!(all(unix, not(target_os = "macos"))) {
        return None;
    }
    let has = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if has("DISPLAY") || has("WAYLAND_DISPLAY") {
        return None;
    }
    Some(
        "mqtt-workbench: no graphical display found (neither DISPLAY nor WAYLAND_DISPLAY is set).\n\
         The desktop app needs one. Without a screen, run it under a virtual X server:\n\
         \n    xvfb-run -a mqtt-workbench\n"
            .to_string(),
    )
}

/// Parses the headless broker's options.
fn broker_settings(args: &[String]) -> Result<workbench_broker::BrokerSettings, String> {
    let mut settings = workbench_broker::BrokerSettings::default();
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
                let tls = settings.tls.get_or_insert(workbench_broker::TlsSettings {
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

/// `mqtt-workbench broker`: the embedded broker alone, logging client activity to stdout.
fn run_headless_broker(args: &[String]) -> ExitCode {
    let settings = match broker_settings(args) {
        Ok(settings) => settings,
        Err(problem) => {
            eprintln!("mqtt-workbench broker: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    init_logging_to_stderr();
    workbench_core::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mqtt-workbench broker: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(headless_broker(settings))
}

async fn headless_broker(settings: workbench_broker::BrokerSettings) -> ExitCode {
    use std::io::Write;
    use workbench_broker::{Broker, BrokerEvent};

    let (events_tx, mut events) = tokio::sync::mpsc::channel(4096);
    let exposed = !settings.bind.is_loopback();
    let broker = match Broker::start(settings, Some(events_tx)).await {
        Ok(broker) => broker,
        Err(error) => {
            eprintln!("mqtt-workbench broker: {error}");
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

fn init_logging_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rumqttd=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
