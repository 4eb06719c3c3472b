//! What the client publishes (topic aliases, QoS 1 and 2 flows, routing) and how it
//! acknowledges what the broker delivered.

use super::{CloseReason, Door, Notice, Output};
use crate::router::message::{Message, Origin};
use crate::router::retained::RetainChange;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::codec::{reason, Ack, AckKind, PublishView, QoS};
use wire::topic;
use wire::Direction;

impl Door {
    fn protocol_error(&mut self, out: &mut Output, code: u8, detail: &str) {
        self.fail(
            out,
            CloseReason::ProtocolError {
                code,
                detail: detail.to_string(),
            },
        );
    }

    pub(super) fn on_publish(
        &mut self,
        publish: &PublishView<'_>,
        size: usize,
        now: Instant,
        out: &mut Output,
    ) {
        let meta = match publish.meta() {
            Ok(meta) => meta,
            Err(error) => return self.protocol_error(out, error.reason_code(), &error.to_string()),
        };
        if meta.has_subscription_identifiers {
            return self.protocol_error(
                out,
                reason::PROTOCOL_ERROR,
                "a client may not send subscription identifiers",
            );
        }
        // The topic, through the client's topic aliases.
        let topic: Arc<str> = match meta.topic_alias {
            Some(alias) if alias == 0 || alias > self.config.limits.topic_alias_maximum => {
                return self.protocol_error(
                    out,
                    reason::TOPIC_ALIAS_INVALID,
                    &format!(
                        "topic alias {alias} is outside 1 to {}",
                        self.config.limits.topic_alias_maximum
                    ),
                )
            }
            Some(alias) if publish.topic.is_empty() => match self.aliases_in.get(&alias) {
                Some(topic) => topic.clone(),
                None => {
                    return self.protocol_error(
                        out,
                        reason::PROTOCOL_ERROR,
                        &format!("topic alias {alias} was never set on this connection"),
                    )
                }
            },
            Some(alias) => {
                let topic: Arc<str> = Arc::from(publish.topic);
                self.aliases_in.insert(alias, topic.clone());
                topic
            }
            None => Arc::from(publish.topic),
        };
        if let Err(error) = topic::validate_name(&topic) {
            return self.protocol_error(out, reason::TOPIC_NAME_INVALID, &error.to_string());
        }
        if meta.payload_format_indicator == Some(1) && std::str::from_utf8(publish.payload).is_err()
        {
            return self.protocol_error(
                out,
                reason::PAYLOAD_FORMAT_INVALID,
                "the publish says its payload is UTF-8 text, and it is not",
            );
        }
        let Some(live) = self.live.as_ref() else {
            return;
        };
        let publisher = live.cell.id;
        self.counts.publish_in += 1;

        // QoS 2: a PUBLISH whose PUBREL has not come yet is a retransmission.
        if publish.qos == QoS::ExactlyOnce {
            let id = publish.packet_id.unwrap_or(0);
            let pending = self.live.as_ref().map(|l| l.state.awaiting_release.len());
            let duplicate = self
                .live
                .as_ref()
                .is_some_and(|l| l.state.awaiting_release.contains(&id));
            if duplicate {
                self.tap_publish(publish, &topic, size, out);
                return self.acknowledge(AckKind::PubRec, id, reason::SUCCESS, out);
            }
            if pending.unwrap_or(0) >= usize::from(self.config.limits.receive_maximum) {
                return self.protocol_error(
                    out,
                    reason::RECEIVE_MAXIMUM_EXCEEDED,
                    &format!(
                        "more than {} QoS 2 messages unfinished",
                        self.config.limits.receive_maximum
                    ),
                );
            }
        }

        // `$SYS` belongs to the broker.
        if topic.starts_with("$SYS") {
            self.tap_publish(publish, &topic, size, out);
            return self.answer_publish(publish, reason::NOT_AUTHORIZED, out);
        }

        let mut properties = Vec::new();
        publish.forwarded_properties(&meta, &mut properties);
        let message = Arc::new(Message {
            topic: topic.clone(),
            payload: Bytes::copy_from_slice(publish.payload),
            qos: publish.qos,
            retain: publish.retain,
            properties: Bytes::from(properties),
            expires_at: meta
                .message_expiry_interval
                .map(|secs| now + Duration::from_secs(u64::from(secs))),
            publisher,
            origin: Origin::Client,
        });
        if self.tap() {
            let mut summary = super::tap::publish_summary(publish, &topic, size);
            summary.payload = Some(message.payload.clone());
            if self.level.is_v5() && !publish.properties.is_empty() {
                summary.fields = super::tap::property_fields(publish.properties);
            }
            out.events.push((Direction::Inbound, summary));
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let routed = self
            .router
            .publish(message, &mut scratch, &mut self.congested);
        self.scratch = scratch;
        match routed.retained {
            Some(RetainChange::Added | RetainChange::Replaced) => {
                out.notices.push(Notice::Retained {
                    topic: topic.clone(),
                    present: true,
                })
            }
            Some(RetainChange::Removed) => out.notices.push(Notice::Retained {
                topic: topic.clone(),
                present: false,
            }),
            _ => {}
        }
        let code = if routed.matched == 0 {
            reason::NO_MATCHING_SUBSCRIBERS
        } else if routed.dropped == routed.matched {
            reason::QUOTA_EXCEEDED
        } else {
            reason::SUCCESS
        };
        self.answer_publish(publish, code, out);
    }

    /// PUBACK or PUBREC for a client's QoS 1 or 2 publish. MQTT 3.1.1 has no reason codes: its
    /// clients get a plain acknowledgement.
    fn answer_publish(&mut self, publish: &PublishView<'_>, code: u8, out: &mut Output) {
        let Some(id) = publish.packet_id else {
            return;
        };
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.acknowledge(AckKind::PubAck, id, code, out),
            QoS::ExactlyOnce => {
                // An error code ends the exchange; anything else waits for PUBREL.
                if code < 0x80 || !self.level.is_v5() {
                    if let Some(live) = &mut self.live {
                        live.state.awaiting_release.insert(id);
                    }
                }
                self.acknowledge(AckKind::PubRec, id, code, out);
            }
        }
    }

    fn acknowledge(&mut self, kind: AckKind, id: u16, code: u8, out: &mut Output) {
        let mut bytes = Vec::with_capacity(4);
        let code = if self.level.is_v5() { code } else { 0 };
        Ack::new(kind, id, code).encode(self.level, &mut bytes);
        self.emit(out, &bytes, Direction::Outbound);
    }

    fn tap_publish(
        &mut self,
        publish: &PublishView<'_>,
        topic: &str,
        size: usize,
        out: &mut Output,
    ) {
        if self.tap() {
            let mut summary = super::tap::publish_summary(publish, topic, size);
            summary.payload = Some(Bytes::copy_from_slice(publish.payload));
            out.events.push((Direction::Inbound, summary));
        }
    }

    pub(super) fn on_ack(&mut self, ack: &Ack, out: &mut Output) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let state = &mut live.state;
        match ack.kind {
            // The client's acknowledgements of the broker's deliveries.
            AckKind::PubAck | AckKind::PubComp => {
                state.acknowledge(ack.packet_id);
            }
            AckKind::PubRec => {
                let found = state
                    .in_flight
                    .iter_mut()
                    .find(|f| f.packet_id == ack.packet_id && !f.released);
                match found {
                    Some(entry) if ack.reason >= 0x80 => {
                        // The client refused it: the exchange ends here.
                        let id = entry.packet_id;
                        state.acknowledge(id);
                    }
                    Some(entry) => {
                        entry.released = true;
                        self.acknowledge(AckKind::PubRel, ack.packet_id, reason::SUCCESS, out);
                    }
                    None => self.acknowledge(
                        AckKind::PubRel,
                        ack.packet_id,
                        reason::PACKET_IDENTIFIER_NOT_FOUND,
                        out,
                    ),
                }
            }
            // The client releases a QoS 2 message it published.
            AckKind::PubRel => {
                let known = state.awaiting_release.remove(&ack.packet_id);
                let code = if known {
                    reason::SUCCESS
                } else {
                    reason::PACKET_IDENTIFIER_NOT_FOUND
                };
                self.acknowledge(AckKind::PubComp, ack.packet_id, code, out);
            }
        }
    }
}
