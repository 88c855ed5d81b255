//! Instances: static lists, DNS names, balancing and passive outlier ejection.

use std::time::Duration;

use servicekit::client::{Balance, Discovery};

use crate::downstream::{Answer, Downstream, client, config, dead_addr};

#[tokio::test]
async fn round_robin_spreads_calls_over_static_instances() {
    let a = Downstream::start(Answer::Status(200)).await;
    let b = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&a.url());
    c.instances = vec![a.url(), b.url()];
    let client = client(&c);

    for _ in 0..10 {
        client.get("/x").send().await.unwrap();
    }

    assert_eq!((a.hits(), b.hits()), (5, 5));
}

#[tokio::test]
async fn a_failing_instance_is_ejected() {
    let bad = Downstream::start(Answer::Status(503)).await;
    let good = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&good.url());
    c.instances = vec![bad.url(), good.url()];
    c.retry.max_attempts = 1;
    c.ejection.consecutive_failures = 3;
    c.ejection.duration = Duration::from_secs(60);
    let client = client(&c);

    for _ in 0..20 {
        client.get("/x").send().await.unwrap();
    }

    assert_eq!(bad.hits(), 3, "ejected after 3 failures in a row");
    assert_eq!(good.hits(), 17);
}

#[tokio::test]
async fn a_dead_instance_is_skipped() {
    let dead = dead_addr().await;
    let good = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&good.url());
    c.instances = vec![format!("http://{dead}"), good.url()];
    c.balance = Balance::P2c;
    c.ejection.consecutive_failures = 2;
    let client = client(&c);

    // Retries move to the other instance; after two refused connects the dead one is out.
    for _ in 0..20 {
        assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    }
    assert_eq!(good.hits(), 20);
}

/// A rolling restart: `a` fails and is ejected, then comes back (its replacement) just as `b`
/// starts failing. A retry goes to the instance the call has not tried, even an ejected one,
/// rather than to `b` again; `a` answering lifts its ejection.
#[tokio::test]
async fn a_retry_goes_to_an_untried_instance_even_an_ejected_one() {
    let a = Downstream::start(Answer::Status(503)).await;
    let b = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&a.url());
    c.instances = vec![a.url(), b.url()];
    c.retry.max_attempts = 2;
    c.retry.base_backoff = Duration::from_millis(1);
    c.breaker.enabled = false;
    c.ejection.consecutive_failures = 2;
    c.ejection.duration = Duration::from_secs(60);
    let client = client(&c);
    for _ in 0..4 {
        assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    }
    assert_eq!(a.hits(), 2, "a is ejected after two failures");

    a.answer(Answer::Status(200));
    b.answer(Answer::Status(503));
    let a_before = a.hits();
    for _ in 0..10 {
        assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    }

    assert_eq!(a.hits() - a_before, 10, "every call ends on a");
}

#[tokio::test]
async fn dns_discovery_resolves_localhost_and_keeps_the_host_header() {
    let down = Downstream::start(Answer::Status(200)).await;
    let port = down.addr.port();
    let mut c = config(&format!("http://localhost:{port}"));
    c.discovery = Discovery::Dns;
    c.dns_refresh = Duration::from_millis(100);
    // localhost may resolve to ::1 too, where nothing listens: retry and ejection handle it.
    c.ejection.consecutive_failures = 1;
    let client = client(&c);

    for _ in 0..6 {
        assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    }
    // Time for the 100 ms DNS refresh to run (it has no outside sign); the next call goes to
    // the re-resolved endpoints.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(client.get("/x").send().await.unwrap().status(), 200);

    let seen = down.seen();
    assert_eq!(seen.len(), 7);
    assert!(
        seen.iter()
            .all(|h| h["host"] == format!("localhost:{port}").as_str())
    );
}
