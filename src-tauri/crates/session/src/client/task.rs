//! The session's task: one connection after another (through the tap) until the user stops it or
//! reconnecting gives up, and each ending put in words.

use super::rumqtt::{EventLoop, PollError, Polled};
use super::{now_ms, Client, Shared, Stop, STOP_TIMEOUT};
use crate::profile::{MqttVersion, Profile, Subscription};
use crate::tap::{self, LocalEndpoint, Observed, SessionTraffic, TapContext};
use crate::{dial, words, AnswerPacket, BrokerAnswer, ConnectionState, SessionError};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use workbench_wire::{ErrorCode, ProtocolVersion};

/// Aborts a spawned task when dropped (the relay of a connection that is over).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The session's task and everything it owns.
pub(super) struct Task {
    pub(super) profile: Profile,
    /// The profile id: the traffic source the packets go to.
    pub(super) session: Arc<str>,
    pub(super) client_id: Arc<str>,
    /// The one-time client id rumqttc uses towards the tap.
    pub(super) local_id: Arc<str>,
    pub(super) endpoint: Arc<LocalEndpoint>,
    pub(super) client: Client,
    pub(super) eventloop: EventLoop,
    pub(super) shared: Arc<Shared>,
    pub(super) traffic: mpsc::Sender<SessionTraffic>,
    pub(super) dropped: Arc<AtomicU64>,
    pub(super) stop: watch::Receiver<Stop>,
    pub(super) connection: u64,
    /// Whether any connection of this run got as far as CONNACK.
    pub(super) ever_connected: bool,
}

/// Cuts a message that may embed a whole packet's debug dump.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// How one connection ended (when the user did not stop it).
type Outcome = crate::reconnect::Ending;

impl Task {
    fn observed(&self) -> std::sync::MutexGuard<'_, Observed> {
        self.shared
            .observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn version(&self) -> ProtocolVersion {
        match self.profile.version {
            MqttVersion::V311 => ProtocolVersion::V311,
            MqttVersion::V5 => ProtocolVersion::V5,
        }
    }

    /// Connects, and reconnects as [`crate::reconnect`] decides, until stopped or failed.
    pub(super) async fn run(mut self) {
        let mut policy = crate::reconnect::Reconnect::new(self.profile.auto_reconnect);
        loop {
            self.shared.set(policy.attempt());
            let Some(outcome) = self.connection().await else {
                break;
            };
            match policy.ended(outcome, now_ms()) {
                crate::reconnect::Next::Stop { state } => {
                    self.shared.set(state);
                    return;
                }
                crate::reconnect::Next::Retry { pause, state } => {
                    self.shared.set(state);
                    let mut stop = self.stop.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.changed() => break,
                    }
                }
            }
        }
        self.shared.set(ConnectionState::Disconnected);
    }

    /// One connection: dial (through the tap), then drive rumqttc until the connection ends.
    /// `None` when the user stopped the session.
    async fn connection(&mut self) -> Option<Outcome> {
        let mut stop = self.stop.clone();
        if *stop.borrow() != Stop::Run {
            return None;
        }
        let dialed = tokio::select! {
            dialed = dial::dial(&self.profile) => dialed,
            _ = stop.changed() => return None,
        };
        let dialed = match dialed {
            Ok(dialed) => dialed,
            Err(error) => {
                // Name resolution and refused ports may heal; certificates and settings do not.
                let retry = matches!(error, SessionError::Unreachable(_));
                return Some(Outcome {
                    error,
                    answer: None,
                    retry,
                    was_connected: false,
                });
            }
        };
        self.connection += 1;
        {
            let mut observed = self.observed();
            observed.connack = None;
            observed.disconnect = None;
            observed.subscribing.clear();
        }
        let ctx = Arc::new(TapContext {
            session: self.session.clone(),
            client_id: self.client_id.clone(),
            local_id: self.local_id.clone(),
            connection: self.connection,
            remote: Some(dialed.remote),
            version: self.version(),
            max_packet: self.profile.max_packet_size as usize + 16,
            events: self.traffic.clone(),
            dropped: self.dropped.clone(),
            observed: self.shared.observed.clone(),
            on_change: self.shared.on_change.clone(),
        });
        let endpoint = self.endpoint.clone();
        let upstream = dialed.stream;
        let mut relay = AbortOnDrop(tokio::spawn(async move {
            // The first local connection whose CONNECT proves it is rumqttc's is relayed;
            // anything else that connects to the endpoint is closed.
            while let Ok(mut local) = endpoint.accept().await {
                if let Some(first) = tap::admit(&mut local, &ctx).await {
                    tap::relay(local, first, upstream, ctx).await;
                    return;
                }
                tracing::warn!("a local program connected to the session's endpoint; refused");
            }
        }));
        let mut was_connected = false;
        loop {
            let polled = tokio::select! {
                polled = self.eventloop.poll() => polled,
                _ = stop.changed() => {
                    self.stop_connection(&mut relay).await;
                    return None;
                }
            };
            match polled {
                Ok(Polled::ConnAck { session_present }) => {
                    was_connected = true;
                    self.ever_connected = true;
                    self.shared.set(ConnectionState::Connected {
                        since: now_ms(),
                        resumed: session_present,
                    });
                    self.resubscribe(session_present);
                }
                Ok(Polled::SentDisconnect) if *self.stop.borrow() != Stop::Run => {
                    self.stop_connection(&mut relay).await;
                    return None;
                }
                Ok(Polled::SentDisconnect) => {
                    // rumqttc gave up on the connection itself (MQTT 5: a protocol error such as
                    // an unknown topic alias from the broker): a lost connection, not a stop.
                    return Some(Outcome {
                        error: SessionError::Protocol(
                            "the client ended the connection after a protocol error from the broker".into(),
                        ),
                        answer: None,
                        retry: true,
                        was_connected,
                    });
                }
                Ok(Polled::Other) => {}
                Err(error) => {
                    let (error, retry, answer) = self.explain(error);
                    return Some(Outcome {
                        error,
                        answer,
                        retry,
                        was_connected,
                    });
                }
            }
        }
    }

    /// After CONNACK: sends every subscription the broker does not hold (all of them unless
    /// the session was resumed).
    fn resubscribe(&mut self, session_present: bool) {
        let subscriptions = self
            .shared
            .subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let granted = {
            let mut observed = self.observed();
            if !session_present {
                observed.granted.clear();
            }
            observed.granted.clone()
        };
        let wanted: Vec<&Subscription> = subscriptions
            .iter()
            // Refused filters (codes 0x80 and above) are asked for again: an ACL may have changed.
            .filter(|s| granted.get(&s.filter).is_none_or(|code| *code >= 0x80))
            .collect();
        if let Err(e) = self.client.try_subscribe_all(&wanted) {
            tracing::warn!(error = %e, "re-subscribing failed");
        }
    }

    /// Ends the connection as asked: with DISCONNECT (waiting until it went out and the relay
    /// forwarded it), or by closing the socket.
    async fn stop_connection(&mut self, relay: &mut AbortOnDrop) {
        let graceful = *self.stop.borrow() == Stop::Graceful;
        let online = matches!(
            *self.shared.state.lock().unwrap_or_else(|p| p.into_inner()),
            ConnectionState::Connected { .. }
        );
        if graceful && online {
            self.client.try_disconnect();
            let _ = tokio::time::timeout(STOP_TIMEOUT, async {
                loop {
                    match self.eventloop.poll().await {
                        Ok(Polled::SentDisconnect) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
        }
        // Closing rumqttc's side lets the relay forward what is left, then close the broker's.
        self.eventloop.close();
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut relay.0).await;
    }

    /// Puts a failed connection in words: the CONNACK code, the broker's DISCONNECT reason,
    /// or what happened to the socket; with the broker's reason code itself when it gave one.
    fn explain(&self, error: PollError) -> (SessionError, bool, Option<BrokerAnswer>) {
        let observed = self.observed().clone();
        let answer = match &error {
            PollError::Refused => Some(BrokerAnswer::new(
                AnswerPacket::Connack,
                observed.connack.unwrap_or(0x80),
            )),
            PollError::Closed(_) => {
                observed
                    .disconnect
                    .as_ref()
                    .map(|(code, reason)| BrokerAnswer {
                        detail: reason.clone().unwrap_or_default(),
                        ..BrokerAnswer::new(AnswerPacket::Disconnect, *code)
                    })
            }
            _ => None,
        };
        let (error, retry) = match error {
            PollError::Refused => {
                let code = observed.connack.unwrap_or(0x80);
                let (class, retry, text) = words::connack(self.profile.version, code);
                let error = match class {
                    ErrorCode::AuthFailed => SessionError::AuthFailed(text),
                    ErrorCode::Unreachable => SessionError::Unreachable(text),
                    _ => SessionError::Protocol(text),
                };
                (error, retry)
            }
            PollError::Closed(io) => {
                // What happened on the broker's side (a TLS alert, a reset) says more than the
                // local socket rumqttc saw close.
                let io = observed.upstream_error.clone().unwrap_or(io);
                match observed.disconnect {
                Some((code, reason_string)) => {
                    let mut text = words::disconnect(code);
                    if let Some(reason) = reason_string {
                        text.push_str(&format!(": {reason}"));
                    }
                    (SessionError::Unreachable(text), true)
                }
                None if observed.connack.is_none() && self.profile.transport.is_tls() => (
                    SessionError::Tls(format!(
                        "the broker closed the TLS connection before answering CONNECT ({io}); it may require a client certificate, or refuse the one given"
                    )),
                    // A certificate the broker refuses does not become acceptable by retrying;
                    // but once connected before, this is more likely a restarting broker.
                    self.ever_connected,
                ),
                None if observed.connack.is_none() => (
                    SessionError::Protocol(format!(
                        "the connection closed before the broker answered CONNECT ({io}); is this an MQTT port, and does the broker speak MQTT {}?",
                        self.version().label()
                    )),
                    true,
                ),
                None => (
                    SessionError::Unreachable(format!("the connection to the broker was lost ({io})")),
                    true,
                ),
            }
            }
            PollError::Timeout => (
                SessionError::Unreachable(
                    "the broker did not answer in time (no CONNACK, or a write could not finish)"
                        .into(),
                ),
                true,
            ),
            PollError::NotConnAck(packet) => (
                SessionError::Protocol(format!(
                    "the server answered CONNECT with something other than CONNACK ({}); is this an MQTT port, and does the broker speak MQTT {}?",
                    shorten(&packet, 120),
                    self.version().label()
                )),
                true,
            ),
            PollError::NoPong => (
                SessionError::Unreachable(format!(
                    "the broker did not answer a ping within the keep-alive of {} s; the connection is presumed dead",
                    self.profile.keep_alive
                )),
                true,
            ),
            PollError::TooLarge(text) => (
                SessionError::Protocol(format!(
                    "a packet larger than allowed arrived or was about to be sent (this session accepts {} bytes{}); raise the limit in the profile, or send less ({text})",
                    self.profile.max_packet_size,
                    observed
                        .server_max_packet
                        .map(|m| format!(", the broker {m}"))
                        .unwrap_or_default()
                )),
                // It would happen again at once (a replayed publish, a retained message).
                false,
            ),
            PollError::Protocol(text) => (
                SessionError::Protocol(format!("protocol error: {}", shorten(&text, 300))),
                true,
            ),
        };
        (error, retry, answer)
    }
}
