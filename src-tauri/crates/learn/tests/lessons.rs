//! The built-in lessons 1, 6 and 9 completed as a learner would, on the real embedded broker
//! behind the app's traffic hub: the runner's checks must see what the learner did, refuse what
//! they did wrong, keep progress across a restart, and leave nothing retained after the lesson.

mod common;

use common::*;
use std::time::Duration;
use workbench_learn::actor::Link;
use workbench_learn::format::ActionKind;
use workbench_learn::Learn;
use workbench_wire::{Direction, PacketKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_1_one_event_reaches_four_services_and_a_missing_one_catches_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    c.learn.open("why-a-broker").await.expect("open");
    let services = [
        "order-service",
        "member-service",
        "notification-service",
        "recommendation-service",
    ];
    until(&c.learn, "everyone online", |s| {
        online(s, &["shop"]) && online(s, &services)
    })
    .await;
    for service in services {
        seen(&c.hub, PacketKind::SubAck, Direction::Outbound, service, 1).await;
    }
    let state = c.learn.state("en").await.expect("open");
    assert!(!state.done, "nothing happened yet");
    c.learn.press("shop", 0).await.expect("press");
    until(&c.learn, "step 1 done", |s| s.done).await;

    c.learn.go_to_step(1).await.expect("step 2");
    until(&c.learn, "the recommendation service down", |s| {
        s.step == 1 && !online(s, &["recommendation-service"])
    })
    .await;
    c.learn.press("shop", 0).await.expect("press");
    seen(
        &c.hub,
        PacketKind::Publish,
        Direction::Outbound,
        "order-service",
        2,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !c.learn.state("en").await.expect("open").done,
        "it missed the order so far"
    );
    c.learn
        .act(
            "recommendation-service",
            ActionKind::Reconnect,
            None,
            0,
            None,
        )
        .await
        .expect("reconnect");
    let state = until(&c.learn, "step 2 done", |s| s.done).await;
    assert!(state.complete, "{state:#?}");
    c.learn.close().await;
    assert_eq!(c.broker.router().retained_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_6_qos_handshakes_effective_qos_and_dup_after_a_lost_connection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    let topic = "factory/line1/temperature";
    c.learn.open("qos").await.expect("open");
    until(&c.learn, "online", |s| online(s, &["sensor", "dashboard"])).await;

    let subscribe = |qos: u8| {
        c.learn.act(
            "dashboard",
            ActionKind::Subscribe,
            Some(topic.into()),
            qos,
            None,
        )
    };
    subscribe(1).await.expect("subscribe");
    seen(
        &c.hub,
        PacketKind::SubAck,
        Direction::Outbound,
        "dashboard",
        1,
    )
    .await;
    c.learn.press("sensor", 1).await.expect("QoS 1");
    until(&c.learn, "QoS 1 done", |s| s.done).await;

    c.learn.go_to_step(1).await.expect("step 2");
    subscribe(2).await.expect("subscribe");
    seen(
        &c.hub,
        PacketKind::SubAck,
        Direction::Outbound,
        "dashboard",
        2,
    )
    .await;
    c.learn.press("sensor", 2).await.expect("QoS 2");
    until(&c.learn, "QoS 2 done", |s| s.step == 1 && s.done).await;

    // Effective QoS: with the dashboard still at QoS 2, a QoS 2 publish is no answer.
    c.learn.go_to_step(2).await.expect("step 3");
    c.learn.press("sensor", 2).await.expect("QoS 2");
    seen(
        &c.hub,
        PacketKind::PubComp,
        Direction::Inbound,
        "dashboard",
        2,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !c.learn.state("en").await.expect("open").done,
        "delivered at QoS 2"
    );
    subscribe(0).await.expect("subscribe");
    seen(
        &c.hub,
        PacketKind::SubAck,
        Direction::Outbound,
        "dashboard",
        3,
    )
    .await;
    c.learn.press("sensor", 2).await.expect("QoS 2");
    until(&c.learn, "effective QoS done", |s| s.step == 2 && s.done).await;

    c.learn.go_to_step(3).await.expect("step 4");
    c.learn
        .act(
            "sensor",
            ActionKind::PublishAndDrop,
            None,
            0,
            Some(message(topic, 1)),
        )
        .await
        .expect("publish and drop");
    until(&c.learn, "the sensor offline, owing a message", |s| {
        s.actors.iter().any(|a| {
            a.status.id == "sensor"
                && a.status.link == Link::Offline
                && a.status.unacknowledged == 1
        })
    })
    .await;
    c.learn
        .act("sensor", ActionKind::Reconnect, None, 0, None)
        .await
        .expect("reconnect");
    let state = until(&c.learn, "DUP done", |s| s.step == 3 && s.done).await;
    assert!(state.complete);
    c.learn.close().await;

    // Progress survives a restart.
    let again = Learn::new(
        Some(dir.path().to_path_buf()),
        c.hub.clone(),
        c.broker.clone(),
    );
    let qos = again
        .list("zh-CN")
        .lessons
        .into_iter()
        .find(|l| l.id == "qos")
        .expect("listed");
    assert_eq!((qos.steps_done, qos.steps), (4, 4));
    assert_eq!(qos.title, "QoS 0、1 和 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_9_the_will_fires_on_a_pulled_plug_only_and_reset_clears_what_it_left() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = class(dir.path()).await;
    c.learn.open("last-will").await.expect("open");
    until(&c.learn, "online", |s| {
        online(s, &["hall-sensor", "display"])
    })
    .await;
    seen(
        &c.hub,
        PacketKind::Publish,
        Direction::Outbound,
        "display",
        1,
    )
    .await;
    c.learn
        .act("hall-sensor", ActionKind::PullPlug, None, 0, None)
        .await
        .expect("pull the plug");
    until(&c.learn, "the will seen", |s| s.done).await;

    // A pulled plug is not a clean goodbye: step 2 refuses it.
    c.learn.go_to_step(1).await.expect("step 2");
    seen(
        &c.hub,
        PacketKind::Publish,
        Direction::Outbound,
        "display",
        3,
    )
    .await;
    c.learn
        .act("hall-sensor", ActionKind::PullPlug, None, 0, None)
        .await
        .expect("pull the plug");
    seen(
        &c.hub,
        PacketKind::Publish,
        Direction::Outbound,
        "display",
        4,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !c.learn.state("en").await.expect("open").done,
        "the will fired"
    );
    c.learn
        .act("hall-sensor", ActionKind::Connect, None, 0, None)
        .await
        .expect("connect");
    seen(
        &c.hub,
        PacketKind::Publish,
        Direction::Outbound,
        "display",
        5,
    )
    .await;
    c.learn
        .act("hall-sensor", ActionKind::Disconnect, None, 0, None)
        .await
        .expect("disconnect");
    until(&c.learn, "the clean goodbye", |s| s.step == 1 && s.done).await;

    c.learn.go_to_step(2).await.expect("step 3");
    c.learn
        .act("phone", ActionKind::Connect, None, 0, None)
        .await
        .expect("connect");
    let state = until(&c.learn, "the retained status", |s| s.step == 2 && s.done).await;
    assert!(state.complete);
    let phone = state
        .actors
        .iter()
        .find(|a| a.status.id == "phone")
        .expect("phone");
    assert_eq!(phone.status.received.last().map(|r| r.retain), Some(true));

    // Reset puts the broker back: the retained status goes, the lesson starts again.
    assert_eq!(c.broker.router().retained_count(), 1);
    c.learn.reset().await.expect("reset");
    until(&c.learn, "online again", |s| {
        online(s, &["hall-sensor", "display"])
    })
    .await;
    c.learn.close().await;
    assert_eq!(c.broker.router().retained_count(), 0);
}
