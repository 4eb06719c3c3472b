use super::*;
use std::sync::atomic::AtomicBool;
use workbench_traffic::tree::Incoming;

/// A sink that keeps what it gets, and can be closed.
#[derive(Default)]
struct Collect {
    frames: Mutex<Vec<Frame>>,
    closed: AtomicBool,
}

impl FrameSink for Collect {
    fn send(&self, frame: Frame) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        self.frames
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(frame);
        true
    }
}

impl Collect {
    fn taken(&self) -> Vec<Frame> {
        std::mem::take(&mut *self.frames.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn publish(hub: &TrafficHub, source: &SourceId, topic: &str, time_ms: u64) {
    hub.with_source(source, |model| {
        model.tree.record(&Incoming {
            topic,
            payload: b"x",
            qos: 0,
            retain: false,
            time_ms,
        });
    });
}

#[tokio::test]
async fn broker_events_become_traffic_and_notices() {
    let hub = TrafficHub::new(SourceLimits::default());
    let (tx, rx) = mpsc::channel(8);
    let task = tokio::spawn(hub.clone().ingest_broker(rx));
    let remote: std::net::SocketAddr = "127.0.0.1:5000".parse().expect("address");
    tx.send(BrokerEvent::Refused {
        client_id: "dev".into(),
        remote,
        reason: "wrong username or password for user 'dev'".into(),
    })
    .await
    .expect("send");
    let mut summary = workbench_wire::PacketSummary::new(workbench_wire::PacketKind::Publish, 9);
    summary.topic = Some("a/b".into());
    summary.payload_len = 2;
    summary.payload = Some(bytes::Bytes::from_static(b"hi"));
    tx.send(BrokerEvent::Packets(workbench_broker::PacketBatch::new(
        vec![workbench_wire::PacketEvent {
            connection: 1,
            client_id: Arc::from("dev"),
            remote: Some(remote),
            direction: workbench_wire::Direction::Inbound,
            summary,
            time: std::time::SystemTime::now(),
        }],
    )))
    .await
    .expect("send");
    drop(tx);
    task.await.expect("ingest");
    let sink = Arc::new(Collect::default());
    hub.open_viewer(SourceId::Broker, sink.clone());
    hub.send_due_frames(crate::now_ms(), 0);
    let frames = sink.taken();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].messages, 1);
    let topics: Vec<&str> = frames[0].rows.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["a", "a/b"],
        "a small tree shows its new branches open"
    );
    hub.read_source(&SourceId::Broker, |model| {
        let notices: Vec<_> = model.notices().collect();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, NoticeKind::Refused);
        assert!(notices[0].detail.contains("wrong username"));
    });
}

#[test]
fn viewers_of_one_source_keep_their_own_view() {
    let hub = TrafficHub::new(SourceLimits::default());
    let source = SourceId::Broker;
    for topic in ["home/kitchen/temp", "home/hall/temp", "plant/line1/speed"] {
        publish(&hub, &source, topic, 1_000);
    }
    let (one, two) = (Arc::new(Collect::default()), Arc::new(Collect::default()));
    let first = hub.open_viewer(source.clone(), one.clone());
    let second = hub.open_viewer(source.clone(), two.clone());
    assert_ne!(first, second);
    let filter = TreeFilter::parse("plant/#").expect("filter");
    assert!(hub.set_view(second, 0, 100, filter));
    let home = hub.read_source(&source, |m| m.tree.find("home").expect("home"));
    // Closed first: a tree this small opens every branch by itself.
    assert!(hub.expand_all(first, false));
    assert!(hub.set_expanded(first, home, true));
    hub.send_due_frames(10_000_000, 0);
    let names = |frames: Vec<Frame>| -> Vec<String> {
        frames
            .last()
            .map(|f| f.rows.iter().map(|r| r.topic.clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        names(one.taken()),
        vec!["home", "home/hall", "home/kitchen", "plant"]
    );
    assert_eq!(
        names(two.taken()),
        vec!["plant", "plant/line1", "plant/line1/speed"],
        "the filter's matches with their levels above"
    );
    // Collapsing in the first viewer changes nothing for the second.
    hub.set_expanded(first, home, false);
    hub.send_due_frames(10_000_000, 0);
    assert_eq!(names(one.taken()), vec!["home", "plant"]);
    assert!(two.taken().is_empty(), "the other viewer got no frame");
}

#[test]
fn an_idle_source_sends_nothing_and_an_active_one_refreshes_once_a_second() {
    let hub = TrafficHub::new(SourceLimits::default());
    let source = SourceId::Session("s".into());
    let sink = Arc::new(Collect::default());
    hub.open_viewer(source.clone(), sink.clone());
    let start = 100_000_000;
    // The first frame, then nothing while nothing changes: no wake-up is asked for either.
    assert_eq!(hub.send_due_frames(start, 0), None);
    assert_eq!(sink.taken().len(), 1);
    assert_eq!(hub.send_due_frames(start + 5_000, 0), None);
    assert!(sink.taken().is_empty());
    let ingest = |kind: workbench_wire::PacketKind, at: u64| {
        let mut summary = workbench_wire::PacketSummary::new(kind, 2);
        if kind == workbench_wire::PacketKind::Publish {
            summary.topic = Some("t".into());
        }
        hub.with_source(&source, |model| {
            model.ingest(workbench_wire::PacketEvent {
                connection: 1,
                client_id: Arc::from("c"),
                remote: None,
                direction: workbench_wire::Direction::Outbound,
                summary,
                time: std::time::UNIX_EPOCH + Duration::from_millis(at),
            })
        });
    };
    // A keep-alive ping changes the packet log (one frame) but moves no rate: no refresh follows.
    ingest(workbench_wire::PacketKind::PingReq, start + 5_500);
    assert_eq!(hub.send_due_frames(start + 5_500, 0), None);
    assert_eq!(sink.taken().len(), 1, "the packet log changed");
    // A message makes the source active: a frame now, then one a second although nothing
    // else arrives, until a minute has passed.
    ingest(workbench_wire::PacketKind::Publish, start + 6_000);
    let now = start + 6_000;
    assert_eq!(hub.send_due_frames(now, 0), Some(now + 1_000));
    assert_eq!(sink.taken().len(), 1);
    assert_eq!(
        hub.send_due_frames(now + 500, 0),
        Some(now + 1_000),
        "not yet"
    );
    assert!(sink.taken().is_empty());
    assert_eq!(hub.send_due_frames(now + 1_000, 0), Some(now + 2_000));
    assert_eq!(sink.taken().len(), 1, "the rates moved");
    let quiet = now + ACTIVE_MS;
    assert_eq!(
        hub.send_due_frames(quiet, 0),
        None,
        "a minute later: idle again"
    );
    assert_eq!(
        sink.taken().len(),
        1,
        "one last frame shows the rates at zero"
    );
    assert_eq!(hub.send_due_frames(quiet + 10_000, 0), None);
    assert!(sink.taken().is_empty());
}

#[test]
fn a_viewer_whose_sink_is_gone_is_forgotten() {
    let hub = TrafficHub::new(SourceLimits::default());
    let sink = Arc::new(Collect::default());
    let viewer = hub.open_viewer(SourceId::Broker, sink.clone());
    sink.closed.store(true, Ordering::Relaxed);
    hub.send_due_frames(1_000, 0);
    assert_eq!(hub.viewers(), 0);
    assert!(!hub.set_expanded(viewer, 1, true));
}

#[tokio::test]
async fn the_pump_pushes_changes_and_then_sleeps() {
    let hub = TrafficHub::new(SourceLimits::default());
    let sink = Arc::new(Collect::default());
    hub.open_viewer(SourceId::Broker, sink.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let pump = tokio::spawn(hub.clone().pump_frames(|| 0, async {
        let _ = stop_rx.await;
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sink.frames.lock().map(|f| f.is_empty()).unwrap_or(true) {
        assert!(std::time::Instant::now() < deadline, "a first frame");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sink.taken();
    publish(&hub, &SourceId::Broker, "a", 1);
    while sink.frames.lock().map(|f| f.is_empty()).unwrap_or(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "a frame after a change"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop_tx.send(());
    pump.await.expect("the pump stops");
}

#[test]
fn a_selected_topic_gets_its_rate_per_viewer() {
    let hub = TrafficHub::new(SourceLimits::default());
    let source = SourceId::Broker;
    publish(&hub, &source, "a/b", 9_500);
    let viewer = hub.open_viewer(source.clone(), Arc::new(Collect::default()));
    let node = hub.read_source(&source, |m| m.tree.find("a").expect("a"));
    let series = hub.topic_series(viewer, node, 2, 10_400).expect("a viewer");
    assert_eq!(series, vec![Some(0.0), Some(1.0)]);
    assert!(
        hub.topic_series(999, node, 2, 10_400).is_none(),
        "no such viewer"
    );
}
