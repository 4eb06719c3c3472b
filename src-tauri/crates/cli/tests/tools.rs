//! `mqttwb simulate` and `mqttwb bench` as users run them: a broken file's problems printed
//! with their lines (exit code 1), a built-in example run against an embedded broker for a few
//! seconds with its totals, and a short load test whose report has latency percentiles.

use std::process::Command;

fn mqttwb(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mqttwb"))
        .args(args)
        .output()
        .expect("mqttwb runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn simulate_names_the_line_and_field_of_each_problem() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "[device]\ncount = 20000\n\n[[stream]]\ntopic = \"t/{idd}\"\nevery = \"1s\"\n",
    )
    .expect("write");
    let (ok, _, err) = mqttwb(&["simulate", file.to_str().expect("path"), "--check"]);
    assert!(!ok);
    assert!(
        err.contains("line 2, device.count: count is 1 to 10000"),
        "{err}"
    );
    assert!(
        err.contains("line 5, stream[0].topic: unknown name {idd}"),
        "{err}"
    );
}

#[test]
fn simulate_runs_an_example_against_an_embedded_broker() {
    let (ok, out, err) = mqttwb(&[
        "simulate",
        "--example",
        "gps-tracker",
        "--embedded",
        "--duration",
        "3s",
        "--every",
        "1s",
    ]);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("GPS tracker: 1 device(s), 2 stream(s)"),
        "{out}"
    );
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("stopped:") && last.contains("online 0/1"),
        "{out}"
    );
    // A birth and about one position a second.
    let published: u64 = last
        .split("published ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!((2..=6).contains(&published), "{out}");
}

#[test]
fn bench_reports_throughput_and_latency() {
    let (ok, out, err) = mqttwb(&[
        "bench",
        "pub",
        "--embedded",
        "-c",
        "2",
        "-r",
        "0",
        "-q",
        "1",
        "-n",
        "1000",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("published      2000"), "{out}");
    assert!(out.contains("received       2000"), "{out}");
    assert!(out.contains("latency (ms)   p50 "), "{out}");
    assert!(out.contains("errors         none"), "{out}");
    let (ok, _, err) = mqttwb(&["bench", "pub", "-q", "3"]);
    assert!(!ok && err.contains("--qos is 0, 1 or 2"), "{err}");
}
