//! Where in a simulator file a problem is: a path of keys and indexes (`stream[1].every`)
//! located in the parsed document to name its line, and the problems as they are reported.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One problem in a simulator file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The line (from 1), when known.
    pub line: Option<usize>,
    /// Where in the file (`stream[1].every`), empty for the file as a whole.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.field.is_empty()) {
            (Some(line), false) => write!(f, "line {line}, {}: {}", self.field, self.message),
            (Some(line), true) => write!(f, "line {line}: {}", self.message),
            (None, false) => write!(f, "{}: {}", self.field, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileErrors(pub Vec<FileError>);

impl std::fmt::Display for FileErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FileErrors {}

/// The longest simulator file read (a fleet is described in a page, not megabytes).
pub const MAX_FILE: usize = 1 << 20;

/// One step of a path into the file.
#[derive(Debug, Clone)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

pub(super) fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Collects problems, locating each path in the parsed document.
pub(super) struct Checker<'a> {
    pub text: &'a str,
    pub doc: Option<Spanned<DeTable<'a>>>,
    pub errors: Vec<FileError>,
}

impl Checker<'_> {
    /// The byte span of the deepest part of `path` that exists in the file.
    pub fn span(&self, path: &[Step]) -> Option<std::ops::Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut span = None;
        let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
        let mut value: Option<&DeValue<'_>> = None;
        for step in path {
            let next = match (step, table, value) {
                (Step::Key(k), Some(t), _) => t.get(k.as_str()),
                (Step::Key(k), None, Some(v)) => v.get(k.as_str()),
                (Step::Index(i), _, Some(v)) => v.get(*i),
                _ => None,
            };
            let Some(next) = next else { break };
            span = Some(next.span());
            table = None;
            value = Some(next.get_ref());
        }
        span
    }

    pub fn error(&mut self, path: &[Step], message: impl Into<String>) {
        let line = self.span(path).map(|s| line_of(self.text, s.start));
        self.errors.push(FileError {
            line,
            field: path_text(path),
            message: message.into(),
        });
    }
}

pub(super) fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

pub(super) fn at(base: &[Step], more: &[Step]) -> Vec<Step> {
    base.iter().chain(more).cloned().collect()
}
