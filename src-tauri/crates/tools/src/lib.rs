//! Stand-ins and load: what tests a device or a backend needs on the other side of the
//! conversation. Front ends (the `mqttwb simulate` and `mqttwb bench` commands, the app's
//! Simulators and Bench panels) only start these and show what they report.
//!
//! - [`sim`]: device simulators described in a TOML file ([`sim::spec`], checked with the line
//!   and field of every error): a fleet of devices made from one template, each with its own
//!   connection, streams of generated payloads, birth and will messages, and flaky behaviour.
//! - [`reply`]: auto-reply rules (a device mock): a message on a filter gets a reply built from
//!   it, declaratively or by a sandboxed script ([`reply::script`]).
//! - [`bench`]: the load generator: connections, publishers and subscribers at set rates, with
//!   end-to-end latency percentiles from timestamps carried in the payloads.
//! - [`client`]: the small MQTT client all three use, written on the wire crate's codec: one
//!   task per connection, batched writes, nothing per message it does not need.
//! - [`target`]: which broker to reach (a URL, or a session's settings) and how.
//! - [`template`], [`duration`]: `{name}` placeholders and `5s`-style durations, as files write
//!   them.
//!
//! It must never depend on tauri, the broker or the traffic model: it talks to brokers only
//! over sockets, like any other client.

pub mod bench;
pub mod client;
pub mod duration;
mod error;
pub mod reply;
pub mod service;
pub mod sim;
pub mod target;
pub mod template;
mod time;

pub use error::ToolsError;
pub use target::Target;
