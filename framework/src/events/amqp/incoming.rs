//! One delivered message and how it is settled.
//!
//! - `ack`: `basic.ack`.
//! - `retry`: a copy goes to the delay queue whose TTL is `delay` rounded up (see
//!   [`names`](super::names)), with [`ATTEMPT_HEADER`] one higher, confirmed; then the original
//!   is acked. When the TTL runs out RabbitMQ dead-letters the copy back to the main queue.
//! - `dead_letter`: a copy goes to the `.dlq` queue with the reason in [`REASON_HEADER`],
//!   confirmed; then the original is acked.
//! - dropped unsettled: after `ack_wait` it is `basic.nack`ed with requeue (or, sooner, the
//!   broker requeues it when the channel closes).
//!
//! The copy is confirmed before the original is acked, so a crash in between gives a
//! duplicate, never a loss (the runtime's inbox absorbs duplicates).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

use super::error::{classify, unavailable};
use super::names::QueueNames;
use super::publish::{Outbound, Publisher, Topology};
use crate::events::transport::{Incoming, TransportError};

/// The adapter's attempt counter, set on the copies that `retry` sends (absent: 1).
pub(super) const ATTEMPT_HEADER: &str = "x-servicekit-attempt";
/// Why `dead_letter` moved a message, on the copy in the dead-letter queue.
pub(super) const REASON_HEADER: &str = "x-servicekit-dead-letter-reason";
/// Quorum queues count returns (nack with requeue, channel closed with the message unacked).
const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";

/// A delivery from a subscription's consumer.
pub(super) struct AmqpIncoming {
    /// `None` once settled.
    delivery: Option<Delivery>,
    attempt: u32,
    /// Kept so that the channel (and with it the delivery tag) stays open until settled, even
    /// when the subscription was dropped first.
    _channel: Channel,
    names: Arc<QueueNames>,
    publisher: Arc<Publisher>,
    ack_wait: Duration,
    timeout: Duration,
}

impl AmqpIncoming {
    pub(super) fn new(
        delivery: Delivery,
        channel: Channel,
        names: Arc<QueueNames>,
        publisher: Arc<Publisher>,
        ack_wait: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            attempt: attempt_of(&delivery),
            delivery: Some(delivery),
            _channel: channel,
            names,
            publisher,
            ack_wait,
            timeout,
        }
    }

    /// Publishes a copy of the message to `queue` with `headers` changed, then acks the
    /// original.
    async fn move_to(
        mut self: Box<Self>,
        topology: Topology<'_>,
        queue: &str,
        change: impl FnOnce(&mut FieldTable),
    ) -> Result<(), TransportError> {
        let Some(delivery) = self.delivery.take() else {
            return Err(unavailable("the message was already settled"));
        };
        let properties = copy_properties(&delivery.properties, change);
        let sent = self
            .publisher
            .send(Outbound {
                topology,
                exchange: "",
                routing_key: queue,
                mandatory: true,
                body: &delivery.data,
                properties,
            })
            .await;
        if let Err(error) = sent {
            // Not settled: hand it back so that it is redelivered as it would be on a drop.
            self.delivery = Some(delivery);
            return Err(error);
        }
        settle(&delivery, self.timeout, Settle::Ack).await
    }
}

impl Incoming for AmqpIncoming {
    fn body(&self) -> &[u8] {
        self.delivery
            .as_ref()
            .map_or(&[][..], |delivery| &delivery.data[..])
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    fn ack(mut self: Box<Self>) -> BoxFuture<'static, Result<(), TransportError>> {
        Box::pin(async move {
            let Some(delivery) = self.delivery.take() else {
                return Err(unavailable("the message was already settled"));
            };
            settle(&delivery, self.timeout, Settle::Ack).await
        })
    }

    fn retry(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<(), TransportError>> {
        Box::pin(async move {
            let names = self.names.clone();
            let (queue, ttl) = names.retry(delay);
            let next = self.attempt.saturating_add(1);
            let topology = Topology::DelayQueue {
                name: &queue,
                ttl,
                target: &names.main,
            };
            self.move_to(topology, &queue, |headers| {
                headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongLongInt(next.into()));
            })
            .await
        })
    }

    fn dead_letter(
        self: Box<Self>,
        reason: String,
    ) -> BoxFuture<'static, Result<(), TransportError>> {
        Box::pin(async move {
            let names = self.names.clone();
            let attempt = self.attempt;
            self.move_to(Topology::None, &names.dead_letter, |headers| {
                headers.insert(
                    ATTEMPT_HEADER.into(),
                    AMQPValue::LongLongInt(attempt.into()),
                );
                headers.insert(REASON_HEADER.into(), AMQPValue::LongString(reason.into()));
            })
            .await
        })
    }
}

impl Drop for AmqpIncoming {
    fn drop(&mut self) {
        let Some(delivery) = self.delivery.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // The runtime is gone: so is the connection, and the broker requeues.
        };
        let (ack_wait, timeout) = (self.ack_wait, self.timeout);
        runtime.spawn(async move {
            tokio::time::sleep(ack_wait).await;
            // Fails harmlessly when the channel closed meanwhile (the broker requeued it).
            let _ = settle(&delivery, timeout, Settle::Requeue).await;
        });
    }
}

/// How to settle a delivery on its own channel.
enum Settle {
    Ack,
    Requeue,
}

async fn settle(delivery: &Delivery, timeout: Duration, how: Settle) -> Result<(), TransportError> {
    let acker = &delivery.acker;
    let sent = match how {
        Settle::Ack => tokio::time::timeout(timeout, acker.ack(BasicAckOptions::default())).await,
        Settle::Requeue => {
            let options = BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            };
            tokio::time::timeout(timeout, acker.nack(options)).await
        }
    };
    match sent {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(unavailable(
            "the delivery's channel closed before it was settled; RabbitMQ redelivers it",
        )),
        Ok(Err(error)) => Err(classify(error)),
        Err(_) => Err(unavailable(format!(
            "the acknowledgement was not sent within {timeout:?}"
        ))),
    }
}

/// 1 on the first delivery: the adapter's header (set by `retry`) plus the broker's count of
/// returns (`x-delivery-count` on quorum queues; the `redelivered` flag counts one elsewhere).
pub(super) fn attempt_of(delivery: &Delivery) -> u32 {
    let headers = delivery.properties.headers().as_ref();
    let base = headers
        .and_then(|h| number(h, ATTEMPT_HEADER))
        .unwrap_or(1)
        .max(1);
    let returns = headers
        .and_then(|h| number(h, DELIVERY_COUNT_HEADER))
        .unwrap_or(0);
    let returns = if returns == 0 && delivery.redelivered {
        1
    } else {
        returns
    };
    base.saturating_add(returns)
}

/// A header as a `u32`, whatever integer type the broker or publisher chose.
fn number(headers: &FieldTable, key: &str) -> Option<u32> {
    let value = headers.inner().get(key)?;
    let wide: i128 = match *value {
        AMQPValue::ShortShortInt(v) => v.into(),
        AMQPValue::ShortShortUInt(v) => v.into(),
        AMQPValue::ShortInt(v) => v.into(),
        AMQPValue::ShortUInt(v) => v.into(),
        AMQPValue::LongInt(v) => v.into(),
        AMQPValue::LongUInt(v) => v.into(),
        AMQPValue::LongLongInt(v) => v.into(),
        AMQPValue::Timestamp(v) => v.into(),
        _ => return None,
    };
    u32::try_from(wide.max(0)).ok()
}

/// The delivery's properties for a copy: the same id, type and persistence, with `change`
/// applied to the headers and the broker's return count dropped (the copy starts afresh).
fn copy_properties(
    original: &BasicProperties,
    change: impl FnOnce(&mut FieldTable),
) -> BasicProperties {
    let mut headers = FieldTable::default();
    if let Some(existing) = original.headers() {
        for (key, value) in existing.inner() {
            if key.as_str() != DELIVERY_COUNT_HEADER {
                headers.insert(key.clone(), value.clone());
            }
        }
    }
    change(&mut headers);
    let mut properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(headers);
    if let Some(id) = original.message_id() {
        properties = properties.with_message_id(id.clone());
    }
    if let Some(content_type) = original.content_type() {
        properties = properties.with_content_type(content_type.clone());
    }
    if let Some(kind) = original.kind() {
        properties = properties.with_type(kind.clone());
    }
    properties
}
