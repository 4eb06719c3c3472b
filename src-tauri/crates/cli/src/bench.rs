//! `bench conn|pub|sub`: the load generator against any broker (or an embedded one started for
//! the run), with a progress line every second and a final report: connect rate, throughput,
//! end-to-end latency percentiles from the payloads' timestamps, errors by reason. `--save FILE`
//! writes the report as JSON.

use crate::broker::{log_text, stop_requested};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use workbench_tools::bench::{Bench, BenchSpec, BenchStats, Mode};
use workbench_tools::duration;
use workbench_wire::codec::{Level, QoS};

pub const OPTIONS: &str = "\
Bench options (mqttwb bench conn|pub|sub [OPTIONS]):
  conn                    open connections and hold them
  pub                     publish; subscribers measure end-to-end latency
  sub                     subscribe and measure the latency of timestamped messages (another
                          `mqttwb bench pub`)
  --url URL               the broker (default mqtt://127.0.0.1:1883)
  --embedded              start an embedded broker on a free port for the run
  -c, --clients N         connections, publishers or subscribers [10]
  --connect-rate N        new connections per second [1000]
  -r, --rate N            messages per second per publisher; 0: as fast as possible [100]
  -s, --size BYTES        payload size (at least 12 to carry the send time) [100]
  -q, --qos N             0, 1 or 2 [0]
  -t, --topic TOPIC       topic, %i is the client's number [bench/%i]; for sub, the filter
  --subscribers N         subscribers of a pub run, to the topic with %i as + [1]
  -n, --count N           messages per publisher (then the run ends)
  -d, --duration D        how long to run (10s, 2m) [10s unless --count is given]
  -V, --mqtt-version V    3.1.1 or 5 [3.1.1]
  --window N              unacknowledged QoS 1/2 messages per publisher [200]
  --save FILE             write the final report as JSON
";

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} takes a number, not '{}'", log_text(text, 40)))
}

struct Options {
    spec: BenchSpec,
    url: String,
    embedded: bool,
    save: Option<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mode = match args.first().map(String::as_str) {
        Some("conn") => Mode::Conn,
        Some("pub") => Mode::Pub,
        Some("sub") => Mode::Sub,
        _ => return Err("say what to bench: conn, pub or sub".into()),
    };
    let mut o = Options {
        spec: BenchSpec {
            mode,
            duration: None,
            subscribers: u32::from(mode == Mode::Pub),
            topic: if mode == Mode::Sub {
                "bench/+".into()
            } else {
                "bench/%i".into()
            },
            ..BenchSpec::default()
        },
        url: "mqtt://127.0.0.1:1883".into(),
        embedded: false,
        save: None,
    };
    let mut args = args[1..].iter();
    while let Some(flag) = args.next() {
        if flag == "--embedded" {
            o.embedded = true;
            continue;
        }
        let text = args
            .next()
            .cloned()
            .ok_or_else(|| format!("{} needs a value", log_text(flag, 40)))?;
        let s = &mut o.spec;
        match flag.as_str() {
            "--url" => o.url = text,
            "--save" => o.save = Some(text),
            "-c" | "--clients" => s.clients = number(flag, &text)?,
            "--connect-rate" => s.connect_rate = number(flag, &text)?,
            "-r" | "--rate" => s.rate = number(flag, &text)?,
            "-s" | "--size" => s.size = number(flag, &text)?,
            "-q" | "--qos" => {
                s.qos = QoS::from_bits(number(flag, &text)?).ok_or("--qos is 0, 1 or 2")?
            }
            "-t" | "--topic" => s.topic = text,
            "--subscribers" => s.subscribers = number(flag, &text)?,
            "-n" | "--count" => s.count = Some(number(flag, &text)?),
            "-d" | "--duration" => s.duration = Some(duration::parse(&text)?),
            "--window" => s.window = number(flag, &text)?,
            "-V" | "--mqtt-version" => {
                s.level = match text.as_str() {
                    "3.1.1" | "4" => Level::V3_1_1,
                    "5" | "5.0" => Level::V5,
                    _ => return Err("--mqtt-version is 3.1.1 or 5".into()),
                }
            }
            other => return Err(format!("unknown option '{}'", log_text(other, 40))),
        }
    }
    if o.spec.count.is_none() && o.spec.duration.is_none() {
        o.spec.duration = Some(Duration::from_secs(10));
    }
    o.spec.check()?;
    Ok(o)
}

/// Runs `mqttwb bench ARGS`.
pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    let o = match options(args) {
        Ok(o) => o,
        Err(problem) => {
            eprintln!("{program} bench: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::run::runtime(program, "bench") {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    runtime.block_on(bench(program, o))
}

async fn bench(program: &str, o: Options) -> ExitCode {
    let stop = stop_requested();
    let (target, broker) = match crate::run::target(program, "bench", o.embedded, &o.url).await {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    println!(
        "bench {} against {} (Ctrl-C stops)",
        serde_json::to_string(&o.spec.mode)
            .unwrap_or_default()
            .trim_matches('"'),
        target.url()
    );
    let mut bench = Bench::start(o.spec, target);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    tokio::pin!(stop);
    let stats = loop {
        tokio::select! {
            _ = &mut stop => break bench.stop(Duration::from_secs(10)).await,
            _ = ticks.tick() => {
                if bench.is_finished() {
                    break bench.wait().await;
                }
                println!("{}", progress(&bench.stats()));
            }
        }
    };
    print!("{}", report(&stats));
    if let Some(broker) = broker {
        broker.stop().await;
    }
    if let Some(file) = o.save {
        let json = serde_json::to_vec_pretty(&stats).unwrap_or_default();
        if let Err(e) = workbench_session::files::write_atomically(Path::new(&file), &json) {
            eprintln!("{program} bench: cannot write {file}: {e}");
            return ExitCode::FAILURE;
        }
        println!("report saved to {file}");
    }
    ExitCode::SUCCESS
}

fn progress(s: &BenchStats) -> String {
    let bar = match s.progress {
        Some(p) => {
            let filled = (p * 20.0).round() as usize;
            format!(
                "[{}{}] {:>3.0}%  ",
                "#".repeat(filled),
                ".".repeat(20 - filled.min(20)),
                p * 100.0
            )
        }
        None => String::new(),
    };
    format!(
        "{bar}connected {}/{}  sent {} ({:.0}/s)  received {} ({:.0}/s)  p99 {:.2} ms  errors {}",
        s.connected,
        s.clients,
        s.sent,
        s.send_rate,
        s.received,
        s.receive_rate,
        s.latency.p99,
        s.errors.iter().map(|e| e.count as u64).sum::<u64>()
    )
}

/// The final report, as printed.
pub fn report(s: &BenchStats) -> String {
    let mut out = format!(
        "connected      {} of {} ({:.0} connections/s; connect time p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms)\n",
        s.connected, s.clients, s.connect_rate, s.connect_time.p50, s.connect_time.p99, s.connect_time.max
    );
    if s.mode != Mode::Conn {
        out.push_str(&format!(
            "published      {} ({:.0} msg/s), acknowledged {}\nreceived       {} ({:.0} msg/s)\n",
            s.sent, s.send_rate, s.acked, s.received, s.receive_rate
        ));
        let l = &s.latency;
        out.push_str(&format!(
            "latency (ms)   p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  ({} timed)\n",
            l.p50, l.p90, l.p99, l.p999, l.max, l.count
        ));
    }
    if s.errors.is_empty() {
        out.push_str("errors         none\n");
    } else {
        for e in &s.errors {
            out.push_str(&format!("error          {} x{}\n", e.reason, e.count));
        }
    }
    out
}
