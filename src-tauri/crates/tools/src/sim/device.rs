//! One simulated device: connects (with its will), says it is online (birth), subscribes to
//! its reply rules' filters, publishes its streams on schedule, answers requests, pings, and
//! misbehaves when the file says it is flaky (drops its connection without DISCONNECT, so the
//! broker publishes its will; goes silent). A lost connection is retried with exponential
//! backoff and jitter. Everything it does is counted in the fleet's [`Counters`].
//!
//! The schedule is kept per stream as "message k is due at start + k x every, shifted by up to
//! the jitter", so jitter never changes the rate over time.

use super::plan::{MessagePlan, Plan};
use super::run::Counters;
use super::values::ValueState;
use crate::client::{self, ClientError, ConnectOptions, Connection};
use crate::reply::{captures, DeviceScope, Reply, Request, RequestScope};
use crate::target::Target;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use workbench_wire::codec::{AckKind, Packet, Properties, QoS, Will};

/// Replies waiting for their delay, per device; more are refused (counted as an error).
const MAX_PENDING_REPLIES: usize = 1_000;
/// Time allowed for a connection and its CONNACK.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a connection ended.
enum End {
    Stop,
    Dropped,
    Lost(ClientError),
}

/// One stream's state on one device.
struct StreamState {
    values: Vec<ValueState>,
    sent: u64,
    /// When the next message is due without jitter.
    scheduled: Instant,
    /// When it is due with jitter.
    next: Instant,
}

/// What a device keeps across reconnects.
struct Device {
    plan: Arc<Plan>,
    names: serde_json::Map<String, Value>,
    state: serde_json::Map<String, Value>,
    rng: fastrand::Rng,
    streams: Vec<StreamState>,
    filters: Vec<String>,
    flaky: bool,
    started: Instant,
    counters: Arc<Counters>,
}

/// Runs device `index` until the simulator stops.
pub async fn run(
    plan: Arc<Plan>,
    index: u32,
    target: Target,
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut rng =
        fastrand::Rng::with_seed(plan.seed ^ (u64::from(index) << 20).wrapping_mul(0x9E37_79B9));
    let names = plan.device_names(index);
    let flaky = plan
        .device
        .flaky
        .as_ref()
        .is_some_and(|f| rng.f64() < f.share);
    let now = Instant::now();
    let streams = plan
        .streams
        .iter()
        .map(|s| {
            let first = now + s.every.mul_f64(rng.f64());
            StreamState {
                values: s.values.iter().map(|(_, v)| v.start(&mut rng)).collect(),
                sent: 0,
                scheduled: first,
                next: first,
            }
        })
        .collect();
    let filters = plan
        .rules
        .iter()
        .map(|r| r.on.render(&mut |n| names.get(n).cloned()))
        .collect();
    let mut device = Device {
        state: plan.device.state.clone(),
        plan,
        names,
        rng,
        streams,
        filters,
        flaky,
        started: now,
        counters,
    };
    let (min_wait, max_wait) = device.plan.device.reconnect;
    let mut wait = min_wait;
    loop {
        if *stopped.borrow() {
            return;
        }
        let options = device.connect_options(&target);
        let connected = tokio::select! {
            c = Connection::connect(&target, &options, CONNECT_TIMEOUT) => c,
            _ = crate::sim::run::stopping(&mut stopped) => return,
        };
        let end = match connected {
            Ok(connection) => {
                device.counters.connects.fetch_add(1, Relaxed);
                device.counters.online.fetch_add(1, Relaxed);
                let end = device.session(connection, &mut stopped).await;
                device.counters.online.fetch_sub(1, Relaxed);
                end
            }
            Err(e) => End::Lost(e),
        };
        match end {
            End::Stop => return,
            End::Dropped => wait = min_wait,
            End::Lost(e) => {
                device.counters.error(&e.reason());
                let id = device.names.get("id").and_then(Value::as_str).unwrap_or("");
                device.counters.log(format!("{id}: {e}"));
            }
        }
        // Exponential backoff with jitter: half to all of the current wait.
        let pause = wait.mul_f64(0.5 + 0.5 * device.rng.f64());
        wait = (wait * 2).min(max_wait);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = crate::sim::run::stopping(&mut stopped) => return,
        }
    }
}

impl Device {
    fn lookup_names(&self, name: &str) -> Option<Value> {
        match name {
            "time" => Some(Value::String(
                crate::time::iso8601(workbench_wire::now_ms()),
            )),
            "ms" => Some(Value::from(workbench_wire::now_ms())),
            _ => self
                .state
                .get(name)
                .or_else(|| self.names.get(name))
                .cloned(),
        }
    }

    fn message(&mut self, message: &MessagePlan) -> (String, Vec<u8>) {
        let topic = message.topic.render(&mut |n| self.lookup_names(n));
        let mut payload = Vec::new();
        let mut rng = self.rng.clone();
        message
            .payload
            .fill(&mut payload, &mut rng, &mut |n| self.lookup_names(n));
        self.rng = rng;
        (topic, payload)
    }

    fn connect_options(&mut self, target: &Target) -> ConnectOptions {
        let plan = self.plan.clone();
        let d = &plan.device;
        let client_id = self
            .names
            .get("client_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut options = ConnectOptions::new(d.level, &client_id);
        options.keep_alive = d.keep_alive;
        options.clean_start = d.clean_start;
        options.session_expiry = d.session_expiry;
        options.username = d
            .username
            .as_ref()
            .map(|u| u.render(&mut |n| self.lookup_names(n)))
            .or_else(|| target.profile.username.clone().filter(|u| !u.is_empty()));
        options.password = d
            .password
            .clone()
            .or_else(|| target.password.clone())
            .map(String::into_bytes);
        options.read_chunk = 1024;
        options.will = d.will.as_ref().map(|w| {
            let (topic, payload) = self.message(w);
            Will {
                topic,
                payload,
                qos: w.qos,
                retain: w.retain,
                properties: Properties {
                    will_delay_interval: w.delay,
                    ..Properties::default()
                },
            }
        });
        options
    }

    /// Publishes stream `index`'s next message.
    fn publish_stream(&mut self, connection: &mut Connection, index: usize) {
        let plan = self.plan.clone();
        let stream = &plan.streams[index];
        let elapsed = self.started.elapsed();
        let mut values = BTreeMap::new();
        for (i, (name, spec)) in stream.values.iter().enumerate() {
            let value = spec.next(&mut self.streams[index].values[i], &mut self.rng, elapsed);
            values.insert(name.as_str(), value);
        }
        let seq = self.streams[index].sent;
        let mut lookup = |n: &str| match n {
            "seq" => Some(Value::from(seq)),
            _ => values.get(n).cloned().or_else(|| self.lookup_names(n)),
        };
        let topic = stream.topic.render(&mut lookup);
        let mut payload = Vec::new();
        let mut rng = self.rng.clone();
        stream.payload.fill(&mut payload, &mut rng, &mut lookup);
        self.rng = rng;
        connection.publish(
            &topic,
            &payload,
            stream.qos,
            stream.retain,
            &stream.properties,
        );
        self.counters.published.fetch_add(1, Relaxed);
        let state = &mut self.streams[index];
        state.sent += 1;
        let jitter = stream.jitter.as_secs_f64();
        let shift = (self.rng.f64() * 2.0 - 1.0) * jitter;
        state.scheduled += stream.every;
        let base = state.scheduled;
        state.next = if shift >= 0.0 {
            base + Duration::from_secs_f64(shift)
        } else {
            base.checked_sub(Duration::from_secs_f64(-shift))
                .unwrap_or(base)
        };
    }

    /// The replies the rules give to a request.
    fn answer(&mut self, request: Request<'_>) -> Vec<Reply> {
        let plan = self.plan.clone();
        let mut out = Vec::new();
        for (rule, filter) in plan.rules.iter().zip(&self.filters) {
            let Some(found) = captures(filter, request.topic) else {
                continue;
            };
            let scope = RequestScope::new(request, found);
            let mut device = DeviceScope {
                names: &self.names,
                state: &mut self.state,
            };
            match rule.answer(&scope, &mut device, plan.sandbox.as_deref(), &mut self.rng) {
                Ok(replies) => out.extend(replies),
                Err(e) => {
                    self.counters.error("reply failed");
                    let id = self.names.get("id").and_then(Value::as_str).unwrap_or("");
                    self.counters
                        .log(format!("{id}: reply to {}: {e}", request.topic));
                }
            }
        }
        out
    }

    /// One connection's life.
    async fn session(
        &mut self,
        mut connection: Connection,
        stopped: &mut watch::Receiver<bool>,
    ) -> End {
        let plan = self.plan.clone();
        let level = connection.level;
        if !self.filters.is_empty() {
            let filters: Vec<(String, QoS)> = self
                .filters
                .iter()
                .cloned()
                .zip(plan.rules.iter().map(|r| r.qos))
                .collect();
            connection.subscribe(&filters);
        }
        if let Some(birth) = &plan.device.birth {
            let (topic, payload) = self.message(birth);
            connection.publish(&topic, &payload, birth.qos, birth.retain, &[]);
            self.counters.published.fetch_add(1, Relaxed);
        }
        if let Err(e) = connection.flush().await {
            return End::Lost(e);
        }
        let now = Instant::now();
        // Streams that were due while offline start again from now.
        for s in &mut self.streams {
            if s.scheduled < now {
                s.scheduled = now;
                s.next = now;
            }
        }
        let far = now + Duration::from_secs(365 * 24 * 3600);
        let flaky = plan.device.flaky.as_ref().filter(|_| self.flaky);
        let randomly =
            |every: Duration, rng: &mut fastrand::Rng| now + every.mul_f64(0.5 + rng.f64());
        let drop_at = flaky
            .and_then(|f| f.drop_every)
            .map_or(far, |e| randomly(e, &mut self.rng));
        let mut silent_at = flaky
            .and_then(|f| f.silent_every)
            .map_or(far, |e| randomly(e, &mut self.rng));
        let mut silent_until: Option<Instant> = None;
        let keep_alive = Duration::from_secs(u64::from(plan.device.keep_alive));
        let ping_every = if keep_alive.is_zero() {
            Duration::from_secs(365 * 24 * 3600)
        } else {
            keep_alive.mul_f64(0.75)
        };
        let mut ping_at = now + ping_every;
        let mut pending: Vec<(Instant, Reply)> = Vec::new();
        loop {
            let silent = silent_until.is_some();
            let next_stream = if silent {
                far
            } else {
                self.streams
                    .iter()
                    .zip(&plan.streams)
                    .filter(|(s, p)| p.count.is_none_or(|c| s.sent < c))
                    .map(|(s, _)| s.next)
                    .min()
                    .unwrap_or(far)
            };
            let next_reply = if silent {
                far
            } else {
                pending.iter().map(|(t, _)| *t).min().unwrap_or(far)
            };
            let next_ping = if silent { far } else { ping_at };
            let wake = next_stream
                .min(next_reply)
                .min(next_ping)
                .min(drop_at)
                .min(silent_at)
                .min(silent_until.unwrap_or(far));
            tokio::select! {
                _ = crate::sim::run::stopping(stopped) => {
                    connection.disconnect().await;
                    return End::Stop;
                }
                read = connection.fill() => match read {
                    Ok(0) => return End::Lost(ClientError::Closed),
                    Ok(_) => {
                        if let Err(e) = self.incoming(&mut connection, &mut pending) {
                            return End::Lost(e);
                        }
                    }
                    Err(e) => return End::Lost(e),
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
            let now = Instant::now();
            if now >= drop_at {
                self.counters.drops.fetch_add(1, Relaxed);
                connection.drop_now();
                return End::Dropped;
            }
            if let Some(until) = silent_until {
                if now >= until {
                    silent_until = None;
                    ping_at = now;
                }
            } else if now >= silent_at {
                self.counters.silences.fetch_add(1, Relaxed);
                silent_until = flaky.map(|f| now + f.silent_for);
                silent_at = flaky
                    .and_then(|f| f.silent_every)
                    .map_or(far, |e| now + e.mul_f64(0.5 + self.rng.f64()));
                continue;
            }
            if silent_until.is_some() {
                continue;
            }
            for index in 0..self.streams.len() {
                let limit = plan.streams[index].count;
                if self.streams[index].next <= now
                    && limit.is_none_or(|c| self.streams[index].sent < c)
                {
                    self.publish_stream(&mut connection, index);
                }
            }
            let mut i = 0;
            while i < pending.len() {
                if pending[i].0 <= now {
                    let (_, reply) = pending.swap_remove(i);
                    let properties = match reply.correlation {
                        Some(data) if level.is_v5() => client::publish_properties(&Properties {
                            correlation_data: Some(data),
                            ..Properties::default()
                        }),
                        _ => Vec::new(),
                    };
                    connection.publish(
                        &reply.topic,
                        &reply.payload,
                        reply.qos,
                        reply.retain,
                        &properties,
                    );
                    self.counters.replies.fetch_add(1, Relaxed);
                } else {
                    i += 1;
                }
            }
            if now >= ping_at {
                connection.ping();
                ping_at = now + ping_every;
            }
            if let Err(e) = connection.flush().await {
                return End::Lost(e);
            }
        }
    }

    /// Handles every whole packet that arrived: acknowledges, answers requests.
    fn incoming(
        &mut self,
        connection: &mut Connection,
        pending: &mut Vec<(Instant, Reply)>,
    ) -> Result<(), ClientError> {
        loop {
            let (publish, ack) = match connection.next_packet()? {
                None => return Ok(()),
                Some(Packet::Publish(p)) => {
                    let (response_topic, correlation) = client::request_properties(p.properties);
                    let owned = (
                        p.topic.to_string(),
                        p.payload.to_vec(),
                        response_topic,
                        correlation,
                    );
                    let ack = p.packet_id.map(|id| (p.qos, id));
                    (Some(owned), ack)
                }
                Some(Packet::Ack(a)) if a.kind == AckKind::PubRec => {
                    (None, Some((QoS::AtMostOnce, a.packet_id)))
                }
                Some(Packet::Ack(a)) if a.kind == AckKind::PubRel => {
                    (None, Some((QoS::ExactlyOnce, a.packet_id)))
                }
                Some(Packet::Disconnect(d)) => {
                    return Err(ClientError::Disconnected(
                        workbench_wire::codec::reason::name(d.reason).to_string(),
                    ))
                }
                Some(_) => continue,
            };
            match (publish.is_some(), ack) {
                (true, Some((QoS::AtLeastOnce, id))) => connection.ack(AckKind::PubAck, id),
                (true, Some((QoS::ExactlyOnce, id))) => connection.ack(AckKind::PubRec, id),
                (false, Some((QoS::AtMostOnce, id))) => connection.ack(AckKind::PubRel, id),
                (false, Some((QoS::ExactlyOnce, id))) => connection.ack(AckKind::PubComp, id),
                _ => {}
            }
            let Some((topic, payload, response_topic, correlation)) = publish else {
                continue;
            };
            self.counters.received.fetch_add(1, Relaxed);
            let request = Request {
                topic: &topic,
                payload: &payload,
                response_topic: response_topic.as_deref(),
                correlation: correlation.as_deref(),
            };
            let now = Instant::now();
            for reply in self.answer(request) {
                if pending.len() >= MAX_PENDING_REPLIES {
                    self.counters.error("too many replies waiting");
                    continue;
                }
                pending.push((now + reply.delay, reply));
            }
        }
    }
}
