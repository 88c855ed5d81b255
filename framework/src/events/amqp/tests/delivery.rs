//! Publish and consume: round trip, order, sharing between instances and consumers, volume.

use std::collections::BTreeSet;

use futures_util::StreamExt;

use super::{Scope, admin, depth, event, next, spec, text};
use crate::events::transport::TransportError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_event_reaches_a_subscription_with_its_properties() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    let mut subscription = transport
        .subscribe(&spec("subjects", &["student.created"]))
        .await
        .expect("subscribe");

    let created = event("student.created", "s-1", 1);
    transport.publish(&created).await.expect("publish");
    // Another type, not bound: never delivered.
    transport
        .publish(&event("student.updated", "s-1", 2))
        .await
        .expect("publish");

    let incoming = next(&mut subscription).await;
    assert_eq!(text(incoming.as_ref()), "s-1:1");
    assert_eq!(incoming.attempt(), 1);
    incoming.ack().await.expect("ack");

    // The broker-side properties, seen by a plain client.
    transport
        .publish(&event("student.created", "s-2", 3))
        .await
        .expect("publish");
    drop(subscription);
    let connection = admin().await;
    let channel = connection.create_channel().await.expect("channel");
    let names = scope.names("subjects");
    let message = crate::testing::eventually(|| async {
        channel
            .basic_get(names.main.as_str().into(), Default::default())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "queue empty".to_owned())
    })
    .await;
    let properties = &message.delivery.properties;
    assert_eq!(properties.delivery_mode(), &Some(2));
    assert_eq!(
        properties.content_type().as_ref().map(|t| t.as_str()),
        Some("application/cloudevents+json")
    );
    assert!(properties.message_id().is_some());
    assert_eq!(message.delivery.routing_key.as_str(), "student.created");
    assert_eq!(
        message.delivery.exchange.as_str(),
        format!("{}.students", scope.prefix)
    );
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_one_key_arrive_in_publish_order() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    let mut subscription = transport
        .subscribe(&spec("subjects", &["student.updated"]))
        .await
        .expect("subscribe");

    for n in 0..50 {
        transport
            .publish(&event("student.updated", "s-7", n))
            .await
            .expect("publish");
    }

    let mut seen = Vec::new();
    for _ in 0..50 {
        let incoming = next(&mut subscription).await;
        seen.push(text(incoming.as_ref()));
        incoming.ack().await.expect("ack");
    }
    let expected: Vec<String> = (0..50).map(|n| format!("s-7:{n}")).collect();
    assert_eq!(seen, expected);
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_of_one_consumer_share_and_two_consumers_each_get_all() {
    let scope = Scope::new(&["subjects", "billing"]).await;
    let transport = scope.transport().await;
    let types = ["student.deleted"];
    let mut first = transport
        .subscribe(&spec("subjects", &types))
        .await
        .unwrap();
    let mut second = transport
        .subscribe(&spec("subjects", &types))
        .await
        .unwrap();
    let mut billing = transport.subscribe(&spec("billing", &types)).await.unwrap();

    for n in 0..20 {
        let key = format!("s-{n}");
        transport
            .publish(&event("student.deleted", &key, n))
            .await
            .expect("publish");
    }

    // The two instances together see each event once, and each sees some.
    let (mut from_first, mut from_second) = (BTreeSet::new(), BTreeSet::new());
    while from_first.len() + from_second.len() < 20 {
        tokio::select! {
            incoming = next(&mut first) => {
                assert!(from_first.insert(text(incoming.as_ref())));
                incoming.ack().await.expect("ack");
            }
            incoming = next(&mut second) => {
                assert!(from_second.insert(text(incoming.as_ref())));
                incoming.ack().await.expect("ack");
            }
        }
    }
    assert!(from_first.is_disjoint(&from_second), "delivered twice");
    assert!(!from_first.is_empty() && !from_second.is_empty());

    // The other consumer got every event too.
    let mut from_billing = BTreeSet::new();
    for _ in 0..20 {
        let incoming = next(&mut billing).await;
        from_billing.insert(text(incoming.as_ref()));
        incoming.ack().await.expect("ack");
    }
    let all: BTreeSet<String> = from_first.union(&from_second).cloned().collect();
    assert_eq!(from_billing, all);
    assert_eq!(all.len(), 20);
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_publishes_are_all_confirmed_and_stored() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    drop(
        transport
            .subscribe(&spec("subjects", &["student.created"]))
            .await
            .expect("subscribe"),
    );

    let events: Vec<_> = (0..1000)
        .map(|n| event("student.created", &format!("s-{}", n % 10), n))
        .collect();
    let outcomes: Vec<_> = futures_util::stream::iter(&events)
        .map(|e| transport.publish(e))
        .buffer_unordered(100)
        .collect()
        .await;
    let failures: Vec<String> = outcomes
        .into_iter()
        .filter_map(|outcome| outcome.err().map(|e| e.to_string()))
        .collect();
    assert!(failures.is_empty(), "unconfirmed publishes: {failures:?}");

    let connection = admin().await;
    let channel = connection.create_channel().await.expect("channel");
    let main = scope.names("subjects").main;
    crate::testing::eventually(|| async {
        match depth(&channel, &main).await {
            1000 => Ok(()),
            other => Err(format!("{other} messages in the queue")),
        }
    })
    .await;
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_longer_than_amqp_allows_is_refused() {
    let scope = Scope::new(&[]).await;
    let transport = scope.transport().await;
    let long = "x".repeat(300);
    let outcome = transport.publish(&event(&long, "s-1", 1)).await;
    assert!(
        matches!(outcome, Err(TransportError::Refused(_))),
        "{outcome:?}"
    );
    scope.cleanup().await;
}
