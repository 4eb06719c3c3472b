//! The AMQP actor's log and its worker's pace.

use super::*;

fn event(n: usize) -> PacketEvent {
    let mut summary = PacketSummary::new(PacketKind::Publish, n);
    summary.topic = Some(format!("logs/{n}"));
    PacketEvent {
        connection: 1,
        client_id: Arc::from("worker"),
        remote: None,
        direction: Direction::Outbound,
        summary,
        time: SystemTime::now(),
    }
}

#[test]
fn the_log_gives_what_came_after_a_serial_and_stays_bounded() {
    let log = AmqpLog::default();
    log.push(event(1));
    let from = log.total();
    log.push(event(2));
    log.push(event(3));
    let new: Vec<usize> = log.since(from).iter().map(|e| e.summary.size).collect();
    assert_eq!(new, [2, 3]);
    for n in 0..LOG_KEPT + 5 {
        log.push(event(n));
    }
    assert_eq!(log.total(), LOG_KEPT as u64 + 8);
    assert_eq!(log.since(0).len(), LOG_KEPT);
    assert_eq!(log.since(log.total() - 1)[0].summary.size, LOG_KEPT + 4);
}

#[test]
fn a_worker_works_a_second_per_dot_at_most_ten() {
    assert_eq!(work_for(b"Hello"), Duration::ZERO);
    assert_eq!(work_for(b"A task..."), Duration::from_secs(3));
    assert_eq!(work_for(&[b'.'; 50]), MOST_WORK);
}
