//! A learner's progress, kept in the data folder (`learn-progress.json`) so it survives a
//! restart: per lesson, the steps done. Written atomically; an unreadable file counts as no
//! progress (and is replaced at the next save), never as an error that blocks learning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const PROGRESS_FILE: &str = "learn-progress.json";
const MAX_FILE: usize = 1 << 20;

/// One lesson's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LessonProgress {
    /// Indexes of the steps done.
    pub steps_done: Vec<u32>,
}

/// Every lesson's progress, and where it is kept.
#[derive(Debug, Default)]
pub struct Progress {
    path: Option<PathBuf>,
    pub lessons: BTreeMap<String, LessonProgress>,
}

impl Progress {
    /// Reads the progress kept in `dir` (none: kept in memory only).
    pub fn load(dir: Option<&Path>) -> Progress {
        let path = dir.map(|d| d.join(PROGRESS_FILE));
        let lessons = path
            .as_deref()
            .and_then(|p| workbench_session::files::read_text_bounded(p, MAX_FILE).ok())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Progress { path, lessons }
    }

    /// Marks step `step` of `lesson` done and saves; false when it already was.
    pub fn step_done(&mut self, lesson: &str, step: u32) -> bool {
        let entry = self.lessons.entry(lesson.to_string()).or_default();
        if entry.steps_done.contains(&step) {
            return false;
        }
        entry.steps_done.push(step);
        entry.steps_done.sort_unstable();
        self.save();
        true
    }

    /// Forgets `lesson`'s progress (the learner starts over) and saves.
    pub fn forget(&mut self, lesson: &str) {
        if self.lessons.remove(lesson).is_some() {
            self.save();
        }
    }

    pub fn steps_done(&self, lesson: &str) -> &[u32] {
        self.lessons
            .get(lesson)
            .map(|p| p.steps_done.as_slice())
            .unwrap_or(&[])
    }

    fn save(&self) {
        let Some(path) = &self.path else { return };
        let Ok(text) = serde_json::to_vec_pretty(&self.lessons) else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = workbench_session::files::create_private_dir(dir);
        }
        if let Err(error) = workbench_session::files::write_atomically(path, &text) {
            tracing::warn!(%error, "lesson progress not saved");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_survives_a_restart_and_a_broken_file_is_no_progress() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut progress = Progress::load(Some(dir.path()));
        assert!(progress.step_done("qos", 0));
        assert!(progress.step_done("qos", 2));
        assert!(!progress.step_done("qos", 2));
        let again = Progress::load(Some(dir.path()));
        assert_eq!(again.steps_done("qos"), &[0, 2]);
        std::fs::write(dir.path().join(PROGRESS_FILE), "{ not json").expect("write");
        assert!(Progress::load(Some(dir.path())).lessons.is_empty());
    }
}
