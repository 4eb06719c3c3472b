//! The `mqtt-workbench` executable: the desktop app by default.
//!
//! `mqtt-workbench --help` lists the modes. Without a display the app says so and exits instead of
//! crashing inside GTK.

// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

/// The help text before the broker's options ([`workbench_cli::broker::OPTIONS`]).
const USAGE_HEAD: &str = "\
MQTT Workbench: an MQTT broker, client sessions and live traffic views in one desktop app.

Usage:
  mqtt-workbench              start the desktop app
  mqtt-workbench broker [OPTIONS]
                              run only the embedded broker, without a window, until Ctrl-C
  mqtt-workbench --version    print the version
  mqtt-workbench --help       print this help

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
            println!("mqtt-workbench {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        // The same broker `mqttwb broker` runs.
        Some("broker") => workbench_cli::broker::run("mqtt-workbench", &usage, &args[1..]),
        Some(other) => {
            eprintln!("mqtt-workbench: unknown argument '{other}'\n\n{usage}");
            ExitCode::from(2)
        }
        None => run_desktop(),
    }
}

fn run_desktop() -> ExitCode {
    lighter_webview();
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

/// On Linux, WebKitGTK's DMA-BUF renderer keeps about 100 MB more in the web process for this
/// app's pages than the shared-memory path, with no visible difference for its views (measured
/// by `make bench-idle`). Off unless the user set the variable themselves. Before any thread
/// starts: setting the environment is only sound while the process is single-threaded.
fn lighter_webview() {
    if cfg!(target_os = "linux") && std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
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
