//! Two instances relaying one PostgreSQL outbox.

use std::collections::HashMap;

use servicekit::testing::{TestDatabase, eventually_within};

use super::*;

#[tokio::test]
async fn two_relays_on_one_outbox_publish_each_event_once_in_order_per_key() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let prefix = prefix();
    let (one, db_one, events_one) =
        start(service("catalog", NATS_URL, &prefix, Some(pg.url()))).await;
    let (two, db_two, events_two) =
        start(service("catalog", NATS_URL, &prefix, Some(pg.url()))).await;
    let (consumer, consumer_db, consumer_events) =
        start(service("search", NATS_URL, &prefix, None)).await;
    let seen = Seen::default();
    record(&consumer_events, &consumer_db, "catalog", &seen);

    // Both instances stage at once, on keys they share.
    let keys = ["x", "y", "z", "w"];
    let staging = |db: Database, events: Events, offset: i64| async move {
        for n in 0..100 {
            let key = keys[usize::try_from(n).unwrap() % keys.len()].to_string();
            stage(&db, &events, Note { key, n: offset + n }).await;
        }
    };
    tokio::join!(
        staging(db_one.clone(), events_one, 0),
        staging(db_two, events_two, 1000)
    );

    eventually_within(WITHIN, || async {
        let count = seen.lock().unwrap().len();
        if count >= 200 { Ok(()) } else { Err(count) }
    })
    .await;
    assert_eq!(outbox_depth(&db_one).await, 0);
    // Every event was stored in the stream once: no relay published a row the other had.
    // (JetStream would drop a duplicate by its Nats-Msg-Id, so count the publishes too.)
    assert_eq!(stream_messages(&format!("{prefix}_catalog")).await, 200);
    let seen = seen.lock().unwrap().clone();
    let mut per_id: HashMap<&str, u32> = HashMap::new();
    for (_, _, id) in &seen {
        *per_id.entry(id.as_str()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 200);
    assert!(
        per_id.values().all(|&n| n == 1),
        "an event was delivered twice"
    );
    // Each instance's events of one key stay in order.
    for key in keys {
        for range in [0..1000, 1000..2000] {
            let order: Vec<i64> = seen
                .iter()
                .filter(|s| s.0 == key && range.contains(&s.1))
                .map(|s| s.1)
                .collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(order, sorted, "key {key} out of order");
        }
    }
    consumer.shutdown().await.unwrap();
    one.shutdown().await.unwrap();
    two.shutdown().await.unwrap();
}
