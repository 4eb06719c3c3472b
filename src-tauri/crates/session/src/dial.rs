//! Reaching a broker: name resolution, TCP, TLS (system roots or a CA file, a client certificate,
//! or an explicit "accept invalid certificates"), WebSocket and secure WebSocket. Each failure
//! becomes a [`SessionError`] that says what went wrong in words: the name did not resolve, the
//! port refused, the certificate is not trusted and why, the WebSocket upgrade got HTTP 404.
//!
//! The session dials here itself (rather than letting rumqttc do it) so that every byte passes
//! through the packet tap and the errors are precise.

use super::profile::{Profile, TlsOptions, TransportKind};
use super::SessionError;
use async_tungstenite::tungstenite;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long one connection attempt (resolve, connect, TLS, WebSocket) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected byte stream to the broker.
pub trait Upstream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Upstream for T {}

/// A connection and where it went.
pub struct Dialed {
    pub stream: Box<dyn Upstream>,
    pub remote: SocketAddr,
}

/// Connects to the profile's broker, within [`CONNECT_TIMEOUT`].
pub async fn dial(profile: &Profile) -> Result<Dialed, SessionError> {
    let target = format!("{}:{}", profile.host, profile.port);
    match tokio::time::timeout(CONNECT_TIMEOUT, dial_inner(profile)).await {
        Ok(result) => result,
        Err(_) => Err(SessionError::Unreachable(format!(
            "no answer from {target} within {} s (a firewall, or nothing there?)",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

async fn dial_inner(profile: &Profile) -> Result<Dialed, SessionError> {
    let (tcp, remote) = connect_tcp(&profile.host, profile.port).await?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Upstream> = match profile.transport {
        TransportKind::Tcp => Box::new(tcp),
        TransportKind::Tls => Box::new(tls_handshake(profile, tcp).await?),
        TransportKind::Ws => Box::new(websocket(profile, tcp).await?),
        TransportKind::Wss => {
            let tls = tls_handshake(profile, tcp).await?;
            Box::new(websocket(profile, tls).await?)
        }
    };
    Ok(Dialed { stream, remote })
}

/// Resolves the host and connects to the first address that answers.
async fn connect_tcp(host: &str, port: u16) -> Result<(TcpStream, SocketAddr), SessionError> {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            return Err(SessionError::Unreachable(format!(
                "cannot resolve the host name '{host}' ({e})"
            )))
        }
    };
    if addrs.is_empty() {
        return Err(SessionError::Unreachable(format!(
            "the host name '{host}' resolves to no address"
        )));
    }
    let mut last = None;
    // Each address gets its own share of the time: a silent first address (IPv6 without a
    // route, say) must not starve a working second one.
    let per_address = CONNECT_TIMEOUT / (addrs.len() as u32 + 1);
    for addr in &addrs {
        match tokio::time::timeout(per_address, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, *addr)),
            Ok(Err(e)) => last = Some((addr, e)),
            Err(_) => {
                last = Some((
                    addr,
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
                ))
            }
        }
    }
    let Some((addr, e)) = last else {
        return Err(SessionError::Unreachable(format!(
            "cannot connect to {host}:{port}"
        )));
    };
    let why = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused (no broker is listening on that port)".to_string()
        }
        std::io::ErrorKind::TimedOut => "timed out".to_string(),
        _ => e.to_string(),
    };
    Err(SessionError::Unreachable(format!(
        "cannot connect to {host}:{port} ({addr}): {why}"
    )))
}

/// The largest certificate or key file read (PEM bundles of a few hundred CAs fit easily).
const MAX_PEM_FILE: usize = 4 * 1024 * 1024;

fn read_file(what: &str, path: &str) -> Result<Vec<u8>, SessionError> {
    crate::files::read_bounded(std::path::Path::new(path), MAX_PEM_FILE)
        .map_err(|e| SessionError::Tls(format!("the {what}: {e}")))
}

fn pem_certs(what: &str, path: &str) -> Result<Vec<CertificateDer<'static>>, SessionError> {
    let pem = read_file(what, path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| SessionError::Tls(format!("the {what} {path} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(SessionError::Tls(format!(
            "the {what} {path} holds no PEM certificate"
        )));
    }
    Ok(certs)
}

fn pem_key(path: &str) -> Result<PrivateKeyDer<'static>, SessionError> {
    let pem = read_file("client key", path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| SessionError::Tls(format!("the client key {path} is not valid PEM: {e}")))?
        .ok_or_else(|| SessionError::Tls(format!("the client key {path} holds no private key")))
}

/// The TLS client configuration for a profile's options.
pub fn client_config(tls: &TlsOptions) -> Result<rustls::ClientConfig, SessionError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SessionError::Tls(e.to_string()))?;
    let builder = if tls.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &tls.ca_file {
            Some(path) => {
                for cert in pem_certs("CA file", path)? {
                    roots.add(cert).map_err(|e| {
                        SessionError::Tls(format!(
                            "the CA file {path} holds an unusable certificate: {e}"
                        ))
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(SessionError::Tls(
                        "the system has no trusted CA certificates; choose a CA file".into(),
                    ));
                }
            }
        }
        builder.with_root_certificates(roots)
    };
    match (&tls.client_cert_file, &tls.client_key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(pem_certs("client certificate", cert)?, pem_key(key)?)
            .map_err(|e| {
                SessionError::Tls(format!("the client certificate and key do not fit: {e}"))
            }),
        _ => Ok(builder.with_no_client_auth()),
    }
}

async fn tls_handshake<S: Upstream>(
    profile: &Profile,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, SessionError> {
    let config = client_config(&profile.tls)?;
    let name = ServerName::try_from(profile.host.clone()).map_err(|_| {
        SessionError::Tls(format!(
            "'{}' cannot be checked against a certificate",
            profile.host
        ))
    })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    connector
        .connect(name, stream)
        .await
        .map_err(|e| SessionError::Tls(tls_words(&e, &profile.host)))
}

/// A TLS failure in words a user can act on.
fn tls_words(error: &std::io::Error, host: &str) -> String {
    let inner = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    use rustls::CertificateError as C;
    match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => match cert {
            C::UnknownIssuer => "TLS: the broker's certificate is not signed by a trusted CA (choose the CA file that signed it, or accept invalid certificates for a test broker)".to_string(),
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "TLS: the broker's certificate is not valid for the name '{host}'"
            ),
            C::Expired | C::ExpiredContext { .. } => "TLS: the broker's certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "TLS: the broker's certificate is not valid yet (check the clock)".into()
            }
            other => format!("TLS: the broker's certificate was refused ({other:?})"),
        },
        Some(rustls::Error::AlertReceived(alert)) => format!(
            "TLS: the broker ended the handshake ({alert:?}); it may require a client certificate"
        ),
        Some(other) => format!("TLS: {other}"),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            "TLS: the broker closed the connection during the handshake (is this port TLS?)".into()
        }
        None => format!("TLS: {error}"),
    }
}

async fn websocket<S: Upstream>(
    profile: &Profile,
    stream: S,
) -> Result<impl Upstream, SessionError> {
    use tungstenite::client::IntoClientRequest;
    let scheme = if profile.transport == TransportKind::Wss {
        "wss"
    } else {
        "ws"
    };
    let host = if profile.host.contains(':') {
        format!("[{}]", profile.host)
    } else {
        profile.host.clone()
    };
    let url = format!("{scheme}://{host}:{}{}", profile.port, profile.ws_path);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| SessionError::InvalidInput(format!("WebSocket URL {url}: {e}")))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        tungstenite::http::HeaderValue::from_static("mqtt"),
    );
    let mut config = tungstenite::protocol::WebSocketConfig::default();
    // One MQTT packet may span several messages, but a broker may also send one large packet in
    // one message: allow the profile's maximum packet size.
    let limit = profile.max_packet_size as usize + 16;
    config.max_message_size = Some(limit);
    config.max_frame_size = Some(limit);
    let (socket, _response) =
        async_tungstenite::tokio::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| match e {
                // 4xx: the path or the request is wrong, which retrying does not fix.
                tungstenite::Error::Http(response) if response.status().is_client_error() => {
                    SessionError::Protocol(format!(
                        "the WebSocket upgrade at {url} was refused with HTTP {} (check the path)",
                        response.status()
                    ))
                }
                tungstenite::Error::Http(response) => SessionError::Unreachable(format!(
                    "the WebSocket upgrade at {url} was refused with HTTP {}",
                    response.status()
                )),
                other => {
                    SessionError::Unreachable(format!("WebSocket handshake with {url}: {other}"))
                }
            })?;
    Ok(ws_stream_tungstenite::WsStream::new(socket))
}

/// The "accept invalid certificates" switch: trusts any certificate, still checking that the
/// handshake signatures are sound. Used only when the user turned it on.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
