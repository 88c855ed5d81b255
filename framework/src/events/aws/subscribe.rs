//! Reading a consumer's queue: long polls of up to `prefetch` (at most 10) messages, each
//! settled by `DeleteMessage` (ack), `ChangeMessageVisibility` (retry) or a copy to the
//! dead-letter queue and `DeleteMessage` (dead letter).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
use futures_util::future::BoxFuture;

use super::client::Clients;
use super::errors::{describe, is_missing, timed_out};
use super::naming;
use super::topology::{self, Queues, REASON_ATTRIBUTE, TYPE_ATTRIBUTE, visibility_seconds};
use crate::events::transport::{Incoming, SubscribeSpec, Subscription, TransportError};

/// The longest SQS long poll.
const LONG_POLL_SECONDS: i32 = 20;
/// The most messages one `ReceiveMessage` returns.
const MAX_BATCH: u16 = 10;
/// Longest dead-letter reason kept (SQS allows 256 KiB per message, body included).
const MAX_REASON: usize = 4_096;

/// An open consumer queue.
pub(super) struct AwsSubscription {
    clients: Clients,
    prefix: Option<String>,
    spec: SubscribeSpec,
    queues: Arc<Queues>,
    batch: i32,
    timeout: Duration,
    received: VecDeque<Message>,
}

impl AwsSubscription {
    /// Creates the consumer's resources (see [`topology::consumer`]) and opens its queue.
    pub(super) async fn open(
        clients: Clients,
        prefix: Option<String>,
        spec: SubscribeSpec,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let queues = create(&clients, prefix.as_deref(), &spec, timeout).await?;
        Ok(Self {
            clients,
            prefix,
            batch: i32::from(spec.prefetch.clamp(1, MAX_BATCH)),
            spec,
            queues: Arc::new(queues),
            timeout,
            received: VecDeque::new(),
        })
    }

    /// One long poll. Dropping the future (the runtime stopping) cancels the request at once;
    /// messages SQS handed out to a cancelled poll come back after the visibility timeout. A
    /// queue deleted under the consumer is created again, with its subscription.
    async fn receive(&mut self) -> Result<(), TransportError> {
        let operation = "SQS ReceiveMessage";
        let poll = self
            .clients
            .sqs
            .receive_message()
            .queue_url(&self.queues.url)
            .max_number_of_messages(self.batch)
            .wait_time_seconds(LONG_POLL_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::MessageDeduplicationId)
            .message_attribute_names("All")
            .send();
        let limit = Duration::from_secs(LONG_POLL_SECONDS.unsigned_abs().into()) + self.timeout;
        let answer = match tokio::time::timeout(limit, poll).await {
            Err(_) => return Err(timed_out(operation, limit)),
            Ok(Err(e)) if is_missing(&e) => {
                let queues = create(
                    &self.clients,
                    self.prefix.as_deref(),
                    &self.spec,
                    self.timeout,
                );
                self.queues = Arc::new(queues.await?);
                return Ok(());
            }
            Ok(answer) => answer.map_err(|e| describe(operation, e))?,
        };
        self.received.extend(answer.messages.unwrap_or_default());
        Ok(())
    }
}

/// [`topology::consumer`] within a limit that allows each of its calls `timeout`.
async fn create(
    clients: &Clients,
    prefix: Option<&str>,
    spec: &SubscribeSpec,
    timeout: Duration,
) -> Result<Queues, TransportError> {
    let limit = timeout * 8;
    tokio::time::timeout(limit, topology::consumer(clients, prefix, spec))
        .await
        .unwrap_or_else(|_| Err(timed_out("creating the SNS / SQS consumer", limit)))
}

impl Subscription for AwsSubscription {
    fn next(&mut self) -> BoxFuture<'_, Option<Result<Box<dyn Incoming>, TransportError>>> {
        Box::pin(async move {
            loop {
                while let Some(message) = self.received.pop_front() {
                    if let Some(incoming) = AwsIncoming::new(self, message) {
                        return Some(Ok(Box::new(incoming) as Box<dyn Incoming>));
                    }
                }
                if let Err(e) = self.receive().await {
                    return Some(Err(e));
                }
            }
        })
    }
}

/// One received message and what settling it needs.
struct AwsIncoming {
    sqs: Client,
    queues: Arc<Queues>,
    timeout: Duration,
    receipt: String,
    body: String,
    attempt: u32,
    group: Option<String>,
    deduplication: String,
    event_type: Option<MessageAttributeValue>,
}

impl AwsIncoming {
    /// `None` for a message without a receipt handle (nothing could settle it).
    fn new(subscription: &AwsSubscription, mut message: Message) -> Option<Self> {
        let receipt = message.receipt_handle.take()?;
        let mut system = message.attributes.take().unwrap_or_default();
        let attempt = system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        // The event id; SQS's own message id for a message that somehow lacks it.
        let deduplication = system
            .remove(&MessageSystemAttributeName::MessageDeduplicationId)
            .or(message.message_id.take())
            .unwrap_or_else(|| receipt.clone());
        let event_type = message
            .message_attributes
            .as_mut()
            .and_then(|a| a.remove(TYPE_ATTRIBUTE));
        Some(Self {
            sqs: subscription.clients.sqs.clone(),
            queues: subscription.queues.clone(),
            timeout: subscription.timeout,
            receipt,
            body: message.body.take().unwrap_or_default(),
            attempt,
            group: system.remove(&MessageSystemAttributeName::MessageGroupId),
            deduplication,
            event_type,
        })
    }
}

/// Runs a settling call within the transport's timeout.
async fn within<T>(
    operation: &'static str,
    timeout: Duration,
    call: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err(timed_out(operation, timeout)))
}

async fn delete(sqs: &Client, queue: &str, receipt: &str) -> Result<(), TransportError> {
    sqs.delete_message()
        .queue_url(queue)
        .receipt_handle(receipt)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| describe("SQS DeleteMessage", e))
}

impl Incoming for AwsIncoming {
    fn body(&self) -> &[u8] {
        self.body.as_bytes()
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), TransportError>> {
        Box::pin(within("SQS DeleteMessage", self.timeout, async move {
            delete(&self.sqs, &self.queues.url, &self.receipt).await
        }))
    }

    fn retry(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<(), TransportError>> {
        let operation = "SQS ChangeMessageVisibility";
        Box::pin(within(operation, self.timeout, async move {
            let seconds = i32::try_from(visibility_seconds(delay)).unwrap_or(i32::MAX);
            self.sqs
                .change_message_visibility()
                .queue_url(&self.queues.url)
                .receipt_handle(&self.receipt)
                .visibility_timeout(seconds)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| describe(operation, e))
        }))
    }

    fn dead_letter(
        self: Box<Self>,
        reason: String,
    ) -> BoxFuture<'static, Result<(), TransportError>> {
        let operation = "SQS SendMessage to the dead-letter queue";
        Box::pin(within(operation, self.timeout, async move {
            let reason = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(shortened(&reason))
                .build()
                .map_err(|e| TransportError::Refused(Box::new(e)))?;
            let mut send = self
                .sqs
                .send_message()
                .queue_url(&self.queues.dead_letter_url)
                .message_body(&self.body)
                .message_group_id(self.group.as_deref().unwrap_or("dead-letter"))
                .message_deduplication_id(naming::message_id(&self.deduplication))
                .message_attributes(REASON_ATTRIBUTE, reason);
            if let Some(kind) = self.event_type.clone() {
                send = send.message_attributes(TYPE_ATTRIBUTE, kind);
            }
            send.send().await.map_err(|e| describe(operation, e))?;
            delete(&self.sqs, &self.queues.url, &self.receipt).await
        }))
    }
}

/// At most [`MAX_REASON`] bytes, cut on a character boundary; never empty (SQS refuses empty
/// attribute values).
fn shortened(reason: &str) -> String {
    if reason.is_empty() {
        return "unspecified".to_owned();
    }
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}
