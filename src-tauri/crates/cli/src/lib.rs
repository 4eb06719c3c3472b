//! MQTT Workbench on the command line: the terminal front ends of what the core crates do. The
//! `mqttwb` binary runs them, and so does the desktop app's own executable
//! (`mqtt-workbench broker`), through the same functions.
//!
//! - [`broker`]: the embedded broker alone, without a window, logging who connects, subscribes
//!   and leaves, until Ctrl-C or SIGTERM.
//! - [`record`], [`replay`]: recordings of MQTT messages to a file, played back to any broker.
//! - [`convert`]: captures from one format into another (peers' exports in, MQTTX out).
//! - [`simulate`]: device simulators from a TOML file against any broker.
//! - [`bench`]: the load generator (`bench conn|pub|sub`) with latency percentiles.
//!
//! Built from the core crates only: it must never depend on tauri or WebKit (`make check-layers`
//! checks its dependency tree, `make check-cli-links` the libraries `mqttwb` links).

pub mod bench;
pub mod broker;
pub mod convert;
pub mod record;
pub mod replay;
mod run;
pub mod simulate;
