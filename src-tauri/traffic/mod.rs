//! The traffic model every view reads: per source, a topic tree, rates, bounded message history,
//! clients and subscriptions seen, and the packet log. Fed over bounded channels; memory is capped
//! everywhere and nothing grows with uptime. Pure Rust: never imports `tauri`.

pub mod packet;

pub use packet::{Direction, PacketEvent, PacketKind, PacketSummary, ProtocolVersion};
