//! Durable subscriptions: the queues, their bindings and one consumer per subscription.
//!
//! Opening declares (idempotently) the source's topic exchange, the dead-letter queue, and the
//! main queue, a durable quorum queue whose own dead-lettering (a broker-side delivery limit,
//! RabbitMQ 4's default of 20 returns) also lands in the dead-letter queue; then binds one
//! routing key per event type, sets `basic.qos(prefetch)` and starts a consumer with manual
//! acks. When the connection breaks, `next` returns `Unavailable` and the following call
//! opens a new consumer on the reconnected link.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Consumer};

use super::error::{short, unavailable, within};
use super::incoming::AmqpIncoming;
use super::link::Link;
use super::names::QueueNames;
use super::publish::{Publisher, declare_exchange};
use crate::events::transport::{Incoming, SubscribeSpec, Subscription, TransportError};

/// An open consumer and its channel.
struct Active {
    channel: Channel,
    consumer: Consumer,
}

/// A durable subscription; dropping it cancels its consumer (unsettled messages go back to the
/// queue once their channel closes).
pub(super) struct AmqpSubscription {
    link: Arc<Link>,
    publisher: Arc<Publisher>,
    spec: SubscribeSpec,
    exchange: String,
    names: Arc<QueueNames>,
    active: Option<Active>,
}

impl AmqpSubscription {
    /// Declares the topology and starts consuming.
    pub(super) async fn open(
        link: Arc<Link>,
        publisher: Arc<Publisher>,
        spec: SubscribeSpec,
        exchange: String,
        names: QueueNames,
    ) -> Result<Self, TransportError> {
        let mut subscription = Self {
            link,
            publisher,
            spec,
            exchange,
            names: Arc::new(names),
            active: None,
        };
        subscription.active = Some(subscription.start().await?);
        Ok(subscription)
    }

    async fn start(&self) -> Result<Active, TransportError> {
        let timeout = self.link.timeout();
        let channel = self.link.channel().await?;
        let main = short(&self.names.main, "queue name")?;
        let dead_letter = short(&self.names.dead_letter, "queue name")?;

        declare_exchange(&channel, &self.exchange, timeout).await?;
        within(
            timeout,
            "a queue declaration",
            channel.queue_declare(
                dead_letter.clone(),
                QueueDeclareOptions::durable(),
                quorum(),
            ),
        )
        .await?;
        let mut arguments = quorum();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(self.names.dead_letter.as_str().into()),
        );
        within(
            timeout,
            "a queue declaration",
            channel.queue_declare(main.clone(), QueueDeclareOptions::durable(), arguments),
        )
        .await?;
        for event_type in &self.spec.event_types {
            within(
                timeout,
                "a queue binding",
                channel.queue_bind(
                    main.clone(),
                    short(&self.exchange, "exchange name")?,
                    short(event_type, "event type")?,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                ),
            )
            .await?;
        }
        within(
            timeout,
            "basic.qos",
            channel.basic_qos(self.spec.prefetch, BasicQosOptions::default()),
        )
        .await?;
        let tag = format!("{}-{:016x}", self.spec.consumer, fastrand::u64(..));
        let consumer = within(
            timeout,
            "basic.consume",
            channel.basic_consume(
                main,
                short(&tag, "consumer tag")?,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
        Ok(Active { channel, consumer })
    }
}

/// Queue arguments for a quorum queue.
fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}

impl Subscription for AmqpSubscription {
    fn next(&mut self) -> BoxFuture<'_, Option<Result<Box<dyn Incoming>, TransportError>>> {
        Box::pin(async move {
            let active = match self.active.take() {
                Some(active) => active,
                None => match self.start().await {
                    Ok(active) => active,
                    Err(error) => return Some(Err(error)),
                },
            };
            let active = self.active.insert(active);
            match active.consumer.next().await {
                Some(Ok(delivery)) => {
                    let incoming = AmqpIncoming::new(
                        delivery,
                        active.channel.clone(),
                        self.names.clone(),
                        self.publisher.clone(),
                        self.spec.ack_wait,
                        self.link.timeout(),
                    );
                    Some(Ok(Box::new(incoming) as Box<dyn Incoming>))
                }
                Some(Err(error)) => {
                    self.active = None;
                    Some(Err(unavailable(format!(
                        "the consumer of `{}` stopped: {error}; it reopens on the next call",
                        self.names.main
                    ))))
                }
                None => {
                    self.active = None;
                    Some(Err(unavailable(format!(
                        "RabbitMQ cancelled the consumer of `{}` (queue deleted?); it reopens on \
                         the next call",
                        self.names.main
                    ))))
                }
            }
        })
    }
}
