//! Publishing: one FIFO `Publish` per event, confirmed by the `MessageId` in SNS's answer.

use aws_sdk_sns::types::MessageAttributeValue;

use super::AwsTransport;
use super::errors::{describe, is_missing, timed_out};
use super::naming;
use super::topology::TYPE_ATTRIBUTE;
use crate::events::transport::{Outgoing, TransportError};

/// Publishes `message` to its source's topic (created on first use; recreated when it was
/// deleted, after the failed publish): group = key, deduplication id = event id, body = the
/// envelope, attribute `type` = the event type.
pub(super) async fn publish(
    transport: &AwsTransport,
    message: &Outgoing,
) -> Result<(), TransportError> {
    let body = std::str::from_utf8(&message.body).map_err(|e| {
        TransportError::Refused(format!("event {}: the body is not UTF-8 ({e})", message.id).into())
    })?;
    let kind = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(&message.event_type)
        .build()
        .map_err(|e| TransportError::Refused(Box::new(e)))?;
    let operation = "SNS Publish";
    let work = async {
        let topic = transport.topic_arn(&message.source).await?;
        let answer = transport
            .clients
            .sns
            .publish()
            .topic_arn(&topic)
            .message(body)
            .message_group_id(naming::message_id(&message.key))
            .message_deduplication_id(naming::message_id(&message.id))
            .message_attributes(TYPE_ATTRIBUTE, kind)
            .send()
            .await;
        match answer {
            Ok(sent) if sent.message_id.is_some() => Ok(()),
            Ok(_) => Err(TransportError::Refused(
                format!("{operation} to {topic}: no MessageId in the answer").into(),
            )),
            Err(e) => {
                if is_missing(&e) {
                    transport.forget_topic(&message.source);
                }
                Err(describe(&format!("{operation} to {topic}"), e))
            }
        }
    };
    tokio::time::timeout(transport.timeout, work)
        .await
        .unwrap_or_else(|_| Err(timed_out(operation, transport.timeout)))
}
