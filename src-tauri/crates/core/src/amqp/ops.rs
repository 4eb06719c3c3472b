//! The operations a user runs on a connected AMQP session, as [`AmqpService`] methods: declare,
//! bind, purge, delete, publish, basic.get, Hello World, and the consumers (start, settle,
//! cancel). Each runs on the session's connection with the crate's time limits; failures come
//! back in words.

use super::consumers::{self, Command};
use super::service::AmqpService;
use super::{ipc_error, AmqpConsumerView, AmqpGot, AmqpPublish, AmqpSettle, HelloWorldStep};
use crate::error::{ErrorCode, IpcError};
use base64::Engine;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use workbench_amqp::{
    AmqpError, BindingSpec, ConsumeSpec, ExchangeSpec, OutgoingMessage, PublishOutcome, QueueInfo,
    QueueSpec,
};

impl AmqpService {
    /// Declares a queue (or, `passive`, checks it exists) and says its depth.
    pub async fn declare_queue(&self, id: &str, spec: &QueueSpec) -> Result<QueueInfo, IpcError> {
        let s = self.session(id).await?;
        s.declare_queue(spec).await.map_err(|e| ipc_error(&e))
    }

    pub async fn declare_exchange(&self, id: &str, spec: &ExchangeSpec) -> Result<(), IpcError> {
        let s = self.session(id).await?;
        s.declare_exchange(spec).await.map_err(|e| ipc_error(&e))
    }

    pub async fn bind(&self, id: &str, spec: &BindingSpec) -> Result<(), IpcError> {
        let s = self.session(id).await?;
        s.bind(spec).await.map_err(|e| ipc_error(&e))
    }

    pub async fn unbind(&self, id: &str, spec: &BindingSpec) -> Result<(), IpcError> {
        let s = self.session(id).await?;
        s.unbind(spec).await.map_err(|e| ipc_error(&e))
    }

    /// Empties a queue of its ready messages; returns how many there were.
    pub async fn purge_queue(&self, id: &str, name: &str) -> Result<u32, IpcError> {
        let s = self.session(id).await?;
        s.purge_queue(name).await.map_err(|e| ipc_error(&e))
    }

    /// Deletes a queue; returns how many messages it held.
    pub async fn delete_queue(&self, id: &str, name: &str) -> Result<u32, IpcError> {
        let s = self.session(id).await?;
        s.delete_queue(name).await.map_err(|e| ipc_error(&e))
    }

    /// Publishes one message and says what the broker did with it.
    pub async fn publish(
        &self,
        id: &str,
        message: &AmqpPublish,
    ) -> Result<PublishOutcome, IpcError> {
        let body = if message.body_base64 {
            base64::engine::general_purpose::STANDARD
                .decode(message.body.trim())
                .map_err(|e| {
                    IpcError::new(
                        ErrorCode::InvalidInput,
                        format!("the body is not valid base64 ({e})"),
                    )
                })?
        } else {
            message.body.clone().into_bytes()
        };
        let s = self.session(id).await?;
        s.publish(&OutgoingMessage {
            exchange: message.exchange.clone(),
            routing_key: message.routing_key.clone(),
            body: body.into(),
            properties: message.properties.clone(),
            mandatory: message.mandatory,
        })
        .await
        .map_err(|e| ipc_error(&e))
    }

    /// Starts a consumer; returns its tag. Manual-ack deliveries wait for [`AmqpService::settle`].
    pub async fn consume(&self, id: &str, spec: &ConsumeSpec) -> Result<String, IpcError> {
        let live = self.live(id)?;
        if !spec.consumer_tag.is_empty() && live.consumers().contains_key(&spec.consumer_tag) {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                format!(
                    "this session has a consumer tagged \"{}\" already",
                    spec.consumer_tag
                ),
            ));
        }
        let consumer = {
            let s = self.session(id).await?;
            s.consume(spec).await.map_err(|e| ipc_error(&e))?
        };
        let tag = consumer.tag().to_string();
        let on_end = {
            let (live, tag) = (Arc::downgrade(&live), tag.clone());
            Box::new(move || {
                if let Some(live) = live.upgrade() {
                    live.consumers().remove(&tag);
                }
            })
        };
        let handle = consumers::spawn(
            id.to_string(),
            consumer,
            spec,
            self.shared.notices.clone(),
            on_end,
        );
        live.consumers().insert(tag.clone(), handle);
        Ok(tag)
    }

    fn consumer(&self, id: &str, tag: &str) -> Result<mpsc::Sender<Command>, IpcError> {
        let live = self.live(id)?;
        let consumers = live.consumers();
        consumers
            .get(tag)
            .map(|h| h.commands.clone())
            .ok_or_else(|| {
                IpcError::new(
                    ErrorCode::NotFound,
                    format!("there is no consumer \"{tag}\" on this session (it ended, or was cancelled)"),
                )
            })
    }

    async fn ask(
        &self,
        id: &str,
        tag: &str,
        command: impl FnOnce(oneshot::Sender<Result<(), AmqpError>>) -> Command,
    ) -> Result<(), IpcError> {
        let commands = self.consumer(id, tag)?;
        let (reply, answer) = oneshot::channel();
        let gone = || IpcError::new(ErrorCode::InvalidState, format!("consumer \"{tag}\" ended"));
        commands.send(command(reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?.map_err(|e| ipc_error(&e))
    }

    /// Stops a consumer (its unsettled deliveries go back to the queue).
    pub async fn cancel(&self, id: &str, tag: &str) -> Result<(), IpcError> {
        self.ask(id, tag, |reply| Command::Cancel { reply }).await
    }

    /// Acks, nacks or rejects a delivery of a manual-ack consumer (`multiple`: every one up to
    /// it; `requeue`: back to the queue, delivered again marked redelivered).
    pub async fn settle(
        &self,
        id: &str,
        tag: &str,
        delivery_tag: u64,
        how: AmqpSettle,
        requeue: bool,
        multiple: bool,
    ) -> Result<(), IpcError> {
        self.ask(id, tag, |reply| Command::Settle {
            delivery_tag,
            how,
            requeue,
            multiple,
            reply,
        })
        .await
    }

    /// The session's running consumers with their unsettled deliveries now (a window that
    /// opens later reads them here; changes are pushed as [`AmqpNotice::Unsettled`]). None when
    /// the session is not connected.
    pub fn consumers(&self, id: &str) -> Result<Vec<AmqpConsumerView>, IpcError> {
        let live = match self.live(id) {
            Ok(live) => live,
            Err(e) if e.code == ErrorCode::InvalidState => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let consumers = live.consumers();
        let mut views: Vec<AmqpConsumerView> = consumers
            .values()
            .map(|h| {
                let (deliveries, dropped) =
                    h.list.lock().unwrap_or_else(|p| p.into_inner()).snapshot();
                AmqpConsumerView {
                    consumer_tag: h.spec.consumer_tag.clone(),
                    queue: h.spec.queue.clone(),
                    ack: h.spec.ack,
                    prefetch: h.spec.prefetch,
                    deliveries,
                    dropped,
                }
            })
            .collect();
        views.sort_by(|a, b| a.consumer_tag.cmp(&b.consumer_tag));
        Ok(views)
    }

    /// Takes one message from a queue without a consumer (basic.get); `requeue` puts it back.
    pub async fn get(
        &self,
        id: &str,
        queue: &str,
        requeue: bool,
    ) -> Result<Option<AmqpGot>, IpcError> {
        let s = self.session(id).await?;
        let got = s
            .get_message(queue, !requeue)
            .await
            .map_err(|e| ipc_error(&e))?;
        Ok(got.map(|d| {
            let (body, body_base64) = match std::str::from_utf8(&d.body) {
                Ok(text) => (text.to_string(), false),
                Err(_) => (
                    base64::engine::general_purpose::STANDARD.encode(&d.body),
                    true,
                ),
            };
            AmqpGot {
                exchange: d.exchange,
                routing_key: d.routing_key,
                redelivered: d.redelivered,
                properties: d.properties,
                size: u32::try_from(d.body.len()).unwrap_or(u32::MAX),
                body,
                body_base64,
            }
        }))
    }

    /// The study note's Hello World (RabbitMQ's tutorial one) on this session: declare `hello`,
    /// publish 'Hello World!' to the default exchange with routing key `hello`, receive it with
    /// basic.get (auto ack). Steps stop at the first failure.
    pub async fn hello_world(&self, id: &str) -> Result<Vec<HelloWorldStep>, IpcError> {
        super::hello::run(&*self.session(id).await?).await
    }
}
