//! How an AMQP session's messages reach the traffic views: as the same packet events MQTT
//! sessions report ([`SessionTraffic`] batches of `PacketEvent`s, ingested by the app's hub), so
//! deliveries land in the topic tree, the rates and the inspectors beside MQTT traffic.
//!
//! The mapping (also in the README):
//! - a delivery is a PUBLISH coming in, a publish is a PUBLISH going out, on the topic
//!   `<exchange>/<routing key>`, the default exchange (`""`) written `(default)`, and just
//!   `<exchange>` when the routing key is empty (fanout);
//! - QoS 1 stands for a delivery the consumer must acknowledge, QoS 0 for automatic acks; the
//!   DUP flag for AMQP's `redelivered`;
//! - the AMQP properties, the delivery tag and the routing are the message's named fields;
//! - an ack, nack or reject is a PUBACK going out, its AMQP method in the `Method` field;
//! - sizes are the body plus exchange and routing key: AMQP's frame overhead is not counted.
//!
//! Reporting never waits: when the traffic model falls behind, events are dropped and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;
use workbench_session::SessionTraffic;
use workbench_wire::{Direction, PacketEvent, PacketKind, PacketSummary};

/// Where a session's traffic goes: the channel the app's hub drains, and the session's id there.
#[derive(Clone)]
pub struct TrafficSink {
    /// The session's profile id (its source in the hub is `SourceId::Session(id)`).
    pub session: Arc<str>,
    pub events: mpsc::Sender<SessionTraffic>,
}

/// The topic a message is shown under in the topic tree.
pub fn topic_for(exchange: &str, routing_key: &str) -> String {
    let exchange = if exchange.is_empty() {
        "(default)"
    } else {
        exchange
    };
    if routing_key.is_empty() {
        exchange.to_string()
    } else {
        format!("{exchange}/{routing_key}")
    }
}

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// One connection's reporter.
pub(crate) struct Reporter {
    sink: Option<TrafficSink>,
    connection: u64,
    client_id: Arc<str>,
    /// Events dropped because the traffic model fell behind.
    pub(crate) dropped: AtomicU64,
}

/// What one message was, for reporting.
pub(crate) struct Message<'a> {
    pub exchange: &'a str,
    pub routing_key: &'a str,
    pub body: &'a bytes::Bytes,
    pub fields: Vec<(&'static str, String)>,
    pub manual_ack: bool,
    pub redelivered: bool,
}

impl Reporter {
    pub(crate) fn new(sink: Option<TrafficSink>, user: &str) -> Reporter {
        Reporter {
            sink,
            connection: CONNECTIONS.fetch_add(1, Ordering::Relaxed),
            client_id: Arc::from(user),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn message(&self, direction: Direction, m: Message<'_>) {
        if self.sink.is_none() {
            return;
        }
        let mut s = PacketSummary::new(
            PacketKind::Publish,
            m.body.len() + m.exchange.len() + m.routing_key.len(),
        );
        s.topic = Some(topic_for(m.exchange, m.routing_key));
        s.qos = u8::from(m.manual_ack);
        s.dup = m.redelivered;
        s.payload_len = m.body.len();
        if direction == Direction::Inbound {
            s.payload = Some(m.body.clone());
        }
        s.fields = m.fields;
        self.emit(direction, s);
    }

    /// An ack, nack or reject this session sent.
    pub(crate) fn acknowledged(&self, method: &'static str, tag: u64, requeue: Option<bool>) {
        if self.sink.is_none() {
            return;
        }
        let mut s = PacketSummary::new(PacketKind::PubAck, 0);
        s.fields.push(("Method", method.to_string()));
        s.fields.push(("Delivery Tag", tag.to_string()));
        if let Some(requeue) = requeue {
            s.fields.push(("Requeue", requeue.to_string()));
        }
        self.emit(Direction::Outbound, s);
    }

    fn emit(&self, direction: Direction, summary: PacketSummary) {
        let Some(sink) = &self.sink else { return };
        let batch = SessionTraffic {
            session: sink.session.clone(),
            packets: vec![PacketEvent {
                connection: self.connection,
                client_id: self.client_id.clone(),
                remote: None,
                direction,
                summary,
                time: SystemTime::now(),
            }],
            held: None,
        };
        if sink.events.try_send(batch).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_the_exchange_and_the_routing_key() {
        assert_eq!(topic_for("", "hello"), "(default)/hello");
        assert_eq!(topic_for("logs", ""), "logs");
        assert_eq!(
            topic_for("amq.topic", "kern.critical"),
            "amq.topic/kern.critical"
        );
    }

    #[tokio::test]
    async fn a_delivery_is_reported_as_an_incoming_publish_with_its_properties() {
        let (events, mut rx) = mpsc::channel(4);
        let r = Reporter::new(
            Some(TrafficSink {
                session: "s1".into(),
                events,
            }),
            "guest",
        );
        let body = bytes::Bytes::from_static(b"Hello World!");
        r.message(
            Direction::Inbound,
            Message {
                exchange: "",
                routing_key: "hello",
                body: &body,
                fields: vec![("Content Type", "text/plain".into())],
                manual_ack: true,
                redelivered: true,
            },
        );
        let batch = rx.recv().await.unwrap();
        assert_eq!(&*batch.session, "s1");
        let p = &batch.packets[0];
        assert_eq!(
            (p.summary.kind, p.direction),
            (PacketKind::Publish, Direction::Inbound)
        );
        assert_eq!(p.summary.topic.as_deref(), Some("(default)/hello"));
        assert_eq!((p.summary.qos, p.summary.dup), (1, true));
        assert_eq!(p.summary.payload.as_deref(), Some(&b"Hello World!"[..]));
        assert_eq!(p.summary.fields[0].0, "Content Type");
    }
}
