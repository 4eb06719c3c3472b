//! What fault injection costs the broker, side by side in one run: the embedded broker (in this
//! process) with no rule armed, with a rule armed for another client (every connection step
//! then asks the book about its own client id), and with a rule that matches nothing armed for
//! both the publisher and the subscriber (both connections then pass every packet through the
//! fault gate).
//!
//! One raw MQTT 3.1.1 publisher to one raw subscriber, 100-byte payloads, QoS 0 and QoS 1
//! (a window of 200 unacknowledged publishes); BENCH_ROUNDS rounds (default 3) with the
//! configurations' order rotating; the median rate is reported with its ratio to "no rule".
//!
//! Run: `make bench-faults`, or `cargo bench -p workbench-broker --bench fault_overhead`.
//! Options: BENCH_MESSAGES (default 200000), BENCH_ROUNDS (3).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::client::{self, publish_many, receive, Client};
use support::{env_usize, median, rate, Table};
use workbench_broker::{Broker, BrokerSettings};
use workbench_faults::{Fault, Toward};
use workbench_wire::codec::QoS;
use workbench_wire::PacketKind;

const QUIET: Duration = Duration::from_secs(3);
const WINDOW: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    NoRule,
    OtherClient,
    OwnRule,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::NoRule => "no rule armed",
            Setup::OtherClient => "a rule armed for another client",
            Setup::OwnRule => "a rule (matching nothing) on both clients",
        }
    }
}

/// One run: messages per second from the first publish to the last delivery.
async fn run(address: SocketAddr, qos: QoS, total: usize, tag: &str) -> Result<f64, String> {
    let topic = format!("bench/faults/{tag}");
    let mut subscriber = Client::connect(address, &format!("{tag}-sub")).await?;
    subscriber
        .subscribe(1, std::slice::from_ref(&topic), qos)
        .await?;
    let mut publisher = Client::connect(address, &format!("{tag}-pub")).await?;
    let receiver =
        tokio::spawn(async move { receive(&mut subscriber, total, QUIET, |_, _| {}).await });
    let payload = client::payload();
    let start = Instant::now();
    let published = publish_many(
        &mut publisher,
        total,
        qos,
        false,
        WINDOW,
        &payload,
        |_, t| t.push_str(&topic),
    )
    .await;
    let got = receiver.await.map_err(|e| e.to_string())?;
    publisher.disconnect().await;
    published?;
    let seconds = got
        .last
        .map_or(f64::NAN, |l| l.duration_since(start).as_secs_f64());
    Ok(got.count as f64 / seconds)
}

fn main() {
    let total = env_usize("BENCH_MESSAGES", 200_000);
    let rounds = env_usize("BENCH_ROUNDS", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let settings = BrokerSettings {
        bind: std::net::Ipv4Addr::LOCALHOST.into(),
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let broker = runtime
        .block_on(Broker::start(settings, None))
        .expect("start the broker");
    let address = broker.local_addr();
    let router = broker.router().clone();
    let setups = [Setup::NoRule, Setup::OtherClient, Setup::OwnRule];
    let mut table = Table::new(&["QoS", "configuration", "msg/s (median)", "vs no rule"]);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); setups.len()];
        for round in 0..rounds {
            for step in 0..setups.len() {
                let index = (step + round) % setups.len();
                let setup = setups[index];
                let tag = format!("q{}-r{round}-{index}", qos.bits());
                router.clear_faults(None);
                let nothing = Fault::Drop {
                    kind: PacketKind::Auth,
                    toward: Toward::Client,
                    count: 1,
                };
                match setup {
                    Setup::NoRule => {}
                    Setup::OtherClient => {
                        router.arm_fault("someone-else", nothing).expect("rule");
                    }
                    Setup::OwnRule => {
                        for side in ["sub", "pub"] {
                            router
                                .arm_fault(&format!("{tag}-{side}"), nothing.clone())
                                .expect("rule");
                        }
                    }
                }
                match runtime.block_on(run(address, qos, total, &tag)) {
                    Ok(r) => rates[index].push(r),
                    Err(error) => eprintln!("{} failed: {error}", setup.name()),
                }
            }
        }
        let base = median(&rates[0]);
        for (setup, rates) in setups.iter().zip(&rates) {
            let m = median(rates);
            table.row(vec![
                qos.bits().to_string(),
                setup.name().to_string(),
                rate(m),
                format!("{:.2}", m / base),
            ]);
        }
    }
    router.clear_faults(None);
    runtime.block_on(broker.stop());
    println!(
        "Fault injection overhead, {total} messages of 100 B, 1 publisher to 1 subscriber, {rounds} rounds:"
    );
    table.print();
}
