//! rumqttc's two event loops behind one face: building them for a profile, and what one poll
//! of either means to the session.

use super::{qos4, qos5, user_properties, Client, FLUSH_TIMEOUT_SECS, REQUEST_CAPACITY};
use crate::profile::{MqttVersion, Profile};
use crate::tap::LocalEndpoint;
use std::time::Duration;

/// The most QoS 1 and 2 publishes an MQTT 5 session keeps unacknowledged (the broker's Receive
/// Maximum lowers it). rumqttc 5 preallocates one slot per possible packet id, 65,535 by
/// default: 14 MB for every MQTT 5 session, the app's own included; 1,024 slots take about
/// 220 KB. (rumqttc 3.1.1 defaults to 100.)
const V5_INFLIGHT: u16 = 1024;

/// rumqttc's event loop for either version.
pub(super) enum EventLoop {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<rumqttc::v5::EventLoop>),
}

/// What one poll of the event loop meant to the session.
pub(super) enum Polled {
    ConnAck { session_present: bool },
    SentDisconnect,
    Other,
}

/// Why the event loop stopped, before the session puts it in words.
pub(super) enum PollError {
    /// CONNACK with a failure code (the tap saw which).
    Refused,
    /// The connection closed or failed at the socket level.
    Closed(String),
    /// No CONNACK in time.
    Timeout,
    /// The broker did not answer a PINGREQ within the keep-alive.
    NoPong,
    /// Something other than CONNACK came back for CONNECT (not an MQTT broker?).
    NotConnAck(String),
    /// A packet over a size limit, received or about to be sent.
    TooLarge(String),
    /// rumqttc's protocol state machine refused something.
    Protocol(String),
}

impl EventLoop {
    /// Drops the connection to the tap without a word.
    pub(super) fn close(&mut self) {
        match self {
            EventLoop::V4(e) => e.clean(),
            EventLoop::V5(e) => e.clean(),
        }
    }

    pub(super) async fn poll(&mut self) -> Result<Polled, PollError> {
        match self {
            EventLoop::V4(e) => {
                use rumqttc::{ConnectionError as E, Event, Outgoing, Packet, StateError};
                match e.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => Ok(Polled::ConnAck {
                        session_present: ack.session_present,
                    }),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => Ok(Polled::SentDisconnect),
                    Ok(_) => Ok(Polled::Other),
                    Err(E::ConnectionRefused(_)) => Err(PollError::Refused),
                    Err(E::NotConnAck(packet)) => Err(PollError::NotConnAck(format!("{packet:?}"))),
                    Err(E::Io(io)) | Err(E::MqttState(StateError::Io(io))) => {
                        Err(PollError::Closed(io.to_string()))
                    }
                    Err(E::MqttState(StateError::ConnectionAborted)) => {
                        Err(PollError::Closed("closed by the broker".into()))
                    }
                    Err(E::MqttState(StateError::Deserialization(rumqttc::Error::Io(io)))) => {
                        Err(PollError::Closed(io.to_string()))
                    }
                    Err(E::MqttState(StateError::Deserialization(
                        e @ (rumqttc::Error::PayloadSizeLimitExceeded(_)
                        | rumqttc::Error::OutgoingPacketTooLarge { .. }),
                    ))) => Err(PollError::TooLarge(e.to_string())),
                    Err(E::MqttState(StateError::AwaitPingResp)) => Err(PollError::NoPong),
                    Err(E::NetworkTimeout) | Err(E::FlushTimeout) => Err(PollError::Timeout),
                    Err(other) => Err(PollError::Protocol(other.to_string())),
                }
            }
            EventLoop::V5(e) => {
                use rumqttc::v5::mqttbytes::v5::Packet;
                use rumqttc::v5::{ConnectionError as E, Event, StateError};
                use rumqttc::Outgoing;
                match e.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => Ok(Polled::ConnAck {
                        session_present: ack.session_present,
                    }),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => Ok(Polled::SentDisconnect),
                    Ok(_) => Ok(Polled::Other),
                    Err(E::ConnectionRefused(_)) => Err(PollError::Refused),
                    Err(E::NotConnAck(packet)) => Err(PollError::NotConnAck(format!("{packet:?}"))),
                    Err(E::Io(io)) | Err(E::MqttState(StateError::Io(io))) => {
                        Err(PollError::Closed(io.to_string()))
                    }
                    Err(E::MqttState(StateError::ServerDisconnect { .. })) => {
                        Err(PollError::Closed("the broker sent DISCONNECT".into()))
                    }
                    Err(E::MqttState(StateError::ConnectionAborted)) => {
                        Err(PollError::Closed("closed by the broker".into()))
                    }
                    Err(E::MqttState(StateError::Deserialization(
                        rumqttc::v5::mqttbytes::Error::Io(io),
                    ))) => Err(PollError::Closed(io.to_string())),
                    Err(E::MqttState(StateError::Deserialization(
                        e @ (rumqttc::v5::mqttbytes::Error::PayloadSizeLimitExceeded { .. }
                        | rumqttc::v5::mqttbytes::Error::OutgoingPacketTooLarge { .. }),
                    ))) => Err(PollError::TooLarge(e.to_string())),
                    Err(E::MqttState(StateError::AwaitPingResp)) => Err(PollError::NoPong),
                    Err(E::Timeout(_)) => Err(PollError::Timeout),
                    Err(other) => Err(PollError::Protocol(other.to_string())),
                }
            }
        }
    }
}

/// Builds rumqttc's options and client for a profile, pointed at the tap's local endpoint.
pub(super) fn build(
    profile: &Profile,
    client_id: &str,
    password: Option<&str>,
    endpoint: &LocalEndpoint,
) -> (Client, EventLoop) {
    let (addr, port) = endpoint.target();
    let keep_alive = Duration::from_secs(u64::from(profile.keep_alive));
    let max = profile.max_packet_size as usize;
    let username = profile.username.clone().unwrap_or_default();
    let credentials = (!username.is_empty() || password.is_some())
        .then(|| (username, password.unwrap_or_default().to_string()));
    match profile.version {
        MqttVersion::V311 => {
            let mut o = rumqttc::MqttOptions::new(client_id, addr, port);
            #[cfg(unix)]
            o.set_transport(rumqttc::Transport::Unix);
            o.set_keep_alive(keep_alive)
                .set_clean_session(profile.clean_start)
                .set_max_packet_size(max, max);
            if let Some((user, pass)) = credentials {
                o.set_credentials(user, pass);
            }
            if let Some(will) = &profile.will {
                o.set_last_will(rumqttc::LastWill::new(
                    will.topic.clone(),
                    will.payload.clone().into_bytes(),
                    qos4(will.qos),
                    will.retain,
                ));
            }
            let (client, mut eventloop) = rumqttc::AsyncClient::new(o, REQUEST_CAPACITY);
            // rumqttc 3.1.1 also limits each write's flush to this: a large payload over a slow
            // link needs far more than the default 5 s.
            let mut network = rumqttc::NetworkOptions::new();
            network.set_connection_timeout(FLUSH_TIMEOUT_SECS);
            eventloop.set_network_options(network);
            (Client::V4(client), EventLoop::V4(Box::new(eventloop)))
        }
        MqttVersion::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(client_id, addr, port);
            #[cfg(unix)]
            o.set_transport(rumqttc::Transport::Unix);
            o.set_keep_alive(keep_alive)
                .set_clean_start(profile.clean_start)
                .set_max_packet_size(Some(profile.max_packet_size))
                .set_session_expiry_interval(profile.session_expiry)
                .set_outgoing_inflight_upper_limit(V5_INFLIGHT);
            if let Some((user, pass)) = credentials {
                o.set_credentials(user, pass);
            }
            if let Some(will) = &profile.will {
                let p = &will.properties;
                let properties = rumqttc::v5::mqttbytes::v5::LastWillProperties {
                    delay_interval: p.will_delay,
                    payload_format_indicator: p.payload_is_utf8.then_some(1),
                    message_expiry_interval: p.message_expiry,
                    content_type: p.content_type.clone().filter(|t| !t.is_empty()),
                    response_topic: p.response_topic.clone().filter(|t| !t.is_empty()),
                    correlation_data: p
                        .correlation_data
                        .clone()
                        .filter(|c| !c.is_empty())
                        .map(bytes::Bytes::from),
                    user_properties: user_properties(p),
                };
                o.set_last_will(rumqttc::v5::mqttbytes::v5::LastWill::new(
                    will.topic.clone(),
                    will.payload.clone().into_bytes(),
                    qos5(will.qos),
                    will.retain,
                    Some(properties),
                ));
            }
            let (client, eventloop) = rumqttc::v5::AsyncClient::new(o, REQUEST_CAPACITY);
            (Client::V5(client), EventLoop::V5(Box::new(eventloop)))
        }
    }
}
