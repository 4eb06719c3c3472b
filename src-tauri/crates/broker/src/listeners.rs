//! The broker's listening sockets: plain TCP, WebSocket (subprotocol "mqtt"), TLS and secure
//! WebSocket. Each wraps the accepted socket into a byte stream and hands it to the same
//! connection code, so every transport gets the same protocol handling, in MQTT 3.1.1 and 5
//! alike. Admission (connections in all, per remote address) is decided here, before a
//! connection costs anything.

use crate::connection::{serve, BrokerContext, ClientStream};
use crate::BrokerError;
use async_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use async_tungstenite::tungstenite::http::HeaderValue;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;

/// How long a TLS or WebSocket handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a listener turns an accepted socket into an MQTT byte stream.
#[derive(Clone)]
pub enum Transport {
    Tcp,
    WebSocket,
    Tls(tokio_rustls::TlsAcceptor),
    /// WebSocket inside TLS (`wss://`).
    SecureWebSocket(tokio_rustls::TlsAcceptor),
}

impl Transport {
    pub fn label(&self) -> &'static str {
        match self {
            Transport::Tcp => "mqtt",
            Transport::WebSocket => "ws",
            Transport::Tls(_) => "mqtts",
            Transport::SecureWebSocket(_) => "wss",
        }
    }
}

/// Who may connect: at most so many connections in all (one permit each), and so many per
/// remote address (loopback is not limited: it is this computer, and load tests run there).
pub struct Admission {
    permits: Arc<Semaphore>,
    /// Connections turned away that are being told why (see [`crate::refusal`]).
    pub refusals: Arc<Semaphore>,
    per_address: usize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's place, given back when the connection ends.
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
    address: Option<IpAddr>,
    admission: Arc<Admission>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(address) = self.address {
            let mut by_address = self
                .admission
                .by_address
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(count) = by_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    by_address.remove(&address);
                }
            }
        }
    }
}

impl Admission {
    pub fn new(max_connections: usize, per_address: usize) -> Arc<Admission> {
        Arc::new(Admission {
            permits: Arc::new(Semaphore::new(max_connections)),
            refusals: Arc::new(Semaphore::new(crate::refusal::REFUSALS_AT_ONCE)),
            per_address,
            by_address: Mutex::new(HashMap::new()),
        })
    }

    /// A place for a connection from `address`, or why there is none.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Admitted, &'static str> {
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| "the broker serves its maximum number of connections")?;
        let counted = if address.is_loopback() {
            None
        } else {
            let mut by_address = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
            let count = by_address.entry(address).or_insert(0);
            if *count >= self.per_address {
                return Err("this address has its maximum number of connections");
            }
            *count += 1;
            Some(address)
        };
        Ok(Admitted {
            _permit: permit,
            address: counted,
            admission: self.clone(),
        })
    }
}

/// Reads a PEM certificate chain and private key into a TLS acceptor.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, BrokerError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| {
            BrokerError::InvalidSettings(format!("cannot read {}: {e}", path.display()))
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| BrokerError::InvalidSettings(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(BrokerError::InvalidSettings(format!(
            "{} holds no PEM certificate",
            cert.display()
        )));
    }
    let key_der = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| BrokerError::InvalidSettings(format!("{}: {e}", key.display())))?
        .ok_or_else(|| {
            BrokerError::InvalidSettings(format!("{} holds no PEM private key", key.display()))
        })?;
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| {
            BrokerError::InvalidSettings(format!("the certificate and key do not fit: {e}"))
        })?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts the "mqtt" WebSocket subprotocol when the client offers it (as MQTT over WebSocket
/// requires); clients that offer none are served too.
#[allow(clippy::result_large_err)] // the signature tungstenite's callback requires
pub fn choose_subprotocol(
    request: &Request,
    mut response: Response,
) -> Result<Response, ErrorResponse> {
    let offered = request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|p| p.eq_ignore_ascii_case("mqtt"));
    if offered {
        response
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
    }
    Ok(response)
}

/// Accepts connections until `shutdown` turns true. Every connection task is tracked by
/// `tasks`, so that stopping the broker can wait for them.
pub async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    ctx: Arc<BrokerContext>,
    admission: Arc<Admission>,
    tasks: TaskTracker,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, remote): (tokio::net::TcpStream, SocketAddr) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: pause instead of spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let admitted = match admission.admit(remote.ip()) {
            Ok(admitted) => admitted,
            Err(why) => {
                if matches!(transport, Transport::Tcp) {
                    crate::refusal::refuse(stream, remote, why, &admission.refusals, &ctx);
                } else {
                    ctx.stats
                        .refused
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        let transport = transport.clone();
        let fut =
            async move {
                match transport {
                Transport::Tcp => serve(ClientStream::Tcp(stream), remote, ctx, shutdown).await,
                // The other transports' handshakes and streams are large: boxed, so that the
                // task of every plain TCP connection stays small.
                Transport::WebSocket => Box::pin(async move {
                    let handshake =
                        async_tungstenite::tokio::accept_hdr_async(stream, choose_subprotocol);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(socket)) => {
                            let stream = ws_stream_tungstenite::WsStream::new(socket);
                            serve(ClientStream::Other(Box::new(stream)), remote, ctx, shutdown)
                                .await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%remote, %error, "WebSocket handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "WebSocket handshake timed out"),
                    }
                })
                .await,
                Transport::Tls(acceptor) => Box::pin(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve(ClientStream::Other(Box::new(stream)), remote, ctx, shutdown)
                                .await
                        }
                        Ok(Err(error)) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                })
                .await,
                Transport::SecureWebSocket(acceptor) => Box::pin(async move {
                    // Both handshakes within one time limit.
                    let handshake = async {
                        let tls = acceptor.accept(stream).await.map_err(|e| e.to_string())?;
                        async_tungstenite::tokio::accept_hdr_async(tls, choose_subprotocol)
                            .await
                            .map_err(|e| e.to_string())
                    };
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(socket)) => {
                            let stream = ws_stream_tungstenite::WsStream::new(socket);
                            serve(ClientStream::Other(Box::new(stream)), remote, ctx, shutdown)
                                .await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%remote, %error, "secure WebSocket handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "secure WebSocket handshake timed out"),
                    }
                })
                .await,
            }
                drop(admitted);
            };
        tasks.spawn(fut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_limits_per_address_but_not_loopback() {
        let admission = Admission::new(10, 2);
        let remote: IpAddr = [192, 168, 1, 9].into();
        let first = admission.admit(remote).expect("first");
        let _second = admission.admit(remote).expect("second");
        assert!(admission.admit(remote).is_err(), "a third from one address");
        drop(first);
        let _third = admission.admit(remote).expect("a place was given back");
        let local: Vec<_> = (0..8)
            .map(|_| admission.admit(IpAddr::from([127, 0, 0, 1])))
            .collect();
        assert!(
            local.iter().all(Result::is_ok),
            "loopback is not limited per address"
        );
        assert!(
            admission.admit([10, 0, 0, 1].into()).is_err(),
            "but counts in all"
        );
    }
}
