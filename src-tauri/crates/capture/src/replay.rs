//! A recording (or any file [`crate::formats`] reads) played back to a [`Sink`]: with its
//! original timing or a speed factor (0.1x to 100x) or as fast as possible, looped, only the
//! topics matching filters, with a topic prefix rewritten, within a time range; paused, stepped
//! one message at a time and re-timed while it runs; its progress (messages, position, time
//! left) published on a watch channel.
//!
//! The file is read on a thread of its own into a small bounded channel, so a file of gigabytes
//! replays with flat memory. Broken entries are counted with their line numbers and skipped,
//! never fatal. Timing is kept against a base instant, never by summing sleeps, so it does not
//! drift over a long file; pausing and changing the speed re-base it.

use crate::formats::{self, Entry, Format, ImportOptions};
use crate::lines::Problems;
use crate::message::Message;
use serde::Serialize;
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Slowest and fastest speed factors (0 means as fast as possible).
pub const MIN_SPEED: f64 = 0.1;
pub const MAX_SPEED: f64 = 100.0;
/// How long a paused replay lets the sink serve its connection before looking again.
const IDLE_TICK: Duration = Duration::from_secs(5);
/// How often progress is published at most while messages flow.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Where replayed messages go (a broker connection, a session).
pub trait Sink: Send {
    /// Sends one message. `buffer`: it may be held briefly to be written with the next ones
    /// (as fast as possible); otherwise it goes out now.
    fn send(
        &mut self,
        message: &Message,
        buffer: bool,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// Called while nothing is to be sent until `until`: keep the connection served (answer
    /// the broker, keep it alive). Must be cancel-safe: a control may end the wait early.
    fn serve(&mut self, until: Instant) -> impl Future<Output = Result<(), String>> + Send;
    /// Called once at the end: write what is held, wait for acknowledgements.
    fn finish(self) -> impl Future<Output = Result<(), String>> + Send;
}

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Speed factor from [`MIN_SPEED`] to [`MAX_SPEED`]; 0: as fast as possible.
    pub speed: f64,
    /// Start again at the end (until stopped).
    pub looped: bool,
    /// Only topics matching one of these filters; empty: all.
    pub filters: Vec<String>,
    /// Topics starting with `.0` start with `.1` instead.
    pub rewrite: Option<(String, String)>,
    /// Only messages at or after this many ms from the file's first message.
    pub from_ms: Option<u64>,
    /// Only messages at or before this many ms from the file's first message.
    pub to_ms: Option<u64>,
    /// Start paused (stepping from the first message).
    pub start_paused: bool,
    /// The file's format; recognised from its content when `None`.
    pub format: Option<Format>,
    pub import: ImportOptions,
}

impl Default for ReplayOptions {
    fn default() -> ReplayOptions {
        ReplayOptions {
            speed: 1.0,
            looped: false,
            filters: Vec::new(),
            rewrite: None,
            from_ms: None,
            to_ms: None,
            start_paused: false,
            format: None,
            import: ImportOptions::default(),
        }
    }
}

impl ReplayOptions {
    /// What is wrong with the options, in words.
    pub fn check(&self) -> Result<(), String> {
        check_speed(self.speed)?;
        for filter in &self.filters {
            workbench_wire::topic::validate_filter(filter)
                .map_err(|e| format!("the topic filter '{filter}' is not valid: {e}"))?;
        }
        if let Some((from, to)) = &self.rewrite {
            if from.contains(['+', '#']) || to.contains(['+', '#']) {
                return Err("a topic prefix cannot hold the wildcards + or #".into());
            }
        }
        if let (Some(from), Some(to)) = (self.from_ms, self.to_ms) {
            if from > to {
                return Err("the time range ends before it starts".into());
            }
        }
        Ok(())
    }
}

fn check_speed(speed: f64) -> Result<(), String> {
    if speed == 0.0 || (MIN_SPEED..=MAX_SPEED).contains(&speed) {
        Ok(())
    } else {
        Err(format!(
            "the speed must be from {MIN_SPEED}x to {MAX_SPEED}x (or 0: as fast as possible), not {speed}"
        ))
    }
}

/// What a running replay is told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    Play,
    Pause,
    /// While paused: send the next message, stay paused.
    Step,
    Speed(f64),
    Stop,
}

/// Where a replay is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ReplayState {
    #[default]
    Playing,
    Paused,
    /// Played to the end.
    Finished,
    /// Stopped by request.
    Stopped,
    /// The sink failed (the broker went away...): see `error`.
    Failed,
}

/// A replay's progress, as front ends show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReplayProgress {
    pub state: ReplayState,
    pub speed: f64,
    #[specta(type = u32)]
    pub sent: u64,
    /// Messages left out by the filters or the time range.
    #[specta(type = u32)]
    pub skipped: u64,
    /// Entries of the file that could not be read, with their line numbers.
    pub problems: Problems,
    /// Bytes of the file read, and its size.
    #[specta(type = u32)]
    pub position: u64,
    #[specta(type = u32)]
    pub size: u64,
    /// Time of the last message sent, from the file's first message (ms).
    #[specta(type = u32)]
    pub offset_ms: u64,
    /// The file's span from first to last message, when known (recordings).
    #[specta(type = Option<u32>)]
    pub duration_ms: Option<u64>,
    /// Estimated time left at the current speed (none while looping).
    #[specta(type = Option<u32>)]
    pub time_left_ms: Option<u64>,
    /// Passes completed (looping).
    pub loops: u32,
    pub error: Option<String>,
}

/// A running replay.
pub struct ReplayHandle {
    controls: mpsc::Sender<Control>,
    pub progress: watch::Receiver<ReplayProgress>,
    task: tokio::task::JoinHandle<ReplayProgress>,
}

impl ReplayHandle {
    /// Tells the replay something; false when it has ended.
    pub async fn control(&self, control: Control) -> bool {
        if let Control::Speed(speed) = control {
            if check_speed(speed).is_err() {
                return false;
            }
        }
        self.controls.send(control).await.is_ok()
    }

    /// A sender for controls (for another task: a terminal's keys, the UI).
    pub fn controls(&self) -> mpsc::Sender<Control> {
        self.controls.clone()
    }

    /// Waits for the end and returns the final progress.
    pub async fn wait(self) -> ReplayProgress {
        let last = self.progress.borrow().clone();
        self.task.await.unwrap_or(last)
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Starts replaying `path` to `sink`. The file is opened (and its format recognised) before
/// this returns, so a missing or unknown file is an error here, not a failed replay.
pub fn start<S: Sink + 'static>(
    path: &Path,
    options: ReplayOptions,
    sink: S,
) -> Result<ReplayHandle, String> {
    options.check()?;
    let (format, _, size) =
        formats::open_file(path, options.format, &options.import).map_err(|e| e.to_string())?;
    let duration_ms = match format {
        Format::Recording => crate::jsonl::span(path),
        _ => None,
    };
    let (entries_tx, entries_rx) = mpsc::channel(256);
    let reader_path = path.to_path_buf();
    let reader_options = options.import.clone();
    let looped = options.looped;
    let (more_tx, more_rx) = std::sync::mpsc::channel::<bool>();
    std::thread::Builder::new()
        .name("replay-reader".into())
        .spawn(move || {
            read_passes(
                &reader_path,
                format,
                &reader_options,
                looped,
                entries_tx,
                more_rx,
            )
        })
        .map_err(|e| format!("the replay's reader thread could not start: {e}"))?;
    let (controls, controls_rx) = mpsc::channel(16);
    let progress = ReplayProgress {
        state: if options.start_paused {
            ReplayState::Paused
        } else {
            ReplayState::Playing
        },
        speed: options.speed,
        size,
        duration_ms,
        ..ReplayProgress::default()
    };
    let (progress_tx, progress_rx) = watch::channel(progress.clone());
    let player = Player {
        options,
        entries: entries_rx,
        more: more_tx,
        controls: controls_rx,
        progress_tx,
        progress,
        paused: false,
        step: false,
        base: None,
        first_ms: None,
        last_ms: None,
        started: Instant::now(),
        published: Instant::now(),
        ended: false,
        controls_open: true,
    };
    let task = tokio::spawn(player.run(sink));
    Ok(ReplayHandle {
        controls,
        progress: progress_rx,
        task,
    })
}

/// What the reader thread hands over.
#[allow(clippy::large_enum_variant)] // as `Entry`: moved one at a time
enum Item {
    Entry(Entry, u64),
    /// The end of one pass through the file.
    PassEnd,
    Failed(String),
}

/// Reads the file, pass after pass while `looped` and the player asks for more.
fn read_passes(
    path: &Path,
    format: Format,
    options: &ImportOptions,
    looped: bool,
    out: mpsc::Sender<Item>,
    more: std::sync::mpsc::Receiver<bool>,
) {
    loop {
        let mut entries = match formats::open_file(path, Some(format), options) {
            Ok((_, entries, _)) => entries,
            Err(e) => {
                let _ = out.blocking_send(Item::Failed(e.to_string()));
                return;
            }
        };
        while let Some(entry) = entries.next() {
            if out
                .blocking_send(Item::Entry(entry, formats::Importer::position(&*entries)))
                .is_err()
            {
                return;
            }
        }
        if out.blocking_send(Item::PassEnd).is_err() || !looped {
            return;
        }
        // The player says whether another pass is wanted (not after a pass that sent nothing).
        match more.recv() {
            Ok(true) => {}
            _ => return,
        }
    }
}

enum Flow {
    Send,
    Stop,
}

struct Player {
    options: ReplayOptions,
    entries: mpsc::Receiver<Item>,
    more: std::sync::mpsc::Sender<bool>,
    controls: mpsc::Receiver<Control>,
    progress_tx: watch::Sender<ReplayProgress>,
    progress: ReplayProgress,
    paused: bool,
    step: bool,
    /// The instant a message time maps onto: (when, message time in ms).
    base: Option<(Instant, u64)>,
    /// Time of the file's first message.
    first_ms: Option<u64>,
    /// Time of the last message sent.
    last_ms: Option<u64>,
    started: Instant,
    published: Instant,
    /// The final state is set: progress no longer derives it.
    ended: bool,
    controls_open: bool,
}

impl Player {
    async fn run<S: Sink>(mut self, mut sink: S) -> ReplayProgress {
        self.paused = self.options.start_paused;
        let mut sent_this_pass = 0u64;
        let result = loop {
            if self.apply_pending() {
                break Ok(ReplayState::Stopped);
            }
            let item = tokio::select! {
                item = self.entries.recv() => item,
                control = self.controls.recv(), if self.controls_open => {
                    if self.apply(control) { break Ok(ReplayState::Stopped); }
                    continue;
                }
            };
            let message = match item {
                None => break Ok(ReplayState::Finished),
                Some(Item::Failed(e)) => break Err(e),
                Some(Item::PassEnd) => {
                    self.progress.loops += 1;
                    let again = self.options.looped && sent_this_pass > 0;
                    let _ = self.more.send(again);
                    if !again {
                        break Ok(ReplayState::Finished);
                    }
                    sent_this_pass = 0;
                    self.base = None;
                    self.last_ms = None;
                    continue;
                }
                Some(Item::Entry(Entry::Problem(problem), position)) => {
                    self.progress.position = position;
                    if self.progress.loops == 0 {
                        self.progress.problems.add(problem.line, problem.reason);
                    }
                    continue;
                }
                Some(Item::Entry(Entry::Message(message), position)) => {
                    self.progress.position = position;
                    message
                }
            };
            // A message without a time (mqttui's retained ones) goes at once, where it stands.
            let time = message.time_ms;
            let offset = match time {
                Some(time) => time.saturating_sub(*self.first_ms.get_or_insert(time)),
                None => self.progress.offset_ms,
            };
            if self.options.to_ms.is_some_and(|to| offset > to) {
                // Past the range: the rest of this pass is skipped.
                self.progress.skipped += 1;
                continue;
            }
            if !self.wanted(&message, offset) {
                self.progress.skipped += 1;
                continue;
            }
            let message = self.rewritten(message);
            match self.wait_turn(&mut sink, time).await {
                Ok(Flow::Send) => {}
                Ok(Flow::Stop) => break Ok(ReplayState::Stopped),
                Err(e) => break Err(e),
            }
            if let Err(e) = sink.send(&message, self.options.speed == 0.0).await {
                break Err(e);
            }
            sent_this_pass += 1;
            if time.is_some() {
                self.last_ms = time;
            }
            self.progress.sent += 1;
            self.progress.offset_ms = offset;
            self.publish(false);
        };
        let _ = self.more.send(false);
        let finished = sink.finish().await;
        match (result, finished) {
            (Ok(state), Ok(())) => self.progress.state = state,
            (Err(e), _) | (Ok(_), Err(e)) => {
                self.progress.state = ReplayState::Failed;
                self.progress.error = Some(e);
            }
        }
        self.progress.time_left_ms = None;
        self.ended = true;
        self.publish(true);
        self.progress
    }

    fn wanted(&self, message: &Message, offset: u64) -> bool {
        if self.options.from_ms.is_some_and(|from| offset < from) {
            return false;
        }
        self.options.filters.is_empty()
            || self
                .options
                .filters
                .iter()
                .any(|f| workbench_wire::topic::matches(f, &message.topic))
    }

    fn rewritten(&self, mut message: Message) -> Message {
        if let Some((from, to)) = &self.options.rewrite {
            if let Some(rest) = message.topic.strip_prefix(from.as_str()) {
                let topic = format!("{to}{rest}");
                if !topic.is_empty() && workbench_wire::topic::validate_name(&topic).is_ok() {
                    message.topic = topic;
                }
            }
        }
        message
    }

    /// Applies controls already waiting; true on Stop.
    fn apply_pending(&mut self) -> bool {
        while let Ok(control) = self.controls.try_recv() {
            if self.apply(Some(control)) {
                return true;
            }
        }
        false
    }

    /// Applies one control; true on Stop (or when every sender is gone and it is paused:
    /// nobody could ever resume it).
    fn apply(&mut self, control: Option<Control>) -> bool {
        let now = Instant::now();
        match control {
            None => {
                // Every sender is gone: nobody can resume a pause, and no control will come.
                self.controls_open = false;
                return self.paused;
            }
            Some(Control::Stop) => return true,
            Some(Control::Pause) => self.paused = true,
            Some(Control::Play) => {
                self.paused = false;
                self.step = false;
                self.base = self.last_ms.map(|t| (now, t));
            }
            Some(Control::Step) => self.step = self.paused,
            Some(Control::Speed(speed)) => {
                if check_speed(speed).is_ok() {
                    self.options.speed = speed;
                    self.progress.speed = speed;
                    self.base = self.last_ms.map(|t| (now, t));
                }
            }
        }
        self.publish(true);
        false
    }

    /// Waits until `time` is due at the current speed, or a step is asked for while paused.
    async fn wait_turn<S: Sink>(
        &mut self,
        sink: &mut S,
        time: Option<u64>,
    ) -> Result<Flow, String> {
        loop {
            if self.apply_pending() {
                return Ok(Flow::Stop);
            }
            if self.paused {
                if self.step {
                    self.step = false;
                    self.base = None;
                    return Ok(Flow::Send);
                }
                self.publish(true);
                tokio::select! {
                    control = self.controls.recv(), if self.controls_open => {
                        if self.apply(control) { return Ok(Flow::Stop); }
                    }
                    served = sink.serve(Instant::now() + IDLE_TICK) => served?,
                }
                continue;
            }
            let speed = self.options.speed;
            let Some(time) = time.filter(|_| speed > 0.0) else {
                return Ok(Flow::Send);
            };
            let now = Instant::now();
            let (at, base_ms) = *self.base.get_or_insert((now, time));
            let ahead = time.saturating_sub(base_ms) as f64 / speed / 1000.0;
            let due = at + Duration::from_secs_f64(ahead);
            if now >= due {
                return Ok(Flow::Send);
            }
            tokio::select! {
                control = self.controls.recv(), if self.controls_open => {
                    if self.apply(control) { return Ok(Flow::Stop); }
                }
                served = sink.serve(due) => served?,
            }
        }
    }

    /// Publishes progress (at most every [`PROGRESS_EVERY`] unless `now`).
    fn publish(&mut self, now: bool) {
        if !now && self.published.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.published = Instant::now();
        let progress = self.progress_now();
        let _ = self.progress_tx.send(progress);
    }

    fn progress_now(&mut self) -> ReplayProgress {
        if self.ended {
            return self.progress.clone();
        }
        let p = &mut self.progress;
        p.state = if self.paused {
            ReplayState::Paused
        } else {
            ReplayState::Playing
        };
        p.time_left_ms = if self.options.looped {
            None
        } else if let (Some(span), true) = (p.duration_ms, self.options.speed > 0.0) {
            let end = self.options.to_ms.map_or(span, |to| to.min(span));
            Some((end.saturating_sub(p.offset_ms) as f64 / self.options.speed) as u64)
        } else if p.position > 0 && p.size > p.position {
            let spent = self.started.elapsed().as_millis() as f64;
            Some((spent * (p.size - p.position) as f64 / p.position as f64) as u64)
        } else {
            None
        };
        p.clone()
    }
}

#[cfg(test)]
mod tests;
