//! The app's preferences: `settings.json` in the config folder. Whether the broker starts with
//! the app, how much history and how many packets each source keeps, and where exports go.
//! Language and theme belong to each window's page and are kept there. A broken file is reported
//! and kept aside, never overwritten unseen; values out of range are refused with their range.

use crate::error::{ErrorCode, IpcError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use workbench_session::files::{read_text_bounded, write_atomically};
use workbench_traffic::history::HistoryLimits;
use workbench_traffic::source::SourceLimits;

/// The file's name in the config folder.
pub const PREFERENCES_FILE: &str = "settings.json";
const MAX_FILE: usize = 64 * 1024;

/// What the settings page edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct Preferences {
    /// Start the embedded broker when the app starts.
    pub start_broker: bool,
    /// Messages kept per topic (the inspector's history).
    pub history_per_topic: u32,
    /// History kept per source, in MB, all topics together.
    pub history_total_mb: u32,
    /// Packets kept in each source's packet log.
    pub packet_log: u32,
    /// Where exports are saved (none: the user's Downloads folder).
    pub downloads: Option<String>,
}

impl Default for Preferences {
    fn default() -> Self {
        let history = HistoryLimits::default();
        Preferences {
            start_broker: true,
            history_per_topic: history.per_topic_messages as u32,
            history_total_mb: (history.total_bytes / (1024 * 1024)) as u32,
            packet_log: SourceLimits::default().packets as u32,
            downloads: None,
        }
    }
}

/// The ranges each number may take (a value outside is refused, naming its range).
pub const HISTORY_PER_TOPIC: (u32, u32) = (1, 10_000);
pub const HISTORY_TOTAL_MB: (u32, u32) = (16, 4_096);
pub const PACKET_LOG: (u32, u32) = (100, 1_000_000);

fn check(name: &str, value: u32, (low, high): (u32, u32)) -> Result<(), String> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{name} must be between {low} and {high} (was {value})"
        ))
    }
}

impl Preferences {
    /// Why these preferences cannot be used, in words.
    pub fn validate(&self) -> Result<(), String> {
        check(
            "messages kept per topic",
            self.history_per_topic,
            HISTORY_PER_TOPIC,
        )?;
        check(
            "history per source (MB)",
            self.history_total_mb,
            HISTORY_TOTAL_MB,
        )?;
        check("packets kept", self.packet_log, PACKET_LOG)?;
        if let Some(dir) = &self.downloads {
            let path = Path::new(dir);
            if !path.is_absolute() {
                return Err(format!(
                    "the downloads folder must be a full path (was '{dir}')"
                ));
            }
            if !path.is_dir() {
                return Err(format!("the downloads folder {dir} does not exist"));
            }
        }
        Ok(())
    }

    /// What each source keeps.
    pub fn source_limits(&self) -> SourceLimits {
        let defaults = SourceLimits::default();
        SourceLimits {
            history: HistoryLimits {
                per_topic_messages: self.history_per_topic as usize,
                total_bytes: self.history_total_mb as usize * 1024 * 1024,
                ..defaults.history
            },
            packets: self.packet_log as usize,
            ..defaults
        }
    }

    pub fn downloads_folder(&self) -> Option<PathBuf> {
        self.downloads.as_ref().map(PathBuf::from)
    }
}

/// Preferences read back, and what the user should know about the file.
#[derive(Debug)]
pub struct Loaded {
    pub preferences: Preferences,
    pub note: Option<String>,
}

/// Reads the preferences (defaults when there is no file). A file that cannot be used is moved
/// aside (`settings.json.broken-<time>`) and reported.
pub fn load(path: &Path) -> Loaded {
    if !path.exists() {
        return Loaded {
            preferences: Preferences::default(),
            note: None,
        };
    }
    let problem = match read_text_bounded(path, MAX_FILE) {
        Err(e) => e.to_string(),
        Ok(text) => match serde_json::from_str::<Preferences>(&text) {
            Ok(preferences) => match preferences.validate() {
                Ok(()) => {
                    return Loaded {
                        preferences,
                        note: None,
                    }
                }
                Err(e) => e,
            },
            Err(e) => format!("{} is not valid: {e}", path.display()),
        },
    };
    let aside = path.with_extension(format!("json.broken-{}", workbench_wire::now_ms() / 1000));
    let kept = std::fs::rename(path, &aside).is_ok();
    let note = if kept {
        format!(
            "{problem}; the defaults are used and the file was kept as {}",
            aside.display()
        )
    } else {
        format!("{problem}; the defaults are used")
    };
    Loaded {
        preferences: Preferences::default(),
        note: Some(note),
    }
}

/// Checks and saves the preferences (atomically, readable by the user only).
pub fn save(path: &Path, preferences: &Preferences) -> Result<(), IpcError> {
    preferences
        .validate()
        .map_err(|e| IpcError::new(ErrorCode::InvalidInput, e))?;
    let mut text = serde_json::to_string_pretty(preferences)
        .map_err(|e| IpcError::new(ErrorCode::Io, format!("encoding the settings: {e}")))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
        .map_err(|e| IpcError::new(ErrorCode::Io, format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_preferences_come_back_and_bad_ones_are_refused_or_kept_aside() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(PREFERENCES_FILE);
        assert_eq!(load(&path).preferences, Preferences::default());
        let chosen = Preferences {
            start_broker: false,
            history_per_topic: 500,
            history_total_mb: 64,
            packet_log: 2_000,
            downloads: Some(dir.path().display().to_string()),
        };
        save(&path, &chosen).expect("save");
        let loaded = load(&path);
        assert_eq!(loaded.preferences, chosen);
        assert!(loaded.note.is_none());
        assert_eq!(loaded.preferences.source_limits().packets, 2_000);
        assert_eq!(
            loaded.preferences.source_limits().history.total_bytes,
            64 * 1024 * 1024
        );
        // Out of range: refused, naming the range; nothing written.
        let wrong = Preferences {
            packet_log: 5,
            ..chosen.clone()
        };
        let error = save(&path, &wrong).expect_err("too few packets");
        assert!(
            error.message.contains("between 100 and 1000000"),
            "{}",
            error.message
        );
        assert_eq!(load(&path).preferences, chosen);
        let relative = Preferences {
            downloads: Some("exports".into()),
            ..chosen
        };
        assert!(save(&path, &relative).is_err());
        // A broken file: defaults, a note, and the file kept aside.
        std::fs::write(&path, "{ not json").expect("write");
        let loaded = load(&path);
        assert_eq!(loaded.preferences, Preferences::default());
        let note = loaded.note.expect("a note");
        assert!(note.contains("kept as"), "{note}");
        assert!(!path.exists());
    }
}
