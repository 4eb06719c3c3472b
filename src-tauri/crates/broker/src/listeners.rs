//! The door's listening sockets: plain TCP, WebSocket (subprotocol "mqtt") and TLS. Each wraps
//! the accepted socket into a byte stream and hands it to the same connection code, so every
//! transport gets the same protocol handling, in MQTT 3.1.1 and 5 alike.

use super::server::{serve, Shared};
use super::BrokerError;
use async_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use async_tungstenite::tungstenite::http::HeaderValue;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Connections served at once per listener; further ones are closed right after accept.
const MAX_CONNECTIONS: usize = 20_000;
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
fn choose_subprotocol(
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

/// Accepts connections until `shutdown` turns true.
pub async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
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
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%remote, "too many connections; closing the new one");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        let transport = transport.clone();
        tokio::spawn(async move {
            match transport {
                Transport::Tcp => serve(stream, remote, shared, shutdown).await,
                Transport::WebSocket => {
                    let handshake =
                        async_tungstenite::tokio::accept_hdr_async(stream, choose_subprotocol);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(socket)) => {
                            let stream = ws_stream_tungstenite::WsStream::new(socket);
                            serve(stream, remote, shared, shutdown).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%remote, %error, "WebSocket handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "WebSocket handshake timed out"),
                    }
                }
                Transport::Tls(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve(stream, remote, shared, shutdown).await,
                        Ok(Err(error)) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
                Transport::SecureWebSocket(acceptor) => {
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
                            serve(stream, remote, shared, shutdown).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%remote, %error, "secure WebSocket handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "secure WebSocket handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
}
