//! The watcher without a RabbitMQ: scripted readings on tokio's paused clock (so "every 2 s" and
//! "nothing after the last watcher left" are exact, never a race), and the real management client
//! against a port where nothing listens.

use super::*;
use std::sync::atomic::AtomicUsize;
use tokio::sync::mpsc;

fn queue(name: &str, messages: u64) -> QueueStats {
    QueueStats {
        name: name.into(),
        vhost: "/".into(),
        messages,
        messages_ready: messages,
        messages_unacknowledged: 0,
        consumers: 0,
        publish_rate: 0.0,
        deliver_rate: 0.0,
        durable: false,
        auto_delete: false,
        exclusive: false,
        state: Some("running".into()),
        kind: Some("classic".into()),
    }
}

type Reading = Result<Vec<QueueStats>, AmqpError>;

/// A reader that plays `script` (then repeats its last reading) and counts its calls.
fn scripted(script: Vec<Reading>) -> (Arc<AtomicUsize>, impl Fn() -> std::future::Ready<Reading>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let reader = move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let mut script = lock(&script);
        let next = if script.len() > 1 {
            script.pop_front()
        } else {
            script.front().cloned()
        };
        std::future::ready(next.unwrap_or_else(|| Ok(Vec::new())))
    };
    (calls, reader)
}

/// A watcher whose readings arrive on a channel.
fn sink() -> (
    Arc<dyn SnapshotSink>,
    mpsc::UnboundedReceiver<QueueSnapshot>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = move |s: &QueueSnapshot| tx.send(s.clone()).is_ok();
    (Arc::new(sink), rx)
}

fn depths(snapshot: &QueueSnapshot) -> Vec<(&str, u64)> {
    snapshot
        .queues
        .iter()
        .map(|q| (q.name.as_str(), q.messages))
        .collect()
}

#[test]
fn the_history_is_bounded_and_forgets_queues_that_went() {
    let mut history = DepthHistory::default();
    for i in 0..(HISTORY_POINTS as u64 + 50) {
        history.record(i * 2000, &[queue("a", i), queue("b", 1)]);
    }
    let a = history.points("a").unwrap();
    assert_eq!(a.len(), HISTORY_POINTS);
    assert_eq!(a[0], (50 * 2000, 50.0), "the oldest points went first");
    assert_eq!(a.last().unwrap().1, (HISTORY_POINTS + 49) as f64);
    history.record(1_000_000, &[queue("b", 2)]);
    assert_eq!(
        history.points("a"),
        None,
        "a queue no longer listed drops out"
    );
    assert_eq!(history.len(), 1);
    let many: Vec<QueueStats> = (0..MAX_QUEUES + 10)
        .map(|i| queue(&format!("q{i}"), 0))
        .collect();
    history.record(2_000_000, &many);
    assert_eq!(history.len(), MAX_QUEUES, "at most a page of queues");
}

#[tokio::test(start_paused = true)]
async fn polls_every_period_only_while_watched_and_shares_one_poll() {
    let watches = QueueWatches::default();
    let (calls, reader) = scripted(vec![Ok(vec![queue("hello", 1)])]);
    let (first, mut rx1) = sink();
    let start = tokio::time::Instant::now();
    let w1 = watches.watch_with("amqp-1", "main", "/".into(), first, reader);
    let s = rx1.recv().await.unwrap();
    assert_eq!(depths(&s), vec![("hello", 1)]);
    assert_eq!(start.elapsed(), Duration::ZERO, "the first reading at once");
    rx1.recv().await.unwrap();
    assert_eq!(start.elapsed(), POLL_PERIOD, "the next one a period later");

    // A second watcher gets the last reading at once, and shares the polling.
    let (second, mut rx2) = sink();
    let (_, unused) = scripted(vec![]);
    let w2 = watches.watch_with("amqp-1", "view-1", "/".into(), second, unused);
    assert_eq!(depths(&rx2.try_recv().unwrap()), vec![("hello", 1)]);
    assert_eq!(watches.watchers("amqp-1"), 2);
    let before = calls.load(Ordering::SeqCst);
    // Half a period past the fifth reading: never a tie between a reading and this wake-up.
    tokio::time::sleep(POLL_PERIOD * 5 + POLL_PERIOD / 2).await;
    let polled = calls.load(Ordering::SeqCst) - before;
    assert_eq!(polled, 5, "one reading per period for both watchers");
    assert_eq!(rx2.len(), 5);

    assert!(watches.unwatch("amqp-1", w1));
    assert!(!watches.unwatch("amqp-1", w1), "already gone");
    tokio::time::sleep(POLL_PERIOD).await;
    assert!(
        calls.load(Ordering::SeqCst) > before + 5,
        "still watched by one"
    );
    assert!(watches.history("amqp-1", "hello").is_some());

    assert!(watches.unwatch("amqp-1", w2));
    assert_eq!(watches.watchers("amqp-1"), 0);
    let stopped = calls.load(Ordering::SeqCst);
    tokio::time::sleep(POLL_PERIOD * 30).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        stopped,
        "nothing polled unwatched"
    );
    assert_eq!(
        watches.history("amqp-1", "hello"),
        None,
        "the history went with it"
    );
}

#[tokio::test(start_paused = true)]
async fn failures_are_told_in_words_and_polling_goes_on() {
    let watches = QueueWatches::default();
    let refused = AmqpError::AccessRefused {
        user: "guest".into(),
        said: "the management API answered 401 Unauthorized".into(),
    };
    let (_, reader) = scripted(vec![
        Err(refused),
        Ok(vec![queue("a", 3), queue("b", 0)]),
        Err(AmqpError::VhostNotFound {
            vhost: "/".into(),
            user: "guest".into(),
        }),
        Ok(vec![queue("b", 7)]),
    ]);
    let (watcher, mut rx) = sink();
    watches.watch_with("amqp-1", "main", "/".into(), watcher, reader);

    let s = rx.recv().await.unwrap();
    let failure = s.failure.clone().unwrap();
    assert_eq!(failure.code, "AccessRefused");
    assert!(failure.message.contains("401"), "{failure:?}");
    assert_eq!((s.queues.len(), s.read_ms), (0, None));

    let s = rx.recv().await.unwrap();
    assert_eq!(s.failure, None, "recovered by itself");
    assert_eq!(depths(&s), vec![("a", 3), ("b", 0)]);
    let read = s.read_ms;

    let s = rx.recv().await.unwrap();
    assert_eq!(s.failure.as_ref().unwrap().code, "VhostNotFound");
    assert_eq!(
        depths(&s),
        vec![("a", 3), ("b", 0)],
        "the last good list stays"
    );
    assert_eq!(s.read_ms, read);

    let s = rx.recv().await.unwrap();
    assert_eq!(depths(&s), vec![("b", 7)], "a deleted queue drops out");
    assert_eq!(watches.history("amqp-1", "a"), None);
    let b: Vec<f64> = watches
        .history("amqp-1", "b")
        .unwrap()
        .iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(b, vec![0.0, 7.0], "failed readings add no points");
}

#[tokio::test(start_paused = true)]
async fn closed_channels_and_closed_windows_leave_nothing_polling() {
    let watches = QueueWatches::default();
    let (calls, reader) = scripted(vec![Ok(vec![queue("q", 1)])]);
    let (watcher, rx) = sink();
    watches.watch_with("amqp-1", "main", "/".into(), watcher, reader);
    drop(rx); // the page went without a word
    tokio::time::sleep(POLL_PERIOD * 10).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "stopped after the first send failed"
    );
    assert_eq!(watches.watchers("amqp-1"), 0);

    // A new watcher starts afresh.
    let (calls, reader) = scripted(vec![Ok(vec![queue("q", 2)])]);
    let (a, mut rx_a) = sink();
    let (b, _rx_b) = sink();
    let (c, _rx_c) = sink();
    watches.watch_with("amqp-1", "view-1", "/".into(), a, reader);
    assert_eq!(depths(&rx_a.recv().await.unwrap()), vec![("q", 2)]);
    let (_, other) = scripted(vec![Ok(vec![])]);
    watches.watch_with("amqp-1", "view-1", "/".into(), b, || {
        std::future::ready(Ok(vec![]))
    });
    watches.watch_with("amqp-2", "main", "/".into(), c, other);
    assert_eq!(watches.owner_gone("view-1"), 2);
    assert_eq!(
        (watches.watchers("amqp-1"), watches.watchers("amqp-2")),
        (0, 1)
    );
    let stopped = calls.load(Ordering::SeqCst);
    tokio::time::sleep(POLL_PERIOD * 10).await;
    assert_eq!(calls.load(Ordering::SeqCst), stopped);
}

#[tokio::test(start_paused = true)]
async fn a_watcher_reading_elsewhere_restarts_the_readings_for_everyone() {
    let watches = QueueWatches::default();
    let (old_calls, old) = scripted(vec![Ok(vec![queue("old", 1)])]);
    let (first, mut rx1) = sink();
    watches.watch_with("amqp-1", "main", "/".into(), first, old);
    assert_eq!(depths(&rx1.recv().await.unwrap()), vec![("old", 1)]);
    // The profile now names another vhost: its readings replace the old ones for both watchers.
    let (_, new) = scripted(vec![Ok(vec![queue("new", 2)])]);
    let (second, mut rx2) = sink();
    watches.watch_with("amqp-1", "view-1", "prod".into(), second, new);
    let s = rx2.recv().await.unwrap();
    assert_eq!((s.vhost.as_str(), depths(&s)), ("prod", vec![("new", 2)]));
    assert_eq!(depths(&rx1.recv().await.unwrap()), vec![("new", 2)]);
    assert_eq!(watches.watchers("amqp-1"), 2);
    assert_eq!(watches.history("amqp-1", "old"), None);
    let stopped = old_calls.load(Ordering::SeqCst);
    tokio::time::sleep(POLL_PERIOD * 10).await;
    assert_eq!(
        old_calls.load(Ordering::SeqCst),
        stopped,
        "the old readings stopped"
    );
}

#[tokio::test(start_paused = true)]
async fn the_depth_chart_draws_the_history_with_the_name_as_text() {
    let watches = QueueWatches::default();
    let (_, reader) = scripted(vec![
        Ok(vec![queue("<b>jobs</b>", 1)]),
        Ok(vec![queue("<b>jobs</b>", 4)]),
    ]);
    let (watcher, mut rx) = sink();
    watches.watch_with("amqp-1", "main", "/".into(), watcher, reader);
    rx.recv().await.unwrap();
    rx.recv().await.unwrap();
    let style = DepthChartStyle {
        label: "messages",
        width: 400,
        height: 160,
        dark: true,
        utc_offset_minutes: 0,
    };
    let svg = watches
        .depth_chart("amqp-1", "<b>jobs</b>", &style)
        .unwrap()
        .unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(!svg.contains("<b>"), "a queue's name is never markup");
    assert!(svg.contains("&lt;b&gt;jobs"));
    assert_eq!(svg.matches("<circle").count(), 2, "one mark per reading");
    assert!(watches.depth_chart("amqp-1", "other", &style).is_none());
    assert!(watches
        .depth_chart("amqp-9", "<b>jobs</b>", &style)
        .is_none());
}

#[tokio::test]
async fn no_management_plugin_is_told_in_words() {
    // A port where nothing listens: what a broker without the management plugin looks like.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let target = crate::AmqpTarget::parse("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
    let api = ManagementApi::for_target(&target, port);
    let watches = QueueWatches::default();
    let (watcher, mut rx) = sink();
    watches.watch("amqp-1", "main", api, "/".into(), watcher);
    let failure = rx.recv().await.unwrap().failure.unwrap();
    assert_eq!(failure.code, "Unreachable");
    assert!(
        failure
            .message
            .contains("rabbitmq-plugins enable rabbitmq_management"),
        "{failure:?}"
    );
}
