//! `simulate`: a fleet of simulated devices from a TOML file (or a built-in example) against
//! any broker, or against an embedded broker started for the run. Prints what the file will do,
//! then one status line every few seconds, until Ctrl-C, SIGTERM or `--duration`; then
//! disconnects every device cleanly and prints the totals. `--check` only checks the file.

use crate::broker::{log_text, stop_requested};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workbench_tools::duration;
use workbench_tools::sim::{self, Simulator, EXAMPLES};

pub const OPTIONS: &str = "\
Simulate options:
  mqttwb simulate FILE [OPTIONS]       run the devices a simulator file describes
  mqttwb simulate --example NAME       run a built-in example (temperature-sensors, smart-plugs,
                                       gps-tracker, door-contact)
  --print-example NAME                 print a built-in example's file (to start your own)
  --url URL                            the broker (default mqtt://127.0.0.1:1883; also mqtts://,
                                       ws://, wss://, with user:password@ when needed)
  --embedded                           start an embedded broker on a free port for the run
  --duration D                         stop after D (30s, 5m); default: until Ctrl-C
  --every D                            how often a status line is printed [5s]
  --check                              check the file, print what it will do, and exit
";

struct Options {
    file: Option<String>,
    example: Option<String>,
    url: String,
    embedded: bool,
    duration: Option<Duration>,
    every: Duration,
    check_only: bool,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        file: None,
        example: None,
        url: "mqtt://127.0.0.1:1883".into(),
        embedded: false,
        duration: None,
        every: Duration::from_secs(5),
        check_only: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{} needs a value", log_text(arg, 40)))
        };
        match arg.as_str() {
            "--example" => o.example = Some(value()?),
            "--url" => o.url = value()?,
            "--embedded" => o.embedded = true,
            "--duration" => o.duration = Some(duration::parse(&value()?)?),
            "--every" => o.every = duration::parse(&value()?)?.max(Duration::from_millis(100)),
            "--check" => o.check_only = true,
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option '{}'", log_text(flag, 40)))
            }
            file if o.file.is_none() => o.file = Some(file.to_string()),
            other => {
                return Err(format!(
                    "one file at a time ('{}' is extra)",
                    log_text(other, 80)
                ))
            }
        }
    }
    if o.file.is_some() == o.example.is_some() {
        return Err("name a simulator FILE or --example NAME".into());
    }
    Ok(o)
}

fn example_names() -> String {
    EXAMPLES
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `mqttwb simulate ARGS`.
pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    if let [flag, name] = args {
        if flag == "--print-example" {
            return match sim::example(name) {
                Some(e) => {
                    print!("{}", e.text);
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!(
                        "{program} simulate: no example '{}' (there are {})",
                        log_text(name, 40),
                        example_names()
                    );
                    ExitCode::from(2)
                }
            };
        }
    }
    let o = match options(args) {
        Ok(o) => o,
        Err(problem) => {
            eprintln!("{program} simulate: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    let (label, text) = match (&o.file, &o.example) {
        (Some(file), _) => {
            match workbench_session::files::read_text_bounded(Path::new(file), sim::MAX_FILE) {
                Ok(text) => (file.clone(), text),
                Err(e) => {
                    eprintln!("{program} simulate: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (None, Some(name)) => match sim::example(name) {
            Some(e) => (format!("example {}", e.name), e.text.to_string()),
            None => {
                eprintln!(
                    "{program} simulate: no example '{}' (there are {})",
                    log_text(name, 40),
                    example_names()
                );
                return ExitCode::from(2);
            }
        },
        (None, None) => return ExitCode::from(2),
    };
    let plan = match sim::check(&text) {
        Ok(plan) => plan,
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("{label}: {error}");
            }
            return ExitCode::FAILURE;
        }
    };
    let s = plan.summary();
    println!(
        "{}: {} device(s), {} stream(s), {} reply rule(s), about {:.1} msg/s in all",
        s.name, s.devices, s.streams, s.replies, s.messages_per_second
    );
    println!(
        "first device: {}, topics: {}",
        s.example_client_id,
        s.example_topics.join(", ")
    );
    if o.check_only {
        return ExitCode::SUCCESS;
    }
    let runtime = match crate::run::runtime(program, "simulate") {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    runtime.block_on(simulate(program, plan, o))
}

async fn simulate(program: &str, plan: sim::Plan, o: Options) -> ExitCode {
    let stop = stop_requested();
    let (target, broker) = match crate::run::target(program, "simulate", o.embedded, &o.url).await {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    println!("simulating against {} (Ctrl-C stops)", target.url());
    let simulator = Simulator::start(Arc::new(plan), target);
    let started = Instant::now();
    let deadline = o.duration.map(|d| tokio::time::Instant::now() + d);
    let mut ticks = tokio::time::interval(o.every);
    ticks.tick().await;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => break,
            _ = ticks.tick() => {
                for line in simulator.take_log() {
                    eprintln!("{}", log_text(&line, 300));
                }
                println!("{}", status(&simulator.stats(), started.elapsed()));
            }
        }
    }
    let stats = simulator.stop(Duration::from_secs(10)).await;
    println!("stopped: {}", status(&stats, started.elapsed()));
    if let Some(broker) = broker {
        broker.stop().await;
    }
    ExitCode::SUCCESS
}

fn status(s: &sim::SimStats, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let mut line = format!(
        "{:>6.1}s  online {}/{}  published {} ({:.1}/s)  received {}  replies {}  drops {}",
        secs,
        s.online,
        s.devices,
        s.published,
        s.published / secs,
        s.received,
        s.replies,
        s.drops
    );
    if !s.errors.is_empty() {
        let errors: Vec<String> = s
            .errors
            .iter()
            .map(|e| format!("{} x{}", e.reason, e.count))
            .collect();
        line.push_str(&format!("  errors: {}", errors.join("; ")));
    }
    line
}
