//! The app's services: everything MQTT Workbench does as an application that is not Tauri. The
//! desktop app's `ipc` module wraps these in commands (each command body is a call into here),
//! and the command-line binary builds on them; tests drive them without a window.
//!
//! This is where the layers below meet: the broker's and the sessions' packet events are fed to
//! the traffic model in [`hub`].
//!
//! - [`amqp`]: AMQP 0-9-1 sessions (RabbitMQ): profiles, connections feeding the hub, consumers.
//! - [`app`]: the services assembled and started and stopped as one (shutdown designed in).
//! - [`changes`]: what changed that the UI shows, gathered for a front end to push.
//! - [`hub`]: every source's traffic model behind one lock, fed from the broker's and the
//!   sessions' bounded event channels, and the viewers looking at them (frames pushed).
//! - [`capture`]: recordings of the embedded broker, replays to it or through a session, and
//!   the saved-message library.
//! - [`broker`]: the broker as the app runs it ([`broker::service`]), its settings across
//!   restarts ([`broker::saved`]) and what the UI shows of it ([`broker::status`]).
//! - [`traffic`]: what the UI reads of a source: frames of the topic tree, stored messages,
//!   connection notices, packet pages and exports, charts.
//! - [`teach`]: the teaching views' data: sequence diagram pages, routing explained, the live
//!   map's routed messages, who is busy.
//! - [`decoders`]: Sparkplug B state, Protobuf schemas per source, one message decoded.
//! - [`proxy`]: inspecting proxies as traffic sources, and their client rows.
//! - [`preferences`]: the settings page's `settings.json` (broker at start, history, downloads).
//! - [`downloads`]: exports (payloads, charts, packet logs) saved into the Downloads folder.
//! - [`error`]: errors as the UI receives them, `{ code, message }`.
//!
//! It must never import `tauri` (a check in the Makefile fails if tauri or WebKit appears in its
//! dependency tree).

pub mod amqp;
pub mod app;
pub mod broker;
pub mod capture;
pub mod changes;
pub mod decoders;
pub mod downloads;
pub mod error;
pub mod faults;
pub mod hub;
pub mod preferences;
pub mod proxy;
pub mod teach;
pub mod traffic;

pub use workbench_wire::now_ms;

/// Name of the product as users see it (window title, logs, headless banner).
pub const PRODUCT_NAME: &str = "MQTT Workbench";

/// Installs the one rustls crypto provider this build carries (ring). rumqttc and rumqttd both use
/// rustls; with no process default installed, TLS setup fails at run time.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
