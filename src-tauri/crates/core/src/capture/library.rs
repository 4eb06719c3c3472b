//! The saved-message library: named messages (topic, payload as typed, QoS, retain, MQTT 5
//! properties) in named collections, kept in one human-readable JSON file in the app's config
//! folder, written atomically on every change; exported and imported as one file; each sent
//! with one call to a session.
//!
//! Everything read from a file is checked before it is kept (topics, QoS, sizes), so a hand-edited
//! or foreign file cannot put anything unsendable in the library.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use workbench_session::payload::PayloadInput;
use workbench_session::profile::MessageProperties;
use workbench_session::PublishRequest;

/// The library file's name in the config folder.
pub const LIBRARY_FILE: &str = "saved-messages.json";
/// The version written; files of a higher one are refused.
const VERSION: u32 = 1;
/// The largest library file read.
const MAX_FILE: usize = 64 * 1024 * 1024;

/// How a saved payload is written (as in the composer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    #[default]
    Text,
    Json,
    Hex,
    Base64,
}

/// One saved message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SavedMessage {
    /// Stable id (given when first saved).
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub topic: String,
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    pub format: PayloadFormat,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    #[serde(default)]
    pub properties: MessageProperties,
}

impl SavedMessage {
    /// The request that sends it.
    pub fn request(&self) -> PublishRequest {
        let payload = self.payload.clone();
        PublishRequest {
            topic: self.topic.clone(),
            payload: match self.format {
                PayloadFormat::Text => PayloadInput::Text(payload),
                PayloadFormat::Json => PayloadInput::Json(payload),
                PayloadFormat::Hex => PayloadInput::Hex(payload),
                PayloadFormat::Base64 => PayloadInput::Base64(payload),
            },
            qos: self.qos,
            retain: self.retain,
            properties: self.properties.clone(),
        }
    }

    /// What is wrong with it, in words.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a saved message needs a name".into());
        }
        workbench_wire::topic::validate_name(&self.topic)
            .map_err(|e| format!("'{}': the topic is not valid: {e}", self.name))?;
        if self.qos > 2 {
            return Err(format!("'{}': QoS must be 0, 1 or 2", self.name));
        }
        self.request()
            .payload
            .into_bytes()
            .map_err(|e| format!("'{}': {e}", self.name))?;
        self.properties
            .check_lengths("message")
            .map_err(|e| format!("'{}': {e}", self.name))
    }
}

/// A named, ordered group of saved messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Collection {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub messages: Vec<SavedMessage>,
}

/// The whole library, as the file holds it and the UI shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Library {
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub collections: Vec<Collection>,
}

impl Library {
    /// Reads a library file's text, checking everything in it; ids are given where missing.
    pub fn parse(text: &str) -> Result<Library, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a saved-message library: {e}"))?;
        if !value.get("collections").is_some_and(|c| c.is_array()) {
            return Err("not a saved-message library: it has no list of collections".into());
        }
        let mut library: Library = serde_json::from_value(value)
            .map_err(|e| format!("not a saved-message library: {e}"))?;
        if library.version > VERSION {
            return Err(format!(
                "written by a newer version (library version {}); this one reads up to {VERSION}",
                library.version
            ));
        }
        library.version = VERSION;
        for collection in &mut library.collections {
            if collection.name.trim().is_empty() {
                return Err("a collection needs a name".into());
            }
            if collection.id.is_empty() {
                collection.id = new_id();
            }
            for message in &mut collection.messages {
                message.check()?;
                if message.id.is_empty() {
                    message.id = new_id();
                }
            }
        }
        Ok(library)
    }

    fn find(&mut self, collection: &str) -> Result<&mut Collection, String> {
        self.collections
            .iter_mut()
            .find(|c| c.id == collection)
            .ok_or_else(|| "that collection no longer exists".to_string())
    }
}

fn new_id() -> String {
    workbench_session::random_id_long("m-")
}

/// The library in memory and on disk.
pub struct SavedMessages {
    path: Option<PathBuf>,
    library: Mutex<Library>,
}

impl SavedMessages {
    /// Loads `<config>/saved-messages.json` (an unreadable file is set aside, never lost: it
    /// stays on disk and the library starts empty until something is saved).
    pub fn load(config: Option<&Path>) -> (SavedMessages, Option<String>) {
        let path = config.map(|c| c.join(LIBRARY_FILE));
        let mut problem = None;
        let library = match &path {
            Some(path) if path.exists() => {
                match workbench_session::files::read_text_bounded(path, MAX_FILE)
                    .map_err(|e| e.to_string())
                    .and_then(|text| Library::parse(&text))
                {
                    Ok(library) => library,
                    Err(e) => {
                        problem = Some(format!("{}: {e}", path.display()));
                        Library::default()
                    }
                }
            }
            _ => Library::default(),
        };
        let saved = SavedMessages {
            path,
            library: Mutex::new(library),
        };
        (saved, problem)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Library> {
        self.library.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn library(&self) -> Library {
        let mut library = self.lock().clone();
        library.version = VERSION;
        library
    }

    /// Applies `change` and writes the file; nothing changes when either fails.
    fn change(
        &self,
        change: impl FnOnce(&mut Library) -> Result<(), String>,
    ) -> Result<Library, String> {
        let mut guard = self.lock();
        let mut next = guard.clone();
        next.version = VERSION;
        change(&mut next)?;
        if let Some(path) = &self.path {
            if let Some(dir) = path.parent() {
                workbench_session::files::create_private_dir(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let text = serde_json::to_string_pretty(&next).map_err(|e| e.to_string())?;
            workbench_session::files::write_atomically(path, text.as_bytes())
                .map_err(|e| format!("cannot save {}: {e}", path.display()))?;
        }
        *guard = next.clone();
        Ok(next)
    }

    /// Adds a collection; returns the library.
    pub fn add_collection(&self, name: &str) -> Result<Library, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("a collection needs a name".into());
        }
        self.change(|l| {
            l.collections.push(Collection {
                id: new_id(),
                name: name.to_string(),
                messages: Vec::new(),
            });
            Ok(())
        })
    }

    pub fn delete_collection(&self, collection: &str) -> Result<Library, String> {
        self.change(|l| {
            let before = l.collections.len();
            l.collections.retain(|c| c.id != collection);
            if l.collections.len() == before {
                return Err("that collection no longer exists".into());
            }
            Ok(())
        })
    }

    /// Saves a message into a collection: replaces the one with its id, or adds it at the end.
    pub fn save_message(
        &self,
        collection: &str,
        mut message: SavedMessage,
    ) -> Result<Library, String> {
        message.check()?;
        self.change(|l| {
            let c = l.find(collection)?;
            match c
                .messages
                .iter_mut()
                .find(|m| !message.id.is_empty() && m.id == message.id)
            {
                Some(existing) => *existing = message,
                None => {
                    message.id = new_id();
                    c.messages.push(message);
                }
            }
            Ok(())
        })
    }

    pub fn delete_message(&self, collection: &str, message: &str) -> Result<Library, String> {
        self.change(|l| {
            let c = l.find(collection)?;
            let before = c.messages.len();
            c.messages.retain(|m| m.id != message);
            if c.messages.len() == before {
                return Err("that message no longer exists".into());
            }
            Ok(())
        })
    }

    /// Moves a message to `index` in its collection (dragged in the list).
    pub fn move_message(
        &self,
        collection: &str,
        message: &str,
        index: usize,
    ) -> Result<Library, String> {
        self.change(|l| {
            let c = l.find(collection)?;
            let from = c
                .messages
                .iter()
                .position(|m| m.id == message)
                .ok_or("that message no longer exists")?;
            let moved = c.messages.remove(from);
            let to = index.min(c.messages.len());
            c.messages.insert(to, moved);
            Ok(())
        })
    }

    pub fn find_message(&self, collection: &str, message: &str) -> Option<SavedMessage> {
        let library = self.lock();
        library
            .collections
            .iter()
            .find(|c| c.id == collection)?
            .messages
            .iter()
            .find(|m| m.id == message)
            .cloned()
    }

    /// The whole library as one file's text.
    pub fn export_text(&self) -> String {
        serde_json::to_string_pretty(&self.library()).unwrap_or_default()
    }

    /// Adds every collection of a library file (checked first; nothing is added when any of it
    /// is wrong). Collections keep their names; ids are new, so importing twice adds twice.
    pub fn import_text(&self, text: &str) -> Result<(Library, usize), String> {
        let mut incoming = Library::parse(text)?;
        let mut added = 0;
        for c in &mut incoming.collections {
            c.id = new_id();
            for m in &mut c.messages {
                m.id = new_id();
                added += 1;
            }
        }
        let library = self.change(|l| {
            l.collections.extend(incoming.collections);
            Ok(())
        })?;
        Ok((library, added))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(name: &str) -> SavedMessage {
        SavedMessage {
            id: String::new(),
            name: name.into(),
            topic: format!("lab/{name}"),
            payload: "{\"on\": true}".into(),
            format: PayloadFormat::Json,
            qos: 1,
            retain: false,
            properties: MessageProperties::default(),
        }
    }

    #[test]
    fn collections_keep_their_order_across_restarts_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let (saved, problem) = SavedMessages::load(Some(dir.path()));
        assert!(problem.is_none());
        let library = saved.add_collection("Thermostat").unwrap();
        let c = library.collections[0].id.clone();
        for name in ["on", "off", "status"] {
            saved.save_message(&c, message(name)).unwrap();
        }
        let ids: Vec<String> = saved.library().collections[0]
            .messages
            .iter()
            .map(|m| m.id.clone())
            .collect();
        saved.move_message(&c, &ids[2], 0).unwrap();
        let mut edited = saved.find_message(&c, &ids[0]).unwrap();
        edited.payload = "{\"on\": false}".into();
        saved.save_message(&c, edited).unwrap();
        // Bad input changes nothing.
        let mut bad = message("bad");
        bad.topic = "a/#".into();
        assert!(saved
            .save_message(&c, bad)
            .unwrap_err()
            .contains("topic is not valid"));
        let mut bad = message("bad");
        bad.payload = "{not json".into();
        assert!(saved.save_message(&c, bad).is_err());

        let (again, _) = SavedMessages::load(Some(dir.path()));
        let names: Vec<String> = again.library().collections[0]
            .messages
            .iter()
            .map(|m| m.name.clone())
            .collect();
        assert_eq!(names, ["status", "on", "off"]);
        assert_eq!(
            again.library().collections[0].messages[1].payload,
            "{\"on\": false}"
        );

        let exported = again.export_text();
        let other = tempfile::tempdir().unwrap();
        let (elsewhere, _) = SavedMessages::load(Some(other.path()));
        let (library, added) = elsewhere.import_text(&exported).unwrap();
        assert_eq!(added, 3);
        assert_eq!(library.collections[0].name, "Thermostat");
        assert!(elsewhere
            .import_text("{\"version\": 9, \"collections\": []}")
            .unwrap_err()
            .contains("newer version"));
        assert!(elsewhere.import_text("[1]").is_err());
        assert_eq!(
            elsewhere.library().collections.len(),
            1,
            "failed imports add nothing"
        );
    }
}
