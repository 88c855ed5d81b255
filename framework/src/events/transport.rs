//! The contract between the events runtime (outbox relay, consumers) and a broker adapter
//! (`nats.rs`, `amqp.rs`, `aws/`). The runtime knows nothing of brokers; an adapter knows
//! nothing of databases, handlers or the CloudEvents fields beyond the ones in [`Outgoing`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::BoxError;

/// One CloudEvent ready to send, in structured content mode.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// CloudEvents `id` (a UUID v7 string); adapters pass it as the broker's deduplication id
    /// where there is one (JetStream `Nats-Msg-Id`, AMQP `message_id`, SNS/SQS FIFO
    /// `MessageDeduplicationId`).
    pub(crate) id: String,
    /// CloudEvents `type`, such as `student.created`; it selects the subject / routing key.
    pub(crate) event_type: String,
    /// The aggregate key (CloudEvents `subject`): events with one key are delivered in order
    /// (SNS/SQS FIFO `MessageGroupId`).
    #[cfg_attr(not(feature = "events-aws"), allow(dead_code))] // only SNS/SQS sends it apart
    pub(crate) key: String,
    /// CloudEvents `source`: the publishing service's name; it selects the stream / exchange /
    /// topic.
    pub(crate) source: String,
    /// The whole envelope as JSON (`application/cloudevents+json`).
    pub(crate) body: Bytes,
}

/// What a durable subscription reads.
#[derive(Debug, Clone)]
pub(crate) struct SubscribeSpec {
    /// The durable consumer's name (the consuming service's name): the instances of one service
    /// share one consumer and so share the messages; two services each get every message.
    pub(crate) consumer: String,
    /// The publishing service whose events are read (its stream / exchange / topic).
    pub(crate) source: String,
    /// The event types to receive, such as `["student.deleted"]`.
    pub(crate) event_types: Vec<String>,
    /// Delivery attempts before the runtime dead-letters a message.
    #[cfg_attr(not(feature = "events-aws"), allow(dead_code))] // the SQS redrive backstop
    pub(crate) max_attempts: u32,
    /// How many messages may be delivered and not yet settled.
    pub(crate) prefetch: u16,
    /// How long a delivered, unsettled message stays invisible to other instances before the
    /// broker redelivers it (JetStream `ack_wait`, SQS visibility timeout; AMQP redelivers when
    /// the channel closes).
    pub(crate) ack_wait: Duration,
}

/// A broker, as the runtime uses it. Names derive from `events.prefix` (see each adapter).
pub(crate) trait Transport: Send + Sync + 'static {
    /// `nats`, `amqp` or `aws`: the `broker` label of the events metrics.
    fn name(&self) -> &'static str;

    /// Sends one message and returns once the broker confirmed it (JetStream ack, AMQP
    /// publisher confirm, SNS `MessageId`). Creates the stream / exchange / topic on first use.
    fn publish<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), TransportError>>;

    /// Opens (creating if needed) the durable consumer described by `spec`, with its dead-letter
    /// destination.
    fn subscribe<'a>(
        &'a self,
        spec: &'a SubscribeSpec,
    ) -> BoxFuture<'a, Result<Box<dyn Subscription>, TransportError>>;

    /// A cheap round trip for the readiness check.
    fn check(&self) -> BoxFuture<'_, Result<(), TransportError>>;
}

/// An open durable subscription.
pub(crate) trait Subscription: Send {
    /// The next message; `None` once the subscription is closed for good. A broker outage is
    /// an `Err`; the runtime backs off and calls `next` again (the adapter reconnects).
    fn next(&mut self) -> BoxFuture<'_, Option<Result<Box<dyn Incoming>, TransportError>>>;
}

/// One delivered message; exactly one of `ack`, `retry` or `dead_letter` settles it. A message
/// dropped unsettled is redelivered by the broker after `ack_wait`.
pub(crate) trait Incoming: Send {
    /// The body as published ([`Outgoing::body`]).
    fn body(&self) -> &[u8];

    /// 1 on the first delivery, counted by the broker where it can (JetStream `delivered`,
    /// SQS `ApproximateReceiveCount`, RabbitMQ `x-delivery-count` or the adapter's own header).
    fn attempt(&self) -> u32;

    /// Done: never deliver again.
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), TransportError>>;

    /// Deliver again after about `delay` (to any instance of the consumer).
    fn retry(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<(), TransportError>>;

    /// Moves the message, with `reason`, to the consumer's dead-letter stream / queue and
    /// settles the original.
    fn dead_letter(
        self: Box<Self>,
        reason: String,
    ) -> BoxFuture<'static, Result<(), TransportError>>;
}

/// Why a broker operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// The broker cannot be reached, or the connection broke: retry later.
    #[error("message broker unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The broker answered with an error (a refused publish, a missing permission).
    #[error("message broker refused the operation: {0}")]
    Refused(#[source] BoxError),
}

/// What every adapter's `connect(&Connect) -> Result<SharedTransport, TransportError>` gets.
/// `connect` fails only on a malformed URL; an unreachable broker connects in the background
/// (with backoff) so that a service starts while its broker is down, and operations return
/// [`TransportError::Unavailable`] until it is back.
#[derive(Clone)]
pub(crate) struct Connect {
    /// `events.url`, secret references resolved; may hold credentials: never log it unredacted.
    pub(crate) url: secrecy::SecretString,
    /// `events.prefix`: namespaces every stream / exchange / topic / queue name, so several
    /// environments or test runs share one broker.
    pub(crate) prefix: Option<String>,
    /// This service's name.
    pub(crate) service: String,
    /// Longest one broker operation (connect, publish confirm, check) may take.
    pub(crate) timeout: Duration,
    /// `[events.aws]` region override (SNS/SQS only; default: the standard AWS chain).
    #[cfg_attr(not(feature = "events-aws"), allow(dead_code))]
    pub(crate) aws_region: Option<String>,
    /// `[events.aws]` endpoint override (SNS/SQS only; default `AWS_ENDPOINT_URL_SNS` /
    /// `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`, else AWS itself).
    #[cfg_attr(not(feature = "events-aws"), allow(dead_code))]
    pub(crate) aws_endpoint_url: Option<String>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("prefix", &self.prefix)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// Shared handle on the connected broker.
pub(crate) type SharedTransport = Arc<dyn Transport>;
