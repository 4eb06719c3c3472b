//! Full decoding and encoding of the few packets the front door reads closely or writes itself:
//! CONNECT (to authenticate and rewrite it for the engine), SUBSCRIBE and UNSUBSCRIBE (to serve
//! `$SYS` and validate filters), and the acknowledgements the door answers on its own. Decoding
//! uses rumqttc's codecs for each version; the door's own small replies are encoded here.

use bytes::BytesMut;
use rumqttc::mqttbytes::v4;
use rumqttc::v5::mqttbytes::v5;
use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::QoS as QoS4;
use workbench_wire::ProtocolVersion;
use workbench_wire::{encode_varint, WireError};

fn malformed(_: impl std::fmt::Debug) -> WireError {
    WireError::Malformed("the packet does not decode")
}

fn qos4_to_u8(q: QoS4) -> u8 {
    q as u8
}

fn qos5_to_u8(q: QoS5) -> u8 {
    q as u8
}

fn qos_to_v5(q: u8) -> QoS5 {
    match q {
        0 => QoS5::AtMostOnce,
        1 => QoS5::AtLeastOnce,
        _ => QoS5::ExactlyOnce,
    }
}

/// The door's marker for a will: the user property key, and a maker of its text from the will's
/// QoS and retain flag.
pub type WillTag<'a> = (&'a str, &'a dyn Fn(u8, bool) -> String);

/// A decoded CONNECT of either version.
#[derive(Debug, Clone)]
pub enum ConnectPacket {
    V4(Box<v4::Connect>),
    V5(Box<(v5::Connect, Option<v5::LastWill>, Option<v5::Login>)>),
}

impl ConnectPacket {
    pub fn decode(packet: &[u8], version: ProtocolVersion) -> Result<Self, WireError> {
        let mut buf = BytesMut::from(packet);
        match version {
            ProtocolVersion::V311 => {
                match v4::Packet::read(&mut buf, packet.len()).map_err(malformed)? {
                    v4::Packet::Connect(c) => Ok(ConnectPacket::V4(Box::new(c))),
                    _ => Err(WireError::Malformed("expected CONNECT")),
                }
            }
            ProtocolVersion::V5 => {
                match v5::Packet::read(&mut buf, Some(packet.len() as u32)).map_err(malformed)? {
                    v5::Packet::Connect(c, will, login) => {
                        Ok(ConnectPacket::V5(Box::new((c, will, login))))
                    }
                    _ => Err(WireError::Malformed("expected CONNECT")),
                }
            }
        }
    }

    pub fn client_id(&self) -> &str {
        match self {
            ConnectPacket::V4(c) => &c.client_id,
            ConnectPacket::V5(b) => &b.0.client_id,
        }
    }

    pub fn clean(&self) -> bool {
        match self {
            ConnectPacket::V4(c) => c.clean_session,
            ConnectPacket::V5(b) => b.0.clean_start,
        }
    }

    pub fn keep_alive(&self) -> u16 {
        match self {
            ConnectPacket::V4(c) => c.keep_alive,
            ConnectPacket::V5(b) => b.0.keep_alive,
        }
    }

    pub fn login(&self) -> Option<(&str, &str)> {
        match self {
            ConnectPacket::V4(c) => c
                .login
                .as_ref()
                .map(|l| (l.username.as_str(), l.password.as_str())),
            ConnectPacket::V5(b) => {
                b.2.as_ref()
                    .map(|l| (l.username.as_str(), l.password.as_str()))
            }
        }
    }

    /// MQTT 5's session expiry interval (0 when absent); `None` for MQTT 3.1.1.
    pub fn session_expiry(&self) -> Option<u32> {
        match self {
            ConnectPacket::V4(_) => None,
            ConnectPacket::V5(b) => Some(
                b.0.properties
                    .as_ref()
                    .and_then(|p| p.session_expiry_interval)
                    .unwrap_or(0),
            ),
        }
    }

    /// The largest packet an MQTT 5 client accepts, when it says.
    pub fn client_max_packet(&self) -> Option<u32> {
        match self {
            ConnectPacket::V4(_) => None,
            ConnectPacket::V5(b) => b.0.properties.as_ref().and_then(|p| p.max_packet_size),
        }
    }

    pub fn has_will(&self) -> bool {
        match self {
            ConnectPacket::V4(c) => c.last_will.is_some(),
            ConnectPacket::V5(b) => b.1.is_some(),
        }
    }

    /// Encodes the CONNECT the engine sees, always as MQTT 5 (the door speaks 5 to the engine so it
    /// can carry what it needs in properties): the engine's own credentials, the given client id
    /// and keep-alive, everything else (will, properties, clean flag) as the client sent it.
    pub fn encode_for_engine(
        &self,
        client_id: &str,
        keep_alive: u16,
        clean: bool,
        login: (&str, &str),
        will_tag: Option<WillTag<'_>>,
    ) -> Result<Vec<u8>, WireError> {
        let mut out = BytesMut::new();
        match self {
            ConnectPacket::V4(c) => {
                let connect = v5::Connect {
                    keep_alive,
                    client_id: client_id.to_string(),
                    clean_start: clean,
                    properties: None,
                };
                let mut will = c.last_will.as_ref().map(|w| v5::LastWill {
                    topic: bytes::Bytes::copy_from_slice(w.topic.as_bytes()),
                    message: w.message.clone(),
                    qos: qos_to_v5(qos4_to_u8(w.qos)),
                    retain: w.retain,
                    properties: None,
                });
                tag_will(&mut will, will_tag);
                let login = v5::Login::new(login.0, login.1);
                v5::Packet::Connect(connect, will, Some(login))
                    .write(&mut out, None)
                    .map_err(malformed)?;
            }
            ConnectPacket::V5(b) => {
                let (c, will, _) = b.as_ref();
                let mut will = will.clone();
                tag_will(&mut will, will_tag);
                let mut c = c.clone();
                c.client_id = client_id.to_string();
                c.keep_alive = keep_alive;
                c.clean_start = clean;
                // Topic aliases would hide topics from the door: none between door and engine.
                if let Some(properties) = c.properties.as_mut() {
                    properties.topic_alias_max = None;
                }
                let login = v5::Login::new(login.0, login.1);
                v5::Packet::Connect(c, will, Some(login))
                    .write(&mut out, None)
                    .map_err(malformed)?;
            }
        }
        Ok(out.to_vec())
    }
}

/// A CONNECT that ends the engine's session for `client_id` (clean start), for the door's own
/// short connection when an MQTT 5 session expires.
pub fn encode_session_end(client_id: &str, login: (&str, &str)) -> Result<Vec<u8>, WireError> {
    let connect = v5::Connect {
        keep_alive: 10,
        client_id: client_id.to_string(),
        clean_start: true,
        properties: None,
    };
    let mut out = BytesMut::new();
    v5::Packet::Connect(connect, None, Some(v5::Login::new(login.0, login.1)))
        .write(&mut out, None)
        .map_err(malformed)?;
    Ok(out.to_vec())
}

/// Adds the door's marker (key, and text made from the will's QoS and retain flag) to a will,
/// replacing any the client sent.
fn tag_will(will: &mut Option<v5::LastWill>, tag: Option<WillTag<'_>>) {
    let (Some(will), Some((key, make))) = (will.as_mut(), tag) else {
        return;
    };
    let text = make(qos5_to_u8(will.qos), will.retain);
    let properties = will
        .properties
        .get_or_insert_with(|| v5::LastWillProperties {
            delay_interval: None,
            payload_format_indicator: None,
            message_expiry_interval: None,
            content_type: None,
            response_topic: None,
            correlation_data: None,
            user_properties: Vec::new(),
        });
    properties.user_properties.retain(|(k, _)| k != key);
    properties.user_properties.push((key.to_string(), text));
}

/// One filter of a SUBSCRIBE, version-neutral (3.1.1 filters get MQTT 5's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedFilter {
    pub filter: String,
    pub qos: u8,
    /// Do not send this client its own publishes.
    pub no_local: bool,
    /// Keep the retain flag of live messages as published.
    pub retain_as_published: bool,
    /// 0: send retained messages at subscribe; 1: only for a new subscription; 2: never.
    pub retain_handling: u8,
    /// The MQTT 5 subscription identifier, echoed on matching deliveries.
    pub identifier: Option<usize>,
}

/// A decoded SUBSCRIBE of either version.
#[derive(Debug, Clone)]
pub enum SubscribePacket {
    V4(v4::Subscribe),
    V5(v5::Subscribe),
}

impl SubscribePacket {
    pub fn decode(packet: &[u8], version: ProtocolVersion) -> Result<Self, WireError> {
        let mut buf = BytesMut::from(packet);
        match version {
            ProtocolVersion::V311 => {
                match v4::Packet::read(&mut buf, packet.len()).map_err(malformed)? {
                    v4::Packet::Subscribe(s) => Ok(SubscribePacket::V4(s)),
                    _ => Err(WireError::Malformed("expected SUBSCRIBE")),
                }
            }
            ProtocolVersion::V5 => {
                match v5::Packet::read(&mut buf, Some(packet.len() as u32)).map_err(malformed)? {
                    v5::Packet::Subscribe(s) => Ok(SubscribePacket::V5(s)),
                    _ => Err(WireError::Malformed("expected SUBSCRIBE")),
                }
            }
        }
    }

    pub fn pkid(&self) -> u16 {
        match self {
            SubscribePacket::V4(s) => s.pkid,
            SubscribePacket::V5(s) => s.pkid,
        }
    }

    pub fn filters(&self) -> Vec<RequestedFilter> {
        match self {
            SubscribePacket::V4(s) => s
                .filters
                .iter()
                .map(|f| RequestedFilter {
                    filter: f.path.clone(),
                    qos: qos4_to_u8(f.qos),
                    no_local: false,
                    retain_as_published: false,
                    retain_handling: 0,
                    identifier: None,
                })
                .collect(),
            SubscribePacket::V5(s) => {
                let identifier = s.properties.as_ref().and_then(|p| p.id);
                s.filters
                    .iter()
                    .map(|f| RequestedFilter {
                        filter: f.path.clone(),
                        qos: qos5_to_u8(f.qos),
                        no_local: f.nolocal,
                        retain_as_published: f.preserve_retain,
                        retain_handling: match f.retain_forward_rule {
                            v5::RetainForwardRule::OnEverySubscribe => 0,
                            v5::RetainForwardRule::OnNewSubscribe => 1,
                            v5::RetainForwardRule::Never => 2,
                        },
                        identifier,
                    })
                    .collect()
            }
        }
    }

    /// Re-encodes the SUBSCRIBE with only the filters whose `keep` entry is true.
    pub fn encode_subset(&self, keep: &[bool]) -> Result<Vec<u8>, WireError> {
        let mut out = BytesMut::new();
        match self {
            SubscribePacket::V4(s) => {
                let mut s = s.clone();
                let mut flags = keep.iter();
                s.filters.retain(|_| flags.next().copied().unwrap_or(false));
                v4::Packet::Subscribe(s)
                    .write(&mut out, usize::MAX)
                    .map_err(malformed)?;
            }
            SubscribePacket::V5(s) => {
                let mut s = s.clone();
                let mut flags = keep.iter();
                s.filters.retain(|_| flags.next().copied().unwrap_or(false));
                v5::Packet::Subscribe(s)
                    .write(&mut out, None)
                    .map_err(malformed)?;
            }
        }
        Ok(out.to_vec())
    }
}

/// The filters of an UNSUBSCRIBE and its packet id.
pub fn decode_unsubscribe(
    packet: &[u8],
    version: ProtocolVersion,
) -> Result<(u16, Vec<String>), WireError> {
    let mut buf = BytesMut::from(packet);
    match version {
        ProtocolVersion::V311 => {
            match v4::Packet::read(&mut buf, packet.len()).map_err(malformed)? {
                v4::Packet::Unsubscribe(u) => Ok((u.pkid, u.topics)),
                _ => Err(WireError::Malformed("expected UNSUBSCRIBE")),
            }
        }
        ProtocolVersion::V5 => {
            match v5::Packet::read(&mut buf, Some(packet.len() as u32)).map_err(malformed)? {
                v5::Packet::Unsubscribe(u) => Ok((u.pkid, u.filters)),
                _ => Err(WireError::Malformed("expected UNSUBSCRIBE")),
            }
        }
    }
}

/// Reads the return codes of a SUBACK (after the packet id and, in MQTT 5, the properties).
pub fn suback_codes(body: &[u8], version: ProtocolVersion) -> Option<(u16, Vec<u8>)> {
    let pkid = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    let mut at = 2;
    if version == ProtocolVersion::V5 {
        let mut len = 0usize;
        for shift in [0, 7, 14, 21] {
            let byte = *body.get(at)?;
            at += 1;
            len += usize::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        at += len;
    }
    Some((pkid, body.get(at..)?.to_vec()))
}

/// The engine's MQTT 5 CONNACK as the client gets it: with the Assigned Client Identifier when
/// the door assigned one, and without topic aliases (the door must see every topic).
pub fn connack_for_v5_client(packet: &[u8], assigned: Option<&str>) -> Result<Vec<u8>, WireError> {
    let mut buf = BytesMut::from(packet);
    let mut ack = match v5::Packet::read(&mut buf, None).map_err(malformed)? {
        v5::Packet::ConnAck(ack) => ack,
        _ => return Err(WireError::Malformed("expected CONNACK")),
    };
    let mut properties = ack
        .properties
        .take()
        .unwrap_or_else(|| v5::ConnAckProperties {
            session_expiry_interval: None,
            receive_max: None,
            max_qos: None,
            retain_available: None,
            max_packet_size: None,
            assigned_client_identifier: None,
            topic_alias_max: None,
            reason_string: None,
            user_properties: Vec::new(),
            wildcard_subscription_available: None,
            subscription_identifiers_available: None,
            shared_subscription_available: None,
            server_keep_alive: None,
            response_information: None,
            server_reference: None,
            authentication_method: None,
            authentication_data: None,
        });
    if let Some(client_id) = assigned {
        properties.assigned_client_identifier = Some(client_id.to_string());
    }
    properties.topic_alias_max = None;
    ack.properties = Some(properties);
    let mut out = BytesMut::new();
    v5::Packet::ConnAck(ack)
        .write(&mut out, None)
        .map_err(malformed)?;
    Ok(out.to_vec())
}

/// An MQTT 5 CONNACK from the engine, as an MQTT 3.1.1 client must see it.
pub fn connack_v5_to_v4(packet: &[u8]) -> Vec<u8> {
    let flags = packet.get(2).copied().unwrap_or(0) & 1;
    let code = match packet.get(3).copied().unwrap_or(0x80) {
        0x00 => 0x00,
        0x84 => 0x01,
        0x85 => 0x02,
        0x86 => 0x04,
        0x87 => 0x05,
        _ => 0x03,
    };
    vec![0x20, 0x02, flags, code]
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first);
    encode_varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// A CONNACK refusing (or accepting) a connection, with the version's return code.
pub fn encode_connack(version: ProtocolVersion, code: u8) -> Vec<u8> {
    match version {
        ProtocolVersion::V311 => packet(0x20, &[0, code]),
        ProtocolVersion::V5 => packet(0x20, &[0, code, 0]),
    }
}

/// A SUBACK with the given return codes.
pub fn encode_suback(version: ProtocolVersion, pkid: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    if version == ProtocolVersion::V5 {
        body.push(0);
    }
    body.extend_from_slice(codes);
    packet(0x90, &body)
}

/// An UNSUBACK; MQTT 5 carries a reason code per filter (0x00, or 0x11: no subscription existed).
pub fn encode_unsuback(version: ProtocolVersion, pkid: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    if version == ProtocolVersion::V5 {
        body.push(0);
        body.extend_from_slice(codes);
    }
    packet(0xB0, &body)
}

/// An MQTT 5 UNSUBSCRIBE for the engine.
pub fn encode_unsubscribe_v5(pkid: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    body.push(0); // no properties
    for filter in filters {
        body.extend_from_slice(&(filter.len() as u16).to_be_bytes());
        body.extend_from_slice(filter.as_bytes());
    }
    packet(0xA2, &body)
}

/// PUBACK (0x40), PUBREC (0x50) or PUBCOMP (0x70) for a packet id, with an MQTT 5 reason code.
pub fn encode_ack(first: u8, version: ProtocolVersion, pkid: u16, reason: u8) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    if version == ProtocolVersion::V5 && reason != 0 {
        body.push(reason);
    }
    packet(first, &body)
}

/// An MQTT 5 DISCONNECT with a reason code (the server telling a client why it is closing).
pub fn encode_disconnect_v5(reason: u8) -> Vec<u8> {
    packet(0xE0, &[reason, 0])
}

/// A PINGREQ.
pub const PINGREQ: [u8; 2] = [0xC0, 0x00];
