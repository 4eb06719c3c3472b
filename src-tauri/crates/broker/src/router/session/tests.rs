use super::super::message::{Message, SubscriptionIds};
use super::*;

fn limits(max_messages: usize) -> QueueLimits {
    QueueLimits {
        max_messages,
        max_bytes: 1 << 30,
        max_total_bytes: 1 << 30,
        qos0_while_offline: false,
    }
}

fn delivery(qos: QoS) -> Delivery {
    Delivery {
        message: Arc::new(Message::new("t", "x", qos, false)),
        qos,
        retain: false,
        subscription_ids: SubscriptionIds::None,
    }
}

#[test]
fn a_full_mailbox_drops_and_counts_and_says_when_it_fills() {
    let cell = new_cell(1, "c");
    cell.set_online(true);
    let total = AtomicUsize::new(0);
    let limits = limits(20);
    let mut congested_at = None;
    for i in 0..25 {
        match cell.push(delivery(QoS::AtMostOnce), &limits, &total) {
            Pushed::Queued { congested: true } if congested_at.is_none() => congested_at = Some(i),
            _ => {}
        }
    }
    assert_eq!(congested_at, Some(1), "a tenth of 20 is 2 messages");
    assert_eq!(cell.queued(), 20);
    assert_eq!(cell.counters.dropped_qos0.load(Ordering::Relaxed), 5);
    let mut out = VecDeque::new();
    assert_eq!(cell.take(0, usize::MAX, &limits, &total, &mut out), 20);
    assert_eq!(total.load(Ordering::Relaxed), 0, "bytes are given back");
}

#[test]
fn taking_respects_the_window_and_the_order() {
    let cell = new_cell(1, "c");
    cell.set_online(true);
    let total = AtomicUsize::new(0);
    let limits = limits(100);
    for qos in [
        QoS::AtMostOnce,
        QoS::AtLeastOnce,
        QoS::AtLeastOnce,
        QoS::AtMostOnce,
    ] {
        cell.push(delivery(qos), &limits, &total);
    }
    let mut out = VecDeque::new();
    assert_eq!(cell.take(1, usize::MAX, &limits, &total, &mut out), 2);
    assert_eq!(
        cell.queued(),
        2,
        "the second QoS 1 waits, and the QoS 0 behind it too"
    );
}

#[test]
fn offline_sessions_skip_qos0_unless_asked() {
    let cell = new_cell(1, "c");
    let total = AtomicUsize::new(0);
    assert_eq!(
        cell.push(delivery(QoS::AtMostOnce), &limits(10), &total),
        Pushed::Skipped
    );
    assert!(matches!(
        cell.push(delivery(QoS::AtLeastOnce), &limits(10), &total),
        Pushed::Queued { congested: false }
    ));
    cell.close(&total);
    assert_eq!(total.load(Ordering::Relaxed), 0);
    assert_eq!(
        cell.push(delivery(QoS::AtLeastOnce), &limits(10), &total),
        Pushed::Skipped
    );
}

#[test]
fn packet_ids_skip_zero_and_never_reuse_one_in_flight() {
    let mut state = SessionState::new(Expiry::AtDisconnect);
    let first = state.allocate_packet_id();
    assert_eq!(first, Some(1));
    state.in_flight.push_back(InFlight {
        packet_id: 1,
        delivery: delivery(QoS::AtLeastOnce),
        released: false,
    });
    for expected in 2..=u16::MAX {
        assert_eq!(state.allocate_packet_id(), Some(expected));
    }
    assert_eq!(state.allocate_packet_id(), None, "1 is still in flight");
    assert!(state.acknowledge(1).is_some());
    assert_eq!(state.allocate_packet_id(), Some(1));
}

#[tokio::test]
async fn a_publisher_waits_for_a_draining_mailbox_but_not_for_a_stuck_one() {
    let cell = new_cell(1, "c");
    cell.set_online(true);
    let total = Arc::new(AtomicUsize::new(0));
    let limits = limits(100);
    for _ in 0..50 {
        cell.push(delivery(QoS::AtMostOnce), &limits, &total);
    }
    // Nobody drains: the wait ends at its timeout and the mailbox is marked stalled.
    assert!(!cell.wait_for_room(&limits, Duration::from_millis(20)).await);
    assert!(
        cell.wait_for_room(&limits, Duration::from_secs(60)).await,
        "a stalled mailbox is not waited for again"
    );
    // Draining clears the mark and wakes waiters.
    let mut out = VecDeque::new();
    cell.take(0, usize::MAX, &limits, &total, &mut out);
    for _ in 0..50 {
        cell.push(delivery(QoS::AtMostOnce), &limits, &total);
    }
    let drainer = {
        let cell = Arc::new(cell);
        let waiting = cell.clone();
        let total = total.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut out = VecDeque::new();
            cell.take(0, usize::MAX, &limits, &total, &mut out);
        });
        (waiting, task)
    };
    assert!(
        drainer
            .0
            .wait_for_room(&limits, Duration::from_secs(60))
            .await
    );
    drainer.1.await.expect("drainer");
}

#[tokio::test]
async fn waiting_publishers_go_on_a_few_at_a_time_in_turn() {
    let cell = Arc::new(new_cell(1, "c"));
    cell.set_online(true);
    let total = Arc::new(AtomicUsize::new(0));
    let limits = limits(100); // congested at 10 queued, relieved at 5
    for _ in 0..50 {
        cell.push(delivery(QoS::AtLeastOnce), &limits, &total);
    }
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (cell, done) = (cell.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            assert!(cell.wait_for_room(&limits, Duration::from_secs(60)).await);
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    while cell.lock().waiting < 30 {
        tokio::task::yield_now().await;
    }
    let mut out = VecDeque::new();
    let mut released = |expected: usize| {
        cell.take(usize::MAX, usize::MAX, &limits, &total, &mut out);
        let done = done.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while done.load(Ordering::SeqCst) < expected {
                assert!(tokio::time::Instant::now() < deadline, "waiters not woken");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert_eq!(
                done.load(Ordering::SeqCst),
                expected,
                "only as many as there is room for"
            );
        }
    };
    // Empty: room for 10 before it is congested again.
    released(10).await;
    released(20).await;
    released(30).await;
    for task in tasks {
        task.await.expect("waiter");
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_mailbox_keeps_its_publishers_waiting_a_stuck_one_does_not() {
    let cell = Arc::new(new_cell(1, "c"));
    cell.set_online(true);
    let total = Arc::new(AtomicUsize::new(0));
    let limits = limits(100);
    for _ in 0..50 {
        cell.push(delivery(QoS::AtLeastOnce), &limits, &total);
    }
    // Something is taken out every 15 ms, never enough to relieve it: a publisher with a
    // 10 ms timeout keeps waiting while the mailbox moves, up to its patience.
    let drainer = {
        let (cell, total) = (cell.clone(), total.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let mut out = VecDeque::new();
                cell.take(1, 1, &limits, &total, &mut out);
                cell.push(delivery(QoS::AtLeastOnce), &limits, &total);
            }
        })
    };
    let started = tokio::time::Instant::now();
    assert!(cell.wait_for_room(&limits, Duration::from_millis(10)).await);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(10 * u64::from(PATIENCE_ROUNDS)),
        "waited {waited:?}"
    );
    drainer.abort();
    assert!(
        !cell.wait_for_room(&limits, Duration::from_millis(10)).await,
        "nothing moves: stalled"
    );
}
