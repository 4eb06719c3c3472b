//! Fault injection for MQTT Workbench: a tester breaks things on purpose, per client, to see how
//! a device copes with a lost PUBACK, a slow broker or a dropped connection. Used by the
//! embedded broker's front door and by the inspecting proxy alike: both ask the same engine
//! about every whole packet in each direction.
//!
//! - [`rule`]: the faults ([`Fault`]), their limits, and the command line's `CLIENT:FAULT`
//!   syntax ([`parse`]).
//! - [`book`]: [`FaultBook`], the armed rules keyed by client id, shared by every connection and
//!   by whoever arms them; rules may wait for a client that has not connected yet.
//! - [`engine`]: [`Faults`], one connection's engine: pass, drop, duplicate or hold each packet
//!   ([`Decision`]), and cut, pause, refuse or disconnect the connection ([`Action`]); plus the
//!   [`Mark`] every injected fault leaves on its packet event (the packet field `fault`).
//!
//! Sans-I/O: no sockets, no clocks (time is passed in), no async runtime. It depends on the
//! wire crate only, never on the broker or the proxy.
//!
//! A connection uses it like this:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use workbench_faults::{Fault, FaultBook, Faults, Toward};
//! use workbench_wire::PacketKind;
//!
//! let book = Arc::new(FaultBook::new());
//! book.arm("dev1", Fault::Drop { kind: PacketKind::PubAck, toward: Toward::Client, count: 1 })
//!     .unwrap();
//! // On CONNECT of dev1: a refusal armed for it? (None here.)
//! assert_eq!(book.take_refusal("dev1"), None);
//! let mut faults = Faults::new(book.clone(), "dev1", 42);
//! // For each whole packet, when `!book.is_empty()` (one atomic load otherwise):
//! let decision = faults.on_packet(Toward::Client, PacketKind::PubAck, Instant::now());
//! assert!(decision.drop);
//! ```

extern crate workbench_wire as wire;

pub mod book;
pub mod engine;
pub mod rule;

pub use book::FaultBook;
pub use engine::{duplicate, mark_of, Action, Decision, Faults, Mark, FAULT_FIELD};
pub use rule::{kind_named, parse, ArmedRule, Fault, RuleError, Toward};
