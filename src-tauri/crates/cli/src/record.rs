//! `record`: writes MQTT messages to a recording (JSON Lines, see `workbench_capture::jsonl`)
//! until Ctrl-C: everything clients publish to an embedded broker started for it, or what a
//! subscription to any other broker receives (`--from URL`). The size and count are shown live
//! on stderr; a full disk stops it with the reason, keeping what was written.

use crate::broker::{log_text, stop_requested};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use workbench_broker::{Broker, BrokerEvent};
use workbench_capture::link::{Link, LinkOptions};
use workbench_capture::record::{RecordOptions, Recorder, RecordingStatus};

pub const OPTIONS: &str = "\
Record options (mqttwb record FILE [OPTIONS]):
  --topic FILTER              record only topics matching FILTER (repeat for more; default all)
  --from URL                  subscribe to this broker (mqtt://, mqtts://, ws://, wss://) and
                              record what it delivers; without it, an embedded broker is started
                              (the broker options apply) and every message published to it is
                              recorded
  --mqtt311                   with --from: connect with MQTT 3.1.1 instead of 5
  --overwrite                 replace FILE if it exists
";

struct Plan {
    path: PathBuf,
    options: RecordOptions,
    from: Option<String>,
    mqtt5: bool,
    broker_args: Vec<String>,
}

fn plan(args: &[String]) -> Result<Plan, String> {
    let mut args = args.iter();
    let mut path = None;
    let mut options = RecordOptions::default();
    let mut from = None;
    let mut mqtt5 = true;
    let mut broker_args = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--topic" | "-t" => options.filters.push(value("--topic")?),
            "--from" => from = Some(value("--from")?),
            "--mqtt311" => mqtt5 = false,
            "--overwrite" => options.overwrite = true,
            "--queue-qos0-offline" => broker_args.push(arg.clone()),
            flag if flag.starts_with("--") => {
                broker_args.push(arg.clone());
                broker_args.push(value(flag)?);
            }
            file if path.is_none() => path = Some(PathBuf::from(file)),
            other => return Err(format!("unexpected argument '{}'", log_text(other, 40))),
        }
    }
    let path = path.ok_or("name the file to record to")?;
    if from.is_some() && !broker_args.is_empty() {
        return Err("broker options apply only without --from".into());
    }
    Ok(Plan {
        path,
        options,
        from,
        mqtt5,
        broker_args,
    })
}

pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    let plan = match plan(args) {
        Ok(plan) => plan,
        Err(problem) => {
            eprintln!("{program} record: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::run::runtime(program, "record") {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    match runtime.block_on(record(plan)) {
        Ok(status) => {
            eprintln!("{}", summary(&status));
            match status.error {
                Some(error) => {
                    eprintln!("{program} record: {error}");
                    ExitCode::FAILURE
                }
                None => ExitCode::SUCCESS,
            }
        }
        Err(problem) => {
            eprintln!("{program} record: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn summary(status: &RecordingStatus) -> String {
    let dropped = if status.dropped > 0 {
        format!(", {} dropped (the disk could not keep up)", status.dropped)
    } else {
        String::new()
    };
    format!(
        "recorded {} messages, {} bytes, to {}{dropped}",
        status.messages, status.bytes, status.path
    )
}

async fn record(plan: Plan) -> Result<RecordingStatus, String> {
    let recorder = Recorder::create(&plan.path, plan.options.clone()).map_err(|e| e.to_string())?;
    let stop = stop_requested();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut lost = None;
    let live = std::io::stderr().is_terminal();
    let show = |status: &RecordingStatus| {
        if live {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}   ", summary(status));
            let _ = err.flush();
        }
    };
    match &plan.from {
        Some(url) => {
            let mut options = LinkOptions::new(url);
            options.mqtt5 = plan.mqtt5;
            options.client_id = format!("mqttwb-record-{}", std::process::id());
            let mut link = Link::connect(&options).await?;
            let filters = if plan.options.filters.is_empty() {
                vec!["#".to_string()]
            } else {
                plan.options.filters.clone()
            };
            link.subscribe(&filters).await?;
            eprintln!(
                "recording what {url} delivers to {} (Ctrl-C stops)",
                plan.path.display()
            );
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tick.tick() => show(&recorder.status()),
                    message = link.next_message() => match message {
                        Ok(message) => {
                            if !recorder.offer(message) {
                                break;
                            }
                        }
                        Err(e) => {
                            // The file keeps what came before; the reason is reported.
                            lost = Some(format!("the connection to {url} ended: {e}"));
                            break;
                        }
                    }
                }
            }
            let _ = link.finish().await;
        }
        None => {
            let settings = crate::broker::settings(&plan.broker_args)?;
            let (events_tx, mut events) = tokio::sync::mpsc::channel(4096);
            let broker = Broker::start(settings, Some(events_tx))
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "recording what clients publish to the broker on {} into {} (Ctrl-C stops)",
                broker.local_addr(),
                plan.path.display()
            );
            'run: loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tick.tick() => {
                        show(&recorder.status());
                        if !recorder.status().running { break; }
                    }
                    event = events.recv() => match event {
                        Some(BrokerEvent::Packets(batch)) => {
                            for event in batch.events() {
                                if !recorder.offer_event(event) {
                                    break 'run;
                                }
                            }
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            broker.stop().await;
        }
    }
    if live {
        eprintln!();
    }
    let mut status = recorder.stop();
    if status.error.is_none() {
        status.error = lost;
    }
    Ok(status)
}
