//! Payload decoders that need more than the UI's own (text, JSON, hex, Base64, images, CBOR and
//! MessagePack are decoded in the UI, `ui/src/lib/traffic/`): the ones that need a protobuf
//! library, a schema, state across messages, or bounded decompression. Plain Rust, no Tauri;
//! every decoder reads untrusted bytes and answers an error, never a panic.
//!
//! - [`sparkplug`]: Sparkplug B topics and payloads, and the state of its edge nodes and devices.
//! - [`schema`]: Protobuf by schema: `.proto` files compiled at run time, topic filters mapped to
//!   message types, payloads decoded to JSON and JSON encoded to payloads.
//! - [`compressed`]: gzip, zlib and deflate payloads, inflated with a limit.

pub mod compressed;
pub mod schema;
pub mod sparkplug;
