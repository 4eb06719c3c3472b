//! An actor's side of the conversation on the wire: what it does with each packet that arrives
//! (acknowledges, remembers, answers), and how its PUBLISH and SUBSCRIBE packets are encoded.

use super::{qos, Actor, Received, RECEIVED_KEPT, SHOWN_PAYLOAD};
use crate::format::MessageSpec;
use workbench_tools::client::{self, Connection};
use workbench_wire::codec::{self, AckKind, Packet, Properties, PublishOut, QoS};

impl Actor {
    pub(super) async fn handle_packets(&mut self) {
        let mut replies: Vec<MessageSpec> = Vec::new();
        let mut error = None;
        if let Some(c) = &mut self.connection {
            loop {
                let packet = match c.next_packet() {
                    Ok(Some(packet)) => packet,
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                };
                let mut acks: Vec<(AckKind, u16)> = Vec::new();
                match packet {
                    Packet::Publish(p) => {
                        let payload: String = String::from_utf8_lossy(p.payload)
                            .chars()
                            .take(SHOWN_PAYLOAD)
                            .collect();
                        if self.received.len() >= RECEIVED_KEPT {
                            self.received.pop_front();
                        }
                        self.received.push_back(Received {
                            topic: p.topic.to_string(),
                            payload,
                            qos: p.qos as u8,
                            retain: p.retain,
                            dup: p.dup,
                        });
                        match (p.qos, p.packet_id) {
                            (QoS::AtLeastOnce, Some(id)) => acks.push((AckKind::PubAck, id)),
                            (QoS::ExactlyOnce, Some(id)) => {
                                if !self.incoming_qos2.contains(&id)
                                    && self.incoming_qos2.len() < 1000
                                {
                                    self.incoming_qos2.push(id);
                                }
                                acks.push((AckKind::PubRec, id));
                            }
                            _ => {}
                        }
                        let (response_topic, correlation) =
                            client::request_properties(p.properties);
                        for publish in &self.spec.publish {
                            let Some(on) = &publish.on else { continue };
                            if !workbench_wire::topic::matches(on, p.topic) {
                                continue;
                            }
                            let mut message = publish.message();
                            if message.topic == "{response_topic}" {
                                let Some(topic) = &response_topic else {
                                    continue;
                                };
                                message.topic = topic.clone();
                                message.correlation_data = correlation
                                    .as_ref()
                                    .map(|c| String::from_utf8_lossy(c).into_owned());
                            }
                            replies.push(message);
                        }
                    }
                    Packet::Ack(ack) => match ack.kind {
                        AckKind::PubAck | AckKind::PubComp => {
                            self.inflight.remove(&ack.packet_id);
                        }
                        AckKind::PubRec => {
                            if let Some(inflight) = self.inflight.get_mut(&ack.packet_id) {
                                inflight.released = true;
                            }
                            acks.push((AckKind::PubRel, ack.packet_id));
                        }
                        AckKind::PubRel => {
                            self.incoming_qos2.retain(|id| *id != ack.packet_id);
                            acks.push((AckKind::PubComp, ack.packet_id));
                        }
                    },
                    Packet::SubAck(suback) => {
                        if let Some(code) = suback.codes.iter().find(|c| **c >= 0x80) {
                            self.note = "suback-refused".into();
                            self.detail = format!("{code:#04x}");
                        }
                    }
                    Packet::Disconnect(d) => {
                        error = Some(format!("the broker sent DISCONNECT ({:#04x})", d.reason));
                    }
                    _ => {}
                }
                for (kind, id) in acks {
                    c.ack(kind, id);
                }
            }
        }
        if let Some(error) = error {
            self.lost(error);
            return;
        }
        for reply in replies {
            self.publish(reply);
        }
        self.flush().await;
    }
}

pub(super) fn properties(message: &MessageSpec) -> Properties {
    let mut p = Properties {
        message_expiry_interval: message.expiry,
        response_topic: message.response_topic.clone(),
        correlation_data: message.correlation_data.clone().map(String::into_bytes),
        ..Properties::default()
    };
    p.user_properties = message
        .user_properties
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    p
}

pub(super) fn encode_publish(
    c: &mut Connection,
    message: &MessageSpec,
    id: Option<u16>,
    dup: bool,
) {
    let props = if c.level.is_v5() {
        client::publish_properties(&properties(message))
    } else {
        Vec::new()
    };
    PublishOut {
        dup,
        qos: qos(message.qos),
        retain: message.retain,
        topic: &message.topic,
        packet_id: id,
        payload: message.payload.as_bytes(),
        properties: &props,
        ..PublishOut::default()
    }
    .encode(c.level, &mut c.out);
}

/// Encodes a SUBSCRIBE (nothing for no filters). Unlike a simulated device, an actor hears its
/// own messages when it subscribes to them, as a learner expects.
pub(super) fn subscribe(c: &mut Connection, filters: &[(String, QoS)]) {
    if filters.is_empty() {
        return;
    }
    let packet_id = c.next_id();
    codec::Subscribe {
        packet_id,
        properties: Properties::default(),
        filters: filters
            .iter()
            .map(|(f, q)| codec::SubscribeFilter::new(f, *q))
            .collect(),
    }
    .encode(c.level, &mut c.out);
}
