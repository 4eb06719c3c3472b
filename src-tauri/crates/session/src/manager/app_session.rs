//! The app's own session: an always-connected client of the embedded broker, so a user can
//! publish and subscribe on first start with nothing to set up. It is a session like any other
//! (its packets show in the log, its traffic in its own source), made and kept by the app: it
//! follows the broker's port, is never saved to the profiles file and cannot be deleted.

use super::{Inner, SessionManager};
use crate::profile::{MqttVersion, Profile, TransportKind};
use crate::SessionError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The app session's profile id (also its traffic source's).
pub const APP_SESSION_ID: &str = "workbench";
/// The client id it connects with, as the broker's client list and the packet log show it.
pub const APP_CLIENT_ID: &str = "mqtt-workbench";

/// Whether `id` names the app's own session.
pub fn is_app_session(id: &str) -> bool {
    id == APP_SESSION_ID
}

/// Where the app reaches its broker: the listener's address, or loopback when it listens on
/// every address.
fn reach(listener: SocketAddr) -> (String, u16) {
    let ip = match listener.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    (ip.to_string(), listener.port())
}

fn app_profile(host: String, port: u16) -> Profile {
    let mut profile = Profile::new("This app", &host, port, MqttVersion::V5);
    profile.id = APP_SESSION_ID.to_string();
    profile.client_id = APP_CLIENT_ID.to_string();
    // The app reconnects it whenever the broker (re)starts listening; it does not retry on its
    // own, so a broker that requires passwords refuses it once (shown on its row), not every 30 s.
    profile.auto_reconnect = false;
    debug_assert_eq!(profile.transport, TransportKind::Tcp);
    profile
}

impl SessionManager {
    /// Follows the embedded broker: each call with its MQTT listener means the broker (re)started
    /// listening there (the broker's listening watch may skip the stop between two starts on
    /// the same port), so the session is made if needed and connects anew, replacing a
    /// connection to the broker that was; `None` when it stopped (the session says DISCONNECT
    /// and is let go). Must be called within a tokio runtime.
    ///
    /// `login` is the user and password the broker admits the app with when it requires
    /// passwords (made for this run and never stored; see the broker service).
    pub fn set_app_session(
        &self,
        listener: Option<SocketAddr>,
        login: Option<(String, String)>,
    ) -> Result<(), SessionError> {
        let mut inner = self.lock();
        // A connection to the previous broker (or one still saying goodbye) never blocks the
        // next: it is let go, and ends on its own.
        if let Some(running) = inner.running.remove(APP_SESSION_ID) {
            running.stop(true);
        }
        let Some(listener) = listener else {
            drop(inner);
            self.notify();
            return Ok(());
        };
        let (host, port) = reach(listener);
        ensure_profile(&mut inner, host, port);
        let (username, password) = login.unzip();
        if let Some(profile) = inner.profiles.iter_mut().find(|p| is_app_session(&p.id)) {
            profile.username = username;
        }
        inner.app_password = password;
        drop(inner);
        self.connect(APP_SESSION_ID)?;
        Ok(())
    }
}

/// Makes the app session's profile (first in the list) or points it at `host:port`.
fn ensure_profile(inner: &mut Inner, host: String, port: u16) {
    match inner.profiles.iter_mut().find(|p| is_app_session(&p.id)) {
        Some(profile) => {
            profile.port = port;
            profile.host = host;
        }
        None => inner.profiles.insert(0, app_profile(host, port)),
    }
}
