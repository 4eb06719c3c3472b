//! The service against a real RabbitMQ (one node per test; ignored in `make test`, run by `make
//! test-rabbitmq`), Python's pika as the independent producer and consumer.

use super::*;
use workbench_amqp::AmqpProperties;
use workbench_testkit::rabbitmq::{pika_async as pika, RabbitMq};

/// RabbitMQ's tutorial consumer, taking one message (basic.get until one comes).
const PIKA_RECEIVE: &str = r#"
import sys, time, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.queue_declare(queue=sys.argv[2])
deadline = time.time() + 30
while time.time() < deadline:
    method, props, body = ch.basic_get(queue=sys.argv[2], auto_ack=True)
    if method:
        print(body.decode(), props.content_type, sep="|")
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
    properties=pika.BasicProperties(content_type="text/plain"))
conn.close()
"#;

/// Waits (polling the broker's own tool) until `done`.
fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn depth(rabbit: &RabbitMq, queue: &str) -> Option<u64> {
    rabbit
        .list_queues("/")
        .into_iter()
        .find(|(name, _)| name == queue)
        .map(|(_, n)| n)
}

fn text(routing_key: &str, body: &str) -> AmqpPublish {
    AmqpPublish {
        routing_key: routing_key.into(),
        body: body.into(),
        properties: AmqpProperties {
            content_type: Some("text/plain".into()),
            ..AmqpProperties::default()
        },
        ..AmqpPublish::default()
    }
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn hello_world_both_ways_into_the_topic_tree() {
    let rabbit = RabbitMq::start();
    let r = rig();
    let url = rabbit.url("/");
    let view = r.service.save_profile(profile(&url), None).unwrap();
    let id = view.profile.id.clone();
    assert_eq!(
        view.profile.url,
        format!("amqp://guest@127.0.0.1:{}/%2f", rabbit.amqp_port)
    );
    assert_eq!(r.secrets.get(&secret_key(&id)).as_deref(), Some("guest"));
    let file = std::fs::read_to_string(r.config.path().join(AMQP_PROFILES_FILE)).unwrap();
    assert!(!file.contains("guest:guest"), "{file}");
    r.runtime.block_on(async {
        let v = r.service.connect(&id).await.expect("connected");
        assert_eq!(v.state, AmqpState::Connected);
        // The note's Hello World in one click.
        let steps = r.service.hello_world(&id).await.unwrap();
        let done: Vec<_> = steps.iter().map(|s| (s.what.as_str(), s.ok)).collect();
        assert_eq!(
            done,
            [
                ("amqp.hello.declare", true),
                ("amqp.hello.publish", true),
                ("amqp.hello.receive", true)
            ],
            "{steps:?}"
        );
        assert!(steps[2].detail.contains("'Hello World!'"), "{steps:?}");
        // We send, pika receives.
        let outcome = r.service.publish(&id, &text("hello", "Hello World!")).await;
        assert_eq!(outcome.unwrap(), PublishOutcome::Accepted);
        let got = pika(PIKA_RECEIVE, vec![url.clone(), "hello".into()]).await;
        assert_eq!(got.trim(), "Hello World!|text/plain");
        // Pika sends, our manual-ack consumer receives it, and the topic tree shows it.
        let spec = ConsumeSpec {
            queue: "hello".into(),
            ack: AckMode::Manual,
            prefetch: 10,
            ..ConsumeSpec::default()
        };
        let tag = r.service.consume(&id, &spec).await.unwrap();
        let args = vec![url.clone(), "hello".into(), "Hello from pika".into()];
        pika(PIKA_SEND, args).await;
        let list = unsettled(&r, &tag, |d| !d.is_empty()).await;
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0].preview.as_str(), list[0].routing_key.as_str()),
            ("Hello from pika", "hello")
        );
        assert!(!list[0].redelivered);
        let source = SourceId::Session(id.clone());
        let shown = || {
            r.hub.read_source(&source, |m| {
                let node = m.tree.find("(default)/hello")?;
                Some(m.tree.node(node)?.preview().to_vec())
            })
        };
        wait("the delivery in the topic tree", || {
            shown().as_deref() == Some(b"Hello from pika")
        });
        r.service
            .settle(
                &id,
                &tag,
                list[0].delivery_tag,
                AmqpSettle::Ack,
                false,
                false,
            )
            .await
            .unwrap();
        unsettled(&r, &tag, |d| d.is_empty()).await;
        wait("the queue empty after the ack", || {
            depth(&rabbit, "hello") == Some(0)
        });
        r.service.disconnect(&id).await.unwrap();
        assert_eq!(r.service.view(&id).unwrap().state, AmqpState::Disconnected);
    });
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn a_nack_with_requeue_is_redelivered_through_settle() {
    let rabbit = RabbitMq::start();
    let r = rig();
    let id = r
        .service
        .save_profile(profile(&rabbit.url("/")), None)
        .unwrap()
        .profile
        .id;
    r.runtime.block_on(async {
        r.service.connect(&id).await.expect("connected");
        r.service
            .declare_queue(&id, &QueueSpec::named("work"))
            .await
            .unwrap();
        let spec = ConsumeSpec {
            queue: "work".into(),
            prefetch: 5,
            ..ConsumeSpec::default()
        };
        let tag = r.service.consume(&id, &spec).await.unwrap();
        r.service
            .publish(&id, &text("work", "task 1"))
            .await
            .unwrap();
        let first = unsettled(&r, &tag, |d| d.len() == 1).await;
        assert!(!first[0].redelivered);
        let t1 = first[0].delivery_tag;
        r.service
            .settle(&id, &tag, t1, AmqpSettle::Nack, true, false)
            .await
            .unwrap();
        let again = unsettled(&r, &tag, |d| d.len() == 1 && d[0].redelivered).await;
        assert_eq!(again[0].preview, "task 1");
        assert_ne!(again[0].delivery_tag, t1);
        // Settling what is not waiting is refused in words (and the consumer lives on).
        let e = r
            .service
            .settle(&id, &tag, t1, AmqpSettle::Ack, false, false)
            .await
            .unwrap_err();
        assert!(e.message.contains("not waiting"), "{}", e.message);
        let e = r
            .service
            .settle(
                &id,
                &tag,
                again[0].delivery_tag,
                AmqpSettle::Reject,
                false,
                true,
            )
            .await
            .unwrap_err();
        assert!(e.message.contains("use nack"), "{}", e.message);
        // Two more, then one ack with `multiple` settles all three.
        for body in ["task 2", "task 3"] {
            r.service.publish(&id, &text("work", body)).await.unwrap();
        }
        let three = unsettled(&r, &tag, |d| d.len() == 3).await;
        // A window that opens now reads the same list.
        let listed = r.service.consumers(&id).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].consumer_tag.as_str(), listed[0].queue.as_str()),
            (tag.as_str(), "work")
        );
        assert_eq!((listed[0].prefetch, listed[0].deliveries.len()), (5, 3));
        let last = three.iter().map(|p| p.delivery_tag).max().unwrap();
        r.service
            .settle(&id, &tag, last, AmqpSettle::Ack, false, true)
            .await
            .unwrap();
        unsettled(&r, &tag, |d| d.is_empty()).await;
        wait("the work queue empty", || depth(&rabbit, "work") == Some(0));
        r.service.cancel(&id, &tag).await.unwrap();
        let failure = notice(&r, |n| match n {
            AmqpNotice::ConsumerEnded {
                consumer_tag,
                failure,
                ..
            } if consumer_tag == tag => Some(failure),
            _ => None,
        })
        .await;
        assert_eq!(failure, None);
        // Quitting closes the session: the broker sees no connection left.
        assert_eq!(r.service.shutdown(LIMIT).await, 0);
    });
    wait("no connection left", || {
        rabbit
            .ctl_ok(&["list_connections", "--quiet", "--no-table-headers", "name"])
            .trim()
            .is_empty()
    });
    assert_eq!(r.service.view(&id).unwrap().state, AmqpState::Disconnected);
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn a_wrong_password_and_a_lost_connection_are_told_in_words() {
    let rabbit = RabbitMq::start();
    let r = rig();
    let url = format!("amqp://guest@127.0.0.1:{}/%2f", rabbit.amqp_port);
    let mut p = r
        .service
        .save_profile(profile(&url), Some("wrong".into()))
        .unwrap()
        .profile;
    let id = p.id.clone();
    r.runtime.block_on(async {
        let e = r.service.connect(&id).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed, "{}", e.message);
        assert!(e.message.contains("access refused"), "{}", e.message);
        assert!(!e.message.contains("wrong"), "{}", e.message);
        assert_eq!(r.service.view(&id).unwrap().state, AmqpState::Disconnected);
        p.name = "right password".into();
        r.service.save_profile(p, Some("guest".into())).unwrap();
        r.service.connect(&id).await.expect("connected");
        r.service
            .declare_queue(&id, &QueueSpec::named("q"))
            .await
            .unwrap();
        let tag = r
            .service
            .consume(
                &id,
                &ConsumeSpec {
                    queue: "q".into(),
                    ..ConsumeSpec::default()
                },
            )
            .await
            .unwrap();
        // The broker closes every connection (as an operator, or a node shutting down, would).
        rabbit.ctl_ok(&["close_all_connections", "closed by the test"]);
        let failure = notice(&r, |n| match n {
            AmqpNotice::SessionChanged {
                id: i,
                state: AmqpState::Lost(f),
            } if i == id => Some(f),
            _ => None,
        })
        .await;
        assert_eq!(failure.code, "ConnectionClosed");
        assert!(
            failure.message.contains("closed by the test"),
            "{}",
            failure.message
        );
        let ended = notice(&r, |n| match n {
            AmqpNotice::ConsumerEnded {
                consumer_tag,
                failure,
                ..
            } if consumer_tag == tag => Some(failure),
            _ => None,
        })
        .await;
        // The consumer ended with the session's reason.
        assert_eq!(ended, Some(failure));
        assert!(matches!(
            r.service.view(&id).unwrap().state,
            AmqpState::Lost(_)
        ));
        // Connecting again works.
        let v = r.service.connect(&id).await.expect("connected again");
        assert_eq!(v.state, AmqpState::Connected);
    });
}
