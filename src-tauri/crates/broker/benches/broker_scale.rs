//! Scale like a real broker: the workbench broker, bare rumqttd 0.20 and mosquitto, each its own
//! process, measured in the same run by the same load generator (this process, raw MQTT 3.1.1
//! clients over tokio sockets):
//!
//! - idle connections: resident memory each connection adds (at 1,000 and 10,000);
//! - connection rate: CONNECT + CONNACK per second up to 10,000 connections;
//! - fan-out (1 publisher → 100 subscribers) and fan-in (100 publishers → 1 subscriber), QoS 0
//!   and 1: messages delivered per second, and how many of those expected;
//! - many topics: 10,000 publishers on a topic each → 1 subscriber on `#`;
//! - retained replay: 50,000 retained messages to a new `ret/#` subscriber;
//! - latency at a fixed rate below saturation: p50 / p90 / p99 / max.
//!
//! Throughput cases run BENCH_ROUNDS rounds (default 3) with the brokers' order rotating, and
//! report medians; memory and connection cases run BENCH_MEMORY_ROUNDS (default 1). The load
//! generator shares the machine with the broker under test, so the numbers are for comparing
//! brokers with each other, not absolute.
//!
//! Run: `make bench-scale` (which builds the broker examples first). Sizes through the
//! environment: BENCH_IDLE (default "1000,10000"), BENCH_CONNECTIONS (10000), BENCH_SUBSCRIBERS
//! (100), BENCH_FANOUT_MESSAGES (10000, per subscriber), BENCH_PUBLISHERS (100),
//! BENCH_FANIN_MESSAGES (200000, in all), BENCH_TOPICS (10000), BENCH_TOPIC_MESSAGES (5),
//! BENCH_RETAINED (50000), BENCH_LATENCY_RATE (10000 per second), BENCH_LATENCY_MESSAGES
//! (100000); BENCH_ONLY picks cases (comma-separated: idle, connect, fanout, fanin, topics,
//! retained, latency).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::client::{self, open_many, Client, PAYLOAD};
use support::flows::{
    connect_all, fan_in, fan_out, latency_run, many_topics, Flow, LANES, PIPELINE, QUIET, WINDOW,
};
use support::workloads::{replay, store_retained, Replay, REPLAY_QUIET};
use support::{env_usize, mb, median, ms, order, percentile, rate, BrokerProcess, Kind, Table};
use workbench_wire::codec::QoS;

/// Sockets this process keeps for itself besides its clients.
const SPARE_FILES: usize = 200;

struct Sizes {
    rounds: usize,
    memory_rounds: usize,
    idle: Vec<usize>,
    connections: usize,
    subscribers: usize,
    fanout_messages: usize,
    publishers: usize,
    fanin_messages: usize,
    topics: usize,
    topic_messages: usize,
    retained: usize,
    latency_rate: usize,
    latency_messages: usize,
    only: Option<Vec<String>>,
}

impl Sizes {
    fn from_env() -> Sizes {
        let idle = std::env::var("BENCH_IDLE")
            .unwrap_or_else(|_| "1000,10000".into())
            .split(',')
            .map(|n| {
                n.trim()
                    .replace('_', "")
                    .parse()
                    .expect("BENCH_IDLE: numbers")
            })
            .collect();
        Sizes {
            rounds: env_usize("BENCH_ROUNDS", 3).max(1),
            memory_rounds: env_usize("BENCH_MEMORY_ROUNDS", 1).max(1),
            idle,
            connections: env_usize("BENCH_CONNECTIONS", 10_000),
            subscribers: env_usize("BENCH_SUBSCRIBERS", 100),
            fanout_messages: env_usize("BENCH_FANOUT_MESSAGES", 10_000),
            publishers: env_usize("BENCH_PUBLISHERS", 100).max(1),
            fanin_messages: env_usize("BENCH_FANIN_MESSAGES", 200_000),
            topics: env_usize("BENCH_TOPICS", 10_000),
            topic_messages: env_usize("BENCH_TOPIC_MESSAGES", 5),
            retained: env_usize("BENCH_RETAINED", 50_000),
            latency_rate: env_usize("BENCH_LATENCY_RATE", 10_000).max(1),
            latency_messages: env_usize("BENCH_LATENCY_MESSAGES", 100_000),
            only: std::env::var("BENCH_ONLY")
                .ok()
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect()),
        }
    }

    fn runs(&self, case: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|c| c == case))
    }
}

/// How many client sockets fit in this process's open files limit; says so when `wanted` does
/// not.
fn fitting(wanted: usize, what: &str) -> usize {
    let Some(limit) = support::open_files_limit() else {
        return wanted;
    };
    let fits = limit.saturating_sub(SPARE_FILES);
    if wanted > fits {
        println!(
            "NOTE: {what}: {wanted} connections do not fit in the open files limit of {limit} \
             of this process; measuring {fits}"
        );
        fits
    } else {
        wanted
    }
}

/// The brokers, started fresh for a case.
fn start_all() -> Vec<BrokerProcess> {
    Kind::ALL.iter().map(|k| BrokerProcess::start(*k)).collect()
}

fn broker(brokers: &[BrokerProcess], kind: Kind) -> &BrokerProcess {
    brokers
        .iter()
        .find(|b| b.kind == kind)
        .expect("every broker is started")
}

/// Reports brokers that died during a case, with the end of their stderr.
fn check_alive(brokers: &mut [BrokerProcess]) {
    for b in brokers.iter_mut() {
        if let Some(status) = b.exit_status() {
            println!(
                "NOTE: {} exited during this case ({status}); its stderr ends with:\n{}",
                b.kind.name(),
                b.log_tail()
            );
        }
    }
}

fn settle(duration: Duration) {
    std::thread::sleep(duration);
}

// ----- idle connections ------------------------------------------------------------------------

fn idle_connections(rt: &tokio::runtime::Runtime, sizes: &Sizes) {
    println!("## Idle connections: resident memory per connection");
    println!(
        "Raw MQTT 3.1.1 clients send CONNECT (keep-alive {}s, clean session) and stay idle; RSS \
         read from /proc 2 s after the last CONNACK. Added = (RSS - RSS before any client) / \
         connections.\n",
        client::KEEP_ALIVE
    );
    let levels: Vec<usize> = sizes
        .idle
        .iter()
        .map(|n| fitting(*n, "idle connections"))
        .collect();
    let mut table = Table::new(&[
        "broker",
        "round",
        "connections",
        "RSS before",
        "RSS with all",
        "added per connection",
        "time to connect",
    ]);
    for round in 0..sizes.memory_rounds {
        for kind in order(&Kind::ALL, round) {
            let mut broker = BrokerProcess::start(kind);
            settle(Duration::from_secs(1));
            let before = broker.rss_kb().unwrap_or(0);
            let mut clients: Vec<Client> = Vec::new();
            for &level in &levels {
                let more = level.saturating_sub(clients.len());
                let started = Instant::now();
                let opened = rt.block_on(open_many(
                    broker.address,
                    &format!("idle-{round}-{level}"),
                    more,
                    LANES,
                    PIPELINE,
                ));
                let took = started.elapsed();
                match opened {
                    Ok(opened) => clients.extend(opened),
                    Err(e) => {
                        println!("{} at {level} connections: {e}", kind.name());
                        table.row(vec![
                            kind.name().into(),
                            round.to_string(),
                            level.to_string(),
                            mb(before),
                            "failed".into(),
                            e,
                            ms(took),
                        ]);
                        break;
                    }
                }
                settle(Duration::from_secs(2));
                let rss = broker.rss_kb().unwrap_or(0);
                let added = rss.saturating_sub(before) as f64 / clients.len().max(1) as f64;
                table.row(vec![
                    kind.name().into(),
                    round.to_string(),
                    clients.len().to_string(),
                    mb(before),
                    mb(rss),
                    format!("{added:.1} kB"),
                    ms(took),
                ]);
            }
            drop(clients);
            settle(Duration::from_secs(1));
            check_alive(std::slice::from_mut(&mut broker));
        }
    }
    table.print();
}

// ----- connection rate -------------------------------------------------------------------------

fn connection_rate(rt: &tokio::runtime::Runtime, sizes: &Sizes) {
    const TASKS: usize = 8;
    let n = fitting(sizes.connections, "connection rate");
    println!("## Connection rate");
    println!(
        "{n} connections, each a TCP connect, CONNECT and CONNACK, from {TASKS} concurrent tasks \
         (one connection at a time each); all kept open until the last CONNACK, then closed.\n"
    );
    let mut table = Table::new(&[
        "broker",
        "round",
        "connected",
        "time",
        "connections/s",
        "RSS with all",
        "RSS 2 s after closing",
    ]);
    let mut rates: Vec<(Kind, f64)> = Vec::new();
    for round in 0..sizes.memory_rounds {
        for kind in order(&Kind::ALL, round) {
            let mut broker = BrokerProcess::start(kind);
            settle(Duration::from_millis(500));
            let started = Instant::now();
            let result = rt.block_on(connect_all(
                broker.address,
                &format!("rate-{round}"),
                n,
                TASKS,
            ));
            let took = started.elapsed();
            let rss = broker.rss_kb().unwrap_or(0);
            match result {
                Ok(clients) => {
                    let per_second = clients.len() as f64 / took.as_secs_f64();
                    rates.push((kind, per_second));
                    drop(clients);
                    settle(Duration::from_secs(2));
                    table.row(vec![
                        kind.name().into(),
                        round.to_string(),
                        n.to_string(),
                        ms(took),
                        rate(per_second),
                        mb(rss),
                        mb(broker.rss_kb().unwrap_or(0)),
                    ]);
                }
                Err(e) => {
                    table.row(vec![
                        kind.name().into(),
                        round.to_string(),
                        e,
                        ms(took),
                        "-".into(),
                        mb(rss),
                        "-".into(),
                    ]);
                    settle(Duration::from_secs(2));
                }
            }
            check_alive(std::slice::from_mut(&mut broker));
        }
    }
    table.print();
    if sizes.memory_rounds > 1 {
        for kind in Kind::ALL {
            let values: Vec<f64> = rates
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|r| r.1)
                .collect();
            println!(
                "{}: median {} connections/s",
                kind.name(),
                rate(median(&values))
            );
        }
        println!();
    }
}

// ----- message flows ---------------------------------------------------------------------------
/// Runs `run` for each broker and round (order rotating), then prints a table of medians.
fn flow_case<F, Fut>(
    rt: &tokio::runtime::Runtime,
    sizes: &Sizes,
    title: &str,
    qos_levels: &[u8],
    run: F,
) where
    F: Fn(SocketAddr, QoS, String) -> Fut,
    Fut: std::future::Future<Output = Result<Flow, String>>,
{
    let mut brokers = start_all();
    settle(Duration::from_millis(500));
    let mut table = Table::new(&[
        "broker",
        "QoS",
        "delivered/s (median)",
        "rounds (delivered/s)",
        "delivered / expected (each round)",
    ]);
    let mut medians: Vec<(u8, Kind, f64)> = Vec::new();
    for &q in qos_levels {
        let mut results: Vec<(Kind, Result<Flow, String>)> = Vec::new();
        for round in 0..sizes.rounds {
            for kind in order(&Kind::ALL, round) {
                let address = broker(&brokers, kind).address;
                let result = rt.block_on(run(address, client::qos(q), format!("{q}-{round}")));
                match &result {
                    Ok(flow) => {
                        println!(
                            "  {title} QoS {q} round {round} {:<9} {:>9} msg/s, {} of {}{}",
                            kind.name(),
                            rate(flow.rate()),
                            flow.delivered,
                            flow.expected,
                            if flow.short.is_empty() {
                                String::new()
                            } else {
                                format!(" [{}]", short_list(&flow.short))
                            }
                        );
                    }
                    Err(e) => println!(
                        "  {title} QoS {q} round {round} {:<9} failed: {e}",
                        kind.name()
                    ),
                }
                results.push((kind, result));
                settle(Duration::from_millis(500));
            }
        }
        for kind in Kind::ALL {
            let mine: Vec<&Result<Flow, String>> = results
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, r)| r)
                .collect();
            let rates: Vec<f64> = mine
                .iter()
                .map(|r| r.as_ref().map_or(f64::NAN, Flow::rate))
                .collect();
            let counts: Vec<String> = mine
                .iter()
                .map(|r| match r {
                    Ok(f) => format!("{}/{}", f.delivered, f.expected),
                    Err(_) => "failed".into(),
                })
                .collect();
            let m = median(&rates);
            medians.push((q, kind, m));
            table.row(vec![
                kind.name().into(),
                q.to_string(),
                rate(m),
                rates
                    .iter()
                    .map(|r| rate(*r))
                    .collect::<Vec<_>>()
                    .join(", "),
                counts.join(", "),
            ]);
        }
    }
    check_alive(&mut brokers);
    println!();
    table.print();
    for &q in qos_levels {
        let of = |k: Kind| {
            medians
                .iter()
                .find(|(mq, mk, _)| *mq == q && *mk == k)
                .map_or(f64::NAN, |m| m.2)
        };
        println!(
            "QoS {q}: workbench/rumqttd {:.2}x, workbench/mosquitto {:.2}x",
            of(Kind::Workbench) / of(Kind::Rumqttd),
            of(Kind::Workbench) / of(Kind::Mosquitto)
        );
    }
    println!();
}

fn short_list(items: &[String]) -> String {
    let mut shown: Vec<String> = items.iter().take(3).cloned().collect();
    if items.len() > 3 {
        shown.push(format!("and {} more", items.len() - 3));
    }
    shown.join("; ")
}

// ----- retained replay -------------------------------------------------------------------------

async fn retained_run(
    address: SocketAddr,
    n: usize,
    tag: String,
) -> Result<(Duration, Vec<Replay>), String> {
    let stored = store_retained(address, n, &tag).await?;
    let mut replays = Vec::new();
    for q in [0u8, 1] {
        replays.push(
            replay(
                address,
                n,
                "ret/#",
                client::qos(q),
                &format!("ret-{tag}-sub{q}"),
            )
            .await?,
        );
    }
    Ok((stored, replays))
}

fn retained(rt: &tokio::runtime::Runtime, sizes: &Sizes) {
    let n = sizes.retained;
    println!("## Retained replay");
    println!(
        "{n} retained messages (QoS 1, {PAYLOAD} bytes, topics ret/{{i%100}}/{{i}}) stored, then a \
         new subscriber to ret/# at QoS 0, then another at QoS 1. Times from the SUBSCRIBE; the \
         replay ends when all arrived or after {REPLAY_QUIET:?} of quiet. Fresh brokers each round.\n"
    );
    let mut table = Table::new(&[
        "broker",
        "round",
        "store (all PUBACKs)",
        "RSS after store",
        "QoS 0: arrived",
        "first",
        "last",
        "QoS 1: arrived",
        "first",
        "last",
    ]);
    for round in 0..sizes.rounds {
        let mut brokers = start_all();
        settle(Duration::from_millis(500));
        for kind in order(&Kind::ALL, round) {
            let b = broker(&brokers, kind);
            let result = rt.block_on(retained_run(b.address, n, round.to_string()));
            let mut row = vec![kind.name().to_string(), round.to_string()];
            match result {
                Ok((stored, replays)) => {
                    row.push(ms(stored));
                    row.push(mb(b.rss_kb().unwrap_or(0)));
                    for r in &replays {
                        row.push(r.arrived(n));
                        row.push(r.first.map_or("-".into(), ms));
                        row.push(r.last.map_or("-".into(), ms));
                    }
                }
                Err(e) => row.push(format!("failed: {e}")),
            }
            table.row(row);
            settle(Duration::from_millis(500));
        }
        check_alive(&mut brokers);
    }
    table.print();
}

// ----- latency ---------------------------------------------------------------------------------
fn latency(rt: &tokio::runtime::Runtime, sizes: &Sizes) {
    let (per_second, count) = (sizes.latency_rate, sizes.latency_messages);
    println!("## Latency at a fixed rate");
    println!(
        "1 publisher → 1 subscriber, {per_second} messages/s ({count} messages, {PAYLOAD} bytes \
         carrying the send time), QoS 0 and 1; end-to-end latency from the publisher's write to \
         the subscriber's read, exact percentiles over every message.\n"
    );
    let mut brokers = start_all();
    settle(Duration::from_millis(500));
    let mut table = Table::new(&[
        "broker", "QoS", "arrived", "p50", "p90", "p99", "p99.9", "max",
    ]);
    for q in [0u8, 1] {
        for kind in Kind::ALL {
            let address = broker(&brokers, kind).address;
            let result = rt.block_on(latency_run(
                address,
                per_second,
                count,
                client::qos(q),
                &format!("{q}"),
            ));
            let mut row = vec![kind.name().to_string(), q.to_string()];
            match result {
                Ok((samples, got)) => {
                    let at = |p| ms(Duration::from_nanos(percentile(&samples, p)));
                    row.push(format!("{} of {count}", got.count));
                    for p in [0.5, 0.9, 0.99, 0.999, 1.0] {
                        row.push(at(p));
                    }
                }
                Err(e) => row.push(format!("failed: {e}")),
            }
            table.row(row);
            settle(Duration::from_millis(500));
        }
    }
    check_alive(&mut brokers);
    table.print();
}

fn main() {
    let sizes = Sizes::from_env();
    let rt = support::runtime();
    let _context = rt.enter();
    println!("# Broker scale: workbench vs bare rumqttd 0.20 vs mosquitto");
    println!("Machine: {}.", support::machine());
    println!(
        "Each broker is its own process (the workbench broker and rumqttd through this crate's \
         examples, built in release); the load generator is this process ({PAYLOAD}-byte \
         payloads, MQTT 3.1.1). mosquitto runs with its defaults: max_queued_messages 1000, \
         max_inflight_messages 20. Rounds: {} for throughput, {} for memory and connections.\n",
        sizes.rounds, sizes.memory_rounds
    );
    let started = Instant::now();
    if sizes.runs("idle") {
        idle_connections(&rt, &sizes);
    }
    if sizes.runs("connect") {
        connection_rate(&rt, &sizes);
    }
    if sizes.runs("fanout") {
        let (subs, messages) = (sizes.subscribers, sizes.fanout_messages);
        println!("## Fan-out: 1 publisher → {subs} subscribers on one topic");
        println!(
            "{messages} messages published ({} deliveries expected); QoS 1 publisher keeps {WINDOW} \
             unacknowledged. Rate = deliveries / (last delivery - first publish); a subscriber \
             stops after everything or {QUIET:?} of quiet.\n",
            subs * messages
        );
        flow_case(&rt, &sizes, "fan-out", &[0, 1], |address, qos, tag| {
            fan_out(address, subs, messages, qos, tag)
        });
    }
    if sizes.runs("fanin") {
        let (pubs, messages) = (sizes.publishers, sizes.fanin_messages);
        println!("## Fan-in: {pubs} publishers → 1 subscriber on bench/#");
        println!(
            "{messages} messages in all, {} per publisher (topics bench/{{i}}), all publishers \
             at once; QoS 1 publishers keep {WINDOW} unacknowledged each.\n",
            messages / pubs
        );
        flow_case(&rt, &sizes, "fan-in", &[0, 1], |address, qos, tag| {
            fan_in(address, pubs, messages, qos, tag)
        });
    }
    if sizes.runs("topics") {
        let n = fitting(sizes.topics, "many topics");
        let per = sizes.topic_messages;
        println!("## Many topics: {n} publishers, one topic each → 1 subscriber on #");
        println!(
            "Publishers connected first; then each sends {per} QoS 1 messages on dev/{{i}}/temp \
             at once ({} in all); the subscriber (QoS 1) counts them.\n",
            n * per
        );
        flow_case(&rt, &sizes, "many topics", &[1], |address, _, tag| {
            many_topics(address, n, per, tag)
        });
    }
    if sizes.runs("retained") {
        retained(&rt, &sizes);
    }
    if sizes.runs("latency") {
        latency(&rt, &sizes);
    }
    println!("(all cases took {:.0} s)", started.elapsed().as_secs_f64());
}
