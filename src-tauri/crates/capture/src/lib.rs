//! Captures: what a device did, kept, replayed and carried between tools.
//!
//! - [`message`]: one captured message, the same for every format and tool here.
//! - [`jsonl`]: the recording format (versioned JSON Lines), line by line.
//! - [`record`]: a recording being written: bounded queue, a writer thread, flushed every second,
//!   a full disk stopping it with what was written kept.
//! - [`replay`]: a recording (or any imported file) played back to a [`replay::Sink`] at any
//!   speed, looped, filtered, rewritten, within a time range, paused and stepped, with progress.
//! - [`publisher`]: a small MQTT client that publishes a replay to any broker.
//! - [`formats`]: the formats of peers read as streams of messages and problems (MQTTX,
//!   HiveMQ mqtt-cli, mqttui, mqtt-recorder); [`export`] writes MQTTX JSON and CSV.
//! - [`pcap`]: packet logs written as pcapng for Wireshark, and pcap/pcapng captures read back.
//! - [`lines`], [`time`]: numbered line reading that never trusts a file; the times files write.
//!
//! Never imports tauri; the CLI (`mqttwb record`, `mqttwb replay`) and the app share it.

pub mod export;
pub mod formats;
pub mod jsonl;
pub mod lines;
pub mod link;
pub mod message;
pub mod pcap;
pub mod record;
pub mod replay;
pub mod time;

pub use formats::{Entry, Format, ImportOptions};
/// Time zones for [`ImportOptions`] (local times without a zone in peers' files).
pub use jiff;
pub use lines::{Problem, Problems};
pub use message::{Direction, Message, Properties};
