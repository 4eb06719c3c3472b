//! Tools commands: the Simulator panel (built-in examples, the file check, start and stop) and
//! the Bench panel (start and stop a load test). Live counts are pushed on the `Channel` each
//! start command is given, twice a second while the tool runs. Bodies are calls into
//! [`workbench_tools::service`].

use super::IpcError;
use serde::Serialize;
use std::sync::Arc;
use tauri::ipc::Channel;
use workbench_core::broker::service::BrokerService;
use workbench_tools::bench::BenchStats;
use workbench_tools::service::{self, BenchSettings, ExampleFile, ToolsService};
use workbench_tools::sim::{SimStats, Summary};

type Tools<'a> = tauri::State<'a, Arc<ToolsService>>;
type Broker<'a> = tauri::State<'a, Arc<BrokerService>>;

fn ipc(error: workbench_tools::ToolsError) -> IpcError {
    IpcError::from_coded(&error)
}

fn target(
    broker: &BrokerService,
    url: Option<String>,
) -> Result<workbench_tools::Target, IpcError> {
    let embedded = *broker.listening().borrow();
    service::target(url.as_deref(), embedded).map_err(ipc)
}

/// A running simulator's counts and the log lines since the last update.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SimUpdate {
    pub stats: SimStats,
    pub log: Vec<String>,
}

#[tauri::command]
#[specta::specta]
pub fn tools_sim_examples() -> Vec<ExampleFile> {
    ToolsService::examples()
}

/// What a simulator file will do, or its problems (each with its line and field).
#[tauri::command]
#[specta::specta]
pub fn tools_sim_check(text: String) -> Result<Summary, IpcError> {
    ToolsService::check(&text).map_err(ipc)
}

/// Starts the simulator `text` describes against `url` (the embedded broker when none).
#[tauri::command(async)]
#[specta::specta]
pub async fn tools_sim_start(
    tools: Tools<'_>,
    broker: Broker<'_>,
    text: String,
    url: Option<String>,
    updates: Channel<SimUpdate>,
) -> Result<Summary, IpcError> {
    let target = target(&broker, url)?;
    let summary = tools.start_simulator(&text, target).await.map_err(ipc)?;
    let tools = Arc::clone(&tools);
    tauri::async_runtime::spawn(async move {
        tools
            .follow_simulator(|stats, log| updates.send(SimUpdate { stats, log }).is_ok())
            .await;
    });
    Ok(summary)
}

#[tauri::command(async)]
#[specta::specta]
pub async fn tools_sim_stop(tools: Tools<'_>) -> Result<SimStats, IpcError> {
    tools.stop_simulator().await.map_err(ipc)
}

/// Starts a load test against `url` (the embedded broker when none); progress, then the final
/// report (`running: false`), is pushed on `progress`.
#[tauri::command(async)]
#[specta::specta]
pub async fn tools_bench_start(
    tools: Tools<'_>,
    broker: Broker<'_>,
    settings: BenchSettings,
    url: Option<String>,
    progress: Channel<BenchStats>,
) -> Result<BenchStats, IpcError> {
    let target = target(&broker, url)?;
    let started = tools.start_bench(&settings, target).await.map_err(ipc)?;
    let tools = Arc::clone(&tools);
    tauri::async_runtime::spawn(async move {
        tools
            .follow_bench(|stats| progress.send(stats).is_ok())
            .await;
    });
    Ok(started)
}

#[tauri::command(async)]
#[specta::specta]
pub async fn tools_bench_stop(tools: Tools<'_>) -> Result<BenchStats, IpcError> {
    tools.stop_bench().await.map_err(ipc)
}
