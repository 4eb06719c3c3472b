//! Classroom on and off. Turning it on opens the embedded broker to the network (every
//! interface, with a WebSocket listener; with the class password as a broker user when one is
//! given) and starts the student page's server; turning it off stops the page and gives the broker
//! back the listen address, WebSocket port and users it had. None of this is saved: after a
//! restart of the app the classroom is off and the broker listens as its saved settings say.

use crate::http::{PageServer, ServeError};
use crate::page::PageSettings;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tokio::sync::Mutex;
use workbench_broker::BrokerSettings;
use workbench_core::broker::saved::SavedSettings;
use workbench_core::broker::service::BrokerService;
use workbench_core::error::{Coded, ErrorCode, IpcError};

/// The student page's port unless the teacher picks another.
pub const DEFAULT_PAGE_PORT: u16 = 8088;
/// The broker's WebSocket port when it has none.
pub const DEFAULT_WS_PORT: u16 = 8083;
/// The broker user that carries the class password.
pub const CLASS_USER: &str = "class";
/// The longest class password.
const MAX_PASSWORD: usize = 128;

/// What the teacher chooses when turning the classroom on.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ClassroomOptions {
    /// The student page's port (none: 8088; 0: any free port).
    pub page_port: Option<u16>,
    /// The broker's WebSocket port (none: the one it has, or 8083; 0: any free port).
    pub websocket_port: Option<u16>,
    /// A class password students type (none or empty: anyone on the network may connect).
    pub password: Option<String>,
}

/// The classroom as the teacher's panel shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ClassroomStatus {
    pub on: bool,
    /// The student page's port, while on.
    pub page_port: Option<u16>,
    /// The broker's WebSocket port the page connects to, while on.
    pub websocket_port: Option<u16>,
    /// The student page's address on each network this computer is on, while on.
    pub urls: Vec<String>,
    /// The same on this computer (for trying the page out).
    pub local_url: Option<String>,
    /// Whether students must type the class password.
    pub password: bool,
    /// False when the page was not built into this app (it then says how to build it).
    pub page_built: bool,
}

/// Why the classroom did not turn on.
#[derive(Debug, thiserror::Error)]
pub enum ClassroomError {
    #[error(transparent)]
    Page(#[from] ServeError),
    #[error("the broker could not open to the network: {0}")]
    Broker(#[from] workbench_broker::BrokerError),
    #[error("{0}")]
    InvalidInput(String),
}

impl Coded for ClassroomError {
    fn code(&self) -> ErrorCode {
        match self {
            ClassroomError::Page(ServeError::PortInUse { .. }) => ErrorCode::PortInUse,
            ClassroomError::Page(ServeError::Bind { .. }) => ErrorCode::Io,
            ClassroomError::Broker(error) => error.code(),
            ClassroomError::InvalidInput(_) => ErrorCode::InvalidInput,
        }
    }
}

impl From<ClassroomError> for IpcError {
    fn from(error: ClassroomError) -> IpcError {
        IpcError::from_coded(&error)
    }
}

/// What the broker had before the classroom changed it.
struct Before {
    bind: IpAddr,
    websocket_port: Option<u16>,
    users: HashMap<String, String>,
    /// The settings the classroom gave the broker (none until it started with them).
    applied: Option<BrokerSettings>,
}

struct Running {
    server: PageServer,
    before: Before,
    status: ClassroomStatus,
}

/// The classroom: off until the teacher turns it on.
pub struct Classroom {
    broker: Arc<BrokerService>,
    /// Where the broker's settings are saved: written again when the teacher saved broker
    /// settings while the classroom was on (so its exposure and password do not outlive it).
    saved: Option<Arc<SavedSettings>>,
    running: Mutex<Option<Running>>,
}

fn check_password(password: Option<String>) -> Result<Option<String>, ClassroomError> {
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if password.chars().count() > MAX_PASSWORD || password.chars().any(char::is_control) {
        return Err(ClassroomError::InvalidInput(format!(
            "the class password must be at most {MAX_PASSWORD} characters, without control characters"
        )));
    }
    Ok(Some(password))
}

impl Classroom {
    pub fn new(broker: Arc<BrokerService>) -> Classroom {
        Classroom {
            broker,
            saved: None,
            running: Mutex::new(None),
        }
    }

    /// The same, keeping the broker's saved settings free of the classroom's changes.
    pub fn saving_to(mut self, saved: Arc<SavedSettings>) -> Classroom {
        self.saved = Some(saved);
        self
    }

    pub async fn status(&self) -> ClassroomStatus {
        match &*self.running.lock().await {
            Some(running) => running.status.clone(),
            None => ClassroomStatus {
                page_built: crate::page::BUILT,
                ..ClassroomStatus::default()
            },
        }
    }

    /// Turns the classroom on (or changes its options while on).
    pub async fn turn_on(
        &self,
        options: ClassroomOptions,
    ) -> Result<ClassroomStatus, ClassroomError> {
        let password = check_password(options.password)?;
        let mut running = self.running.lock().await;
        if let Some(previous) = running.take() {
            previous.server.stop().await;
            self.restore(previous.before).await;
        }
        let current = self.broker.status().await.settings;
        let mut before = Before {
            bind: current.bind,
            websocket_port: current.websocket_port,
            users: current.users.clone(),
            applied: None,
        };
        let mut settings: BrokerSettings = current;
        if settings.bind.is_loopback() {
            settings.bind = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        }
        settings.websocket_port = Some(
            options
                .websocket_port
                .or(settings.websocket_port)
                .unwrap_or(DEFAULT_WS_PORT),
        );
        if let Some(password) = &password {
            settings
                .users
                .insert(CLASS_USER.to_string(), password.clone());
        }
        let bind = settings.bind;
        // The page's port first: when it is taken, the broker is left as it was.
        let page_port = options.page_port.unwrap_or(DEFAULT_PAGE_PORT);
        let mut page = PageSettings {
            ws_port: 0,
            password: password.is_some(),
            username: CLASS_USER.to_string(),
        };
        let server = PageServer::start(bind, page_port, page.clone()).await?;
        let page_port = server.local_addr().port();
        let started = match self.restart_broker(settings.clone()).await {
            Ok(started) => started,
            Err(error) => {
                server.stop().await;
                self.restore(before).await;
                return Err(error.into());
            }
        };
        let ws_port = started
            .listeners
            .iter()
            .find(|l| l.scheme == "ws")
            .map(|l| l.address.port())
            .unwrap_or_default();
        // The page learns the WebSocket port (known only now when it was 0).
        page.ws_port = ws_port;
        server.set_settings(page);
        let urls = crate::network::addresses()
            .into_iter()
            .map(|ip| format!("http://{ip}:{page_port}/"))
            .collect();
        let status = ClassroomStatus {
            on: true,
            page_port: Some(page_port),
            websocket_port: Some(ws_port),
            urls,
            local_url: Some(format!("http://127.0.0.1:{page_port}/")),
            password: password.is_some(),
            page_built: crate::page::BUILT,
        };
        tracing::info!(page_port, ws_port, "classroom on");
        before.applied = Some(settings);
        *running = Some(Running {
            server,
            before,
            status: status.clone(),
        });
        Ok(status)
    }

    /// Turns the classroom off: the page stops and the broker listens as before.
    pub async fn turn_off(&self) -> ClassroomStatus {
        let mut running = self.running.lock().await;
        if let Some(previous) = running.take() {
            previous.server.stop().await;
            self.restore(previous.before).await;
            tracing::info!("classroom off");
        }
        ClassroomStatus {
            page_built: crate::page::BUILT,
            ..ClassroomStatus::default()
        }
    }

    /// Restarts the broker with `settings`. Stopped first, so that what follows the broker's
    /// address (the app's own session) sees it go and come back, and connects again.
    async fn restart_broker(
        &self,
        settings: BrokerSettings,
    ) -> Result<workbench_core::broker::service::ServiceStatus, workbench_broker::BrokerError> {
        self.broker.stop().await;
        self.broker.start(Some(settings)).await
    }

    /// Gives the broker back its listen address, WebSocket port and users (other settings the
    /// teacher changed meanwhile stay).
    async fn restore(&self, before: Before) {
        let mut settings = self.broker.status().await.settings;
        // Saved meanwhile (the Broker tab saves what it starts): the file holds the classroom's
        // exposure and password, and is written again with the settings given back.
        let saved_meanwhile = before.applied.as_ref().is_some_and(|a| *a != settings);
        settings.bind = before.bind;
        settings.websocket_port = before.websocket_port;
        settings.users = before.users;
        if let Err(error) = self.restart_broker(settings.clone()).await {
            tracing::error!(%error, "the broker did not come back after the classroom");
        }
        if let (true, Some(saved)) = (saved_meanwhile, self.saved.clone()) {
            if let Some(path) = saved.path.clone() {
                // The keychain may take a moment: not on the async threads.
                let written = tokio::task::spawn_blocking(move || {
                    workbench_core::broker::saved::save(&path, &settings, &saved.secrets)
                })
                .await;
                if let Ok(Err(error)) = written {
                    tracing::error!(%error, "the broker's settings could not be saved again");
                }
            }
        }
    }
}
