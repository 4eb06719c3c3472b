//! A recording being written: messages are offered without ever blocking the source (a bounded
//! queue, measured in bytes; what does not fit is counted as dropped), a writer thread of its own
//! turns them into JSON Lines ([`crate::jsonl`]) and writes them at least every second, so a crash
//! loses at most the last second. A write that fails (a full disk, a removed drive) stops the
//! recording with a message in words, and the file keeps every line written before it, whole
//! (a half-written last line is cut off).
//!
//! It never holds more than its queue budget plus one second's batch, whatever the rate.

use crate::message::Message;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use workbench_wire::{PacketEvent, PacketKind};

/// What to record and how much to hold while the disk is slow.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Topic filters; empty records every topic.
    pub filters: Vec<String>,
    /// Bytes of messages waiting for the writer at most; more are dropped (and counted).
    pub queue_bytes: usize,
    /// Longest time a written message waits in memory before it reaches the file.
    pub flush_every: Duration,
    /// Replace a file that exists (otherwise refused).
    pub overwrite: bool,
}

impl Default for RecordOptions {
    fn default() -> RecordOptions {
        RecordOptions {
            filters: Vec::new(),
            queue_bytes: 64 * 1024 * 1024,
            flush_every: Duration::from_secs(1),
            overwrite: false,
        }
    }
}

/// Why a recording could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the topic filter '{filter}' is not valid: {reason}")]
    InvalidFilter { filter: String, reason: String },
    #[error("{path} already exists (choose another name, or allow replacing it)")]
    Exists { path: String },
    #[error("cannot write {path}: {error}")]
    Io { path: String, error: std::io::Error },
}

/// A recording's state as a front end shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RecordingStatus {
    pub path: String,
    /// Messages written to the file.
    #[specta(type = u32)]
    pub messages: u64,
    /// Bytes written to the file.
    #[specta(type = u32)]
    pub bytes: u64,
    /// Messages lost because the writer could not keep up (the queue was full).
    #[specta(type = u32)]
    pub dropped: u64,
    #[specta(type = u32)]
    pub started_ms: u64,
    /// False once stopped, by request or by a failed write.
    pub running: bool,
    /// Why it stopped on its own (a full disk...), in words.
    pub error: Option<String>,
}

/// The bytes a recording is written to; a file in practice, something failing in tests.
pub trait Store: Write + Send + 'static {
    /// Cuts the store to `len` bytes (a half-written line after a failed write).
    fn keep(&mut self, len: u64) -> std::io::Result<()>;
    /// Makes what was written durable.
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Store for std::fs::File {
    fn keep(&mut self, len: u64) -> std::io::Result<()> {
        self.set_len(len)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

struct Shared {
    path: String,
    started_ms: u64,
    filters: Vec<String>,
    messages: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    queued: AtomicUsize,
    queue_bytes: usize,
    stopped: AtomicBool,
    error: Mutex<Option<String>>,
}

/// A recording in progress. Dropping it stops it as [`Recorder::stop`] does.
pub struct Recorder {
    shared: Arc<Shared>,
    queue: Option<SyncSender<Message>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Messages waiting at most, whatever their size (tiny messages are counted too).
const QUEUE_MESSAGES: usize = 100_000;
/// Bytes gathered before they are written even within the second.
const BATCH_BYTES: usize = 1024 * 1024;

impl Recorder {
    /// Creates the file (private: 0600 on Unix) and starts writing to it.
    pub fn create(path: &Path, options: RecordOptions) -> Result<Recorder, RecordError> {
        check_filters(&options.filters)?;
        let shown = path.display().to_string();
        let mut open = std::fs::OpenOptions::new();
        open.write(true);
        if options.overwrite {
            open.create(true).truncate(true);
        } else {
            open.create_new(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let file = open.open(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                RecordError::Exists {
                    path: shown.clone(),
                }
            } else {
                RecordError::Io {
                    path: shown.clone(),
                    error,
                }
            }
        })?;
        Ok(Recorder::to_store(file, shown, options))
    }

    /// Starts writing to any store (`path` is only shown).
    pub fn to_store(store: impl Store, path: String, options: RecordOptions) -> Recorder {
        let shared = Arc::new(Shared {
            path,
            started_ms: workbench_wire::now_ms(),
            filters: options.filters,
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
            queue_bytes: options.queue_bytes,
            stopped: AtomicBool::new(false),
            error: Mutex::new(None),
        });
        let (queue, rx) = std::sync::mpsc::sync_channel(QUEUE_MESSAGES);
        let writer_shared = shared.clone();
        let flush_every = options.flush_every;
        let writer = std::thread::Builder::new()
            .name("recording".into())
            .spawn(move || write_loop(store, rx, &writer_shared, flush_every))
            .ok();
        if writer.is_none() {
            shared.fail("the recording's writer thread could not start".into());
        }
        Recorder {
            shared,
            queue: Some(queue),
            writer,
        }
    }

    /// Offers a message: written when its topic matches the filters, dropped (and counted) when
    /// the queue is full. Never blocks. False once the recording has stopped.
    pub fn offer(&self, message: Message) -> bool {
        if self.shared.stopped.load(Ordering::Relaxed) {
            return false;
        }
        if !self.shared.filters.is_empty()
            && !self
                .shared
                .filters
                .iter()
                .any(|f| workbench_wire::topic::matches(f, &message.topic))
        {
            return true;
        }
        let weight = message.weight();
        let queued = self.shared.queued.fetch_add(weight, Ordering::AcqRel);
        let Some(queue) = &self.queue else {
            return false;
        };
        if queued + weight > self.shared.queue_bytes {
            self.shared.queued.fetch_sub(weight, Ordering::AcqRel);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        match queue.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.shared.queued.fetch_sub(weight, Ordering::AcqRel);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Offers what a packet event carried, when it is a message entering its source (a client's
    /// PUBLISH into the broker, a broker's delivery to a session); other packets are ignored.
    pub fn offer_event(&self, event: &PacketEvent) -> bool {
        if event.summary.kind != PacketKind::Publish
            || event.direction != workbench_wire::Direction::Inbound
        {
            return !self.shared.stopped.load(Ordering::Relaxed);
        }
        match Message::from_event(event) {
            Some(message) => self.offer(message),
            None => !self.shared.stopped.load(Ordering::Relaxed),
        }
    }

    pub fn status(&self) -> RecordingStatus {
        self.shared.status()
    }

    /// Stops: everything queued is written, the file flushed and closed.
    pub fn stop(mut self) -> RecordingStatus {
        self.finish();
        self.shared.status()
    }

    fn finish(&mut self) {
        self.queue = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        self.shared.stopped.store(true, Ordering::Release);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish();
    }
}

fn check_filters(filters: &[String]) -> Result<(), RecordError> {
    for filter in filters {
        workbench_wire::topic::validate_filter(filter).map_err(|e| RecordError::InvalidFilter {
            filter: filter.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

impl Shared {
    fn status(&self) -> RecordingStatus {
        RecordingStatus {
            path: self.path.clone(),
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            started_ms: self.started_ms,
            running: !self.stopped.load(Ordering::Acquire),
            error: self.error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    fn fail(&self, reason: String) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        self.stopped.store(true, Ordering::Release);
    }
}

/// A failed write in words, saying what the file keeps.
fn failure_text(error: &std::io::Error, shared: &Shared, kept: u64) -> String {
    let full = error.kind() == std::io::ErrorKind::StorageFull
        || matches!(error.raw_os_error(), Some(28 | 122));
    let what = if full {
        "the disk is full".to_string()
    } else {
        format!("writing failed ({error})")
    };
    format!(
        "{what}: the recording stopped after {} messages; the {kept} bytes written before are kept in {}",
        shared.messages.load(Ordering::Relaxed),
        shared.path
    )
}

/// The writer thread: gathers lines into a batch and writes it when a second has passed since
/// the first line in it, when it is large, or when the queue closes.
fn write_loop(
    mut store: impl Store,
    rx: Receiver<Message>,
    shared: &Shared,
    flush_every: Duration,
) {
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut batch_messages = 0u64;
    let mut oldest: Option<Instant> = None;
    let mut written = 0u64;
    loop {
        let wait = oldest.map_or(Duration::from_secs(3600), |t| {
            flush_every.saturating_sub(t.elapsed())
        });
        let closed = match rx.recv_timeout(wait) {
            Ok(message) => {
                shared.queued.fetch_sub(message.weight(), Ordering::AcqRel);
                batch.extend_from_slice(
                    crate::jsonl::encode(&message, Some(shared.started_ms)).as_bytes(),
                );
                batch.push(b'\n');
                batch_messages += 1;
                oldest.get_or_insert_with(Instant::now);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let due = oldest.is_some_and(|t| t.elapsed() >= flush_every);
        if !batch.is_empty() && (closed || due || batch.len() >= BATCH_BYTES) {
            let result = store
                .write_all(&batch)
                .and_then(|()| store.flush())
                .and_then(|()| if due || closed { store.sync() } else { Ok(()) });
            if let Err(error) = result {
                // Whatever part of the batch reached the disk is cut off: the file ends with
                // the last whole line written before.
                let _ = store.keep(written);
                shared.fail(failure_text(&error, shared, written));
                return;
            }
            written += batch.len() as u64;
            shared.bytes.store(written, Ordering::Relaxed);
            shared.messages.fetch_add(batch_messages, Ordering::Relaxed);
            batch.clear();
            if batch.capacity() > 4 * BATCH_BYTES {
                batch.shrink_to(64 * 1024);
            }
            batch_messages = 0;
            oldest = None;
        }
        if closed {
            return;
        }
    }
}

/// Where recordings go when no path is given: `<dir>/recording-<UTC time>.jsonl`.
pub fn default_name(dir: &Path, now_ms: u64) -> PathBuf {
    let stamp = crate::time::rfc3339(now_ms)
        .replace([':', '.'], "-")
        .trim_end_matches('Z')
        .to_string();
    dir.join(format!("recording-{stamp}.jsonl"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that takes `room` bytes and then is full.
    struct SmallDisk {
        data: Arc<Mutex<Vec<u8>>>,
        room: usize,
    }

    impl Write for SmallDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut data = self.data.lock().unwrap();
            let left = self.room.saturating_sub(data.len());
            if left == 0 {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            let n = left.min(buf.len());
            data.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Store for SmallDisk {
        fn keep(&mut self, len: u64) -> std::io::Result<()> {
            self.data.lock().unwrap().truncate(len as usize);
            Ok(())
        }
    }

    fn wait_until(f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_full_disk_stops_the_recording_and_keeps_whole_lines() {
        let data = Arc::new(Mutex::new(Vec::new()));
        let disk = SmallDisk {
            data: data.clone(),
            room: 300,
        };
        let options = RecordOptions {
            flush_every: Duration::from_millis(1),
            ..RecordOptions::default()
        };
        let recorder = Recorder::to_store(disk, "test.jsonl".into(), options);
        let mut n = 0;
        while recorder.offer(Message::new(format!("t/{n}"), "0123456789")) {
            n += 1;
            std::thread::sleep(Duration::from_millis(2));
            assert!(n < 10_000, "never stopped");
        }
        let status = recorder.stop();
        let error = status.error.expect("a reason");
        assert!(
            error.starts_with("the disk is full: the recording stopped after"),
            "{error}"
        );
        assert!(!status.running);
        let data = data.lock().unwrap();
        assert!(!data.is_empty() && data.len() <= 300);
        assert_eq!(data.last(), Some(&b'\n'), "ends with a whole line");
        assert_eq!(status.bytes, data.len() as u64);
        let lines: Vec<&[u8]> = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len() as u64, status.messages);
        for line in lines {
            crate::jsonl::decode(line).expect("every kept line reads back");
        }
    }

    #[test]
    fn messages_reach_the_file_within_the_flush_interval_and_filters_apply() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let options = RecordOptions {
            filters: vec!["keep/#".into()],
            ..RecordOptions::default()
        };
        let recorder = Recorder::create(&path, options.clone()).unwrap();
        assert!(recorder.offer(Message::new("keep/a", "1")));
        assert!(recorder.offer(Message::new("skip/a", "2")));
        assert!(recorder.offer(Message::new("keep", vec![0u8, 255])));
        // Still running, and yet on disk: the writer flushes within a second.
        wait_until(|| std::fs::read(&path).unwrap().split(|&b| b == b'\n').count() == 3);
        assert!(recorder.status().running);
        let status = recorder.stop();
        assert_eq!((status.messages, status.dropped), (2, 0));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"keep/a\"") && !text.contains("skip/a"),
            "{text}"
        );
        match Recorder::create(&path, options) {
            Err(RecordError::Exists { .. }) => {}
            _ => panic!("an existing file is never replaced silently"),
        }
        let bad = RecordOptions {
            filters: vec!["a/#/b".into()],
            ..RecordOptions::default()
        };
        assert!(matches!(
            Recorder::create(&dir.path().join("x"), bad),
            Err(RecordError::InvalidFilter { .. })
        ));
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_growing() {
        struct Stuck(Arc<AtomicBool>);
        impl Write for Stuck {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                while !self.0.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        impl Store for Stuck {
            fn keep(&mut self, _: u64) -> std::io::Result<()> {
                Ok(())
            }
        }
        let release = Arc::new(AtomicBool::new(false));
        let options = RecordOptions {
            queue_bytes: 64 * 1024,
            flush_every: Duration::from_millis(1),
            ..RecordOptions::default()
        };
        let recorder = Recorder::to_store(Stuck(release.clone()), "stuck".into(), options);
        for n in 0..2000 {
            recorder.offer(Message::new(format!("t/{n}"), vec![7u8; 1000]));
        }
        assert!(recorder.status().dropped > 1000, "{:?}", recorder.status());
        release.store(true, Ordering::Relaxed);
        let status = recorder.stop();
        assert_eq!(status.messages + status.dropped, 2000);
    }
}
