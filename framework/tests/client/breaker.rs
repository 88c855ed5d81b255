//! The breaker opens on failures, fails fast, half-opens after the cooldown, closes on success.

use std::time::{Duration, Instant};

use servicekit::axum::http::StatusCode;
use servicekit::axum::response::IntoResponse;
use servicekit::client::breaker::BreakerState;
use servicekit::client::{ClientError, ServiceClient};
use servicekit::testing::eventually;

use crate::downstream::{Answer, Downstream, client, config};

/// Waits until the breaker of `client` has cooled down to half-open.
async fn half_open(client: &ServiceClient) {
    eventually(|| async {
        match client.breaker_state() {
            BreakerState::HalfOpen => Ok(()),
            other => Err(other),
        }
    })
    .await;
}

#[tokio::test]
async fn opens_fails_fast_half_opens_and_closes() {
    let down = Downstream::start(Answer::Status(500)).await;
    let mut c = config(&down.url());
    c.retry.max_attempts = 1;
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 3;
    c.breaker.cooldown = Duration::from_millis(400);
    c.breaker.half_open_probes = 2;
    let client = client(&c);

    for _ in 0..3 {
        assert_eq!(client.get("/x").send().await.unwrap().status(), 500);
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);

    // Open: no call reaches the downstream, and the answer comes at once.
    let started = Instant::now();
    let err = client.get("/x").send().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(50));
    assert_eq!(down.hits(), 3);
    let ClientError::CircuitOpen { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(source.remaining() > Duration::from_millis(200));
    let res = servicekit::Problem::from(err).into_response();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");

    // After the cooldown, probes pass; two successes close the breaker.
    down.answer(Answer::Status(200));
    half_open(&client).await;
    assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    assert_eq!(down.hits(), 5);
}

#[tokio::test]
async fn a_failed_probe_reopens() {
    let down = Downstream::start(Answer::Status(503)).await;
    let mut c = config(&down.url());
    c.retry.max_attempts = 1;
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 2;
    c.breaker.cooldown = Duration::from_millis(200);
    let client = client(&c);
    for _ in 0..2 {
        client.get("/x").send().await.unwrap();
    }
    half_open(&client).await;

    assert_eq!(client.get("/x").send().await.unwrap().status(), 503);

    assert_eq!(client.breaker_state(), BreakerState::Open);
    assert!(client.get("/x").send().await.is_err());
    assert_eq!(down.hits(), 3);
}

#[tokio::test]
async fn retries_stop_when_the_breaker_opens() {
    let down = Downstream::start(Answer::Status(503)).await;
    let mut c = config(&down.url());
    c.retry.max_attempts = 5;
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 2;
    c.breaker.cooldown = Duration::from_secs(60);
    let client = client(&c);

    let err = client.get("/x").send().await.unwrap_err();

    assert!(matches!(err, ClientError::CircuitOpen { .. }), "{err:?}");
    assert_eq!(down.hits(), 2);
}

#[tokio::test]
async fn failure_rate_over_the_window_opens() {
    let down = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&down.url());
    c.retry.max_attempts = 1;
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 100;
    c.breaker.window = 10;
    c.breaker.min_calls = 10;
    c.breaker.failure_rate = 0.5;
    let client = client(&c);
    // Alternate: never two failures in a row, half of the calls fail.
    for i in 0..10 {
        let answer = if i % 2 == 0 { 200 } else { 502 };
        down.script([Answer::Status(answer)]);
        client.get("/x").send().await.unwrap();
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);
}
