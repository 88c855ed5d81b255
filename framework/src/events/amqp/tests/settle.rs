//! Settling: retry with delay, dead letters, and messages left unsettled.

use std::time::Duration;

use lapin::types::AMQPValue;

use super::super::incoming::{ATTEMPT_HEADER, REASON_HEADER};
use super::{Scope, admin, event, next, spec, text};
use crate::testing::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_redelivers_after_the_delay_with_the_next_attempt() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    let mut subscription = transport
        .subscribe(&spec("subjects", &["student.deleted"]))
        .await
        .expect("subscribe");
    transport
        .publish(&event("student.deleted", "s-1", 1))
        .await
        .expect("publish");

    for expected in 1..=3 {
        let incoming = next(&mut subscription).await;
        assert_eq!(text(incoming.as_ref()), "s-1:1");
        assert_eq!(incoming.attempt(), expected);
        if expected < 3 {
            incoming
                .retry(Duration::from_millis(100))
                .await
                .expect("retry");
        } else {
            incoming.ack().await.expect("ack");
        }
    }
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_moves_the_message_to_the_dlq_with_the_reason() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    let mut subscription = transport
        .subscribe(&spec("subjects", &["student.deleted"]))
        .await
        .expect("subscribe");
    let poison = event("student.deleted", "s-1", 1);
    transport.publish(&poison).await.expect("publish");
    transport
        .publish(&event("student.deleted", "s-2", 2))
        .await
        .expect("publish");

    let incoming = next(&mut subscription).await;
    assert_eq!(text(incoming.as_ref()), "s-1:1");
    incoming.retry(Duration::ZERO).await.expect("retry");
    // The other message keeps flowing meanwhile.
    let other = next(&mut subscription).await;
    assert_eq!(text(other.as_ref()), "s-2:2");
    other.ack().await.expect("ack");
    let incoming = next(&mut subscription).await;
    assert_eq!(incoming.attempt(), 2);
    incoming
        .dead_letter("handler failed: no such student".into())
        .await
        .expect("dead_letter");

    let connection = admin().await;
    let channel = connection.create_channel().await.expect("channel");
    let dlq = scope.names("subjects").dead_letter;
    let message = eventually(|| async {
        channel
            .basic_get(dlq.as_str().into(), Default::default())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the dead-letter queue is empty".to_owned())
    })
    .await;
    assert_eq!(message.delivery.data, b"s-1:1");
    let properties = &message.delivery.properties;
    assert_eq!(
        properties.message_id().as_ref().map(|id| id.as_str()),
        Some(poison.id.as_str())
    );
    let headers = properties.headers().as_ref().expect("headers").inner();
    match headers.get(REASON_HEADER) {
        Some(AMQPValue::LongString(reason)) => {
            assert_eq!(reason.to_string(), "handler failed: no such student");
        }
        other => panic!("no reason header: {other:?}"),
    }
    assert_eq!(
        headers.get(ATTEMPT_HEADER),
        Some(&AMQPValue::LongLongInt(2))
    );
    // Settled: the main queue does not deliver it again.
    let main = scope.names("subjects").main;
    let leftover = channel
        .basic_get(main.as_str().into(), Default::default())
        .await
        .expect("basic_get");
    assert!(
        leftover.is_none(),
        "the dead-lettered message is still queued"
    );
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_of_a_closed_subscription_goes_to_a_new_one_with_a_higher_attempt() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    let types = ["student.deleted"];
    let mut crashed = transport
        .subscribe(&spec("subjects", &types))
        .await
        .unwrap();
    transport
        .publish(&event("student.deleted", "s-1", 1))
        .await
        .expect("publish");
    let incoming = next(&mut crashed).await;
    assert_eq!(incoming.attempt(), 1);

    // The instance goes away mid-handler: neither the message nor the subscription settles.
    drop(incoming);
    drop(crashed);

    let mut replacement = transport
        .subscribe(&spec("subjects", &types))
        .await
        .unwrap();
    let incoming = next(&mut replacement).await;
    assert_eq!(text(incoming.as_ref()), "s-1:1");
    assert!(incoming.attempt() > 1, "attempt {}", incoming.attempt());
    incoming.ack().await.expect("ack");
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_message_comes_back_to_its_open_subscription_after_ack_wait() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    let mut subscription = transport
        .subscribe(&spec("subjects", &["student.deleted"]))
        .await
        .expect("subscribe");
    transport
        .publish(&event("student.deleted", "s-1", 1))
        .await
        .expect("publish");

    let incoming = next(&mut subscription).await;
    assert_eq!(incoming.attempt(), 1);
    drop(incoming);

    let incoming = next(&mut subscription).await;
    assert_eq!(text(incoming.as_ref()), "s-1:1");
    assert_eq!(incoming.attempt(), 2);
    incoming.ack().await.expect("ack");
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_flight_message_is_acked_after_its_subscription_was_dropped() {
    let scope = Scope::new(&["subjects"]).await;
    let transport = scope.transport().await;
    let types = ["student.deleted"];
    let mut stopping = transport
        .subscribe(&spec("subjects", &types))
        .await
        .unwrap();
    transport
        .publish(&event("student.deleted", "s-1", 1))
        .await
        .expect("publish");
    let in_flight = next(&mut stopping).await;

    // Shutdown: stop pulling first, then finish the handler and ack.
    drop(stopping);
    in_flight
        .ack()
        .await
        .expect("ack after the subscription was dropped");

    // Not redelivered: the next subscription starts with the next event.
    transport
        .publish(&event("student.deleted", "s-2", 2))
        .await
        .expect("publish");
    let mut replacement = transport
        .subscribe(&spec("subjects", &types))
        .await
        .unwrap();
    let incoming = next(&mut replacement).await;
    assert_eq!(text(incoming.as_ref()), "s-2:2");
    assert_eq!(incoming.attempt(), 1);
    incoming.ack().await.expect("ack");
    scope.cleanup().await;
}
