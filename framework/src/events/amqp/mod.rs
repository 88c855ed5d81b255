//! The RabbitMQ (AMQP 0.9.1) adapter, with lapin (feature `events-amqp`, `events.url =
//! "amqp://user:password@host:5672/vhost"`).
//!
//! # Topology
//!
//! - **Publishing**: each service publishes to its own durable topic exchange
//!   `<prefix>.<service>` (see [`names`]), with the event type as routing key. Messages are
//!   persistent (`delivery_mode` 2), carry `message_id` = the event id and `content_type`
//!   `application/cloudevents+json`, and `publish` returns once RabbitMQ confirmed them
//!   (publisher confirms); a nack, an unroutable return or no confirm within `Connect.timeout`
//!   is an error. A topic exchange keeps nothing by itself: events published before any
//!   consumer queue is bound to it are dropped by the broker, so a consumer subscribes once
//!   (which creates its durable queue) before it can miss anything; after that its queue holds
//!   events while it is stopped.
//! - **Consuming**: a consumer `C` reading service `S` has a durable quorum queue
//!   `<prefix>.C.S` bound to `S`'s exchange once per event type. Every subscription of `C`
//!   (one per instance) consumes that one queue, so instances share its messages and two
//!   consumers (two queues) each get all of them. `basic.qos(prefetch)` bounds unsettled
//!   deliveries per subscription; acks are manual. Bindings are only ever added: an event
//!   type dropped from the spec stays bound (and delivered) until it is unbound by hand, and
//!   changing a queue's arguments means deleting the queue (RabbitMQ refuses a redeclaration
//!   with other arguments: `Refused`).
//! - **Retry with delay**: `retry(delay)` publishes a copy (confirmed) to a delay queue
//!   `<prefix>.C.S.retry.<ms>ms` whose TTL is `delay` rounded up to one of a fixed set
//!   (100 ms to 1 h), then acks the original; when the TTL runs out RabbitMQ dead-letters the
//!   copy back to the main queue. One queue per delay keeps expiry in order (per-message
//!   TTLs in one queue only expire at its head).
//! - **Attempts**: `attempt()` is the adapter's `x-servicekit-attempt` header (absent: 1; the
//!   retry copy carries it plus one) plus the quorum queue's `x-delivery-count` (how many times
//!   the broker got the message back unsettled: a channel closed by a crash, a nack). On a
//!   classic queue, which has no count, a `redelivered` flag counts as one.
//! - **Dead letters**: `dead_letter(reason)` publishes a copy (confirmed) to
//!   `<prefix>.C.S.dlq` with the reason in the `x-servicekit-dead-letter-reason` header and
//!   the attempt count, then acks the original. The main queue also dead-letters there when
//!   the broker itself gives up on a message (RabbitMQ 4's quorum-queue delivery limit), with
//!   RabbitMQ's `x-death` header as the reason.
//! - **Unsettled messages**: RabbitMQ redelivers a message when its channel closes (the
//!   process died, the connection broke, the subscription and its messages were dropped). An
//!   `Incoming` dropped unsettled while its subscription stays open is nacked with requeue
//!   after `ack_wait`. Note RabbitMQ's own `consumer_timeout` (30 min by default) closes a
//!   channel whose delivery stays unacked longer.
//!
//! # Ordering
//!
//! A queue delivers in publish order (events of one key come from one relay in order, and
//! one exchange feeds the queue). With one subscription, messages reach the runtime in that
//! order whatever the prefetch, and the runtime serialises handlers per key. With several
//! instances RabbitMQ spreads one queue's messages round-robin, so two events of one key can
//! be handled concurrently on two instances; and a retried or redelivered message comes back
//! after the ones behind it. Order per key across instances therefore needs idempotent,
//! order-tolerant handlers (the inbox deduplicates), or a single active instance.
//!
//! # Connection
//!
//! `connect` only parses the URL; a background task connects, and after a failure or a
//! broken connection reconnects with jittered exponential backoff (100 ms to 5 s). Meanwhile
//! operations return [`TransportError::Unavailable`] at once (the first connection attempt
//! excepted: operations wait for it, within `Connect.timeout`); a subscription whose consumer
//! died returns `Unavailable` from `next` and opens a new consumer on the following call.
//! `check` opens and closes a channel, within `Connect.timeout`. A dead peer is noticed by
//! AMQP heartbeats (the interval RabbitMQ proposes, 60 s by default; `?heartbeat=10` in the
//! URL shortens it). Logs and errors name `host:port/vhost`, never the credentials.
//! `amqps://` needs a TLS backend in lapin, not compiled in: it is refused.
//!
//! lapin's own recovery (`enable_auto_recover`) is not used: it needs a first successful
//! connect and hides the outage from the callers, while the runtime wants to see it.

mod error;
mod incoming;
mod link;
mod names;
mod publish;
mod subscribe;
#[cfg(all(test, feature = "testing"))]
mod tests;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use lapin::BasicProperties;
use lapin::uri::{AMQPScheme, AMQPUri};
use secrecy::ExposeSecret;

use self::error::{refused, short, within};
use self::link::Link;
use self::names::QueueNames;
use self::publish::{Outbound, Publisher, Topology};
use self::subscribe::AmqpSubscription;
use super::transport::{
    Connect, Outgoing, SharedTransport, SubscribeSpec, Subscription, Transport, TransportError,
};

/// The content type of a structured-mode CloudEvent.
const CONTENT_TYPE: &str = "application/cloudevents+json";

/// Parses `settings.url` and starts connecting in the background; fails only on a malformed
/// URL (the message never repeats the URL, which may hold a password).
pub(crate) async fn connect(settings: &Connect) -> Result<SharedTransport, TransportError> {
    let uri = parse(settings.url.expose_secret())?;
    let link = Link::start(uri, &settings.service, settings.timeout);
    Ok(Arc::new(AmqpTransport {
        publisher: Arc::new(Publisher::new(link.clone())),
        link,
        prefix: settings.prefix.clone(),
    }))
}

/// The URL as lapin takes it, checked without echoing it.
fn parse(raw: &str) -> Result<AMQPUri, TransportError> {
    let url = url::Url::parse(raw)
        .map_err(|error| refused(format!("events.url is not a valid AMQP URL: {error}")))?;
    if !matches!(url.scheme(), "amqp" | "amqps") || url.host_str().is_none() {
        return Err(refused(
            "events.url is not an AMQP URL: expected amqp://user:password@host:5672/vhost",
        ));
    }
    let uri: AMQPUri = raw.parse().map_err(|_| {
        refused(
            "events.url has an invalid AMQP part (percent-encoding, or a query parameter such \
             as heartbeat or frame_max that is not a number)",
        )
    })?;
    if uri.scheme == AMQPScheme::AMQPS {
        return Err(refused(
            "events.url uses amqps://, but this build of servicekit has no TLS for AMQP: use \
             amqp:// (for example through a TLS-terminating sidecar)",
        ));
    }
    Ok(uri)
}

/// RabbitMQ as the events runtime sees it.
struct AmqpTransport {
    link: Arc<Link>,
    publisher: Arc<Publisher>,
    prefix: Option<String>,
}

impl Transport for AmqpTransport {
    fn name(&self) -> &'static str {
        "amqp"
    }

    fn publish<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            let exchange = names::exchange(self.prefix.as_deref(), &message.source);
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_message_id(short(&message.id, "event id")?)
                .with_content_type(CONTENT_TYPE.into())
                .with_type(short(&message.event_type, "event type")?);
            self.publisher
                .send(Outbound {
                    topology: Topology::Exchange(&exchange),
                    exchange: &exchange,
                    routing_key: &message.event_type,
                    mandatory: false,
                    body: &message.body,
                    properties,
                })
                .await
        })
    }

    fn subscribe<'a>(
        &'a self,
        spec: &'a SubscribeSpec,
    ) -> BoxFuture<'a, Result<Box<dyn Subscription>, TransportError>> {
        Box::pin(async move {
            let prefix = self.prefix.as_deref();
            let subscription = AmqpSubscription::open(
                self.link.clone(),
                self.publisher.clone(),
                spec.clone(),
                names::exchange(prefix, &spec.source),
                QueueNames::new(prefix, &spec.consumer, &spec.source),
            )
            .await?;
            Ok(Box::new(subscription) as Box<dyn Subscription>)
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let timeout = self.link.timeout();
            let round_trip = async {
                let channel = self.link.channel().await?;
                within(timeout, "a channel close", channel.close(200, "OK".into())).await
            };
            tokio::time::timeout(timeout, round_trip)
                .await
                .unwrap_or_else(|_| {
                    Err(error::unavailable(format!(
                        "RabbitMQ did not open and close a channel within {timeout:?}"
                    )))
                })
        })
    }
}
