//! Our own recordings, one message per line ([`crate::jsonl`]); blank lines are skipped.

use super::{Entry, Importer};
use crate::lines::{Line, LineReader, Problem, MAX_LINE};
use std::io::BufRead;

pub struct RecordingReader {
    lines: LineReader<Box<dyn BufRead + Send>>,
    done: bool,
}

impl RecordingReader {
    pub fn new(reader: Box<dyn BufRead + Send>) -> RecordingReader {
        RecordingReader {
            lines: LineReader::new(reader, MAX_LINE),
            done: false,
        }
    }
}

impl Iterator for RecordingReader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        while !self.done {
            let next = self.lines.next_line();
            let problem = |line, reason: String| Some(Entry::Problem(Problem { line, reason }));
            match next {
                Ok(Line::End) => self.done = true,
                Err(e) => {
                    self.done = true;
                    let line = self.lines.number() + 1;
                    return problem(line, format!("reading stopped: {e}"));
                }
                Ok(Line::TooLong(line)) => {
                    return problem(line, format!("longer than {MAX_LINE} bytes"));
                }
                Ok(Line::Text(_, text)) if text.iter().all(u8::is_ascii_whitespace) => {}
                Ok(Line::Text(line, text)) => {
                    return Some(match crate::jsonl::decode(text) {
                        Ok(message) => Entry::Message(message),
                        Err(reason) => Entry::Problem(Problem { line, reason }),
                    });
                }
            }
        }
        None
    }
}

impl Importer for RecordingReader {
    fn position(&self) -> u64 {
        self.lines.position
    }
}
