//! What the broker benchmarks share: the three brokers as child processes on free loopback ports
//! (the workbench broker and bare rumqttd through this crate's examples, mosquitto with a
//! generated configuration), their resident memory, a raw MQTT 3.1.1 client ([`client`]),
//! statistics and tables.
//!
//! Every broker is its own process, so memory and CPU are the broker's alone and the load
//! generator (the bench process) is the same for all. Linux only: memory is read from /proc.

// Each benchmark uses a part of this module.
#![allow(dead_code)]

pub mod client;
pub mod flows;
pub mod workloads;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The brokers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The workbench's embedded broker (`examples/workbench_broker.rs`), default settings.
    Workbench,
    /// Bare rumqttd 0.20 (`examples/bare_rumqttd.rs`).
    Rumqttd,
    /// mosquitto, as installed (Debian package).
    Mosquitto,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Workbench, Kind::Rumqttd, Kind::Mosquitto];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Workbench => "workbench",
            Kind::Rumqttd => "rumqttd",
            Kind::Mosquitto => "mosquitto",
        }
    }
}

/// `kinds` rotated by `round`: each broker goes first in turn across rounds.
pub fn order(kinds: &[Kind], round: usize) -> Vec<Kind> {
    let mut kinds = kinds.to_vec();
    if !kinds.is_empty() {
        let by = round % kinds.len();
        kinds.rotate_left(by);
    }
    kinds
}

/// mosquitto's configuration: one loopback listener, anonymous clients, no connection limit,
/// errors and warnings only in the log. Everything else is mosquitto's default, which the
/// reports name where it matters: `max_queued_messages 1000` (QoS 1 and 2 messages queued per
/// client beyond those in flight; more are dropped), `max_inflight_messages 20` (QoS 1 and 2 in
/// flight towards each client) and `set_tcp_nodelay false`. BENCH_MOSQUITTO_CONFIG adds lines
/// (separated by `;`), to see what a setting changes: `BENCH_MOSQUITTO_CONFIG="set_tcp_nodelay true"`.
pub fn mosquitto_config(port: u16) -> String {
    let mut config = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\n\
         log_dest stderr\nlog_type error\nlog_type warning\n"
    );
    if let Ok(extra) = std::env::var("BENCH_MOSQUITTO_CONFIG") {
        for line in extra.split(';').map(str::trim).filter(|l| !l.is_empty()) {
            config.push_str(line);
            config.push('\n');
        }
    }
    config
}

/// A broker running as a child process; killed when dropped (also when a benchmark panics).
pub struct BrokerProcess {
    pub kind: Kind,
    pub address: SocketAddr,
    child: Child,
    _stdout: Option<BufReader<ChildStdout>>,
    dir: tempfile::TempDir,
}

impl BrokerProcess {
    /// Starts `kind` on a free loopback port and waits until it accepts connections.
    pub fn start(kind: Kind) -> BrokerProcess {
        let dir = tempfile::tempdir().expect("a temporary directory for the broker");
        // mosquitto started as root reads its configuration as the user "mosquitto".
        set_mode(dir.path(), 0o755);
        let port = free_port_pair();
        let log = std::fs::File::create(dir.path().join("broker.log")).expect("a log file");
        let mut command = match kind {
            Kind::Workbench => Command::new(example("workbench_broker")),
            Kind::Rumqttd => Command::new(example("bare_rumqttd")),
            Kind::Mosquitto => {
                let config = dir.path().join("mosquitto.conf");
                std::fs::write(&config, mosquitto_config(port)).expect("write mosquitto.conf");
                set_mode(&config, 0o644);
                let mut command = Command::new(mosquitto_binary());
                command.arg("-c").arg(&config);
                command
            }
        };
        if kind != Kind::Mosquitto {
            command.arg(port.to_string());
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(if kind == Kind::Mosquitto {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", kind.name()));
        let stdout = child.stdout.take().map(BufReader::new);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut broker = BrokerProcess {
            kind,
            address,
            child,
            _stdout: stdout,
            dir,
        };
        broker.wait_listening();
        broker
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(self.address).is_err() {
            if let Some(status) = self.exit_status() {
                panic!(
                    "{} exited at start ({status}): {}",
                    self.kind.name(),
                    self.log_tail()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} does not accept connections on {}: {}",
                self.kind.name(),
                self.address,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // The examples announce themselves once listening.
        if let Some(stdout) = self._stdout.as_mut() {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            assert_eq!(
                line.trim(),
                "ready",
                "{} did not print ready: {}",
                self.kind.name(),
                self.log_tail()
            );
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory (VmRSS) in kB; `None` once the process is gone.
    pub fn rss_kb(&self) -> Option<u64> {
        rss_kb(self.pid())
    }

    /// Why the process ended, if it has.
    pub fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// The end of the broker's stderr (warnings, errors, panics).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            "(nothing on stderr)".into()
        } else {
            tail
        }
    }

    /// The lines of the broker's stderr, counted (mosquitto's warnings, say).
    pub fn log_lines(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("broker.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process in kB, from /proc/PID/status.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// A free loopback port whose successor is free too (bare rumqttd listens on both), outside
/// the ephemeral range: after thousands of client connections, ports in that range are held by
/// sockets closing down, and the kernel hands `connect` the neighbours of what `bind(0)` gets.
fn free_port_pair() -> u16 {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut parts = text.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .unwrap_or((32_768, 60_999));
    let (from, to) = if low > 12_000 {
        (10_000, low - 1)
    } else {
        (high.saturating_add(1).max(10_000), u16::MAX - 1)
    };
    let span = u32::from(to.saturating_sub(from).max(1));
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    for i in 0..span {
        let port = from + ((seed.wrapping_add(i.wrapping_mul(7_919))) % span) as u16;
        let first = TcpListener::bind((Ipv4Addr::LOCALHOST, port));
        let second = TcpListener::bind((Ipv4Addr::LOCALHOST, port + 1));
        if first.is_ok() && second.is_ok() {
            return port;
        }
    }
    panic!("no two adjacent free ports on 127.0.0.1 between {from} and {to}");
}

fn mosquitto_binary() -> PathBuf {
    let installed = PathBuf::from("/usr/sbin/mosquitto");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("mosquitto")
    }
}

/// An example of this crate built in release: next to this bench binary
/// (`<target>/release/deps/..` → `<target>/release/examples/`), else under CARGO_TARGET_DIR or
/// the workspace's `target/`.
fn example(name: &str) -> PathBuf {
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(release) = exe.parent().and_then(Path::parent) {
            candidates.push(release.join("examples").join(name));
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("release/examples").join(name));
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../target/release/examples")
            .join(name),
    );
    let Some(found) = candidates.into_iter().find(|p| p.is_file()) else {
        panic!(
            "the example {name} is not built: run `cargo build --release -p workbench-broker \
             --examples` first (the make targets bench-broker, bench-scale and bench-hostile do)"
        );
    };
    if let (Some(built), Some(sources)) = (modified(&found), newest_source(name)) {
        if built < sources {
            eprintln!(
                "warning: {} is older than the broker's sources; rebuild it with \
                 `cargo build --release -p workbench-broker --examples`",
                found.display()
            );
        }
    }
    found
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the broker crate's src/ and of the example's own source.
fn newest_source(example: &str) -> Option<SystemTime> {
    fn walk(dir: &Path, newest: &mut Option<SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, newest);
            } else if let Some(time) = modified(&path) {
                *newest = (*newest).max(Some(time));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest = modified(&root.join("examples").join(format!("{example}.rs")));
    walk(&root.join("src"), &mut newest);
    newest
}

/// A size from the environment, or its default.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
        Err(_) => default,
    }
}

/// The process's open files limit (soft), from /proc/self/limits.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// What the machine is: cores and CPU model.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cores} cores ({model}), open files limit {}",
        open_files_limit().map_or("unknown".into(), |n| n.to_string())
    )
}

/// The median of the finite values (NaN when there are none).
pub fn median(values: &[f64]) -> f64 {
    let mut values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// The value at fraction `p` (0 to 1) of sorted samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A rate for a table (messages per second, whole), or "-" when not measured.
pub fn rate(value: f64) -> String {
    if value.is_finite() {
        format!("{:.0}", value)
    } else {
        "-".into()
    }
}

/// Milliseconds with a resolution that suits the value.
pub fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Megabytes from kB.
pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// A table printed as Markdown, columns padded.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let cell = cells.get(i).map_or("", String::as_str);
                    format!("{cell:<w$}")
                })
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(&self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        println!("|-{}-|", rule.join("-|-"));
        for row in &self.rows {
            line(row);
        }
        println!();
    }
}

/// The load generator's runtime: two worker threads (the machine the reports were made on has
/// two cores, shared with the broker under test).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
