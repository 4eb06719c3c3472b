//! The proxy's accept loop: admission (connections in all, per remote address) and the TLS and
//! WebSocket handshakes, all from the embedded broker's listeners, then one relay task per
//! device.

use crate::relay;
use crate::ProxyContext;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use workbench_broker::connection::ByteStream;
use workbench_broker::listeners::{choose_subprotocol, Admission, Transport};

/// How long a TLS or WebSocket handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts devices until `shutdown` turns true; every relay task is tracked by `tasks`.
pub async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    ctx: Arc<ProxyContext>,
    admission: Arc<Admission>,
    tasks: TaskTracker,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, remote) = match accepted {
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
                tracing::debug!(%remote, why, "connection turned away");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (ctx, shutdown, transport) = (ctx.clone(), shutdown.clone(), transport.clone());
        tasks.spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, upgrade(transport, stream));
            match handshake.await {
                Ok(Ok(device)) => relay::serve(device, remote, ctx, shutdown).await,
                Ok(Err(error)) => tracing::debug!(%remote, %error, "handshake failed"),
                Err(_) => tracing::debug!(%remote, "handshake timed out"),
            }
            drop(admitted);
        });
    }
}

/// The accepted socket as an MQTT byte stream, after its TLS and WebSocket handshakes.
async fn upgrade(
    transport: Transport,
    stream: tokio::net::TcpStream,
) -> Result<Box<dyn ByteStream>, String> {
    Ok(match transport {
        Transport::Tcp => Box::new(stream),
        Transport::WebSocket => {
            let socket = async_tungstenite::tokio::accept_hdr_async(stream, choose_subprotocol)
                .await
                .map_err(|e| e.to_string())?;
            Box::new(ws_stream_tungstenite::WsStream::new(socket))
        }
        Transport::Tls(acceptor) => {
            Box::new(acceptor.accept(stream).await.map_err(|e| e.to_string())?)
        }
        Transport::SecureWebSocket(acceptor) => {
            let tls = acceptor.accept(stream).await.map_err(|e| e.to_string())?;
            let socket = async_tungstenite::tokio::accept_hdr_async(tls, choose_subprotocol)
                .await
                .map_err(|e| e.to_string())?;
            Box::new(ws_stream_tungstenite::WsStream::new(socket))
        }
    })
}
