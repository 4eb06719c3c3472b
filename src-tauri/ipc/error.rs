//! The error shape that crosses the IPC boundary: `{ code, message }`.

use crate::error::{Coded, ErrorCode};
use serde::Serialize;

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
