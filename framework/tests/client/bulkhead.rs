//! The bulkhead caps calls in flight per downstream.

use std::time::{Duration, Instant};

use servicekit::client::ClientError;

use crate::downstream::{Answer, Downstream, client, config};

#[tokio::test]
async fn excess_calls_fail_fast() {
    let down = Downstream::start(Answer::Delay(Duration::from_millis(300))).await;
    let mut c = config(&down.url());
    c.bulkhead.max_concurrent = 2;
    let client = client(&c);

    let started = Instant::now();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                (client.get("/x").send().await, started.elapsed())
            })
        })
        .collect();
    let mut ok = 0;
    let mut rejected = 0;
    for call in calls {
        match call.await.unwrap() {
            (Ok(res), _) => {
                assert_eq!(res.status(), 200);
                ok += 1;
            }
            (Err(ClientError::BulkheadFull { .. }), elapsed) => {
                assert!(elapsed < Duration::from_millis(100), "{elapsed:?}");
                rejected += 1;
            }
            (Err(e), _) => panic!("{e:?}"),
        }
    }

    assert_eq!((ok, rejected), (2, 3));
    assert_eq!(down.hits(), 2);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn with_max_wait_excess_calls_queue_briefly() {
    let down = Downstream::start(Answer::Delay(Duration::from_millis(100))).await;
    let mut c = config(&down.url());
    c.bulkhead.max_concurrent = 1;
    c.bulkhead.max_wait = Duration::from_secs(3);
    let client = client(&c);

    let calls: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get("/x").send().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().status(), 200);
    }
    assert_eq!(down.hits(), 3);
}
