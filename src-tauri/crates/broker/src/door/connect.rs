//! CONNECT: the checks before a client is let in (protocol level, credentials, client id,
//! will), the session it asks for, and the CONNACK that tells it what it got.

use super::{CloseReason, Door, Live, Output, Peer, Phase};
use crate::router::registry::Attached;
use crate::router::session::{Expiry, InFlight};
use crate::router::WillMessage;
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use wire::codec::{
    self, packet_type, reason, Ack, AckKind, ConnAck, Connect, DecodeError, Level, Properties,
    PublishOut,
};
use wire::topic;
use wire::Direction;

/// Usernames and passwords the broker accepts; empty: anyone may connect.
#[derive(Debug, Default)]
pub struct Users {
    passwords: HashMap<String, Vec<u8>>,
    /// Recent failed logins by address, to slow repeated guessing.
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// How a login went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Allowed,
    /// No credentials given where some are required.
    Missing,
    Wrong,
}

impl Users {
    pub fn new(users: &HashMap<String, String>) -> Users {
        Users {
            passwords: users
                .iter()
                .map(|(user, password)| (user.clone(), password.as_bytes().to_vec()))
                .collect(),
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }

    /// Checks credentials. Passwords are compared in constant time, and an unknown user costs
    /// the same comparison as a known one.
    pub fn check(&self, username: Option<&str>, password: Option<&[u8]>) -> Login {
        if self.passwords.is_empty() {
            return Login::Allowed;
        }
        let (Some(username), Some(password)) = (username, password) else {
            return Login::Missing;
        };
        let decoy = [0u8; 32];
        let expected = self
            .passwords
            .get(username)
            .map(Vec::as_slice)
            .unwrap_or(&decoy);
        let same = expected.ct_eq(password).unwrap_u8() == 1;
        if same && self.passwords.contains_key(username) {
            Login::Allowed
        } else {
            Login::Wrong
        }
    }

    /// Records a failed login from `address` and says how long its answer waits: `base`, plus
    /// half of it for each other failure from that address in the last minute, at most ten
    /// times `base`.
    pub fn failed(&self, address: IpAddr, base: Duration, now: Instant) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > 10_000 {
            failures.retain(|_, (_, since)| now.duration_since(*since) < Duration::from_secs(60));
        }
        let entry = failures.entry(address).or_insert((0, now));
        if now.duration_since(entry.1) >= Duration::from_secs(60) {
            *entry = (0, now);
        }
        entry.0 += 1;
        let extra = base.mul_f64(f64::from(entry.0 - 1) * 0.5);
        (base + extra).min(base * 10)
    }
}

/// What the connection task must do after the CONNECT.
#[derive(Debug)]
pub enum ConnectStep {
    /// Wait `delay` (failed logins), write the output (a CONNACK with the reason, or nothing),
    /// then close.
    Refuse {
        delay: Duration,
        reason: CloseReason,
    },
    /// Attach the session, then call [`Door::accept`].
    Attach {
        client_id: Arc<str>,
        clean_start: bool,
        expiry: Expiry,
    },
}

/// The session expiry for an MQTT 5 interval, capped by the broker's maximum.
pub fn expiry_of(seconds: u32, max: Option<u32>) -> Expiry {
    let seconds = max.map_or(seconds, |max| seconds.min(max));
    match seconds {
        0 => Expiry::AtDisconnect,
        u32::MAX => Expiry::Never,
        s => Expiry::After(Duration::from_secs(u64::from(s))),
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS random source failed: the serial alone still makes ids unique in this run.
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Door {
    /// Reads the CONNECT from `buf`. `None`: more bytes are needed.
    pub fn on_connect(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        out: &mut Output,
    ) -> Option<ConnectStep> {
        if self.phase != Phase::AwaitConnect {
            return None;
        }
        let header = match codec::fixed_header(buf, self.config.limits.max_packet_size) {
            Ok(Some(header)) => header,
            Ok(None) => return None,
            Err(error) => {
                self.phase = Phase::Closed;
                return Some(ConnectStep::Refuse {
                    delay: Duration::ZERO,
                    reason: CloseReason::Refused(error.to_string()),
                });
            }
        };
        if header.packet_type != packet_type::CONNECT {
            self.phase = Phase::Closed;
            return Some(ConnectStep::Refuse {
                delay: Duration::ZERO,
                reason: CloseReason::Refused("the first packet was not CONNECT".into()),
            });
        }
        if buf.len() < header.packet_len() {
            self.partial_since.get_or_insert(now);
            return None;
        }
        self.partial_since = None;
        let packet = buf.split_to(header.packet_len());
        self.last_packet = now;
        self.counts.packets_in += 1;
        self.counts.bytes_in += packet.len() as u64;
        // The level is needed to answer even a CONNECT that fails to decode.
        let level_byte = packet.get(header.header_len + 6).copied().unwrap_or(4);
        self.level = if level_byte == 5 {
            Level::V5
        } else {
            Level::V3_1_1
        };
        if self.tap() {
            self.emit(out, &packet, Direction::Inbound);
        }
        let connect = match codec::decode(&packet, self.level) {
            Ok(codec::Packet::Connect(connect)) => connect,
            Ok(_) => {
                self.phase = Phase::Closed;
                return Some(ConnectStep::Refuse {
                    delay: Duration::ZERO,
                    reason: CloseReason::Refused("the first packet was not CONNECT".into()),
                });
            }
            Err(DecodeError::UnsupportedLevel(level)) => {
                self.level = Level::V3_1_1;
                return Some(self.refuse(
                    out,
                    reason::UNSUPPORTED_PROTOCOL_VERSION,
                    format!("protocol level {level} is not supported (3.1, 3.1.1 and 5 are)"),
                    Duration::ZERO,
                ));
            }
            Err(error) => {
                if self.level.is_v5() {
                    let code = error.reason_code();
                    return Some(self.refuse(out, code, error.to_string(), Duration::ZERO));
                }
                self.phase = Phase::Closed;
                return Some(ConnectStep::Refuse {
                    delay: Duration::ZERO,
                    reason: CloseReason::Refused(error.to_string()),
                });
            }
        };
        Some(self.admit(*connect, now, out))
    }

    fn admit(&mut self, connect: Connect, now: Instant, out: &mut Output) -> ConnectStep {
        self.level = connect.level;
        let limits = &self.config.limits;
        match self
            .config
            .users
            .check(connect.username.as_deref(), connect.password.as_deref())
        {
            super::connect::Login::Allowed => {}
            super::connect::Login::Missing => {
                let delay =
                    self.config
                        .users
                        .failed(self.remote.ip(), limits.failed_login_delay, now);
                return self.refuse(
                    out,
                    reason::NOT_AUTHORIZED,
                    "no username and password given, and this broker requires them".into(),
                    delay,
                );
            }
            super::connect::Login::Wrong => {
                let delay =
                    self.config
                        .users
                        .failed(self.remote.ip(), limits.failed_login_delay, now);
                let user = connect.username.as_deref().unwrap_or_default();
                return self.refuse(
                    out,
                    reason::BAD_USER_NAME_OR_PASSWORD,
                    format!("wrong username or password for user '{}'", short(user)),
                    delay,
                );
            }
        }
        if connect.properties.authentication_method.is_some() {
            return self.refuse(
                out,
                reason::BAD_AUTHENTICATION_METHOD,
                "enhanced authentication (AUTH) is not supported".into(),
                Duration::ZERO,
            );
        }
        if connect.client_id.len() > limits.max_client_id_bytes {
            return self.refuse(
                out,
                reason::CLIENT_IDENTIFIER_NOT_VALID,
                format!(
                    "the client id is {} bytes long; this broker allows {}",
                    connect.client_id.len(),
                    limits.max_client_id_bytes
                ),
                Duration::ZERO,
            );
        }
        let client_id: Arc<str> = if connect.client_id.is_empty() {
            let allowed = match connect.level {
                Level::V3_1 => false,
                Level::V3_1_1 => connect.clean_start,
                Level::V5 => true,
            };
            if !allowed {
                return self.refuse(
                    out,
                    reason::CLIENT_IDENTIFIER_NOT_VALID,
                    "an empty client id needs a clean session (MQTT 3.1.1) or MQTT 5".into(),
                    Duration::ZERO,
                );
            }
            Arc::from(format!("auto-{}{}", self.serial, random_suffix()))
        } else {
            Arc::from(connect.client_id.as_str())
        };
        let assigned = connect.client_id.is_empty();
        if let Some(will) = &connect.will {
            if let Err(error) = topic::validate_name(&will.topic) {
                return self.refuse(
                    out,
                    reason::TOPIC_NAME_INVALID,
                    format!("the will topic is not valid: {error}"),
                    Duration::ZERO,
                );
            }
            if will.topic.starts_with("$SYS") {
                return self.refuse(
                    out,
                    reason::NOT_AUTHORIZED,
                    "a will may not publish to $SYS".into(),
                    Duration::ZERO,
                );
            }
            if will.properties.payload_format_indicator == Some(1)
                && std::str::from_utf8(&will.payload).is_err()
            {
                return self.refuse(
                    out,
                    reason::PAYLOAD_FORMAT_INVALID,
                    "the will says its payload is UTF-8 text, and it is not".into(),
                    Duration::ZERO,
                );
            }
        }

        // Accepted so far: remember what the client asked for.
        self.client_id = client_id.clone();
        self.clean_start = connect.clean_start;
        self.keep_alive = connect.keep_alive;
        let p = &connect.properties;
        self.peer = Peer {
            receive_maximum: p.receive_maximum.unwrap_or(u16::MAX),
            max_packet_size: p.maximum_packet_size.map_or(usize::MAX, |m| m as usize),
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
        };
        self.connect_expiry = p.session_expiry_interval.unwrap_or(0);
        let expiry = if connect.level.is_v5() {
            expiry_of(self.connect_expiry, limits.max_session_expiry)
        } else if connect.clean_start {
            Expiry::AtDisconnect
        } else {
            Expiry::Never
        };
        self.will = connect.will.map(|will| {
            let mut properties = will.properties;
            let delay = properties.will_delay_interval.take().unwrap_or(0);
            let expiry_interval = properties.message_expiry_interval.take();
            let mut raw = Vec::new();
            if !properties.is_empty() {
                properties.encode(&mut raw);
                // Drop the length prefix: forwarded properties are stored bare.
                let prefix = codec::varint_len(properties.body_len());
                raw.drain(..prefix);
            }
            WillMessage {
                topic: Arc::from(will.topic.as_str()),
                payload: Bytes::from(will.payload),
                qos: will.qos,
                retain: will.retain,
                properties: Bytes::from(raw),
                expiry_interval,
                delay: Duration::from_secs(u64::from(delay)),
            }
        });
        self.assigned = assigned;
        self.phase = Phase::Attaching;
        ConnectStep::Attach {
            client_id,
            clean_start: connect.clean_start,
            expiry,
        }
    }

    /// Writes a CONNACK refusing the client with `code` (an MQTT 5 reason code; 3.1.1 clients
    /// get the nearest return code) and closes.
    pub(super) fn refuse(
        &mut self,
        out: &mut Output,
        code: u8,
        why: String,
        delay: Duration,
    ) -> ConnectStep {
        let code = if self.level.is_v5() {
            code
        } else {
            reason::v3::connack_for(code)
        };
        let mut bytes = Vec::new();
        ConnAck::new(false, code).encode(self.level, &mut bytes);
        self.emit(out, &bytes, Direction::Outbound);
        self.phase = Phase::Closed;
        ConnectStep::Refuse {
            delay,
            reason: CloseReason::Refused(why),
        }
    }

    /// The session is attached: sends the CONNACK, then whatever the resumed session still
    /// owes the client (unacknowledged messages again, with DUP).
    pub fn accept(&mut self, attached: Attached, now: Instant, out: &mut Output) {
        let limits = &self.config.limits;
        let v5 = self.level.is_v5();
        let mut ack = ConnAck::new(attached.session_present && !self.clean_start, 0);
        if v5 {
            let p: &mut Properties = &mut ack.properties;
            if self.assigned {
                p.assigned_client_identifier = Some(self.client_id.to_string());
            }
            if limits.max_keep_alive > 0
                && (self.keep_alive == 0 || self.keep_alive > limits.max_keep_alive)
            {
                self.keep_alive = limits.max_keep_alive;
                p.server_keep_alive = Some(self.keep_alive);
            }
            if let Some(max) = limits.max_session_expiry {
                if self.connect_expiry > max {
                    p.session_expiry_interval = Some(max);
                }
            }
            p.receive_maximum = Some(limits.receive_maximum);
            p.topic_alias_maximum = Some(limits.topic_alias_maximum);
            p.maximum_packet_size = Some(limits.max_packet_size as u32);
            p.shared_subscription_available = Some(1);
        }
        let mut bytes = Vec::new();
        ack.encode(self.level, &mut bytes);
        self.emit(out, &bytes, Direction::Outbound);
        self.phase = super::Phase::Open;
        self.last_packet = now;
        self.aliases_out
            .reset(if v5 { self.peer.topic_alias_maximum } else { 0 });
        self.live = Some(Live {
            cell: attached.cell,
            state: attached.state,
            generation: attached.generation,
        });
        self.resend_in_flight(now, out);
    }

    /// Sends again every QoS 1 and 2 delivery the client has not acknowledged, with DUP, and
    /// PUBREL for those it received.
    fn resend_in_flight(&mut self, now: Instant, out: &mut Output) {
        let Some(live) = self.live.take() else {
            return;
        };
        let mut bytes = Vec::new();
        for InFlight {
            packet_id,
            delivery,
            released,
        } in &live.state.in_flight
        {
            bytes.clear();
            if *released {
                Ack::new(AckKind::PubRel, *packet_id, 0).encode(self.level, &mut bytes);
            } else {
                let message = &delivery.message;
                let v5 = self.level.is_v5();
                PublishOut {
                    dup: true,
                    qos: delivery.qos,
                    retain: delivery.retain,
                    topic: &message.topic,
                    packet_id: Some(*packet_id),
                    payload: &message.payload,
                    message_expiry_interval: if v5 { message.expiry_left(now) } else { None },
                    topic_alias: None,
                    subscription_identifiers: if v5 {
                        delivery.subscription_ids.as_slice()
                    } else {
                        &[]
                    },
                    properties: if v5 { &message.properties } else { &[] },
                }
                .encode(self.level, &mut bytes);
                self.counts.publish_out += 1;
            }
            self.emit(out, &bytes, Direction::Outbound);
        }
        self.live = Some(live);
    }
}

/// A name cut for a log line.
fn short(text: &str) -> String {
    let mut cut: String = text.chars().take(64).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_compare_in_constant_time_and_slow_repeated_failures() {
        let users = Users::new(&HashMap::from([(
            "alice".to_string(),
            "secret".to_string(),
        )]));
        assert_eq!(users.check(Some("alice"), Some(b"secret")), Login::Allowed);
        assert_eq!(users.check(Some("alice"), Some(b"secrets")), Login::Wrong);
        assert_eq!(
            users.check(Some("bob"), Some(&[0u8; 32])),
            Login::Wrong,
            "the decoy is not a password"
        );
        assert_eq!(users.check(None, None), Login::Missing);
        assert_eq!(Users::default().check(None, None), Login::Allowed);
        let now = Instant::now();
        let address: IpAddr = [10, 0, 0, 1].into();
        let base = Duration::from_secs(1);
        assert_eq!(users.failed(address, base, now), base);
        assert!(users.failed(address, base, now) > base);
        for _ in 0..100 {
            users.failed(address, base, now);
        }
        assert_eq!(users.failed(address, base, now), base * 10, "capped");
        assert_eq!(
            users.failed(address, base, now + Duration::from_secs(61)),
            base,
            "forgotten after a minute"
        );
    }

    #[test]
    fn session_expiry_is_capped_and_mapped() {
        assert_eq!(expiry_of(0, None), Expiry::AtDisconnect);
        assert_eq!(expiry_of(u32::MAX, None), Expiry::Never);
        assert_eq!(
            expiry_of(100, Some(10)),
            Expiry::After(Duration::from_secs(10))
        );
    }
}
