//! Hostile clients, the workbench broker against mosquitto in the same run (each its own
//! process), reporting the broker's memory and what the other clients feel:
//!
//! - a subscription flood: one client sends 100 SUBSCRIBEs of 1,000 filters each
//!   (`flood/{batch}/{i}/+`, QoS 1) in one go, while bystanders connect, subscribe and get a
//!   publish from a third client: their CONNACK, SUBACK and publish → delivery times before,
//!   during and after the flood; the flooder's time to get every SUBACK; RSS;
//! - a large retained replay: 50,000 retained messages to a new `#` subscriber (QoS 0 and 1);
//! - churn: 1,000 clients (1,000-byte client ids) each connect, subscribe and disconnect, in
//!   waves: RSS before, after each wave, and 5 s after the last (does memory come back?).
//!
//! Run: `make bench-hostile` (which builds the broker examples first). Sizes through the
//! environment: BENCH_FLOOD_BATCHES (100), BENCH_FLOOD_FILTERS (1000 per SUBSCRIBE),
//! BENCH_RETAINED (50000), BENCH_CHURN_CLIENTS (1000), BENCH_CHURN_WAVES (3), BENCH_ROUNDS (1).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::client::{self, receive, Client, CONNECT_TIMEOUT};
use support::workloads::{replay, store_retained, REPLAY_QUIET};
use support::{env_usize, mb, ms, order, BrokerProcess, Kind, Table};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use workbench_wire::codec::{self as codec, QoS};

const KINDS: [Kind; 2] = [Kind::Workbench, Kind::Mosquitto];
/// Most bystander probes made while a flood lasts.
const MAX_PROBES: usize = 200;

// ----- subscription flood ----------------------------------------------------------------------

/// What one bystander felt: connect, subscribe, and a publish from another client.
struct Probe {
    connack: Duration,
    suback: Duration,
    /// From the publisher's write to the bystander's read; `None`: it never arrived.
    delivery: Option<Duration>,
}

fn probe_text(p: &Result<Probe, String>) -> String {
    match p {
        Ok(p) => format!(
            "{} / {} / {}",
            ms(p.connack),
            ms(p.suback),
            p.delivery.map_or("lost".into(), ms)
        ),
        Err(e) => format!("failed: {e}"),
    }
}

/// A new client connects and subscribes to `probe/{n}`; `publisher` publishes one QoS 1
/// message there.
async fn probe(address: SocketAddr, publisher: &mut Client, n: usize) -> Result<Probe, String> {
    let started = Instant::now();
    let mut bystander = Client::connect(address, &format!("bystander-{n}")).await?;
    let connack = started.elapsed();
    let topic = format!("probe/{n}");
    let subscribing = Instant::now();
    let codes = bystander
        .subscribe(1, std::slice::from_ref(&topic), QoS::AtLeastOnce)
        .await?;
    let suback = subscribing.elapsed();
    if codes.first().is_none_or(|c| *c >= 0x80) {
        return Err(format!(
            "the bystander's subscription was refused: {codes:?}"
        ));
    }
    let mut bytes = Vec::new();
    client::publish_packet(
        &topic,
        QoS::AtLeastOnce,
        client::packet_id(n),
        false,
        &client::payload(),
        &mut bytes,
    );
    let publishing = Instant::now();
    publisher.send(&bytes).await?;
    let got = receive(&mut bystander, 1, Duration::from_secs(30), |_, _| {}).await;
    bystander.disconnect().await;
    Ok(Probe {
        connack,
        suback,
        delivery: got.first.map(|t| t.duration_since(publishing)),
    })
}

/// The flooder's side: SUBACKs counted.
struct Flooded {
    subacks: usize,
    granted: usize,
    refused: usize,
    first_suback: Option<Duration>,
    all_subacks: Option<Duration>,
    /// Why reading ended early, if it did.
    problem: Option<String>,
}

struct FloodOutcome {
    flooded: Flooded,
    before: Result<Probe, String>,
    during: Vec<Result<Probe, String>>,
    after: Result<Probe, String>,
    rss_before: u64,
    rss_flooded: u64,
    rss_left: u64,
}

async fn flood(
    broker: &BrokerProcess,
    batches: usize,
    filters: usize,
) -> Result<FloodOutcome, String> {
    let address = broker.address;
    let mut publisher = Client::connect(address, "probe-publisher").await?;
    let rss_before = broker.rss_kb().unwrap_or(0);
    let before = probe(address, &mut publisher, 0).await;
    let flooder = Client::connect(address, "flooder").await?;
    let mut packets = Vec::new();
    for batch in 0..batches {
        let names: Vec<String> = (0..filters)
            .map(|i| format!("flood/{batch}/{i}/+"))
            .collect();
        packets.extend(client::subscribe_packet(
            client::packet_id(batch),
            &names,
            QoS::AtLeastOnce,
        ));
    }
    let Client {
        mut read,
        mut write,
        mut frames,
    } = flooder;
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let result = write.write_all(&packets).await;
        (write, result)
    });
    let reader = tokio::spawn(async move {
        let mut flooded = Flooded {
            subacks: 0,
            granted: 0,
            refused: 0,
            first_suback: None,
            all_subacks: None,
            problem: None,
        };
        while flooded.subacks < batches {
            while let Some((first, body)) = frames.next_packet() {
                if first >> 4 != codec::packet_type::SUBACK {
                    continue;
                }
                flooded.subacks += 1;
                flooded.first_suback.get_or_insert(started.elapsed());
                for code in body.get(2..).unwrap_or_default() {
                    if *code < 0x80 {
                        flooded.granted += 1;
                    } else {
                        flooded.refused += 1;
                    }
                }
            }
            if flooded.subacks >= batches {
                break;
            }
            match tokio::time::timeout(Duration::from_secs(120), frames.fill(&mut read)).await {
                Err(_) => {
                    flooded.problem = Some("no SUBACK for 120 s".into());
                    break;
                }
                Ok(Ok(0)) | Ok(Err(_)) => {
                    flooded.problem = Some("the broker closed the flooder's connection".into());
                    break;
                }
                Ok(Ok(_)) => {}
            }
        }
        if flooded.subacks >= batches {
            flooded.all_subacks = Some(started.elapsed());
        }
        (flooded, read)
    });
    // Bystanders come while the flood is being served, one after another, until it is over.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut during = Vec::new();
    loop {
        during.push(probe(address, &mut publisher, during.len() + 1).await);
        if reader.is_finished() || during.len() >= MAX_PROBES {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (flooded, read) = reader.await.map_err(|e| e.to_string())?;
    let (mut write, written) = writer.await.map_err(|e| e.to_string())?;
    let mut flooded = flooded;
    if let Err(e) = written {
        flooded
            .problem
            .get_or_insert(format!("writing the flood: {e}"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_flooded = broker.rss_kb().unwrap_or(0);
    let after = probe(address, &mut publisher, MAX_PROBES + 1).await;
    let _ = write.write_all(&client::DISCONNECT).await;
    drop((read, write));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_left = broker.rss_kb().unwrap_or(0);
    publisher.disconnect().await;
    Ok(FloodOutcome {
        flooded,
        before,
        during,
        after,
        rss_before,
        rss_flooded,
        rss_left,
    })
}

fn flood_case(rt: &tokio::runtime::Runtime, rounds: usize) {
    let batches = env_usize("BENCH_FLOOD_BATCHES", 100);
    let filters = env_usize("BENCH_FLOOD_FILTERS", 1_000);
    println!("## Subscription flood");
    println!(
        "One client writes {batches} SUBSCRIBEs of {filters} filters (flood/{{batch}}/{{i}}/+, \
         QoS 1) at once. Bystanders, one after another while the flood lasts (and one before, \
         one after), each connect, subscribe to a topic of their own and get one QoS 1 publish \
         from a third client. Bystander times: CONNACK / SUBACK / publish → delivery.\n"
    );
    let mut flood_table = Table::new(&[
        "broker",
        "round",
        "filters granted",
        "refused",
        "first SUBACK",
        "all SUBACKs",
        "RSS before",
        "RSS after the flood",
        "RSS 2 s after the flooder left",
    ]);
    let mut bystanders = Table::new(&[
        "broker",
        "round",
        "before the flood",
        "first during the flood",
        "worst during the flood",
        "bystanders during",
        "after the flood",
    ]);
    for round in 0..rounds {
        for kind in order(&KINDS, round) {
            let mut broker = BrokerProcess::start(kind);
            std::thread::sleep(Duration::from_secs(1));
            let name = kind.name().to_string();
            match rt.block_on(flood(&broker, batches, filters)) {
                Ok(o) => {
                    let f = &o.flooded;
                    flood_table.row(vec![
                        name.clone(),
                        round.to_string(),
                        f.granted.to_string(),
                        format!(
                            "{}{}",
                            f.refused,
                            f.problem
                                .as_ref()
                                .map_or(String::new(), |p| format!(" ({p})"))
                        ),
                        f.first_suback.map_or("-".into(), ms),
                        f.all_subacks
                            .map_or(format!("{} of {batches} SUBACKs", f.subacks), ms),
                        mb(o.rss_before),
                        mb(o.rss_flooded),
                        mb(o.rss_left),
                    ]);
                    let worst = o
                        .during
                        .iter()
                        .filter_map(|p| p.as_ref().ok())
                        .max_by_key(|p| {
                            p.connack + p.suback + p.delivery.unwrap_or(Duration::from_secs(3600))
                        });
                    let failed = o.during.iter().filter(|p| p.is_err()).count();
                    bystanders.row(vec![
                        name,
                        round.to_string(),
                        probe_text(&o.before),
                        o.during.first().map_or("-".into(), probe_text),
                        worst.map_or("-".into(), |w| {
                            format!(
                                "{} / {} / {}",
                                ms(w.connack),
                                ms(w.suback),
                                w.delivery.map_or("lost".into(), ms)
                            )
                        }),
                        if failed > 0 {
                            format!("{} ({failed} failed)", o.during.len())
                        } else {
                            o.during.len().to_string()
                        },
                        probe_text(&o.after),
                    ]);
                }
                Err(e) => flood_table.row(vec![name, round.to_string(), format!("failed: {e}")]),
            }
            report_exit(&mut broker);
        }
    }
    flood_table.print();
    bystanders.print();
}

// ----- retained replay to `#` ------------------------------------------------------------------

fn retained_case(rt: &tokio::runtime::Runtime, rounds: usize) {
    let n = env_usize("BENCH_RETAINED", 50_000);
    println!("## Retained replay to a new # subscriber");
    println!(
        "{n} retained messages (QoS 1, topics ret/{{i%100}}/{{i}}) stored; then a new client \
         subscribes to # at QoS 0, then another at QoS 1 (acknowledging each). Times from the \
         SUBSCRIBE; a replay ends when all arrived or after {REPLAY_QUIET:?} of quiet.\n"
    );
    let mut table = Table::new(&[
        "broker",
        "round",
        "store",
        "RSS before",
        "RSS stored",
        "QoS 0: arrived",
        "first",
        "last",
        "QoS 1: arrived",
        "first",
        "last",
        "RSS after",
    ]);
    for round in 0..rounds {
        for kind in order(&KINDS, round) {
            let mut broker = BrokerProcess::start(kind);
            std::thread::sleep(Duration::from_secs(1));
            let mut row = vec![kind.name().to_string(), round.to_string()];
            let rss_before = broker.rss_kb().unwrap_or(0);
            let address = broker.address;
            let tag = format!("h{round}");
            match rt.block_on(store_retained(address, n, &tag)) {
                Ok(stored) => {
                    row.push(ms(stored));
                    row.push(mb(rss_before));
                    row.push(mb(broker.rss_kb().unwrap_or(0)));
                    for q in [0u8, 1] {
                        let id = format!("ret-{tag}-all{q}");
                        match rt.block_on(replay(address, n, "#", client::qos(q), &id)) {
                            Ok(r) => {
                                row.push(r.arrived(n));
                                row.push(r.first.map_or("-".into(), ms));
                                row.push(r.last.map_or("-".into(), ms));
                            }
                            Err(e) => {
                                row.push(format!("failed: {e}"));
                                row.push("-".into());
                                row.push("-".into());
                            }
                        }
                    }
                    row.push(mb(broker.rss_kb().unwrap_or(0)));
                }
                Err(e) => row.push(format!("storing failed: {e}")),
            }
            table.row(row);
            report_exit(&mut broker);
        }
    }
    table.print();
}

// ----- churn -----------------------------------------------------------------------------------

/// `n` clients with client ids of `id_bytes` bytes, from 10 concurrent tasks, each: CONNECT,
/// SUBSCRIBE (`churn/{i}/#`, QoS 1), DISCONNECT.
async fn churn_wave(
    address: SocketAddr,
    n: usize,
    id_bytes: usize,
    wave: usize,
) -> Result<Duration, String> {
    const TASKS: usize = 10;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for lane in 0..TASKS {
        set.spawn(async move {
            for i in (lane..n).step_by(TASKS) {
                let mut id = format!("churn-{wave}-{i}-");
                id.extend(std::iter::repeat_n('x', id_bytes.saturating_sub(id.len())));
                let mut c = Client::connect(address, &id).await?;
                let codes = c
                    .subscribe(1, &[format!("churn/{i}/#")], QoS::AtLeastOnce)
                    .await?;
                if codes.first().is_none_or(|c| *c >= 0x80) {
                    return Err(format!("subscription refused: {codes:?}"));
                }
                c.disconnect().await;
            }
            Ok::<_, String>(())
        });
    }
    while let Some(joined) = set.join_next().await {
        joined.map_err(|e| e.to_string())??;
    }
    Ok(started.elapsed())
}

fn churn_case(rt: &tokio::runtime::Runtime, rounds: usize) {
    let n = env_usize("BENCH_CHURN_CLIENTS", 1_000);
    let waves = env_usize("BENCH_CHURN_WAVES", 3).max(1);
    const ID_BYTES: usize = 1_000;
    println!("## Churn: clients that connect, subscribe and leave");
    println!(
        "{waves} waves of {n} clients (client ids of {ID_BYTES} bytes, clean session), each \
         CONNECT, SUBSCRIBE churn/{{i}}/# and DISCONNECT, 10 at a time. RSS before, after each \
         wave (1 s later) and 5 s after the last.\n"
    );
    let mut headers = vec!["broker".to_string(), "round".into(), "RSS before".into()];
    for w in 1..=waves {
        headers.push(format!("after wave {w}"));
    }
    headers.push("5 s later".into());
    headers.push("wave times".into());
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new(&refs);
    for round in 0..rounds {
        for kind in order(&KINDS, round) {
            let mut broker = BrokerProcess::start(kind);
            std::thread::sleep(Duration::from_secs(1));
            let mut row = vec![
                kind.name().to_string(),
                round.to_string(),
                mb(broker.rss_kb().unwrap_or(0)),
            ];
            let mut times = Vec::new();
            for wave in 0..waves {
                match rt.block_on(churn_wave(broker.address, n, ID_BYTES, wave)) {
                    Ok(took) => times.push(ms(took)),
                    Err(e) => times.push(format!("failed: {e}")),
                }
                std::thread::sleep(Duration::from_secs(1));
                row.push(mb(broker.rss_kb().unwrap_or(0)));
            }
            std::thread::sleep(Duration::from_secs(5));
            row.push(mb(broker.rss_kb().unwrap_or(0)));
            row.push(times.join(", "));
            table.row(row);
            report_exit(&mut broker);
        }
    }
    table.print();
}

fn report_exit(broker: &mut BrokerProcess) {
    if let Some(status) = broker.exit_status() {
        println!(
            "NOTE: {} exited during this case ({status}); its stderr ends with:\n{}",
            broker.kind.name(),
            broker.log_tail()
        );
    } else if broker.log_lines() > 0 {
        println!(
            "({} wrote to stderr; the last lines:\n{})",
            broker.kind.name(),
            broker.log_tail()
        );
    }
}

fn main() {
    let rounds = env_usize("BENCH_ROUNDS", 1).max(1);
    let rt = support::runtime();
    let _context = rt.enter();
    println!("# Hostile clients: workbench vs mosquitto");
    println!("Machine: {}.", support::machine());
    println!(
        "Each broker is its own process with default settings (the workbench broker: at most \
         10,000 subscriptions per client; mosquitto: no such limit, max_queued_messages 1000, \
         max_inflight_messages 20). Connect timeout {CONNECT_TIMEOUT:?}. {rounds} round(s).\n"
    );
    let started = Instant::now();
    let only = std::env::var("BENCH_ONLY").ok();
    let runs = |case: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|c| c.trim() == case))
    };
    if runs("flood") {
        flood_case(&rt, rounds);
    }
    if runs("retained") {
        retained_case(&rt, rounds);
    }
    if runs("churn") {
        churn_case(&rt, rounds);
    }
    println!("(all cases took {:.0} s)", started.elapsed().as_secs_f64());
}
