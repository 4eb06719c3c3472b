//! Saving what the user exports (a payload, a chart) into their Downloads folder. The webview
//! cannot save files itself (WebKitGTK drops `<a download>` clicks in Tauri), and a save dialog
//! would need a plugin and broader capabilities; a fixed, well-known folder needs neither.

use crate::error::{Coded, ErrorCode, IpcError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("no Downloads folder is known for this user")]
    NoFolder,
    #[error("saving {path}: {error}")]
    Io { path: String, error: std::io::Error },
}

impl Coded for SaveError {
    fn code(&self) -> ErrorCode {
        ErrorCode::Io
    }
}

/// The folder exports go to: `$MQTT_WORKBENCH_DOWNLOAD_DIR`, else the user's Downloads folder,
/// else the home folder.
pub fn folder() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MQTT_WORKBENCH_DOWNLOAD_DIR") {
        return Some(PathBuf::from(dir));
    }
    dirs::download_dir().or_else(dirs::home_dir)
}

/// A file name from untrusted text (a topic): no folders, no hidden files, nothing a file system
/// refuses; at most 100 characters.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let trimmed = cleaned.trim_matches(|c| c == '.' || c == '_');
    if trimmed.is_empty() {
        "export".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Writes `bytes` to a new file named after `name` in `dir`, never replacing an existing file
/// ("name (2).ext" and so on). Returns the path written.
pub fn save_in(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, SaveError> {
    let io = |path: &Path, error| SaveError::Io {
        path: path.display().to_string(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = safe_name(name);
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    for n in 1..10_000 {
        let candidate = if n == 1 {
            dir.join(&name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(mut file) => {
                file.write_all(bytes).map_err(|e| io(&candidate, e))?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&candidate, e)),
        }
    }
    Err(io(
        dir,
        std::io::Error::other("too many files with this name"),
    ))
}

/// Saves into the Downloads folder.
pub fn save(name: &str, bytes: &[u8]) -> Result<PathBuf, SaveError> {
    let dir = folder().ok_or(SaveError::NoFolder)?;
    save_in(&dir, name, bytes)
}

/// Saves bytes the UI sent as base64 (so large payloads cross IPC as one string, not a number
/// array) into the Downloads folder.
pub fn save_base64(name: &str, data: &str) -> Result<PathBuf, IpcError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .map_err(|e| IpcError::new(ErrorCode::InvalidInput, format!("not base64: {e}")))?;
    save(name, &bytes).map_err(|e| IpcError::from_coded(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_files_never_replaced() {
        assert_eq!(safe_name("../../etc/passwd"), "etc_passwd");
        assert_eq!(safe_name("home/<script>.json"), "home__script_.json");
        assert_eq!(safe_name("..."), "export");
        let dir = tempfile::tempdir().unwrap();
        let first = save_in(dir.path(), "a/b.png", b"1").unwrap();
        let second = save_in(dir.path(), "a/b.png", b"2").unwrap();
        assert_eq!(first.file_name().unwrap(), "a_b.png");
        assert_eq!(second.file_name().unwrap(), "a_b (2).png");
        assert_eq!(std::fs::read(first).unwrap(), b"1");
        assert_eq!(std::fs::read(second).unwrap(), b"2");
    }
}
