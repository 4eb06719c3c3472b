//! The player against an in-memory sink: what is sent, in which order, never before its time,
//! and how pause, step, speed, loop, filters, rewrite and the time range change it.

use super::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Memory {
    sent: Arc<Mutex<Vec<(Instant, Message)>>>,
}

impl Sink for Memory {
    async fn send(&mut self, message: &Message, _buffer: bool) -> Result<(), String> {
        self.sent
            .lock()
            .unwrap()
            .push((Instant::now(), message.clone()));
        Ok(())
    }
    async fn serve(&mut self, until: Instant) -> Result<(), String> {
        tokio::time::sleep_until(until).await;
        Ok(())
    }
    async fn finish(self) -> Result<(), String> {
        Ok(())
    }
}

impl Memory {
    fn topics(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(_, m)| m.topic.clone())
            .collect()
    }
    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

/// A recording of `(offset ms, topic)` messages, plus a broken line after the second.
fn recording(dir: &Path, messages: &[(u64, &str)]) -> PathBuf {
    let path = dir.join("r.jsonl");
    let start = 1_764_583_200_000;
    let mut text = String::new();
    for (index, (offset, topic)) in messages.iter().enumerate() {
        let mut message = Message::new(*topic, vec![index as u8, 0xff]);
        message.time_ms = Some(start + offset);
        message.qos = (index % 3) as u8;
        text.push_str(&crate::jsonl::encode(&message, Some(start)));
        text.push('\n');
        if index == 1 {
            text.push_str("{\"topic\": broken\n");
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

async fn wait_for(handle: &ReplayHandle, f: impl Fn(&ReplayProgress) -> bool) {
    let mut progress = handle.progress.clone();
    tokio::time::timeout(Duration::from_secs(20), progress.wait_for(|p| f(p)))
        .await
        .expect("in time")
        .expect("the replay is there");
}

#[tokio::test]
async fn as_fast_as_possible_with_filters_rewrite_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(
        dir.path(),
        &[
            (0, "a/1"),
            (1000, "b/1"),
            (2000, "a/2"),
            (3000, "a/3"),
            (60_000, "a/4"),
        ],
    );
    let sink = Memory::default();
    let options = ReplayOptions {
        speed: 0.0,
        filters: vec!["a/#".into()],
        rewrite: Some(("a/".into(), "lab/a/".into())),
        from_ms: Some(500),
        to_ms: Some(3000),
        ..ReplayOptions::default()
    };
    let handle = start(&path, options, sink.clone()).unwrap();
    let done = handle.wait().await;
    assert_eq!(done.state, ReplayState::Finished, "{done:?}");
    assert_eq!(sink.topics(), vec!["lab/a/2", "lab/a/3"]);
    assert_eq!((done.sent, done.skipped), (2, 3));
    assert_eq!(done.problems.count, 1);
    assert_eq!(done.problems.first[0].line, 3, "the broken line's number");
    assert_eq!(done.duration_ms, Some(60_000));
    assert_eq!(done.position, done.size);
    // The bytes and flags are as recorded.
    let sent = sink.sent.lock().unwrap();
    assert_eq!(sent[0].1.payload.as_ref(), &[2u8, 0xff]);
    assert_eq!(sent[0].1.qos, 2);
}

#[tokio::test]
async fn messages_never_go_before_their_time_at_the_chosen_speed() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(dir.path(), &[(0, "t/0"), (500, "t/1"), (1500, "t/2")]);
    let sink = Memory::default();
    let options = ReplayOptions {
        speed: 5.0,
        ..ReplayOptions::default()
    };
    let handle = start(&path, options, sink.clone()).unwrap();
    let done = handle.wait().await;
    assert_eq!(done.sent, 3);
    let sent = sink.sent.lock().unwrap();
    let first = sent[0].0;
    // 500 ms and 1500 ms at 5x: 100 ms and 300 ms after the first (a lower bound only: a loaded
    // machine may be late, never early).
    assert!(sent[1].0 - first >= Duration::from_millis(99));
    assert!(sent[2].0 - first >= Duration::from_millis(299));
    assert!(sent[2].0 - first < Duration::from_secs(10), "not stuck");
}

#[tokio::test]
async fn paused_replays_send_nothing_until_stepped_or_played() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(
        dir.path(),
        &[
            (0, "t/0"),
            (10_000, "t/1"),
            (20_000, "t/2"),
            (30_000, "t/3"),
        ],
    );
    let sink = Memory::default();
    let options = ReplayOptions {
        start_paused: true,
        ..ReplayOptions::default()
    };
    let handle = start(&path, options, sink.clone()).unwrap();
    wait_for(&handle, |p| p.state == ReplayState::Paused).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.count(), 0, "paused from the start");
    // Each step sends the next message at once, however far ahead it is.
    assert!(handle.control(Control::Step).await);
    wait_for(&handle, |p| p.sent == 1).await;
    assert!(handle.control(Control::Step).await);
    wait_for(&handle, |p| p.sent == 2).await;
    assert_eq!(sink.topics(), vec!["t/0", "t/1"]);
    assert_eq!(handle.progress.borrow().state, ReplayState::Paused);
    assert_eq!(handle.progress.borrow().offset_ms, 10_000);
    // Faster, then play: the rest follows (10 s apart at 100x: 100 ms).
    assert!(handle.control(Control::Speed(100.0)).await);
    assert!(handle.control(Control::Play).await);
    let done = handle.wait().await;
    assert_eq!(done.state, ReplayState::Finished);
    assert_eq!(done.sent, 4);
    assert_eq!(done.speed, 100.0);
}

#[tokio::test]
async fn loops_until_stopped_and_stop_ends_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(dir.path(), &[(0, "t/0"), (100, "t/1")]);
    let sink = Memory::default();
    let options = ReplayOptions {
        speed: 0.0,
        looped: true,
        ..ReplayOptions::default()
    };
    let handle = start(&path, options, sink.clone()).unwrap();
    wait_for(&handle, |p| p.loops >= 3).await;
    assert!(handle.control(Control::Stop).await);
    let done = handle.wait().await;
    assert_eq!(done.state, ReplayState::Stopped);
    assert!(done.sent >= 6);
    assert_eq!(
        done.problems.count, 1,
        "problems counted on the first pass only"
    );
    assert_eq!(done.time_left_ms, None);
}

#[test]
fn bad_options_and_files_are_refused_before_starting() {
    let bad = |options: ReplayOptions| options.check().unwrap_err();
    assert!(bad(ReplayOptions {
        speed: 500.0,
        ..ReplayOptions::default()
    })
    .contains("0.1x to 100x"));
    assert!(bad(ReplayOptions {
        filters: vec!["a/#/b".into()],
        ..ReplayOptions::default()
    })
    .contains("a/#/b"));
    assert!(bad(ReplayOptions {
        from_ms: Some(5),
        to_ms: Some(1),
        ..ReplayOptions::default()
    })
    .contains("ends before it starts"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let missing = start(
        Path::new("/nonexistent/r.jsonl"),
        ReplayOptions::default(),
        Memory::default(),
    );
    assert!(missing
        .err()
        .unwrap()
        .contains("cannot read /nonexistent/r.jsonl"));
}
