//! Events between services: CloudEvents published through a transactional outbox, and durable
//! consumers with an inbox, on NATS JetStream (`events-nats`), RabbitMQ (`events-amqp`) or
//! SNS + SQS (`events-aws`). See [`docs/events.md`](https://github.com/servicekit/servicekit/blob/main/docs/events.md).
//!
//! - [`Event`]: a serde type with a CloudEvents `type` and an aggregate key.
//! - [`Events::stage`]: the outbox row, in the caller's transaction; a relay publishes it
//!   after commit, in order per key, at least once.
//! - [`Events::on`]: a handler run in a transaction that also records the event in the inbox,
//!   so a redelivered event is applied once; retries with backoff, then a dead letter.
//!
//! The configuration section, [`EventsConfig`], is always compiled, so that a broker URL
//! without its cargo feature fails at startup naming the feature.

#[cfg(feature = "events-amqp")]
mod amqp;
#[cfg(feature = "events-aws")]
mod aws;
mod config;
#[cfg(feature = "events")]
mod connect;
#[cfg(feature = "events")]
mod consumer;
#[cfg(feature = "events")]
mod envelope;
#[cfg(feature = "events")]
mod event;
#[cfg(feature = "events")]
mod handle;
#[cfg(feature = "events")]
mod health;
#[cfg(feature = "events-nats")]
mod nats;
#[cfg(feature = "events")]
mod relay;
#[cfg(feature = "events")]
mod runtime;
#[cfg(feature = "events")]
mod store;
#[cfg(feature = "events")]
mod transport;

pub(crate) use config::validate;
pub use config::{ConsumerConfig, EventsAwsConfig, EventsConfig, OutboxConfig};
#[cfg(feature = "events")]
pub use event::{Event, Received};
#[cfg(feature = "events")]
pub use handle::Events;
#[cfg(feature = "events")]
pub(crate) use runtime::Runtime;
#[cfg(feature = "events")]
pub(crate) use store::Store;
