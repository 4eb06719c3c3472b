//! Passwords (sessions', and the embedded broker's users'): in the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows) through the keyring crate, never in the profiles file. Where no keychain
//! answers (a headless Linux machine without a Secret Service), passwords are kept in memory for
//! this run only and the UI says so.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The keychain service name entries are filed under.
const SERVICE: &str = "dev.mqttworkbench.desktop";
/// How long a keychain call may take before it is treated as unavailable (a D-Bus activation that
/// never answers must not hang a connect).
const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where passwords are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
pub enum PasswordStorage {
    /// The OS keychain: they survive restarts.
    Keychain,
    /// Memory only: no keychain answered, so they are forgotten when the app quits.
    SessionOnly,
}

/// Where passwords go, and why not into the keychain when they cannot.
type Probed = (PasswordStorage, Option<String>);

/// The password store.
#[derive(Debug)]
pub struct Secrets {
    /// Where passwords go, and why not the keychain when they cannot; known once the probe
    /// (started at detection, on its own thread, so the window never waits for it) is done.
    probe: std::sync::OnceLock<Probed>,
    pending: Mutex<Option<std::thread::JoinHandle<Probed>>>,
    /// Session-only passwords, and what the keychain answered per profile, absence included
    /// (so a refresh or a reconnect never waits on it again).
    memory: Mutex<HashMap<String, Option<String>>>,
}

fn entry(profile_id: &str) -> Result<keyring::Entry, keyring::Error> {
    keyring::Entry::new(SERVICE, profile_id)
}

/// Runs a keychain call on its own thread, giving up after [`KEYCHAIN_TIMEOUT`].
fn with_timeout<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, keyring::Error> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    match rx.recv_timeout(KEYCHAIN_TIMEOUT) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("the keychain did not answer within 5 s".to_string()),
    }
}

impl Secrets {
    /// Probes the OS keychain, in the background. `MQTT_WORKBENCH_KEYCHAIN=off` skips it
    /// (tests, kiosks).
    pub fn detect() -> Secrets {
        if std::env::var("MQTT_WORKBENCH_KEYCHAIN").as_deref() == Ok("off") {
            return Secrets::memory_only("turned off by MQTT_WORKBENCH_KEYCHAIN=off");
        }
        let probe = std::thread::spawn(|| {
            let answer = with_timeout(|| match entry("probe")?.get_password() {
                Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(e),
            });
            match answer {
                Ok(()) => (PasswordStorage::Keychain, None),
                Err(e) => (
                    PasswordStorage::SessionOnly,
                    Some(format!("no OS keychain answered ({e})")),
                ),
            }
        });
        Secrets {
            probe: std::sync::OnceLock::new(),
            pending: Mutex::new(Some(probe)),
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// A store that never touches the keychain.
    pub fn memory_only(reason: &str) -> Secrets {
        let probe = std::sync::OnceLock::new();
        let _ = probe.set((PasswordStorage::SessionOnly, Some(reason.to_string())));
        Secrets {
            probe,
            pending: Mutex::new(None),
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// The probe's answer, waiting for it the first time (at most the keychain timeout).
    fn probed(&self) -> &Probed {
        self.probe.get_or_init(|| {
            let handle = self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            handle.and_then(|h| h.join().ok()).unwrap_or((
                PasswordStorage::SessionOnly,
                Some("the keychain probe failed".to_string()),
            ))
        })
    }

    pub fn storage(&self) -> PasswordStorage {
        self.probed().0
    }

    /// Why passwords are session-only, when they are.
    pub fn reason(&self) -> Option<&str> {
        self.probed().1.as_deref()
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<String>>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores (or with `None`, removes) a profile's password. A keychain failure falls back to
    /// memory and is returned as a warning.
    pub fn set(&self, profile_id: &str, password: Option<&str>) -> Option<String> {
        self.memory()
            .insert(profile_id.to_string(), password.map(str::to_string));
        if self.storage() != PasswordStorage::Keychain {
            return None;
        }
        let id = profile_id.to_string();
        let password = password.map(str::to_string);
        let result = with_timeout(move || {
            let entry = entry(&id)?;
            match password {
                Some(p) => entry.set_password(&p),
                None => match entry.delete_credential() {
                    Err(keyring::Error::NoEntry) => Ok(()),
                    other => other,
                },
            }
        });
        result.err().map(|e| {
            format!("the password could not be saved in the OS keychain ({e}); it is kept until the app quits")
        })
    }

    /// A profile's password, if one is stored.
    pub fn get(&self, profile_id: &str) -> Option<String> {
        if let Some(known) = self.memory().get(profile_id) {
            return known.clone();
        }
        if self.storage() != PasswordStorage::Keychain {
            return None;
        }
        let id = profile_id.to_string();
        let found = with_timeout(move || match entry(&id)?.get_password() {
            Ok(p) => Ok(Some(p)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
        .ok()
        .flatten();
        self.memory().insert(profile_id.to_string(), found.clone());
        found
    }

    pub fn has(&self, profile_id: &str) -> bool {
        self.get(profile_id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_keeps_and_forgets() {
        let s = Secrets::memory_only("test");
        assert_eq!(s.storage(), PasswordStorage::SessionOnly);
        assert_eq!(s.set("a", Some("pw")), None);
        assert_eq!(s.get("a").as_deref(), Some("pw"));
        assert!(!s.has("b"));
        s.set("a", None);
        assert_eq!(s.get("a"), None);
    }

    #[test]
    fn the_real_keychain_answers_or_is_reported_missing_without_hanging() {
        let started = std::time::Instant::now();
        let secrets = Secrets::detect();
        let storage = secrets.storage();
        // Bounded by the keychain timeout (5 s), whatever the machine has.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        match storage {
            PasswordStorage::Keychain => assert_eq!(secrets.reason(), None),
            PasswordStorage::SessionOnly => {
                let reason = secrets.reason().unwrap_or_default();
                assert!(
                    reason.contains("keychain") || reason.contains("KEYCHAIN"),
                    "{reason}"
                );
            }
        }
    }
}
