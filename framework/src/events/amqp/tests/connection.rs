//! Connecting: URL checks, a broker that is down, and reconnection.

use std::time::Duration;

use super::proxy::Proxy;
use super::{Scope, URL, event, next, spec, text};
use crate::events::transport::TransportError;
use crate::testing::eventually;

#[tokio::test]
async fn malformed_or_tls_urls_are_refused_without_echoing_the_password() {
    let scope = Scope::new(&[]).await;
    for url in [
        "amqp://user:s3cret@[::1",
        "nats://user:s3cret@127.0.0.1:4222",
        "amqp://user:s3cret@127.0.0.1:5672/%2f?heartbeat=soon",
        "amqps://user:s3cret@127.0.0.1:5671/%2f",
    ] {
        let Err(error) = super::super::connect(&scope.settings(url)).await else {
            panic!("{url} was accepted");
        };
        assert!(
            matches!(error, TransportError::Refused(_)),
            "{url}: {error}"
        );
        let message = format!("{error}: {error:?}");
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("events.url"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_connects_and_operations_are_unavailable_until_a_reachable_broker() {
    let scope = Scope::new(&["subjects"]).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let url = format!("amqp://guest:s3cret@127.0.0.1:{closed}/%2f");
    let transport = super::super::connect(&scope.settings(&url))
        .await
        .expect("connect succeeds while the broker is down");

    let publish = transport.publish(&event("student.created", "s-1", 1)).await;
    let subscribe = transport
        .subscribe(&spec("subjects", &["student.created"]))
        .await
        .err();
    let check = transport.check().await;
    for outcome in [publish.err(), subscribe, check.err()] {
        match outcome {
            Some(TransportError::Unavailable(error)) => {
                let message = error.to_string();
                assert!(
                    message.contains(&format!("127.0.0.1:{closed}")),
                    "{message}"
                );
                assert!(!message.contains("s3cret"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    drop(transport);

    let transport = scope.transport_at(URL).await;
    let mut subscription = transport
        .subscribe(&spec("subjects", &["student.created"]))
        .await
        .expect("subscribe");
    transport
        .publish(&event("student.created", "s-1", 1))
        .await
        .expect("publish");
    let incoming = next(&mut subscription).await;
    assert_eq!(text(incoming.as_ref()), "s-1:1");
    incoming.ack().await.expect("ack");
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_broken_connection_operations_fail_then_resume_and_subscriptions_reopen() {
    let scope = Scope::new(&["subjects"]).await;
    let proxy = Proxy::start("127.0.0.1:5672").await;
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port);
    let transport = scope.transport_at(&url).await;
    let mut subscription = transport
        .subscribe(&spec("subjects", &["student.created"]))
        .await
        .expect("subscribe");
    transport
        .publish(&event("student.created", "s-1", 1))
        .await
        .expect("publish");
    let incoming = next(&mut subscription).await;
    incoming.ack().await.expect("ack");

    proxy.cut().await;
    // The subscription notices (an error, not the end), and so do the other operations.
    let outage = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("the subscription noticed the outage");
    assert!(
        matches!(outage, Some(Err(TransportError::Unavailable(_)))),
        "{:?}",
        outage.map(|o| o.map(|_| ()))
    );
    eventually(|| async {
        match transport.check().await {
            Err(TransportError::Unavailable(_)) => Ok(()),
            other => Err(format!("check: {other:?}")),
        }
    })
    .await;
    assert!(matches!(
        transport.publish(&event("student.created", "s-2", 2)).await,
        Err(TransportError::Unavailable(_))
    ));

    proxy.restore();
    eventually(|| transport.check()).await;
    transport
        .publish(&event("student.created", "s-3", 3))
        .await
        .expect("publish after the outage");
    // The runtime calls next again after an error; the subscription reopens its consumer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let incoming = loop {
        match tokio::time::timeout(Duration::from_secs(1), subscription.next()).await {
            // At least once: the ack of s-1 may not have reached the broker before the cut.
            Ok(Some(Ok(incoming))) if text(incoming.as_ref()) == "s-1:1" => {
                incoming.ack().await.expect("ack the redelivery");
            }
            Ok(Some(Ok(incoming))) => break incoming,
            Ok(None) => panic!("the subscription closed"),
            Ok(Some(Err(error))) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "did not resume: {error}"
                );
                // The runtime's backoff between two calls.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => assert!(tokio::time::Instant::now() < deadline, "nothing delivered"),
        }
    };
    assert_eq!(text(incoming.as_ref()), "s-3:3");
    incoming.ack().await.expect("ack");
    scope.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_without_a_confirm_within_the_timeout_fails_as_unavailable() {
    let scope = Scope::new(&["subjects"]).await;
    let proxy = Proxy::start("127.0.0.1:5672").await;
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port);
    let mut settings = scope.settings(&url);
    settings.timeout = Duration::from_millis(500);
    let transport = super::super::connect(&settings).await.expect("connect");
    eventually(|| transport.check()).await;
    transport
        .publish(&event("student.created", "s-1", 1))
        .await
        .expect("publish");

    proxy.freeze();
    let stalled = transport.publish(&event("student.created", "s-1", 2)).await;
    match stalled {
        Err(TransportError::Unavailable(error)) => {
            assert!(error.to_string().contains("within"), "{error}");
        }
        other => panic!("expected Unavailable after the timeout, got {other:?}"),
    }
    assert!(matches!(
        transport.check().await,
        Err(TransportError::Unavailable(_))
    ));

    proxy.thaw();
    let after = event("student.created", "s-1", 3);
    eventually(|| transport.publish(&after)).await;
    scope.cleanup().await;
}
