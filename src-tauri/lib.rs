//! MQTT Workbench: an MQTT broker, client sessions and a live view of all their traffic, in one
//! desktop app.
//!
//! A map of the crate, from the wire inwards:
//!
//! - [`broker`]: the embedded broker. rumqttd routes messages; our own front door owns every
//!   listening socket, decodes every packet, corrects rumqttd where it departs from the MQTT
//!   specification and reports each packet to the traffic model.
//! - [`session`]: the user's own client sessions (rumqttc) to the embedded broker or any external
//!   one, each with a complete packet log.
//! - [`traffic`]: the model every view reads: topic tree, rates, bounded history, packet events.
//! - [`charts`]: rate and value charts drawn with plotters, for the screen and for export.
//! - [`ipc`]: the thin Tauri layer: typed commands, events and channels (tauri-specta).
//!
//! Only [`ipc`] and the app assembly in this file import `tauri`; everything else is plain Rust
//! that tests and benchmarks drive without a window.

/// Transitional: the broker's crate, and its service and saved settings, under their old path.
pub mod broker {
    pub use workbench_broker::*;
    pub use workbench_wire as wire;
    pub mod saved;
    pub mod service;
}
pub use workbench_charts as charts;
pub mod downloads;
pub use workbench_session::files;
pub mod ipc;
pub use workbench_secrets as secrets;
pub use workbench_session as session;
/// Transitional: the traffic model's crate and the hub, under their old path.
pub mod traffic {
    pub use workbench_traffic::*;
    pub use workbench_wire::packet;
    pub use workbench_wire::{Direction, PacketEvent, PacketKind, PacketSummary, ProtocolVersion};
    pub mod hub;
}

pub use workbench_wire::{error, now_ms, topic, ErrorCode};

/// Name of the product as users see it (window title, logs, headless banner).
pub const PRODUCT_NAME: &str = "MQTT Workbench";

/// Installs the one rustls crypto provider this build carries (ring). rumqttc and rumqttd both use
/// rustls; with no process default installed, TLS setup fails at run time.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds and runs the desktop app until its last window closes.
pub fn run_app() -> Result<(), tauri::Error> {
    install_crypto_provider();
    let specta = ipc::specta_builder();
    let hub = traffic::hub::TrafficHub::new(traffic::source::SourceLimits::default());
    // Bounded: if the model ever fell behind, the broker drops (and counts) events instead of
    // slowing down or growing memory.
    let (events_tx, events_rx) = tokio::sync::mpsc::channel(1024);
    let broker = std::sync::Arc::new(broker::service::BrokerService::new(
        broker::BrokerSettings::default(),
        Some(events_tx),
    ));
    // Client sessions report their packets over their own bounded channel.
    let (session_tx, session_rx) = tokio::sync::mpsc::channel(1024);
    let config = session::store::config_dir();
    let profiles = config
        .as_ref()
        .map(|d| d.join(session::store::PROFILES_FILE));
    // One password store for sessions and the broker's users (the keychain is probed once).
    let secrets = std::sync::Arc::new(secrets::Secrets::detect());
    let sessions = std::sync::Arc::new(session::SessionManager::new(
        profiles,
        secrets.clone(),
        session_tx,
    ));
    let saved = std::sync::Arc::new(ipc::broker::SavedSettings {
        path: config.map(|d| d.join(broker::saved::BROKER_FILE)),
        secrets,
    });
    let restore = saved.clone();
    let sink = std::sync::Arc::new(ipc::traffic::FrameSink::default());
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
            // The broker starts with the app, with the settings saved last time (by default on
            // 127.0.0.1:1883 or the next free port); a failure is kept for the UI to show, and
            // the app runs on without it.
            tauri::async_runtime::spawn(async move {
                let loaded = match restore.path.clone() {
                    Some(path) => {
                        let secrets = restore.secrets.clone();
                        // The keychain may take a moment: not on the async threads.
                        tokio::task::spawn_blocking(move || broker::saved::load(&path, &secrets))
                            .await
                            .ok()
                    }
                    None => None,
                };
                let (settings, note) = match loaded {
                    Some(loaded) => (Some(loaded.settings), loaded.note),
                    None => (None, None),
                };
                starting.set_note(note).await;
                let _ = starting.start(settings).await;
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
