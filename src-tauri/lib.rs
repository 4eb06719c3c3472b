//! MQTT Workbench: an MQTT broker, client sessions and a live view of all their traffic, in one
//! desktop app.
//!
//! This package is the thin Tauri shell around the workspace's crates (under
//! `src-tauri/crates/`), from the wire inwards:
//!
//! - `workbench-wire`: packet events, framing, topics and error codes, below everyone.
//! - `workbench-broker`: the embedded broker, rumqttd behind our own front door.
//! - `workbench-session`: the user's own client sessions (rumqttc), each with a complete packet log.
//! - `workbench-traffic`: the model every view reads: topic tree, rates, bounded history.
//! - `workbench-charts`: rate and value charts drawn with plotters.
//! - `workbench-secrets`: passwords in the OS keychain.
//! - `workbench-core`: the app's services: the traffic hub that feeds the model from the broker
//!   and the sessions, the broker service and its saved settings, exports, what the UI reads.
//! - `workbench-cli`: the `mqttwb` command line (and `mqtt-workbench broker`).
//!
//! Only [`ipc`] and the app assembly in this file import `tauri`; the crates never do (`make
//! check-layers` fails if tauri or WebKit ever appears in their dependency trees).

pub mod ipc;

use std::sync::Arc;
use workbench_core::broker::saved::{SavedSettings, BROKER_FILE};
use workbench_core::broker::service::BrokerService;
use workbench_core::hub::TrafficHub;
use workbench_session::{store, SessionManager};
use workbench_traffic::source::SourceLimits;

/// Builds and runs the desktop app until its last window closes.
pub fn run_app() -> Result<(), tauri::Error> {
    workbench_core::install_crypto_provider();
    let specta = ipc::specta_builder();
    let hub = TrafficHub::new(SourceLimits::default());
    // Bounded: if the model ever fell behind, the broker drops (and counts) events instead of
    // slowing down or growing memory.
    let (events_tx, events_rx) = tokio::sync::mpsc::channel(1024);
    let broker = Arc::new(BrokerService::new(
        workbench_broker::BrokerSettings::default(),
        Some(events_tx),
    ));
    // Client sessions report their packets over their own bounded channel.
    let (session_tx, session_rx) = tokio::sync::mpsc::channel(1024);
    let config = store::config_dir();
    let profiles = config.as_ref().map(|d| d.join(store::PROFILES_FILE));
    // One password store for sessions and the broker's users (the keychain is probed once).
    let secrets = Arc::new(workbench_secrets::Secrets::detect());
    let sessions = Arc::new(SessionManager::new(profiles, secrets.clone(), session_tx));
    let saved = Arc::new(SavedSettings {
        path: config.map(|d| d.join(BROKER_FILE)),
        secrets,
    });
    let restore = saved.clone();
    let sink = Arc::new(ipc::traffic::FrameSink::default());
    let starting = broker.clone();
    let (pump_hub, pump_sink, dropped_from) = (hub.clone(), sink.clone(), broker.clone());
    let dropped_sessions = sessions.clone();
    let (ingest_hub, session_hub) = (hub.clone(), hub.clone());
    let stopping = sessions.clone();
    tauri::Builder::default()
        .manage(broker)
        .manage(hub)
        .manage(sink)
        .manage(sessions)
        .manage(saved)
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            specta.mount_events(app);
            tauri::async_runtime::spawn(ingest_hub.ingest_broker(events_rx));
            tauri::async_runtime::spawn(session_hub.ingest_sessions(session_rx));
            tauri::async_runtime::spawn(ipc::traffic::pump_frames(
                pump_hub,
                pump_sink,
                move || dropped_from.events_dropped() + dropped_sessions.dropped(),
            ));
            // The broker starts with the app, with the settings saved last time; a failure is
            // kept for the UI to show, and the app runs on without it.
            tauri::async_runtime::spawn(async move {
                workbench_core::broker::start_saved(&starting, &restore).await;
            });
            Ok(())
        })
        .build(tauri::generate_context!())?
        .run(move |_, event| {
            if let tauri::RunEvent::Exit = event {
                // Sessions say goodbye (DISCONNECT: no will) when the app quits normally.
                stopping.stop_all();
            }
        });
    Ok(())
}
