//! The embedded broker's settings across restarts: `broker.json` in the app's config directory
//! (listen address, ports, TLS files, maximum packet size, user names) and the users' passwords
//! in the OS keychain, never in the file.
//!
//! Where the keychain is missing, passwords last only until the app quits. A broker that needed
//! passwords must then not come back open to the network: users whose password is gone are
//! dropped, and a broker that had users listens on loopback only until they are set again.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use workbench_broker::{BrokerSettings, Limits, TlsSettings, DEFAULT_PORT};
use workbench_secrets::Secrets;
use workbench_session::files::read_text_bounded;

/// The file's name in the config directory.
pub const BROKER_FILE: &str = "broker.json";
/// The largest settings file read.
const MAX_FILE: usize = 1024 * 1024;
/// One save at a time: the file and the keychain entries change together.
static SAVING: std::sync::Mutex<()> = std::sync::Mutex::new(());
const FORMAT: u32 = 1;

/// Where the broker's settings are saved, and the password store for its users.
pub struct SavedSettings {
    pub path: Option<PathBuf>,
    pub secrets: Arc<Secrets>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedBroker {
    format: u32,
    bind: IpAddr,
    port: u16,
    websocket_port: Option<u16>,
    tls: Option<TlsSettings>,
    max_packet_size: usize,
    /// Every other limit (files written before limits existed have none: the defaults).
    #[serde(default)]
    limits: Option<Limits>,
    /// Names only; each password is in the keychain under `broker-user:<name>`.
    users: Vec<String>,
}

fn key(user: &str) -> String {
    format!("broker-user:{user}")
}

/// Settings read back, and what the user should know about them.
#[derive(Debug)]
pub struct Loaded {
    pub settings: BrokerSettings,
    pub note: Option<String>,
}

/// Reads the saved settings (defaults when there are none, or when the file cannot be used).
pub fn load(path: &Path, secrets: &Secrets) -> Loaded {
    if !path.exists() {
        return Loaded {
            settings: BrokerSettings::default(),
            note: None,
        };
    }
    let text = match read_text_bounded(path, MAX_FILE) {
        Ok(text) => text,
        Err(e) => {
            return Loaded {
                settings: BrokerSettings::default(),
                note: Some(format!(
                    "the saved broker settings could not be read ({e}); the defaults are used"
                )),
            }
        }
    };
    let saved: SavedBroker = match serde_json::from_str(&text) {
        Ok(saved) => saved,
        Err(e) => {
            return Loaded {
                settings: BrokerSettings::default(),
                note: Some(format!(
                    "{} is not a valid broker settings file ({e}); the defaults are used",
                    path.display()
                )),
            }
        }
    };
    let mut limits = saved.limits.unwrap_or_default();
    limits.max_packet_size = saved.max_packet_size;
    let mut settings = BrokerSettings {
        bind: saved.bind,
        port: saved.port,
        // Only the usual port moves on when taken; a chosen one is reported instead.
        port_fallback: saved.port == DEFAULT_PORT,
        users: Default::default(),
        websocket_port: saved.websocket_port,
        tls: saved.tls,
        limits,
    };
    let mut lost = Vec::new();
    for user in &saved.users {
        match secrets.get(&key(user)) {
            Some(password) => {
                settings.users.insert(user.clone(), password);
            }
            None => lost.push(user.clone()),
        }
    }
    let mut note = None;
    if !lost.is_empty() {
        let mut text =
            format!(
            "the passwords of {} could not be restored (no OS keychain kept them): add {} again",
            lost.join(", "),
            if lost.len() == 1 { "this user" } else { "these users" }
        );
        if !settings.bind.is_loopback() {
            settings.bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
            text.push_str("; until then the broker listens on this computer only");
        }
        note = Some(text);
    }
    Loaded { settings, note }
}

/// Saves the settings: the file without passwords, each password in the keychain (removing those
/// of users no longer there). Returns a note when passwords could not go to the keychain.
pub fn save(
    path: &Path,
    settings: &BrokerSettings,
    secrets: &Secrets,
) -> Result<Option<String>, String> {
    let _one_at_a_time = SAVING.lock().unwrap_or_else(|p| p.into_inner());
    let before: Vec<String> = read_text_bounded(path, MAX_FILE)
        .ok()
        .and_then(|text| serde_json::from_str::<SavedBroker>(&text).ok())
        .map(|saved| saved.users)
        .unwrap_or_default();
    let mut users: Vec<String> = settings.users.keys().cloned().collect();
    users.sort();
    let saved = SavedBroker {
        format: FORMAT,
        bind: settings.bind,
        port: settings.port,
        websocket_port: settings.websocket_port,
        tls: settings.tls.clone(),
        max_packet_size: settings.limits.max_packet_size,
        limits: Some(settings.limits.clone()),
        users,
    };
    let mut text = serde_json::to_string_pretty(&saved).map_err(|e| e.to_string())?;
    text.push('\n');
    workbench_session::files::write_atomically(path, text.as_bytes())
        .map_err(|e| format!("saving the broker settings to {}: {e}", path.display()))?;
    let mut note = None;
    for (user, password) in &settings.users {
        if let Some(warning) = secrets.set(&key(user), Some(password)) {
            note = Some(warning);
        }
    }
    for gone in before.iter().filter(|u| !settings.users.contains_key(*u)) {
        secrets.set(&key(gone), None);
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn exposed_with_users() -> BrokerSettings {
        BrokerSettings {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 1884,
            websocket_port: Some(8083),
            limits: Limits {
                max_packet_size: 1 << 20,
                ..Limits::default()
            },
            users: HashMap::from([
                ("alice".to_string(), "s3cret".to_string()),
                ("bob".to_string(), "hunter2".to_string()),
            ]),
            ..BrokerSettings::default()
        }
    }

    #[test]
    fn settings_come_back_and_passwords_never_touch_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BROKER_FILE);
        let secrets = Secrets::memory_only("test");
        assert_eq!(load(&path, &secrets).settings, BrokerSettings::default());
        save(&path, &exposed_with_users(), &secrets).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"alice\"") && text.contains("0.0.0.0"),
            "{text}"
        );
        assert!(
            !text.contains("s3cret") && !text.contains("hunter2"),
            "{text}"
        );
        let loaded = load(&path, &secrets);
        assert_eq!(loaded.note, None);
        let settings = loaded.settings;
        assert_eq!(settings.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!((settings.port, settings.port_fallback), (1884, false));
        assert_eq!(settings.users, exposed_with_users().users);
        // A removed user's password leaves the keychain too.
        let mut fewer = exposed_with_users();
        fewer.users.remove("bob");
        save(&path, &fewer, &secrets).unwrap();
        assert_eq!(secrets.get("broker-user:bob"), None);
    }

    #[test]
    fn a_broker_whose_passwords_are_gone_does_not_come_back_open_to_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BROKER_FILE);
        save(
            &path,
            &exposed_with_users(),
            &Secrets::memory_only("first run"),
        )
        .unwrap();
        // A new run without a keychain: the passwords did not survive.
        let loaded = load(&path, &Secrets::memory_only("second run"));
        assert!(loaded.settings.users.is_empty());
        assert!(loaded.settings.bind.is_loopback());
        let note = loaded.note.expect("the user is told");
        assert!(
            note.contains("alice") && note.contains("this computer only"),
            "{note}"
        );
        // A broken file: defaults and a note.
        std::fs::write(&path, "{").unwrap();
        let loaded = load(&path, &Secrets::memory_only("t"));
        assert_eq!(loaded.settings, BrokerSettings::default());
        assert!(loaded
            .note
            .unwrap()
            .contains("not a valid broker settings file"));
    }
}
