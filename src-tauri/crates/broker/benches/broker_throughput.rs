//! Broker throughput, side by side in one run: the workbench broker (its own process, through
//! this crate's example), bare rumqttd 0.20 (its own process, through the other example) and
//! mosquitto, plus the workbench broker as the app runs it (in this process, every packet feeding
//! the live traffic model through the app's hub).
//!
//! One publisher to one subscriber on one topic, 100-byte payloads, QoS 0 and QoS 1, driven two
//! ways:
//! - raw: MQTT 3.1.1 clients on plain sockets (pre-encoded packets, batched writes, a window of
//!   200 unacknowledged QoS 1 publishes), which measures the brokers rather than a client;
//! - rumqttc 0.25: one rumqttc publisher and one rumqttc subscriber (as the workbench's sessions
//!   and many Rust devices talk), default options.
//!
//! Each case runs BENCH_ROUNDS rounds (default 3) with the brokers' order rotating; the report
//! gives the median rate (messages delivered per second, from the first publish to the last
//! delivery) and the ratios workbench/rumqttd and workbench/mosquitto. The load generator shares
//! the machine with the broker under test: read the ratios, not the absolute numbers.
//!
//! Run: `make bench-broker` (which builds the examples first), or
//! `cargo build --release -p workbench-broker --examples && cargo bench -p workbench-broker
//! --bench broker_throughput`. Options: BENCH_MESSAGES (default 200000), BENCH_ROUNDS (3).

mod support;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::client::{self, publish_many, receive, Client, End, PAYLOAD};
use support::{env_usize, median, order, rate, BrokerProcess, Kind, Table};
use workbench_broker::{Broker, BrokerSettings};
use workbench_core::hub::TrafficHub;
use workbench_traffic::source::SourceLimits;
use workbench_wire::codec::QoS;
use workbench_wire::SourceId;

/// A subscriber that hears nothing for this long has everything it will get.
const QUIET: Duration = Duration::from_secs(3);
/// Unacknowledged QoS 1 publishes of the raw publisher.
const RAW_WINDOW: usize = 200;
/// Requests rumqttc's client may queue for its event loop.
const RUMQTTC_CAPACITY: usize = 1_000;

/// The configurations measured, in the order of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Config {
    Broker(Kind),
    /// The workbench broker in this process, feeding the traffic model.
    WithModel,
}

impl Config {
    fn name(self) -> &'static str {
        match self {
            Config::Broker(kind) => kind.name(),
            Config::WithModel => "workbench in process + traffic model",
        }
    }
}

/// One run: messages delivered, and the time from the first publish to the last delivery.
struct Run {
    delivered: usize,
    seconds: f64,
    end: End,
}

impl Run {
    fn rate(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }
}

/// Raw sockets: subscribe, then publish `total` as fast as the broker takes them.
async fn raw_run(address: SocketAddr, qos: QoS, total: usize, tag: String) -> Result<Run, String> {
    let topic = format!("bench/raw/{tag}");
    let mut subscriber = Client::connect(address, &format!("raw-{tag}-sub")).await?;
    let codes = subscriber
        .subscribe(1, std::slice::from_ref(&topic), qos)
        .await?;
    if codes.first().is_none_or(|c| *c >= 0x80) {
        return Err(format!("subscription refused: {codes:?}"));
    }
    let mut publisher = Client::connect(address, &format!("raw-{tag}-pub")).await?;
    let receiver =
        tokio::spawn(async move { receive(&mut subscriber, total, QUIET, |_, _| {}).await });
    let payload = client::payload();
    let start = Instant::now();
    let published = publish_many(
        &mut publisher,
        total,
        qos,
        false,
        RAW_WINDOW,
        &payload,
        |_, t| t.push_str(&topic),
    )
    .await;
    let got = receiver.await.map_err(|e| e.to_string())?;
    publisher.disconnect().await;
    published?;
    Ok(Run {
        delivered: got.count,
        seconds: got
            .last
            .map_or(f64::NAN, |l| l.duration_since(start).as_secs_f64()),
        end: got.end,
    })
}

fn rumqttc_options(address: SocketAddr, client_id: String) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, address.ip().to_string(), address.port());
    options.set_keep_alive(Duration::from_secs(60));
    options
}

fn rumqttc_qos(qos: QoS) -> rumqttc::QoS {
    match qos {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    }
}

/// Polls `eventloop` until `done` says an event is the one awaited (10 s at most).
async fn poll_until(
    eventloop: &mut rumqttc::EventLoop,
    what: &str,
    done: impl Fn(&Event) -> bool,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, eventloop.poll()).await {
            Err(_) => return Err(format!("no {what} within 10 s")),
            Ok(Err(e)) => return Err(format!("waiting for {what}: {e}")),
            Ok(Ok(event)) if done(&event) => return Ok(()),
            Ok(Ok(_)) => {}
        }
    }
}

/// rumqttc clients: one subscriber, one publisher, in this process.
async fn rumqttc_run(
    address: SocketAddr,
    qos: QoS,
    total: usize,
    tag: String,
) -> Result<Run, String> {
    let topic = format!("bench/rumqttc/{tag}");
    let (subscriber, mut sub_loop) = AsyncClient::new(
        rumqttc_options(address, format!("rc-{tag}-sub")),
        RUMQTTC_CAPACITY,
    );
    subscriber
        .subscribe(&topic, rumqttc_qos(qos))
        .await
        .map_err(|e| e.to_string())?;
    poll_until(&mut sub_loop, "SUBACK", |e| {
        matches!(e, Event::Incoming(Packet::SubAck(_)))
    })
    .await?;
    let receiver = tokio::spawn(async move {
        let (mut count, mut last, mut end) = (0, None, End::All);
        while count < total {
            match tokio::time::timeout(QUIET, sub_loop.poll()).await {
                Err(_) => {
                    end = End::Quiet;
                    break;
                }
                Ok(Err(_)) => {
                    end = End::Closed;
                    break;
                }
                Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                    count += 1;
                    last = Some(Instant::now());
                }
                Ok(Ok(_)) => {}
            }
        }
        drop(subscriber);
        (count, last, end)
    });
    let (publisher, mut pub_loop) = AsyncClient::new(
        rumqttc_options(address, format!("rc-{tag}-pub")),
        RUMQTTC_CAPACITY,
    );
    poll_until(&mut pub_loop, "CONNACK", |e| {
        matches!(e, Event::Incoming(Packet::ConnAck(_)))
    })
    .await?;
    // The publisher's event loop runs until the subscriber is done (then it is aborted).
    let pumping = tokio::spawn(async move {
        loop {
            if let Err(e) = pub_loop.poll().await {
                return e.to_string();
            }
        }
    });
    let payload = client::payload();
    let start = Instant::now();
    for _ in 0..total {
        if let Err(e) = publisher
            .publish(&topic, rumqttc_qos(qos), false, payload.clone())
            .await
        {
            pumping.abort();
            return Err(format!("publish: {e}"));
        }
    }
    let (count, last, end) = receiver.await.map_err(|e| e.to_string())?;
    pumping.abort();
    Ok(Run {
        delivered: count,
        seconds: last.map_or(f64::NAN, |l: Instant| l.duration_since(start).as_secs_f64()),
        end,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Raw,
    Rumqttc,
}

fn main() {
    let total = env_usize("BENCH_MESSAGES", 200_000);
    let rounds = env_usize("BENCH_ROUNDS", 3).max(1);
    let rt = support::runtime();
    let _context = rt.enter();

    let processes: Vec<BrokerProcess> =
        Kind::ALL.iter().map(|k| BrokerProcess::start(*k)).collect();
    // The broker as the app runs it: every packet also feeds the live traffic model, here on the
    // load generator's runtime (the app runs it on its own).
    let hub = TrafficHub::new(SourceLimits::default());
    let (events_tx, events_rx) = tokio::sync::mpsc::channel(1024);
    rt.spawn(hub.clone().ingest_broker(events_rx));
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let observed = rt
        .block_on(Broker::start(settings, Some(events_tx)))
        .expect("start the observed broker in this process");
    let address_of = |config: Config| match config {
        Config::Broker(kind) => {
            processes
                .iter()
                .find(|p| p.kind == kind)
                .expect("every broker is started")
                .address
        }
        Config::WithModel => observed.local_addr(),
    };

    println!("# Broker throughput: 1 publisher → 1 subscriber, one topic");
    println!("Machine: {}.", support::machine());
    println!(
        "{PAYLOAD}-byte payloads, {total} messages per run, {rounds} rounds, order rotating. \
         Rate = messages delivered / (last delivery - first publish). The workbench broker, \
         rumqttd and mosquitto run as processes of their own; mosquitto with its defaults \
         (max_queued_messages 1000, max_inflight_messages 20).\n"
    );
    let configs = [
        Config::Broker(Kind::Workbench),
        Config::Broker(Kind::Rumqttd),
        Config::Broker(Kind::Mosquitto),
        Config::WithModel,
    ];
    for driver in [Driver::Raw, Driver::Rumqttc] {
        let (title, configs): (&str, &[Config]) = match driver {
            Driver::Raw => ("raw sockets", &configs),
            Driver::Rumqttc => ("rumqttc 0.25 clients", &configs[..3]),
        };
        println!("## Driven by {title}");
        let mut table = Table::new(&[
            "broker",
            "QoS",
            "msg/s (median)",
            "rounds (msg/s)",
            "delivered (each round)",
        ]);
        let mut ratios = Vec::new();
        for q in [0u8, 1] {
            let mut rates: Vec<(Config, f64, String)> = Vec::new();
            for round in 0..rounds {
                let kinds: Vec<Kind> = order(&Kind::ALL, round);
                let mut round_configs: Vec<Config> =
                    kinds.into_iter().map(Config::Broker).collect();
                if configs.contains(&Config::WithModel) {
                    round_configs.push(Config::WithModel);
                }
                for config in round_configs {
                    let address = address_of(config);
                    let tag = format!("{q}-{round}");
                    let result = match driver {
                        Driver::Raw => rt.block_on(raw_run(address, client::qos(q), total, tag)),
                        Driver::Rumqttc => {
                            rt.block_on(rumqttc_run(address, client::qos(q), total, tag))
                        }
                    };
                    let (value, delivered) = match &result {
                        Ok(run) => (
                            run.rate(),
                            format!(
                                "{}{}",
                                run.delivered,
                                if run.end == End::All {
                                    String::new()
                                } else {
                                    format!(" ({:?})", run.end)
                                }
                            ),
                        ),
                        Err(e) => (f64::NAN, format!("failed: {e}")),
                    };
                    println!(
                        "  {title} QoS {q} round {round} {:<36} {:>9} msg/s, {delivered} of {total}",
                        config.name(),
                        rate(value)
                    );
                    rates.push((config, value, delivered));
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
            let medians: Vec<(Config, f64)> = configs
                .iter()
                .map(|c| {
                    let mine: Vec<&(Config, f64, String)> =
                        rates.iter().filter(|r| r.0 == *c).collect();
                    let values: Vec<f64> = mine.iter().map(|r| r.1).collect();
                    let m = median(&values);
                    table.row(vec![
                        c.name().into(),
                        q.to_string(),
                        rate(m),
                        values
                            .iter()
                            .map(|v| rate(*v))
                            .collect::<Vec<_>>()
                            .join(", "),
                        mine.iter()
                            .map(|r| r.2.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]);
                    (*c, m)
                })
                .collect();
            let of = |c: Config| medians.iter().find(|m| m.0 == c).map_or(f64::NAN, |m| m.1);
            let workbench = of(Config::Broker(Kind::Workbench));
            ratios.push(format!(
                "QoS {q}: workbench/rumqttd {:.2}x, workbench/mosquitto {:.2}x",
                workbench / of(Config::Broker(Kind::Rumqttd)),
                workbench / of(Config::Broker(Kind::Mosquitto)),
            ));
            if configs.contains(&Config::WithModel) {
                ratios.push(format!(
                    "QoS {q}: workbench with the traffic model / workbench process {:.2}x",
                    of(Config::WithModel) / workbench
                ));
            }
        }
        println!();
        table.print();
        for line in ratios {
            println!("{line}");
        }
        println!();
    }
    let (messages, topics) =
        hub.read_source(&SourceId::Broker, |m| (m.tree.messages(), m.tree.len()));
    println!(
        "Traffic model after the runs: {messages} messages over {topics} topics; packet events \
         the broker dropped because the model fell behind: {}.",
        observed.events_dropped()
    );
    rt.block_on(observed.stop());
}
