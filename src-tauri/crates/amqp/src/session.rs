//! One AMQP 0-9-1 connection to a broker (RabbitMQ) and what a user does with it: declare or check
//! queues and exchanges, bind them, publish, and start consumers (see `consumer.rs`). Every
//! failure comes back as an [`AmqpError`] in words.
//!
//! Channels: declarations run on a channel of their own, opened again after the broker closes it
//! (a failed declare closes its channel); publishing runs on a second one in confirm mode, so a
//! publish returns once the broker has taken the message (and says when nothing was bound to
//! route it); each consumer has its own, since prefetch is per channel. At most
//! [`crate::MAX_CHANNELS`] channels are open per connection.

use crate::consumer::{AmqpConsumer, AmqpDelivery, ConsumeSpec};
use crate::error::Who;
use crate::properties::{headers_table, AmqpProperties};
use crate::topology::{check_name, BindingSpec, ExchangeSpec, QueueInfo, QueueSpec};
use crate::traffic::{Message, Reporter, TrafficSink};
use crate::{AmqpError, AmqpTarget};
use lapin::options::*;
use lapin::{Channel, Connection, ConnectionProperties};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use workbench_wire::Direction;

/// How a session connects.
#[derive(Debug, Clone)]
pub struct AmqpOptions {
    /// Heartbeat asked of the broker, in seconds (0 turns heartbeats off).
    pub heartbeat_s: u16,
    /// How long connecting (TCP, TLS, login, vhost) may take.
    pub connect_timeout: Duration,
    /// How long one declare, bind or publish confirm may take.
    pub op_timeout: Duration,
    /// The name the broker's management UI shows for this connection.
    pub connection_name: String,
    /// PEM CA certificates trusted for `amqps://` besides the system's (a broker with a
    /// self-signed or private CA).
    pub ca_pem: Option<String>,
}

impl Default for AmqpOptions {
    fn default() -> AmqpOptions {
        AmqpOptions {
            heartbeat_s: 30,
            connect_timeout: Duration::from_secs(15),
            op_timeout: Duration::from_secs(30),
            connection_name: "MQTT Workbench".into(),
            ca_pem: None,
        }
    }
}

/// A message to publish.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    /// Empty: the default exchange, which routes to the queue named by the routing key.
    pub exchange: String,
    pub routing_key: String,
    pub body: bytes::Bytes,
    pub properties: AmqpProperties,
    /// Ask the broker to return the message when no queue is bound to receive it.
    pub mandatory: bool,
}

/// What became of a published message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum PublishOutcome {
    /// The broker took it (routed to at least one queue, or dropped by routing when not
    /// mandatory: AMQP does not tell those apart without `mandatory`).
    Accepted,
    /// Mandatory and nothing was bound to receive it: the broker returned it.
    Unroutable,
    /// The broker refused it (basic.nack: an internal error, or a queue that rejects overflow).
    Refused,
}

/// Largest message body a session publishes (RabbitMQ's own default limit is 128 MiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// A connected AMQP session.
pub struct AmqpSession {
    connection: Connection,
    pub(crate) who: Who,
    options: AmqpOptions,
    ops: Mutex<Option<Channel>>,
    publisher: Mutex<Option<Channel>>,
    pub(crate) reporter: Arc<Reporter>,
    /// The task watching for the connection's loss, if one was asked for.
    watch: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for AmqpSession {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.lock().unwrap_or_else(|p| p.into_inner()).take() {
            watch.abort();
        }
    }
}

impl AmqpSession {
    /// Connects and logs in. `traffic`: where deliveries and publishes are reported, if anywhere.
    pub async fn connect(
        target: &AmqpTarget,
        options: AmqpOptions,
        traffic: Option<TrafficSink>,
    ) -> Result<AmqpSession, AmqpError> {
        let who = Who {
            target: target.display(),
            user: target.user.clone(),
            vhost: target.vhost.clone(),
            tls: target.tls,
        };
        let properties = ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio)
            .with_connection_name(options.connection_name.as_str().into());
        let uri = target.to_uri(options.heartbeat_s);
        let tls = lapin::tcp::OwnedTLSConfig {
            identity: None,
            cert_chain: options.ca_pem.clone(),
        };
        let connection = tokio::time::timeout(
            options.connect_timeout,
            Connection::connect_uri_with_config(uri, properties, tls),
        )
        .await
        .map_err(|_| AmqpError::Timeout {
            what: format!("connecting to {}", who.target),
            seconds: options.connect_timeout.as_secs(),
        })?
        .map_err(|e| AmqpError::from_lapin(&e, &who, true))?;
        let reporter = Arc::new(Reporter::new(traffic, &target.user));
        Ok(AmqpSession {
            connection,
            who,
            options,
            ops: Mutex::new(None),
            publisher: Mutex::new(None),
            reporter,
            watch: std::sync::Mutex::new(None),
        })
    }

    /// The URL this session is connected to, without its password.
    pub fn target(&self) -> &str {
        &self.who.target
    }

    /// Whether the connection is still open.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    /// Traffic events dropped because the traffic model fell behind.
    pub fn dropped_events(&self) -> u64 {
        self.reporter
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn explain(&self, e: lapin::Error) -> AmqpError {
        AmqpError::from_lapin(&e, &self.who, false)
    }

    /// Runs a lapin call with the session's time limit, explaining its failure.
    pub(crate) async fn run<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = lapin::Result<T>>,
    ) -> Result<T, AmqpError> {
        match tokio::time::timeout(self.options.op_timeout, call).await {
            Ok(result) => result.map_err(|e| self.explain(e)),
            Err(_) => Err(AmqpError::Timeout {
                what: what.to_string(),
                seconds: self.options.op_timeout.as_secs(),
            }),
        }
    }

    pub(crate) async fn open_channel(&self) -> Result<Channel, AmqpError> {
        self.run("opening a channel", self.connection.create_channel())
            .await
    }

    /// Runs `op` on the declarations channel, opening a new one when the broker closed the last.
    async fn on_ops<T, F, Fut>(&self, what: &str, op: F) -> Result<T, AmqpError>
    where
        F: FnOnce(Channel) -> Fut,
        Fut: std::future::Future<Output = lapin::Result<T>>,
    {
        let mut slot = self.ops.lock().await;
        let channel = match slot.take() {
            Some(c) if c.status().connected() => c,
            _ => self.open_channel().await?,
        };
        let result = self.run(what, op(channel.clone())).await;
        if channel.status().connected() {
            *slot = Some(channel);
        }
        result
    }

    /// Declares a queue (or, passive, checks that it exists) and says how many messages wait in it.
    pub async fn declare_queue(&self, spec: &QueueSpec) -> Result<QueueInfo, AmqpError> {
        check_name("queue", &spec.name, !spec.passive)?;
        let arguments = headers_table(&spec.arguments)?;
        let options = QueueDeclareOptions {
            passive: spec.passive,
            durable: spec.durable,
            exclusive: spec.exclusive,
            auto_delete: spec.auto_delete,
            nowait: false,
        };
        let name = spec.name.clone();
        let queue = self
            .on_ops("declaring a queue", |c| async move {
                c.queue_declare(&name, options, arguments).await
            })
            .await?;
        Ok(QueueInfo {
            name: queue.name().as_str().to_string(),
            messages: queue.message_count(),
            consumers: queue.consumer_count(),
        })
    }

    /// Declares an exchange (or, passive, checks that it exists).
    pub async fn declare_exchange(&self, spec: &ExchangeSpec) -> Result<(), AmqpError> {
        check_name("exchange", &spec.name, false)?;
        let arguments = headers_table(&spec.arguments)?;
        let options = ExchangeDeclareOptions {
            passive: spec.passive,
            durable: spec.durable,
            auto_delete: spec.auto_delete,
            internal: spec.internal,
            nowait: false,
        };
        let (name, kind) = (spec.name.clone(), spec.kind.lapin());
        self.on_ops("declaring an exchange", |c| async move {
            c.exchange_declare(&name, kind, options, arguments).await
        })
        .await
    }

    /// Binds a queue to an exchange.
    pub async fn bind(&self, spec: &BindingSpec) -> Result<(), AmqpError> {
        check_name("queue", &spec.queue, false)?;
        check_name("exchange", &spec.exchange, false)?;
        check_name("routing key", &spec.routing_key, true)?;
        let arguments = headers_table(&spec.arguments)?;
        let s = spec.clone();
        self.on_ops("binding", |c| async move {
            c.queue_bind(
                &s.queue,
                &s.exchange,
                &s.routing_key,
                QueueBindOptions::default(),
                arguments,
            )
            .await
        })
        .await
    }

    /// Removes a binding.
    pub async fn unbind(&self, spec: &BindingSpec) -> Result<(), AmqpError> {
        check_name("queue", &spec.queue, false)?;
        check_name("exchange", &spec.exchange, false)?;
        let arguments = headers_table(&spec.arguments)?;
        let s = spec.clone();
        self.on_ops("unbinding", |c| async move {
            c.queue_unbind(&s.queue, &s.exchange, &s.routing_key, arguments)
                .await
        })
        .await
    }

    /// Deletes a queue; returns how many messages it held.
    pub async fn delete_queue(&self, name: &str) -> Result<u32, AmqpError> {
        check_name("queue", name, false)?;
        let name = name.to_string();
        self.on_ops("deleting a queue", |c| async move {
            c.queue_delete(&name, QueueDeleteOptions::default()).await
        })
        .await
    }

    /// Removes every ready message from a queue; returns how many there were.
    pub async fn purge_queue(&self, name: &str) -> Result<u32, AmqpError> {
        check_name("queue", name, false)?;
        let name = name.to_string();
        self.on_ops("purging a queue", |c| async move {
            c.queue_purge(&name, QueuePurgeOptions::default()).await
        })
        .await
    }

    /// Takes one message from a queue without a consumer (basic.get), as the management UI's
    /// "Get messages" does: `remove` false puts it back (nack with requeue; it is then marked
    /// redelivered), true takes it for good. `None` when the queue is empty.
    pub async fn get_message(
        &self,
        queue: &str,
        remove: bool,
    ) -> Result<Option<AmqpDelivery>, AmqpError> {
        check_name("queue", queue, false)?;
        let name = queue.to_string();
        let got = self
            .on_ops("getting a message", |c| async move {
                let Some(m) = c
                    .basic_get(&name, BasicGetOptions { no_ack: remove })
                    .await?
                else {
                    return Ok(None);
                };
                let delivery = AmqpDelivery::from_lapin(m.delivery);
                if !remove {
                    c.basic_nack(
                        delivery.delivery_tag,
                        BasicNackOptions {
                            multiple: false,
                            requeue: true,
                        },
                    )
                    .await?;
                }
                Ok(Some(delivery))
            })
            .await?;
        if let Some(d) = &got {
            d.report(&self.reporter, false);
        }
        Ok(got)
    }

    /// Calls `on_lost` (once, from the connection's I/O task) when the connection fails: the
    /// broker closed it (forced, or shut down), the network went, or heartbeats stopped. A front
    /// end pushes its session state from here; nothing needs to poll.
    pub fn on_connection_lost(&self, on_lost: impl FnOnce(AmqpError) + Send + 'static) {
        use futures_lite::StreamExt;
        let who = self.who.clone();
        let mut events = self.connection.events_listener();
        let status = self.connection.status().clone();
        let watch = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                // lapin tells a channel's error (the broker closing the channel of a failed
                // declaration) on the same stream; it marks the connection errored or closed
                // before it tells a connection's, so a connection still up is not lost.
                if let lapin::Event::Error(e) = event {
                    if status.connected() {
                        continue;
                    }
                    on_lost(AmqpError::from_lapin(&e, &who, false));
                    return;
                }
            }
        });
        let mut slot = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = slot.replace(watch) {
            old.abort();
        }
    }

    /// Deletes an exchange.
    pub async fn delete_exchange(&self, name: &str) -> Result<(), AmqpError> {
        check_name("exchange", name, false)?;
        let name = name.to_string();
        self.on_ops("deleting an exchange", |c| async move {
            c.exchange_delete(&name, ExchangeDeleteOptions::default())
                .await
        })
        .await
    }

    /// Publishes one message and waits for the broker's confirm.
    pub async fn publish(&self, message: &OutgoingMessage) -> Result<PublishOutcome, AmqpError> {
        check_name("exchange", &message.exchange, true)?;
        check_name("routing key", &message.routing_key, true)?;
        if message.body.len() > MAX_BODY {
            return Err(AmqpError::BadInput(format!(
                "the message is {} bytes; the workbench publishes at most {MAX_BODY}",
                message.body.len()
            )));
        }
        let properties = message.properties.to_basic()?;
        let mut slot = self.publisher.lock().await;
        let channel = match slot.take() {
            Some(c) if c.status().connected() => c,
            _ => {
                let c = self.open_channel().await?;
                self.run(
                    "turning on publisher confirms",
                    c.confirm_select(ConfirmSelectOptions::default()),
                )
                .await?;
                c
            }
        };
        let options = BasicPublishOptions {
            mandatory: message.mandatory,
            immediate: false,
        };
        let sent = self
            .run(
                "publishing",
                channel.basic_publish(
                    &message.exchange,
                    &message.routing_key,
                    options,
                    &message.body,
                    properties,
                ),
            )
            .await;
        let confirmed = match sent {
            Ok(confirm) => self.run("waiting for the broker's confirm", confirm).await,
            Err(e) => Err(e),
        };
        if channel.status().connected() {
            *slot = Some(channel);
        }
        drop(slot);
        let confirmation = confirmed?;
        let outcome = match confirmation {
            lapin::publisher_confirm::Confirmation::Ack(Some(_)) => PublishOutcome::Unroutable,
            lapin::publisher_confirm::Confirmation::Ack(None) => PublishOutcome::Accepted,
            lapin::publisher_confirm::Confirmation::NotRequested => PublishOutcome::Accepted,
            lapin::publisher_confirm::Confirmation::Nack(_) => PublishOutcome::Refused,
        };
        let mut fields = message.properties.fields();
        fields.push(("Exchange", message.exchange.clone()));
        fields.push(("Routing Key", message.routing_key.clone()));
        fields.push(("Outcome", format!("{outcome:?}")));
        self.reporter.message(
            Direction::Outbound,
            Message {
                exchange: &message.exchange,
                routing_key: &message.routing_key,
                body: &message.body,
                fields,
                manual_ack: false,
                redelivered: false,
            },
        );
        Ok(outcome)
    }

    /// Starts a consumer on a queue (on a channel of its own, with its prefetch).
    pub async fn consume(&self, spec: &ConsumeSpec) -> Result<AmqpConsumer, AmqpError> {
        AmqpConsumer::start(self, spec).await
    }

    /// Closes the connection politely (consumers' channels close with it).
    pub async fn close(self) -> Result<(), AmqpError> {
        if !self.connection.status().connected() {
            return Ok(());
        }
        self.run("closing the connection", self.connection.close(200, "bye"))
            .await
    }
}
