//! The RabbitMQ lesson (14) played through on a real RabbitMQ node (ignored in `make test`; run
//! by `make test-rabbitmq`): every button pressed as a learner would, every step's checks pass,
//! a worker that never acks keeps its step from passing, and closing the lesson deletes the
//! queues and the exchange it created. Without a RabbitMQ, the lesson says so in words and the
//! MQTT actors of the same lesson still run (that part runs in `make test`, in well under a
//! second).

use super::common::*;
use std::time::{Duration, Instant};
use workbench_learn::actor::Link;
use workbench_learn::format::ActionKind;
use workbench_learn::view::LessonState;
use workbench_testkit::rabbitmq::RabbitMq;

const LESSON: &str = "rabbitmq-queues";

fn actor<'a>(state: &'a LessonState, id: &str) -> &'a workbench_learn::actor::ActorStatus {
    &state
        .actors
        .iter()
        .find(|a| a.status.id == id)
        .unwrap_or_else(|| panic!("no actor {id}"))
        .status
}

async fn press(c: &Class, who: &str, button: u32) {
    c.learn.press(who, button).await.expect("press");
}

/// `rabbitmqctl list_queues`' ready and unacknowledged counts of `queue`.
fn depth(rabbit: &RabbitMq, queue: &str) -> Option<(u64, u64)> {
    let out = rabbit.ctl_ok(&[
        "list_queues",
        "--quiet",
        "--no-table-headers",
        "name",
        "messages_ready",
        "messages_unacknowledged",
    ]);
    out.lines().find_map(|line| {
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if cols.len() < 3 || cols[0] != queue {
            return None;
        }
        Some((cols[1].parse().ok()?, cols[2].parse().ok()?))
    })
}

async fn until_depth(rabbit: &RabbitMq, queue: &str, want: (u64, u64)) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = depth(rabbit, queue);
        if now == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{queue} never had {want:?} (ready, unacked): {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rabbitmq_the_lesson_says_so_in_words_and_its_mqtt_actors_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    let port = workbench_testkit::mosquitto::free_port();
    let refused = c
        .learn
        .set_rabbitmq("http://localhost/")
        .await
        .expect_err("not an AMQP URL");
    assert!(refused.to_string().contains("amqp"), "{refused}");
    c.learn
        .set_rabbitmq(&format!("amqp://guest:secret@127.0.0.1:{port}/"))
        .await
        .expect("a URL");
    c.learn.open(LESSON).await.expect("open");
    let state = until(&c.learn, "the RabbitMQ problem told", |s| {
        s.rabbitmq.as_ref().is_some_and(|r| !r.problem.is_empty())
            && online(s, &["mqtt-publisher", "mqtt-a", "mqtt-b"])
    })
    .await;
    let rabbit = state.rabbitmq.as_ref().expect("the lesson needs RabbitMQ");
    assert!(rabbit.problem.contains("connection refused"), "{rabbit:?}");
    assert!(!rabbit.url.contains("secret"), "{rabbit:?}");
    assert_eq!(actor(&state, "send").link, Link::Offline);
    assert_eq!(actor(&state, "send").note, "failed");
    let err = c
        .learn
        .act("send", ActionKind::Subscribe, Some("a".into()), 0, None)
        .await
        .expect_err("an AMQP actor does not subscribe");
    assert!(err.to_string().contains("AMQP"), "{err}");
    // The MQTT step of the same lesson works without RabbitMQ.
    c.learn.go_to_step(4).await.expect("step");
    press(&c, "mqtt-publisher", 0).await;
    press(&c, "mqtt-publisher", 1).await;
    press(&c, "mqtt-publisher", 1).await;
    done(&c, 4).await;
    // Another lesson has no RabbitMQ notice.
    open(&c, "queue-vs-pubsub", &["waiter"]).await;
    assert!(c.learn.state("en").await.expect("open").rabbitmq.is_none());
    c.learn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts a RabbitMQ node: make test-rabbitmq"]
async fn the_rabbitmq_lesson_is_played_through_on_a_real_rabbitmq() {
    let started = Instant::now();
    let rabbit = tokio::task::spawn_blocking(RabbitMq::start)
        .await
        .expect("start");
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    c.learn.set_rabbitmq(&rabbit.url("/")).await.expect("URL");
    let everyone = [
        "send",
        "new_task",
        "worker-1",
        "worker-2",
        "emit_log",
        "receive_logs-1",
        "receive_logs-2",
        "mqtt-publisher",
        "mqtt-a",
        "mqtt-b",
    ];
    open(&c, LESSON, &everyone).await;
    let state = c.learn.state("en").await.expect("open");
    assert_eq!(
        state.rabbitmq.as_ref().map(|r| r.problem.as_str()),
        Some("")
    );
    assert_eq!(actor(&state, "receive").link, Link::Offline);

    // Hello World: the queue keeps the message while nobody consumes.
    press(&c, "send", 0).await;
    until_depth(&rabbit, "hello", (1, 0)).await;
    let state = c.learn.state("en").await.expect("open");
    assert!(!state.done && state.checks[0].holds && !state.checks[1].holds);
    act(&c, "receive", ActionKind::Connect, None, 0).await;
    let state = done(&c, 0).await;
    assert_eq!(actor(&state, "receive").received[0].payload, "Hello World!");
    until_depth(&rabbit, "hello", (0, 0)).await;

    // The work queue. A worker that never acks keeps the step from passing.
    c.learn.go_to_step(1).await.expect("step");
    act(&c, "worker-2", ActionKind::Pause, None, 0).await;
    until(&c.learn, "worker-2 paused", |s| {
        actor(s, "worker-2").link == Link::Paused
    })
    .await;
    for _ in 0..4 {
        press(&c, "new_task", 1).await;
    }
    // Everything delivered: worker-1 acked the rest, worker-2 holds one unacked.
    until_depth(&rabbit, "task_queue", (0, 1)).await;
    let state = until(&c.learn, "four tasks seen", |s| s.checks[0].holds).await;
    tokio::time::sleep(Duration::from_millis(600)).await; // a few looks at the logs
    let state_now = c.learn.state("en").await.expect("open");
    assert!(
        !state_now.done,
        "a worker that never acks passed: {state_now:#?}"
    );
    assert!(!state_now.checks[4].holds, "{state_now:#?}");
    assert_eq!(actor(&state, "worker-2").unacknowledged, 1);
    act(&c, "worker-2", ActionKind::Resume, None, 0).await;
    done(&c, 1).await;
    until_depth(&rabbit, "task_queue", (0, 0)).await;

    // Redelivery: worker-1 holds a task unacked, then its connection goes.
    c.learn.go_to_step(2).await.expect("step");
    act(&c, "worker-1", ActionKind::Pause, None, 0).await;
    act(&c, "worker-2", ActionKind::Disconnect, None, 0).await;
    until(&c.learn, "worker-1 alone and paused", |s| {
        actor(s, "worker-1").link == Link::Paused && actor(s, "worker-2").link == Link::Offline
    })
    .await;
    press(&c, "new_task", 1).await;
    until(&c.learn, "worker-1 holding the task", |s| {
        actor(s, "worker-1").unacknowledged == 1
    })
    .await;
    until_depth(&rabbit, "task_queue", (0, 1)).await;
    act(&c, "worker-2", ActionKind::Connect, None, 0).await;
    until(&c.learn, "worker-2 back", |s| online(s, &["worker-2"])).await;
    let state = c.learn.state("en").await.expect("open");
    assert!(!state.done, "{state:#?}");
    act(&c, "worker-1", ActionKind::Disconnect, None, 0).await;
    let state = done(&c, 2).await;
    assert!(
        actor(&state, "worker-2").received.iter().any(|r| r.dup),
        "{state:#?}"
    );

    // The fanout exchange: a copy to each temporary queue.
    c.learn.go_to_step(3).await.expect("step");
    press(&c, "emit_log", 0).await;
    let state = done(&c, 3).await;
    for who in ["receive_logs-1", "receive_logs-2"] {
        assert_eq!(actor(&state, who).received[0].topic, "logs");
        assert_eq!(actor(&state, who).received[0].payload, "info: Hello World!");
    }

    // The same in MQTT.
    c.learn.go_to_step(4).await.expect("step");
    press(&c, "mqtt-publisher", 0).await;
    press(&c, "mqtt-publisher", 1).await;
    press(&c, "mqtt-publisher", 1).await;
    assert!(done(&c, 4).await.complete);

    // Closing deletes what the lesson created on RabbitMQ.
    c.learn.close().await;
    let queues = rabbit.list_queues("/");
    assert!(
        !queues
            .iter()
            .any(|(q, _)| q == "hello" || q == "task_queue" || q.starts_with("amq.gen")),
        "{queues:?}"
    );
    let exchanges = rabbit.ctl_ok(&["list_exchanges", "--quiet", "--no-table-headers", "name"]);
    assert!(
        !exchanges.lines().any(|l| l.trim() == "logs"),
        "{exchanges}"
    );
    eprintln!(
        "rabbitmq lesson: node start {:.1} s, whole test {:.1} s",
        rabbit.start_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
