//! Which calls are retried, on what, and how long retries wait.

use std::time::{Duration, Instant};

use servicekit::client::ClientError;

use crate::downstream::{Answer, Downstream, client, config, dead_addr, dropping_server};

#[tokio::test]
async fn get_is_retried_on_502_503_504_then_succeeds() {
    let down = Downstream::start(Answer::Status(200)).await;
    down.script([Answer::Status(503), Answer::Status(502)]);
    let mut c = config(&down.url());
    c.retry.max_attempts = 4;
    let client = client(&c);

    let res = client.get("/x").send().await.unwrap();

    assert_eq!(res.status(), 200);
    assert_eq!(down.hits(), 3);
    down.script([Answer::Status(504)]);
    assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    assert_eq!(down.hits(), 5);
}

#[tokio::test]
async fn attempts_stop_at_max_attempts() {
    let down = Downstream::start(Answer::Status(503)).await;
    let client = client(&config(&down.url()));

    let res = client.get("/x").send().await.unwrap();

    assert_eq!(res.status(), 503);
    assert_eq!(down.hits(), 3, "max_attempts = 3 by default");
}

#[tokio::test]
async fn post_without_idempotency_key_is_never_retried() {
    let down = Downstream::start(Answer::Status(503)).await;
    let client = client(&config(&down.url()));

    let res = client.post("/x").json(&1).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(down.hits(), 1);

    // Not on a dropped connection either: the request may have been applied.
    let (addr, connections) = dropping_server().await;
    let dropping = crate::downstream::client(&config(&format!("http://{addr}")));
    let err = dropping.post("/x").send().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn post_with_idempotency_key_is_retried() {
    let down = Downstream::start(Answer::Status(201)).await;
    down.script([Answer::Status(503)]);
    let client = client(&config(&down.url()));

    let res = client
        .post("/x")
        .idempotency_key("k-1")
        .json(&1)
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 201);
    assert_eq!(down.hits(), 2);
    assert!(down.seen().iter().all(|h| h["idempotency-key"] == "k-1"));
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let down = Downstream::start(Answer::Status(500)).await;
    let client = client(&config(&down.url()));
    assert_eq!(client.get("/x").send().await.unwrap().status(), 500);
    down.answer(Answer::Status(404));
    assert_eq!(client.get("/x").send().await.unwrap().status(), 404);
    assert_eq!(down.hits(), 2);
}

#[tokio::test]
async fn dropped_connections_and_refused_connects_are_retried() {
    let (addr, connections) = dropping_server().await;
    let client = client(&config(&format!("http://{addr}")));

    let err = client.get("/x").send().await.unwrap_err();

    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    // hyper may retry a request on a reused connection closed under it by itself; at least
    // our three attempts happened.
    assert!(connections.load(std::sync::atomic::Ordering::SeqCst) >= 3);

    let dead = dead_addr().await;
    let client = crate::downstream::client(&config(&format!("http://{dead}")));
    let err = client.get("/x").send().await.unwrap_err();
    assert_eq!(
        servicekit::Problem::from(err).status(),
        servicekit::axum::http::StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn slow_attempts_time_out_and_are_retried() {
    let down = Downstream::start(Answer::Status(200)).await;
    down.script([Answer::Delay(Duration::from_secs(2))]);
    let mut c = config(&down.url());
    c.attempt_timeout = Duration::from_millis(100);
    let client = client(&c);

    let started = Instant::now();
    let res = client.get("/x").send().await.unwrap();

    assert_eq!(res.status(), 200);
    assert_eq!(down.hits(), 2);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_dates() {
    let down = Downstream::start(Answer::Status(200)).await;
    down.script([Answer::RetryAfter(429, "1".into())]);
    let client = client(&config(&down.url()));

    let started = Instant::now();
    let res = client.get("/x").send().await.unwrap();

    assert_eq!(res.status(), 200);
    assert_eq!(down.hits(), 2);
    assert!(started.elapsed() >= Duration::from_millis(900));

    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    down.script([Answer::RetryAfter(503, date)]);
    let started = Instant::now();
    assert_eq!(client.get("/x").send().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_returns_the_answer_at_once() {
    let down = Downstream::start(Answer::RetryAfter(429, "30".into())).await;
    let mut c = config(&down.url());
    c.deadline = Duration::from_secs(2);
    let client = client(&c);

    let started = Instant::now();
    let res = client.get("/x").send().await.unwrap();

    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "30");
    assert_eq!(down.hits(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}
