//! Tests against the real RabbitMQ on 127.0.0.1:5672 (guest/guest); each test uses its own
//! `events.prefix` and deletes its queues and exchanges at the end. They never skip: with
//! RabbitMQ down they fail, naming it.

mod connection;
mod delivery;
mod proxy;
mod settle;

use std::time::Duration;

use bytes::Bytes;
use lapin::options::{ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};

use super::names::{QueueNames, RETRY_DELAYS};
use crate::events::transport::{
    Connect, Incoming, Outgoing, SharedTransport, SubscribeSpec, Subscription,
};
use crate::testing::eventually;

/// The broker the tests use.
const ADDRESS: &str = "127.0.0.1:5672";
const URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The publishing service in every test.
const SOURCE: &str = "students";

/// A test's own corner of the broker.
struct Scope {
    prefix: String,
    /// The consumers whose queues the test created.
    consumers: Vec<&'static str>,
}

impl Scope {
    /// Fails loudly when RabbitMQ is not listening.
    async fn new(consumers: &[&'static str]) -> Self {
        let reachable = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect(ADDRESS),
        )
        .await;
        assert!(
            matches!(reachable, Ok(Ok(_))),
            "RabbitMQ is not reachable on {ADDRESS} (guest/guest): start it (see .ci/run); \
             these tests need the real broker and never skip"
        );
        Self {
            prefix: format!("sk-test-{:016x}", fastrand::u64(..)),
            consumers: consumers.to_vec(),
        }
    }

    fn settings(&self, url: &str) -> Connect {
        Connect {
            url: url.to_owned().into(),
            prefix: Some(self.prefix.clone()),
            service: SOURCE.into(),
            timeout: Duration::from_secs(5),
            aws_region: None,
            aws_endpoint_url: None,
        }
    }

    /// A transport on the test broker, connected.
    async fn transport(&self) -> SharedTransport {
        self.transport_at(URL).await
    }

    /// A transport on `url`, once its check passes.
    async fn transport_at(&self, url: &str) -> SharedTransport {
        let transport = super::connect(&self.settings(url)).await.expect("connect");
        eventually(|| transport.check()).await;
        transport
    }

    fn names(&self, consumer: &str) -> QueueNames {
        QueueNames::new(Some(&self.prefix), consumer, SOURCE)
    }

    /// Deletes every queue and exchange the test may have created.
    async fn cleanup(self) {
        let connection = admin().await;
        let mut queues = Vec::new();
        for consumer in &self.consumers {
            let names = self.names(consumer);
            for delay in RETRY_DELAYS {
                queues.push(names.retry(delay).0);
            }
            queues.push(names.main);
            queues.push(names.dead_letter);
        }
        for queue in queues {
            // A missing queue closes the channel: one channel per deletion.
            let channel = connection.create_channel().await.expect("channel");
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        let channel = connection.create_channel().await.expect("channel");
        let exchange = super::names::exchange(Some(&self.prefix), SOURCE);
        let _ = channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
}

/// A plain lapin connection, to look at queues behind the adapter's back.
async fn admin() -> Connection {
    Connection::connect(URL, ConnectionProperties::default())
        .await
        .expect("RabbitMQ on 127.0.0.1:5672 (guest/guest)")
}

/// How many ready messages `queue` holds.
async fn depth(channel: &Channel, queue: &str) -> u32 {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::durable().passive(),
            FieldTable::default(),
        )
        .await
        .expect("passive declare")
        .message_count()
}

fn spec(consumer: &str, event_types: &[&str]) -> SubscribeSpec {
    SubscribeSpec {
        consumer: consumer.into(),
        source: SOURCE.into(),
        event_types: event_types.iter().map(|t| (*t).to_owned()).collect(),
        max_attempts: 5,
        prefetch: 10,
        ack_wait: Duration::from_millis(200),
    }
}

/// An event whose body is `"<key>:<n>"`.
fn event(event_type: &str, key: &str, n: usize) -> Outgoing {
    Outgoing {
        id: uuid::Uuid::now_v7().to_string(),
        event_type: event_type.into(),
        key: key.into(),
        source: SOURCE.into(),
        body: Bytes::from(format!("{key}:{n}")),
    }
}

/// The next message, failing the test on an error or after 10 s.
async fn next(subscription: &mut Box<dyn Subscription>) -> Box<dyn Incoming> {
    match tokio::time::timeout(Duration::from_secs(10), subscription.next()).await {
        Ok(Some(Ok(incoming))) => incoming,
        Ok(Some(Err(error))) => panic!("next failed: {error}"),
        Ok(None) => panic!("the subscription closed"),
        Err(_) => panic!("no message within 10 s"),
    }
}

fn text(incoming: &dyn Incoming) -> String {
    String::from_utf8(incoming.body().to_vec()).expect("UTF-8 body")
}
