//! The other built-in lessons (2 to 5, 7, 8, 10, 12, 13) completed on the real embedded broker,
//! each step by the actions a learner takes, with the wrong attempt refused where a lesson
//! judges the last attempt.

mod common;
// Lesson 14 on RabbitMQ (its RabbitMQ test is ignored here; `make test-rabbitmq` runs it).
mod rabbitmq_lesson;

use common::*;
use std::time::Duration;
use workbench_learn::format::{ActionKind, MessageSpec};
use workbench_wire::{Direction, PacketKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_2_3_and_4_publish_subscribe_connect_and_unsubscribe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    open(&c, "publish-subscribe", &["newspaper", "reader"]).await;
    act(&c, "reader", ActionKind::Subscribe, Some("news/daily"), 0).await;
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    c.learn
        .act(
            "reader",
            ActionKind::Publish,
            None,
            0,
            Some(message("news/letters", 0)),
        )
        .await
        .expect("publish");
    assert!(done(&c, 1).await.complete);

    c.learn.open("connect").await.expect("open");
    act(&c, "thermostat", ActionKind::Connect, None, 0).await;
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    act(&c, "thermostat", ActionKind::PullPlug, None, 0).await;
    until(&c.learn, "offline", |s| !online(s, &["thermostat"])).await;
    act(&c, "thermostat", ActionKind::Reconnect, None, 0).await;
    let state = done(&c, 1).await;
    assert!(state.actors[0].status.note == "session-kept", "{state:#?}");

    open(&c, "subscribe", &["weather-station", "farmer"]).await;
    act(&c, "farmer", ActionKind::Subscribe, Some("weather/rain"), 1).await;
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    act(
        &c,
        "farmer",
        ActionKind::Unsubscribe,
        Some("weather/rain"),
        0,
    )
    .await;
    assert!(done(&c, 1).await.complete);
    c.learn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_5_wildcards_judge_the_last_attempt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    open(
        &c,
        "wildcards",
        &["kitchen-sensor", "hall-sensor", "dashboard"],
    )
    .await;
    let (sub, unsub) = (ActionKind::Subscribe, ActionKind::Unsubscribe);
    let unsubscribed = |n| {
        seen(
            &c.hub,
            PacketKind::UnsubAck,
            Direction::Outbound,
            "dashboard",
            n,
        )
    };
    // Too wide first: the hall arrives, so the step is not done.
    act(&c, "dashboard", sub, Some("home/#"), 0).await;
    seen(
        &c.hub,
        PacketKind::Publish,
        Direction::Outbound,
        "dashboard",
        3,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !c.learn.state("en").await.expect("open").done,
        "the hall arrived"
    );
    act(&c, "dashboard", unsub, Some("home/#"), 0).await;
    unsubscribed(1).await;
    act(&c, "dashboard", sub, Some("home/kitchen/temperature"), 0).await;
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    act(&c, "dashboard", unsub, Some("home/kitchen/temperature"), 0).await;
    unsubscribed(2).await;
    act(&c, "dashboard", sub, Some("home/+/temperature"), 0).await;
    done(&c, 1).await;
    c.learn.go_to_step(2).await.expect("step");
    act(&c, "dashboard", sub, Some("home/#"), 0).await;
    assert!(done(&c, 2).await.complete);
    c.learn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_7_and_8_queued_messages_and_retained_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    open(&c, "persistent-sessions", &["control-room", "field-unit"]).await;
    seen(
        &c.hub,
        PacketKind::SubAck,
        Direction::Outbound,
        "field-unit",
        1,
    )
    .await;
    act(&c, "field-unit", ActionKind::PullPlug, None, 0).await;
    until(&c.learn, "offline", |s| !online(s, &["field-unit"])).await;
    for _ in 0..2 {
        c.learn.press("control-room", 0).await.expect("press");
    }
    seen(
        &c.hub,
        PacketKind::PubAck,
        Direction::Outbound,
        "control-room",
        2,
    )
    .await;
    act(&c, "field-unit", ActionKind::Reconnect, None, 0).await;
    assert!(done(&c, 0).await.complete);

    open(&c, "retained", &["weather-station"]).await;
    c.learn.press("weather-station", 0).await.expect("press");
    seen(
        &c.hub,
        PacketKind::PubAck,
        Direction::Outbound,
        "weather-station",
        1,
    )
    .await;
    act(&c, "late-app", ActionKind::Connect, None, 0).await;
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    let delete = MessageSpec {
        topic: "weather/outside".into(),
        payload: String::new(),
        qos: 1,
        retain: true,
        ..MessageSpec::default()
    };
    c.learn
        .act(
            "weather-station",
            ActionKind::Publish,
            None,
            0,
            Some(delete),
        )
        .await
        .expect("delete");
    seen(
        &c.hub,
        PacketKind::PubAck,
        Direction::Outbound,
        "weather-station",
        2,
    )
    .await;
    act(&c, "later-app", ActionKind::Connect, None, 0).await;
    assert!(done(&c, 1).await.complete);
    c.learn.close().await;
    assert_eq!(c.broker.router().retained_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_10_12_and_13_keep_alive_shared_subscriptions_and_request_response() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    open(&c, "keep-alive", &["quiet-sensor"]).await;
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    act(&c, "quiet-sensor", ActionKind::Pause, None, 0).await;
    done(&c, 1).await;
    c.learn.go_to_step(2).await.expect("step");
    act(&c, "quiet-sensor", ActionKind::Connect, None, 0).await;
    until(&c.learn, "online", |s| online(s, &["quiet-sensor"])).await;
    act(&c, "quiet-sensor", ActionKind::Reconnect, None, 0).await;
    assert!(done(&c, 2).await.complete);

    let cooks = ["waiter", "screen-bar", "screen-door", "cook-1", "cook-2"];
    open(&c, "queue-vs-pubsub", &cooks).await;
    for actor in &cooks[1..] {
        seen(&c.hub, PacketKind::SubAck, Direction::Outbound, actor, 1).await;
    }
    c.learn.press("waiter", 0).await.expect("press");
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    c.learn.press("waiter", 0).await.expect("press");
    c.learn.press("waiter", 0).await.expect("press");
    let state = done(&c, 1).await;
    let got = |id: &str| {
        state
            .actors
            .iter()
            .find(|a| a.status.id == id)
            .map_or(0, |a| a.status.received.len())
    };
    assert_eq!(
        got("cook-1") + got("cook-2"),
        3,
        "each order went to one cook"
    );

    open(&c, "mqtt5", &["thermostat", "phone"]).await;
    seen(
        &c.hub,
        PacketKind::SubAck,
        Direction::Outbound,
        "thermostat",
        1,
    )
    .await;
    c.learn.press("phone", 0).await.expect("press");
    let state = done(&c, 0).await;
    let phone = state
        .actors
        .iter()
        .find(|a| a.status.id == "phone")
        .expect("phone");
    assert_eq!(
        phone.status.received.last().map(|r| r.payload.as_str()),
        Some("21.0")
    );
    c.learn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_11_the_broker_requires_users_while_it_is_open_and_only_then() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    assert!(c.broker.status().await.settings.users.is_empty());
    c.learn.open("security").await.expect("open");
    assert_eq!(c.broker.status().await.settings.users.len(), 1);
    act(&c, "intruder", ActionKind::Connect, None, 0).await;
    let state = until(&c.learn, "the intruder refused", |s| s.checks[0].holds).await;
    assert!(!state.done, "{state:#?}");
    act(&c, "alice-phone", ActionKind::Connect, None, 0).await;
    done(&c, 0).await;
    c.learn.go_to_step(1).await.expect("step");
    act(&c, "anonymous", ActionKind::Connect, None, 0).await;
    assert!(done(&c, 1).await.complete);
    c.learn.close().await;
    assert!(
        c.broker.status().await.settings.users.is_empty(),
        "settings back"
    );
    assert!(c.broker.status().await.running);
}

/// The complete example of `docs/lessons.md`, dropped in the lessons folder as a teacher would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teachers_lesson_from_the_data_folder_runs_without_a_rebuild() {
    let dir = tempfile::tempdir().expect("temp dir");
    let doc = include_str!("../../../../docs/lessons.md");
    let start = doc.find("```toml\n# kitchen.toml").expect("the example") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    std::fs::create_dir_all(dir.path().join("lessons")).expect("folder");
    std::fs::write(dir.path().join("lessons/kitchen.toml"), &doc[start..end]).expect("write");
    let c = class(dir.path()).await;
    let listed = c.learn.list("zh-CN");
    let lesson = listed
        .lessons
        .iter()
        .find(|l| l.id == "kitchen-not-hall")
        .expect("listed");
    assert!(!lesson.built_in);
    assert_eq!(lesson.title, "只要厨房");
    open(
        &c,
        "kitchen-not-hall",
        &["kitchen-sensor", "hall-sensor", "dashboard"],
    )
    .await;
    act(
        &c,
        "dashboard",
        ActionKind::Subscribe,
        Some("home/kitchen/#"),
        0,
    )
    .await;
    assert!(done(&c, 0).await.complete);
    c.learn.close().await;
}
