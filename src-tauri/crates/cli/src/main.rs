//! `mqttwb`: MQTT Workbench on the command line, without a window (and without Tauri or WebKit).
//!
//! `mqttwb --help` lists the commands; `mqttwb broker` runs the embedded broker, exactly as
//! `mqtt-workbench broker` does.

use std::process::ExitCode;

const USAGE_HEAD: &str = "\
mqttwb: MQTT Workbench on the command line, without a window.

Usage:
  mqttwb broker [OPTIONS]     run only the embedded broker until Ctrl-C
  mqttwb --version            print the version
  mqttwb --help               print this help

";

fn main() -> ExitCode {
    let usage = format!("{USAGE_HEAD}{}", workbench_cli::broker::OPTIONS);
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
