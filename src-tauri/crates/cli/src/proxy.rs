//! `proxy`: the inspecting proxy without a window. Devices connect to `--listen PORT`, every
//! connection is forwarded to `--upstream URL`, and each packet is printed as it passes (one
//! line, device → upstream as `>`, upstream → device as `<`), with who connects, is refused
//! (in words) and leaves, until Ctrl-C or SIGTERM. Passwords are never printed; everything a
//! device sends reaches the terminal escaped and cut short.

use crate::broker::{log_text, stop_requested};
use std::io::Write;
use std::process::ExitCode;
use workbench_broker::BrokerEvent;
use workbench_proxy::{ListenKind, Proxy, ProxySettings};
use workbench_wire::{Direction, PacketEvent};

/// The proxy's options, as `mqttwb --help` lists them.
pub const OPTIONS: &str = "\
Proxy options (mqttwb proxy --listen PORT --upstream URL):
  --listen PORT               port devices connect to (0 picks a free one)
  --upstream URL              the broker every connection is forwarded to: mqtt://host:1883,
                              mqtts://host:8883, ws://host:8080/mqtt, wss://host/mqtt
  --bind ADDR                 address to listen on (default 127.0.0.1; 0.0.0.0 for devices on
                              your network)
  --transport mqtt|ws|mqtts|wss
                              how devices reach the proxy (default mqtt)
  --cert FILE --key FILE      PEM certificate chain and key of an mqtts or wss listener
  --ca FILE                   PEM CA that signed the upstream's certificate (default: the system's)
  --client-cert FILE --client-key FILE
                              a client certificate for the upstream
  --insecure                  accept any upstream certificate (test brokers only)
  --max-packet-size BYTES     largest packet forwarded either way [16777216]
  --fault CLIENT:FAULT         arm a fault on a proxied client (repeat for more): drop=KIND[:N],
                              delay=MS[+JITTER], dup[=N], cut, pause, refuse=CODE,
                              disconnect=CODE (as `mqttwb broker --help` lists them)
  --quiet                     print connections only, not every packet
";

/// What the command line asked for.
struct Options {
    settings: ProxySettings,
    quiet: bool,
    /// Fault rules to arm at start, by client id.
    faults: Vec<(String, Vec<workbench_faults::Fault>)>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut settings = ProxySettings::new(0, "");
    let (mut quiet, mut listen_given) = (false, false);
    let mut faults = Vec::new();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--quiet" => {
                quiet = true;
                continue;
            }
            "--insecure" => {
                settings.upstream.accept_invalid_certs = true;
                continue;
            }
            _ => {}
        }
        let text = args
            .next()
            .cloned()
            .ok_or_else(|| format!("{} needs a value", log_text(flag, 40)))?;
        let number = |what: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("{what} takes a number, not '{}'", log_text(&text, 40)))
        };
        match flag.as_str() {
            "--listen" => {
                settings.port = u16::try_from(number("--listen")?)
                    .map_err(|_| "--listen takes a port from 0 to 65535".to_string())?;
                listen_given = true;
            }
            "--upstream" => settings.upstream.url = text,
            "--fault" => faults.push(
                workbench_faults::parse(&text)
                    .map_err(|e| format!("--fault {}: {e}", log_text(&text, 60)))?,
            ),
            "--bind" => {
                settings.bind = text.parse().map_err(|_| {
                    format!("--bind takes an IP address, not '{}'", log_text(&text, 40))
                })?
            }
            "--transport" => {
                settings.listen = ListenKind::parse(&text).ok_or_else(|| {
                    format!(
                        "--transport takes mqtt, ws, mqtts or wss, not '{}'",
                        log_text(&text, 40)
                    )
                })?
            }
            "--cert" => settings.cert_path = Some(text.into()),
            "--key" => settings.key_path = Some(text.into()),
            "--ca" => settings.upstream.ca_file = Some(text),
            "--client-cert" => settings.upstream.client_cert_file = Some(text),
            "--client-key" => settings.upstream.client_key_file = Some(text),
            "--max-packet-size" => {
                settings.limits.max_packet_size = number("--max-packet-size")? as usize
            }
            other => return Err(format!("unknown proxy option '{}'", log_text(other, 40))),
        }
    }
    if !listen_given {
        return Err("the proxy needs --listen PORT".into());
    }
    if settings.upstream.url.is_empty() {
        return Err("the proxy needs --upstream URL".into());
    }
    Ok(Options {
        settings,
        quiet,
        faults,
    })
}

/// One packet as a line: `client > PUBLISH a/b (QoS 1, id 7, 12 bytes)`.
pub fn packet_line(packet: &PacketEvent) -> String {
    let s = &packet.summary;
    let arrow = match packet.direction {
        Direction::Inbound => ">",
        Direction::Outbound => "<",
    };
    let mut detail = Vec::new();
    if s.kind == workbench_wire::PacketKind::Publish {
        detail.push(format!("QoS {}", s.qos));
        if s.retain {
            detail.push("retain".into());
        }
        if s.dup {
            detail.push("dup".into());
        }
    }
    if let Some(id) = s.packet_id {
        detail.push(format!("id {id}"));
    }
    if let Some(code) = s.reason {
        detail.push(format!("code 0x{code:02X}"));
    }
    detail.push(format!("{} bytes", s.size));
    let topic = s
        .topic
        .as_deref()
        .map(|t| format!(" {}", log_text(t, 128)))
        .unwrap_or_default();
    format!(
        "{} {arrow} {}{topic} ({})",
        log_text(&packet.client_id, 128),
        s.kind.name(),
        detail.join(", ")
    )
}

/// Runs the proxy with the options in `args` until Ctrl-C or SIGTERM.
pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    let options = match options(args) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("{program} proxy: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::run::runtime(program, "proxy") {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(headless_proxy(program, options))
}

async fn headless_proxy(program: &str, options: Options) -> ExitCode {
    let (events_tx, mut events) = tokio::sync::mpsc::channel(4096);
    let upstream = options.settings.upstream.url.clone();
    let proxy = match Proxy::start(options.settings, Some(events_tx), None).await {
        Ok(proxy) => proxy,
        Err(error) => {
            eprintln!("{program} proxy: {error}");
            return ExitCode::FAILURE;
        }
    };
    for (client_id, faults) in &options.faults {
        for fault in faults {
            if let Err(error) = proxy.faults().arm(client_id, fault.clone()) {
                eprintln!(
                    "{program} proxy: --fault {}: {error}",
                    log_text(client_id, 60)
                );
                return ExitCode::from(2);
            }
        }
    }
    let stop = stop_requested();
    tokio::pin!(stop);
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(format!(
        "MQTT Workbench proxy listening on {}, forwarding to {} (MQTT 3.1, 3.1.1 and 5)",
        proxy.listen_url(),
        log_text(&upstream, 256)
    ));
    let id = |client_id: &str| log_text(client_id, 128);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = events.recv() => match event {
                None => break,
                Some(BrokerEvent::Packets(batch)) => {
                    if !options.quiet {
                        for packet in batch.events() {
                            say(packet_line(packet));
                        }
                    }
                }
                Some(BrokerEvent::Retained { .. }) => {}
                Some(BrokerEvent::Connected { client_id, remote, version }) => {
                    say(format!("connected: {} from {remote} (MQTT {})", id(&client_id), version.label()));
                }
                Some(BrokerEvent::Refused { client_id, remote, reason }) => {
                    say(format!("refused: '{}' from {remote}: {}", id(&client_id), log_text(&reason, 256)));
                }
                Some(BrokerEvent::Subscribed { client_id, filter, qos }) => {
                    say(format!("subscribed: {} to {} (QoS {qos})", id(&client_id), log_text(&filter, 128)));
                }
                Some(BrokerEvent::Unsubscribed { client_id, filter }) => {
                    say(format!("unsubscribed: {} from {}", id(&client_id), log_text(&filter, 128)));
                }
                Some(BrokerEvent::Disconnected { client_id, remote, reason, .. }) => {
                    say(format!("disconnected: {} from {remote}: {}", id(&client_id), log_text(&reason, 256)));
                }
            }
        }
    }
    say("stopping".to_string());
    proxy.stop().await;
    say("stopped".to_string());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn listen_and_upstream_are_required_and_checked() {
        let ok = options(&args(&["--listen", "1884", "--upstream", "mqtt://h:1883"])).expect("ok");
        assert_eq!(ok.settings.port, 1884);
        assert!(options(&args(&["--upstream", "mqtt://h"])).is_err());
        assert!(options(&args(&["--listen", "1884"])).is_err());
        assert!(options(&args(&["--listen", "70000", "--upstream", "x"])).is_err());
        assert!(options(&args(&[
            "--listen",
            "1",
            "--upstream",
            "x",
            "--transport",
            "udp"
        ]))
        .is_err());
    }
}
