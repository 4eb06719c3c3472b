//! Errors as the UI receives them: `{ code, message }`, the shape that crosses the IPC boundary.
//!
//! The codes themselves ([`ErrorCode`], and the [`Coded`] trait every crate's error implements)
//! live in the wire crate, below every layer that carries them; they are re-exported here. The
//! type keeps its name `IpcError`: it is what the generated TypeScript bindings call it.

use serde::Serialize;
pub use workbench_wire::error::{Coded, ErrorCode};

/// An error as the UI receives it: a code to act on and a sentence to show.
#[derive(Debug, Clone, Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Converts any module error, keeping its code and its full message.
    pub fn from_coded<E: Coded + std::fmt::Display>(error: &E) -> Self {
        Self::new(error.code(), error.to_string())
    }
}
