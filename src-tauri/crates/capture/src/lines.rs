//! Reading files line by line without trusting them: every line is numbered, a line longer than
//! the limit is skipped (and reported) without being held in memory, and what was wrong where is
//! gathered in [`Problems`]: counted always, the first ones kept with their line numbers.

use serde::Serialize;
use std::io::BufRead;

/// The longest line read: a 256 MB payload in base64 with its text beside it fits.
pub const MAX_LINE: usize = 640 * 1024 * 1024;

/// How many problems are kept with their line and reason (all are counted).
pub const PROBLEMS_KEPT: usize = 100;

/// One thing wrong in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Problem {
    /// 1-based line where the broken entry starts.
    #[specta(type = u32)]
    pub line: u64,
    pub reason: String,
}

/// Everything wrong in a file, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct Problems {
    /// Entries that could not be read.
    #[specta(type = u32)]
    pub count: u64,
    /// The first [`PROBLEMS_KEPT`] of them.
    pub first: Vec<Problem>,
}

impl Problems {
    pub fn add(&mut self, line: u64, reason: impl Into<String>) {
        self.count += 1;
        if self.first.len() < PROBLEMS_KEPT {
            self.first.push(Problem {
                line,
                reason: reason.into(),
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// In words, for a terminal: "3 entries could not be read: line 4: …; line 9: …".
    pub fn summary(&self) -> String {
        let shown: Vec<String> = self
            .first
            .iter()
            .take(5)
            .map(|p| format!("line {}: {}", p.line, p.reason))
            .collect();
        let more = if self.count as usize > shown.len() {
            format!("; and {} more", self.count as usize - shown.len())
        } else {
            String::new()
        };
        format!(
            "{} {} could not be read: {}{more}",
            self.count,
            if self.count == 1 { "entry" } else { "entries" },
            shown.join("; ")
        )
    }
}

/// What one call to [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line (without its `\n` or `\r\n`), and its number.
    Text(u64, &'a [u8]),
    /// A line longer than the limit, skipped; its number.
    TooLong(u64),
    End,
}

/// Numbered lines of a reader, each at most `max` bytes.
pub struct LineReader<R> {
    inner: R,
    buffer: Vec<u8>,
    number: u64,
    max: usize,
    /// Bytes consumed so far (for progress).
    pub position: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max: usize) -> LineReader<R> {
        LineReader {
            inner,
            buffer: Vec::new(),
            number: 0,
            max,
            position: 0,
        }
    }

    /// The next line. A read error ends the file (reported as the error).
    pub fn next_line(&mut self) -> std::io::Result<Line<'_>> {
        self.buffer.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            if !too_long {
                if self.buffer.len() + take > self.max + 2 {
                    too_long = true;
                    self.buffer = Vec::new();
                } else {
                    self.buffer.extend_from_slice(&available[..take]);
                }
            }
            self.inner.consume(take);
            self.position += take as u64;
            if done {
                break;
            }
        }
        if !any {
            return Ok(Line::End);
        }
        self.number += 1;
        if too_long {
            return Ok(Line::TooLong(self.number));
        }
        while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
            self.buffer.pop();
        }
        Ok(Line::Text(self.number, &self.buffer))
    }

    /// Lines read so far.
    pub fn number(&self) -> u64 {
        self.number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_long_ones_skipped() {
        let text = b"one\r\ntwo\n\nthis line is far too long\nlast";
        let mut lines = LineReader::new(std::io::BufReader::with_capacity(4, &text[..]), 10);
        assert_eq!(lines.next_line().unwrap(), Line::Text(1, b"one"));
        assert_eq!(lines.next_line().unwrap(), Line::Text(2, b"two"));
        assert_eq!(lines.next_line().unwrap(), Line::Text(3, b""));
        assert_eq!(lines.next_line().unwrap(), Line::TooLong(4));
        assert_eq!(lines.next_line().unwrap(), Line::Text(5, b"last"));
        assert_eq!(lines.next_line().unwrap(), Line::End);
        assert_eq!(lines.position, text.len() as u64);
    }

    #[test]
    fn problems_are_all_counted_and_the_first_kept() {
        let mut problems = Problems::default();
        for line in 1..=150 {
            problems.add(line, "bad");
        }
        assert_eq!(problems.count, 150);
        assert_eq!(problems.first.len(), PROBLEMS_KEPT);
        let summary = problems.summary();
        assert!(
            summary.starts_with("150 entries could not be read: line 1: bad"),
            "{summary}"
        );
        assert!(summary.ends_with("and 145 more"), "{summary}");
    }
}
