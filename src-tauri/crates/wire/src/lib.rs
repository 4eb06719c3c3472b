//! The protocol layer below everyone: what one MQTT packet on the wire is, how packets are framed
//! and read without copies, what makes a topic name or filter valid, and the small vocabulary of
//! error codes every layer maps its failures onto.
//!
//! - [`budget`]: a byte budget for packet events waiting for their consumer.
//! - [`codec`]: MQTT 3.1, 3.1.1 and 5 packets decoded with every check the specification asks
//!   of a receiver, and encoded; one file per packet type (the broker speaks through it).
//! - [`packet`]: the packet event every packet-level view is built from ([`PacketEvent`]); the
//!   broker's front door and the client sessions both produce them, so neither imports the other.
//! - framing (re-exported here): where a packet ends ([`frame`]), its essentials ([`summarize`])
//!   and its fields for the packet log ([`describe`]), read leniently from any bytes.
//! - [`source_id`]: which traffic source packets belong to (the broker, or a session).
//! - [`topic`]: topic names and filters, validation and matching, per the specification.
//! - [`error`]: [`ErrorCode`], the failures the UI acts on, and the [`Coded`] trait.
//!
//! Sans-I/O: no sockets, no files, no async runtime. It must never depend on another crate of
//! the workspace.

pub mod budget;
pub mod codec;
pub mod error;
mod framing;
pub mod packet;
pub mod source_id;
pub mod topic;

pub use codec::encode_varint;
pub use error::{Coded, ErrorCode};
pub use framing::{
    ack_codes, describe, frame, publish_properties, subscription_filters, summarize, Frame,
    WireError,
};
pub use packet::{Direction, Field, PacketEvent, PacketKind, PacketSummary, ProtocolVersion};
pub use source_id::SourceId;

/// Milliseconds since the Unix epoch (0 for a clock set before it): the time every event,
/// rate and state in the app is stamped with.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
