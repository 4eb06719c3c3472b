//! The lesson checks for AMQP actors (`kind = "amqp"`, RabbitMQ clients): their declarations,
//! bindings, consumer and buttons, the actions a step may have them take, and the checks that
//! name them (a delivery is a PUBLISH to the actor, a publish a PUBLISH from it, an ack a PUBACK
//! from it). MQTT actors may not use the AMQP fields, nor AMQP actors the MQTT ones.

use super::{at, key, Checker, Step};
use crate::format::{ActorKind, ActorSpec, AmqpAck, LessonFile, VersionSpec};

/// RabbitMQ's limit on queue, exchange and routing key names (AMQP short strings).
const NAME_MAX: usize = 255;

impl Checker<'_> {
    fn amqp_name(&mut self, path: &[Step], what: &str, name: &str) {
        if name.len() > NAME_MAX {
            self.error(path, format!("a {what} is at most {NAME_MAX} bytes"));
        } else if name.chars().any(char::is_control) {
            self.error(path, format!("a {what} has no control characters"));
        }
    }

    /// An MQTT actor uses none of the AMQP fields.
    pub(super) fn mqtt_actor(&mut self, base: &[Step], actor: &ActorSpec) {
        for (field, used) in [
            ("declare", !actor.declare.is_empty()),
            ("bind", !actor.bind.is_empty()),
            ("consume", actor.consume.is_some()),
        ] {
            if used {
                self.error(
                    &at(base, &[key(field)]),
                    format!("{field} is for AMQP actors: add kind = \"amqp\""),
                );
            }
        }
        for (j, p) in actor.publish.iter().enumerate() {
            if p.exchange.is_some() || p.routing_key.is_some() {
                self.error(
                    &at(base, &[key("publish"), Step::Index(j)]),
                    "exchange and routing_key are for AMQP actors; an MQTT publish has a topic",
                );
            }
        }
    }

    /// An AMQP actor: declarations, bindings, consumer and buttons that RabbitMQ will take.
    pub(super) fn amqp_actor(&mut self, base: &[Step], actor: &ActorSpec) {
        let mqtt_only = [
            ("subscribe", !actor.subscribe.is_empty()),
            ("will", actor.will.is_some()),
            ("session_expiry", actor.session_expiry.is_some()),
            ("username", actor.username.is_some()),
            ("password", actor.password.is_some()),
            ("version", actor.version != VersionSpec::default()),
            ("clean_start", !actor.clean_start),
        ];
        for (field, used) in mqtt_only {
            if used {
                self.error(
                    &at(base, &[key(field)]),
                    format!("{field} is for MQTT actors (this one is kind = \"amqp\")"),
                );
            }
        }
        let mut own_queue = false;
        for (j, d) in actor.declare.iter().enumerate() {
            let path = at(base, &[key("declare"), Step::Index(j)]);
            match (&d.queue, &d.exchange) {
                (Some(queue), None) => {
                    own_queue |= queue.is_empty();
                    self.amqp_name(&at(&path, &[key("queue")]), "queue name", queue);
                    if d.kind.is_some() {
                        self.error(&at(&path, &[key("type")]), "a queue has no type");
                    }
                }
                (None, Some(exchange)) => {
                    if exchange.is_empty() {
                        self.error(
                            &at(&path, &[key("exchange")]),
                            "the default exchange (\"\") is always there: declare a named one",
                        );
                    }
                    self.amqp_name(&at(&path, &[key("exchange")]), "exchange name", exchange);
                    let kind = d.kind.as_deref().unwrap_or("direct");
                    if kind.parse::<workbench_amqp::ExchangeType>().is_err() {
                        self.error(
                            &at(&path, &[key("type")]),
                            format!("\"{kind}\" is not an exchange type (direct, fanout, topic or headers)"),
                        );
                    }
                    if d.exclusive {
                        self.error(&at(&path, &[key("exclusive")]), "only a queue is exclusive");
                    }
                }
                _ => self.error(
                    &path,
                    "a declaration names exactly one of queue or exchange",
                ),
            }
        }
        for (j, b) in actor.bind.iter().enumerate() {
            let path = at(base, &[key("bind"), Step::Index(j)]);
            self.amqp_name(&at(&path, &[key("exchange")]), "exchange name", &b.exchange);
            self.amqp_name(
                &at(&path, &[key("routing_key")]),
                "routing key",
                &b.routing_key,
            );
            if b.exchange.is_empty() {
                self.error(
                    &at(&path, &[key("exchange")]),
                    "nothing binds to the default exchange: name an exchange",
                );
            }
            if b.queue.is_none() && !own_queue {
                self.error(
                    &path,
                    "name the queue, or declare the actor's own with declare = [{ queue = \"\" }]",
                );
            }
        }
        if let Some(c) = &actor.consume {
            let path = at(base, &[key("consume")]);
            if c.queue.is_none() && !own_queue {
                self.error(
                    &path,
                    "name the queue, or declare the actor's own with declare = [{ queue = \"\" }]",
                );
            }
            match (c.ack, c.prefetch) {
                (_, Some(0)) => self.error(
                    &at(&path, &[key("prefetch")]),
                    "prefetch is 1 to 65535 (0 would mean no limit at all)",
                ),
                (AmqpAck::Auto, Some(_)) => self.error(
                    &at(&path, &[key("prefetch")]),
                    "prefetch limits unacknowledged deliveries: it needs ack = \"manual\"",
                ),
                _ => {}
            }
        }
        for (j, p) in actor.publish.iter().enumerate() {
            let path = at(base, &[key("publish"), Step::Index(j)]);
            if !p.topic.is_empty() || p.qos != 0 || p.retain || p.response_topic.is_some() {
                self.error(
                    &path,
                    "an AMQP publish has exchange and routing_key (topic, qos, retain and response_topic are MQTT's)",
                );
            }
            if p.exchange.is_none() && p.routing_key.is_none() {
                self.error(
                    &path,
                    "an AMQP publish names an exchange and a routing key (exchange = \"\" is the default exchange)",
                );
            }
            let exchange = p.exchange.as_deref().unwrap_or_default();
            let routing_key = p.routing_key.as_deref().unwrap_or_default();
            self.amqp_name(&at(&path, &[key("exchange")]), "exchange name", exchange);
            self.amqp_name(
                &at(&path, &[key("routing_key")]),
                "routing key",
                routing_key,
            );
            match &p.button {
                Some(button) if p.after.is_none() && p.every.is_none() && p.on.is_none() => {
                    self.text_of(&at(&path, &[key("button")]), button)
                }
                _ => self.error(
                    &path,
                    "an AMQP actor publishes with a button only (not after, every or on)",
                ),
            }
        }
    }

    /// Steps: what AMQP actors are told to do, and the packets checks expect of them.
    pub(super) fn amqp_steps(&mut self, file: &LessonFile) {
        let amqp: Vec<&str> = file
            .actors
            .iter()
            .filter(|a| a.kind == ActorKind::Amqp)
            .map(|a| a.id.as_str())
            .collect();
        if amqp.is_empty() {
            return;
        }
        for (i, step) in file.steps.iter().enumerate() {
            let base = [key("steps"), Step::Index(i)];
            for (j, action) in step.on_start.iter().enumerate() {
                if amqp.contains(&action.actor.as_str()) && !crate::rabbit::amqp_may(action.action)
                {
                    self.error(
                        &at(&base, &[key("on_start"), Step::Index(j), key("do")]),
                        "an AMQP actor can connect, reconnect, disconnect, pause and resume",
                    );
                }
            }
            for (j, check) in step.checks.iter().enumerate() {
                let named = check.to.as_deref().or(check.from.as_deref());
                let on_amqp = named.is_some_and(|n| amqp.contains(&n));
                if on_amqp && check.packet != "PUBLISH" && check.packet != "PUBACK" {
                    self.error(
                        &at(&base, &[key("checks"), Step::Index(j), key("packet")]),
                        "an AMQP actor is checked on PUBLISH (a delivery to it, a publish from it) \
                         or PUBACK (its ack)",
                    );
                }
            }
        }
    }
}
