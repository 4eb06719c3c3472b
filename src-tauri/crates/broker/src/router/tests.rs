use super::*;
use std::collections::VecDeque;
use tokio::sync::mpsc;

fn limits() -> RouterLimits {
    RouterLimits {
        queue: QueueLimits {
            max_messages: 1000,
            max_bytes: 1 << 24,
            max_total_bytes: 1 << 30,
            qos0_while_offline: false,
        },
        max_retained_messages: 1_000_000,
        max_retained_bytes: 1 << 30,
    }
}

fn connect(
    router: &Router,
    id: &str,
    clean: bool,
    expiry: Expiry,
    conn: u64,
) -> registry::Attached {
    let (tx, _rx) = mpsc::channel(4);
    match router.attach(
        &Arc::from(id),
        clean,
        expiry,
        conn,
        tx,
        false,
        Instant::now(),
    ) {
        Attach::Ready(attached) => attached,
        Attach::Wait(_) => panic!("no other connection"),
    }
}

fn drain(cell: &SessionCell, router: &Router) -> Vec<Delivery> {
    let mut out = VecDeque::new();
    cell.take(
        usize::MAX,
        usize::MAX,
        &router.limits().queue,
        &router.queued_bytes,
        &mut out,
    );
    out.into()
}

fn publish(router: &Router, topic: &str, qos: QoS, retain: bool, payload: &str) -> Routed {
    let message = Arc::new(Message::new(topic, payload.to_string(), qos, retain));
    router.publish(message, &mut Vec::new(), &mut None)
}

#[test]
fn offline_persistent_sessions_queue_qos1_and_2_and_resume() {
    let router = Router::new(limits());
    let expiry = Expiry::After(Duration::from_secs(99_999));
    let mut a = connect(&router, "a", true, expiry, 1);
    router.subscribe(
        &a.cell,
        &mut a.state,
        &SubscribeFilter::new("q/+", QoS::ExactlyOnce),
        None,
        Instant::now(),
    );
    router.detach(
        &Arc::from("a"),
        1,
        a.cell.clone(),
        a.state,
        None,
        false,
        Instant::now(),
    );
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        publish(&router, "q/x", qos, false, "m");
    }
    let back = connect(&router, "a", false, Expiry::AtDisconnect, 2);
    assert!(back.session_present);
    let got: Vec<QoS> = drain(&back.cell, &router).iter().map(|d| d.qos).collect();
    assert_eq!(
        got,
        vec![QoS::AtLeastOnce, QoS::ExactlyOnce],
        "QoS 0 is not queued offline"
    );
}

#[test]
fn ended_sessions_leave_nothing_behind() {
    let router = Router::new(limits());
    for round in 0..3 {
        let mut a = connect(&router, "a", true, Expiry::AtDisconnect, round);
        router.subscribe(
            &a.cell,
            &mut a.state,
            &SubscribeFilter::new("t/#", QoS::AtLeastOnce),
            None,
            Instant::now(),
        );
        assert_eq!(router.subscription_count(), 1);
        router.detach(
            &Arc::from("a"),
            round,
            a.cell.clone(),
            a.state,
            None,
            false,
            Instant::now(),
        );
        assert_eq!(router.subscription_count(), 0);
        assert_eq!(router.session_counts(), (0, 0));
    }
}

#[test]
fn retained_messages_follow_the_retain_handling() {
    let router = Router::new(limits());
    for (topic, qos) in [
        ("r/0", QoS::AtMostOnce),
        ("r/1", QoS::AtLeastOnce),
        ("r/2", QoS::ExactlyOnce),
    ] {
        publish(&router, topic, qos, true, "v");
    }
    let mut a = connect(&router, "a", true, Expiry::AtDisconnect, 1);
    let mut request = SubscribeFilter::new("+/+", QoS::ExactlyOnce);
    request.retain_handling = RetainHandling::DoNotSend;
    let now = Instant::now();
    assert!(router
        .subscribe(&a.cell, &mut a.state, &request, None, now)
        .retained
        .is_empty());
    request.retain_handling = RetainHandling::SendIfNew;
    assert!(
        router
            .subscribe(&a.cell, &mut a.state, &request, None, now)
            .retained
            .is_empty(),
        "it exists already"
    );
    request.retain_handling = RetainHandling::SendAtSubscribe;
    assert_eq!(
        router
            .subscribe(&a.cell, &mut a.state, &request, None, now)
            .retained
            .len(),
        3
    );
    // Deleting one.
    assert_eq!(
        publish(&router, "r/1", QoS::AtMostOnce, true, "").retained,
        Some(RetainChange::Removed)
    );
    assert_eq!(router.retained_count(), 2);
}

#[test]
fn a_will_waits_for_its_delay_and_is_cancelled_by_a_return() {
    let router = Router::new(limits());
    let mut b = connect(&router, "b", true, Expiry::AtDisconnect, 1);
    router.subscribe(
        &b.cell,
        &mut b.state,
        &SubscribeFilter::new("will/#", QoS::AtLeastOnce),
        None,
        Instant::now(),
    );
    let will = WillMessage {
        topic: Arc::from("will/a"),
        payload: bytes::Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: bytes::Bytes::new(),
        expiry_interval: None,
        delay: Duration::from_secs(3),
    };
    let start = Instant::now();
    let a = connect(&router, "a", true, Expiry::After(Duration::from_secs(5)), 2);
    router.detach(
        &Arc::from("a"),
        2,
        a.cell.clone(),
        a.state,
        Some(will.clone()),
        false,
        start,
    );
    router.run_due(start + Duration::from_secs(2));
    assert!(drain(&b.cell, &router).is_empty(), "not before its delay");
    router.run_due(start + Duration::from_secs(3));
    assert_eq!(drain(&b.cell, &router).len(), 1, "after its delay");

    // Same again, but the client returns in time.
    let a = connect(
        &router,
        "a",
        false,
        Expiry::After(Duration::from_secs(5)),
        3,
    );
    router.detach(
        &Arc::from("a"),
        3,
        a.cell.clone(),
        a.state,
        Some(will.clone()),
        false,
        start,
    );
    let _back = connect(&router, "a", false, Expiry::AtDisconnect, 4);
    router.run_due(start + Duration::from_secs(10));
    assert!(
        drain(&b.cell, &router).is_empty(),
        "cancelled by the return"
    );

    // A session that ends before the delay publishes the will when it ends.
    let short = connect(&router, "c", true, Expiry::After(Duration::from_secs(2)), 5);
    let mut longer = will;
    longer.delay = Duration::from_secs(5);
    router.detach(
        &Arc::from("c"),
        5,
        short.cell.clone(),
        short.state,
        Some(longer),
        false,
        start,
    );
    router.run_due(start + Duration::from_secs(2));
    assert_eq!(drain(&b.cell, &router).len(), 1, "at the session's end");
}
