//! The RabbitMQ a lesson's AMQP actors use: the URL the learner gives (RabbitMQ's own default,
//! `amqp://guest:guest@localhost:5672/`, until then), and what the lesson page says about it: the
//! URL without its password and, when an actor could not connect, why, in words.

use crate::actor::amqp::Rabbit;
use crate::actor::ActorHandle;
use crate::format::{ActionKind, ActorKind, ActorSpec};
use crate::view::RabbitView;
use crate::LearnError;
use workbench_amqp::AmqpTarget;

/// RabbitMQ's default on the learner's own machine (the guest user only logs in from localhost).
pub const DEFAULT_URL: &str = "amqp://guest:guest@localhost:5672/";

/// The actors' target for `url`, or why it is not one.
pub fn target(url: &str) -> Rabbit {
    AmqpTarget::parse(url).map_err(|e| e.to_string())
}

/// What the lesson page shows about the RabbitMQ, when the lesson has AMQP actors.
pub fn view(url: &str, specs: &[ActorSpec], actors: &[ActorHandle]) -> Option<RabbitView> {
    if !specs.iter().any(|s| s.kind == ActorKind::Amqp) {
        return None;
    }
    let problem = actors
        .iter()
        .zip(specs)
        .filter(|(_, s)| s.kind == ActorKind::Amqp)
        .map(|(a, _)| a.snapshot())
        .find(|s| s.note == "failed")
        .map(|s| s.detail)
        .unwrap_or_default();
    Some(RabbitView {
        url: AmqpTarget::parse(url)
            .map(|t| t.display())
            .unwrap_or_else(|_| url.to_string()),
        problem,
    })
}

/// What an AMQP actor cannot be asked to do (subscribe, publish from the form, pull the plug),
/// refused in words.
pub fn refuse(specs: &[ActorSpec], actor: &str, kind: ActionKind) -> Result<(), LearnError> {
    let amqp = specs
        .iter()
        .any(|s| s.id == actor && s.kind == ActorKind::Amqp);
    if amqp && !amqp_may(kind) {
        return Err(LearnError::InvalidInput(format!(
            "{actor} is a RabbitMQ (AMQP) client: it publishes with its buttons and consumes from \
             its queue; it can connect, disconnect, pause and resume"
        )));
    }
    Ok(())
}

/// Whether pausing `spec` means anything: an MQTT actor stops reading; an AMQP actor that acks
/// by hand stops working (one with automatic acks has nothing to hold back).
pub fn pausable(spec: &ActorSpec) -> bool {
    spec.kind == ActorKind::Mqtt
        || spec
            .consume
            .as_ref()
            .is_some_and(|c| c.ack == crate::format::AmqpAck::Manual)
}

/// The actions an AMQP actor takes (pause: it stops working, so it acks nothing).
pub fn amqp_may(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Connect
            | ActionKind::Reconnect
            | ActionKind::Disconnect
            | ActionKind::Pause
            | ActionKind::Resume
    )
}
