//! The traffic model every view reads: per source, a topic tree, rates, bounded message history,
//! clients and subscriptions seen, and the packet log. Fed over bounded channels; memory is capped
//! everywhere and nothing grows with uptime. Pure Rust: never imports `tauri`.
//!
//! The model is built from [`workbench_wire::PacketEvent`]s and knows nothing of who produced
//! them: it must never depend on the broker or the sessions (the app core's hub feeds it).
//!
//! - [`tree`]: the topic tree with counts, previews, rates and histories.
//! - [`history`]: bounded per-topic history and the global memory limit.
//! - [`rates`]: exact per-second windows and compact per-topic rate estimates.
//! - [`values`]: numbers read out of payloads, for value charts.
//! - [`search`]: the filter's `payload:` part: last payloads searched, decoded forms too.
//! - [`view`]: the tree flattened by what is expanded or filtered, served as row windows.
//! - [`source`]: one source's whole model (tree, global rates, packet log, clients seen).

pub mod history;
pub mod rates;
pub mod search;
pub mod source;
pub mod tree;

pub use workbench_wire::SourceId;
pub mod values;
pub mod view;
