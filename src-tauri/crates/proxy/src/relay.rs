//! One task per proxied device: its CONNECT (within the CONNECT timeout), the upstream dialed,
//! then every packet pumped both ways, unchanged, until either side closes or the proxy stops.
//!
//! Packets are forwarded whole: bytes wait in the proxy until their packet is complete, so each
//! one is framed and reported exactly once. What a side may make the proxy hold is bounded: one
//! unfinished packet (at most the maximum packet size, refused as soon as its header announces
//! more) plus one read per direction; a packet must finish arriving within the packet timeout,
//! and large unfinished packets of all connections share one budget ([`crate::bounds`]); a side
//! that stops reading is closed after the write timeout. While fault rules are armed, each
//! packet is first put to the client's fault engine ([`crate::faults`]).
//!
//! When the upstream cannot be reached (no route, refused port, TLS failure) the device is
//! answered with a CONNACK "server unavailable" in its own protocol version (return code 3 in
//! MQTT 3.1.1, reason 0x88 in MQTT 5), which every client library reports, rather than a bare
//! close that looks like a network fault.

use crate::clients::{ClientState, ProxyClient};
use crate::faults::{self, Gate};
use crate::observe::{self, Observer, Seen};
use crate::ProxyContext;
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use wire::{Direction, Frame, PacketEvent};
use workbench_broker::connection::ByteStream;
use workbench_broker::BrokerEvent;
use workbench_faults::{Action, Mark};

/// Each read takes at least this much room.
const READ_ROOM: usize = 16 * 1024;
/// How long closing a side may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves one device until its connection ends.
pub async fn serve(
    mut device: Box<dyn ByteStream>,
    remote: SocketAddr,
    ctx: Arc<ProxyContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = ctx.settings.limits.clone();
    let max = limits.max_packet_size;
    let mut from_device = BytesMut::new();
    let first = tokio::time::timeout(
        limits.connect_timeout,
        next_packet(&mut device, &mut from_device, max),
    )
    .await;
    let Ok(Some((packet, frame))) = first else {
        return;
    };
    let Some(connect) = observe::parse_connect(&packet, &frame) else {
        tracing::debug!(%remote, "the first packet was not an MQTT CONNECT");
        return;
    };
    let serial = ctx
        .serial
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    let name: Arc<str> = if connect.client_id.is_empty() {
        Arc::from(format!("(no client id) {remote}"))
    } else {
        Arc::from(connect.client_id.as_str())
    };
    let mut observer = Observer::new(serial, name.clone(), remote, connect.version());
    ctx.clients.add(ProxyClient {
        connection: serial,
        client_id: name.to_string(),
        remote,
        version: connect.version_label(),
        username: connect.username.clone(),
        state: ClientState::Connecting,
        detail: String::new(),
        packets_in: 1,
        packets_out: 0,
        since_ms: wire::now_ms(),
    });
    if ctx.tapping() {
        ctx.report_packets(vec![observer.event(
            Direction::Inbound,
            packet.clone(),
            &frame,
        )]);
    }

    if let Some(code) = ctx.faults.take_refusal(&connect.client_id) {
        refuse_by_fault(&mut device, &observer, connect.level, &ctx, code).await;
        return;
    }

    let dialed = tokio::select! {
        dialed = workbench_session::dial::dial(&ctx.upstream) => dialed,
        _ = shutdown.changed() => {
            ctx.clients.end(serial, ClientState::Closed, "the proxy stopped".into());
            return;
        }
    };
    let mut upstream = match dialed {
        Ok(dialed) => dialed.stream,
        Err(error) => {
            unreachable_upstream(
                &mut device,
                &observer,
                connect.level,
                &ctx,
                error.to_string(),
            )
            .await;
            return;
        }
    };
    let sent = tokio::time::timeout(limits.write_timeout, write(&mut upstream, &packet)).await;
    let closed = match sent {
        Ok(Ok(())) => {
            let mut pump = Pump {
                ctx: &ctx,
                observer: &mut observer,
                max,
                write_timeout: limits.write_timeout,
                gate: Gate::new(ctx.faults.clone(), &connect.client_id, serial),
                level: connect.level,
            };
            pump.run(&mut device, &mut upstream, from_device, &mut shutdown)
                .await
        }
        Ok(Err(error)) => format!("writing to the upstream broker failed: {error}"),
        Err(_) => "the upstream broker read nothing".to_string(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, device.shutdown()).await;
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, upstream.shutdown()).await;
    let reason = observer.ending(&closed);
    let client_id = observer.client_id.to_string();
    match observer.connack {
        Some(0) => {
            ctx.report(BrokerEvent::Disconnected {
                client_id,
                remote,
                reason: reason.clone(),
                dropped_qos0: 0,
            });
            ctx.clients.end(serial, ClientState::Closed, reason);
        }
        // Reported when the CONNACK passed.
        Some(_) => ctx.clients.end(serial, ClientState::Refused, reason),
        None => {
            let reason = format!("no CONNACK from the upstream broker: {reason}");
            ctx.report(BrokerEvent::Refused {
                client_id,
                remote,
                reason: reason.clone(),
            });
            ctx.clients.end(serial, ClientState::Refused, reason);
        }
    }
}

/// Tells the device the upstream is unavailable (a CONNACK in its version), and says why.
async fn unreachable_upstream(
    device: &mut Box<dyn ByteStream>,
    observer: &Observer,
    level: u8,
    ctx: &ProxyContext,
    why: String,
) {
    let words = format!("the upstream broker cannot be reached: {why}");
    let answer = Bytes::from(observe::server_unavailable(level));
    if ctx.tapping() {
        if let Ok(Some(frame)) = wire::frame(&answer, usize::MAX) {
            let mut event = observer.event(Direction::Outbound, answer.clone(), &frame);
            event.summary.fields.push((
                "Sent by",
                "the proxy: the upstream broker cannot be reached".into(),
            ));
            ctx.report_packets(vec![event]);
        }
    }
    let limits = &ctx.settings.limits;
    let _ = tokio::time::timeout(limits.write_timeout, write(device, &answer)).await;
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, device.shutdown()).await;
    ctx.report(BrokerEvent::Refused {
        client_id: observer.client_id.to_string(),
        remote: observer.remote,
        reason: words.clone(),
    });
    ctx.clients
        .end(observer.connection, ClientState::Refused, words);
}

/// Answers the CONNECT with the refusal a fault rule armed for this client, without dialing
/// the upstream.
async fn refuse_by_fault(
    device: &mut Box<dyn ByteStream>,
    observer: &Observer,
    level: u8,
    ctx: &ProxyContext,
    code: u8,
) {
    let words = format!(
        "refused by a fault rule with {code:#04x} ({})",
        workbench_session::words::connack(workbench_session::MqttVersion::V5, code).2
    );
    let answer = Bytes::from(faults::refusal(level, code));
    if ctx.tapping() {
        if let Ok(Some(frame)) = wire::frame(&answer, usize::MAX) {
            let mut event = observer.event(Direction::Outbound, answer.clone(), &frame);
            faults::mark(&mut event, Mark::Refused { code });
            ctx.report_packets(vec![event]);
        }
    }
    let _ = tokio::time::timeout(ctx.settings.limits.write_timeout, write(device, &answer)).await;
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, device.shutdown()).await;
    ctx.report(BrokerEvent::Refused {
        client_id: observer.client_id.to_string(),
        remote: observer.remote,
        reason: words.clone(),
    });
    ctx.clients
        .end(observer.connection, ClientState::Refused, words);
}

/// Reads until `buf` holds a whole packet; `None` when the peer closed, failed or sent
/// something that is not a packet within the size limit.
async fn next_packet<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    buf: &mut BytesMut,
    max: usize,
) -> Option<(Bytes, Frame)> {
    loop {
        match wire::frame(buf, max) {
            Ok(Some(frame)) => return Some((buf.split_to(frame.len()).freeze(), frame)),
            Ok(None) => {}
            Err(_) => return None,
        }
        match read_some(stream, buf).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn read_some<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < READ_ROOM / 4 {
        buf.reserve(READ_ROOM);
    }
    stream.read_buf(buf).await
}

async fn write<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    bytes: &[u8],
) -> std::io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

/// The packets of one connection, both ways.
struct Pump<'a> {
    ctx: &'a ProxyContext,
    observer: &'a mut Observer,
    max: usize,
    write_timeout: Duration,
    gate: Gate,
    /// The device's protocol level (a fault's DISCONNECT only exists in MQTT 5).
    level: u8,
}

impl Pump<'_> {
    /// Pumps until a side closes or the proxy stops; returns what ended it, in words.
    async fn run(
        &mut self,
        device: &mut Box<dyn ByteStream>,
        upstream: &mut Box<dyn workbench_session::dial::Upstream>,
        mut from_device: BytesMut,
        shutdown: &mut watch::Receiver<bool>,
    ) -> String {
        let mut from_upstream = BytesMut::new();
        let (mut to_upstream, mut to_device) = (Vec::new(), Vec::new());
        let mut events = Vec::new();
        let mut seen = Vec::new();
        let limits = &self.ctx.settings.limits;
        let mut unfinished = crate::bounds::Unfinished::new(&self.ctx.unfinished);
        loop {
            // The fault rules first: a cut or a DISCONNECT acts at once, whatever flows.
            let wake = self.ctx.fault_wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            if let Some(action) = self.gate.take_action() {
                return self.act(action, device, shutdown).await;
            }
            let now = Instant::now();
            self.gate.release(Direction::Inbound, now, &mut to_upstream);
            self.gate.release(Direction::Outbound, now, &mut to_device);
            let counts = (
                self.split(
                    Direction::Inbound,
                    &mut from_device,
                    &mut to_upstream,
                    &mut events,
                    &mut seen,
                ),
                self.split(
                    Direction::Outbound,
                    &mut from_upstream,
                    &mut to_device,
                    &mut events,
                    &mut seen,
                ),
            );
            let (inbound, outbound) = match counts {
                (Ok(i), Ok(o)) => (i, o),
                (Err(why), _) => return format!("the device {why}"),
                (_, Err(why)) => return format!("the upstream broker {why}"),
            };
            let held = unfinished.update(
                [from_device.len(), from_upstream.len()],
                [inbound > 0, outbound > 0],
                limits.max_unfinished_bytes_total,
                now,
            );
            if let Err(why) = held {
                return format!("closed by the proxy: {why}");
            }
            self.ctx.report_packets(std::mem::take(&mut events));
            self.notify(std::mem::take(&mut seen));
            if inbound + outbound > 0 {
                self.ctx
                    .clients
                    .update(self.observer.connection, false, |row| {
                        row.packets_in += inbound;
                        row.packets_out += outbound;
                    });
            }
            if !to_upstream.is_empty() {
                if let Err(why) = self.send(upstream, &to_upstream, shutdown).await {
                    return format!("writing to the upstream broker: {why}");
                }
                to_upstream.clear();
            }
            if !to_device.is_empty() {
                if let Err(why) = self.send(device, &to_device, shutdown).await {
                    return format!("writing to the device: {why}");
                }
                to_device.clear();
            }
            let read_device = !self.gate.paused() && self.gate.room(Direction::Inbound);
            let read_upstream = self.gate.room(Direction::Outbound);
            let release = self.gate.next_release();
            let slow = unfinished.deadline(limits.packet_timeout);
            tokio::select! {
                biased;
                _ = shutdown.changed() => return "the proxy stopped".into(),
                _ = &mut wake => {},
                _ = sleep_until(release) => {},
                _ = sleep_until(slow) => {
                    return format!(
                        "closed by the proxy: a packet did not finish arriving within {} s",
                        limits.packet_timeout.as_secs()
                    );
                },
                read = read_some(device, &mut from_device), if read_device => match read {
                    Ok(0) => return "the client closed the connection".into(),
                    Ok(_) => {}
                    Err(error) => return format!("reading from the client failed: {error}"),
                },
                read = read_some(upstream, &mut from_upstream), if read_upstream => match read {
                    Ok(0) => return "the upstream broker closed the connection".into(),
                    Ok(_) => {}
                    Err(error) => return format!("reading from the upstream broker failed: {error}"),
                },
            }
        }
    }

    /// Moves every whole packet of `buf` to `out`, noting and reporting each; returns how many.
    fn split(
        &mut self,
        direction: Direction,
        buf: &mut BytesMut,
        out: &mut Vec<u8>,
        events: &mut Vec<PacketEvent>,
        seen: &mut Vec<Seen>,
    ) -> Result<u64, String> {
        let mut count = 0;
        loop {
            let frame = match wire::frame(buf, self.max) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(count),
                Err(error) => return Err(format!("sent what the proxy cannot forward: {error}")),
            };
            let packet = buf.split_to(frame.len()).freeze();
            count += 1;
            seen.extend(self.observer.observe(direction, &packet, &frame));
            if !self.gate.active() {
                out.extend_from_slice(&packet);
                if self.ctx.tapping() {
                    events.push(self.observer.event(direction, packet, &frame));
                }
                continue;
            }
            let kind = frame.kind().unwrap_or(wire::PacketKind::Disconnect);
            let now = Instant::now();
            let decision = self.gate.decide(direction, kind, now);
            // A held packet says how long it waits, also when it is duplicated too or only
            // waits behind another; the copy carries the duplicate mark.
            let own = match (decision.mark, decision.hold_until) {
                (None | Some(Mark::Duplicated), Some(at)) => Some(Mark::Delayed {
                    ms: u32::try_from(at.saturating_duration_since(now).as_millis())
                        .unwrap_or(u32::MAX),
                }),
                (Some(Mark::Duplicated), None) => None,
                (mark, _) => mark,
            };
            let copy = decision
                .duplicate
                .then(|| workbench_faults::duplicate(&packet));
            if self.ctx.tapping() {
                let mut event = self.observer.event(direction, packet.clone(), &frame);
                if let Some(mark) = own {
                    faults::mark(&mut event, mark);
                }
                events.push(event);
                if let Some(copy) = &copy {
                    let copy = Bytes::from(copy.clone());
                    if let Ok(Some(frame)) = wire::frame(&copy, usize::MAX) {
                        let mut event = self.observer.event(direction, copy.clone(), &frame);
                        faults::mark(&mut event, Mark::Duplicated);
                        events.push(event);
                    }
                }
            }
            if decision.drop {
                continue;
            }
            let mut bytes = packet.to_vec();
            if let Some(copy) = copy {
                bytes.extend_from_slice(&copy);
            }
            match decision.hold_until {
                Some(at) => self.gate.hold(direction, at, bytes),
                None => out.extend_from_slice(&bytes),
            }
        }
    }

    /// Carries out a cut or a DISCONNECT armed for this client; returns why the connection ends.
    /// Neither side gets a DISCONNECT from the proxy's upstream end: the upstream sees the
    /// connection lost, and publishes the client's will.
    async fn act(
        &mut self,
        action: Action,
        device: &mut Box<dyn ByteStream>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> String {
        match action {
            Action::Cut => {
                "cut by a fault rule (no DISCONNECT: the upstream publishes the will)".into()
            }
            Action::Disconnect { code } => {
                if self.level == 5 {
                    let bytes = Bytes::from(faults::disconnect(code));
                    if self.ctx.tapping() {
                        if let Ok(Some(frame)) = wire::frame(&bytes, usize::MAX) {
                            let mut event =
                                self.observer
                                    .event(Direction::Outbound, bytes.clone(), &frame);
                            faults::mark(&mut event, Mark::Disconnected { code });
                            self.ctx.report_packets(vec![event]);
                        }
                    }
                    let _ = self.send(device, &bytes, shutdown).await;
                }
                format!(
                    "a fault rule sent DISCONNECT {code:#04x} ({})",
                    workbench_session::words::disconnect(code)
                )
            }
        }
    }

    async fn send<S: AsyncWrite + Unpin + ?Sized>(
        &self,
        stream: &mut S,
        bytes: &[u8],
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        tokio::select! {
            written = tokio::time::timeout(self.write_timeout, write(stream, bytes)) => match written {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(format!("it read nothing for {} s", self.write_timeout.as_secs())),
            },
            _ = shutdown.changed() => Err("the proxy stopped".into()),
        }
    }

    /// Tells the views and the rows what the packets meant.
    fn notify(&mut self, seen: Vec<Seen>) {
        let ctx = self.ctx;
        let observer = &mut *self.observer;
        for notice in seen {
            match notice {
                Seen::Connected { assigned } => {
                    if let Some(assigned) =
                        assigned.filter(|_| observer.client_id.starts_with("(no client id)"))
                    {
                        observer.client_id = Arc::from(assigned.as_str());
                    }
                    let client_id = observer.client_id.to_string();
                    ctx.clients.update(observer.connection, true, |row| {
                        row.state = ClientState::Connected;
                        row.client_id = client_id.clone();
                    });
                    ctx.report(BrokerEvent::Connected {
                        client_id,
                        remote: observer.remote,
                        version: observer.version,
                    });
                }
                Seen::Refused { words, .. } => {
                    ctx.clients.update(observer.connection, true, |row| {
                        row.state = ClientState::Refused;
                        row.detail = words.clone();
                    });
                    ctx.report(BrokerEvent::Refused {
                        client_id: observer.client_id.to_string(),
                        remote: observer.remote,
                        reason: words,
                    });
                }
                Seen::Subscribed { filter, qos } => ctx.report(BrokerEvent::Subscribed {
                    client_id: observer.client_id.to_string(),
                    filter,
                    qos,
                }),
                Seen::Unsubscribed { filter } => ctx.report(BrokerEvent::Unsubscribed {
                    client_id: observer.client_id.to_string(),
                    filter,
                }),
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
