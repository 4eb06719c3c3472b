//! The student page's HTTP server: a small HTTP/1.1 server on tokio that answers GET and HEAD
//! from the embedded page (see [`crate::page`]) and nothing else. Everything a visitor controls is
//! bounded: connections in all and per address, the request head's size, the time to send it and
//! to read the answer. One request per connection (the answer closes it): a page load is three.

use crate::page::{self, PageSettings};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio_util::task::TaskTracker;

/// Connections served at once, in all.
pub const MAX_CONNECTIONS: usize = 128;
/// Connections served at once from one address (a phone opens a few).
pub const MAX_PER_ADDRESS: usize = 16;
/// The largest request head read (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a visitor may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a visitor may take to read the answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the page server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("port {port} is already in use by another program: choose another port for the student page")]
    PortInUse { port: u16 },
    #[error("cannot serve the student page on {bind}:{port}: {reason}")]
    Bind {
        bind: IpAddr,
        port: u16,
        reason: String,
    },
}

/// The running page server; [`PageServer::stop`] ends it and waits for its connections.
pub struct PageServer {
    address: SocketAddr,
    settings: Arc<RwLock<PageSettings>>,
    stop: watch::Sender<bool>,
    tasks: TaskTracker,
}

impl PageServer {
    /// Listens on `bind:port` (0: any free port) and serves the page with `settings`.
    pub async fn start(
        bind: IpAddr,
        port: u16,
        settings: PageSettings,
    ) -> Result<PageServer, ServeError> {
        let listener = TcpListener::bind((bind, port)).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                ServeError::PortInUse { port }
            } else {
                ServeError::Bind {
                    bind,
                    port,
                    reason: e.to_string(),
                }
            }
        })?;
        let address = listener.local_addr().map_err(|e| ServeError::Bind {
            bind,
            port,
            reason: e.to_string(),
        })?;
        let (stop, stopped) = watch::channel(false);
        let tasks = TaskTracker::new();
        let settings = Arc::new(RwLock::new(settings));
        tasks.spawn(accept_loop(
            listener,
            settings.clone(),
            tasks.clone(),
            stopped,
        ));
        Ok(PageServer {
            address,
            settings,
            stop,
            tasks,
        })
    }

    /// The address actually listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// What the page is told from now on (`/classroom.json`, the policy's WebSocket port).
    pub fn set_settings(&self, settings: PageSettings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    /// Stops listening, ends every connection, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Counts connections per remote address; a place is given back when its guard drops.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

struct Place {
    address: IpAddr,
    counts: Arc<PerAddress>,
}

impl PerAddress {
    fn take(self: &Arc<Self>, address: IpAddr) -> Option<Place> {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(address).or_insert(0);
        if *count >= MAX_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(Place {
            address,
            counts: self.clone(),
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    settings: Arc<RwLock<PageSettings>>,
    tasks: TaskTracker,
    mut stopped: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let per_address = Arc::new(PerAddress::default());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: pause instead of spinning.
                tracing::warn!(%error, "the student page server could not accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over a limit: the connection is closed at once, costing nothing more.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let Some(place) = per_address.take(remote.ip()) else {
            continue;
        };
        let settings = settings.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            tokio::select! {
                _ = serve(stream, &settings) => {}
                _ = stopped.changed() => {}
            }
            drop((permit, place));
        });
    }
}

/// Reads the request head: up to the blank line, at most [`MAX_HEAD`] bytes.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, u16> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 2048];
    loop {
        let read = stream.read(&mut buffer).await.map_err(|_| 400u16)?;
        if read == 0 {
            return Err(400);
        }
        head.extend_from_slice(&buffer[..read]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(431);
        }
    }
}

/// The method and target of a request line, or the status refusing it.
fn request_line(head: &[u8]) -> Result<(bool, String), u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Err(400);
    }
    match method {
        "GET" => Ok((false, target.to_string())),
        "HEAD" => Ok((true, target.to_string())),
        _ => Err(405),
    }
}

async fn serve(mut stream: TcpStream, settings: &PageSettings) {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head,
        Err(_) => Err(408),
    };
    let (answer, head_only) = match head.and_then(|head| request_line(&head)) {
        Ok((head_only, target)) => (page::answer(&target, settings), head_only),
        Err(status) => (page::refusal(status), false),
    };
    let bytes = page::response(&answer, head_only, settings.ws_port);
    let write = async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_checked() {
        assert_eq!(
            request_line(b"GET /a?b HTTP/1.1\r\nHost: x"),
            Ok((false, "/a?b".to_string()))
        );
        assert_eq!(request_line(b"HEAD / HTTP/1.0"), Ok((true, "/".into())));
        assert_eq!(request_line(b"POST / HTTP/1.1"), Err(405));
        assert_eq!(request_line(b"GET http://evil/ HTTP/1.1"), Err(400));
        assert_eq!(request_line(b"GET / HTTP/2 extra"), Err(400));
        assert_eq!(request_line(b"\xff\xfe"), Err(400));
    }

    #[test]
    fn places_per_address_are_given_back() {
        let counts = Arc::new(PerAddress::default());
        let address: IpAddr = [192, 168, 1, 2].into();
        let places: Vec<_> = (0..MAX_PER_ADDRESS)
            .map(|_| counts.take(address).expect("a place"))
            .collect();
        assert!(counts.take(address).is_none());
        drop(places);
        assert!(counts.take(address).is_some());
    }
}
