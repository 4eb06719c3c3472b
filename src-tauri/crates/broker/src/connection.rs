//! One task per client connection, owning its socket and its [`Door`]: it reads, writes, keeps
//! time and reports; every protocol decision is the door's.
//!
//! An idle plain-TCP connection holds no read buffer: the task waits for the socket to become
//! readable and only then takes a buffer, sized by how much the last read brought. Writes have
//! a deadline, so a client that stops reading cannot hold its task for ever; unfinished packets
//! count against a budget shared by all connections.

use crate::door::faults::FaultGate;
use crate::door::{CloseReason, ConnectStep, Door, DoorConfig, Notice, Output};
use crate::router::registry::{Attach, Control};
use crate::router::Router;
use crate::stats::{ClientRecord, Stats};
use crate::BrokerEvent;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use wire::{PacketEvent, ProtocolVersion};

mod stream;
use stream::MIN_READ;
pub use stream::{ByteStream, ClientStream};

/// How long a publisher waits for a congested subscriber to drain before going on.
const CONGESTION_WAIT: Duration = Duration::from_millis(250);
/// How long a new connection waits for an old one with its client id to hand the session over.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);
/// Unfinished packets smaller than this do not count against the shared budget.
const SMALL_UNFINISHED: usize = 64 * 1024;
/// Output is written once it reaches this size, even if more deliveries wait.
const WRITE_CHUNK: usize = 256 * 1024;

/// Bytes of packet events waiting for the consumer (payloads, topics and fields included).
pub const TAP_BUDGET: usize = 64 * 1024 * 1024;

/// What every connection of one broker shares.
pub struct BrokerContext {
    pub router: Arc<Router>,
    pub door: Arc<DoorConfig>,
    pub stats: Arc<Stats>,
    pub events: Option<mpsc::Sender<BrokerEvent>>,
    pub serial: AtomicU64,
    /// Bytes of large unfinished packets held by all connections.
    pub unfinished: AtomicUsize,
    /// Bytes held by packet events not yet consumed.
    pub tapped: wire::budget::Budget,
}

impl BrokerContext {
    pub fn report(&self, event: BrokerEvent) {
        if let Some(events) = &self.events {
            if events.try_send(event).is_err() {
                // A slow consumer loses events, never the broker its speed.
                self.stats.events_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn report_packets(&self, door: &Door, out: &mut Output) {
        if out.events.is_empty() {
            return;
        }
        if self.events.is_none() {
            out.events.clear();
            return;
        }
        let time = SystemTime::now();
        let client_id = door.client_id().clone();
        let events: Vec<PacketEvent> = out
            .events
            .drain(..)
            .map(|(direction, summary)| PacketEvent {
                connection: door.serial,
                client_id: client_id.clone(),
                remote: Some(door.remote),
                direction,
                summary,
                time,
            })
            .collect();
        let count = events.len() as u64;
        match crate::PacketBatch::within(events, &self.tapped) {
            Some(batch) => self.report(BrokerEvent::Packets(batch)),
            None => {
                self.stats
                    .events_dropped
                    .fetch_add(count, Ordering::Relaxed);
            }
        }
    }
}

fn version(door: &Door) -> ProtocolVersion {
    if door.level().is_v5() {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    }
}

/// The unfinished bytes this connection holds against the shared budget.
struct Unfinished<'a> {
    budget: &'a AtomicUsize,
    held: usize,
}

impl Unfinished<'_> {
    /// Accounts `buffered` bytes of an unfinished packet; false when the budget is exceeded.
    fn update(&mut self, buffered: usize, max: usize) -> bool {
        let held = if buffered > SMALL_UNFINISHED {
            buffered
        } else {
            0
        };
        if held > self.held {
            let total =
                self.budget.fetch_add(held - self.held, Ordering::Relaxed) + held - self.held;
            self.held = held;
            total <= max
        } else {
            self.budget.fetch_sub(self.held - held, Ordering::Relaxed);
            self.held = held;
            true
        }
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.held, Ordering::Relaxed);
    }
}

/// Serves one client connection until it ends.
pub async fn serve(
    mut stream: ClientStream,
    remote: SocketAddr,
    ctx: Arc<BrokerContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let serial = ctx.serial.fetch_add(1, Ordering::Relaxed) + 1;
    let limits = ctx.door.limits.clone();
    let mut door = Door::new(
        ctx.door.clone(),
        ctx.router.clone(),
        serial,
        remote,
        Instant::now(),
    );
    let mut buf = BytesMut::new();
    let mut hint = MIN_READ;
    let mut out = Output::default();
    let mut unfinished = Unfinished {
        budget: &ctx.unfinished,
        held: 0,
    };

    // The CONNECT, within its time limit.
    let step = tokio::time::timeout(limits.connect_timeout, async {
        loop {
            match stream.read(&mut buf, &mut hint).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            if let Some(step) = door.on_connect(&mut buf, Instant::now(), &mut out) {
                return Some(step);
            }
            if !unfinished.update(buf.len(), limits.max_unfinished_bytes_total) {
                return None;
            }
        }
    })
    .await
    .ok()
    .flatten();
    let Some(step) = step else {
        return;
    };
    // A refusal armed for this client id answers instead of the session.
    let refusal = match &step {
        ConnectStep::Attach { client_id, .. } => ctx.router.faults.take_refusal(client_id),
        ConnectStep::Refuse { .. } => None,
    };
    let step = match refusal {
        Some(code) => door.refuse_by_fault(code, &mut out),
        None => step,
    };
    let (client_id, clean_start, expiry) = match step {
        ConnectStep::Refuse { delay, reason } => {
            if !delay.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => {}
                }
            }
            ctx.report_packets(&door, &mut out);
            let _ = tokio::time::timeout(limits.write_timeout, stream.write_all(&out.bytes)).await;
            stream.shutdown().await;
            ctx.stats.refused.fetch_add(1, Ordering::Relaxed);
            ctx.report(BrokerEvent::Refused {
                client_id: door.client_id().to_string(),
                remote,
                reason: reason.to_string(),
            });
            return;
        }
        ConnectStep::Attach {
            client_id,
            clean_start,
            expiry,
        } => (client_id, clean_start, expiry),
    };

    // The session: resumed, new, or taken over from a connection still open.
    let (control_tx, mut control_rx) = mpsc::channel::<Control>(4);
    let started = Instant::now();
    let mut force = false;
    let attached = loop {
        let attach = ctx.router.attach(
            &client_id,
            clean_start,
            expiry,
            serial,
            control_tx.clone(),
            force,
            Instant::now(),
        );
        match attach {
            Attach::Ready(attached) => break attached,
            Attach::Wait(released) => {
                let _ = tokio::time::timeout(Duration::from_millis(100), released.notified()).await;
                if started.elapsed() > TAKEOVER_WAIT {
                    force = true;
                }
            }
        }
    };
    drop(control_tx);
    let record = Arc::new(ClientRecord::new(
        serial,
        client_id.clone(),
        remote,
        version(&door),
        door.keep_alive(),
        clean_start,
        attached.cell.clone(),
        attached
            .state
            .subscriptions
            .iter()
            .map(|(filter, s)| (filter.to_string(), s.options.qos.bits())),
    ));
    door.accept(attached, Instant::now(), &mut out);
    ctx.stats.client_connected(record.clone());
    ctx.report(BrokerEvent::Connected {
        client_id: client_id.to_string(),
        remote,
        version: version(&door),
    });

    let reason = run(
        &mut door,
        &mut stream,
        &mut buf,
        &mut hint,
        &mut out,
        &ctx,
        &record,
        &mut unfinished,
        &mut control_rx,
        &mut shutdown,
    )
    .await;

    // Over: the session goes back to the router, the client leaves the dashboard.
    linger(&mut stream, &reason).await;
    let now = Instant::now();
    if let Some((live, will)) = door.finish(&reason) {
        ctx.router.detach(
            &client_id,
            serial,
            live.cell,
            live.state,
            will,
            reason == CloseReason::TakenOver,
            now,
        );
    }
    ctx.stats.client_gone(serial);
    let dropped = record.session.counters.dropped_qos0.load(Ordering::Relaxed);
    ctx.report(BrokerEvent::Disconnected {
        client_id: client_id.to_string(),
        remote,
        reason: reason.to_string(),
        dropped_qos0: dropped,
    });
}

/// The connection's main loop, from the CONNACK to the close; returns why it ended.
#[allow(clippy::too_many_arguments)]
async fn run(
    door: &mut Door,
    stream: &mut ClientStream,
    buf: &mut BytesMut,
    hint: &mut usize,
    out: &mut Output,
    ctx: &BrokerContext,
    record: &ClientRecord,
    unfinished: &mut Unfinished<'_>,
    control: &mut mpsc::Receiver<Control>,
    shutdown: &mut watch::Receiver<bool>,
) -> CloseReason {
    let limits = door.limits().clone();
    let Some(cell) = door.live().map(|live| live.cell.clone()) else {
        return CloseReason::ServerClosed("no session".into());
    };
    let mut reading = true;
    // Fault rules armed for this client, between the socket and the door; none (and one atomic
    // load per step) while no rule is armed anywhere.
    let book = ctx.router.faults.clone();
    let mut gate: Option<Box<FaultGate>> = None;
    loop {
        let now = Instant::now();
        if gate.is_none() && !book.is_empty() && book.has_rules_for(door.client_id()) {
            let faults = workbench_faults::Faults::new(book.clone(), door.client_id(), door.serial);
            gate = Some(Box::new(FaultGate::new(faults)));
        }
        match gate.as_deref_mut() {
            None => door.on_bytes(buf, now, out),
            Some(gate) => {
                match gate.faults.take_action() {
                    Some(workbench_faults::Action::Cut) => {
                        return CloseReason::ConnectionLost(
                            "cut by a fault rule (no DISCONNECT)".into(),
                        )
                    }
                    Some(workbench_faults::Action::Disconnect { code }) => {
                        door.disconnect_by_fault(code, out)
                    }
                    None => {}
                }
                gate.from_client(buf, door, now, out);
                let from = out.events.len();
                door.on_gated_bytes(&mut gate.staged, buf.len(), now, out);
                gate.mark_read(out, from);
            }
        }
        if out.close.is_none() {
            let room = gate.as_ref().is_none_or(|g| g.has_room_to_client());
            while room && out.bytes.len() < WRITE_CHUNK && door.pull(now, out) {}
        }
        if buf.is_empty() && buf.capacity() > 0 && matches!(stream, ClientStream::Tcp(_)) {
            // Idle plain-TCP connections hold no buffer.
            *buf = BytesMut::new();
        }
        if !unfinished.update(buf.len(), limits.max_unfinished_bytes_total) {
            let reason = CloseReason::Limit {
                code: wire::codec::reason::QUOTA_EXCEEDED,
                detail: "too many large packets are arriving at once".into(),
            };
            door.close_by_server(
                wire::codec::reason::QUOTA_EXCEEDED,
                &reason.to_string(),
                out,
            );
            out.close = Some(reason);
        }
        if let Some(gate) = gate.as_deref_mut() {
            gate.to_client(out, now);
        }
        // Report and write what this step produced.
        let counts = door.counts.take();
        record.counters.add(&counts);
        ctx.stats.counters.add(&counts);
        for notice in out.notices.drain(..) {
            match notice {
                Notice::Subscribed { filter, qos } => {
                    record.subscribed(&filter, qos);
                    ctx.report(BrokerEvent::Subscribed {
                        client_id: door.client_id().to_string(),
                        filter,
                        qos,
                    });
                }
                Notice::Unsubscribed { filter } => {
                    record.unsubscribed(&filter);
                    ctx.report(BrokerEvent::Unsubscribed {
                        client_id: door.client_id().to_string(),
                        filter,
                    });
                }
                Notice::Retained { topic, present } => {
                    ctx.report(BrokerEvent::Retained { topic, present });
                }
            }
        }
        ctx.report_packets(door, out);
        if !out.bytes.is_empty() {
            let write = tokio::time::timeout(limits.write_timeout, stream.write_all(&out.bytes));
            tokio::select! {
                written = write => match written {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => return CloseReason::ConnectionLost(format!("writing failed: {error}")),
                    Err(_) => return CloseReason::Limit {
                        code: wire::codec::reason::IMPLEMENTATION_SPECIFIC_ERROR,
                        detail: format!("the client read nothing for {} s", limits.write_timeout.as_secs()),
                    },
                },
                _ = shutdown.changed() => return CloseReason::ServerClosed("the broker stopped".into()),
            }
            if out.bytes.capacity() > 4 * WRITE_CHUNK {
                out.bytes = Vec::new();
            } else {
                out.bytes.clear();
            }
        }
        if let Some(reason) = out.close.take() {
            return reason;
        }
        // A subscriber is filling up: let it drain before reading more from this client.
        if let Some(congested) = door.congested.take() {
            let queue = door.router().limits().queue;
            tokio::select! {
                _ = congested.wait_for_room(&queue, CONGESTION_WAIT) => {}
                _ = shutdown.changed() => return CloseReason::ServerClosed("the broker stopped".into()),
            }
            continue;
        }
        let mut deadline = door.next_deadline();
        // More to send right away (a long retained backlog, a full mailbox): go round again,
        // after looking at everything else that is ready.
        let mut sendable = door.has_sendable();
        let mut may_read = reading;
        if let Some(g) = gate.as_deref() {
            if g.idle() {
                gate = None;
            } else {
                let paused = g.faults.paused();
                may_read &= g.has_room_to_broker() && !paused;
                sendable &= g.has_room_to_client();
                // A paused broker does not blame the client for its silence.
                deadline = if paused { None } else { deadline };
                deadline = match (deadline, g.next_release()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        tokio::select! {
            biased;
            _ = shutdown.changed() => {
                door.close_by_server(wire::codec::reason::SERVER_SHUTTING_DOWN, "the broker stopped", out);
                ctx.report_packets(door, out);
                let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&out.bytes)).await;
                return CloseReason::ServerClosed("the broker stopped".into());
            }
            command = control.recv() => match command {
                Some(Control::TakenOver) => {
                    door.close_by_server(wire::codec::reason::SESSION_TAKEN_OVER, "taken over", out);
                }
                Some(Control::Close(code)) => {
                    door.close_by_server(code, "closed by the broker", out);
                }
                Some(Control::Faults) => {}
                None => {}
            },
            read = stream.read(buf, hint), if may_read => match read {
                Ok(0) => return CloseReason::ConnectionLost("the client closed the connection".into()),
                Ok(_) => {}
                Err(error) => return CloseReason::ConnectionLost(format!("reading failed: {error}")),
            },
            _ = cell.wake.notified() => {}
            _ = sleep_until(deadline) => {
                door.on_tick(Instant::now(), out);
            }
            _ = std::future::ready(()), if sendable => {}
        }
        reading = out.close.is_none();
    }
}

/// How long a connection the broker closes keeps reading (and discarding) after its last words.
const LINGER: Duration = Duration::from_secs(1);

/// Closes the connection. When the broker is the one closing (with a DISCONNECT that says
/// why), the client may still be sending: closing at once with unread bytes makes the system
/// reset the connection, and the client may lose the DISCONNECT. So the broker stops writing,
/// then reads and discards for a moment before it closes.
async fn linger(stream: &mut ClientStream, reason: &CloseReason) {
    let broker_closes = matches!(
        reason,
        CloseReason::ProtocolError { .. }
            | CloseReason::Limit { .. }
            | CloseReason::KeepAliveTimeout
            | CloseReason::TakenOver
    );
    stream.shutdown().await;
    if !broker_closes {
        return;
    }
    let mut sink = BytesMut::new();
    let mut hint = MIN_READ;
    let _ = tokio::time::timeout(LINGER, async {
        loop {
            sink.clear();
            match stream.read(&mut sink, &mut hint).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    /// Every idle connection costs its task: the future's size is checked (deterministic, unlike
    /// resident memory) so that a change that makes it balloon is noticed. Measured: about 2.5 kB
    /// of a connection's 7 kB.
    #[tokio::test]
    async fn a_plain_tcp_connection_task_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let client = TcpStream::connect(address).await.expect("connect");
        let limits = crate::Limits::default();
        let router = Arc::new(Router::new(limits.router_limits()));
        let ctx = Arc::new(BrokerContext {
            router: router.clone(),
            door: Arc::new(DoorConfig {
                limits,
                users: crate::door::Users::default(),
                tap: true,
                sys: None,
            }),
            stats: Arc::new(Stats::default()),
            events: None,
            serial: AtomicU64::new(0),
            unfinished: AtomicUsize::new(0),
            tapped: wire::budget::Budget::new(TAP_BUDGET),
        });
        let (_tx, rx) = watch::channel(false);
        let task = serve(ClientStream::Tcp(client), address, ctx, rx);
        let size = std::mem::size_of_val(&task);
        assert!(size < 4096, "the connection task grew to {size} bytes");
    }
}
