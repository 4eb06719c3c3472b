//! `replay`: plays a recording (or an MQTTX, mqtt-cli, mqttui or mqtt-recorder file) to any
//! broker, with the options of `workbench_capture::replay`. Progress goes to stderr; on a
//! terminal, typed commands pause, step, change the speed and stop it.

use crate::broker::{log_text, stop_requested};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use workbench_capture::link::{Link, LinkOptions};
use workbench_capture::replay::{self, Control, ReplayOptions, ReplayProgress, ReplayState};
use workbench_capture::Format;

pub const OPTIONS: &str = "\
Replay options (mqttwb replay FILE [OPTIONS]):
  --to URL                    the broker to publish to [mqtt://127.0.0.1:1883]
  --speed X                   0.1 to 100 times the recorded pace [1]
  --max                       as fast as possible
  --loop                      start again at the end, until Ctrl-C
  --topic FILTER              replay only topics matching FILTER (repeat for more)
  --rewrite FROM=TO           topics starting with FROM start with TO instead
  --start TIME, --end TIME    only the part from/to this time after the first message
                              (90, 90s, 1500ms, 2m, 1h)
  --paused                    start paused (type s to step, p to play)
  --format ID                 the file's format, when it cannot be recognised: recording,
                              mqttx-json, mqttx-csv, hivemq-json, mqttui-json, recorder-csv
  --base64                    mqtt-recorder payloads are base64 (recorded with --encode_b64)
  --mqtt311                   connect with MQTT 3.1.1 (properties are left out)
  --client-id ID              the client id to connect with
While it runs on a terminal, type a command and Enter: p (pause / play), s (step while paused),
a speed such as 2 or 0.5, q (stop).
";

/// `90`, `90s`, `1500ms`, `2m`, `1h` into ms.
pub fn duration_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "'{}' is not a time (90, 90s, 1500ms, 2m, 1h)",
            log_text(text, 40)
        )
    };
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(bad()),
    };
    if !value.is_finite() || value < 0.0 {
        return Err(bad());
    }
    Ok((value * scale).round() as u64)
}

struct Plan {
    path: PathBuf,
    link: LinkOptions,
    options: ReplayOptions,
}

fn plan(args: &[String]) -> Result<Plan, String> {
    let mut args = args.iter();
    let mut path = None;
    let mut link = LinkOptions::new("mqtt://127.0.0.1:1883");
    let mut options = ReplayOptions::default();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--to" => link.url = value("--to")?,
            "--speed" => {
                let text = value("--speed")?;
                options.speed = text.trim_end_matches('x').parse().map_err(|_| {
                    format!("--speed takes a number, not '{}'", log_text(&text, 40))
                })?;
            }
            "--max" => options.speed = 0.0,
            "--loop" => options.looped = true,
            "--topic" | "-t" => options.filters.push(value("--topic")?),
            "--rewrite" => {
                let text = value("--rewrite")?;
                let (from, to) = text
                    .split_once('=')
                    .ok_or("--rewrite takes FROM=TO, for example site1/=lab/")?;
                options.rewrite = Some((from.to_string(), to.to_string()));
            }
            "--start" => options.from_ms = Some(duration_ms(&value("--start")?)?),
            "--end" => options.to_ms = Some(duration_ms(&value("--end")?)?),
            "--paused" => options.start_paused = true,
            "--format" => {
                let id = value("--format")?;
                options.format = Some(
                    Format::from_id(&id)
                        .ok_or_else(|| format!("unknown format '{}'", log_text(&id, 40)))?,
                );
            }
            "--base64" => options.import.recorder_base64 = true,
            "--mqtt311" => link.mqtt5 = false,
            "--client-id" => link.client_id = value("--client-id")?,
            flag if flag.starts_with('-') => {
                return Err(format!("unknown replay option '{}'", log_text(flag, 40)))
            }
            file if path.is_none() => path = Some(PathBuf::from(file)),
            other => return Err(format!("unexpected argument '{}'", log_text(other, 40))),
        }
    }
    options.check()?;
    Ok(Plan {
        path: path.ok_or("name the file to replay")?,
        link,
        options,
    })
}

pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    let plan = match plan(args) {
        Ok(plan) => plan,
        Err(problem) => {
            eprintln!("{program} replay: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::run::runtime(program, "replay") {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    match runtime.block_on(replay(plan)) {
        Ok(done) => {
            eprintln!("{}", line(&done));
            if done.problems.count > 0 {
                eprintln!("{program} replay: {}", done.problems.summary());
            }
            match (done.state, &done.error) {
                (ReplayState::Failed, Some(error)) => {
                    eprintln!("{program} replay: {error}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(problem) => {
            eprintln!("{program} replay: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// One line of progress: `playing 1x  120 sent  0:01:05 of 0:10:00  42%  0:08:55 left`.
fn line(p: &ReplayProgress) -> String {
    let state = match p.state {
        ReplayState::Playing => "playing",
        ReplayState::Paused => "paused",
        ReplayState::Finished => "finished",
        ReplayState::Stopped => "stopped",
        ReplayState::Failed => "failed",
    };
    let speed = if p.speed == 0.0 {
        "max".to_string()
    } else {
        format!("{}x", p.speed)
    };
    let mut text = format!("{state} {speed}  {} sent", p.sent);
    if p.skipped > 0 {
        text.push_str(&format!(", {} skipped", p.skipped));
    }
    if p.problems.count > 0 {
        text.push_str(&format!(", {} unreadable", p.problems.count));
    }
    text.push_str(&format!("  {}", clock(p.offset_ms)));
    if let Some(span) = p.duration_ms {
        text.push_str(&format!(" of {}", clock(span)));
    }
    if let Some(percent) = (p.position * 100).checked_div(p.size) {
        text.push_str(&format!("  {percent}%"));
    }
    if let Some(left) = p.time_left_ms {
        text.push_str(&format!("  {} left", clock(left)));
    }
    if p.loops > 0 {
        text.push_str(&format!("  pass {}", p.loops + 1));
    }
    text
}

async fn replay(plan: Plan) -> Result<ReplayProgress, String> {
    let link = Link::connect(&plan.link).await?;
    let mut paused_by_keys = plan.options.start_paused;
    let handle = replay::start(&plan.path, plan.options, link)?;
    let live = std::io::stderr().is_terminal();
    if std::io::stdin().is_terminal() {
        let controls = handle.controls();
        // A thread of its own: reading stdin blocks. It ends with the process.
        let _ = std::thread::Builder::new()
            .name("replay-keys".into())
            .spawn(move || {
                for typed in std::io::stdin().lock().lines() {
                    let Ok(typed) = typed else { return };
                    let control = match typed.trim() {
                        "p" | "" => {
                            paused_by_keys = !paused_by_keys;
                            if paused_by_keys {
                                Control::Pause
                            } else {
                                Control::Play
                            }
                        }
                        "s" => Control::Step,
                        "q" => Control::Stop,
                        other => match other.trim_end_matches('x').parse() {
                            Ok(speed) => Control::Speed(speed),
                            Err(_) => continue,
                        },
                    };
                    if controls.blocking_send(control).is_err() {
                        return;
                    }
                }
            });
    }
    let stop = stop_requested();
    tokio::pin!(stop);
    let mut progress = handle.progress.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut paused = false;
    while !handle.is_finished() {
        tokio::select! {
            _ = &mut stop => { handle.control(Control::Stop).await; break; }
            _ = tick.tick() => {}
            changed = progress.changed() => if changed.is_err() { break },
        }
        let now = progress.borrow().clone();
        if now.state == ReplayState::Paused && !paused {
            eprintln!("\npaused: s steps, p plays");
        }
        paused = now.state == ReplayState::Paused;
        if live {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}    ", line(&now));
            let _ = err.flush();
        }
    }
    if live {
        eprintln!();
    }
    Ok(handle.wait().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_options_read_as_written() {
        assert_eq!(duration_ms("90"), Ok(90_000));
        assert_eq!(duration_ms("1500ms"), Ok(1500));
        assert_eq!(duration_ms("2m"), Ok(120_000));
        assert_eq!(duration_ms("0.5h"), Ok(1_800_000));
        assert!(duration_ms("soon").is_err() && duration_ms("5d").is_err());
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let plan = plan(&args(&[
            "r.jsonl",
            "--speed",
            "2x",
            "--rewrite",
            "a/=b/",
            "--end",
            "1m",
        ]))
        .unwrap();
        assert_eq!(plan.options.speed, 2.0);
        assert_eq!(plan.options.rewrite, Some(("a/".into(), "b/".into())));
        assert_eq!(plan.options.to_ms, Some(60_000));
        let bad = super::plan(&args(&["r.jsonl", "--speed", "1000"]))
            .err()
            .unwrap();
        assert!(bad.contains("0.1x to 100x"), "{bad}");
    }
}
