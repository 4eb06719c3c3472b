//! AMQP 0-9-1 sessions for MQTT Workbench: RabbitMQ as its own tutorials and the management UI
//! show it, next to the MQTT sessions. No Tauri here: the app and `mqttwb amqp` both drive it.
//!
//! - [`target`]: the `amqp://user:pass@host:5672/vhost` (or `amqps://`) URL, password apart.
//! - [`session`]: one connection: declare or check queues and exchanges, bind, publish with
//!   confirms.
//! - [`consumer`]: a consumer with its prefetch; ack, nack, reject with or without requeue.
//! - [`topology`]: the specs of queues, exchanges and bindings.
//! - [`properties`]: a message's AMQP properties and headers.
//! - [`traffic`]: deliveries and publishes reported as the traffic views' packet events, on the
//!   topic `<exchange>/<routing key>`.
//! - [`management`]: the management plugin's HTTP API: the queues of a vhost with depth,
//!   consumers and rates.
//! - [`watch`]: the queue view's watcher: the management API read every 2 s while watched, a
//!   bounded depth history per queue, its chart.
//! - [`error`]: every failure in words, with a code a front end can act on.
//!
//! Built on lapin (3.7, rustls with ring, the system's CA roots) running on tokio.

pub mod consumer;
pub mod error;
pub mod management;
pub mod properties;
pub mod session;
pub mod target;
pub mod topology;
pub mod traffic;
pub mod watch;

pub use consumer::{AckMode, AmqpConsumer, AmqpDelivery, ConsumeSpec, DEFAULT_PREFETCH};
pub use error::AmqpError;
pub use management::{ManagementApi, QueueStats};
pub use properties::{AmqpProperties, HeaderValue};
pub use session::{AmqpOptions, AmqpSession, OutgoingMessage, PublishOutcome};
pub use target::AmqpTarget;
pub use topology::{BindingSpec, ExchangeSpec, ExchangeType, QueueInfo, QueueSpec};
pub use traffic::{topic_for, TrafficSink};

/// Channels one session may have open (two of its own, one per consumer).
pub const MAX_CHANNELS: u16 = 64;

#[cfg(test)]
mod tests {
    /// The types a front end sends and receives export to TypeScript (no 64-bit integers, which
    /// the app's bindings refuse).
    #[test]
    fn the_ipc_types_export_to_typescript() {
        let types = specta::Types::default()
            .register::<crate::QueueSpec>()
            .register::<crate::QueueInfo>()
            .register::<crate::ExchangeSpec>()
            .register::<crate::BindingSpec>()
            .register::<crate::ConsumeSpec>()
            .register::<crate::AmqpProperties>()
            .register::<crate::PublishOutcome>()
            .register::<crate::QueueStats>();
        let ts = specta_typescript::Typescript::default()
            .export(&types, specta_serde::Format)
            .expect("exports");
        assert!(ts.contains("QueueStats"), "{ts}");
        assert!(ts.contains("headers?: ([string, HeaderValue])[]"), "{ts}");
    }
}
