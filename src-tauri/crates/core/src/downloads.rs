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

/// The folder the user chose in the settings, if any.
static CHOSEN: std::sync::RwLock<Option<PathBuf>> = std::sync::RwLock::new(None);

/// Sets the folder chosen in the settings (none: the Downloads folder).
pub fn choose(folder: Option<PathBuf>) {
    *CHOSEN.write().unwrap_or_else(|p| p.into_inner()) = folder;
}

/// The user's Downloads folder, where exports go unless another folder is chosen.
pub fn default_folder() -> Option<PathBuf> {
    dirs::download_dir()
}

/// The folder exports go to: `$MQTT_WORKBENCH_DOWNLOAD_DIR` (tests), else the folder chosen in
/// the settings, else the user's Downloads folder. Never somewhere else by surprise: without a
/// Downloads folder, saving says so.
pub fn folder() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MQTT_WORKBENCH_DOWNLOAD_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(chosen) = CHOSEN.read().unwrap_or_else(|p| p.into_inner()).clone() {
        return Some(chosen);
    }
    default_folder()
}

/// The longest file name written, in bytes: file systems allow 255, and " (9999)" may follow.
const MAX_NAME_BYTES: usize = 200;

/// A file name from untrusted text (a topic): no folders, no hidden files, nothing a file system
/// refuses; at most 200 bytes (in UTF-8: fewer characters for CJK text), keeping the extension.
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
        .collect();
    let trimmed = cleaned.trim_matches(|c| c == '.' || c == '_');
    if trimmed.is_empty() {
        return "export".to_string();
    }
    if trimmed.len() <= MAX_NAME_BYTES {
        return trimmed.to_string();
    }
    // Keep a short extension, cut the stem at a character boundary.
    let (stem, ext) = match trimmed.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, format!(".{ext}")),
        _ => (trimmed, String::new()),
    };
    let mut end = MAX_NAME_BYTES - ext.len();
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", &stem[..end])
}

/// Writes `bytes` to a new file named after `name` in `dir`, never replacing an existing file
/// ("name (2).ext" and so on). The bytes go to a hidden temporary file first, which takes the
/// final name only once whole: a failed write (a full disk) leaves no partial file. Returns the
/// path written.
pub fn save_in(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, SaveError> {
    let io = |path: &Path, error| SaveError::Io {
        path: path.display().to_string(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let tmp = dir.join(format!(
        ".mqtt-workbench-{}.part",
        workbench_session::random_id_long("")
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp, error));
    }
    let name = safe_name(name);
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    let result = (|| {
        for n in 1..10_000 {
            let candidate = if n == 1 {
                dir.join(&name)
            } else {
                dir.join(format!("{stem} ({n}){ext}"))
            };
            // A hard link takes the name only if it is free, atomically; where the file system
            // has none (FAT), a rename after checking comes closest.
            match std::fs::hard_link(&tmp, &candidate) {
                Ok(()) => return Ok(candidate),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(_) if !candidate.exists() => {
                    return std::fs::rename(&tmp, &candidate)
                        .map(|()| candidate.clone())
                        .map_err(|e| io(&candidate, e));
                }
                Err(_) => continue,
            }
        }
        Err(io(
            dir,
            std::io::Error::other("too many files with this name"),
        ))
    })();
    let _ = std::fs::remove_file(&tmp);
    result
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
    fn long_names_are_cut_in_bytes_keeping_the_extension() {
        let cjk = "温度".repeat(100) + ".json";
        let name = safe_name(&cjk);
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert!(name.ends_with(".json"));
        let dir = tempfile::tempdir().unwrap();
        let path = save_in(dir.path(), &cjk, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        let entries = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 1, "no temporary file is left");
    }

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
