//! The load generator's own overhead, side by side in one run: `mqttwb bench pub`'s engine
//! ([`workbench_tools::bench`]) beside the broker benchmarks' raw-socket load generator
//! (`broker/benches/support/client.rs`: pre-encoded packets, batched writes, the limit of what
//! the broker accepts) and a plain rumqttc client loop, against mosquitto and the workbench
//! broker (each its own process, as in `make bench-broker`).
//!
//! One publisher to one subscriber on one topic, 100-byte payloads, QoS 0 and QoS 1, as fast as
//! possible; the rate is messages delivered per second from the first publish to the last
//! delivery. The report gives each generator's rate and its ratio to the raw generator's, and
//! our bench's latency percentiles (from the payloads' timestamps).
//!
//! Run: `make bench-load`. Options: BENCH_MESSAGES (default 200000), BENCH_ROUNDS (3).

#[path = "../../broker/benches/support/mod.rs"]
mod support;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::client::{self, publish_many, receive, Client};
use support::{env_usize, median, rate, BrokerProcess, Kind, Table};
use workbench_tools::bench::{Bench, BenchSpec, Mode};
use workbench_tools::Target;
use workbench_wire::codec::QoS;

const QUIET: Duration = Duration::from_secs(3);
const WINDOW: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generator {
    Raw,
    Ours,
    Rumqttc,
}

impl Generator {
    const ALL: [Generator; 3] = [Generator::Raw, Generator::Ours, Generator::Rumqttc];
    fn name(self) -> &'static str {
        match self {
            Generator::Raw => "raw sockets (broker benches)",
            Generator::Ours => "mqttwb bench",
            Generator::Rumqttc => "rumqttc loop",
        }
    }
}

/// Messages delivered per second, and our bench's p50/p99 latency when it ran.
type Outcome = Result<(f64, Option<(f64, f64)>), String>;

async fn raw(address: SocketAddr, qos: QoS, total: usize, tag: &str) -> Outcome {
    let topic = format!("load/raw/{tag}");
    let mut subscriber = Client::connect(address, &format!("raw-{tag}-sub")).await?;
    subscriber
        .subscribe(1, std::slice::from_ref(&topic), qos)
        .await?;
    let mut publisher = Client::connect(address, &format!("raw-{tag}-pub")).await?;
    let receiver =
        tokio::spawn(async move { receive(&mut subscriber, total, QUIET, |_, _| {}).await });
    let payload = client::payload();
    let start = Instant::now();
    publish_many(
        &mut publisher,
        total,
        qos,
        false,
        WINDOW,
        &payload,
        |_, t| t.push_str(&topic),
    )
    .await?;
    let got = receiver.await.map_err(|e| e.to_string())?;
    publisher.disconnect().await;
    let seconds = got
        .last
        .map_or(f64::NAN, |l| l.duration_since(start).as_secs_f64());
    Ok((got.count as f64 / seconds, None))
}

async fn ours(address: SocketAddr, qos: QoS, total: usize, tag: &str) -> Outcome {
    let spec = BenchSpec {
        mode: Mode::Pub,
        clients: 1,
        subscribers: 1,
        rate: 0.0,
        qos,
        size: client::PAYLOAD,
        topic: format!("load/ours/{tag}"),
        count: Some(total as u64),
        duration: None,
        window: WINDOW,
        client_prefix: format!("ours-{tag}"),
        ..BenchSpec::default()
    };
    let mut bench = Bench::start(spec, Target::tcp(address));
    let stats = bench.wait().await;
    if !stats.errors.is_empty() {
        return Err(format!("{:?}", stats.errors));
    }
    Ok((
        stats.receive_rate,
        Some((stats.latency.p50, stats.latency.p99)),
    ))
}

fn rumqttc_qos(qos: QoS) -> rumqttc::QoS {
    if qos == QoS::AtMostOnce {
        rumqttc::QoS::AtMostOnce
    } else {
        rumqttc::QoS::AtLeastOnce
    }
}

async fn rumqttc_loop(address: SocketAddr, qos: QoS, total: usize, tag: &str) -> Outcome {
    let topic = format!("load/rumqttc/{tag}");
    let options = |id: String| {
        let mut o = MqttOptions::new(id, address.ip().to_string(), address.port());
        o.set_keep_alive(Duration::from_secs(60));
        o
    };
    let (subscriber, mut sub_loop) = AsyncClient::new(options(format!("rc-{tag}-sub")), 1000);
    subscriber
        .subscribe(&topic, rumqttc_qos(qos))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), sub_loop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => break,
            Ok(Ok(_)) => {}
            other => return Err(format!("no SUBACK: {other:?}")),
        }
    }
    let receiver = tokio::spawn(async move {
        let (mut count, mut last) = (0, None);
        while count < total {
            match tokio::time::timeout(QUIET, sub_loop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                    count += 1;
                    last = Some(Instant::now());
                }
                Ok(Ok(_)) => {}
                _ => break,
            }
        }
        drop(subscriber);
        (count, last)
    });
    let (publisher, mut pub_loop) = AsyncClient::new(options(format!("rc-{tag}-pub")), 1000);
    let pumping = tokio::spawn(async move { while pub_loop.poll().await.is_ok() {} });
    let payload = client::payload();
    let start = Instant::now();
    for _ in 0..total {
        publisher
            .publish(&topic, rumqttc_qos(qos), false, payload.clone())
            .await
            .map_err(|e| e.to_string())?;
    }
    let (count, last) = receiver.await.map_err(|e| e.to_string())?;
    pumping.abort();
    let seconds = last.map_or(f64::NAN, |l: Instant| l.duration_since(start).as_secs_f64());
    Ok((count as f64 / seconds, None))
}

fn main() {
    let total = env_usize("BENCH_MESSAGES", 200_000);
    let rounds = env_usize("BENCH_ROUNDS", 3);
    workbench_core::install_crypto_provider();
    println!(
        "Load generators, 1 publisher -> 1 subscriber, {total} x {} B, median of {rounds} rounds; {}\n",
        client::PAYLOAD,
        support::machine()
    );
    let runtime = support::runtime();
    let kinds = [Kind::Workbench, Kind::Mosquitto];
    let mut table = Table::new(&[
        "broker",
        "QoS",
        "generator",
        "msg/s",
        "vs raw",
        "p50 / p99 ms",
    ]);
    for kind in kinds {
        let broker = BrokerProcess::start(kind);
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            let mut rates: Vec<Vec<f64>> = vec![Vec::new(); 3];
            let mut latency = Vec::new();
            for round in 0..rounds {
                // The generators' order rotates from round to round.
                for i in 0..Generator::ALL.len() {
                    let g = Generator::ALL[(i + round) % Generator::ALL.len()];
                    let tag = format!("{}-{}-{round}", kind.name(), qos as u8);
                    let outcome = runtime.block_on(async {
                        match g {
                            Generator::Raw => raw(broker.address, qos, total, &tag).await,
                            Generator::Ours => ours(broker.address, qos, total, &tag).await,
                            Generator::Rumqttc => {
                                rumqttc_loop(broker.address, qos, total, &tag).await
                            }
                        }
                    });
                    match outcome {
                        Ok((r, l)) => {
                            rates[g as usize].push(r);
                            latency.extend(l);
                        }
                        Err(e) => eprintln!("{} {} QoS {}: {e}", kind.name(), g.name(), qos as u8),
                    }
                }
            }
            let raw_rate = median(&rates[0]);
            for g in Generator::ALL {
                let r = median(&rates[g as usize]);
                let lat = if g == Generator::Ours && !latency.is_empty() {
                    let p50: Vec<f64> = latency.iter().map(|l| l.0).collect();
                    let p99: Vec<f64> = latency.iter().map(|l| l.1).collect();
                    format!("{:.2} / {:.2}", median(&p50), median(&p99))
                } else {
                    String::new()
                };
                table.row(vec![
                    kind.name().into(),
                    (qos as u8).to_string(),
                    g.name().into(),
                    rate(r),
                    format!("{:.2}x", r / raw_rate),
                    lat,
                ]);
            }
        }
        drop(broker);
    }
    table.print();
}
