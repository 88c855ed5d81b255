//! Publishing with publisher confirms on one shared channel.
//!
//! Every publish waits for the broker's confirm (so a returned `Ok` means RabbitMQ has the
//! message, persisted since it is sent with `delivery_mode` 2 to durable queues); concurrent
//! publishes share the channel and their confirms arrive independently, so the relay can keep
//! several in flight (one confirmed publish at a time is a round trip plus the broker's disk
//! write; many in flight share them). Concurrent publishes carry no order between them: the
//! relay keeps order per key by awaiting one key's publish before the next of that key.
//! Exchanges and delay queues are declared once per channel, on first use.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, ExchangeKind};
use tokio::sync::Mutex;

use super::error::{refused, short, unavailable, within};
use super::link::Link;
use crate::events::transport::TransportError;

/// Something a publish needs to exist first.
#[derive(Debug)]
pub(super) enum Topology<'a> {
    /// A durable topic exchange.
    Exchange(&'a str),
    /// A delay queue whose messages go back to `target` after `ttl`.
    DelayQueue {
        /// The delay queue.
        name: &'a str,
        /// How long a message waits in it.
        ttl: Duration,
        /// The consumer's main queue.
        target: &'a str,
    },
    /// Nothing (a queue the subscription declared).
    None,
}

impl Topology<'_> {
    fn key(&self) -> Option<&str> {
        match self {
            Topology::Exchange(name) | Topology::DelayQueue { name, .. } => Some(name),
            Topology::None => None,
        }
    }

    async fn declare(&self, channel: &Channel, timeout: Duration) -> Result<(), TransportError> {
        match self {
            Topology::Exchange(name) => {
                declare_exchange(channel, name, timeout).await?;
            }
            Topology::DelayQueue { name, ttl, target } => {
                let mut arguments = FieldTable::default();
                let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
                arguments.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl_ms));
                arguments.insert(
                    "x-dead-letter-exchange".into(),
                    AMQPValue::LongString("".into()),
                );
                arguments.insert(
                    "x-dead-letter-routing-key".into(),
                    AMQPValue::LongString((*target).into()),
                );
                within(
                    timeout,
                    "a delay queue declaration",
                    channel.queue_declare(
                        short(name, "queue name")?,
                        QueueDeclareOptions::durable(),
                        arguments,
                    ),
                )
                .await?;
            }
            Topology::None => {}
        }
        Ok(())
    }
}

/// Declares the durable topic exchange `name`.
pub(super) async fn declare_exchange(
    channel: &Channel,
    name: &str,
    timeout: Duration,
) -> Result<(), TransportError> {
    let options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    within(
        timeout,
        "an exchange declaration",
        channel.exchange_declare(
            short(name, "exchange name")?,
            ExchangeKind::Topic,
            options,
            FieldTable::default(),
        ),
    )
    .await
}

/// The confirm-mode channel and what was declared on it.
struct Confirmed {
    channel: Channel,
    declared: HashSet<String>,
}

/// Publishes on one confirm-mode channel, reopened after it closes.
pub(super) struct Publisher {
    link: Arc<Link>,
    state: Mutex<Option<Confirmed>>,
}

/// One message to send.
pub(super) struct Outbound<'a> {
    /// Created first if missing.
    pub(super) topology: Topology<'a>,
    /// `""` for the default exchange (straight to a queue).
    pub(super) exchange: &'a str,
    pub(super) routing_key: &'a str,
    /// Ask the broker to return the message when nothing is bound (an error here).
    pub(super) mandatory: bool,
    pub(super) body: &'a [u8],
    pub(super) properties: BasicProperties,
}

impl Publisher {
    pub(super) fn new(link: Arc<Link>) -> Self {
        Self {
            link,
            state: Mutex::new(None),
        }
    }

    /// Sends `message` and waits for the broker's confirm, all within the link's timeout.
    pub(super) async fn send(&self, message: Outbound<'_>) -> Result<(), TransportError> {
        let timeout = self.link.timeout();
        let work = async {
            let channel = self.prepared(&message.topology).await?;
            let options = BasicPublishOptions {
                mandatory: message.mandatory,
                ..BasicPublishOptions::default()
            };
            let confirm = within(
                timeout,
                "a publish",
                channel.basic_publish(
                    short(message.exchange, "exchange name")?,
                    short(message.routing_key, "routing key")?,
                    options,
                    message.body,
                    message.properties,
                ),
            )
            .await?;
            match within(timeout, "a publisher confirm", confirm).await? {
                Confirmation::Ack(None) => Ok(()),
                Confirmation::Ack(Some(returned)) => Err(refused(format!(
                    "RabbitMQ could not route the message to `{}` ({} {})",
                    message.routing_key, returned.reply_code, returned.reply_text
                ))),
                Confirmation::Nack(_) => Err(refused(
                    "RabbitMQ nacked the message (it could not store it)",
                )),
                Confirmation::NotRequested => {
                    Err(unavailable("the publishing channel is not in confirm mode"))
                }
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(unavailable(format!(
                "no publisher confirm from RabbitMQ within {timeout:?}"
            ))),
        }
    }

    /// The confirm channel, (re)opened if needed, with `topology` declared on it.
    async fn prepared(&self, topology: &Topology<'_>) -> Result<Channel, TransportError> {
        let timeout = self.link.timeout();
        let mut state = self.state.lock().await;
        let usable = state
            .as_ref()
            .is_some_and(|confirmed| confirmed.channel.status().connected());
        if !usable {
            *state = None;
            let channel = self.link.channel().await?;
            within(
                timeout,
                "confirm.select",
                channel.confirm_select(ConfirmSelectOptions::default()),
            )
            .await?;
            *state = Some(Confirmed {
                channel,
                declared: HashSet::new(),
            });
        }
        let Some(confirmed) = state.as_mut() else {
            return Err(unavailable("the publishing channel closed"));
        };
        if let Some(key) = topology.key()
            && !confirmed.declared.contains(key)
        {
            topology.declare(&confirmed.channel, timeout).await?;
            confirmed.declared.insert(key.to_owned());
        }
        Ok(confirmed.channel.clone())
    }
}
