//! The queue view's watcher against a real RabbitMQ (see `workbench_testkit::rabbitmq`): the
//! depths it reports match `rabbitmqctl list_queues`, before and after a consumer takes messages;
//! its history grows; a deleted queue drops out; a wrong password and an unknown vhost are told
//! in words. Ignored in `make test` (a node takes 5 to 20 s to start): `make test-rabbitmq` runs
//! it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use workbench_amqp::watch::{DepthChartStyle, QueueSnapshot, QueueWatches, SnapshotSink};
use workbench_amqp::*;
use workbench_testkit::rabbitmq::RabbitMq;

/// Generous upper bound for what must happen at all (statistics lag, readings every 2 s).
const LIMIT: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

async fn connect(url: &str) -> AmqpSession {
    let target = AmqpTarget::parse(url).expect("a valid URL");
    AmqpSession::connect(&target, AmqpOptions::default(), None)
        .await
        .expect("connected")
}

async fn publish(session: &AmqpSession, queue: &str, n: usize) {
    for i in 0..n {
        session
            .publish(&OutgoingMessage {
                routing_key: queue.into(),
                body: format!("{queue} {i}").into(),
                ..OutgoingMessage::default()
            })
            .await
            .expect("published");
    }
}

fn sink() -> (
    Arc<dyn SnapshotSink>,
    mpsc::UnboundedReceiver<QueueSnapshot>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = move |s: &QueueSnapshot| tx.send(s.clone()).is_ok();
    (Arc::new(sink), rx)
}

fn depths(snapshot: &QueueSnapshot) -> BTreeMap<String, u64> {
    snapshot
        .queues
        .iter()
        .map(|q| (q.name.clone(), q.messages))
        .collect()
}

/// Readings until one satisfies `done` (the broker's statistics lag a second or two); that one.
async fn until(
    rx: &mut mpsc::UnboundedReceiver<QueueSnapshot>,
    what: &str,
    mut done: impl FnMut(&QueueSnapshot) -> bool,
) -> QueueSnapshot {
    let deadline = Instant::now() + LIMIT;
    let mut last = None;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(s)) if done(&s) => return s,
            Ok(Some(s)) => last = Some(s),
            Ok(None) => panic!("the watcher stopped"),
            Err(_) => {}
        }
    }
    panic!("{what}: never seen; last reading {last:?}");
}

#[test]
#[ignore = "needs rabbitmq-server: make test-rabbitmq"]
fn the_watchers_depths_match_rabbitmqctl_and_follow_a_consumer() {
    let rabbit = RabbitMq::start();
    runtime().block_on(async {
        let s = connect(&rabbit.url("/")).await;
        for name in ["orders", "emails"] {
            s.declare_queue(&QueueSpec {
                durable: true,
                ..QueueSpec::named(name)
            })
            .await
            .unwrap();
        }
        publish(&s, "orders", 5).await;
        publish(&s, "emails", 3).await;

        let target = AmqpTarget::parse(&rabbit.url("/")).unwrap();
        let api = ManagementApi::for_target(&target, rabbit.management_port);
        let watches = QueueWatches::default();
        let (watcher, mut rx) = sink();
        let id = watches.watch("amqp-test", "test", api, "/".into(), watcher);

        // What rabbitmqctl says, the view says (the whole list, name by name).
        let theirs: BTreeMap<String, u64> = rabbit.list_queues("/").into_iter().collect();
        assert_eq!(theirs.get("orders"), Some(&5), "{theirs:?}");
        let seen = until(&mut rx, "the depths of rabbitmqctl", |s| {
            depths(s) == theirs
        })
        .await;
        assert_eq!(seen.failure, None);
        let orders = seen.queues.iter().find(|q| q.name == "orders").unwrap();
        assert_eq!((orders.messages_ready, orders.consumers), (5, 0));
        assert!(orders.durable);

        // A consumer with prefetch 2 takes two and acks one; the broker refills its window: 4 left,
        // 2 ready and 2 unacknowledged.
        let mut c = s
            .consume(&ConsumeSpec {
                queue: "orders".into(),
                prefetch: 2,
                ..ConsumeSpec::default()
            })
            .await
            .unwrap();
        let first = tokio::time::timeout(LIMIT, c.next())
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(LIMIT, c.next())
            .await
            .unwrap()
            .unwrap();
        c.ack(first.delivery_tag, false).await.unwrap();
        let deadline = Instant::now() + LIMIT;
        let theirs = loop {
            let theirs: BTreeMap<String, u64> = rabbit.list_queues("/").into_iter().collect();
            if theirs.get("orders") == Some(&4) || Instant::now() > deadline {
                break theirs;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(theirs.get("orders"), Some(&4), "{theirs:?}");
        let seen = until(&mut rx, "the consumer's effect", |s| {
            let orders = s.queues.iter().find(|q| q.name == "orders");
            depths(s) == theirs
                && orders.is_some_and(|q| (q.messages_unacknowledged, q.consumers) == (2, 1))
        })
        .await;
        let orders = seen.queues.iter().find(|q| q.name == "orders").unwrap();
        assert_eq!(orders.messages_ready, 2);

        // The history grows with each reading, and holds what was seen.
        let before = watches.history("amqp-test", "orders").unwrap();
        assert!(before.len() >= 2, "{before:?}");
        let depths_seen: Vec<f64> = before.iter().map(|p| p.1).collect();
        assert!(
            depths_seen.contains(&5.0) && depths_seen.contains(&4.0),
            "{depths_seen:?}"
        );
        until(&mut rx, "another reading", |_| true).await;
        let after = watches.history("amqp-test", "orders").unwrap();
        assert!(
            after.len() > before.len(),
            "{} then {}",
            before.len(),
            after.len()
        );
        let svg = watches
            .depth_chart(
                "amqp-test",
                "orders",
                &DepthChartStyle {
                    label: "messages",
                    width: 480,
                    height: 180,
                    dark: false,
                    utc_offset_minutes: 0,
                },
            )
            .unwrap()
            .unwrap();
        assert!(svg.contains("orders"));

        // A deleted queue drops out of the list and the history.
        s.delete_queue("emails").await.unwrap();
        until(&mut rx, "emails gone", |s| {
            !depths(s).contains_key("emails")
        })
        .await;
        assert_eq!(watches.history("amqp-test", "emails"), None);
        assert!(watches.unwatch("amqp-test", id));
        assert_eq!(watches.watchers("amqp-test"), 0);

        // Failures in words, and the watcher goes on.
        for (url, code, words) in [
            (
                format!("amqp://guest:wrong@127.0.0.1:{}/%2f", rabbit.amqp_port),
                "AccessRefused",
                "401",
            ),
            (
                rabbit.url("nope"),
                "VhostNotFound",
                "\"nope\" does not exist",
            ),
        ] {
            let target = AmqpTarget::parse(&url).unwrap();
            let api = ManagementApi::for_target(&target, rabbit.management_port);
            let (watcher, mut rx) = sink();
            let id = watches.watch("amqp-bad", "test", api, target.vhost.clone(), watcher);
            let failure = until(&mut rx, code, |s| s.failure.is_some())
                .await
                .failure
                .unwrap();
            assert_eq!(failure.code, code, "{failure:?}");
            assert!(failure.message.contains(words), "{failure:?}");
            let again = until(&mut rx, "a second reading", |_| true).await;
            assert!(again.failure.is_some());
            watches.unwatch("amqp-bad", id);
        }
    });
}
