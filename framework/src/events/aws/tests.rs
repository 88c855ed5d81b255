//! The adapter against moto's SNS + SQS emulator (a real server process; these tests fail, never
//! skip, when `moto_server` cannot start). Each test starts its own emulator and uses its own
//! prefix.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use super::*;
use crate::events::transport::Incoming;
use crate::testing::{MOTO_CREDENTIAL, MOTO_INSTALL, MOTO_REGION, MotoServer, eventually};

const SOURCE: &str = "student-service";
const TYPE: &str = "student.deleted";
/// Longest wait for one message (a long poll is 20 s).
const RECEIVE: Duration = Duration::from_secs(30);

async fn moto() -> MotoServer {
    MotoServer::start().await.unwrap_or_else(|e| {
        panic!("moto_server must run for the SNS/SQS tests ({MOTO_INSTALL}): {e}")
    })
}

fn settings(endpoint: &str, prefix: &str, service: &str) -> Connect {
    Connect {
        url: "sns://".to_owned().into(),
        prefix: Some(prefix.to_owned()),
        service: service.to_owned(),
        timeout: Duration::from_secs(10),
        aws_region: Some(MOTO_REGION.to_owned()),
        aws_endpoint_url: Some(endpoint.to_owned()),
    }
}

async fn transport_at(endpoint: &str, prefix: &str) -> AwsTransport {
    let credentials = Credentials::new(MOTO_CREDENTIAL, MOTO_CREDENTIAL, None, None, "moto");
    AwsTransport::new(&settings(endpoint, prefix, SOURCE), Some(credentials))
        .await
        .expect("sns:// connects")
}

fn event(event_type: &str, key: &str, n: u32) -> Outgoing {
    Outgoing {
        id: uuid::Uuid::now_v7().to_string(),
        event_type: event_type.to_owned(),
        key: key.to_owned(),
        source: SOURCE.to_owned(),
        body: serde_json::to_vec(&serde_json::json!({ "type": event_type, "n": n }))
            .unwrap()
            .into(),
    }
}

fn spec(consumer: &str, ack_wait: Duration) -> SubscribeSpec {
    SubscribeSpec {
        consumer: consumer.to_owned(),
        source: SOURCE.to_owned(),
        event_types: vec![TYPE.to_owned()],
        max_attempts: 3,
        prefetch: 1,
        ack_wait,
    }
}

async fn next(subscription: &mut Box<dyn Subscription>) -> Box<dyn Incoming> {
    tokio::time::timeout(RECEIVE, subscription.next())
        .await
        .expect("a message within 30 s")
        .expect("the subscription is open")
        .expect("receiving works")
}

fn number(incoming: &dyn Incoming) -> u64 {
    let body: serde_json::Value = serde_json::from_slice(incoming.body()).expect("JSON body");
    body["n"].as_u64().expect("n")
}

async fn queue_url(transport: &AwsTransport, name: &str) -> String {
    let found = transport
        .clients
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await;
    found.expect("the queue exists").queue_url.expect("a URL")
}

/// Visible plus in-flight messages of a queue.
async fn queue_depth(transport: &AwsTransport, url: &str) -> u64 {
    let answer = transport
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes");
    answer
        .attributes
        .unwrap_or_default()
        .values()
        .map(|v| v.parse::<u64>().unwrap())
        .sum()
}

#[tokio::test]
async fn round_trip_with_the_filter_on_types() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "rt").await;
    let mut subscription = transport
        .subscribe(&spec("subject-service", Duration::from_secs(30)))
        .await
        .expect("subscribe");

    transport
        .publish(&event("student.created", "s-1", 0))
        .await
        .expect("publish an unsubscribed type");
    let sent = event(TYPE, "s-1", 1);
    transport.publish(&sent).await.expect("publish");

    let incoming = next(&mut subscription).await;
    assert_eq!(incoming.body(), &sent.body[..], "the envelope as published");
    assert_eq!(incoming.attempt(), 1);
    incoming.ack().await.expect("ack");

    let url = queue_url(&transport, "rt-subject-service-student-service.fifo").await;
    eventually(|| async {
        match queue_depth(&transport, &url).await {
            0 => Ok(()),
            n => Err(format!("{n} messages left")),
        }
    })
    .await;
    transport.check().await.expect("check");
}

#[tokio::test]
async fn one_key_is_delivered_in_order() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "order").await;
    let mut batches = spec("subject-service", Duration::from_secs(30));
    batches.prefetch = 10;
    let mut subscription = transport.subscribe(&batches).await.expect("subscribe");
    for n in 0..10 {
        transport
            .publish(&event(TYPE, "student-7", n))
            .await
            .expect("publish");
    }
    let mut seen = Vec::new();
    for _ in 0..10 {
        let incoming = next(&mut subscription).await;
        seen.push(number(&*incoming));
        incoming.ack().await.expect("ack");
    }
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
}

#[tokio::test]
async fn retry_redelivers_with_a_growing_attempt() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "retry").await;
    let mut subscription = transport
        .subscribe(&spec("subject-service", Duration::from_secs(30)))
        .await
        .expect("subscribe");
    transport
        .publish(&event(TYPE, "k", 5))
        .await
        .expect("publish");

    let first = next(&mut subscription).await;
    assert_eq!(first.attempt(), 1);
    first.retry(Duration::from_secs(1)).await.expect("retry");
    let second = next(&mut subscription).await;
    assert_eq!((number(&*second), second.attempt()), (5, 2));
    second.retry(Duration::ZERO).await.expect("retry");
    let third = next(&mut subscription).await;
    assert_eq!((number(&*third), third.attempt()), (5, 3));
    third.ack().await.expect("ack");
}

#[tokio::test]
async fn dead_letter_moves_the_message_with_its_reason() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "dlq").await;
    let mut subscription = transport
        .subscribe(&spec("subject-service", Duration::from_secs(30)))
        .await
        .expect("subscribe");
    let sent = event(TYPE, "k", 9);
    transport.publish(&sent).await.expect("publish");

    let incoming = next(&mut subscription).await;
    incoming
        .dead_letter("handler failed 3 times: boom".to_owned())
        .await
        .expect("dead_letter");

    let dlq = queue_url(&transport, "dlq-subject-service-student-service-dlq.fifo").await;
    let received = transport
        .clients
        .sqs
        .receive_message()
        .queue_url(&dlq)
        .wait_time_seconds(5)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
        .send()
        .await
        .expect("receive from the DLQ");
    let message = received.messages().first().expect("a dead letter");
    assert_eq!(message.body().unwrap().as_bytes(), &sent.body[..]);
    let attributes = message.message_attributes().expect("attributes");
    assert_eq!(
        attributes["dead_letter_reason"].string_value(),
        Some("handler failed 3 times: boom")
    );
    assert_eq!(attributes["type"].string_value(), Some(TYPE));
    assert_eq!(
        message.attributes().unwrap()[&MessageSystemAttributeName::MessageGroupId],
        "k"
    );
    let url = queue_url(&transport, "dlq-subject-service-student-service.fifo").await;
    assert_eq!(
        queue_depth(&transport, &url).await,
        0,
        "the original is settled"
    );
}

#[tokio::test]
async fn an_unsettled_message_comes_back_after_ack_wait() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "redeliver").await;
    let mut subscription = transport
        .subscribe(&spec("subject-service", Duration::from_secs(1)))
        .await
        .expect("subscribe");
    transport
        .publish(&event(TYPE, "k", 3))
        .await
        .expect("publish");

    let dropped = next(&mut subscription).await;
    assert_eq!(dropped.attempt(), 1);
    drop(dropped);
    let again = next(&mut subscription).await;
    assert_eq!((number(&*again), again.attempt()), (3, 2));
    again.ack().await.expect("ack");
}

#[tokio::test]
async fn two_consumers_each_get_every_message() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "fanout").await;
    let ack_wait = Duration::from_secs(30);
    let mut first = transport
        .subscribe(&spec("subject-service", ack_wait))
        .await
        .unwrap();
    let mut second = transport
        .subscribe(&spec("audit-service", ack_wait))
        .await
        .unwrap();
    for n in 0..3 {
        transport
            .publish(&event(TYPE, &format!("k{n}"), n))
            .await
            .expect("publish");
    }
    for subscription in [&mut first, &mut second] {
        let mut seen = BTreeSet::new();
        while seen.len() < 3 {
            let incoming = next(subscription).await;
            seen.insert(number(&*incoming));
            incoming.ack().await.expect("ack");
        }
        assert_eq!(seen, BTreeSet::from([0, 1, 2]));
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_until_it_comes_back() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    // Nothing listens there: connecting still works.
    let transport = transport_at(&endpoint, "outage").await;
    let unavailable = |r: Result<(), TransportError>| match r {
        Err(TransportError::Unavailable(e)) => e.to_string(),
        other => panic!("expected Unavailable, got {other:?}"),
    };
    let message = unavailable(transport.publish(&event(TYPE, "k", 1)).await);
    assert!(message.contains("SNS"), "{message}");
    unavailable(transport.check().await);
    let subscribed = transport
        .subscribe(&spec("subject-service", Duration::from_secs(30)))
        .await;
    assert!(matches!(subscribed, Err(TransportError::Unavailable(_))));

    let _moto = MotoServer::start_on(port)
        .await
        .expect("moto on the same port");
    transport.check().await.expect("check after recovery");
    let mut subscription = transport
        .subscribe(&spec("subject-service", Duration::from_secs(30)))
        .await
        .expect("subscribe after recovery");
    transport
        .publish(&event(TYPE, "k", 2))
        .await
        .expect("publish after recovery");
    let incoming = next(&mut subscription).await;
    assert_eq!(number(&*incoming), 2);
    incoming.ack().await.expect("ack");
}

#[tokio::test]
async fn resources_are_named_with_the_prefix_and_configured() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "ci-7").await;
    let mut wide = spec("subject-service", Duration::from_secs(7));
    wide.event_types = vec!["student.created".to_owned()];
    drop(transport.subscribe(&wide).await.expect("first subscribe"));
    // Again, with other settings: converges instead of failing.
    drop(
        transport
            .subscribe(&spec("subject-service", Duration::from_secs(5)))
            .await
            .expect("second subscribe"),
    );

    let topics = transport.clients.sns.list_topics().send().await.unwrap();
    let topic = topics.topics()[0].topic_arn().unwrap().to_owned();
    assert!(topic.ends_with(":ci-7-student-service.fifo"), "{topic}");
    let queues = transport
        .clients
        .sqs
        .list_queues()
        .queue_name_prefix("ci-7")
        .send()
        .await
        .unwrap();
    let names: BTreeSet<_> = queues
        .queue_urls()
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "ci-7-subject-service-student-service-dlq.fifo".to_owned(),
            "ci-7-subject-service-student-service.fifo".to_owned(),
        ])
    );

    let url = queue_url(&transport, "ci-7-subject-service-student-service.fifo").await;
    let attributes = transport
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "5");
    assert_eq!(attributes[&QueueAttributeName::FifoQueue], "true");
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(redrive["maxReceiveCount"], 4);
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with("-dlq.fifo")
    );
    assert!(attributes[&QueueAttributeName::Policy].contains(&topic));

    let subscriptions = transport
        .clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(subscriptions.subscriptions().len(), 1, "one subscription");
    let arn = subscriptions.subscriptions()[0].subscription_arn().unwrap();
    let settings = transport
        .clients
        .sns
        .get_subscription_attributes()
        .subscription_arn(arn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(settings["RawMessageDelivery"], "true");
    let filter: serde_json::Value = serde_json::from_str(&settings["FilterPolicy"]).unwrap();
    assert_eq!(filter, serde_json::json!({ "type": [TYPE] }));
}

#[tokio::test]
async fn a_deleted_queue_is_created_again_by_the_consumer() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "heal").await;
    let mut subscription = transport
        .subscribe(&spec("subject-service", Duration::from_secs(30)))
        .await
        .expect("subscribe");
    let url = queue_url(&transport, "heal-subject-service-student-service.fifo").await;
    transport
        .clients
        .sqs
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("delete the queue");

    // The consumer notices on its next receive and recreates queue and subscription, while
    // the publisher keeps publishing until the message gets through.
    let receiving = tokio::spawn(async move {
        let incoming = next(&mut subscription).await;
        let n = number(&*incoming);
        incoming.ack().await.expect("ack");
        n
    });
    eventually(|| async {
        transport
            .publish(&event(TYPE, "k", 4))
            .await
            .map_err(|e| e.to_string())?;
        if receiving.is_finished() {
            Ok(())
        } else {
            Err("nothing received yet".to_owned())
        }
    })
    .await;
    assert_eq!(receiving.await.expect("the consumer task"), 4);
}

#[tokio::test]
async fn instances_of_one_consumer_share_the_messages() {
    let moto = moto().await;
    let transport = transport_at(moto.endpoint(), "share").await;
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let mut instances = Vec::new();
    for _ in 0..2 {
        let spec = spec("subject-service", Duration::from_secs(30));
        let mut subscription = transport.subscribe(&spec).await.expect("subscribe");
        let sender = sender.clone();
        instances.push(tokio::spawn(async move {
            loop {
                let incoming = next(&mut subscription).await;
                let n = number(&*incoming);
                incoming.ack().await.expect("ack");
                if sender.send(n).is_err() {
                    return;
                }
            }
        }));
    }
    for n in 0..6 {
        transport
            .publish(&event(TYPE, &format!("k{n}"), n))
            .await
            .expect("publish");
    }
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let n = tokio::time::timeout(RECEIVE, received.recv())
            .await
            .expect("a message");
        seen.push(n.expect("the instances run"));
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..6).collect::<Vec<_>>(), "each message once");
    for instance in instances {
        instance.abort();
    }
}
