//! Teaching-view commands: the sequence diagram's pages of a packet log, the embedded broker's
//! latest routed messages (the live map), routing explained for one message or one client, and
//! who is busy. The UI asks when a pushed frame shows traffic moved; the work is in
//! [`workbench_core::teach`].

use super::IpcError;
use std::sync::Arc;
use workbench_core::broker::service::BrokerService;
use workbench_core::error::ErrorCode;
use workbench_core::hub::TrafficHub;
use workbench_core::teach::busy::{self, BusyReport};
use workbench_core::teach::routing::{self, RoutedPage, RoutingExplanation};
use workbench_core::teach::sequence::{self, PageAt, SequencePage};
use workbench_traffic::SourceId;

/// A page of `source`'s packets of `clients` (all when empty), oldest first: the newest
/// `count`, those before serial `before` (scrolling back), or those after serial `after`
/// (following live).
#[tauri::command]
#[specta::specta]
pub fn teach_sequence(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: SourceId,
    clients: Vec<String>,
    before: Option<u32>,
    after: Option<u32>,
    count: u32,
) -> SequencePage {
    let at = match (before, after) {
        (Some(before), _) => PageAt::Before(u64::from(before)),
        (None, Some(after)) => PageAt::After(u64::from(after)),
        (None, None) => PageAt::Newest,
    };
    sequence::page(&hub, &source, &clients, at, count as usize)
}

/// The embedded broker's messages routed after serial `after` (0: the latest kept), at most
/// `limit`, the newest when more (the map samples at high rates).
#[tauri::command]
#[specta::specta]
pub fn teach_routed(
    service: tauri::State<'_, Arc<BrokerService>>,
    after: u32,
    limit: u32,
) -> RoutedPage {
    routing::recent(service.router(), u64::from(after), limit as usize)
}

/// A source's messages for the live map, rebuilt from its packet log (an inspecting proxy has
/// no routing record of its own): after serial `after` (0: the latest), at most `limit`.
#[tauri::command]
#[specta::specta]
pub fn teach_routed_log(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: SourceId,
    after: u32,
    limit: u32,
) -> RoutedPage {
    workbench_core::teach::derived::routed_from_log(&hub, &source, u64::from(after), limit as usize)
}

/// What became of one routed message at every client the broker knows, and why.
#[tauri::command]
#[specta::specta]
pub fn teach_explain(
    service: tauri::State<'_, Arc<BrokerService>>,
    serial: u32,
) -> Result<RoutingExplanation, IpcError> {
    routing::explain(service.router(), u64::from(serial)).ok_or_else(|| {
        IpcError::new(
            ErrorCode::NotFound,
            "the broker no longer keeps the routing of that message (it keeps the latest 256)",
        )
    })
}

/// For the latest `limit` messages, newest first, what became of each at `client_id`.
#[tauri::command]
#[specta::specta]
pub fn teach_why_not(
    service: tauri::State<'_, Arc<BrokerService>>,
    client_id: String,
    limit: u32,
) -> Vec<RoutingExplanation> {
    routing::why_not(service.router(), &client_id, limit as usize)
}

/// The topics and clients of `source` ranked by messages (or bytes) over 10 s and 60 s.
#[tauri::command]
#[specta::specta]
pub fn teach_busy(
    hub: tauri::State<'_, Arc<TrafficHub>>,
    source: SourceId,
    by_bytes: bool,
) -> BusyReport {
    busy::report(&hub, &source, workbench_core::now_ms(), by_bytes)
}
