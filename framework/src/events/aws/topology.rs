//! Creating the topic, the queues and the subscription of a consumer, idempotently: every call
//! converges on the same resources with the settings of the current [`SubscribeSpec`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use super::client::Clients;
use super::errors::{describe, is_missing};
use super::naming;
use crate::events::transport::{SubscribeSpec, TransportError};

/// The message attribute holding the CloudEvents `type` (subscription filter policies match it).
pub(super) const TYPE_ATTRIBUTE: &str = "type";
/// The message attribute holding why a message was dead-lettered.
pub(super) const REASON_ATTRIBUTE: &str = "dead_letter_reason";
/// The longest SQS visibility timeout (12 hours).
const MAX_VISIBILITY: u64 = 43_200;
/// SQS's largest `maxReceiveCount`.
const MAX_RECEIVE_COUNT: u32 = 1_000;

/// Creates (or finds) the FIFO topic `name` and returns its ARN.
pub(super) async fn topic_arn(clients: &Clients, name: &str) -> Result<String, TransportError> {
    let created = clients
        .sns
        .create_topic()
        .name(name)
        .attributes("FifoTopic", "true")
        .attributes("ContentBasedDeduplication", "false")
        .send()
        .await
        .map_err(|e| describe(&format!("SNS CreateTopic {name}"), e))?;
    created.topic_arn.ok_or_else(|| {
        TransportError::Refused(format!("SNS CreateTopic {name}: no TopicArn in the answer").into())
    })
}

/// The queues of one consumer.
#[derive(Debug, Clone)]
pub(super) struct Queues {
    pub(super) url: String,
    pub(super) dead_letter_url: String,
}

/// Creates what `spec` reads: the source's topic, the consumer's FIFO queue (visibility timeout
/// = `ack_wait`, redrive to the dead-letter queue after more than `max_attempts` receives, a
/// policy letting the topic send), its dead-letter queue, and the subscription (raw delivery,
/// a filter policy on the event types).
pub(super) async fn consumer(
    clients: &Clients,
    prefix: Option<&str>,
    spec: &SubscribeSpec,
) -> Result<Queues, TransportError> {
    let topic = topic_arn(clients, &naming::topic(prefix, &spec.source)).await?;
    let dlq_name = naming::dead_letter_queue(prefix, &spec.consumer, &spec.source);
    let dead_letter_url = queue_url(clients, &dlq_name).await?;
    let dead_letter_arn = queue_arn(clients, &dead_letter_url).await?;
    let name = naming::queue(prefix, &spec.consumer, &spec.source);
    let url = queue_url(clients, &name).await?;
    let arn = queue_arn(clients, &url).await?;

    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": spec.max_attempts.saturating_add(1).clamp(1, MAX_RECEIVE_COUNT),
    });
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "servicekit-events-topic",
            "Effect": "Allow",
            "Principal": { "Service": "sns.amazonaws.com" },
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": { "ArnEquals": { "aws:SourceArn": topic } },
        }],
    });
    clients
        .sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_seconds(spec.ack_wait).to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .map_err(|e| describe(&format!("SQS SetQueueAttributes {name}"), e))?;

    subscribe(clients, &topic, &arn, &spec.event_types).await?;
    Ok(Queues {
        url,
        dead_letter_url,
    })
}

/// Whole seconds for a visibility timeout, rounded up, within SQS's range.
pub(super) fn visibility_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.min(MAX_VISIBILITY)
}

/// The URL of FIFO queue `name`, created if missing. Looked up first: `CreateQueue` fails for
/// an existing queue whose attributes differ from the ones given.
async fn queue_url(clients: &Clients, name: &str) -> Result<String, TransportError> {
    match clients.sqs.get_queue_url().queue_name(name).send().await {
        Ok(found) => {
            if let Some(url) = found.queue_url {
                return Ok(url);
            }
        }
        Err(e) if is_missing(&e) => {}
        Err(e) => return Err(describe(&format!("SQS GetQueueUrl {name}"), e)),
    }
    let created = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .map_err(|e| describe(&format!("SQS CreateQueue {name}"), e))?;
    created.queue_url.ok_or_else(|| {
        TransportError::Refused(format!("SQS CreateQueue {name}: no QueueUrl in the answer").into())
    })
}

async fn queue_arn(clients: &Clients, url: &str) -> Result<String, TransportError> {
    let answer = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| describe("SQS GetQueueAttributes", e))?;
    answer
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| {
            TransportError::Refused("SQS GetQueueAttributes: no QueueArn in the answer".into())
        })
}

/// Subscribes queue `queue_arn` to `topic`, or updates the existing subscription: `Subscribe`
/// with different attributes than an existing subscription's is refused by AWS, and a
/// subscription created without them would deliver SNS envelopes for a moment.
async fn subscribe(
    clients: &Clients,
    topic: &str,
    queue_arn: &str,
    event_types: &[String],
) -> Result<(), TransportError> {
    let filter = filter_policy(event_types);
    if let Some(existing) = find_subscription(clients, topic, queue_arn).await? {
        let mut updates = vec![("RawMessageDelivery", "true".to_owned())];
        updates.push(("FilterPolicy", filter.unwrap_or_else(|| "{}".to_owned())));
        for (name, value) in updates {
            clients
                .sns
                .set_subscription_attributes()
                .subscription_arn(&existing)
                .attribute_name(name)
                .attribute_value(value)
                .send()
                .await
                .map_err(|e| describe("SNS SetSubscriptionAttributes", e))?;
        }
        return Ok(());
    }
    let mut attributes = HashMap::from([("RawMessageDelivery".to_owned(), "true".to_owned())]);
    if let Some(filter) = filter {
        attributes.insert("FilterPolicy".to_owned(), filter);
    }
    clients
        .sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .set_attributes(Some(attributes))
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| describe(&format!("SNS Subscribe to {topic}"), e))?;
    Ok(())
}

/// `{"type": [..]}`, or none (every type) for an empty list.
fn filter_policy(event_types: &[String]) -> Option<String> {
    (!event_types.is_empty())
        .then(|| serde_json::json!({ TYPE_ATTRIBUTE: event_types }).to_string())
}

async fn find_subscription(
    clients: &Clients,
    topic: &str,
    queue_arn: &str,
) -> Result<Option<String>, TransportError> {
    let mut next = None;
    loop {
        let page = clients
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| describe("SNS ListSubscriptionsByTopic", e))?;
        let found = page.subscriptions().iter().find(|s| {
            s.protocol() == Some("sqs")
                && s.endpoint() == Some(queue_arn)
                && s.subscription_arn().is_some_and(|a| a.starts_with("arn:"))
        });
        if let Some(found) = found {
            return Ok(found.subscription_arn.clone());
        }
        next = page.next_token;
        if next.is_none() {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rounds_up_within_range() {
        assert_eq!(visibility_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(visibility_seconds(Duration::from_secs(30)), 30);
        assert_eq!(visibility_seconds(Duration::ZERO), 0);
        assert_eq!(
            visibility_seconds(Duration::from_secs(100_000)),
            MAX_VISIBILITY
        );
    }

    #[test]
    fn the_filter_policy_lists_the_types() {
        let types = vec!["student.deleted".to_owned(), "student.created".to_owned()];
        assert_eq!(
            filter_policy(&types).as_deref(),
            Some(r#"{"type":["student.deleted","student.created"]}"#)
        );
        assert_eq!(filter_policy(&[]), None);
    }
}
