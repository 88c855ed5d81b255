//! The retry budget keeps a failing downstream from receiving a multiple of its load.

use std::time::Duration;

use crate::downstream::{Answer, Downstream, client, config};

const CALLS: usize = 200;

#[tokio::test]
async fn under_total_failure_downstream_calls_stay_within_the_percentage() {
    let down = Downstream::start(Answer::Status(503)).await;
    let mut c = config(&down.url());
    c.retry.max_attempts = 3;
    c.retry.budget_percent = 0.2;
    // No floor: the cap is exactly the percentage.
    c.retry.budget_min_per_second = 0;
    let client = client(&c);

    for _ in 0..CALLS {
        assert_eq!(client.get("/x").send().await.unwrap().status(), 503);
    }

    let hits = down.hits();
    assert!(hits > CALLS, "some retries happened: {hits}");
    assert!(
        hits as f64 <= CALLS as f64 * 1.2,
        "{hits} downstream calls for {CALLS} calls"
    );
}

#[tokio::test]
async fn the_floor_adds_at_most_min_per_second_times_ttl() {
    let down = Downstream::start(Answer::Status(503)).await;
    let mut c = config(&down.url());
    c.retry.budget_min_per_second = 10;
    c.retry.budget_ttl = Duration::from_secs(1);
    let client = client(&c);

    for _ in 0..CALLS {
        client.get("/x").send().await.unwrap();
    }

    // Without a budget, 3 attempts each would make 600.
    let hits = down.hits();
    assert!(hits as f64 <= CALLS as f64 * 1.2 + 10.0 * 2.0, "{hits}");
}
