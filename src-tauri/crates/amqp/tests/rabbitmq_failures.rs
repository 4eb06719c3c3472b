//! Failures against a real RabbitMQ (see `workbench_testkit::rabbitmq`), each told in words: a
//! wrong password, an unknown vhost, TLS to a plain port and to an unknown CA, a queue declared
//! again with other settings, a missing queue; and amqps with the broker's CA. Ignored in `make
//! test` (a node takes 5 to 20 s to start): `make test-rabbitmq` runs them.

use workbench_amqp::*;
use workbench_testkit::rabbitmq::RabbitMq;

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

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn failures_are_told_in_words() {
    let rabbit = RabbitMq::start();
    let port = rabbit.amqp_port;
    runtime().block_on(async {
        let attempt = |url: String| async move {
            let target = AmqpTarget::parse(&url).unwrap();
            match AmqpSession::connect(&target, AmqpOptions::default(), None).await {
                Ok(_) => panic!("{url} connected"),
                Err(e) => e,
            }
        };
        let e = attempt(format!("amqp://guest:wrong@127.0.0.1:{port}/%2f")).await;
        assert_eq!(e.code(), "AccessRefused", "{e}");
        assert!(e.to_string().starts_with("access refused"), "{e}");
        let e = attempt(format!("amqp://guest:guest@127.0.0.1:{port}/nope")).await;
        assert_eq!(e.code(), "VhostNotFound", "{e}");
        assert!(e.to_string().contains("\"nope\" does not exist"), "{e}");
        let e = attempt(format!("amqps://guest:guest@127.0.0.1:{port}/%2f")).await;
        assert_eq!(e.code(), "Tls", "{e}");

        let s = connect(&rabbit.url("/")).await;
        // The broker closing a channel (as it does after each failed declaration below) is not
        // a lost connection: the first loss told is the forced close at the end.
        let (lost_tx, lost_rx) = tokio::sync::oneshot::channel();
        s.on_connection_lost(move |e| {
            let _ = lost_tx.send(e);
        });
        s.declare_queue(&QueueSpec::named("settings"))
            .await
            .unwrap();
        let e = s
            .declare_queue(&QueueSpec {
                durable: true,
                ..QueueSpec::named("settings")
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), "PreconditionFailed", "{e}");
        assert!(e.to_string().contains("durable"), "{e}");
        let e = s
            .declare_queue(&QueueSpec {
                passive: true,
                ..QueueSpec::named("missing")
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), "NotFound", "{e}");
        assert!(e.to_string().contains("missing"), "{e}");
        // The session goes on after the broker closed the channel of a failed declaration.
        let q = s
            .declare_queue(&QueueSpec::named("settings"))
            .await
            .unwrap();
        assert_eq!(q.name, "settings");
        let e = s
            .consume(&ConsumeSpec {
                queue: "missing".into(),
                ..ConsumeSpec::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), "NotFound", "{e}");
        assert!(s.is_connected());
        rabbit.ctl_ok(&["close_all_connections", "test"]);
        let lost = tokio::time::timeout(std::time::Duration::from_secs(60), lost_rx)
            .await
            .expect("the loss is told")
            .expect("told once");
        assert_eq!(lost.code(), "ConnectionClosed", "{lost}");
    });
}

#[test]
#[ignore = "needs rabbitmq-server and pika: make test-rabbitmq"]
fn amqps_works_with_the_brokers_ca_and_fails_in_words_without_it() {
    let certs = tempfile::tempdir().unwrap();
    let ca = workbench_testkit::mosquitto::TestCa::create(certs.path());
    let rabbit = RabbitMq::start_tls(&ca);
    let url = format!(
        "amqps://guest:guest@localhost:{}/%2f",
        rabbit.amqps_port.unwrap()
    );
    let target = AmqpTarget::parse(&url).unwrap();
    runtime().block_on(async {
        workbench_core::install_crypto_provider();
        // The system's roots do not know this CA.
        let e = match AmqpSession::connect(&target, AmqpOptions::default(), None).await {
            Ok(_) => panic!("a certificate from an unknown CA was accepted"),
            Err(e) => e,
        };
        assert_eq!(e.code(), "Tls", "{e}");
        assert!(e.to_string().contains("certificate"), "{e}");
        let options = AmqpOptions {
            ca_pem: Some(std::fs::read_to_string(&ca.ca).unwrap()),
            ..AmqpOptions::default()
        };
        let s = AmqpSession::connect(&target, options, None).await.unwrap();
        s.declare_queue(&QueueSpec::named("over-tls"))
            .await
            .unwrap();
        let outcome = s
            .publish(&OutgoingMessage {
                routing_key: "over-tls".into(),
                body: "secret".into(),
                ..OutgoingMessage::default()
            })
            .await
            .unwrap();
        assert_eq!(outcome, PublishOutcome::Accepted);
        assert_eq!(rabbit.list_queues("/"), vec![("over-tls".to_string(), 1)]);
    });
}

#[tokio::test]
async fn nothing_listening_is_connection_refused() {
    let port = workbench_testkit::mosquitto::free_port();
    let target = AmqpTarget::parse(&format!("amqp://127.0.0.1:{port}")).unwrap();
    let e = match AmqpSession::connect(&target, AmqpOptions::default(), None).await {
        Ok(_) => panic!("connected to nothing"),
        Err(e) => e,
    };
    assert_eq!(e.code(), "ConnectionRefused", "{e}");
    assert!(e.to_string().contains("connection refused"), "{e}");
}
