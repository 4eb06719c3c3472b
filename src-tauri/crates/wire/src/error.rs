//! Error codes shared by every crate: the small, stable vocabulary the UI acts on.
//!
//! Each crate keeps its own `thiserror` enum with the detail; each maps its variants onto one
//! [`ErrorCode`]. The IPC layer sends `{ code, message }` so the UI can tell a port in use from a
//! wrong password without parsing text. Never add a code the UI would not treat differently.
//!
//! The codes live in the lowest crate, not in the app core, because lower layers carry them in
//! their own types: a session's connection state holds the code of its last failure, and topic
//! validation classifies its errors.

use serde::Serialize;

/// What kind of failure happened, as the UI needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, specta::Type)]
pub enum ErrorCode {
    /// A value the user entered is not acceptable (the message says which and why).
    InvalidInput,
    /// A topic name is not valid for publishing (empty, wildcard, NUL, too long).
    InvalidTopic,
    /// A topic filter is not valid for subscribing (misplaced `#` or `+`, empty, NUL).
    InvalidTopicFilter,
    /// A listening port is already taken by another program.
    PortInUse,
    /// A broker refused the username, password or client certificate.
    AuthFailed,
    /// A broker could not be reached: DNS failure, refused connection, timeout.
    Unreachable,
    /// A TLS handshake or certificate problem.
    Tls,
    /// A peer broke the MQTT protocol, or refused a connection for a protocol reason.
    Protocol,
    /// The thing asked for (a session, a client, a topic) does not exist (any more).
    NotFound,
    /// The operation conflicts with the current state (already running, not connected).
    InvalidState,
    /// Reading or writing a file failed.
    Io,
    /// A bug or an unexpected condition inside the app.
    Internal,
}

/// Implemented by every module error so the IPC layer can classify it.
pub trait Coded {
    fn code(&self) -> ErrorCode;
}
