//! Round trip and ordering per key.

use servicekit::testing::{TestDatabase, eventually_within};

use super::*;

/// Publishes from a service on `database_url` (its own SQLite file when `None`) to a consumer
/// on SQLite, and checks every event arrives once.
async fn round_trip(database_url: Option<&str>) {
    round_trip_on(NATS_URL, database_url).await;
}

/// [`round_trip`] through the broker at `broker_url`.
async fn round_trip_on(broker_url: &str, database_url: Option<&str>) {
    let prefix = prefix();
    let (publisher, db, events) = start(service("notes", broker_url, &prefix, database_url)).await;
    let (consumer, consumer_db, consumer_events) =
        start(service("audit", broker_url, &prefix, None)).await;
    let seen = Seen::default();
    record(&consumer_events, &consumer_db, "notes", &seen);
    // On RabbitMQ (and SNS) an event published before the consumer's queue exists has nowhere
    // to go: wait until a warm-up event arrives, so the queue is there.
    eventually_within(WITHIN, || async {
        stage(
            &db,
            &events,
            Note {
                key: "warm-up".into(),
                n: -1,
            },
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await; // pacing the warm-ups
        if received(&consumer_db).await.is_empty() {
            Err("no warm-up yet")
        } else {
            Ok(())
        }
    })
    .await;

    for n in 0..5 {
        stage(
            &db,
            &events,
            Note {
                key: format!("k{n}"),
                n,
            },
        )
        .await;
    }

    let rows = eventually_within(WITHIN, || async {
        let mut rows = received(&consumer_db).await;
        rows.retain(|row| row.2 >= 0);
        if rows.len() >= 5 {
            Ok(rows)
        } else {
            Err(rows.len())
        }
    })
    .await;
    assert_eq!(rows.len(), 5, "{rows:?}");
    let mut ns: Vec<i64> = rows.iter().map(|r| r.2).collect();
    ns.sort_unstable();
    assert_eq!(ns, vec![0, 1, 2, 3, 4]);
    eventually_within(WITHIN, || async {
        match outbox_depth(&db).await {
            0 => Ok(()),
            depth => Err(depth),
        }
    })
    .await;
    // The event's id is the CloudEvents id, a UUID v7.
    let id = uuid::Uuid::parse_str(&rows[0].0).unwrap();
    assert_eq!(id.get_version_num(), 7);
    consumer.shutdown().await.unwrap();
    publisher.shutdown().await.unwrap();
}

#[tokio::test]
async fn round_trip_from_sqlite() {
    round_trip(None).await;
}

#[tokio::test]
async fn round_trip_from_postgres() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    round_trip(Some(pg.url())).await;
}

#[tokio::test]
async fn round_trip_from_mariadb() {
    let my = TestDatabase::mysql().await.expect("test MariaDB");
    round_trip(Some(my.url())).await;
}

/// The same runtime (outbox, relay, consumer, inbox) on RabbitMQ, from PostgreSQL.
#[tokio::test]
async fn round_trip_on_rabbitmq() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    round_trip_on(AMQP_URL, Some(pg.url())).await;
}

#[tokio::test]
async fn events_of_one_key_arrive_in_order() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let prefix = prefix();
    let (publisher, db, events) = start(service("orders", NATS_URL, &prefix, Some(pg.url()))).await;
    let (consumer, consumer_db, consumer_events) =
        start(service("billing", NATS_URL, &prefix, None)).await;
    let seen = Seen::default();
    record(&consumer_events, &consumer_db, "orders", &seen);

    let keys = ["a", "b", "c"];
    for n in 0..60 {
        let key = keys[usize::try_from(n).unwrap() % keys.len()].to_string();
        stage(&db, &events, Note { key, n }).await;
    }

    eventually_within(WITHIN, || async {
        let count = seen.lock().unwrap().len();
        if count >= 60 { Ok(()) } else { Err(count) }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 60);
    for key in keys {
        let order: Vec<i64> = seen.iter().filter(|s| s.0 == key).map(|s| s.1).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "events of key {key} out of order");
    }
    consumer.shutdown().await.unwrap();
    publisher.shutdown().await.unwrap();
}
