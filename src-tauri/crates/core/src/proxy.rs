//! Inspecting proxies as traffic sources: each running proxy (one per listening port) feeds its
//! events into the hub as the source `SourceId::Proxy(<port>)`, so the topic tree, packet log,
//! live map, sequence diagram and rates show its proxied clients as they show the broker's.
//! Also what the UI reads of a proxy: its addresses and its client rows (refusals in words).
//!
//! The traffic a proxy showed stays in the hub after it stops, for reading; starting a proxy
//! on the same port again starts that source afresh.

use crate::changes::{Change, Changes};
use crate::error::{ErrorCode, IpcError};
use crate::hub::TrafficHub;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use workbench_broker::BrokerEvent;
use workbench_faults::{ArmedRule, Fault};
use workbench_proxy::{ClientState, ListenKind, Proxy, ProxySettings, UpstreamSettings};
use workbench_traffic::SourceId;
use workbench_wire::Coded;

/// What the UI's form starts a proxy with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProxyForm {
    /// The port devices connect to (0 picks a free one).
    pub listen_port: u16,
    pub transport: ListenKind,
    /// Listen on every interface (devices on the network), not only on this computer.
    pub expose: bool,
    /// PEM certificate and key of an mqtts or wss listener.
    pub cert_path: Option<String>,
    pub key_path: Option<String>,
    /// The broker every connection is forwarded to.
    pub upstream_url: String,
    pub ca_file: Option<String>,
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
    pub accept_invalid_certs: bool,
}

impl ProxyForm {
    pub fn settings(&self) -> ProxySettings {
        let mut settings = ProxySettings::new(self.listen_port, &self.upstream_url);
        if self.expose {
            settings.bind = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        }
        settings.listen = self.transport;
        let path = |p: &Option<String>| p.clone().filter(|p| !p.trim().is_empty());
        settings.cert_path = path(&self.cert_path).map(Into::into);
        settings.key_path = path(&self.key_path).map(Into::into);
        settings.upstream = UpstreamSettings {
            url: self.upstream_url.trim().to_string(),
            ca_file: path(&self.ca_file),
            client_cert_file: path(&self.client_cert_file),
            client_key_file: path(&self.client_key_file),
            accept_invalid_certs: self.accept_invalid_certs,
        };
        settings
    }
}

/// One proxied client as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProxyClientView {
    pub connection: f64,
    pub client_id: String,
    pub remote: String,
    pub version: String,
    pub username: Option<String>,
    pub state: ClientState,
    /// Why it was refused or ended, in words (the upstream's CONNACK code, TLS, unreachable).
    pub detail: String,
    pub packets_in: f64,
    pub packets_out: f64,
    pub since_ms: f64,
}

/// A running proxy as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProxyView {
    /// Its source id (`{ kind: "proxy", id }`): the listening port.
    pub id: String,
    pub listen_url: String,
    pub upstream_url: String,
    pub clients: Vec<ProxyClientView>,
    /// The fault rules armed on its clients (drop, delay, cut...), in the order armed.
    pub faults: Vec<ArmedRule>,
    /// Packet events lost because the views fell behind.
    pub events_dropped: f64,
}

struct Running {
    proxy: Proxy,
    ingest: tokio::task::JoinHandle<()>,
}

/// The running proxies.
pub struct ProxyService {
    hub: Arc<TrafficHub>,
    running: tokio::sync::Mutex<BTreeMap<String, Running>>,
    /// Told when a proxy starts or stops or a client row changes; a front end pushes the views.
    pub changes: Arc<Changes>,
}

fn view(id: &str, proxy: &Proxy) -> ProxyView {
    ProxyView {
        id: id.to_string(),
        listen_url: proxy.listen_url(),
        upstream_url: proxy.settings().upstream.url.clone(),
        clients: proxy
            .clients()
            .into_iter()
            .map(|c| ProxyClientView {
                connection: c.connection as f64,
                client_id: c.client_id,
                remote: c.remote.to_string(),
                version: c.version.to_string(),
                username: c.username,
                state: c.state,
                detail: c.detail,
                packets_in: c.packets_in as f64,
                packets_out: c.packets_out as f64,
                since_ms: c.since_ms as f64,
            })
            .collect(),
        faults: proxy.faults().rules(),
        events_dropped: proxy.events_dropped() as f64,
    }
}

impl ProxyService {
    pub fn new(hub: Arc<TrafficHub>) -> Arc<ProxyService> {
        Arc::new(ProxyService {
            hub,
            running: tokio::sync::Mutex::new(BTreeMap::new()),
            changes: Arc::new(Changes::default()),
        })
    }

    /// Starts a proxy; its source id is its listening port.
    pub async fn start(&self, form: &ProxyForm) -> Result<ProxyView, IpcError> {
        let settings = form.settings();
        let (tx, rx) = mpsc::channel(1024);
        let changes = self.changes.clone();
        let on_change: workbench_proxy::OnChange = Arc::new(move || changes.mark(Change::Clients));
        let proxy = Proxy::start(settings, Some(tx), Some(on_change))
            .await
            .map_err(|e| IpcError::new(e.code(), e.to_string()))?;
        {
            let changes = self.changes.clone();
            proxy
                .faults()
                .on_change(move |_| changes.mark(Change::Clients));
        }
        let id = proxy.local_addr().port().to_string();
        let source = SourceId::Proxy(id.clone());
        self.hub.clear(&source);
        let ingest = tokio::spawn(self.hub.clone().ingest_source(source, rx));
        let shown = view(&id, &proxy);
        self.running
            .lock()
            .await
            .insert(id.clone(), Running { proxy, ingest });
        self.changes.mark(Change::Clients);
        Ok(shown)
    }

    /// Stops the proxy `id`; its traffic stays in the views.
    pub async fn stop(&self, id: &str) -> Result<(), IpcError> {
        let running = self.running.lock().await.remove(id);
        let Some(running) = running else {
            return Err(not_running(id));
        };
        running.proxy.stop().await;
        // The channel closes with the proxy: the ingestion ends once it has drained it.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), running.ingest).await;
        self.changes.mark(Change::Clients);
        Ok(())
    }

    /// Arms `fault` against `client_id` on proxy `id` (connected or not yet); returns the
    /// proxy's rules.
    pub async fn arm_fault(
        &self,
        id: &str,
        client_id: &str,
        fault: Fault,
    ) -> Result<Vec<ArmedRule>, IpcError> {
        let running = self.running.lock().await;
        let book = running
            .get(id)
            .ok_or_else(|| not_running(id))?
            .proxy
            .faults();
        book.arm(client_id, fault)
            .map_err(|e| IpcError::from_coded(&e))?;
        Ok(book.rules())
    }

    /// Clears rule `rule` of proxy `id`; returns the rules still armed.
    pub async fn clear_fault(&self, id: &str, rule: u32) -> Result<Vec<ArmedRule>, IpcError> {
        let running = self.running.lock().await;
        let book = running
            .get(id)
            .ok_or_else(|| not_running(id))?
            .proxy
            .faults();
        if book.clear(rule).is_none() {
            return Err(IpcError::new(
                ErrorCode::NotFound,
                format!("fault rule {rule} is not armed (it may have been used up)"),
            ));
        }
        Ok(book.rules())
    }

    /// Stops every proxy (the app quitting).
    pub async fn stop_all(&self) {
        let all = std::mem::take(&mut *self.running.lock().await);
        for (_, running) in all {
            running.proxy.stop().await;
        }
    }

    /// Every running proxy with its client rows.
    pub async fn list(&self) -> Vec<ProxyView> {
        self.running
            .lock()
            .await
            .iter()
            .map(|(id, running)| view(id, &running.proxy))
            .collect()
    }
}

fn not_running(id: &str) -> IpcError {
    IpcError::new(
        ErrorCode::NotFound,
        format!("no proxy is running on port {id}"),
    )
}

impl TrafficHub {
    /// Drains a proxy's events into its source until the channel closes, as
    /// [`TrafficHub::ingest_broker`] does for the broker's.
    pub async fn ingest_source(
        self: Arc<Self>,
        source: SourceId,
        mut events: mpsc::Receiver<BrokerEvent>,
    ) {
        while let Some(event) = events.recv().await {
            let mut batch = vec![event];
            while batch.len() < 256 {
                match events.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            self.with_state(&source, |state| {
                for event in batch {
                    crate::hub::apply_broker_event(state, event);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workbench_testkit::mosquitto::Mosquitto;
    use workbench_testkit::peers::mosquitto_pub;

    /// A proxy started as the app starts it feeds its own source in the hub: the topic tree, the
    /// packet log and the notices show its clients, and the rows say who was refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_proxy_is_a_traffic_source_of_its_own() {
        let mosquitto = Mosquitto::start(&[], None);
        let hub = TrafficHub::new(Default::default());
        let service = ProxyService::new(hub.clone());
        let form = ProxyForm {
            listen_port: 0,
            transport: ListenKind::Tcp,
            expose: false,
            cert_path: None,
            key_path: None,
            upstream_url: format!("mqtt://127.0.0.1:{}", mosquitto.port),
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            accept_invalid_certs: false,
        };
        let view = service.start(&form).await.expect("started");
        let port = view.id.clone();
        let published = tokio::task::spawn_blocking(move || {
            mosquitto_pub(
                &port,
                &[
                    "-i",
                    "core-dev",
                    "-t",
                    "core/proxy/t",
                    "-m",
                    "42",
                    "-q",
                    "1",
                ],
            )
        })
        .await
        .expect("ran");
        assert!(published.status.success(), "{published:?}");
        let source = SourceId::Proxy(view.id.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (topic, packets, notices) = hub.read_source(&source, |m| {
                (
                    m.tree.find("core/proxy/t").is_some(),
                    m.packets().filter(|p| &*p.client_id == "core-dev").count(),
                    m.notices().count(),
                )
            });
            // CONNECT, CONNACK, PUBLISH, PUBACK, DISCONNECT; connected and disconnected.
            if topic && packets >= 5 && notices >= 2 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{topic} {packets} {notices}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(hub.read_source(&SourceId::Broker, |m| m.packets_total()), 0);
        let listed = service.list().await;
        assert_eq!(listed.len(), 1);
        assert!(listed[0].clients.iter().any(|c| c.client_id == "core-dev"));
        service.stop(&view.id).await.expect("stopped");
        assert!(service.list().await.is_empty());
        assert!(
            service.stop(&view.id).await.is_err(),
            "not running any more"
        );
        let kept = hub.read_source(&source, |m| m.tree.find("core/proxy/t").is_some());
        assert!(kept, "its traffic stays for reading");
    }

    #[test]
    fn the_form_becomes_settings() {
        let form = ProxyForm {
            listen_port: 1884,
            transport: ListenKind::Ws,
            expose: true,
            cert_path: Some(" ".into()),
            key_path: None,
            upstream_url: " mqtt://broker.example:1883 ".into(),
            ca_file: Some(String::new()),
            client_cert_file: None,
            client_key_file: None,
            accept_invalid_certs: false,
        };
        let settings = form.settings();
        assert_eq!(settings.port, 1884);
        assert!(settings.bind.is_unspecified());
        assert_eq!(settings.cert_path, None, "blank paths are no paths");
        assert_eq!(settings.upstream.url, "mqtt://broker.example:1883");
        assert_eq!(settings.upstream.ca_file, None);
    }
}
