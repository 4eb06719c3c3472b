//! The front door's I/O: the accept loop and, per connection, two tasks relaying between the
//! client and the engine through the connection's [`Door`]. All protocol decisions are the
//! door's; this file only moves bytes, keeps time and reports.

use super::door::{CloseReason, Door, DoorSettings, Output};
use super::engine::Engine;
use super::stats::{BrokerState, ClientInfo};
use super::BrokerEvent;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use workbench_wire::PacketEvent;

/// How long a new connection may take to send its CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `$SYS` values are republished to subscribers (mosquitto's default).
const SYS_INTERVAL: Duration = Duration::from_secs(10);
/// How often the door pings the engine for a client with keep-alive 0.
const ENGINE_PING_INTERVAL: Duration = Duration::from_secs(3600);
const READ_BUFFER: usize = 64 * 1024;

/// What every connection task shares.
pub struct Shared {
    pub settings: Arc<DoorSettings>,
    pub engine: Engine,
    pub state: Arc<BrokerState>,
    pub events: Option<mpsc::Sender<BrokerEvent>>,
    pub serial: AtomicU64,
}

impl Shared {
    fn report(&self, event: BrokerEvent) {
        if let Some(events) = &self.events {
            if events.try_send(event).is_err() {
                // A slow consumer loses events, never the broker its speed.
                self.state.events_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Sends a step's packet events and counts them.
fn publish_events(
    shared: &Shared,
    connection: u64,
    client_id: &Arc<str>,
    remote: SocketAddr,
    out: &mut Output,
) {
    if out.events.is_empty() {
        return;
    }
    shared.state.counters.account(&out.events);
    if shared.events.is_some() {
        let time = SystemTime::now();
        let batch: Vec<PacketEvent> = out
            .events
            .drain(..)
            .map(|(direction, summary)| PacketEvent {
                connection,
                client_id: client_id.clone(),
                remote: Some(remote),
                direction,
                summary,
                time,
            })
            .collect();
        shared.report(BrokerEvent::Packets(batch));
    } else {
        out.events.clear();
    }
}

/// A client's byte stream: TCP, TLS or WebSocket, all served the same way.
pub trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> ClientStream for T {}

/// Serves one client connection until it ends.
pub async fn serve<S: ClientStream>(
    mut client: S,
    remote: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let connection = shared.serial.fetch_add(1, Ordering::Relaxed) + 1;
    let mut door = Door::new(shared.settings.clone(), connection);
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let mut out = Output::default();
    let unnamed: Arc<str> = Arc::from("");

    // Until the CONNECT is accepted there is no engine link.
    let accepted = tokio::time::timeout(CONNECT_TIMEOUT, async {
        loop {
            match client.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            door.on_client_bytes(&mut buf, &mut out);
            if out.open_engine || out.close.is_some() {
                return true;
            }
        }
    })
    .await
    .unwrap_or(false);
    if !accepted {
        return;
    }
    let client_id: Arc<str> = Arc::from(door.client_id());
    publish_events(
        &shared,
        connection,
        if client_id.is_empty() {
            &unnamed
        } else {
            &client_id
        },
        remote,
        &mut out,
    );
    if let Some(reason) = out.close.take() {
        let _ = client.write_all(&out.to_client).await;
        let _ = client.shutdown().await;
        shared.report(BrokerEvent::Refused {
            client_id: door.client_id().to_string(),
            remote,
            reason: reason.to_string(),
        });
        return;
    }

    // Every client reaches the engine as MQTT 5; the door translates for 3.1.1 clients.
    let engine_address = shared.engine.v5;
    if door.needs_session_reset() {
        end_engine_session(&shared, door.client_id()).await;
    }
    let mut engine = match TcpStream::connect(engine_address).await {
        Ok(engine) => engine,
        Err(error) => {
            tracing::error!(%error, "cannot reach the routing engine");
            return;
        }
    };
    let _ = engine.set_nodelay(true);
    if engine.write_all(&out.to_engine).await.is_err() {
        return;
    }
    out.clear();

    let info = ClientInfo {
        connection,
        client_id: client_id.to_string(),
        remote,
        version: door.version(),
        keep_alive: door.keep_alive(),
        clean_session: door.clean_session(),
        connected_at: SystemTime::now(),
        subscriptions: Default::default(),
        publish_received: 0,
        publish_sent: 0,
        bytes_received: 0,
        bytes_sent: 0,
    };
    let pings_engine = door.pings_engine();
    let door = Arc::new(Mutex::new(door));
    let (client_read, client_write) = tokio::io::split(client);
    let (engine_read, engine_write) = engine.into_split();
    // One task writes to the engine. The reading side's own acknowledgements (for deliveries the
    // door downgraded or dropped) reach it over a channel, so the engine's reader never waits on
    // a write: waiting there could deadlock with rumqttd, which does not read while it writes.
    // Unbounded, but bounded in practice by the engine's in-flight window (4 bytes an ack).
    let (acks_tx, acks_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    // Replies the door writes while handling client packets go out through the writer task.
    let (replies_tx, replies_rx) = mpsc::channel::<Reply>(64);

    let ctx = ConnectionContext {
        shared: shared.clone(),
        door,
        connection,
        client_id: client_id.clone(),
        remote,
        registered: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        pending_info: Arc::new(Mutex::new(Some(info))),
    };
    let up = client_to_engine(
        ctx.clone(),
        client_read,
        buf,
        engine_write,
        acks_rx,
        replies_tx,
        pings_engine,
    );
    let down = engine_to_client(ctx.clone(), engine_read, acks_tx, client_write, replies_rx);
    let mut shutdown = shutdown;
    let reason = tokio::select! {
        reason = up => reason,
        reason = down => reason,
        _ = shutdown.changed() => "the broker stopped".to_string(),
    };
    let expires_after = ctx.lock().session_expires_after();
    if let Some(after) = expires_after {
        let generation = shared.state.session_generation(&client_id);
        let shared = shared.clone();
        let client_id = client_id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            // Only if the client has not come back since.
            if shared.state.session_generation(&client_id) == generation {
                end_engine_session(&shared, &client_id).await;
            }
        });
    }
    if ctx.registered.load(Ordering::Relaxed) {
        shared.state.client_gone(connection);
        shared.report(BrokerEvent::Disconnected {
            client_id: client_id.to_string(),
            remote,
            reason,
        });
    }
}

/// Bytes the door wrote for the client while reading from it, and whether to close afterwards.
type Reply = (Vec<u8>, Option<String>);

/// Ends the engine's session for `client_id`: a short clean-start connection of the door's own.
async fn end_engine_session(shared: &Shared, client_id: &str) {
    let login = (
        shared.engine.username.as_str(),
        shared.engine.password.as_str(),
    );
    let Ok(connect) = super::codec::encode_session_end(client_id, login) else {
        return;
    };
    let attempt = async {
        let mut engine = TcpStream::connect(shared.engine.v5).await.ok()?;
        engine.write_all(&connect).await.ok()?;
        let mut connack = [0u8; 64];
        let _ = engine.read(&mut connack).await.ok()?;
        engine.write_all(&[0xE0, 0x00]).await.ok()?;
        let _ = engine.shutdown().await;
        Some(())
    };
    if tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .is_err()
    {
        tracing::warn!(client_id, "ending an expired session timed out");
    }
}

#[derive(Clone)]
struct ConnectionContext {
    shared: Arc<Shared>,
    door: Arc<Mutex<Door>>,
    connection: u64,
    client_id: Arc<str>,
    remote: SocketAddr,
    registered: Arc<std::sync::atomic::AtomicBool>,
    pending_info: Arc<Mutex<Option<ClientInfo>>>,
}

impl ConnectionContext {
    fn lock(&self) -> std::sync::MutexGuard<'_, Door> {
        self.door.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reports what a step changed beyond bytes: registration, subscriptions, retained topics.
    fn after_step(&self, out: &mut Output) {
        let state = &self.shared.state;
        if out.connected {
            if let Some(info) = self
                .pending_info
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                self.shared.report(BrokerEvent::Connected {
                    client_id: info.client_id.clone(),
                    remote: info.remote,
                    version: info.version,
                });
                state.client_connected(info);
                self.registered.store(true, Ordering::Relaxed);
            }
        }
        state.retained_changed(&out.retained_changes);
        if out.subscriptions_changed {
            let subscriptions = self.lock().subscriptions().clone();
            let before = {
                let mut before = Default::default();
                state.update_client(self.connection, |info| {
                    before = std::mem::replace(&mut info.subscriptions, subscriptions.clone());
                });
                before
            };
            for (filter, qos) in &subscriptions {
                if before.get(filter) != Some(qos) {
                    self.shared.report(BrokerEvent::Subscribed {
                        client_id: self.client_id.to_string(),
                        filter: filter.clone(),
                        qos: *qos,
                    });
                }
            }
        }
        if self.registered.load(Ordering::Relaxed) {
            let (mut pub_in, mut pub_out, mut bytes_in, mut bytes_out) = (0, 0, 0, 0);
            for (direction, summary) in &out.events {
                let publish = u64::from(summary.kind == workbench_wire::PacketKind::Publish);
                match direction {
                    workbench_wire::Direction::Inbound => {
                        pub_in += publish;
                        bytes_in += summary.size as u64;
                    }
                    workbench_wire::Direction::Outbound => {
                        pub_out += publish;
                        bytes_out += summary.size as u64;
                    }
                }
            }
            if pub_in + pub_out + bytes_in + bytes_out > 0 {
                state.update_client(self.connection, |info| {
                    info.publish_received += pub_in;
                    info.publish_sent += pub_out;
                    info.bytes_received += bytes_in;
                    info.bytes_sent += bytes_out;
                });
            }
        }
        publish_events(
            &self.shared,
            self.connection,
            &self.client_id,
            self.remote,
            out,
        );
    }
}

/// Reads the client and writes everything the engine gets: the client's packets (through the
/// door) and the door's own acknowledgements. `buf` holds bytes that came with the CONNECT.
async fn client_to_engine<S: ClientStream>(
    ctx: ConnectionContext,
    mut client: ReadHalf<S>,
    mut buf: BytesMut,
    mut engine: tokio::net::tcp::OwnedWriteHalf,
    mut acks: mpsc::UnboundedReceiver<Vec<u8>>,
    replies: mpsc::Sender<Reply>,
    pings_engine: bool,
) -> String {
    let mut out = Output::default();
    let mut ping = tokio::time::interval(ENGINE_PING_INTERVAL);
    ping.tick().await;
    let mut leftover = !buf.is_empty();
    loop {
        if !leftover {
            tokio::select! {
                read = client.read_buf(&mut buf) => {
                    match read {
                        Ok(0) => return "the client closed the connection".to_string(),
                        Err(error) => return format!("reading from the client failed: {error}"),
                        Ok(_) => {}
                    }
                }
                Some(bytes) = acks.recv() => {
                    if engine.write_all(&bytes).await.is_err() {
                        return "the routing engine closed the connection".to_string();
                    }
                    continue;
                }
                _ = ping.tick(), if pings_engine => {
                    let bytes = ctx.lock().engine_ping().to_vec();
                    if engine.write_all(&bytes).await.is_err() {
                        return "the routing engine closed the connection".to_string();
                    }
                    continue;
                }
            }
        }
        leftover = false;
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(READ_BUFFER);
        }
        out.clear();
        let sys = {
            let mut door = ctx.lock();
            door.on_client_bytes(&mut buf, &mut out);
            if out.sys_requested {
                let mut sys_out = Output::default();
                door.sys_publishes(&ctx.shared.state.sys_values(), true, &mut sys_out);
                Some(sys_out)
            } else {
                None
            }
        };
        if let Some(mut sys_out) = sys {
            out.to_client.append(&mut sys_out.to_client);
            out.events.append(&mut sys_out.events);
        }
        if !out.to_engine.is_empty() && engine.write_all(&out.to_engine).await.is_err() {
            return "the routing engine closed the connection".to_string();
        }
        let close = out.close.take();
        if !out.to_client.is_empty() || close.is_some() {
            let reply = (
                std::mem::take(&mut out.to_client),
                close.as_ref().map(|r| r.to_string()),
            );
            if replies.send(reply).await.is_err() {
                return "the connection closed".to_string();
            }
        }
        ctx.after_step(&mut out);
        if let Some(reason) = close {
            if reason == CloseReason::ClientDisconnected {
                let _ = engine.shutdown().await;
            }
            // The writer sends the door's last words (a DISCONNECT with a reason code, say),
            // then ends the connection with this reason.
            return std::future::pending().await;
        }
    }
}

/// Reads the engine and writes everything the client gets.
async fn engine_to_client<S: ClientStream>(
    ctx: ConnectionContext,
    mut engine: tokio::net::tcp::OwnedReadHalf,
    acks: mpsc::UnboundedSender<Vec<u8>>,
    mut client: WriteHalf<S>,
    mut replies: mpsc::Receiver<Reply>,
) -> String {
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let mut out = Output::default();
    let mut sys_tick = tokio::time::interval(SYS_INTERVAL);
    sys_tick.tick().await;
    loop {
        out.clear();
        tokio::select! {
            read = engine.read_buf(&mut buf) => {
                match read {
                    Ok(0) => return "the routing engine closed the connection".to_string(),
                    Err(error) => return format!("reading from the routing engine failed: {error}"),
                    Ok(_) => {}
                }
                if buf.capacity() - buf.len() < 4096 {
                    buf.reserve(READ_BUFFER);
                }
                ctx.lock().on_engine_bytes(&mut buf, &mut out);
            }
            reply = replies.recv() => {
                match reply {
                    Some((bytes, None)) => out.to_client = bytes,
                    Some((bytes, Some(reason))) => {
                        let _ = client.write_all(&bytes).await;
                        let _ = client.shutdown().await;
                        return reason;
                    }
                    None => return "the connection closed".to_string(),
                }
            }
            _ = sys_tick.tick() => {
                let values = ctx.shared.state.sys_values();
                ctx.lock().sys_publishes(&values, false, &mut out);
            }
        }
        if !out.to_client.is_empty() && client.write_all(&out.to_client).await.is_err() {
            return "writing to the client failed".to_string();
        }
        if !out.to_engine.is_empty() && acks.send(std::mem::take(&mut out.to_engine)).is_err() {
            return "the connection closed".to_string();
        }
        let close = out.close.take();
        ctx.after_step(&mut out);
        if let Some(reason) = close {
            let _ = client.shutdown().await;
            return reason.to_string();
        }
    }
}
