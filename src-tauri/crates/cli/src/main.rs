//! `mqttwb`: MQTT Workbench on the command line, without a window (and without Tauri or WebKit).
//!
//! `mqttwb --help` lists the commands; `mqttwb broker` runs the embedded broker, exactly as
//! `mqtt-workbench broker` does.

use std::process::ExitCode;

const USAGE_HEAD: &str = "\
mqttwb: MQTT Workbench on the command line, without a window.

Usage:
  mqttwb broker [OPTIONS]     run only the embedded broker until Ctrl-C
  mqttwb simulate FILE        run simulated devices from a TOML file (see below)
  mqttwb bench conn|pub|sub   load a broker and measure it (see below)
  mqttwb record FILE [OPTIONS] record MQTT messages to FILE until Ctrl-C (see below)
  mqttwb replay FILE [OPTIONS] replay a recording (or a peer's export) to a broker
  mqttwb convert IN OUT       convert a capture (MQTTX, mqtt-cli, mqttui, mqtt-recorder, ours)
  mqttwb proxy --listen PORT --upstream URL
                              forward devices to a broker, printing every packet
  mqttwb amqp declare|bind|unbind|publish|consume|queues URL ...
                              RabbitMQ (AMQP 0-9-1) from the terminal (see below)
  mqttwb --version            print the version
  mqttwb --help               print this help

";

fn main() -> ExitCode {
    let usage = format!(
        "{USAGE_HEAD}{}\n{}\n{}\n{}\n{}\n{}",
        workbench_cli::broker::OPTIONS,
        workbench_cli::simulate::OPTIONS,
        workbench_cli::bench::OPTIONS,
        workbench_cli::record::OPTIONS,
        workbench_cli::replay::OPTIONS,
        workbench_cli::convert::OPTIONS
    ) + "\n"
        + workbench_cli::proxy::OPTIONS
        + "\n"
        + workbench_cli::amqp::OPTIONS;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--help" | "-h") => {
            print!("{usage}");
            ExitCode::SUCCESS
        }
        Some("--version" | "-V") => {
            println!("mqttwb {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("broker") => workbench_cli::broker::run("mqttwb", &usage, &args[1..]),
        Some("record") => workbench_cli::record::run("mqttwb", &usage, &args[1..]),
        Some("replay") => workbench_cli::replay::run("mqttwb", &usage, &args[1..]),
        Some("convert") => workbench_cli::convert::run("mqttwb", &usage, &args[1..]),
        Some("simulate") => workbench_cli::simulate::run("mqttwb", &usage, &args[1..]),
        Some("bench") => workbench_cli::bench::run("mqttwb", &usage, &args[1..]),
        Some("proxy") => workbench_cli::proxy::run("mqttwb", &usage, &args[1..]),
        Some("amqp") => workbench_cli::amqp::run("mqttwb", &usage, &args[1..]),
        Some(other) => {
            eprintln!("mqttwb: unknown argument '{other}'\n\n{usage}");
            ExitCode::from(2)
        }
        None => {
            eprint!("{usage}");
            ExitCode::from(2)
        }
    }
}
