//! The tools as the app runs them: at most one simulator and one load test at a time, started
//! from the Simulator and Bench panels, with their counts followed while they run. The app's
//! IPC layer only adapts these calls; nothing here knows about windows.

use crate::bench::{Bench, BenchSpec, BenchStats, Mode};
use crate::sim::{self, SimStats, Simulator, Summary};
use crate::{Target, ToolsError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use workbench_wire::codec::{Level, QoS};

/// How often a running tool's counts are pushed.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);
const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// A built-in simulator file.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ExampleFile {
    pub name: String,
    pub text: String,
}

/// A load test as the Bench panel sets it.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BenchSettings {
    /// `conn`, `pub` or `sub`.
    pub mode: String,
    pub clients: u32,
    pub connect_rate: f64,
    /// Messages per second per publisher; 0: as fast as possible.
    pub rate: f64,
    pub size: u32,
    pub qos: u8,
    pub topic: String,
    pub subscribers: u32,
    /// Messages per publisher (none: by duration).
    pub count: Option<f64>,
    pub duration_s: Option<f64>,
    pub mqtt5: bool,
}

impl BenchSettings {
    pub fn spec(&self) -> Result<BenchSpec, ToolsError> {
        let qos = QoS::from_bits(self.qos)
            .ok_or_else(|| ToolsError::InvalidInput("QoS is 0, 1 or 2".into()))?;
        let positive = |v: Option<f64>| v.filter(|v| v.is_finite() && *v > 0.0);
        let mode = match self.mode.as_str() {
            "conn" => Mode::Conn,
            "pub" => Mode::Pub,
            "sub" => Mode::Sub,
            other => {
                return Err(ToolsError::InvalidInput(format!(
                    "no load kind '{other}' (conn, pub or sub)"
                )))
            }
        };
        let spec = BenchSpec {
            mode,
            clients: self.clients,
            connect_rate: self.connect_rate,
            rate: self.rate,
            size: self.size as usize,
            qos,
            topic: self.topic.clone(),
            subscribers: self.subscribers,
            count: positive(self.count).map(|c| c.min(1e12) as u64),
            duration: positive(self.duration_s)
                .map(|s| Duration::from_secs_f64(s.min(7.0 * 86_400.0))),
            level: if self.mqtt5 { Level::V5 } else { Level::V3_1_1 },
            ..BenchSpec::default()
        };
        spec.check().map_err(ToolsError::InvalidInput)?;
        Ok(spec)
    }
}

/// The running tools.
#[derive(Default)]
pub struct ToolsService {
    simulator: Mutex<Option<Simulator>>,
    bench: Mutex<Option<Bench>>,
}

fn file_problems(errors: sim::FileErrors) -> ToolsError {
    ToolsError::InvalidInput(errors.to_string())
}

impl ToolsService {
    pub fn new() -> Arc<ToolsService> {
        Arc::new(ToolsService::default())
    }

    pub fn examples() -> Vec<ExampleFile> {
        sim::EXAMPLES
            .iter()
            .map(|e| ExampleFile {
                name: e.name.to_string(),
                text: e.text.to_string(),
            })
            .collect()
    }

    /// What a simulator file will do, or every problem with its line and field.
    pub fn check(text: &str) -> Result<Summary, ToolsError> {
        sim::check(text).map(|p| p.summary()).map_err(file_problems)
    }

    /// Starts the simulator a file describes against `target` (one at a time).
    pub async fn start_simulator(&self, text: &str, target: Target) -> Result<Summary, ToolsError> {
        let plan = sim::check(text).map_err(file_problems)?;
        let summary = plan.summary();
        let mut slot = self.simulator.lock().await;
        if slot.is_some() {
            return Err(ToolsError::InvalidState(
                "a simulator is already running: stop it first".into(),
            ));
        }
        *slot = Some(Simulator::start(Arc::new(plan), target));
        Ok(summary)
    }

    /// Disconnects every device cleanly and gives the final counts.
    pub async fn stop_simulator(&self) -> Result<SimStats, ToolsError> {
        let simulator = self.simulator.lock().await.take();
        match simulator {
            Some(s) => Ok(s.stop(STOP_PATIENCE).await),
            None => Err(ToolsError::InvalidState("no simulator is running".into())),
        }
    }

    /// Calls `each` with the simulator's counts every [`FOLLOW_EVERY`] until it stops or `each`
    /// returns false.
    pub async fn follow_simulator(&self, mut each: impl FnMut(SimStats, Vec<String>) -> bool) {
        loop {
            tokio::time::sleep(FOLLOW_EVERY).await;
            let now = self
                .simulator
                .lock()
                .await
                .as_ref()
                .map(|s| (s.stats(), s.take_log()));
            let Some((stats, log)) = now else { return };
            if !each(stats, log) {
                return;
            }
        }
    }

    /// Starts a load test (one at a time); a finished one is replaced.
    pub async fn start_bench(
        &self,
        settings: &BenchSettings,
        target: Target,
    ) -> Result<BenchStats, ToolsError> {
        let spec = settings.spec()?;
        let mut slot = self.bench.lock().await;
        if slot.as_ref().is_some_and(|b| !b.is_finished()) {
            return Err(ToolsError::InvalidState(
                "a load test is already running: stop it first".into(),
            ));
        }
        let bench = Bench::start(spec, target);
        let stats = bench.stats();
        *slot = Some(bench);
        Ok(stats)
    }

    pub async fn stop_bench(&self) -> Result<BenchStats, ToolsError> {
        let bench = self.bench.lock().await.take();
        match bench {
            Some(b) => Ok(b.stop(STOP_PATIENCE).await),
            None => Err(ToolsError::InvalidState("no load test is running".into())),
        }
    }

    /// Calls `each` with the load test's progress every [`FOLLOW_EVERY`] until it ends (the last
    /// call has `running: false`) or `each` returns false.
    pub async fn follow_bench(&self, mut each: impl FnMut(BenchStats) -> bool) {
        loop {
            tokio::time::sleep(FOLLOW_EVERY).await;
            let now = self.bench.lock().await.as_ref().map(Bench::stats);
            match now {
                Some(stats) => {
                    let running = stats.running;
                    if !each(stats) || !running {
                        return;
                    }
                }
                None => return,
            }
        }
    }
}

/// Where a tool connects: `url` when given, else the embedded broker's address.
pub fn target(
    url: Option<&str>,
    embedded: Option<std::net::SocketAddr>,
) -> Result<Target, ToolsError> {
    match (url.map(str::trim).filter(|u| !u.is_empty()), embedded) {
        (Some(url), _) => Target::from_url(url),
        (None, Some(address)) => Ok(Target::tcp(address)),
        (None, None) => Err(ToolsError::InvalidState(
            "the embedded broker is not running: start it, or give a broker URL".into(),
        )),
    }
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Conn => "conn",
            Mode::Pub => "pub",
            Mode::Sub => "sub",
        }
    }
}
