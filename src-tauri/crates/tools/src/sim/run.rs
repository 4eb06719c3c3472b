//! A running simulator: the fleet's devices brought online at the file's connect rate, each a
//! task of its own ([`super::device`]), counted together in [`Counters`] that any front end
//! reads as a [`SimStats`] snapshot. [`Simulator::stop`] ends every device cleanly (DISCONNECT,
//! so no will fires) and waits for them.

use super::device;
use super::plan::Plan;
use crate::target::Target;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Distinct error reasons kept; past this they count as "other".
const MAX_REASONS: usize = 64;
/// Log lines kept (newest last).
const MAX_LOG: usize = 200;

/// What the fleet has done so far, shared by its devices.
#[derive(Default)]
pub struct Counters {
    pub online: AtomicI64,
    pub connects: AtomicU64,
    pub published: AtomicU64,
    pub received: AtomicU64,
    pub replies: AtomicU64,
    pub drops: AtomicU64,
    pub silences: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    log: Mutex<VecDeque<String>>,
}

impl Counters {
    /// Counts a failure under its reason.
    pub fn error(&self, reason: &str) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        let known = errors.contains_key(reason) || errors.len() < MAX_REASONS;
        let reason = if known { reason } else { "other" };
        *errors.entry(reason.to_string()).or_default() += 1;
    }

    /// Adds a line to the simulator's log (bounded).
    pub fn log(&self, line: String) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == MAX_LOG {
            log.pop_front();
        }
        log.push_back(line);
    }
}

/// One error reason and how often it happened.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCount {
    pub reason: String,
    pub count: f64,
}

/// A snapshot of a simulator's counts (numbers as f64 for the UI's bindings).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SimStats {
    pub devices: f64,
    pub online: f64,
    pub connects: f64,
    pub published: f64,
    pub received: f64,
    pub replies: f64,
    /// Connections dropped on purpose (flaky devices).
    pub drops: f64,
    pub silences: f64,
    pub errors: Vec<ErrorCount>,
    pub elapsed_ms: f64,
    pub running: bool,
}

/// A fleet of simulated devices running against one broker.
pub struct Simulator {
    pub plan: Arc<Plan>,
    pub target: Target,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    started: Instant,
    fleet: Option<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    /// Starts the fleet on the current tokio runtime.
    pub fn start(plan: Arc<Plan>, target: Target) -> Simulator {
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let fleet = tokio::spawn(run_fleet(
            plan.clone(),
            target.clone(),
            counters.clone(),
            stopped,
        ));
        Simulator {
            plan,
            target,
            counters,
            stop,
            started: Instant::now(),
            fleet: Some(fleet),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn stats(&self) -> SimStats {
        let c = &self.counters;
        let errors = c
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(reason, count)| ErrorCount {
                reason: reason.clone(),
                count: *count as f64,
            })
            .collect();
        SimStats {
            devices: f64::from(self.plan.device.count),
            online: c.online.load(Relaxed).max(0) as f64,
            connects: c.connects.load(Relaxed) as f64,
            published: c.published.load(Relaxed) as f64,
            received: c.received.load(Relaxed) as f64,
            replies: c.replies.load(Relaxed) as f64,
            drops: c.drops.load(Relaxed) as f64,
            silences: c.silences.load(Relaxed) as f64,
            errors,
            elapsed_ms: self.started.elapsed().as_millis() as f64,
            running: self.fleet.as_ref().is_some_and(|f| !f.is_finished()),
        }
    }

    /// The log lines since the last call (connect failures, script errors and prints).
    pub fn take_log(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .counters
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        if let Some(sandbox) = &self.plan.sandbox {
            lines.extend(
                sandbox
                    .take_printed()
                    .into_iter()
                    .map(|l| format!("script: {l}")),
            );
        }
        lines
    }

    /// Disconnects every device (no wills fire) and waits for them, at most `patience`.
    pub async fn stop(mut self, patience: Duration) -> SimStats {
        let _ = self.stop.send(true);
        if let Some(mut fleet) = self.fleet.take() {
            if tokio::time::timeout(patience, &mut fleet).await.is_err() {
                fleet.abort();
            }
        }
        let mut stats = self.stats();
        stats.running = false;
        stats
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Resolves once `stopped` says stop (or its sender is gone).
pub async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Brings devices online at the connect rate, then waits for all of them to end.
async fn run_fleet(
    plan: Arc<Plan>,
    target: Target,
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut devices = JoinSet::new();
    let start = tokio::time::Instant::now();
    let gap = Duration::from_secs_f64(1.0 / plan.device.connect_rate.max(0.001));
    for index in 0..plan.device.count {
        let due = start + gap.mul_f64(f64::from(index));
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = crate::sim::run::stopping(&mut stopped) => break,
        }
        devices.spawn(device::run(
            plan.clone(),
            index,
            target.clone(),
            counters.clone(),
            stopped.clone(),
        ));
        // Reap finished devices so the set does not hold them.
        while devices.try_join_next().is_some() {}
    }
    while devices.join_next().await.is_some() {}
}
