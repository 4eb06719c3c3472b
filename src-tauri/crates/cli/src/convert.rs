//! `convert`: reads a capture in any format `workbench_capture::formats` knows (a recording,
//! MQTTX JSON or CSV, HiveMQ mqtt-cli `sub -J`, mqttui `log --json`, mqtt-recorder CSV) and
//! writes it as a recording, as MQTTX JSON or CSV, or as a pcapng capture for Wireshark (each
//! client a connection, each message its PUBLISH). A pcap or pcapng capture is read as the
//! PUBLISH packets its clients sent. Entries that cannot be read are counted and listed with
//! their line numbers; the rest is converted.

use crate::broker::log_text;
use std::path::PathBuf;
use std::process::ExitCode;
use workbench_capture::export::{Exporter, WRITABLE};
use workbench_capture::formats::{open_file, Entry, ImportOptions};
use workbench_capture::pcap::messages_to_pcapng;
use workbench_capture::{Format, Problems};

pub const OPTIONS: &str = "\
Convert options (mqttwb convert IN OUT [OPTIONS]):
  --from ID                   IN's format, when it cannot be recognised: recording, mqttx-json,
                              mqttx-csv, hivemq-json, mqttui-json, recorder-csv, pcap
  --to ID                     OUT's format: recording, mqttx-json, mqttx-csv or pcap [from OUT's
                              extension: .jsonl a recording, .json MQTTX JSON, .csv MQTTX CSV,
                              .pcapng a capture Wireshark opens]
  --base64                    mqtt-recorder payloads are base64 (recorded with --encode_b64)
  --utc                       read and write times without a zone as UTC (default: local time)
  --overwrite                 replace OUT if it exists
";

struct Plan {
    input: PathBuf,
    output: PathBuf,
    from: Option<Format>,
    to: Format,
    options: ImportOptions,
    overwrite: bool,
}

fn format_named(flag: &str, id: &str) -> Result<Format, String> {
    Format::from_id(id).ok_or_else(|| format!("{flag}: unknown format '{}'", log_text(id, 40)))
}

fn plan(args: &[String]) -> Result<Plan, String> {
    let mut args = args.iter();
    let mut files = Vec::new();
    let (mut from, mut to) = (None, None);
    let mut options = ImportOptions::default();
    let mut overwrite = false;
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--from" => from = Some(format_named("--from", &value("--from")?)?),
            "--to" => to = Some(format_named("--to", &value("--to")?)?),
            "--base64" => options.recorder_base64 = true,
            "--utc" => options.time_zone = workbench_capture::jiff::tz::TimeZone::UTC,
            "--overwrite" => overwrite = true,
            flag if flag.starts_with('-') => {
                return Err(format!("unknown convert option '{}'", log_text(flag, 40)))
            }
            file => files.push(PathBuf::from(file)),
        }
    }
    let [input, output] = <[PathBuf; 2]>::try_from(files)
        .map_err(|_| "name the file to read and the file to write".to_string())?;
    let to = match to {
        Some(to) => to,
        None => match output.extension().and_then(|e| e.to_str()) {
            Some("jsonl") => Format::Recording,
            Some("json") => Format::MqttxJson,
            Some("csv") => Format::MqttxCsv,
            Some("pcapng") => Format::Pcap,
            _ => return Err("say which format to write with --to".into()),
        },
    };
    if !WRITABLE.contains(&to) && to != Format::Pcap {
        return Err(format!("{} can be read but not written", to.describe()));
    }
    Ok(Plan {
        input,
        output,
        from,
        to,
        options,
        overwrite,
    })
}

/// Converts; returns how many messages were written and what could not be read.
fn convert(plan: &Plan) -> Result<(Format, u64, Problems), String> {
    let (format, entries, _) =
        open_file(&plan.input, plan.from, &plan.options).map_err(|e| e.to_string())?;
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if plan.overwrite {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let shown = plan.output.display();
    let file = open.open(&plan.output).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("{shown} already exists (--overwrite replaces it)")
        }
        _ => format!("cannot write {shown}: {e}"),
    })?;
    let out = std::io::BufWriter::new(file);
    if plan.to == Format::Pcap {
        let mut problems = Problems::default();
        let mut written = 0u64;
        let messages = entries.filter_map(|entry| match entry {
            Entry::Message(message) => {
                written += 1;
                Some(message)
            }
            Entry::Problem(problem) => {
                problems.add(problem.line, problem.reason);
                None
            }
        });
        let server = std::net::SocketAddr::from(([127, 0, 0, 1], 1883));
        let (out, _) = messages_to_pcapng(out, server, messages)
            .map_err(|e| format!("cannot write {shown}: {e}"))?;
        out.into_inner()
            .map_err(|e| format!("cannot write {shown}: {}", e.error()))?;
        return Ok((format, written, problems));
    }
    let mut exporter = Exporter::new(out, plan.to, plan.options.time_zone.clone())?;
    let mut problems = Problems::default();
    for entry in entries {
        match entry {
            Entry::Message(message) => exporter.write(&message)?,
            Entry::Problem(problem) => problems.add(problem.line, problem.reason),
        }
    }
    Ok((format, exporter.finish()?, problems))
}

pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    let plan = match plan(args) {
        Ok(plan) => plan,
        Err(problem) => {
            eprintln!("{program} convert: {problem}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    match convert(&plan) {
        Ok((format, written, problems)) => {
            eprintln!(
                "read {} ({}), wrote {written} messages to {} ({})",
                plan.input.display(),
                format.describe(),
                plan.output.display(),
                plan.to.describe()
            );
            if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("{program} convert: {}", problems.summary());
                // Converted, with entries left out: a distinct status scripts can tell apart.
                ExitCode::from(3)
            }
        }
        Err(problem) => {
            eprintln!("{program} convert: {problem}");
            ExitCode::FAILURE
        }
    }
}
