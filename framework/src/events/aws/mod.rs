//! Events on Amazon SNS + SQS (feature `events-aws`): `events.url = "sns://"`.
//!
//! # Configuration
//! `sns://` (or `sqs://`; the same adapter), optionally `sns://?region=eu-west-1`. The region
//! comes from `[events.aws] region`, else the URL, else the standard AWS chain (`AWS_REGION`,
//! the profile, instance metadata); the endpoint from `[events.aws] endpoint_url`, else
//! `AWS_ENDPOINT_URL_SNS` / `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`, else AWS itself;
//! credentials from the standard chain (environment, profile, web identity, the ECS task role,
//! instance profiles). The SDK configuration is built as for `aws-sm://` secrets (one shared
//! helper, `crate::aws_sdk`).
//!
//! # Topology
//! Ordering per key needs FIFO topics and queues, so every name ends in `.fifo`
//! (`naming` sanitises to letters, digits, `-` and `_`, and keeps names within AWS's limits):
//!
//! | resource | name | settings |
//! |---|---|---|
//! | SNS FIFO topic per publishing service | `<prefix>-<service>.fifo` | `ContentBasedDeduplication = false` |
//! | SQS FIFO queue per consumer and source | `<prefix>-<consumer>-<source>.fifo` | visibility timeout = `ack_wait`; redrive to the DLQ after `max_attempts + 1` receives (a backstop: the runtime dead-letters first); a policy allowing the topic to `sqs:SendMessage` |
//! | its dead-letter queue | `<prefix>-<consumer>-<source>-dlq.fifo` | |
//! | the subscription of the queue to the topic | | raw message delivery; filter policy `{"type": [<event types>]}` |
//!
//! All of them are created on first use (publish, subscribe), idempotently: existing queues and
//! subscriptions are looked up and updated to the current settings, as `CreateQueue` and
//! `Subscribe` refuse differing attributes. A topic deleted under a running publisher is
//! recreated by the publish after the failed one; a queue deleted under a running consumer is
//! recreated (with its subscription) by its next receive.
//!
//! # Messages
//! `Publish` per event with `MessageGroupId` = the key (events of one key are delivered in
//! order), `MessageDeduplicationId` = the event id (SNS drops a re-publish within 5 minutes),
//! the CloudEvents JSON envelope as the body, and the message attribute `type` (for the filter
//! policies); publish returns once SNS answered with a `MessageId`. Ids AWS would refuse (over
//! 128 characters, not printable ASCII) map to a stable substitute.
//!
//! A subscription long-polls its queue (`WaitTimeSeconds` 20; dropping the `next` future
//! cancels the poll at once) for up to `prefetch` messages (at most 10 per receive).
//! `attempt()` is SQS's `ApproximateReceiveCount`; `ack` deletes the message; `retry(delay)`
//! sets its visibility timeout to `delay` (whole seconds, rounded up); `dead_letter(reason)`
//! sends a copy to the dead-letter queue with attributes `dead_letter_reason` and `type`, then
//! deletes the original. A message left unsettled reappears after `ack_wait`.
//!
//! # Failures
//! `connect` reads configuration only and contacts nothing, so it fails only on a malformed
//! URL. No answer, a connection refused, throttling or a 5xx are
//! [`TransportError::Unavailable`]; an AWS refusal (permissions, bad parameters) is
//! [`TransportError::Refused`] with the code and the usual fix. `check` lists topics and queues
//! (one small page each) within `events.timeout`. `docs/deployment.md` lists the IAM
//! permissions.

mod client;
mod errors;
mod naming;
mod publish;
mod subscribe;
#[cfg(all(test, feature = "testing", feature = "aws"))]
mod tests;
mod topology;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_sns::config::Credentials;
use futures_util::future::BoxFuture;

use self::client::Clients;
use self::errors::{describe, timed_out};
use self::subscribe::AwsSubscription;
use super::transport::{
    Connect, Outgoing, SharedTransport, SubscribeSpec, Subscription, Transport, TransportError,
};

/// Builds the SNS + SQS transport for `settings`; fails only on a malformed `events.url`.
pub(crate) async fn connect(settings: &Connect) -> Result<SharedTransport, TransportError> {
    Ok(Arc::new(AwsTransport::new(settings, None).await?))
}

/// The SNS + SQS [`Transport`].
#[derive(Debug)]
struct AwsTransport {
    clients: Clients,
    prefix: Option<String>,
    timeout: Duration,
    /// Topic ARNs by source service, filled on first publish.
    topics: Mutex<HashMap<String, String>>,
}

impl AwsTransport {
    /// `credentials` replace the standard chain (tests against an emulator).
    async fn new(
        settings: &Connect,
        credentials: Option<Credentials>,
    ) -> Result<Self, TransportError> {
        let url_region = client::url_region(settings)?;
        Ok(Self {
            clients: client::clients(settings, url_region, credentials).await,
            prefix: settings.prefix.clone(),
            timeout: settings.timeout,
            topics: Mutex::new(HashMap::new()),
        })
    }

    /// The ARN of `source`'s topic, created on first use.
    async fn topic_arn(&self, source: &str) -> Result<String, TransportError> {
        if let Some(arn) = self.cached_topics().get(source) {
            return Ok(arn.clone());
        }
        let name = naming::topic(self.prefix.as_deref(), source);
        let arn = topology::topic_arn(&self.clients, &name).await?;
        self.cached_topics().insert(source.to_owned(), arn.clone());
        Ok(arn)
    }

    fn forget_topic(&self, source: &str) {
        self.cached_topics().remove(source);
    }

    fn cached_topics(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // The map holds plain strings: a panic elsewhere cannot leave it inconsistent.
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Transport for AwsTransport {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn publish<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(publish::publish(self, message))
    }

    fn subscribe<'a>(
        &'a self,
        spec: &'a SubscribeSpec,
    ) -> BoxFuture<'a, Result<Box<dyn Subscription>, TransportError>> {
        Box::pin(async move {
            let subscription = AwsSubscription::open(
                self.clients.clone(),
                self.prefix.clone(),
                spec.clone(),
                self.timeout,
            )
            .await?;
            Ok(Box::new(subscription) as Box<dyn Subscription>)
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let sns = async {
                self.clients
                    .sns
                    .list_topics()
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| describe("SNS ListTopics", e))
            };
            let sqs = async {
                self.clients
                    .sqs
                    .list_queues()
                    .max_results(1)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| describe("SQS ListQueues", e))
            };
            tokio::time::timeout(self.timeout, async { tokio::try_join!(sns, sqs) })
                .await
                .map_err(|_| timed_out("SNS ListTopics / SQS ListQueues", self.timeout))??;
            Ok(())
        })
    }
}
