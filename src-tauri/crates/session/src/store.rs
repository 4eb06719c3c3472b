//! The profiles file: every saved connection in one human-readable JSON file under the OS config
//! directory, written atomically ([`crate::files`]). Never holds passwords.

use super::profile::Profile;
use super::SessionError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name inside the config directory.
pub const PROFILES_FILE: &str = "profiles.json";
/// The file format's version, written into the file.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct ProfilesFile {
    format: u32,
    profiles: Vec<Profile>,
}

/// The app's config directory: `$MQTT_WORKBENCH_CONFIG_DIR` when set, otherwise the OS config
/// directory (`~/.config/dev.mqttworkbench.desktop` on Linux, `~/Library/Application Support/…`
/// on macOS, `%APPDATA%\…` on Windows).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MQTT_WORKBENCH_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    dirs::config_dir().map(|d| d.join("dev.mqttworkbench.desktop"))
}

/// Why the profiles could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// The file exists but cannot be read (permissions, a newer format): leave it alone.
    Unreadable(SessionError),
    /// The file is not a profiles file (corrupt, edited by hand): it may be set aside.
    Invalid(SessionError),
}

/// The largest profiles file read: thousands of profiles fit.
const MAX_PROFILES_FILE: usize = 16 * 1024 * 1024;

/// Reads the profiles saved at `path`; a missing file is no profiles.
pub fn load(path: &Path) -> Result<Vec<Profile>, LoadError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = match crate::files::read_text_bounded(path, MAX_PROFILES_FILE) {
        Ok(text) => text,
        Err(e) => {
            return Err(LoadError::Unreadable(SessionError::Io(format!(
                "{e}; profiles will not be saved until it can be read"
            ))))
        }
    };
    let file: ProfilesFile = serde_json::from_str(&text).map_err(|e| {
        LoadError::Invalid(SessionError::Io(format!(
            "{} is not a valid profiles file ({e})",
            path.display()
        )))
    })?;
    if file.format > FORMAT {
        return Err(LoadError::Unreadable(SessionError::Io(format!(
            "{} was written by a newer MQTT Workbench (format {}); it is left as it is and profiles will not be saved",
            path.display(),
            file.format
        ))));
    }
    Ok(file.profiles)
}

/// Writes the profiles to `path` atomically, creating the directory when needed.
pub fn save(path: &Path, profiles: &[Profile]) -> Result<(), SessionError> {
    let mut text = serde_json::to_string_pretty(&ProfilesFile {
        format: FORMAT,
        profiles: profiles.to_vec(),
    })
    .map_err(|e| SessionError::Io(format!("encoding profiles: {e}")))?;
    text.push('\n');
    crate::files::write_atomically(path, text.as_bytes())
        .map_err(|e| SessionError::Io(format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{MqttVersion, Subscription};

    #[test]
    fn profiles_round_trip_without_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join(PROFILES_FILE);
        assert!(load(&path).unwrap().is_empty());
        let mut p = Profile::new("sensor", "localhost", 1883, MqttVersion::V5);
        p.id = "p1".into();
        p.username = Some("alice".into());
        p.subscriptions.push(Subscription::new("a/#", 1));
        save(&path, std::slice::from_ref(&p)).unwrap();
        assert_eq!(load(&path).unwrap(), vec![p]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"name\": \"sensor\""),
            "human-readable: {text}"
        );
        assert!(!text.contains("password"), "{text}");
        // Only the file itself: no temporary left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_broken_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PROFILES_FILE);
        std::fs::write(&path, "{ not json").unwrap();
        let Err(LoadError::Invalid(e)) = load(&path) else {
            panic!("a broken file is invalid");
        };
        assert!(e.to_string().contains("not a valid profiles file"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    }
}
