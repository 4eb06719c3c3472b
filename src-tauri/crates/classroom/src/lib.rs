//! The classroom: the teacher turns it on, the embedded broker listens on the network (with a
//! WebSocket listener), and a small student page is served over HTTP; students open it on a phone
//! or laptop, type a name, subscribe and publish, and appear on the teacher's live map like any
//! other client. Off by default; while on, it serves nothing but the page and MQTT.
//!
//! - [`service`]: on and off, the broker's settings changed and given back.
//! - [`http`]: the page's HTTP server (GET and HEAD of the embedded files only, bounded).
//! - [`page`]: the embedded page, its settings file, the headers and policy every answer carries.
//! - [`network`]: this computer's network addresses, for the page's URL and QR code.
//!
//! It must never import `tauri`; the desktop shell's `ipc::classroom` wraps [`service`].

pub mod http;
pub mod network;
pub mod page;
pub mod service;

pub use service::{Classroom, ClassroomError, ClassroomOptions, ClassroomStatus};
