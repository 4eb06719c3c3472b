//! The AMQP profiles file, `amqp-sessions.json` in the config folder: every saved AMQP session in
//! one human-readable JSON file, written atomically and private, read bounded. Never holds a
//! password: a URL typed with one has it moved out ([`split_password`]) into the keychain.
//! A file that is not a profiles file is kept aside (`amqp-sessions.json.broken-<time>`) and said
//! so, never overwritten.

use super::AmqpProfile;
use crate::error::{ErrorCode, IpcError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use workbench_amqp::{AmqpError, AmqpTarget};
use workbench_session::files;

/// The file's name inside the config folder.
pub const AMQP_PROFILES_FILE: &str = "amqp-sessions.json";
/// The file format's version, written into the file.
const FORMAT: u32 = 1;
/// The largest profiles file read: thousands of profiles fit.
const MAX_FILE: usize = 4 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct ProfilesFile {
    format: u32,
    profiles: Vec<AmqpProfile>,
}

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub profiles: Vec<AmqpProfile>,
    /// What the user should know (the file was broken and kept aside, or unreadable).
    pub note: Option<String>,
    /// The file exists but could not be read: nothing is saved over it.
    pub read_only: bool,
}

/// Reads the profiles saved at `path`; a missing file is no profiles.
pub fn load(path: &Path) -> Loaded {
    if !path.exists() {
        return Loaded::default();
    }
    let text = match files::read_text_bounded(path, MAX_FILE) {
        Ok(text) => text,
        Err(e) => {
            return Loaded {
                note: Some(format!(
                    "{e}; AMQP profiles will not be saved until it can be read"
                )),
                read_only: true,
                ..Loaded::default()
            }
        }
    };
    let parsed: Result<ProfilesFile, String> =
        serde_json::from_str(&text).map_err(|e| e.to_string());
    let why = match parsed {
        Ok(file) if file.format <= FORMAT => {
            return Loaded {
                profiles: file.profiles,
                ..Loaded::default()
            }
        }
        Ok(file) => {
            return Loaded {
                note: Some(format!(
                    "{} was written by a newer MQTT Workbench (format {}); it is left as it is",
                    path.display(),
                    file.format
                )),
                read_only: true,
                ..Loaded::default()
            }
        }
        Err(e) => e,
    };
    let stamp = workbench_wire::now_ms() / 1000;
    let aside = path.with_extension(format!("json.broken-{stamp}"));
    match std::fs::rename(path, &aside) {
        Ok(()) => Loaded {
            note: Some(format!(
                "{} is not a valid AMQP profiles file ({why}); it was kept as {}",
                path.display(),
                aside.display()
            )),
            ..Loaded::default()
        },
        Err(e) => Loaded {
            note: Some(format!(
                "{} is not a valid AMQP profiles file ({why}) and could not be moved aside ({e})",
                path.display()
            )),
            read_only: true,
            ..Loaded::default()
        },
    }
}

/// Saves the profiles to `path` (atomic, private).
pub fn save(path: &Path, profiles: &[AmqpProfile]) -> Result<(), IpcError> {
    let file = ProfilesFile {
        format: FORMAT,
        profiles: profiles.to_vec(),
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
    files::write_atomically(path, text.as_bytes()).map_err(|e| {
        IpcError::new(
            ErrorCode::Io,
            format!("saving the AMQP profiles to {}: {e}", path.display()),
        )
    })
}

/// Splits the password out of an AMQP URL: the URL without it (otherwise as typed) and the
/// password (percent-decoded), if it had a non-empty one. The URL is checked first.
pub fn split_password(url: &str) -> Result<(String, Option<String>), AmqpError> {
    let url = url.trim();
    let target = AmqpTarget::parse(url)?;
    let Some(scheme_end) = url.find("://") else {
        return Err(AmqpError::BadUrl("it has no ://".into()));
    };
    let (head, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return Ok((url.to_string(), None));
    };
    let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
    let Some(colon) = userinfo.find(':') else {
        return Ok((url.to_string(), None));
    };
    let user = &userinfo[..colon];
    let clean = if user.is_empty() {
        format!("{head}{host}{tail}")
    } else {
        format!("{head}{user}@{host}{tail}")
    };
    let password = Some(target.password).filter(|p| !p.is_empty());
    Ok((clean, password))
}

/// Checks a profile before it is saved; returns it tidied (URL trimmed, a name when none).
pub fn check(mut profile: AmqpProfile) -> Result<AmqpProfile, IpcError> {
    let bad = |m: String| IpcError::new(ErrorCode::InvalidInput, m);
    profile.url = profile.url.trim().to_string();
    let target = AmqpTarget::parse(&profile.url).map_err(|e| super::ipc_error(&e))?;
    profile.name = profile.name.trim().to_string();
    if profile.name.is_empty() {
        profile.name = format!("{}@{}", target.user, target.host);
    }
    if profile.name.chars().count() > 200 || profile.name.chars().any(char::is_control) {
        return Err(bad(
            "the name must be at most 200 characters, without control characters".into(),
        ));
    }
    if profile.management_port == Some(0) {
        return Err(bad(
            "management port 0 is not a port: RabbitMQ's is 15672 (leave it empty for none)".into(),
        ));
    }
    profile.ca_file = profile
        .ca_file
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty());
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_moved_out_of_urls() {
        let cases = [
            (
                "amqp://alice:s%40cret@rabbit:5672/dev",
                "amqp://alice@rabbit:5672/dev",
                Some("s@cret"),
            ),
            ("amqps://bob@h/%2f", "amqps://bob@h/%2f", None),
            ("amqp://h", "amqp://h", None),
            ("amqp://:pw@h:1/v?x=1", "amqp://h:1/v?x=1", Some("pw")),
            ("amqp://u:@h", "amqp://u@h", None),
        ];
        for (url, clean, password) in cases {
            let (c, p) = split_password(url).unwrap();
            assert_eq!((c.as_str(), p.as_deref()), (clean, password), "{url}");
        }
        assert!(split_password("mqtt://h").is_err());
    }
}
