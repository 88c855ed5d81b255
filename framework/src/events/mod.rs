//! Events between services: CloudEvents published through a transactional outbox, and durable
//! consumers with an inbox, on NATS JetStream (`events-nats`), RabbitMQ (`events-amqp`) or
//! SNS + SQS (`events-aws`). See [`docs/events.md`](https://github.com/servicekit/servicekit/blob/main/docs/events.md).

#![allow(dead_code)] // The runtime that uses the transport lands with the adapters.

#[cfg(feature = "events-amqp")]
mod amqp;
#[cfg(feature = "events-aws")]
mod aws;
mod transport;
