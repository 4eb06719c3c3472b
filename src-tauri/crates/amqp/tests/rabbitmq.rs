//! Against a real RabbitMQ (Debian's rabbitmq-server, one node per test, see
//! `workbench_testkit::rabbitmq`), with Python's pika as the independent peer: the study note's
//! Hello World both ways, a topic exchange, nack with requeue, prefetch, and queue depth against
//! `rabbitmqctl list_queues` (failures are in `rabbitmq_failures.rs`). Slow (a node takes 5 to
//! 20 s to start), so ignored in `make test`: `make test-rabbitmq` runs them.

use std::time::Duration;
use tokio::sync::mpsc;
use workbench_amqp::*;
use workbench_testkit::rabbitmq::{pika_async as pika, RabbitMq};
use workbench_wire::{Direction, PacketKind};

/// Generous upper bound for what must happen at all.
const LIMIT: Duration = Duration::from_secs(30);

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

async fn next(consumer: &mut AmqpConsumer) -> AmqpDelivery {
    tokio::time::timeout(LIMIT, consumer.next())
        .await
        .expect("a delivery in time")
        .expect("the consumer is running")
}

/// RabbitMQ's tutorial consumer, waiting for one message (basic.get until one comes).
const PIKA_RECEIVE: &str = r#"
import sys, time, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.queue_declare(queue=sys.argv[2])
deadline = time.time() + 30
while time.time() < deadline:
    method, props, body = ch.basic_get(queue=sys.argv[2], auto_ack=True)
    if method:
        print(body.decode(), props.content_type, props.correlation_id, sep="|")
        break
    time.sleep(0.1)
conn.close()
"#;

/// RabbitMQ's tutorial producer.
const PIKA_SEND: &str = r#"
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.queue_declare(queue=sys.argv[2])
ch.basic_publish(exchange="", routing_key=sys.argv[2], body=sys.argv[3],
    properties=pika.BasicProperties(content_type="text/plain", headers={"lang": "py"}))
conn.close()
"#;

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn hello_world_we_send_and_pika_receives() {
    let rabbit = RabbitMq::start();
    eprintln!("rabbitmq started in {:?}", rabbit.start_time);
    let url = rabbit.url("/");
    runtime().block_on(async {
        let s = connect(&url).await;
        s.declare_queue(&QueueSpec::named("hello")).await.unwrap();
        let outcome = s
            .publish(&OutgoingMessage {
                routing_key: "hello".into(),
                body: "Hello World!".into(),
                properties: AmqpProperties {
                    content_type: Some("text/plain".into()),
                    correlation_id: Some("c-42".into()),
                    ..AmqpProperties::default()
                },
                mandatory: true,
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        assert_eq!(outcome, PublishOutcome::Accepted);
        let got = pika(PIKA_RECEIVE, vec![url.clone(), "hello".into()]).await;
        assert_eq!(got.trim(), "Hello World!|text/plain|c-42");
        // Mandatory and nothing bound: the broker says so.
        let outcome = s
            .publish(&OutgoingMessage {
                routing_key: "nobody-listens".into(),
                body: "lost".into(),
                mandatory: true,
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        assert_eq!(outcome, PublishOutcome::Unroutable);
        s.close().await.unwrap();
    });
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn hello_world_pika_sends_and_we_receive_into_the_traffic_views() {
    let rabbit = RabbitMq::start();
    let url = rabbit.url("/");
    runtime().block_on(async {
        let (events, mut traffic) = mpsc::channel(64);
        let sink = TrafficSink {
            session: "rabbit-1".into(),
            events,
        };
        let target = AmqpTarget::parse(&url).unwrap();
        let s = AmqpSession::connect(&target, AmqpOptions::default(), Some(sink))
            .await
            .unwrap();
        s.declare_queue(&QueueSpec::named("hello")).await.unwrap();
        pika(
            PIKA_SEND,
            vec![url.clone(), "hello".into(), "Hello World!".into()],
        )
        .await;
        let mut c = s
            .consume(&ConsumeSpec {
                queue: "hello".into(),
                ack: AckMode::Auto,
                ..ConsumeSpec::default()
            })
            .await
            .unwrap();
        let d = next(&mut c).await;
        assert_eq!(&d.body[..], b"Hello World!");
        assert_eq!((d.exchange.as_str(), d.routing_key.as_str()), ("", "hello"));
        assert_eq!(d.properties.content_type.as_deref(), Some("text/plain"));
        assert_eq!(
            d.properties.headers,
            vec![("lang".to_string(), HeaderValue::Text("py".into()))]
        );
        assert_eq!(d.topic(), "(default)/hello");
        let batch = tokio::time::timeout(LIMIT, traffic.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&*batch.session, "rabbit-1");
        let p = &batch.packets[0];
        assert_eq!(
            (p.summary.kind, p.direction),
            (PacketKind::Publish, Direction::Inbound)
        );
        assert_eq!(p.summary.topic.as_deref(), Some("(default)/hello"));
        assert_eq!(p.summary.payload.as_deref(), Some(&b"Hello World!"[..]));
        assert!(p
            .summary
            .fields
            .contains(&("Content Type", "text/plain".to_string())));
        assert!(p
            .summary
            .fields
            .contains(&("Header", "lang: py".to_string())));
        c.cancel().await.unwrap();
        s.close().await.unwrap();
    });
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn a_topic_exchange_routes_to_two_queues() {
    let rabbit = RabbitMq::start();
    runtime().block_on(async {
        let s = connect(&rabbit.url("/")).await;
        s.declare_exchange(&ExchangeSpec {
            name: "logs".into(),
            kind: ExchangeType::Topic,
            ..ExchangeSpec::default()
        })
        .await
        .unwrap();
        for (queue, key) in [("kern", "kern.*"), ("critical", "*.critical")] {
            s.declare_queue(&QueueSpec::named(queue)).await.unwrap();
            s.bind(&BindingSpec {
                queue: queue.into(),
                exchange: "logs".into(),
                routing_key: key.into(),
                ..BindingSpec::default()
            })
            .await
            .unwrap();
        }
        for key in ["kern.critical", "kern.info", "app.critical", "app.info"] {
            s.publish(&OutgoingMessage {
                exchange: "logs".into(),
                routing_key: key.into(),
                body: key.to_string().into(),
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        }
        for (queue, expected) in [
            ("kern", vec!["kern.critical", "kern.info"]),
            ("critical", vec!["kern.critical", "app.critical"]),
        ] {
            let mut c = s
                .consume(&ConsumeSpec {
                    queue: queue.into(),
                    ..ConsumeSpec::default()
                })
                .await
                .unwrap();
            for want in expected {
                let d = next(&mut c).await;
                assert_eq!(&d.body[..], want.as_bytes(), "{queue}");
                assert_eq!(d.topic(), format!("logs/{want}"));
                c.ack(d.delivery_tag, false).await.unwrap();
            }
            c.cancel().await.unwrap();
            let depth = s
                .declare_queue(&QueueSpec {
                    name: queue.into(),
                    passive: true,
                    ..QueueSpec::default()
                })
                .await
                .unwrap();
            assert_eq!(depth.messages, 0, "{queue} got only what matched");
        }
        // Unbound, kern.* no longer reaches the queue.
        s.unbind(&BindingSpec {
            queue: "kern".into(),
            exchange: "logs".into(),
            routing_key: "kern.*".into(),
            ..BindingSpec::default()
        })
        .await
        .unwrap();
        s.publish(&OutgoingMessage {
            exchange: "logs".into(),
            routing_key: "kern.info".into(),
            ..OutgoingMessage::default()
        })
        .await
        .unwrap();
        assert_eq!(
            rabbit
                .list_queues("/")
                .into_iter()
                .find(|(q, _)| q == "kern"),
            Some(("kern".to_string(), 0))
        );
    });
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn a_nack_with_requeue_is_redelivered_and_a_reject_without_is_gone() {
    let rabbit = RabbitMq::start();
    runtime().block_on(async {
        let s = connect(&rabbit.url("/")).await;
        s.declare_queue(&QueueSpec::named("work")).await.unwrap();
        for body in ["first", "second"] {
            s.publish(&OutgoingMessage {
                routing_key: "work".into(),
                body: body.into(),
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        }
        let mut c = s
            .consume(&ConsumeSpec {
                queue: "work".into(),
                prefetch: 1,
                ..ConsumeSpec::default()
            })
            .await
            .unwrap();
        let d = next(&mut c).await;
        assert_eq!((&d.body[..], d.redelivered), (&b"first"[..], false));
        c.nack(d.delivery_tag, false, true).await.unwrap();
        let again = next(&mut c).await;
        assert_eq!((&again.body[..], again.redelivered), (&b"first"[..], true));
        c.ack(again.delivery_tag, false).await.unwrap();
        let d = next(&mut c).await;
        assert_eq!((&d.body[..], d.redelivered), (&b"second"[..], false));
        c.reject(d.delivery_tag, false).await.unwrap();
        c.cancel().await.unwrap();
        let q = s
            .declare_queue(&QueueSpec {
                name: "work".into(),
                passive: true,
                ..QueueSpec::default()
            })
            .await
            .unwrap();
        assert_eq!(q.messages, 0, "acked and rejected: nothing left");
    });
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn competing_consumers_with_prefetch_one_share_the_work_fairly() {
    // RabbitMQ's work-queue tutorial: two workers, prefetch 1, manual acks. A message goes to a
    // worker only once it has acknowledged its last one.
    let rabbit = RabbitMq::start();
    runtime().block_on(async {
        let s = connect(&rabbit.url("/")).await;
        s.declare_queue(&QueueSpec::named("tasks")).await.unwrap();
        let spec = ConsumeSpec {
            queue: "tasks".into(),
            prefetch: 1,
            ..ConsumeSpec::default()
        };
        let mut first = s.consume(&spec).await.unwrap();
        let mut second = s.consume(&spec).await.unwrap();
        for i in 0..4 {
            s.publish(&OutgoingMessage {
                routing_key: "tasks".into(),
                body: format!("task {i}").into(),
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        }
        let a = next(&mut first).await;
        let b = next(&mut second).await;
        // Round robin: one each (which gets which is the broker's choice).
        let mut both = [a.body.clone(), b.body.clone()];
        both.sort();
        assert_eq!(both, [&b"task 0"[..], &b"task 1"[..]]);
        // The first worker finishes: the next task is its, though the second is still busy.
        first.ack(a.delivery_tag, false).await.unwrap();
        let c = next(&mut first).await;
        assert_eq!(&c.body[..], b"task 2");
        second.ack(b.delivery_tag, false).await.unwrap();
        let d = next(&mut second).await;
        assert_eq!(&d.body[..], b"task 3");
    });
}

/// (ready, unacknowledged) of a queue, from rabbitmqctl.
fn ready_and_unacked(rabbit: &RabbitMq, queue: &str) -> (u64, u64) {
    let out = rabbit.ctl_ok(&[
        "list_queues",
        "--quiet",
        "--no-table-headers",
        "name",
        "messages_ready",
        "messages_unacknowledged",
    ]);
    out.lines()
        .find_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.first() == Some(&queue)).then(|| {
                (
                    cols[1].trim().parse().expect("a count"),
                    cols[2].trim().parse().expect("a count"),
                )
            })
        })
        .unwrap_or((0, 0))
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn prefetch_is_honoured() {
    let rabbit = RabbitMq::start();
    runtime().block_on(async {
        let s = connect(&rabbit.url("/")).await;
        s.declare_queue(&QueueSpec::named("jobs")).await.unwrap();
        for i in 0..10 {
            s.publish(&OutgoingMessage {
                routing_key: "jobs".into(),
                body: format!("job {i}").into(),
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        }
        let mut c = s
            .consume(&ConsumeSpec {
                queue: "jobs".into(),
                prefetch: 3,
                ..ConsumeSpec::default()
            })
            .await
            .unwrap();
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(next(&mut c).await);
        }
        // Without a prefetch the broker would have sent all ten at once; with it, three wait
        // for their acks and seven stay ready. (The statistics lag by up to a second.)
        let deadline = std::time::Instant::now() + LIMIT;
        let mut seen = ready_and_unacked(&rabbit, "jobs");
        while seen != (7, 3) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            seen = ready_and_unacked(&rabbit, "jobs");
        }
        assert_eq!(seen, (7, 3));
        c.ack(held[0].delivery_tag, false).await.unwrap();
        let fourth = next(&mut c).await;
        assert_eq!(&fourth.body[..], b"job 3");
        assert_eq!(c.ack(fourth.delivery_tag, false).await, Ok(()));
    });
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn queue_depth_matches_rabbitmqctl() {
    let rabbit = RabbitMq::start();
    runtime().block_on(async {
        let s = connect(&rabbit.url("/")).await;
        s.declare_queue(&QueueSpec {
            durable: true,
            ..QueueSpec::named("depth")
        })
        .await
        .unwrap();
        for i in 0..5 {
            s.publish(&OutgoingMessage {
                routing_key: "depth".into(),
                body: format!("{i}").into(),
                properties: AmqpProperties {
                    delivery_mode: Some(2),
                    ..AmqpProperties::default()
                },
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        }
        let ours = s
            .declare_queue(&QueueSpec {
                passive: true,
                ..QueueSpec::named("depth")
            })
            .await
            .unwrap();
        let (lost_tx, lost_rx) = tokio::sync::oneshot::channel();
        s.on_connection_lost(move |e| {
            let _ = lost_tx.send(e);
        });
        let theirs = rabbit.list_queues("/");
        assert_eq!(ours.messages, 5);
        assert!(theirs.contains(&("depth".to_string(), 5)), "{theirs:?}");
        // The queue view's source: the management API (its statistics lag up to a second).
        let target = AmqpTarget::parse(&rabbit.url("/")).unwrap();
        let api = ManagementApi::for_target(&target, rabbit.management_port);
        let deadline = std::time::Instant::now() + LIMIT;
        let listed = loop {
            let queues = api.queues("/").await.unwrap();
            let depth = queues
                .iter()
                .find(|q| q.name == "depth")
                .map(|q| q.messages);
            if depth == Some(5) || std::time::Instant::now() > deadline {
                break queues;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let q = listed.iter().find(|q| q.name == "depth").unwrap();
        assert_eq!((q.messages, q.messages_ready, q.consumers), (5, 5, 0));
        assert!(q.durable);
        let mut names: Vec<(String, u64)> = listed
            .iter()
            .map(|q| (q.name.clone(), q.messages))
            .collect();
        names.sort();
        let mut theirs = theirs;
        theirs.sort();
        assert_eq!(names, theirs, "the same queues and depths as rabbitmqctl");
        // Wrong password and unknown vhost, in words.
        let wrong = ManagementApi::for_target(
            &target.clone().with_password("wrong"),
            rabbit.management_port,
        );
        assert_eq!(wrong.queues("/").await.unwrap_err().code(), "AccessRefused");
        assert_eq!(
            api.queues("nope").await.unwrap_err().code(),
            "VhostNotFound"
        );
        // basic.get: a look that puts the message back, then a take.
        let look = s.get_message("depth", false).await.unwrap().unwrap();
        assert_eq!((&look.body[..], look.redelivered), (&b"0"[..], false));
        let took = s.get_message("depth", true).await.unwrap().unwrap();
        assert_eq!((&took.body[..], took.redelivered), (&b"0"[..], true));
        assert_eq!(s.purge_queue("depth").await.unwrap(), 4);
        assert_eq!(s.get_message("depth", true).await.unwrap(), None);
        assert_eq!(rabbit.list_queues("/"), vec![("depth".to_string(), 0)]);
        // The broker closes our connection: the session is told, in words.
        rabbit.ctl_ok(&["close_all_connections", "closed by the test"]);
        let lost = tokio::time::timeout(LIMIT, lost_rx).await.unwrap().unwrap();
        assert_eq!(lost.code(), "ConnectionClosed", "{lost}");
        assert!(lost.to_string().contains("closed by the test"), "{lost}");
        assert!(!s.is_connected());
    });
}
