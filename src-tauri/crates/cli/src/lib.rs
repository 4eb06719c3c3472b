//! MQTT Workbench on the command line: the terminal front ends of what the core crates do. The
//! `mqttwb` binary runs them, and so does the desktop app's own executable
//! (`mqtt-workbench broker`), through the same functions.
//!
//! - [`amqp`]: RabbitMQ (AMQP 0-9-1): declare, bind, publish and consume from the terminal.
//! - [`broker`]: the embedded broker alone, without a window, logging who connects, subscribes
//!   and leaves, until Ctrl-C or SIGTERM.
//! - [`record`], [`replay`]: recordings of MQTT messages to a file, played back to any broker.
//! - [`convert`]: captures from one format into another (peers' exports in, MQTTX out).
//! - [`simulate`]: device simulators from a TOML file against any broker.
//! - [`bench`]: the load generator (`bench conn|pub|sub`) with latency percentiles.
//! - [`proxy`]: the inspecting proxy to an upstream broker, printing packets as they pass.
//!
//! Built from the core crates only: it must never depend on tauri or WebKit (`make check-layers`
//! checks its dependency tree, `make check-cli-links` the libraries `mqttwb` links).

pub mod amqp;
pub mod bench;
pub mod broker;
pub mod convert;
pub mod proxy;
pub mod record;
pub mod replay;
mod run;
pub mod simulate;
