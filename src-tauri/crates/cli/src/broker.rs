//! `broker`: the embedded broker alone, without a window, logging client activity to stdout
//! (who connects, is refused, subscribes and leaves, and who loses messages because it reads
//! too slowly) until Ctrl-C or SIGTERM, then stopping cleanly. Its own warnings go to stderr.
//!
//! Everything a client controls reaches the log escaped and cut short (see [`log_text`]): a
//! client id cannot clear the terminal, colour it, retitle the window or fill a disk.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use workbench_broker::{Broker, BrokerEvent, BrokerSettings, Limits, TlsSettings};

/// The broker's options, as the help of `mqttwb` and of `mqtt-workbench` lists them.
pub const OPTIONS: &str = "\
Broker options:
  --port N                    TCP port for MQTT 3.1, 3.1.1 and 5 clients (default 1883; 0 picks a
                              free one). A taken default port falls back to the next free one.
  --bind ADDR                 address to listen on (default 127.0.0.1; 0.0.0.0 exposes the broker
                              to your network)
  --ws N                      also listen for MQTT over WebSocket on port N (subprotocol mqtt)
  --tls-port N --tls-cert FILE --tls-key FILE
                              also listen for MQTT over TLS on port N, with a PEM certificate
                              chain and private key
  --wss N                     with the TLS options, also MQTT over secure WebSocket on port N
  --user NAME:PASSWORD        require this username and password (repeat for more users)

Fault injection (repeat for more rules; a rule may name a client that has not connected yet):
  --fault CLIENT:FAULT        break things on purpose for one client id, where FAULT is
      drop=KIND[:N]           lose its next N (1) packets of KIND (puback, pubrec, pubcomp,
                              suback, pingresp, ...); drop-in= for packets it sends
      delay=MS[+JITTER]       hold its packets MS ms plus up to JITTER ms, both ways (order kept);
                              delay-in= / delay-out= for one way
      dup[=N]                 send its next N (1) PUBLISH twice, the copy with DUP set
      cut                     close its connection without DISCONNECT (its will fires)
      pause                   stop reading from it (a slow broker), for the whole run
      refuse=CODE             refuse its next CONNECT with this reason code (0x87, 135, ...)
      disconnect=CODE         send it a DISCONNECT with this reason code (MQTT 5) and close
                              e.g. --fault 'dev1:drop=puback:1' --fault 'dev1:refuse=0x87'

Limits (defaults in brackets; each answered with the MQTT 5 reason code a client can read):
  --max-packet-size BYTES     largest packet accepted [16777216; at most 268435456]
  --max-connections N         connections at once [100000]
  --max-connections-per-address N
                              connections at once from one address; loopback is exempt [1000]
  --max-client-id BYTES       longest client id [1024]
  --max-subscriptions N       subscriptions per client [10000]
  --max-keep-alive SECONDS    MQTT 5 clients asking for more (or none) are told this [60; 0: none]
  --receive-maximum N         unfinished QoS 2 messages a client may send [1024]
  --max-inflight N            unacknowledged QoS 1/2 messages towards a client [1000]
  --topic-alias-maximum N     topic aliases an MQTT 5 client may use [64]
  --max-queued-messages N     messages waiting per client, online or not [100000]
  --max-queued-bytes BYTES    bytes waiting per client [67108864]
  --max-queued-bytes-total BYTES
                              bytes waiting for all clients [1073741824]
  --queue-qos0-offline        also queue QoS 0 messages for disconnected persistent sessions
  --max-retained N            topics holding a retained message [1000000]
  --max-retained-bytes BYTES  bytes of retained messages [536870912]
  --max-session-expiry SECONDS
                              longest MQTT 5 session expiry granted [as asked]
  --max-unfinished-bytes BYTES
                              bytes of unfinished packets for all connections [268435456]
  --packet-timeout SECONDS    time for a packet to finish arriving [30]
  --connect-timeout SECONDS   time for a new connection to send CONNECT [10]
  --write-timeout SECONDS     time a client may read nothing before it is closed [60]
";

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} takes a number, not '{}'", log_text(text, 40)))
}

/// Applies one limit option; false when `flag` is not a limit.
fn limit(limits: &mut Limits, flag: &str, text: &str) -> Result<bool, String> {
    let seconds = |text: &str| number::<u64>(flag, text).map(Duration::from_secs);
    match flag {
        "--max-packet-size" => limits.max_packet_size = number(flag, text)?,
        "--max-connections" => limits.max_connections = number(flag, text)?,
        "--max-connections-per-address" => limits.max_connections_per_address = number(flag, text)?,
        "--max-client-id" => limits.max_client_id_bytes = number(flag, text)?,
        "--max-subscriptions" => limits.max_subscriptions_per_client = number(flag, text)?,
        "--max-keep-alive" => limits.max_keep_alive = number(flag, text)?,
        "--receive-maximum" => limits.receive_maximum = number(flag, text)?,
        "--max-inflight" => limits.max_inflight = number(flag, text)?,
        "--topic-alias-maximum" => limits.topic_alias_maximum = number(flag, text)?,
        "--max-queued-messages" => limits.max_queued_messages = number(flag, text)?,
        "--max-queued-bytes" => limits.max_queued_bytes = number(flag, text)?,
        "--max-queued-bytes-total" => limits.max_queued_bytes_total = number(flag, text)?,
        "--max-retained" => limits.max_retained_messages = number(flag, text)?,
        "--max-retained-bytes" => limits.max_retained_bytes = number(flag, text)?,
        "--max-session-expiry" => limits.max_session_expiry = Some(number(flag, text)?),
        "--max-unfinished-bytes" => limits.max_unfinished_bytes_total = number(flag, text)?,
        "--packet-timeout" => limits.packet_timeout = seconds(text)?,
        "--connect-timeout" => limits.connect_timeout = seconds(text)?,
        "--write-timeout" => limits.write_timeout = seconds(text)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Reads the broker's options (as [`OPTIONS`] lists them) into broker settings.
pub fn settings(args: &[String]) -> Result<BrokerSettings, String> {
    let mut settings = BrokerSettings::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag == "--queue-qos0-offline" {
            settings.limits.queue_qos0_while_offline = true;
            continue;
        }
        let text = args
            .next()
            .cloned()
            .ok_or_else(|| format!("{} needs a value", log_text(flag, 40)))?;
        if limit(&mut settings.limits, flag, &text)? {
            continue;
        }
        match flag.as_str() {
            "--port" => {
                settings.port = text.parse().map_err(|_| {
                    format!(
                        "--port takes a number from 0 to 65535, not '{}'",
                        log_text(&text, 40)
                    )
                })?;
                // An explicitly chosen port is used as given, or refused.
                settings.port_fallback = false;
            }
            "--bind" => {
                settings.bind = text.parse().map_err(|_| {
                    format!("--bind takes an IP address, not '{}'", log_text(&text, 40))
                })?;
            }
            "--ws" => settings.websocket_port = Some(number(flag, &text)?),
            "--tls-port" | "--tls-cert" | "--tls-key" | "--wss" => {
                let tls = settings.tls.get_or_insert(TlsSettings {
                    port: 8883,
                    wss_port: None,
                    cert_path: Default::default(),
                    key_path: Default::default(),
                });
                match flag.as_str() {
                    "--tls-port" => tls.port = number(flag, &text)?,
                    "--wss" => tls.wss_port = Some(number(flag, &text)?),
                    "--tls-cert" => tls.cert_path = text.into(),
                    _ => tls.key_path = text.into(),
                }
            }
            "--user" => {
                let (name, password) = text
                    .split_once(':')
                    .ok_or_else(|| "--user takes NAME:PASSWORD".to_string())?;
                if name.is_empty() {
                    return Err("--user needs a non-empty name".to_string());
                }
                settings
                    .users
                    .insert(name.to_string(), password.to_string());
            }
            other => return Err(format!("unknown broker option '{}'", log_text(other, 40))),
        }
    }
    if let Some(tls) = &settings.tls {
        if tls.cert_path.as_os_str().is_empty() || tls.key_path.as_os_str().is_empty() {
            return Err("TLS needs both --tls-cert and --tls-key".to_string());
        }
    }
    settings.limits.validate()?;
    Ok(settings)
}

/// Text a client controls, made safe for a terminal and a log file: control characters and
/// escape sequences shown as `\x1b`, `\u{9b}` (never interpreted), and at most `max` characters
/// kept, the rest counted.
pub fn log_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 16));
    for (shown, (index, c)) in text.char_indices().enumerate() {
        if shown >= max {
            out.push_str(&format!("…(+{} bytes)", text.len() - index));
            return out;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            // C1 controls (0x9B is a one-byte escape sequence introducer) and the bidi
            // overrides that make text read differently than it is.
            c if ('\u{80}'..='\u{9f}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// How much of a client-controlled field the log shows.
const FIELD: usize = 128;

/// A future that resolves at Ctrl+C (SIGINT) or, on Unix, SIGTERM (a service manager stopping
/// the broker). The handlers are installed when this is called, not when it is first polled, so
/// a signal sent as soon as the banner is out is already caught.
pub(crate) fn stop_requested() -> impl std::future::Future<Output = ()> {
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
    let parsed = fault_rules(args).and_then(|(rest, rules)| Ok((settings(&rest)?, rules)));
    let (settings, rules) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            eprintln!("{program} broker: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    init_logging_to_stderr();
    workbench_core::install_crypto_provider();
    // The broker runs on its own thread; this runtime only writes the log and waits for a signal.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{program} broker: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(headless_broker(program, settings, rules))
}

/// A fault rule of the command line: the client id and its faults.
type FaultRule = (String, Vec<workbench_core::faults::Fault>);

/// Takes the `--fault CLIENT:FAULT` options out of `args`: the other options, and the rules.
pub fn fault_rules(args: &[String]) -> Result<(Vec<String>, Vec<FaultRule>), String> {
    let mut rest = Vec::new();
    let mut rules = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg != "--fault" {
            rest.push(arg.clone());
            continue;
        }
        let text = args
            .next()
            .ok_or_else(|| "--fault needs a rule, such as dev1:drop=puback:1".to_string())?;
        let rule = workbench_core::faults::parse(text)
            .map_err(|e| format!("--fault '{}': {e}", log_text(text, 80)))?;
        rules.push(rule);
    }
    Ok((rest, rules))
}

/// How often clients that lose QoS 0 messages are reported while they stay connected.
const DROP_REPORT: Duration = Duration::from_secs(10);

async fn headless_broker(
    program: &str,
    settings: BrokerSettings,
    rules: Vec<FaultRule>,
) -> ExitCode {
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
        "MQTT Workbench broker listening on {} (MQTT 3.1, 3.1.1 and 5){}",
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
    for (client_id, faults) in rules {
        for fault in faults {
            let described = fault.describe();
            if let Err(error) = broker.router().arm_fault(&client_id, fault) {
                eprintln!(
                    "{program} broker: --fault for {}: {error}",
                    log_text(&client_id, FIELD)
                );
                broker.stop().await;
                return ExitCode::from(2);
            }
            say(format!(
                "fault armed: {} for {}",
                described,
                log_text(&client_id, FIELD)
            ));
        }
    }
    let mut drops = tokio::time::interval(DROP_REPORT);
    drops.tick().await;
    let mut reported: HashMap<u64, u64> = HashMap::new();
    let id = |client_id: &str| log_text(client_id, FIELD);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = drops.tick() => {
                let clients = broker.clients();
                reported.retain(|connection, _| clients.iter().any(|c| c.connection == *connection));
                for client in clients {
                    let before = reported.get(&client.connection).copied().unwrap_or(0);
                    if client.dropped_qos0 > before {
                        say(format!(
                            "dropping: {} reads too slowly; {} QoS 0 messages dropped ({} since the last report), {} waiting",
                            id(&client.client_id),
                            client.dropped_qos0,
                            client.dropped_qos0 - before,
                            client.queued
                        ));
                        reported.insert(client.connection, client.dropped_qos0);
                    }
                }
            }
            event = events.recv() => match event {
                None => break,
                Some(BrokerEvent::Packets(batch)) => {
                    for packet in batch.events() {
                        if let Some(mark) = workbench_core::faults::mark_of(&packet.summary.fields) {
                            let way = match packet.direction {
                                workbench_wire::Direction::Inbound => "from",
                                workbench_wire::Direction::Outbound => "to",
                            };
                            say(format!("fault: {mark} {} {way} {}", packet.summary.kind.name(), id(&packet.client_id)));
                        }
                    }
                }
                Some(BrokerEvent::Retained { .. }) => {}
                Some(BrokerEvent::Connected { client_id, remote, version }) => {
                    say(format!("connected: {} from {remote} (MQTT {})", id(&client_id), version.label()));
                }
                Some(BrokerEvent::Refused { client_id, remote, reason }) => {
                    say(format!("refused: '{}' from {remote}: {}", id(&client_id), log_text(&reason, 2 * FIELD)));
                }
                Some(BrokerEvent::Subscribed { client_id, filter, qos }) => {
                    say(format!("subscribed: {} to {} (QoS {qos})", id(&client_id), log_text(&filter, FIELD)));
                }
                Some(BrokerEvent::Unsubscribed { client_id, filter }) => {
                    say(format!("unsubscribed: {} from {}", id(&client_id), log_text(&filter, FIELD)));
                }
                Some(BrokerEvent::Disconnected { client_id, remote, reason, dropped_qos0 }) => {
                    let dropped = if dropped_qos0 > 0 {
                        format!(" ({dropped_qos0} QoS 0 messages dropped: it read too slowly)")
                    } else {
                        String::new()
                    };
                    say(format!("disconnected: {} from {remote}: {}{dropped}", id(&client_id), log_text(&reason, 2 * FIELD)));
                }
            }
        }
    }
    say("stopping".to_string());
    broker.stop().await;
    say("stopped".to_string());
    ExitCode::SUCCESS
}

/// Warnings and errors go to stderr (stdout is the activity log).
fn init_logging_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_text_cannot_drive_the_terminal() {
        assert_eq!(log_text("plain/id", 128), "plain/id");
        assert_eq!(
            log_text("\x1b[2J\x1b]0;owned\x07", 128),
            "\\x1b[2J\\x1b]0;owned\\x07"
        );
        assert_eq!(log_text("a\u{9b}b\u{202e}c", 128), "a\\u{9b}b\\u{202e}c");
        assert_eq!(log_text("back\\slash", 128), "back\\\\slash");
        let long = "x".repeat(60_000);
        let shown = log_text(&long, 128);
        assert!(shown.len() < 160, "{}", shown.len());
        assert!(shown.ends_with("…(+59872 bytes)"), "{shown}");
    }

    #[test]
    fn fault_rules_are_options_read_before_the_others() {
        let args: Vec<String> = [
            "--port",
            "0",
            "--fault",
            "dev1:drop=puback:2",
            "--fault",
            "aa:bb:refuse=0x87",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (rest, rules) = fault_rules(&args).unwrap();
        assert_eq!(rest, ["--port", "0"]);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].0, "aa:bb");
        assert_eq!(
            rules[1].1,
            [workbench_core::faults::Fault::Refuse { code: 0x87 }]
        );
        let bad = fault_rules(&["--fault".to_string(), "dev1:drop=nothing".to_string()]);
        assert!(bad.unwrap_err().contains("nothing is not a packet type"));
        assert!(fault_rules(&["--fault".to_string()]).is_err());
        assert!(OPTIONS.contains("--fault CLIENT:FAULT"));
    }

    #[test]
    fn limits_are_options() {
        let args: Vec<String> = [
            "--max-keep-alive",
            "120",
            "--queue-qos0-offline",
            "--packet-timeout",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let parsed = settings(&args).expect("valid");
        assert_eq!(parsed.limits.max_keep_alive, 120);
        assert!(parsed.limits.queue_qos0_while_offline);
        assert_eq!(parsed.limits.packet_timeout, Duration::from_secs(5));
        let bad: Vec<String> = ["--max-client-id", "3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(settings(&bad).is_err(), "below MQTT's minimum of 23");
    }
}
