//! What a session costs: QoS 1 publishes through a workbench session (rumqttc behind the packet
//! tap, every packet decoded and fed to the traffic model) against bare rumqttc with no tap, to
//! the same mosquitto, in the same run. Reports the ratio; run with `make bench-session`.

use std::sync::Arc;
use std::time::{Duration, Instant};
use workbench_core::hub::TrafficHub;
use workbench_session::payload::PayloadInput;
use workbench_session::profile::MessageProperties;
use workbench_session::secrets::Secrets;
use workbench_session::{ConnectionState, MqttVersion, Profile, PublishRequest, SessionManager};
use workbench_traffic::source::SourceLimits;

const MESSAGES: usize = 50_000;
const ROUNDS: usize = 3;

/// QoS 1 publishes through a session until every PUBACK is in its packet log; messages/s.
async fn through_session(port: u16, round: usize) -> f64 {
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let hub = TrafficHub::new(SourceLimits::default());
    tokio::spawn(hub.clone().ingest_sessions(rx));
    let sessions = Arc::new(SessionManager::new(None, Secrets::memory_only("bench"), tx));
    let mut profile = Profile::new("bench", "127.0.0.1", port, MqttVersion::V311);
    profile.client_id = format!("bench-session-{round}");
    let (view, _) = sessions.save(profile, None).expect("save");
    let id = view.profile.id;
    sessions.connect(&id).expect("connect");
    while !matches!(
        sessions.get(&id).expect("get").state,
        ConnectionState::Connected { .. }
    ) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let source = workbench_wire::SourceId::Session(id.to_string());
    let start = Instant::now();
    for i in 0..MESSAGES {
        sessions
            .publish(
                &id,
                PublishRequest {
                    topic: format!("bench/{}", i % 100),
                    payload: PayloadInput::Text("0123456789".repeat(10)),
                    qos: 1,
                    retain: false,
                    properties: MessageProperties::default(),
                },
            )
            .await
            .expect("publish");
    }
    // Every packet reaches the model: CONNECT, CONNACK, then a PUBLISH and a PUBACK per message.
    let mut seen_total = 0u64;
    loop {
        let total = hub.read_source(&source, |s| s.packets_total());
        if total >= 2 + 2 * MESSAGES as u64 {
            break;
        }
        if total == seen_total && start.elapsed() > Duration::from_secs(120) {
            panic!("stalled at {total} packets");
        }
        seen_total = total;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = MESSAGES as f64 / start.elapsed().as_secs_f64();
    sessions.disconnect(&id, true).expect("disconnect");
    sessions.wait_stopped(&id).await;
    rate
}

/// The same with rumqttc alone (no tap, no traffic model); messages/s.
async fn bare_rumqttc(port: u16, round: usize) -> f64 {
    let mut options = rumqttc::MqttOptions::new(format!("bench-bare-{round}"), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(60));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 256);
    let start = Instant::now();
    let publisher = tokio::spawn(async move {
        for i in 0..MESSAGES {
            client
                .publish(
                    format!("bench/{}", i % 100),
                    rumqttc::QoS::AtLeastOnce,
                    false,
                    "0123456789".repeat(10),
                )
                .await
                .expect("publish");
        }
        client
    });
    let mut acked = 0;
    while acked < MESSAGES {
        if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) =
            eventloop.poll().await.expect("poll")
        {
            acked += 1;
        }
    }
    let rate = MESSAGES as f64 / start.elapsed().as_secs_f64();
    let client = publisher.await.expect("publisher");
    let _ = client.disconnect().await;
    rate
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    workbench_core::install_crypto_provider();
    let broker = workbench_testkit::mosquitto::Mosquitto::start(&[], None);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("{MESSAGES} QoS 1 publishes of 100 bytes to mosquitto, {ROUNDS} rounds alternating");
    let (mut tapped, mut bare) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let b = runtime.block_on(bare_rumqttc(broker.port, round));
        let s = runtime.block_on(through_session(broker.port, round));
        println!("  round {round}: bare rumqttc {b:>9.0} msg/s, workbench session {s:>9.0} msg/s");
        bare.push(b);
        tapped.push(s);
    }
    let (b, s) = (median(bare), median(tapped));
    println!(
        "median: bare {b:.0} msg/s, session {s:.0} msg/s: the session runs at {:.2}x bare rumqttc",
        s / b
    );
}
