//! The study note's Hello World, RabbitMQ's tutorial one, as one click: declare the queue
//! `hello`, publish 'Hello World!' to the default exchange with routing key `hello`, and receive
//! it with basic.get (auto ack). The publish and the delivery are reported to the traffic views
//! like any other. Each step says what happened, in words; the steps stop at the first failure.

use super::{preview, HelloWorldStep};
use crate::error::IpcError;
use workbench_amqp::{AmqpProperties, AmqpSession, OutgoingMessage, PublishOutcome, QueueSpec};

/// The tutorial's queue, and its message.
pub const QUEUE: &str = "hello";
pub const MESSAGE: &str = "Hello World!";

fn step(what: &str, ok: bool, detail: String) -> HelloWorldStep {
    HelloWorldStep {
        what: format!("amqp.hello.{what}"),
        ok,
        detail,
    }
}

/// Runs the three steps on a connected session.
pub async fn run(session: &AmqpSession) -> Result<Vec<HelloWorldStep>, IpcError> {
    let mut steps = Vec::new();
    match session.declare_queue(&QueueSpec::named(QUEUE)).await {
        Ok(info) => steps.push(step(
            "declare",
            true,
            format!(
                "queue {QUEUE}: {} messages ready, {} consumers",
                info.messages, info.consumers
            ),
        )),
        Err(e) => {
            steps.push(step("declare", false, e.to_string()));
            return Ok(steps);
        }
    }
    let message = OutgoingMessage {
        exchange: String::new(),
        routing_key: QUEUE.into(),
        body: MESSAGE.as_bytes().to_vec().into(),
        properties: AmqpProperties {
            content_type: Some("text/plain".into()),
            ..AmqpProperties::default()
        },
        mandatory: true,
    };
    match session.publish(&message).await {
        Ok(PublishOutcome::Accepted) => steps.push(step(
            "publish",
            true,
            format!("sent '{MESSAGE}' to the default exchange with routing key {QUEUE}: the broker took it"),
        )),
        Ok(other) => {
            steps.push(step(
                "publish",
                false,
                format!("sent '{MESSAGE}' with routing key {QUEUE}: the broker answered {other:?}"),
            ));
            return Ok(steps);
        }
        Err(e) => {
            steps.push(step("publish", false, e.to_string()));
            return Ok(steps);
        }
    }
    match session.get_message(QUEUE, true).await {
        Ok(Some(d)) => steps.push(step(
            "receive",
            true,
            format!("received '{}' from queue {QUEUE}", preview(&d.body)),
        )),
        Ok(None) => steps.push(step(
            "receive",
            false,
            format!("queue {QUEUE} was empty: a consumer on it took the message first"),
        )),
        Err(e) => steps.push(step("receive", false, e.to_string())),
    }
    Ok(steps)
}
