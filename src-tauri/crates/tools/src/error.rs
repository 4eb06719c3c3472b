//! Why a tool could not start or run, in words, each mapped onto an [`ErrorCode`] the UI acts on.

use workbench_wire::{Coded, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolsError {
    /// A simulator file or a bench parameter is not acceptable (the message says which).
    #[error("{0}")]
    InvalidInput(String),
    /// The broker could not be reached, or refused the connection.
    #[error("{0}")]
    Connect(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// Something is already running, or not running.
    #[error("{0}")]
    InvalidState(String),
    /// No simulator or result with that id.
    #[error("{0}")]
    NotFound(String),
}

impl Coded for ToolsError {
    fn code(&self) -> ErrorCode {
        match self {
            ToolsError::InvalidInput(_) => ErrorCode::InvalidInput,
            ToolsError::Connect(_) => ErrorCode::Unreachable,
            ToolsError::Io(_) => ErrorCode::Io,
            ToolsError::InvalidState(_) => ErrorCode::InvalidState,
            ToolsError::NotFound(_) => ErrorCode::NotFound,
        }
    }
}
