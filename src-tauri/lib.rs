//! MQTT Workbench: an MQTT broker, client sessions and a live view of all their traffic, in one
//! desktop app.
//!
//! This package is the thin Tauri shell around the workspace's crates (under
//! `src-tauri/crates/`), from the wire inwards:
//!
//! - `workbench-wire`: the MQTT codec, packet events, framing, topics and error codes.
//! - `workbench-broker`: the embedded broker: its own routing engine behind the front door.
//! - `workbench-session`: the user's own client sessions (rumqttc), each with a complete packet log.
//! - `workbench-traffic`: the model every view reads: topic tree, rates, bounded history.
//! - `workbench-charts`: rate and value charts drawn with plotters.
//! - `workbench-secrets`: passwords in the OS keychain.
//! - `workbench-core`: the app's services, assembled in `workbench_core::app::App`: the traffic
//!   hub and its viewers, the broker service and its saved settings, exports, what the UI reads,
//!   and the changes pushed to it.
//! - `workbench-cli`: the `mqttwb` command line (and `mqtt-workbench broker`).
//!
//! Only [`ipc`] and the app assembly in this file import `tauri`; the crates never do (`make
//! check-layers` fails if tauri or WebKit ever appears in their dependency trees).

pub mod ipc;

use std::sync::Arc;
use std::time::Duration;
use workbench_core::app::{App, Folders};

/// How long quitting waits for sessions to say DISCONNECT and the broker to stop.
const QUIT_DEADLINE: Duration = Duration::from_secs(3);

/// Builds and runs the desktop app until its last window closes.
pub fn run_app() -> Result<(), tauri::Error> {
    workbench_core::install_crypto_provider();
    let specta = ipc::specta_builder();
    // One password store for sessions and the broker's users (the keychain is probed once).
    let secrets = Arc::new(workbench_secrets::Secrets::detect());
    let app = Arc::new(App::new(Folders::from_os(), secrets.clone()));
    // Recordings, replays and saved messages (kept in the config folder).
    let capture = Arc::new(workbench_core::capture::CaptureService::new(
        app.sessions.clone(),
        secrets,
        Folders::from_os().config.as_deref(),
    ));
    // Inspecting proxies: traffic sources of their own, started from the UI.
    let proxies = workbench_core::proxy::ProxyService::new(app.hub.clone());
    let (starting, stopping) = (app.clone(), app.clone());
    tauri::Builder::default()
        .manage(app.hub.clone())
        .manage(app.broker.clone())
        .manage(app.sessions.clone())
        // AMQP 0-9-1 sessions (RabbitMQ), beside the MQTT ones.
        .manage(app.amqp.clone())
        .manage(app.saved.clone())
        .manage(app.clone())
        .manage(app.decoders.clone())
        .manage(capture)
        .manage(workbench_tools::service::ToolsService::new())
        // Off until the teacher turns it on (the student page and the broker on the network).
        .manage(Arc::new(
            workbench_classroom::Classroom::new(app.broker.clone()).saving_to(app.saved.clone()),
        ))
        // Lessons: the built-in set and the data folder's `lessons/`, run on the embedded broker.
        .manage(Arc::new(workbench_learn::Learn::new(
            Folders::from_os().config,
            app.hub.clone(),
            app.broker.clone(),
        )))
        .manage(ipc::traffic::WindowViewers::default())
        // The queue view's watchers (AMQP sessions' queues, read only while watched).
        .manage(Arc::new(workbench_amqp::watch::QueueWatches::default()))
        .manage(proxies.clone())
        // A window that closes leaves no viewer behind, whether or not its page said goodbye.
        .on_window_event(|window, event| {
            ipc::traffic::on_window_event(window, event);
            ipc::amqp_queues::on_window_event(window, event);
        })
        .invoke_handler(specta.invoke_handler())
        .setup(move |handle| {
            specta.mount_events(handle);
            let handle = handle.handle().clone();
            tauri::async_runtime::spawn(ipc::learn::push_changes(handle.clone()));
            tauri::async_runtime::spawn(ipc::proxy::push_changes(proxies, handle.clone()));
            let amqp = starting.amqp.clone();
            tauri::async_runtime::spawn(ipc::amqp::push_changes(amqp, handle.clone()));
            let broker = starting.broker.clone();
            tauri::async_runtime::spawn(ipc::faults::push_changes(broker, handle.clone()));
            tauri::async_runtime::spawn(async move {
                // On the app's runtime: the services' background tasks run there.
                starting.start();
                ipc::events::push_changes(starting, handle).await;
            });
            Ok(())
        })
        .build(tauri::generate_context!())?
        .run(move |_, event| {
            if let tauri::RunEvent::Exit = event {
                // Sessions say goodbye (DISCONNECT: no will), the broker closes its connections
                // and timers, every background task ends; bounded by a deadline.
                let left = tauri::async_runtime::block_on(stopping.shutdown(QUIT_DEADLINE));
                if left > 0 {
                    tracing::warn!("{left} sessions or tasks were still running at quit");
                }
            }
        });
    Ok(())
}
